"""Request budgets shared through the store: three ``vidgate worker`` processes with ``--rate relay=R`` on one
database together stay under R requests per second at the provider (the emulator's request counter, sampled
every few milliseconds), where three per-process buckets would allow 3R. And the booking itself, on SQLite
and PostgreSQL: reservations from several store objects (as from several processes) leave 1/R apart."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FAST
from tests.pg import PgServer, fresh_pg_url
from vidgate.client import Client
from vidgate.emulator import EmulatorServer
from vidgate.engine.shared_budget import SharedBudgets, budgets_for
from vidgate.store import MemoryStore, open_store
from vidgate.store.budget import budget_book

RATE = 4.0
BUDGETED = ("POST /v2/videos/generations", "GET /v2/videos/generations")  # creates and status checks


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_bookings_from_several_processes_are_spaced_at_the_rate(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "b.db") if kind == "sqlite" else fresh_pg_url(request.getfixturevalue("pg_server"))
    stores = [open_store(url) for _ in range(3)]
    try:
        books = [budget_book(s) for s in stores]
        assert all(b is not None for b in books)
        started = time.monotonic()
        waits = [books[i % 3].reserve("relay", 5.0) for i in range(10)]  # type: ignore[union-attr]
        spent = time.monotonic() - started
        # the k-th booking waits k/5 s from the first (less what the bookings themselves took)
        for k, wait in enumerate(waits):
            assert k * 0.2 - spent - 0.02 <= wait <= k * 0.2 + 0.02, (k, waits)
        assert books[0].reserve("other", 5.0) == 0.0  # each provider has its own bucket  # type: ignore[union-attr]
    finally:
        for s in stores:
            s.close()


def test_budgets_are_shared_only_with_a_database_store(tmp_path: Path) -> None:
    assert not budgets_for(MemoryStore(), {"relay": 2}).shared
    shared = budgets_for(open_store(tmp_path / "j.db"), {"relay": 2})
    assert isinstance(shared, SharedBudgets)
    assert not budgets_for(open_store(tmp_path / "j.db"), {"relay": 2}, shared=False).shared
    from vidgate.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="need a database job store"):
        budgets_for(MemoryStore(), {"relay": 2}, shared=True)


class Sampler:
    """The emulator's count of budgeted requests, sampled every 5 ms with the time it was read."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self) -> int:
        counts = dict(self.emulator.state.counts)
        return sum(n for endpoint, n in counts.items() if endpoint.startswith(BUDGETED))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.count()))
            self._stop.wait(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busiest(self, window: float) -> int:
        """The most requests seen within any ``window`` seconds."""
        best, j = 0, 0
        for i in range(len(self.samples)):
            while self.samples[i][0] - self.samples[j][0] > window:
                j += 1
            best = max(best, self.samples[i][1] - self.samples[j][1])
        return best


@pytest.mark.slow
def test_three_worker_processes_stay_under_one_shared_rate(
    emulator: EmulatorServer, tmp_path: Path, pg_server: PgServer
) -> None:
    url = fresh_pg_url(pg_server)
    env = {**os.environ, "VIDGATE_HOME": str(tmp_path / "home"),
           "VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key}  # fmt: skip
    store = open_store(url)
    with Client(store=store, env=env) as client:
        ids = [client.enqueue(f"a budgeted heron #{i}", model="relay/sora-2").id for i in range(9)]
    cmd = [sys.executable, "-m", "vidgate", "worker", "--store", url, "--downloads", str(tmp_path / "files"),
           "--rate", f"relay={RATE:g}", "--time-scale", str(FAST), "--idle", "0.02", "--until-idle"]  # fmt: skip
    with Sampler(emulator) as sampler:
        workers = [subprocess.Popen([*cmd, "--worker-id", f"w{n}"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE) for n in range(3)]  # fmt: skip
        try:
            for w in workers:
                _, stderr = w.communicate(timeout=120)
                assert w.returncode == 0, stderr.decode()[-2000:]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
    jobs = [store.get(i) for i in ids]
    assert all(j.done and j.video and j.video.sha256 for j in jobs), [(j.id, j.status) for j in jobs]
    first = next(t for t, n in sampler.samples if n > 0)
    last = next(t for t, n in reversed(sampler.samples) if n < sampler.samples[-1][1])
    total = sampler.samples[-1][1]
    assert total >= 9 * 2  # a create and at least one status check per job
    # evenly spaced at RATE between the three processes: any second holds at most RATE (+1 for the burst,
    # +1 for a request straddling a sample), never the 3 x RATE three private buckets would allow
    assert sampler.busiest(1.0) <= RATE + 2, sampler.busiest(1.0)
    # over the whole run: the burst, plus RATE per second between the first and the last request, allowing a
    # quarter second for requests that left their booked slot late (a busy event loop, a loaded machine)
    assert total <= 2 + RATE * (last - first + 0.25), (total, last - first)
    print(f"\n{total} budgeted requests from 3 workers in {last - first:.2f} s at a shared {RATE:g}/s; "
          f"busiest second: {sampler.busiest(1.0)}")  # fmt: skip
