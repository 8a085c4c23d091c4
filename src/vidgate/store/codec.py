"""How a ``Job`` becomes a stored row and back, the same way in every store.

The whole job is one JSON document (``data``); the columns that queries filter on are copied out of it.
JSON keeps bytes (inline images) losslessly as ``{"$bytes": "<base64>"}``. Store-managed fields (version,
lease, next poll time) live only in columns and are laid over the document when a row is read.
Any mapping key that names a credential (``api_key``, ``authorization``, ...) has its value replaced by
``"[redacted]"`` before it is written: the store keeps references to credentials, never secrets.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic_core import PydanticSerializationError, from_json

from vidgate.types import Job

# Fields that live in columns only; the JSON document never carries them.
STORE_MANAGED = frozenset({"version", "lease_owner", "lease_until", "next_poll_at"})
# Fields fixed at creation; a save that changes one is refused.
IMMUTABLE = ("provider", "model", "idempotency_key", "created_at", "endpoint")

_STORE_MANAGED = set(STORE_MANAGED)

REDACTED = "[redacted]"
SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "authorization",
        "proxy-authorization",
        "password",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "bearer",
    }
)


_SECRET_KEY = re.compile(r'"(?:' + "|".join(re.escape(k) for k in sorted(SECRET_KEYS)) + r')"\s*:')  # on lowercase


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime. A naive one is taken to be UTC already."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def utc_opt(dt: datetime | None) -> datetime | None:
    return None if dt is None else utc(dt)


def ts_text(dt: datetime | None) -> str | None:
    """Fixed-width UTC text that sorts like the instant it names (SQLite stores times this way)."""
    return None if dt is None else utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def redact(value: Any) -> Any:
    """A copy of ``value`` with every credential-named mapping key's value replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and k.lower() in SECRET_KEYS and v is not None else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    return str(obj)


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and isinstance(obj.get("$bytes"), str):
        return base64.b64decode(obj["$bytes"])
    return obj


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    if '"$bytes"' not in text:  # nothing to revive: pydantic-core's parser, twice as fast as json with a hook
        return from_json(text)
    return json.loads(text, object_hook=_hook)


def dump_job(job: Job) -> str:
    """The JSON document stored for ``job`` (redacted, without store-managed fields)."""
    return dump_job_exact(job)[0]


def dump_job_exact(job: Job) -> tuple[str, bool]:
    """``dump_job``, and whether reading the document back gives ``job`` itself (nothing was redacted or
    encoded): then a store can return the saved job without parsing what it just wrote.

    Most jobs carry no bytes and no credential-named key: pydantic writes them in one pass. The others (inline
    images, a key to redact) go the long way through ``redact`` and ``dumps``."""
    if not _carries_bytes(job):
        try:
            text = job.model_dump_json(exclude=_STORE_MANAGED)
        except PydanticSerializationError:
            text = None
        if text is not None and not _SECRET_KEY.search(text.lower()):
            return text, True
    return dumps(redact(job.model_dump(mode="python", exclude=_STORE_MANAGED))), False


def as_saved(job: Job, *, version: int, lease_owner: str | None, lease_until: datetime | None) -> Job:
    """``job`` as a store returns it after a save whose document is exact (see ``dump_job_exact``)."""
    return job.model_copy(
        update={
            "version": version,
            "next_poll_at": utc_opt(job.next_poll_at),
            "lease_owner": lease_owner,
            "lease_until": utc_opt(lease_until),
        }
    )


def _carries_bytes(job: Job) -> bool:
    return job.request is not None and any(isinstance(i.source, bytes) for i in job.request.images)


def load_job(
    data: str,
    *,
    version: int,
    next_poll_at: datetime | None,
    lease_owner: str | None,
    lease_until: datetime | None,
) -> Job:
    managed = {
        "version": version,
        "next_poll_at": utc_opt(next_poll_at),
        "lease_owner": lease_owner,
        "lease_until": utc_opt(lease_until),
    }
    if '"$bytes"' not in data:  # nothing to revive: pydantic reads the document in one pass
        return Job.model_validate_json(data).model_copy(update=managed)
    doc = loads(data)
    doc.update(managed)
    return Job.model_validate(doc)


def columns(job: Job) -> dict[str, Any]:
    """The indexed columns copied out of a job (times as aware UTC datetimes)."""
    return {
        "id": job.id,
        "idempotency_key": job.idempotency_key,
        "provider": job.provider,
        "model": job.model,
        "status": job.status.value,
        "raw_status": job.raw_status,
        "provider_task_id": job.provider_task_id,
        "next_poll_at": utc_opt(job.next_poll_at),
        "created_at": utc(job.created_at),
        "updated_at": utc(job.updated_at),
        "owner": job.owner,
        "endpoint": job.endpoint,
    }


def encode_cursor(created_at: datetime, job_id: str) -> str:
    raw = f"{ts_text(created_at)}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        when = ts_parse(created)
        assert when is not None
    except Exception as exc:  # any malformed cursor is the caller's mistake
        raise ValueError(
            f"Invalid page cursor {cursor!r}: pass the next_cursor value of a previous page unchanged."
        ) from exc
    return when, job_id
