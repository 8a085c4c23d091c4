"""The store's pure parts: named-query parser, migration files, row codec, URL dispatch, timings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from vidgate.errors import ConfigurationError
from vidgate.store import EventKind, MemoryStore, TimelineEntry, codec, migrate, open_store, queries, timings
from vidgate.store.errors import MigrationError
from vidgate.store.sqlite import SqliteStore
from vidgate.types import ImageInput, Job, JobStatus, VideoRequest

# Migrations are append-only: a released file never changes. Add a line here for each new file.
MIGRATION_SHA256 = {
    "sqlite": [
        "eefd83d532c8eb0fc26add70205c88118655b3937227bf9a1af24c46bd3e4d5e",
        "ce4f66f6d4b8a05e5837981694142587995362387bda868f05155b570862abc4",  # 0002_gateway
        "4e40b70f81b7299c988d37e46df41f97eea68b13ed1fe29a669108469d1cea37",  # 0003_endpoints
        "5af262b6216c3fe7c17ab17226e15bad7ec4cc175a7fdc0e111f61c58cd27630",  # 0004_create_slots_and_charges
        "e5fea3689c1bb550f488653a9c757932a9390bdd6fffe33f36cd6b33dfdc6450",  # 0005_request_budgets
    ],
    "postgres": [
        "91186d7de1987a97884eb73a114aa759c545d592d76844883775c132e71631c1",
        "c33e7f91ed9463bb989194b42e7a29bc88cecee15305837b1a4a3212e0a1f9a8",  # 0002_gateway
        "07b4fec5a1e8c5d13a2bee5f00c7f39ead0a21b98ea94b8a89f4bce9f11f066d",  # 0003_endpoints
        "280e10eeb27eeaba6e17438ccd9a2f2470c33de41cc93d51f9be97bbc76ac7f4",  # 0004_create_slots_and_charges
        "4db9a419b11dc385433a0ddcb4685974cd7f4b9ec11903e066e9d3dd5ba8cb04",  # 0005_request_budgets
    ],
}


# ---------------------------------------------------------------------------------------------- queries


def test_parse_named_queries() -> None:
    text = """-- header, ignored
-- name: first
-- what it does
SELECT 1;

-- name: second
UPDATE t SET a = :a
WHERE b = :b
"""
    q = queries.parse(text, "x.sql")
    assert q.names() == {"first", "second"}
    assert q.first == "-- what it does\nSELECT 1"
    assert q["second"] == "UPDATE t SET a = :a\nWHERE b = :b"
    with pytest.raises(KeyError, match=r"No query named 'third' in x\.sql; it has: first, second"):
        q["third"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n", "x.sql:3: query 'a' is defined twice"),
        ("-- name: a\n-- only a comment\n", "x.sql: query 'a' has no SQL"),
    ],
)
def test_parse_rejects_bad_files(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        queries.parse(text, "x.sql")


def test_both_dialects_ship_the_same_queries() -> None:
    sqlite, postgres = queries.load("sqlite").names(), queries.load("postgres").names()
    assert postgres - sqlite == {"lock_migrations"}  # SQLite serialises with BEGIN IMMEDIATE instead
    assert sqlite <= postgres


# ---------------------------------------------------------------------------------------------- migrations


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_migrations_are_numbered_and_unchanged(dialect: str) -> None:
    found = migrate.discover(dialect)
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert [m.checksum for m in found] == MIGRATION_SHA256[dialect], (
        "A released migration changed (or a new one has no pinned checksum). Migrations are append-only: "
        "restore the old file and add a new numbered one, then pin its sha256 here."
    )


def test_pending_migrations() -> None:
    found = migrate.discover("sqlite")
    first, newest = found[0], len(found)
    applied = {m.version: m.checksum for m in found}
    assert migrate.pending("sqlite", {}) == found
    assert migrate.pending("sqlite", {1: first.checksum}) == found[1:]
    assert migrate.pending("sqlite", applied) == []
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate.pending("sqlite", {1: "0" * 64})
    with pytest.raises(MigrationError, match=f"at version {newest + 1} but this vidgate only knows migrations up to "):
        migrate.pending("sqlite", {**applied, newest + 1: "x"})


def test_split_sqlite_keeps_triggers_whole() -> None:
    script = """-- comment
CREATE TABLE a (x INT);
CREATE TRIGGER t AFTER INSERT ON a BEGIN
  UPDATE a SET x = 1;
