"""AsyncWorker over AsyncClient (with Http11Transport): jobs run to a saved video, steps stay within the
concurrency, notify() ends the idle wait, a lease held by another worker is respected."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from vidgate.client import AsyncClient
from vidgate.emulator import EmulatorServer
from vidgate.engine.async_worker import AsyncWorker
from vidgate.engine.polling import PollPolicy
from vidgate.net.http11 import Http11Transport
from vidgate.store import MemoryStore
from vidgate.types import JobStatus


def client(emulator: EmulatorServer, policy: PollPolicy, tmp_path: Path, store: MemoryStore) -> AsyncClient:
    return AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=policy, env={}, store=store,
                       downloads_dir=tmp_path, transport=Http11Transport())  # fmt: skip


def test_jobs_run_to_saved_videos_within_the_concurrency(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    async def go() -> None:
        store = MemoryStore()
        async with client(emulator, fast_policy, tmp_path, store) as c:
            jobs = [c._core.new_job(c.prepare(f"a kite, take {i}", model="sora-2"), due=True)[0] for i in range(12)]
            worker = AsyncWorker(c, worker_id="w", concurrency=3, idle_s=0.01)
            peak, running = 0, 0
            advance = c.advance

            async def counted(job, **kw):  # type: ignore[no-untyped-def]
                nonlocal peak, running
                running += 1
                peak = max(peak, running)
                try:
                    return await advance(job, **kw)
                finally:
                    running -= 1

            c.advance = counted  # type: ignore[method-assign]
            stats = await asyncio.wait_for(worker.run(until_idle=True), 60)
            assert peak <= 3 and stats.errors == 0 and sorted(stats.finished) == sorted(j.id for j in jobs)
            for job in jobs:
                done = c.job(job.id)
                assert done.status is JobStatus.succeeded and done.video and Path(done.video.path or "").exists()
                assert done.lease_owner is None and done.next_poll_at is None

    asyncio.run(go())


def test_notify_ends_the_idle_wait_and_a_held_lease_is_respected(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    async def go() -> None:
        store = MemoryStore()
        async with client(emulator, fast_policy, tmp_path, store) as c:
            job = c._core.new_job(c.prepare("a heron", model="sora-2"))[0]  # idle: next_poll_at is None
            held = c._core.new_job(c.prepare("an owl", model="sora-2"), due=True)[0]
            assert [j.id for j in store.claim("other", c.now(), 60, 10)] == [held.id]
            worker = AsyncWorker(c, worker_id="w", idle_s=30)
            stop = asyncio.Event()
            runner = asyncio.ensure_future(worker.run(stop))
            await asyncio.sleep(0.05)
            assert worker.stats.claimed == 0  # nothing due, the other job is leased
            started = time.monotonic()
            store.wake(job.id, c.now())
            worker.notify()
            while worker.stats.steps == 0:
                await asyncio.sleep(0.005)
            assert time.monotonic() - started < 1.0  # not the 30 s idle wait
            stop.set()
            await asyncio.wait_for(runner, 10)
            assert c.job(job.id).status is not JobStatus.pending  # its create was sent
            assert c.job(held.id).lease_owner == "other" and c.job(held.id).submit_attempts == 0
            assert store.release(held.id, "other", c.now() + timedelta(hours=1))

    asyncio.run(go())
