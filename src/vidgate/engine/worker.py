"""``vidgate worker``: claim due jobs from a shared store under a lease and move each one step forward.

Any number of workers, in one process or many, on one machine or many sharing PostgreSQL, never work on
the same job at once: ``claim`` leases a job to exactly one worker, ``heartbeat`` keeps long downloads
leased, and a killed worker's jobs are claimed again once its lease expires. A step that lost its lease
cannot save (the store's version check), so it changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vidgate.client import Client
from vidgate.errors import VidgateError
from vidgate.store import JobConflictError, JobStore
from vidgate.types import Job, JobStatus

log = logging.getLogger("vidgate.worker")
_ACTIVE = (JobStatus.pending, JobStatus.unknown, JobStatus.queued, JobStatus.running, JobStatus.succeeded)
ACTIVE_STATUSES = _ACTIVE  # statuses a job may still have work in (shared with AsyncWorker)


@dataclass
class WorkerStats:
    claimed: int = 0
    steps: int = 0
    errors: int = 0
    lost_leases: int = 0
    finished: list[str] = field(default_factory=list)


class Worker:
    """Runs jobs to a final state with ``client`` (whose store is shared with other workers)."""

    def __init__(
        self,
        client: Client,
        *,
        worker_id: str | None = None,
        lease_s: float = 60.0,
        batch: int = 16,
        threads: int = 8,
        idle_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.store = client.store
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = lease_s
        self.batch = batch
        self.idle_s = idle_s
        self.sleep = sleep
        self.stats = WorkerStats()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vidgate-worker")
        self._lock = threading.Lock()
        self._woken = threading.Event()

    def notify(self) -> None:
        """A job became due now (e.g. a webhook woke it, see ``engine.hints``): end the idle wait at once.
        Thread-safe; pass it as ``wake_on_hint(..., on_wake=worker.notify)``."""
        self._woken.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_once(self) -> int:
        """Claim one batch of due jobs and step each of them; returns how many were claimed."""
        now = self.client.now()
        jobs = self.store.claim(self.worker_id, now, self.lease_s, self.batch)
        with self._lock:
            self.stats.claimed += len(jobs)
        list(self._pool.map(self.step, jobs))
        return len(jobs)

    def run(self, stop: threading.Event | None = None, *, until_idle: bool = False) -> WorkerStats:
        """Loop until ``stop`` is set (or, with ``until_idle``, until no job is due)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self._woken.clear()  # a notify() from here on ends the idle wait below
            if self.run_once() == 0:
                if until_idle and not self._scheduled():
                    break
                self._idle(stop) if self.sleep is time.sleep else self.sleep(self.idle_s)
        return self.stats

    def _idle(self, stop: threading.Event) -> None:
        """Wait ``idle_s``, or less when ``stop`` is set or ``notify()`` is called (checked every 50 ms)."""
        end = time.monotonic() + self.idle_s
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0 or self._woken.wait(min(left, 0.05)):
                return

    def _scheduled(self) -> bool:
        """Is any job waiting for a later step (a poll, a retry, a download)? Used by ``until_idle``."""
        cursor = None
        while True:
            page = self.store.list_jobs(status=list(_ACTIVE), limit=200, cursor=cursor)
            if any(j.next_poll_at is not None for j in page.jobs):
                return True
            if page.next_cursor is None:
                return False
            cursor = page.next_cursor

    def step(self, job: Job) -> None:
        """One unit of work under this worker's lease; always gives the job back with its next due time."""
        heartbeat = self._heartbeat(job)
        next_at = job.next_poll_at
        try:
            job = self.client.advance(job, on_bytes=heartbeat)
            next_at = job.next_poll_at
            with self._lock:
                self.stats.steps += 1
                if job.done:
                    self.stats.finished.append(job.id)
        except JobConflictError:
            with self._lock:
                self.stats.lost_leases += 1  # someone else owns it now; their save won
            return
        except (VidgateError, OSError) as exc:
            with self._lock:
                self.stats.errors += 1
            log.warning("job %s: %s: %s", job.id, exc.__class__.__name__, exc)
            next_at = self.client.now() + timedelta(seconds=min(self.lease_s, 30.0))
        if not self.store.release(job.id, self.worker_id, next_at):
            with self._lock:
                self.stats.lost_leases += 1

    def _heartbeat(self, job: Job) -> Callable[[int, int | None], None]:
        return lease_heartbeat(self.store, job.id, self.worker_id, self.lease_s, self.client.now)


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