END;
"""
    parts = migrate.split_sqlite(script)
    assert len(parts) == 2
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;")
    with pytest.raises(MigrationError, match="Incomplete SQL statement"):
        migrate.split_sqlite("CREATE TABLE b (x INT")


# ---------------------------------------------------------------------------------------------- codec


def test_codec_keeps_bytes_and_drops_store_managed_fields() -> None:
    job = Job(
        id="j",
        provider="p",
        model="m",
        request=VideoRequest(prompt="x", model="m", images=[ImageInput(source=b"\x00\xff\xd8")]),
        version=4,
        lease_owner="w",
        next_poll_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    data = codec.dump_job(job)
    assert "lease_owner" not in data and "version" not in data and "next_poll_at" not in data
    back = codec.load_job(data, version=4, next_poll_at=job.next_poll_at, lease_owner="w", lease_until=None)
    assert back == job


def test_redact_replaces_credential_values_only() -> None:
    value = {"API_KEY": "s", "Authorization": None, "max_tokens": 5, "items": [{"password": "p"}, ("secret", 1)]}
    assert codec.redact(value) == {
        "API_KEY": "[redacted]",
        "Authorization": None,  # nothing to hide
        "max_tokens": 5,
        "items": [{"password": "[redacted]"}, ["secret", 1]],
    }


def test_times_sort_as_text_and_naive_means_utc() -> None:
    a = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    b = a.astimezone(ZoneInfo("Asia/Shanghai"))  # same instant, next day locally
    assert codec.ts_text(a) == codec.ts_text(b) == "2026-11-26T23:00:00.000000Z"
    assert codec.ts_text(a.replace(tzinfo=None)) == codec.ts_text(a)
    assert codec.ts_text(a) < codec.ts_text(a + timedelta(microseconds=1))
    assert codec.ts_parse(codec.ts_text(b)) == a


def test_cursor_round_trip() -> None:
    when = datetime(2026, 11, 26, 12, 0, 1, 5, tzinfo=UTC)
    assert codec.decode_cursor(codec.encode_cursor(when, "job_x|y")) == (when, "job_x|y")


# ---------------------------------------------------------------------------------------------- open_store


def test_open_store_dispatch(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    for url, path in [
        (str(tmp_path / "a.db"), tmp_path / "a.db"),
        (f"sqlite://{tmp_path}/b.db", tmp_path / "b.db"),  # sqlite:///abs/path
        (tmp_path / "c.db", tmp_path / "c.db"),
    ]:
        with open_store(url) as store:
            assert isinstance(store, SqliteStore) and store.path == path
    home = tmp_path / "home"
    with open_store(None, env={"VIDGATE_HOME": str(home)}) as store:
        assert isinstance(store, SqliteStore) and store.path == home / "vidgate.db"
    assert (home.stat().st_mode & 0o777) == 0o700
    with open_store(None, env={"VIDGATE_DATABASE_URL": "memory://", "VIDGATE_HOME": str(home)}) as store:
        assert isinstance(store, MemoryStore)


@pytest.mark.parametrize("url", ["mysql://root:hunter2@db/x", ":memory:", "sqlite://"])
def test_open_store_rejects_unknown_urls_without_echoing_passwords(url: str) -> None:
    with pytest.raises(ConfigurationError, match="Use memory://, a SQLite file path") as info:
        open_store(url)
    assert "hunter2" not in str(info.value)


def test_open_store_postgres_failure_names_the_url_without_password() -> None:
    from vidgate.store import StoreError

    with pytest.raises(StoreError, match="Cannot connect to PostgreSQL") as info:
        open_store("postgresql://u:hunter2@/nodb?host=/nonexistent-socket-dir&connect_timeout=2")
    assert "hunter2" not in str(info.value)


# ---------------------------------------------------------------------------------------------- timings

T = datetime(2026, 11, 26, tzinfo=UTC)


def _e(seq: int, s: float, kind: str, status: JobStatus | None = None) -> TimelineEntry:
    return TimelineEntry(seq, "j", T + timedelta(seconds=s), kind, status)


def test_timings_from_a_timeline() -> None:
    entries = [
        _e(1, 0, "status", JobStatus.pending),
        _e(2, 2, "status", JobStatus.queued),
        _e(3, 40, "status", JobStatus.running),
        _e(4, 100, "status", JobStatus.succeeded),
        _e(5, 101, EventKind.download_started),
        _e(6, 103, EventKind.download_failed),
        _e(7, 104, EventKind.download_started),
        _e(8, 110, EventKind.download_completed),
    ]
    t = timings(entries)
    assert (t.queued_s, t.render_s, t.download_s, t.total_s) == (38.0, 60.0, 9.0, 110.0)


def test_timings_of_unfinished_or_odd_timelines() -> None:
    assert timings([]) == timings([_e(1, 0, "status", JobStatus.pending)])
    running = timings([_e(1, 0, "status", JobStatus.pending), _e(2, 5, "status", JobStatus.running)])
    assert (running.queued_s, running.render_s, running.total_s) == (None, None, None)
    refused = timings([_e(1, 0, "status", JobStatus.queued), _e(2, 3, "status", JobStatus.failed)])
    assert (refused.queued_s, refused.render_s, refused.total_s) == (3.0, None, 3.0)
