"""Fixtures for the store contract suite: every test runs on memory, SQLite and a real PostgreSQL.

PostgreSQL is a throwaway server started once per session from the machine's binaries (``initdb`` +
``pg_ctl`` in a temp dir, unix socket only, no TCP port). ``initdb`` refuses to run as root, so under
root the server runs as the ``postgres`` system user (``runuser``). If the binaries exist but the server
cannot start, every PostgreSQL test *errors* (``make test`` fails); only a machine without any PostgreSQL
binaries skips them. Set ``VIDGATE_TEST_DATABASE_URL`` to use an existing server instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.pg import PgServer, TempPostgres, find_pg_bin, fresh_pg_url  # noqa: F401  (re-exported for tests)

from vidgate.store import JobStore, MemoryStore, open_store

STORES = ["memory", "sqlite", "postgres"]
SQL_STORES = ["sqlite", "postgres"]


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL naming an empty store of the parametrized kind."""
    kind = request.param
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return str(tmp_path / "vidgate.db")
    return fresh_pg_url(request.getfixturevalue("pg_server"))


@pytest.fixture
def open_more(store_url: str) -> Iterator[Callable[[], JobStore]]:
    """Open further store objects on the same database (as another process would)."""
    opened: list[JobStore] = []
    shared: list[JobStore] = []

    def more() -> JobStore:
        if store_url == "memory://":  # nothing to share across objects: hand out the one instance
            if not shared:
                shared.append(MemoryStore())
            return shared[0]
        s = open_store(store_url)
        opened.append(s)
        return s

    yield more
    for s in opened + shared:
        s.close()


@pytest.fixture
def store(open_more: Callable[[], JobStore]) -> JobStore:
    return open_more()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that uses ``store_url`` (directly or through ``store``) over the kinds."""
    if "store_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        kinds = marker.args[0] if marker else STORES
        metafunc.parametrize("store_url", kinds, indirect=True, ids=kinds)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stores(kinds): run a store test only on these kinds (memory/sqlite/postgres)")
