"""``AsyncWorker``: the worker for many jobs at once — one event loop, ``concurrency`` steps in flight.

    async with AsyncClient(store="jobs.db", transport=Http11Transport()) as client:
        await AsyncWorker(client, concurrency=64).run(stop)

The same contract as the thread-pool ``Worker`` (leases, heartbeats, ``release`` with the next due time, a
step that lost its lease changes nothing) with two differences that matter for thousands of jobs: steps
are coroutines over ``AsyncClient.advance`` instead of threads, and claiming is pipelined — new due jobs
are claimed in batches as soon as half the slots are free, so one slow step (a download) never holds the
others back. ``notify()`` (thread-safe) ends the idle wait at once, e.g. from ``engine.hints.wake_on_hint``.

Store calls run inline on the loop: fine for the memory store and SQLite on a local disk; keep them short.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from vidgate.client import AsyncClient
from vidgate.engine.worker import ACTIVE_STATUSES, WorkerStats, lease_heartbeat
from vidgate.errors import VidgateError
from vidgate.store import JobConflictError
from vidgate.types import Job

log = logging.getLogger("vidgate.worker")


class AsyncWorker:
    """Runs jobs to a final state with ``client`` (whose store may be shared with other workers)."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        worker_id: str | None = None,
        lease_s: float = 60.0,
        concurrency: int = 64,
        batch: int | None = None,
        idle_s: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.client = client
        self.store = client.store
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = lease_s
        self.concurrency = concurrency
        self.batch = max(1, min(batch or concurrency, concurrency))
        self.idle_s = idle_s
        self.stats = WorkerStats()
        self._refill = max(1, self.batch // 2)  # claim again once this many slots are free
        self._running: set[asyncio.Task[None]] = set()
        self._woken: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
        """Loop until ``stop`` is set (or, with ``until_idle``, until no job is due or scheduled); steps that
        are under way when it stops are finished first."""
        stop = stop or asyncio.Event()
        self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
        woken = self._woken
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                woken.clear()
                claimed = self.run_once() if self.concurrency - len(self._running) >= self._refill else 0
                if claimed and claimed == min(self.batch, self.concurrency - len(self._running) + claimed):
                    continue  # a full batch: more may be due
                if until_idle and not claimed and not self._running and not self._scheduled():
                    break
                waiter = asyncio.ensure_future(woken.wait())
                await asyncio.wait({waiter, stopping}, timeout=self.idle_s, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            stopping.cancel()
            if self._running:
                await asyncio.gather(*list(self._running), return_exceptions=True)
        return self.stats

    def run_once(self) -> int:
        """Claim due jobs for the free slots and start a step for each; returns how many were claimed."""
        free = min(self.batch, self.concurrency - len(self._running))
        if free <= 0:
            return 0
        jobs = self.store.claim(self.worker_id, self.client.now(), self.lease_s, free)
        self.stats.claimed += len(jobs)
        for job in jobs:
            task = asyncio.ensure_future(self.step(job))
            self._running.add(task)
            task.add_done_callback(self._finished)
        return len(jobs)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._woken is not None and self.concurrency - len(self._running) >= self._refill:
            self._woken.set()

    def _scheduled(self) -> bool:
        cursor = None
        while True:
            page = self.store.list_jobs(status=list(ACTIVE_STATUSES), limit=200, cursor=cursor)
            if any(j.next_poll_at is not None for j in page.jobs):
                return True
            if page.next_cursor is None:
                return False
            cursor = page.next_cursor

    async def step(self, job: Job) -> None:
        """One unit of work under this worker's lease; always gives the job back with its next due time."""
        next_at = job.next_poll_at
        try:
            job = await self.client.advance(job, on_bytes=self._heartbeat(job), fresh=True)  # claimed just now
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
            next_at = self.client.now() + timedelta(seconds=min(self.lease_s, 30.0))
        if not self.store.release(job.id, self.worker_id, next_at):
            self.stats.lost_leases += 1

    def _heartbeat(self, job: Job) -> Callable[[int, int | None], None]:
        return lease_heartbeat(self.store, job.id, self.worker_id, self.lease_s, self.client.now)
