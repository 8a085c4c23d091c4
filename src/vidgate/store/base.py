"""The job store contract: one interface, three implementations (memory, SQLite, PostgreSQL).

Rules every implementation keeps (the contract suite in ``tests/contract`` pins them):

* ``create`` writes the job row *before* any provider call. The idempotency key is unique: creating with
  a key that exists returns the stored job and ``created=False`` (exactly one row per key, also under
  concurrency). ``id``, ``provider``, ``model``, ``idempotency_key`` and ``created_at`` never change.
* ``save`` is compare-and-set on ``Job.version``: it succeeds only when the stored version equals the
  job's, and returns the job with the next version. A stale writer gets ``StaleJobError``. A job in a final
  state keeps that state (``FinalStateError``); saving the same final state again (to record a download)
  is allowed.
* Every change of ``status`` or ``raw_status`` appends a timeline entry stamped with ``Job.updated_at``;
  ``record_event`` appends others (download started/completed...). ``vidgate.store.timeline.timings``
  derives queued / render / download times from it.
* ``claim`` hands each due job (``next_poll_at <= now``, lease free or expired) to exactly one worker and
  bumps its version, so a worker whose lease expired and was taken over can no longer save. A job is bound to
  the endpoint it was created for (``Job.endpoint``, fixed like the fields above): ``claim(endpoints=...)``
  hands out only jobs of those endpoints, and ``due_by_endpoint`` counts the due jobs of every endpoint. ``heartbeat``
  extends only the caller's own lease; ``release`` gives the job back with its next due time (None = idle).
  Lease times come from the caller's clock (``now``); keep worker clocks in sync (NTP) and leases long
  compared with any skew.
* Only credential *references* are stored (``Job.credentials_ref`` is an environment variable name);
  credential-named keys anywhere in the document are redacted on write.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, NamedTuple

from vidgate.errors import BadValueError
from vidgate.store.codec import IMMUTABLE, utc
from vidgate.store.errors import FinalStateError, JobConflictError, StaleJobError
from vidgate.types import Job, JobStatus


class EventKind(StrEnum):
    """Kinds of timeline entries. ``status`` entries are written by the store itself."""

    status = "status"
    download_started = "download_started"
    download_completed = "download_completed"
    download_failed = "download_failed"
    webhook = "webhook"
    note = "note"


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    job_id: str
    at: datetime
    kind: str
    status: JobStatus | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class CreateResult(NamedTuple):
    job: Job
    created: bool  # False: a job with this idempotency key already existed and is returned instead


@dataclass(frozen=True)
class Page:
    jobs: list[Job]
    next_cursor: str | None  # pass back as ``cursor`` for the next page; None = last page


StatusFilter = JobStatus | str | Iterable[JobStatus | str] | None


def status_values(status: StatusFilter) -> list[str] | None:
    """Normalise a status filter to a list of valid status values (or None for no filter)."""
    if status is None:
        return None
    items = [status] if isinstance(status, str) else list(status)
    out: list[str] = []
    for s in items:
        try:
            out.append(JobStatus(s).value)
        except ValueError:
            allowed = ", ".join(x.value for x in JobStatus)
            raise BadValueError(f"Unknown job status {s!r} in the filter; allowed: {allowed}.") from None
    return out


def check_limit(limit: int, name: str = "limit") -> int:
    if limit < 1:
        raise BadValueError(f"{name} must be at least 1, got {limit}.")
    return limit


def check_lease(lease_s: float) -> float:
    if not lease_s > 0:
        raise BadValueError(f"lease_s must be a positive number of seconds, got {lease_s!r}.")
    return lease_s


class DueJobs(NamedTuple):
    jobs: int
    example: str


class StoredHead(NamedTuple):
    """The stored values a save is checked against."""

    version: int
    status: str
    raw_status: str | None
    provider: str
    model: str
    idempotency_key: str | None
    created_at: datetime
    endpoint: str


def check_save(job: Job, head: StoredHead) -> bool:
    """Refuse a save that is stale, leaves a final state or changes a fixed field.

    Returns True when the save changes the status or raw status (the store appends a timeline entry).
    """
    if job.version != head.version:
        raise StaleJobError(job.id, job.version, head.version)
    stored = JobStatus(head.status)
    if stored.terminal and job.status is not stored:
        raise FinalStateError(job.id, stored.value, job.status.value)
    for name in IMMUTABLE:
        mine, theirs = getattr(job, name), getattr(head, name)
        if name == "created_at":
            mine, theirs = utc(mine), utc(theirs)
        if mine != theirs:
            raise JobConflictError(
                f"Job {job.id} was not saved: {name} is fixed when the job is created "
                f"(stored {theirs!r}, got {mine!r}). Create a new job instead."
            )
    return job.status.value != head.status or job.raw_status != head.raw_status


def status_detail(job: Job) -> dict[str, Any]:
    return {"raw_status": job.raw_status, "progress": job.progress}


class JobStore(ABC):
    """Durable job rows. Thread-safe; every method is atomic."""

    # ------------------------------------------------------------------ writes

    @abstractmethod
    def create(self, job: Job) -> CreateResult:
        """Insert ``job`` (version 1) with a first timeline entry, or return the job that holds its key."""

    @abstractmethod
    def save(self, job: Job) -> Job:
        """Compare-and-set on ``job.version``; returns the stored job at the next version."""

    @abstractmethod
    def record_event(
        self, job_id: str, kind: EventKind | str, *, at: datetime | None = None, detail: dict[str, Any] | None = None
    ) -> TimelineEntry:
        """Append a timeline entry that is not a status change (e.g. ``download_started``)."""

    # ------------------------------------------------------------------ reads

    @abstractmethod
    def get(self, job_id: str) -> Job:
        """The job with this id; ``JobNotFoundError`` when there is none."""

    async def aget(self, job_id: str) -> Job:
        """``get`` for a caller on an event loop (the gateway's read path), without blocking the loop: here on
        a worker thread; stores that read locally (memory, SQLite) answer inline, PostgreSQL awaits its socket
        (inside ``async_reads``)."""
        return await asyncio.to_thread(self.get, job_id)

    @abstractmethod
    def get_by_idempotency_key(self, key: str) -> Job | None: ...

    @abstractmethod
    def find_by_provider_task_id(self, provider: str, provider_task_id: str) -> Job | None:
        """The job a provider knows as ``provider_task_id`` (webhooks arrive with that id)."""

    @abstractmethod
    def list_jobs(
        self,
        *,
        status: StatusFilter = None,
        provider: str | None = None,
        model: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        owner: str | None = None,
    ) -> Page:
        """Newest first. ``created_from`` is inclusive, ``created_to`` exclusive; ``owner``: one gateway key's."""

    @abstractmethod
    def delete(self, job_id: str) -> bool:
        """Remove the job, its timeline and anything hanging off it (the gateway's DELETE). False: no such job."""

    @abstractmethod
    def awaiting_decision(self, limit: int = 100) -> list[Job]:
        """Jobs in ``unknown`` with no automatic reconciliation scheduled (``next_poll_at`` is None):
        a person must decide whether to resubmit (may pay twice) or give up. Oldest update first."""

    @abstractmethod
    def timeline(self, job_id: str) -> list[TimelineEntry]:
        """Every entry of the job's timeline, in the order written."""

    # ------------------------------------------------------------------ workers

    @abstractmethod
    def claim(
        self,
        worker_id: str,
        now: datetime,
        lease_s: float,
        limit: int = 10,
        *,
        endpoints: Collection[str] | None = None,
    ) -> list[Job]:
        """Atomically lease up to ``limit`` due jobs to ``worker_id`` until ``now + lease_s``; earliest due first.
        ``endpoints``: only jobs bound to one of these (``Job.endpoint``); None: any job."""

    @abstractmethod
    def due_by_endpoint(self, now: datetime) -> dict[str, DueJobs]:
        """Due jobs that no worker holds, counted per endpoint (with one job id as an example)."""

    @abstractmethod
    def heartbeat(self, job_id: str, worker_id: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend ``worker_id``'s lease to ``now + lease_s``. False when the lease is no longer theirs."""

    @abstractmethod
    def release(self, job_id: str, worker_id: str, next_poll_at: datetime | None) -> bool:
        """End ``worker_id``'s lease and set when the job is due next. False when the lease is not theirs."""

    def release_many(self, releases: Iterable[tuple[str, str, datetime | None]]) -> list[bool]:
        """``release`` for several ``(job_id, worker_id, next_poll_at)`` at once (one transaction where the store
        has them): a worker gives back the jobs of finished steps together."""
        return [self.release(job_id, worker_id, at) for job_id, worker_id, at in releases]

    @abstractmethod
    def wake(self, job_id: str, at: datetime) -> bool:
        """Make the job due no later than ``at`` (e.g. a webhook said it changed). Never postpones it and
        never touches its lease or version, so a worker holding it is not disturbed. False: no such job."""

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The store must not be used afterwards."""

    @asynccontextmanager
    async def async_reads(self) -> AsyncIterator[None]:
        """While this block runs, ``aget`` on the running event loop may use resources bound to that loop
        (PostgreSQL: an async connection pool). The gateway holds it for its lifespan; ``aget`` also works
        without it."""
        yield

    def __enter__(self) -> JobStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
