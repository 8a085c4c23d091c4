"""A shared per-provider request budget: a token bucket, so thousands of jobs never exceed a provider's rate.

``reserve()`` never sleeps: it books the next free slot and says how long the caller must wait before
sending, so sync threads and asyncio tasks share one bucket and requests leave evenly spaced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vidgate.net.steps import Steps, offload, sleep


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError(f"rate_per_s must be > 0 and burst >= 1 (got {self.rate_per_s}, {self.burst})")
        self._tokens = self.burst
        self._stamp = self.clock()

    def reserve(self, n: float = 1.0) -> float:
        """Take ``n`` tokens (possibly going into debt) and return the seconds to wait before using them."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_s)
            self._stamp = now
            self._tokens -= n
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s


class Budgets:
    """One bucket per provider name; providers without a configured rate are unlimited."""

    shared = False  # booked in this process: ``reserve`` is a quick local call (see engine.shared_budget)

    def __init__(self, rates: dict[str, float] | None = None, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._buckets = {name: TokenBucket(rate, burst, clock) for name, rate in (rates or {}).items()}

    def reserve(self, provider: str) -> float:
        bucket = self._buckets.get(provider)
        return 0.0 if bucket is None else bucket.reserve()


def take_budget(budgets: Budgets, provider: str) -> Steps[None]:
    """Wait for ``provider``'s next request slot. A shared book (a database round trip) is asked off the event
    loop; a local bucket inline."""
    wait = (yield from offload(budgets.reserve, provider)) if budgets.shared else budgets.reserve(provider)
    yield from sleep(wait)
