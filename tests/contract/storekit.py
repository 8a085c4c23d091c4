"""Shared helpers for the store tests: fixed times and ready-made jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from vidgate.types import Job, VideoRequest

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_job(n: int = 1, **changes: Any) -> Job:
    fields: dict[str, Any] = {
        "id": f"job_{n:04d}",
        "provider": "relay",
        "model": "sora-2",
        "idempotency_key": f"key-{n}",
        "created_at": at(n),
        "updated_at": at(n),
        "request": VideoRequest(prompt=f"a lighthouse #{n}", model="sora-2", duration=10),
        "credentials_ref": "VIDGATE_RELAY_API_KEY",
    }
    fields.update(changes)
    return Job(**fields)


def advance(job: Job, seconds: float, **changes: Any) -> Job:
    return job.model_copy(update={"updated_at": at(seconds), **changes})
