"""The shared store: PostgreSQL through psycopg 3, for many workers on one or many machines.

Claims use ``FOR UPDATE SKIP LOCKED`` so workers never wait on or double-lease a row; saves lock the row
(``SELECT ... FOR UPDATE``) and compare versions; migrations run under a transaction-scoped advisory lock
so any number of processes may start at once. Connections (autocommit, rows as dicts) come from a
``psycopg_pool.ConnectionPool``; a forked child opens its own. Inside ``async_reads`` (the gateway's
lifespan) ``aget`` reads through an ``AsyncConnectionPool`` on the running loop: a read awaits its socket
instead of blocking the loop or taking a worker thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

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

Q = queries.load("postgres")
MIGRATION_LOCK_KEY = 0x7669646761746531  # "vidgate1": the advisory lock every migrating process takes

Conn = psycopg.Connection[DictRow]
AsyncConn = psycopg.AsyncConnection[DictRow]


def _params(job: Job) -> dict[str, Any]:
    return {**columns(job), "data": dump_job(job)}


def _job(row: DictRow) -> Job:
    return load_job(
        row["data"],
        version=row["version"],
        next_poll_at=row["next_poll_at"],
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
    )


def _redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    info.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


class PostgresStore(JobStore):
    def __init__(self, url: str, *, migrate_on_open: bool = True, max_size: int = 16, connect_timeout_s: int = 10):
        """``max_size``: connections this store opens at most (callers beyond it wait for one to come free)."""
        self.url = url
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._closed = False
        self._pid = os.getpid()
        self._apools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool[AsyncConn]] = {}  # see async_reads
        # One direct connection first: a wrong URL, password or host fails here with the server's own words
        # (a pool would only keep retrying in the background until its timeout).
        with self._connect() as conn:
            if migrate_on_open:
                with conn.transaction():
                    self._migrate(conn)
        self._pool = self._new_pool()

    def __repr__(self) -> str:
        return f"PostgresStore({_redact_url(self.url)!r})"

    # ------------------------------------------------------------------ connections

    def _connect(self) -> Conn:
        try:
            return psycopg.connect(
                self.url, autocommit=True, row_factory=dict_row, connect_timeout=self._connect_timeout_s
            )
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"Cannot connect to PostgreSQL at {_redact_url(self.url)}: {str(exc).strip()}. "
                f"Check that the server runs and the --database-url is right."
            ) from exc

    def _pool_options(self) -> dict[str, Any]:
        return {
            "kwargs": {"autocommit": True, "row_factory": dict_row, "connect_timeout": self._connect_timeout_s},
            "min_size": 1,
            "max_size": self._max_size,
        }

    def _new_pool(self) -> ConnectionPool[Conn]:
        return ConnectionPool(self.url, connection_class=Conn, open=True, name="vidgate-store", **self._pool_options())

    def _unavailable(self, pool: ConnectionPool[Conn] | AsyncConnectionPool[AsyncConn]) -> StoreError:
        """Why ``pool`` gave no connection in time: the server refuses new ones (its reason), or all are busy."""
        self._connect().close()  # raises the StoreError naming the server's reason when it is unreachable
        return StoreError(
            f"No PostgreSQL connection to {_redact_url(self.url)} came free within {pool.timeout:g} s: all "
            f"{pool.max_size} are in use. Open the store with a larger max_size, or hold connections shorter."
        )

    @contextmanager
    def _conn(self) -> Iterator[Conn]:
        if self._closed:
            raise StoreError(f"{self!r} is closed.")
        self._after_fork()
        pool = self._pool
        try:
            conn = pool.getconn()
        except PoolTimeout:
            raise self._unavailable(pool) from None
        try:
            yield conn
        finally:
            pool.putconn(conn)  # the pool rolls back or replaces a connection left in a transaction or broken

    def _after_fork(self) -> None:
        """In a forked child, forget the parent's pools without closing them (closing would end the parent's
        sessions on the server; psycopg never closes a connection inherited through fork) and open a new one."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._pool = self._new_pool()
            self._apools = {}

    @asynccontextmanager
    async def async_reads(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if loop in self._apools:  # nested: the outer block owns the pool
            yield
            return
        pool = AsyncConnectionPool(
            self.url, connection_class=AsyncConn, open=False, name="vidgate-store-async", **self._pool_options()
        )
        await pool.open()
        self._apools[loop] = pool
        try:
            yield
        finally:
            self._apools.pop(loop, None)
            await pool.close()

    async def _afetchone(self, query: str, params: dict[str, Any]) -> DictRow | None:
        """One row, awaited on the running loop's async pool (``async_reads``); without one, on a thread."""
        pool = self._apools.get(asyncio.get_running_loop()) if os.getpid() == self._pid else None
        if pool is None or self._closed:
            return await asyncio.to_thread(self._one, query, params)
        try:
            conn = await pool.getconn()
        except PoolTimeout:
            raise await asyncio.to_thread(self._unavailable, pool) from None
        try:
            return await (await conn.execute(query, params)).fetchone()
        finally:
            await pool.putconn(conn)

    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        with self._conn() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        self._closed = True
        if os.getpid() == self._pid:  # in a forked child that never used the store, the pool is the parent's
            self._pool.close()

    def migrate(self) -> None:
        with self._tx() as conn:
            self._migrate(conn)

    @staticmethod
    def _migrate(conn: Conn) -> None:
        """Apply pending migrations inside the caller's transaction."""
        conn.execute(Q.lock_migrations, {"key": MIGRATION_LOCK_KEY})
        conn.execute(Q.create_migrations_table)
        applied = {r["version"]: r["checksum"] for r in conn.execute(Q.applied_migrations).fetchall()}
        for mig in migrate.pending("postgres", applied):
            conn.execute(mig.sql.encode("utf-8"))  # no parameters: sent as one multi-statement script
            conn.execute(Q.record_migration, {"version": mig.version, "name": mig.name, "checksum": mig.checksum})

    # ------------------------------------------------------------------ writes

    @staticmethod
    def _event(conn: Conn, job_id: str, at: datetime, kind: str, status: str | None, detail: Any) -> int:
        row = conn.execute(
            Q.insert_event,
            {"job_id": job_id, "at": utc(at), "kind": kind, "status": status, "detail": dumps(redact(detail))},
        ).fetchone()
        assert row is not None
        return int(row["seq"])

    def create(self, job: Job) -> CreateResult:
        params = _params(job)
        with self._tx() as conn:
            try:
                with conn.transaction():  # savepoint: a duplicate id must not poison the outer transaction
                    inserted = conn.execute(Q.insert_job, params).fetchone() is not None
            except psycopg.errors.UniqueViolation as exc:
                raise StoreError(f"A job with id {job.id!r} already exists (with another idempotency key).") from exc
            if inserted:
                self._event(conn, job.id, params["created_at"], EventKind.status, params["status"], status_detail(job))
                row = conn.execute(Q.get_job, {"id": job.id}).fetchone()
            else:
                row = conn.execute(Q.get_job_by_key, {"key": job.idempotency_key}).fetchone()
        assert row is not None
        return CreateResult(_job(row), inserted)

    def save(self, job: Job) -> Job:
        data, exact = dump_job_exact(job)
        params = {**columns(job), "data": data}
        with self._tx() as conn:
            h = conn.execute(Q.job_head, {"id": job.id}).fetchone()
            if h is None:
                raise JobNotFoundError(job.id)
            head = StoredHead(*(h[k] for k in StoredHead._fields))
            changed = check_save(job, head)
            conn.execute(Q.update_job, {**params, "version": job.version})
            if changed:
                self._event(conn, job.id, params["updated_at"], EventKind.status, params["status"], status_detail(job))
            if exact:
                return as_saved(
                    job, version=job.version + 1, lease_owner=h["lease_owner"], lease_until=h["lease_until"]
                )
            row = conn.execute(Q.get_job, {"id": job.id}).fetchone()
        assert row is not None
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

    def _one(self, query: str, params: dict[str, Any]) -> DictRow | None:
        with self._conn() as conn:
            return conn.execute(query, params).fetchone()

    def _all(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        with self._conn() as conn:
            return conn.execute(query, params).fetchall()

    def get(self, job_id: str) -> Job:
        row = self._one(Q.get_job, {"id": job_id})
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    async def aget(self, job_id: str) -> Job:
        row = await self._afetchone(Q.get_job, {"id": job_id})
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    def get_by_idempotency_key(self, key: str) -> Job | None:
        row = self._one(Q.get_job_by_key, {"key": key})
        return None if row is None else _job(row)

    def find_by_provider_task_id(self, provider: str, provider_task_id: str) -> Job | None:
        row = self._one(Q.get_job_by_provider_task, {"provider": provider, "provider_task_id": provider_task_id})
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
        after = decode_cursor(cursor) if cursor else None
        rows = self._all(
            Q.list_jobs,
            {
                "statuses": status_values(status),
                "provider": provider,
                "model": model,
                "owner": owner,
                "created_from": utc_opt(created_from),
                "created_to": utc_opt(created_to),
                "cursor_created": after[0] if after else None,
                "cursor_id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return Page([_job(r) for r in rows], nxt)

    def delete(self, job_id: str) -> bool:
        with self._tx() as conn:
            return conn.execute(Q.delete_job, {"id": job_id}).rowcount == 1

    def awaiting_decision(self, limit: int = 100) -> list[Job]:
        return [_job(r) for r in self._all(Q.awaiting_decision, {"limit": check_limit(limit)})]

    def timeline(self, job_id: str) -> list[TimelineEntry]:
        with self._conn() as conn:
            rows = conn.execute(Q.list_events, {"job_id": job_id}).fetchall()
            if not rows and conn.execute(Q.job_exists, {"id": job_id}).fetchone() is None:
                raise JobNotFoundError(job_id)
        return [
            TimelineEntry(
                r["seq"],
                r["job_id"],
                utc(r["at"]),
                r["kind"],
                JobStatus(r["status"]) if r["status"] else None,
                loads(r["detail"]),
            )
            for r in rows
        ]

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
                    "now": now,
                    "lease_until": until,
                    "limit": limit,
                    "endpoints": None if endpoints is None else sorted(endpoints),
                },
            ).fetchall()
        jobs = [_job(r) for r in rows]
        jobs.sort(key=lambda j: (j.next_poll_at or now, j.id))
        return jobs

    def due_by_endpoint(self, now: datetime) -> dict[str, DueJobs]:
        with self._conn() as conn:
            rows = conn.execute(Q.due_by_endpoint, {"now": utc(now)}).fetchall()
        return {r["endpoint"]: DueJobs(r["jobs"], r["example"]) for r in rows}

    def heartbeat(self, job_id: str, worker_id: str, lease_s: float, *, now: datetime | None = None) -> bool:
        until = utc(now or utcnow()) + timedelta(seconds=check_lease(lease_s))
        with self._tx() as conn:
            return conn.execute(Q.heartbeat, {"id": job_id, "worker_id": worker_id, "lease_until": until}).rowcount == 1

    def wake(self, job_id: str, at: datetime) -> bool:
        with self._tx() as conn:
            return conn.execute(Q.wake, {"id": job_id, "at": utc(at)}).rowcount == 1

    def release(self, job_id: str, worker_id: str, next_poll_at: datetime | None) -> bool:
        with self._tx() as conn:
            cur = conn.execute(Q.release, {"id": job_id, "worker_id": worker_id, "next_poll_at": utc_opt(next_poll_at)})
            return cur.rowcount == 1

    def release_many(self, releases: Iterable[tuple[str, str, datetime | None]]) -> list[bool]:
        done: list[bool] = []
        with self._tx() as conn:
            for job_id, worker_id, at in releases:
                cur = conn.execute(Q.release, {"id": job_id, "worker_id": worker_id, "next_poll_at": utc_opt(at)})
                done.append(cur.rowcount == 1)
        return done
