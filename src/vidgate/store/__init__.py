"""Durable job storage: one contract (``JobStore``), three implementations.

    open_store("memory://")                      in-process only, gone at exit (scripts, tests)
    open_store(None)                             $VIDGATE_DATABASE_URL, else the SQLite file
                                                 $VIDGATE_HOME/vidgate.db (default ~/.vidgate/vidgate.db)
    open_store("/path/jobs.db")                  SQLite file (also "sqlite:///abs/path.db", "sqlite:rel.db")
    open_store("postgresql://user@host/db")      PostgreSQL (also "postgres://"); psycopg 3

Opening a SQL store applies pending migrations first (safe when many processes start at once).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from vidgate.errors import ConfigurationError
from vidgate.extras import require
from vidgate.store.base import CreateResult, EventKind, JobStore, Page, TimelineEntry
from vidgate.store.errors import (
    FinalStateError,
    JobConflictError,
    JobNotFoundError,
    MigrationError,
    StaleJobError,
    StoreError,
)
from vidgate.store.memory import MemoryStore
from vidgate.store.timeline import JobTimings, timings

if TYPE_CHECKING:
    from vidgate.store.postgres import PostgresStore
    from vidgate.store.sqlite import SqliteStore

__all__ = [
    "CreateResult",
    "EventKind",
    "FinalStateError",
    "JobConflictError",
    "JobNotFoundError",
    "JobStore",
    "JobTimings",
    "MemoryStore",
    "MigrationError",
    "Page",
    "PostgresStore",
    "SqliteStore",
    "StaleJobError",
    "StoreError",
    "TimelineEntry",
    "default_sqlite_path",
    "open_store",
    "timings",
]

DATABASE_URL_ENV = "VIDGATE_DATABASE_URL"
HOME_ENV = "VIDGATE_HOME"


def default_sqlite_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    home = env.get(HOME_ENV)
    return (Path(home).expanduser() if home else Path.home() / ".vidgate") / "vidgate.db"


def open_store(url: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None) -> JobStore:
    """The store that ``url`` names (see the module docstring); migrations applied."""
    env = os.environ if env is None else env
    if url is None:
        url = env.get(DATABASE_URL_ENV) or default_sqlite_path(env)
    if isinstance(url, os.PathLike):
        return _sqlite(Path(url))
    text = url.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if text in ("memory://", "memory:"):
        return MemoryStore()
    if scheme in ("postgresql", "postgres"):
        require("postgres", "A PostgreSQL job store")
        from vidgate.store.postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:"):
        path = text.removeprefix("sqlite:")
        path = path[2:] if path.startswith("//") else path  # sqlite:///abs -> /abs ; sqlite:rel -> rel
        text, scheme = path, ""
    if text in ("", ":memory:") or scheme:
        raise ConfigurationError(
            f"Unsupported database URL {_safe(text)!r}. Use memory://, a SQLite file path (or sqlite:///path.db) "
            f"or postgresql://user@host/dbname."
        )
    return _sqlite(Path(text).expanduser())


def _sqlite(path: Path) -> SqliteStore:
    from vidgate.store.sqlite import SqliteStore

    return SqliteStore(path)


def _safe(url: str) -> str:
    """``url`` with any password replaced, for messages."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url


def __getattr__(name: str) -> object:  # lazy: psycopg is imported only when PostgreSQL is used
    if name == "PostgresStore":
        from vidgate.store.postgres import PostgresStore

        return PostgresStore
    if name == "SqliteStore":
        from vidgate.store.sqlite import SqliteStore

        return SqliteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
