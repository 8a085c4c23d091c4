"""The embedded default store: one SQLite file (WAL mode), shared safely by threads and processes.

Every write runs in ``BEGIN IMMEDIATE``: SQLite then admits one writer at a time (others wait up to the
busy timeout), which is what makes create-by-key and claim atomic across worker processes.
Each thread gets its own connection.

Durability: every commit survives a crash of the process (WAL). The commits that money safety rests on — a new
job, and every save of a job that is ``pending`` or ``unknown`` (the mark written just before a create is sent)
— are also flushed to the disk (``synchronous=FULL``), so even a power cut cannot make a sent create look
unsent. Routine saves (a poll's progress, a lease) are not (``NORMAL``): after a power cut the worst case is
that one is done again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vidgate.errors import ConfigurationError
from vidgate.store import migrate, queries
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
    dump_job_exact,
    dumps,
    encode_cursor,
    load_job,
    loads,
    redact,
    ts_parse,
    ts_text,
    utc,
)
from vidgate.store.errors import JobNotFoundError, StoreError
from vidgate.types import Job, JobStatus, utcnow

Q = queries.load("sqlite")
_CREATE_STATES = (JobStatus.pending, JobStatus.unknown)  # saves around a create: flushed to the disk


def _params(job: Job) -> dict[str, Any]:
    return _params_exact(job)[0]


def _params_exact(job: Job) -> tuple[dict[str, Any], bool]:
    cols = columns(job)
    for k in ("next_poll_at", "created_at", "updated_at"):
        cols[k] = ts_text(cols[k])
    cols["data"], exact = dump_job_exact(job)
    return cols, exact


def _job(row: sqlite3.Row) -> Job:
    return load_job(
        row["data"],
        version=row["version"],
        next_poll_at=ts_parse(row["next_poll_at"]),
        lease_owner=row["lease_owner"],
        lease_until=ts_parse(row["lease_until"]),
    )


class SqliteStore(JobStore):
    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 30.0, migrate_on_open: bool = True):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        try:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
            mode = self._enable_wal()
            if mode != "wal":
                raise StoreError(
                    f"Could not switch {self.path} to WAL mode (it is in {mode!r} mode); "
                    f"use a local file system, not a network share."
                )
            if migrate_on_open:
                self.migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            self.close()
            what = "a directory" if self.path.is_dir() else "not a vidgate job store (or not readable and writable)"
            raise ConfigurationError(
                f"The job store {self.path} cannot be used: it is {what} (SQLite says: {exc}). Give the path of a "
                f"vidgate store or of a new file (--store / VIDGATE_DATABASE_URL), or move this file away."
            ) from None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def _enable_wal(self) -> str:
        """Switch the file to WAL. Switching needs a moment of exclusive access, and SQLite does not wait
        for it (no busy handler), so processes starting together retry until the busy timeout."""
        conn = self._conn()
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.005
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    # ------------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self!r} is closed.")
        self._after_fork()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _tx(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable`` ones reach the disk before the commit returns (see the docstring)."""
        conn = self._conn()
        if durable:
            conn.execute("PRAGMA synchronous = FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if durable:
                conn.execute("PRAGMA synchronous = NORMAL")

    def _after_fork(self) -> None:
        """In a forked child, never use (or close) the parent's connections: open new ones."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._local = threading.local()
            self._all = []

    def close(self) -> None:
        self._after_fork()
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._closed = True

    def migrate(self) -> None:
        with self._tx() as conn:
            conn.execute(Q.create_migrations_table)
            applied = {r["version"]: r["checksum"] for r in conn.execute(Q.applied_migrations)}
            for mig in migrate.pending("sqlite", applied):
                for statement in migrate.split_sqlite(mig.sql):
                    conn.execute(statement)
                conn.execute(
                    Q.record_migration,
                    {
                        "version": mig.version,
                        "name": mig.name,
                        "checksum": mig.checksum,
                        "applied_at": ts_text(utcnow()),
                    },
                )

    # ------------------------------------------------------------------ writes

    @staticmethod
    def _event(conn: sqlite3.Connection, job_id: str, at: datetime, kind: str, status: str | None, detail: Any) -> int:
        row = conn.execute(
            Q.insert_event,
            {"job_id": job_id, "at": ts_text(at), "kind": kind, "status": status, "detail": dumps(redact(detail))},
        ).fetchone()
        return int(row["seq"])

    def create(self, job: Job) -> CreateResult:
        params = _params(job)
        with self._tx(durable=True) as conn:
            try:
                inserted = conn.execute(Q.insert_job, params).rowcount == 1
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"A job with id {job.id!r} already exists (with another idempotency key).") from exc
            if inserted:
                self._event(conn, job.id, job.created_at, EventKind.status, params["status"], status_detail(job))
                row = conn.execute(Q.get_job, {"id": job.id}).fetchone()
            else:
                row = conn.execute(Q.get_job_by_key, {"key": job.idempotency_key}).fetchone()
        return CreateResult(_job(row), inserted)

    def save(self, job: Job) -> Job:
        params, exact = _params_exact(job)
        with self._tx(durable=job.status in _CREATE_STATES) as conn:
            h = conn.execute(Q.job_head, {"id": job.id}).fetchone()
            if h is None:
                raise JobNotFoundError(job.id)
            head = StoredHead(*(h[k] for k in StoredHead._fields))
            head = head._replace(created_at=datetime.fromisoformat(h["created_at"]))
            changed = check_save(job, head)
            conn.execute(Q.update_job, {**params, "version": job.version})
            if changed:
                self._event(conn, job.id, job.updated_at, EventKind.status, params["status"], status_detail(job))
            if exact:
                return as_saved(job, version=job.version + 1, lease_owner=h["lease_owner"],
                                lease_until=ts_parse(h["lease_until"]))  # fmt: skip
            row = conn.execute(Q.get_job, {"id": job.id}).fetchone()
        return _job(row)

    def record_event(
        self, job_id: str, kind: EventKind | str, *, at: datetime | None = None, detail: dict[str, Any] | None = None
    ) -> TimelineEntry:
        at = utc(at or utcnow())
        with self._tx() as conn:
            if conn.execute(Q.job_exists, {"id": job_id}).fetchone() is None:
                raise JobNotFoundError(job_id)
            seq = self._event(conn, job_id, at, str(kind), None, detail or {})
        return TimelineEntry(seq, job_id, at, str(kind), None, loads(dumps(redact(detail or {}))))

    # ------------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job:
        row = self._conn().execute(Q.get_job, {"id": job_id}).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    async def aget(self, job_id: str) -> Job:
        # Inline on the loop: a primary-key read of a local WAL file takes microseconds and never waits for
        # a writer; handing it to a thread would cost more than the read (GIL and thread switches).
        return self.get(job_id)

    def get_by_idempotency_key(self, key: str) -> Job | None:
        row = self._conn().execute(Q.get_job_by_key, {"key": key}).fetchone()
        return None if row is None else _job(row)

    def find_by_provider_task_id(self, provider: str, provider_task_id: str) -> Job | None:
        row = (
            self._conn()
            .execute(Q.get_job_by_provider_task, {"provider": provider, "provider_task_id": provider_task_id})
            .fetchone()
        )
        return None if row is None else _job(row)

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
        rows = (
            self._conn()
            .execute(
                Q.list_jobs,
                {
                    "statuses": None if statuses is None else json.dumps(statuses),
                    "provider": provider,
                    "model": model,
                    "owner": owner,
                    "created_from": ts_text(created_from),
                    "created_to": ts_text(created_to),
                    "cursor_created": ts_text(after[0]) if after else None,
                    "cursor_id": after[1] if after else None,
                    "limit": limit + 1,
                },
            )
            .fetchall()
        )
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = None
        if more:
            created = ts_parse(rows[-1]["created_at"])
            assert created is not None
            nxt = encode_cursor(created, rows[-1]["id"])
        return Page([_job(r) for r in rows], nxt)

    def delete(self, job_id: str) -> bool:
        with self._tx() as conn:
            return conn.execute(Q.delete_job, {"id": job_id}).rowcount == 1

    def awaiting_decision(self, limit: int = 100) -> list[Job]:
        rows = self._conn().execute(Q.awaiting_decision, {"limit": check_limit(limit)}).fetchall()
        return [_job(r) for r in rows]

    def timeline(self, job_id: str) -> list[TimelineEntry]:
        conn = self._conn()
        rows = conn.execute(Q.list_events, {"job_id": job_id}).fetchall()
        if not rows and conn.execute(Q.job_exists, {"id": job_id}).fetchone() is None:
            raise JobNotFoundError(job_id)
        out = []
        for r in rows:
            at = ts_parse(r["at"])
            assert at is not None
            status = JobStatus(r["status"]) if r["status"] else None
            out.append(TimelineEntry(r["seq"], r["job_id"], at, r["kind"], status, loads(r["detail"])))
        return out

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
        with self._tx() as conn:
            rows = conn.execute(
                Q.claim_due,
                {
                    "worker_id": worker_id,
                    "now": ts_text(now),
                    "lease_until": ts_text(until),
                    "limit": limit,
                    "endpoints": None if endpoints is None else dumps(sorted(endpoints)),
                },
            ).fetchall()
        jobs = [_job(r) for r in rows]
        jobs.sort(key=lambda j: (j.next_poll_at or now, j.id))
        return jobs

    def due_by_endpoint(self, now: datetime) -> dict[str, DueJobs]:
        with self._tx() as conn:
            rows = conn.execute(Q.due_by_endpoint, {"now": ts_text(utc(now))}).fetchall()
        return {r["endpoint"]: DueJobs(r["jobs"], r["example"]) for r in rows}

    def heartbeat(self, job_id: str, worker_id: str, lease_s: float, *, now: datetime | None = None) -> bool:
        until = utc(now or utcnow()) + timedelta(seconds=check_lease(lease_s))
        with self._tx() as conn:
            cur = conn.execute(Q.heartbeat, {"id": job_id, "worker_id": worker_id, "lease_until": ts_text(until)})
            return cur.rowcount == 1

    def wake(self, job_id: str, at: datetime) -> bool:
        with self._tx() as conn:
            return conn.execute(Q.wake, {"id": job_id, "at": ts_text(at)}).rowcount == 1

    def release(self, job_id: str, worker_id: str, next_poll_at: datetime | None) -> bool:
        with self._tx() as conn:
            cur = conn.execute(Q.release, {"id": job_id, "worker_id": worker_id, "next_poll_at": ts_text(next_poll_at)})
            return cur.rowcount == 1

    def release_many(self, releases: Iterable[tuple[str, str, datetime | None]]) -> list[bool]:
        done: list[bool] = []
        with self._tx() as conn:
            for job_id, worker_id, at in releases:
                cur = conn.execute(Q.release, {"id": job_id, "worker_id": worker_id, "next_poll_at": ts_text(at)})
                done.append(cur.rowcount == 1)
        return done
