"""What only the database-backed stores can show: raw rows, migrations, several processes at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from storekit import at, make_job

from vidgate.client import Client
from vidgate.store import JobStore, MemoryStore, MigrationError, StoreError, migrate, open_store
from vidgate.store.memory import MemoryStore as _Memory
from vidgate.types import ErrorCode, Job, JobError, JobStatus

SECRET = "sk-live-9f8e7d6c5b4a39281706"


def raw_dump(store: JobStore, url: str) -> str:
    """Everything the store holds, as text, read around the store's own API."""
    if isinstance(store, _Memory):
        return repr(store._rows) + repr(store._events)
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url) as conn:
            tables = ["jobs", "job_events", "schema_migrations"]
            return "\n".join(str(conn.execute(f"SELECT t::text FROM {t} AS t").fetchall()) for t in tables)
    path = Path(url)
    with sqlite3.connect(path) as conn:
        rows = [conn.execute(f"SELECT * FROM {t}").fetchall() for t in ("jobs", "job_events", "schema_migrations")]
    files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    return repr(rows) + files.decode("latin-1")


def test_a_job_saved_with_its_request_never_stores_the_api_key(store: JobStore, store_url: str) -> None:
    client = Client(env={"VIDGATE_RELAY_API_KEY": SECRET})
    sub = client.prepare("a lighthouse at dawn", model="sora-2", duration=10)
    assert sub.connection.api_key == SECRET  # the secret really was in play
    spec = sub.prepared.spec
    job = Job(
        id="job_secret",
        provider=spec.provider,
        model=spec.key,
        request=sub.prepared.request,
        idempotency_key=sub.prepared.idempotency_key,
        credentials_ref=client.catalog.provider_of(spec).api_key_env,
    )
    job = store.create(job).job
    job = store.save(
        job.model_copy(
            update={
                "status": JobStatus.failed,
                "error": JobError(code=ErrorCode.auth, message="denied", raw={"Authorization": f"Bearer {SECRET}"}),
            }
        )
    )
    assert store.get(job.id).credentials_ref == "VIDGATE_RELAY_API_KEY"
    dump = raw_dump(store, store_url)
    assert "VIDGATE_RELAY_API_KEY" in dump and "a lighthouse at dawn" in dump  # the dump really sees the rows
    assert SECRET not in dump
    client.close()


# ---------------------------------------------------------------------------------------------- migrations


def _applied(url: str) -> list[tuple[int, str]]:
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url) as conn:
            return [(r[0], r[1]) for r in conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1")]
    with sqlite3.connect(url) as conn:
        return list(conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1"))


def _sql(url: str, statement: str) -> None:
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)
    else:
        with sqlite3.connect(url) as conn:
            conn.execute(statement)


def _shipped(url: str) -> list[tuple[int, str]]:
    """Every migration this vidgate ships for the URL's database, in order."""
    dialect = "postgres" if url.startswith("postgresql://") else "sqlite"
    return [(m.version, m.name) for m in migrate.discover(dialect)]


@pytest.mark.stores(["sqlite", "postgres"])
def test_migrations_apply_once_even_when_many_processes_start_together(store_url: str) -> None:
    barrier = threading.Barrier(6)

    def start(_: int) -> JobStore:
        barrier.wait()
        return open_store(store_url)

    with ThreadPoolExecutor(6) as pool:
        stores = list(pool.map(start, range(6)))
    expected = _shipped(store_url)
    assert expected[0] == (1, "0001_jobs.sql")
    assert _applied(store_url) == expected
    stores[0].create(make_job(1))
    for s in stores:
        assert s.get("job_0001").version == 1
        s.close()
    with open_store(store_url) as again:  # reopening applies nothing new and keeps the data
        assert again.get("job_0001").id == "job_0001"
    assert _applied(store_url) == expected


@pytest.mark.stores(["sqlite", "postgres"])
def test_an_edited_migration_stops_the_store_from_opening(store_url: str) -> None:
    open_store(store_url).close()
    _sql(store_url, "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1")
    with pytest.raises(MigrationError, match=r"0001_jobs\.sql changed after it was applied.*append-only"):
        open_store(store_url)


@pytest.mark.stores(["sqlite", "postgres"])
def test_a_newer_database_stops_an_older_vidgate(store_url: str) -> None:
    open_store(store_url).close()
    _sql(
        store_url,
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, 'x', 'y', '2030-01-01')",
    )
    newest = _shipped(store_url)[-1][0]
    with pytest.raises(MigrationError, match=f"at version 99 but this vidgate only knows migrations up to {newest}"):
        open_store(store_url)


# ---------------------------------------------------------------------------------------------- processes

CLAIMER = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    from vidgate.store import open_store
    url, worker, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
    got = []
    with open_store(url) as store:
        print("ready", flush=True)
        sys.stdin.readline()  # start line: every process begins claiming at once
        while batch := store.claim(worker, now, 60, limit=3):
            got += [j.id for j in batch]
    print(json.dumps(got), flush=True)
    """
)


@pytest.mark.stores(["sqlite", "postgres"])
def test_worker_processes_never_claim_the_same_job(store_url: str, open_more: Callable[[], JobStore]) -> None:
    store = open_more()
    total = 90
    for n in range(total):
        store.create(make_job(n, status=JobStatus.queued, next_poll_at=at(n % 5)))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, store_url, f"proc{i}", at(60).isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    flat = [job_id for part in results for job_id in part]
    assert len(flat) == len(set(flat)) == total
    for job_id in flat[:5]:
        assert store.get(job_id).lease_owner is not None


def test_memory_store_is_private_to_its_object() -> None:
    a, b = MemoryStore(), open_store("memory://")
    a.create(make_job(1))
    assert b.list_jobs().jobs == []


@pytest.mark.stores(["sqlite", "postgres"])
def test_a_forked_child_opens_its_own_connections(store: JobStore) -> None:
    store.create(make_job(1, status=JobStatus.queued, next_poll_at=at(0)))
    store.get("job_0001")  # the parent now holds a live connection
    pid = os.fork()
    if pid == 0:  # child: use the inherited store object, then leave without running any cleanup
        code = 0
        try:
            (job,) = store.claim("child", at(10), lease_s=30)
            store.close()
            code = 0 if job.id == "job_0001" else 3
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.get("job_0001").lease_owner == "child"  # the parent's connection still works


@pytest.mark.stores(["postgres"])
def test_a_small_pool_serves_more_threads_than_it_has_connections(store_url: str) -> None:
    from vidgate.store.postgres import PostgresStore

    store = PostgresStore(store_url, max_size=2)
    store.create(make_job(1))
    with ThreadPoolExecutor(8) as pool:  # the other six wait for a connection to come free
        assert {job.id for job in pool.map(lambda _: store.get("job_0001"), range(64))} == {"job_0001"}
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="is closed"):
        store.get("job_0001")
