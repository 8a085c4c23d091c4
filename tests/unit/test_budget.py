import threading

import pytest

from vidgate.engine.budget import Budgets, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_evenly_spaced() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_s=2, burst=2, clock=clock)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.5, 1.0, 1.5]
    clock.now = 10
    assert bucket.reserve() == 0.0  # refilled, capped at the burst
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 0.5


def test_rate_is_never_exceeded_under_concurrency() -> None:
    clock = Clock()
    bucket = TokenBucket(rate_per_s=10, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    send_times = sorted(waits)
    # 800 requests at 10/s: the k-th may leave no earlier than (k - burst) / rate
    for k, t in enumerate(send_times):
        assert t >= (k - 1) / 10 - 1e-9


def test_unconfigured_providers_are_unlimited_and_bad_rates_refused() -> None:
    budgets = Budgets({"relay": 1}, clock=Clock())
    assert budgets.reserve("zhipu") == 0.0
    assert budgets.reserve("relay") == 0.0 and budgets.reserve("relay") == 1.0
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=0)
