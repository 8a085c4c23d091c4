"""Request budgets shared by every process on one database: all workers and gateways on one credential together
stay under its rate (``vidgate worker --rate relay=5`` then means 5 requests per second in all).

The buckets live in the job store's database (``vidgate.store.budget``); without one (a memory store) the
budget is this process's own (``vidgate.engine.budget.Budgets``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from vidgate.engine.budget import Budgets
from vidgate.store import JobStore
from vidgate.store.budget import BudgetBook, budget_book


class SharedBudgets(Budgets):
    """One bucket per provider in a ``BudgetBook``; providers without a configured rate are unlimited."""

    shared = True

    def __init__(self, book: BudgetBook, rates: Mapping[str, float], burst: float = 1.0) -> None:
        super().__init__(dict(rates), burst)  # checks every rate; the local buckets are not used
        self.rate_of = dict(rates)
        self.book = book
        self.burst = burst

    def reserve(self, provider: str) -> float:
        rate = self.rate_of.get(provider)
        return 0.0 if rate is None else self.book.reserve(provider, rate, self.burst)


def budgets_for(
    store: JobStore | None,
    rates: Mapping[str, float] | None,
    *,
    shared: bool | None = None,
    burst: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> Budgets:
    """The request budgets of a process on ``store``: in its database when ``shared`` (None: whenever the store
    is a database other processes can open), else this process's own (on ``clock``)."""
    book = budget_book(store) if store is not None and shared is not False and rates else None
    if shared and book is None and rates:
        from vidgate.errors import ConfigurationError

        raise ConfigurationError(
            f"Shared request budgets need a database job store (SQLite or PostgreSQL), not {store!r}: give "
            "--store / store= a database, or keep the budget per process."
        )
    if book is None:
        return Budgets(dict(rates or {}), burst, clock)
    return SharedBudgets(book, rates or {}, burst)
