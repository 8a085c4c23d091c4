"""Per-task callbacks the emulator sends when a task reaches its final state (the relay's ``notify_hook``).

The relay documents only that ``notify_hook`` takes a callback URL (shared/reference/seed-relay-api.md,
relay-platforms.md §2.2): what it POSTs there, when, and whether it retries is undocumented. The emulator
makes one choice and keeps it plain: once, at the moment the task becomes final (SUCCESS or FAILURE, late
failures included), it POSTs the task envelope that ``GET`` would answer then, as JSON, with no signature
and no retry. A receiver that fails or cannot be reached is only counted (``state.counts``:
``notify_hook sent`` / ``notify_hook failed``); polling must still find the task.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from vidgate.emulator.state import EmuJob, EmulatorState

log = logging.getLogger("vidgate.emulator")
TIMEOUT_S = 10.0
_RECHECK_S = 0.005  # the loop's timer fired a hair early on the job clock: look again this much later


def when_final(
    state: EmulatorState, job: EmuJob, start: Callable[[], Coroutine[Any, Any, None]], tasks: set[asyncio.Task[None]]
) -> None:
    """Run ``start()`` on the running loop once ``job`` is final on the emulator's clock (every dialect's
    webhooks go out this way); the task is kept in ``tasks`` until it ends. Call from a request handler."""
    loop = asyncio.get_running_loop()

    def fire() -> None:
        left = state.done_at(job) - state.config.clock()
        if left > 0:
            loop.call_later(max(left, _RECHECK_S), fire)
            return
        task = loop.create_task(start())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.call_later(max(0.0, state.done_at(job) - state.config.clock()), fire)


class Callbacks:
    """Schedules the deliveries on the server's event loop; one HTTP client (keep-alive) per loop."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._http: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, job: EmuJob, url: str, body: Callable[[], dict[str, Any]]) -> None:
        """POST ``body()`` to ``url`` when ``job`` is final. Call from a request handler (the server's loop)."""
        when_final(self.state, job, lambda: self._send(job, url, body()), self._tasks)

    async def _send(self, job: EmuJob, url: str, body: dict[str, Any]) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=TIMEOUT_S)
        try:
            answer = await self._http.post(
                url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
            )
            job.meta["notify_status"] = answer.status_code
            self.state.count("notify_hook sent" if answer.status_code < 400 else "notify_hook failed")
        except httpx.HTTPError as exc:
            job.meta["notify_status"] = None
            self.state.count("notify_hook failed")
            log.info("notify_hook for task %s not delivered: %s", job.task_id, exc.__class__.__name__)
