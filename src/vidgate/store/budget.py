"""Per-provider request budgets kept in the job store's database, shared by every process that opens it.

A token bucket per name (a provider): ``reserve`` refills it for the time since the last booking (at most
``burst`` tokens), takes one — going into debt when none is left — and answers how long the caller must wait
before sending: ``-tokens / rate`` seconds. Each booking is one transaction (PostgreSQL: one row-locking
``UPDATE`` on the server's clock; SQLite: an immediate transaction), so requests from all processes leave
evenly spaced at the rate between them. A booked slot whose process dies is simply lost (never an extra one).

``budget_book(store)`` is the book of a store's database, or None for a memory store (nothing to share).
Named queries: ``sql/budget_sqlite.sql``, ``sql/budget_postgres.sql``; table: migration 0005.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from vidgate.errors import BadValueError
from vidgate.store import queries
from vidgate.store.base import JobStore


class BudgetBook:
    """Token buckets in a database; ``reserve(name, rate_per_s, burst)`` -> seconds to wait."""

    def __init__(self, dialect: str, tx: Callable[[], AbstractContextManager[Any]],
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.dialect = dialect
        self.q = queries.load(f"budget_{dialect}")
        self._tx = tx
        self._clock = clock  # SQLite only: PostgreSQL books on the server's clock

    def reserve(self, name: str, rate_per_s: float, burst: float = 1.0, n: float = 1.0) -> float:
        if not rate_per_s > 0 or burst < 1:
            raise BadValueError(f"a request budget needs rate_per_s > 0 and burst >= 1 (got {rate_per_s}, {burst})")
        if self.dialect == "postgres":
            params = {"name": name, "rate": float(rate_per_s), "burst": float(burst), "n": float(n)}
            with self._tx() as conn:
                conn.execute(self.q.add_budget, params)
                tokens = float(conn.execute(self.q.take_tokens, params).fetchone()["tokens"])
        else:
            with self._tx() as conn:
                now = self._clock()
                row = conn.execute(self.q.get_budget, {"name": name}).fetchone()
                tokens, stamp = (burst, now) if row is None else (float(row["tokens"]), float(row["stamp"]))
                tokens = min(burst, tokens + max(0.0, now - stamp) * rate_per_s) - n
                conn.execute(self.q.put_budget, {"name": name, "tokens": tokens, "stamp": max(stamp, now)})
        return 0.0 if tokens >= 0 else -tokens / rate_per_s


def budget_book(store: JobStore) -> BudgetBook | None:
    """The budget book of ``store``'s database; None for a store no other process can open (memory)."""
    from vidgate.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        return BudgetBook("sqlite", store._tx)
    try:
        from vidgate.store.postgres import PostgresStore
    except ImportError:  # psycopg is an extra
        return None
    if isinstance(store, PostgresStore):
        return BudgetBook("postgres", store._tx)
    return None
