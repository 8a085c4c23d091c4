"""The in-memory store: the same contract as the SQL stores, for scripts and tests. Thread-safe.

Rows are kept in their stored form (the JSON document plus columns, exactly as the SQL stores write
them), so what comes back is a fresh copy and behaves like a database read.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from vidgate.store.base import (
    CreateResult,
    DueJobs,
    EventKind,
    JobStore,
    Page,
    StatusFilter,
    StoredHead,
    TimelineEntry,
    check_lease,
    check_limit,
    check_save,
    status_detail,
    status_values,
)
from vidgate.store.codec import (
    as_saved,
    columns,
    decode_cursor,
    dump_job,
    dump_job_exact,
    dumps,
    encode_cursor,
    load_job,
    loads,
    redact,
    utc,
    utc_opt,
)
from vidgate.store.errors import JobNotFoundError, StoreError
from vidgate.types import Job, JobStatus, utcnow


@dataclass(frozen=True)
class _Row:
    id: str
    idempotency_key: str | None
    provider: str
    model: str
    status: str
    raw_status: str | None
    provider_task_id: str | None
    next_poll_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    data: str
    owner: str | None = None
    endpoint: str = ""


@dataclass(frozen=True)
class _Event:
    seq: int
    job_id: str
    at: datetime
    kind: str
    status: str | None
    detail: str


class MemoryStore(JobStore):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._by_key: dict[str, str] = {}
        self._events: dict[str, list[_Event]] = {}
        self._seq = 0
        # claim's index: per endpoint, a heap of (next_poll_at, job id), one entry pushed whenever a row's
        # next_poll_at changes; entries whose row moved on (or went) are stale and skipped when they come up
        self._due: dict[str, list[tuple[datetime, str]]] = {}
        self._entries = 0
        self.on_delete: list[Callable[[str], None]] = []  # the gateway's in-memory tables cascade through this

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _job(row: _Row) -> Job:
        return load_job(
            row.data,
            version=row.version,
            next_poll_at=row.next_poll_at,
            lease_owner=row.lease_owner,
            lease_until=row.lease_until,
        )

    def _put(self, row: _Row) -> None:
        old = self._rows.get(row.id)
        self._rows[row.id] = row
        if row.next_poll_at is not None and (old is None or old.next_poll_at != row.next_poll_at):
            heapq.heappush(self._due.setdefault(row.endpoint, []), (row.next_poll_at, row.id))
            self._entries += 1
            if self._entries > 2 * len(self._rows) + 1024:  # mostly stale: rebuild
                self._due = {}
                for r in self._rows.values():
                    if r.next_poll_at is not None:
                        self._due.setdefault(r.endpoint, []).append((r.next_poll_at, r.id))
                for heap in self._due.values():
                    heapq.heapify(heap)
                self._entries = sum(len(h) for h in self._due.values())

    def _row(self, job_id: str) -> _Row:
        row = self._rows.get(job_id)
        if row is None:
            raise JobNotFoundError(job_id)
        return row

    def _append(self, job_id: str, at: datetime, kind: str, status: str | None, detail: dict[str, Any]) -> _Event:
        self._seq += 1
        event = _Event(self._seq, job_id, utc(at), str(kind), status, dumps(redact(detail)))
        self._events.setdefault(job_id, []).append(event)
        return event

    @staticmethod
    def _entry(e: _Event) -> TimelineEntry:
        return TimelineEntry(e.seq, e.job_id, e.at, e.kind, JobStatus(e.status) if e.status else None, loads(e.detail))

    # ------------------------------------------------------------------ writes

    def create(self, job: Job) -> CreateResult:
        cols = columns(job)
        data = dump_job(job)
        with self._lock:
            key = job.idempotency_key
            if key is not None and key in self._by_key:
                return CreateResult(self._job(self._rows[self._by_key[key]]), False)
            if job.id in self._rows:
                raise StoreError(f"A job with id {job.id!r} already exists (with another idempotency key).")
            row = _Row(**cols, lease_owner=None, lease_until=None, version=1, data=data)
            self._put(row)
            if key is not None:
                self._by_key[key] = job.id
            self._append(job.id, cols["created_at"], EventKind.status, cols["status"], status_detail(job))
            return CreateResult(self._job(row), True)

    def save(self, job: Job) -> Job:
        cols = columns(job)
        data, exact = dump_job_exact(job)
        with self._lock:
            row = self._row(job.id)
            head = StoredHead(
                row.version,
                row.status,
                row.raw_status,
                row.provider,
                row.model,
                row.idempotency_key,
                row.created_at,
                row.endpoint,
            )
            changed = check_save(job, head)
            row = replace(
                row,
                status=cols["status"],
                raw_status=cols["raw_status"],
                provider_task_id=cols["provider_task_id"],
                next_poll_at=cols["next_poll_at"],
                updated_at=cols["updated_at"],
                data=data,
                version=row.version + 1,
            )
            self._put(row)
            if changed:
                self._append(job.id, cols["updated_at"], EventKind.status, cols["status"], status_detail(job))
            if exact:
                return as_saved(job, version=row.version, lease_owner=row.lease_owner, lease_until=row.lease_until)
            return self._job(row)

    def record_event(
        self, job_id: str, kind: EventKind | str, *, at: datetime | None = None, detail: dict[str, Any] | None = None
    ) -> TimelineEntry:
        with self._lock:
            self._row(job_id)
            return self._entry(self._append(job_id, at or utcnow(), str(kind), None, detail or {}))

    # ------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job:
        with self._lock:
            return self._job(self._row(job_id))

    async def aget(self, job_id: str) -> Job:
        return self.get(job_id)  # in memory: nothing to wait for

    def get_by_idempotency_key(self, key: str) -> Job | None:
        with self._lock:
            job_id = self._by_key.get(key)
            return None if job_id is None else self._job(self._rows[job_id])

    def find_by_provider_task_id(self, provider: str, provider_task_id: str) -> Job | None:
        with self._lock:
            rows = [r for r in self._rows.values() if r.provider == provider and r.provider_task_id == provider_task_id]
            return self._job(max(rows, key=lambda r: r.created_at)) if rows else None

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
        check_limit(limit)
        statuses = status_values(status)
        after = decode_cursor(cursor) if cursor else None
        lo, hi = utc_opt(created_from), utc_opt(created_to)
        with self._lock:
            rows = [
                r
                for r in self._rows.values()
                if (statuses is None or r.status in statuses)
                and (provider is None or r.provider == provider)
                and (model is None or r.model == model)
                and (owner is None or r.owner == owner)
                and (lo is None or r.created_at >= lo)
                and (hi is None or r.created_at < hi)
                and (after is None or (r.created_at, r.id) < after)
            ]
            rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            page = rows[: limit + 1]
            jobs = [self._job(r) for r in page[:limit]]
        more = len(page) > limit
        return Page(jobs, encode_cursor(page[limit - 1].created_at, page[limit - 1].id) if more else None)

    def delete(self, job_id: str) -> bool:
        with self._lock:
            row = self._rows.pop(job_id, None)
            if row is None:
                return False
            if row.idempotency_key is not None:
                self._by_key.pop(row.idempotency_key, None)
            self._events.pop(job_id, None)
            for hook in list(self.on_delete):
                hook(job_id)
            return True

    def awaiting_decision(self, limit: int = 100) -> list[Job]:
        check_limit(limit)
        with self._lock:
            rows = [r for r in self._rows.values() if r.status == JobStatus.unknown.value and r.next_poll_at is None]
            rows.sort(key=lambda r: (r.updated_at, r.id))
            return [self._job(r) for r in rows[:limit]]

    def timeline(self, job_id: str) -> list[TimelineEntry]:
        with self._lock:
            self._row(job_id)
            return [self._entry(e) for e in self._events.get(job_id, [])]

    # ------------------------------------------------------------------ workers

    def claim(
        self,
        worker_id: str,
        now: datetime,
        lease_s: float,
        limit: int = 10,
        *,
        endpoints: Collection[str] | None = None,
    ) -> list[Job]:
        check_limit(limit)
        now = utc(now)
        until = now + timedelta(seconds=check_lease(lease_s))
        with self._lock:
            heaps = [self._due[e] for e in (self._due if endpoints is None else endpoints) if e in self._due]
            # earliest due first across the endpoints' heaps; leased rows are passed over but stay indexed
            due: list[_Row] = []
            kept: list[tuple[list[tuple[datetime, str]], tuple[datetime, str]]] = []
            seen: set[str] = set()
            while len(due) < limit:
                heap = min((h for h in heaps if h and h[0][0] <= now), key=lambda h: h[0], default=None)
                if heap is None:
                    break
                entry = heapq.heappop(heap)
                self._entries -= 1
                r = self._rows.get(entry[1])
                if r is None or r.next_poll_at != entry[0] or r.id in seen:
                    continue  # stale or a duplicate
                seen.add(r.id)
                kept.append((heap, entry))
                if r.lease_until is None or r.lease_until <= now:
                    due.append(r)
            for heap, entry in kept:
                heapq.heappush(heap, entry)
                self._entries += 1
            claimed = []
            for r in due:
                row = replace(r, lease_owner=worker_id, lease_until=until, version=r.version + 1)
                self._rows[r.id] = row  # next_poll_at unchanged: its index entry stays valid
                claimed.append(self._job(row))
            return claimed

    def due_by_endpoint(self, now: datetime) -> dict[str, DueJobs]:
        now = utc(now)
        out: dict[str, DueJobs] = {}
        with self._lock:
            for r in self._rows.values():
                if r.next_poll_at is None or r.next_poll_at > now or (r.lease_until and r.lease_until > now):
                    continue
                count, example = out.get(r.endpoint, DueJobs(0, r.id))
                out[r.endpoint] = DueJobs(count + 1, min(example, r.id))
        return out

    def heartbeat(self, job_id: str, worker_id: str, lease_s: float, *, now: datetime | None = None) -> bool:
        until = utc(now or utcnow()) + timedelta(seconds=check_lease(lease_s))
        with self._lock:
            row = self._rows.get(job_id)
            if row is None or row.lease_owner != worker_id:
                return False
            self._put(replace(row, lease_until=until))
            return True

    def wake(self, job_id: str, at: datetime) -> bool:
        at = utc(at)
        with self._lock:
            row = self._rows.get(job_id)
            if row is None:
                return False
            if row.next_poll_at is None or row.next_poll_at > at:
                self._put(replace(row, next_poll_at=at))
            return True

    def release(self, job_id: str, worker_id: str, next_poll_at: datetime | None) -> bool:
        with self._lock:
            row = self._rows.get(job_id)
            if row is None or row.lease_owner != worker_id:
                return False
            self._put(replace(row, lease_owner=None, lease_until=None, next_poll_at=utc_opt(next_poll_at)))
            return True
