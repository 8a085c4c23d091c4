"""Server-Sent Events for one job: ``event: video`` with the video object whenever it changes, then
``event: done`` once it is final (and, for a success, its video is saved), then the stream ends.

    event: video
    id: 7
    data: {"id": "job_...", "status": "in_progress", "progress": 37, ...}

The job is read from the store (the truth), so the stream follows jobs advanced by any worker process.
A comment line is sent every ~15 s while nothing changes, to keep proxies from closing the connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request

from vidgate.server.gateway import Gateway
from vidgate.store import JobNotFoundError
from vidgate.types import Job

KEEPALIVE_S = 15.0


def frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def finished(job: Job) -> bool:
    return job.done


async def job_events(
    gw: Gateway, request: Request, job: Job, render: Callable[[Job], dict[str, Any]]
) -> AsyncIterator[bytes]:
    interval = gw.config.server.sse_interval_s
    yield b"retry: 2000\n\n"
    yield frame("video", render(job), str(job.version))
    last = (job.version, job.status, job.progress)
    quiet_since = time.monotonic()
    while not finished(job):
        await asyncio.sleep(interval)
        if await request.is_disconnected():
            return
        try:
            job = await gw.store.aget(job.id)
        except JobNotFoundError:
            yield frame("deleted", {"id": job.id})
            return
        now = (job.version, job.status, job.progress)
        if now != last:
            last = now
            quiet_since = time.monotonic()
            yield frame("video", render(job), str(job.version))
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield b": keepalive\n\n"
    yield frame("done", render(job), str(job.version))
