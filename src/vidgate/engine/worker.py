"""``vidgate worker``: claim due jobs from a shared store under a lease and move each one step forward.

    async with AsyncClient(store="jobs.db") as client:
        await Worker(client.engine, concurrency=64).run(stop)

Any number of workers, in one process or many, on one machine or many sharing PostgreSQL, never work on the
same job at once: ``claim`` leases a job to exactly one worker, ``heartbeat`` keeps long downloads leased,
and a killed worker's jobs are claimed again once its lease expires. A step that lost its lease cannot save
(the store's version check), so it changes nothing.

One event loop runs ``concurrency`` steps at once (coroutines over the asyncio driver), and claiming is
pipelined: new due jobs are claimed as soon as half the slots are free, so one slow step (a download) never
holds the others back. A worker claims only the jobs of the endpoints it is configured for (provider, base
URL, credential name) and reports the due jobs it leaves to others (``WorkerStats.elsewhere``).
``notify()`` (thread-safe) ends the idle wait at once, e.g. when a webhook made a job due.

Store calls run inline on the loop: fine for the memory store, SQLite on a local disk and PostgreSQL nearby.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vidgate.engine import ops
from vidgate.engine.runtime import AsyncEngine
from vidgate.errors import BadValueError, VidgateError
from vidgate.store import JobConflictError, JobStore
from vidgate.types import Job, JobStatus

log = logging.getLogger("vidgate.worker")
ACTIVE_STATUSES = (JobStatus.pending, JobStatus.unknown, JobStatus.queued, JobStatus.running, JobStatus.succeeded)
REPORT_EVERY_S = 300.0  # how often the due jobs of other endpoints are reported again


@dataclass
class WorkerStats:
    claimed: int = 0
    steps: int = 0
    errors: int = 0
    lost_leases: int = 0
    finished: list[str] = field(default_factory=list)
    elsewhere: dict[str, int] = field(default_factory=dict)  # due jobs of endpoints this worker does not serve


class Worker:
    """Runs the jobs of its endpoints to a final state with ``engine`` (whose store others may share)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        worker_id: str | None = None,
        lease_s: float = 60.0,
        concurrency: int = 64,
        batch: int | None = None,
        idle_s: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise BadValueError(f"concurrency must be at least 1 (jobs stepped at once), got {concurrency}")
        if not lease_s > 0 or not idle_s >= 0 or (batch is not None and batch < 1):
            raise BadValueError(
                f"a worker needs lease_s > 0, idle_s >= 0 and batch >= 1; got lease_s={lease_s}, idle_s={idle_s}, "
                f"batch={batch}"
            )
        self.engine = engine
        self.core = engine.core
        self.store = engine.core.store
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = lease_s
        self.concurrency = concurrency
        self.batch = max(1, min(batch or concurrency, concurrency))
        self.idle_s = idle_s
        self.stats = WorkerStats()
        self.endpoints = self.core.endpoints.keys()  # Job.endpoint -> description
        self._refill = max(1, self.batch // 2)  # claim again once this many slots are free
        self._running: set[asyncio.Task[None]] = set()
        self._woken: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reported_at: float | None = None
        self._releases: list[tuple[str, str, datetime | None]] = []

    def notify(self) -> None:
        """A job became due now: end the idle wait at once. Safe to call from any thread."""
        loop, woken = self._loop, self._woken
        if loop is None or woken is None:
            return
        try:
            if loop is asyncio.get_running_loop():
                woken.set()
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(woken.set)

    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> WorkerStats:
        """Loop until ``stop`` is set (or, with ``until_idle``, until none of its jobs is due or scheduled);
        steps under way when it stops are finished first."""
        stop = stop or asyncio.Event()
        self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
        woken = self._woken
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                woken.clear()
                self.flush_releases()
                self.report_elsewhere()
                claimed = self.run_once() if self.concurrency - len(self._running) >= self._refill else 0
                if claimed and claimed == min(self.batch, self.concurrency - len(self._running) + claimed):
                    await asyncio.sleep(0)  # a full batch: more may be due (let the steps begin first)
                    continue
                if until_idle and not claimed and not self._running and not self._releases and not self._scheduled():
                    break
                waiter = asyncio.ensure_future(woken.wait())
                await asyncio.wait({waiter, stopping}, timeout=self.idle_s, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            stopping.cancel()
            if self._running:
                await asyncio.gather(*list(self._running), return_exceptions=True)
            self.flush_releases()
        return self.stats

    def run_once(self) -> int:
        """Claim due jobs of this worker's endpoints for the free slots and start a step for each."""
        free = min(self.batch, self.concurrency - len(self._running))
        if free <= 0:
            return 0
        jobs = self.store.claim(self.worker_id, self.core.now(), self.lease_s, free, endpoints=self.endpoints)
        self.stats.claimed += len(jobs)
        for job in jobs:
            task = asyncio.ensure_future(self.step(job))
            self._running.add(task)
            task.add_done_callback(self._finished)
        return len(jobs)

    async def run_round(self) -> int:
        """Claim once and finish the steps that starts (tests, cron-style runs); how many jobs were claimed."""
        self.flush_releases()
        claimed = self.run_once()
        if self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)
        self.flush_releases()
        return claimed

    def report_elsewhere(self, *, force: bool = False) -> dict[str, int]:
        """Say which due jobs this worker leaves alone (another endpoint's) and why; at most every few minutes."""
        now = time.monotonic()
        if not force and self._reported_at is not None and now - self._reported_at < REPORT_EVERY_S:
            return self.stats.elsewhere
        self._reported_at = now
        due = self.store.due_by_endpoint(self.core.now())
        self.stats.elsewhere = {e: d.jobs for e, d in due.items() if e not in self.endpoints}
        mine = sorted(self.endpoints)
        configured = (
            f"{len(mine)} endpoint(s) ({', '.join(mine[:3])}{', ...' if len(mine) > 3 else ''})"
            if mine
            else "no endpoint (no API key set)"
        )
        for endpoint, d in due.items():
            if endpoint not in self.endpoints:
                log.warning(
                    "skipping %d due job(s) of %s (e.g. %s): this worker is configured for %s; a job is only sent "
                    "to the endpoint it was created for",
                    d.jobs,
                    endpoint,
                    d.example,
                    configured,
                )
        return self.stats.elsewhere

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._woken is not None and self.concurrency - len(self._running) >= self._refill:
            self._woken.set()

    def _scheduled(self) -> bool:
        """Is any job of this worker's endpoints waiting for a later step (a poll, a retry, a download)?"""
        cursor = None
        while True:
            page = self.store.list_jobs(status=list(ACTIVE_STATUSES), limit=200, cursor=cursor)
            if any(j.next_poll_at is not None and j.endpoint in self.endpoints for j in page.jobs):
                return True
            if page.next_cursor is None:
                return False
            cursor = page.next_cursor

    async def step(self, job: Job) -> None:
        """One unit of work under this worker's lease; always gives the job back with its next due time."""
        next_at = job.next_poll_at
        try:
            heartbeat = lease_heartbeat(self.store, job.id, self.worker_id, self.lease_s, self.core.now)
            job = await self.engine.run(ops.step(self.core, self.core.adopt(job), on_bytes=heartbeat))
            next_at = job.next_poll_at
            self.stats.steps += 1
            if job.done:
                self.stats.finished.append(job.id)
        except JobConflictError:
            self.stats.lost_leases += 1  # someone else owns it now; their save won
            return
        except (VidgateError, OSError) as exc:
            self.stats.errors += 1
            log.warning("job %s: %s: %s", job.id, exc.__class__.__name__, exc)
            next_at = self.core.now() + timedelta(seconds=min(self.lease_s, 30.0))
        self._releases.append((job.id, self.worker_id, next_at))  # given back with the others of this round

    def flush_releases(self) -> None:
        """Give back the jobs of finished steps, with their next due times, in one store transaction."""
        releases, self._releases = self._releases, []
        if releases:
            self.stats.lost_leases += sum(not ok for ok in self.store.release_many(releases))


def lease_heartbeat(
    store: JobStore, job_id: str, worker_id: str, lease_s: float, now: Callable[[], datetime]
) -> Callable[[int, int | None], None]:
    """An ``on_bytes`` callback that extends the lease every third of it during long downloads."""
    last = [time.monotonic()]

    def beat(done: int, total: int | None) -> None:
        if time.monotonic() - last[0] >= lease_s / 3:
            last[0] = time.monotonic()
            store.heartbeat(job_id, worker_id, lease_s, now=now())

    return beat
