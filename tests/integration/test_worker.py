"""The worker on the asyncio engine: jobs run to a saved video, steps stay within the concurrency, notify() ends
the idle wait, a lease held by another worker is respected, and only the jobs of its own endpoints are touched."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from vidgate.client import AsyncClient
from vidgate.emulator import EmulatorServer
from vidgate.engine import ops
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.store import MemoryStore
from vidgate.types import JobStatus


def client(emulator: EmulatorServer, policy: PollPolicy, tmp_path: Path, store: MemoryStore, **kw: Any) -> AsyncClient:
    kw.setdefault("base_url", emulator.url)
    return AsyncClient(api_key=emulator.api_key, poll_policy=policy, env={}, store=store, downloads_dir=tmp_path, **kw)


def test_jobs_run_to_saved_videos_within_the_concurrency(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path, monkeypatch: Any
) -> None:
    async def go() -> None:
        store = MemoryStore()
        async with client(emulator, fast_policy, tmp_path, store) as c:
            jobs = [await c.enqueue(f"a kite, take {i}", model="sora-2") for i in range(12)]
            worker = Worker(c.engine, worker_id="w", concurrency=3, idle_s=0.01)
            peak, running = 0, 0
            step = ops.step

            def counted(core, job, **kw):  # type: ignore[no-untyped-def]
                nonlocal peak, running
                running += 1
                peak = max(peak, running)
                try:
                    return (yield from step(core, job, **kw))
                finally:
                    running -= 1

            monkeypatch.setattr(ops, "step", counted)
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
            job = await c.enqueue("a heron", model="sora-2")
            assert [j.id for j in store.claim("tmp", c.now(), 60, 1)] == [job.id]
            assert store.release(job.id, "tmp", None)  # idle: next_poll_at is None
            held = await c.enqueue("an owl", model="sora-2")
            assert [j.id for j in store.claim("other", c.now(), 60, 10)] == [held.id]
            worker = Worker(c.engine, worker_id="w", idle_s=30)
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


def test_a_worker_never_sends_a_job_created_for_another_host(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    """A job queued for host A (here: the emulator under another name) is left alone by a worker configured
    for host B, which says so; a worker for host A sends it there."""

    async def go() -> None:
        store = MemoryStore()
        host_a = emulator.url.replace("127.0.0.1", "localhost")
        async with client(emulator, fast_policy, tmp_path, store, base_url=host_a) as a:
            job = await a.enqueue("bound to host A", model="sora-2")
        assert job.base_url == host_a and job.credentials_ref and job.endpoint.startswith(f"relay {host_a}")
        before = emulator.state.counts["POST /v2/videos/generations"]
        async with client(emulator, fast_policy, tmp_path, store) as b:  # host B: 127.0.0.1
            worker = Worker(b.engine, worker_id="b", idle_s=0.01)
            stats = await asyncio.wait_for(worker.run(until_idle=True), 10)
            assert stats.claimed == 0 and stats.elsewhere == {job.endpoint: 1}
            assert emulator.state.counts["POST /v2/videos/generations"] == before
            assert b.job(job.id).status is JobStatus.pending and b.job(job.id).submit_attempts == 0
        async with client(emulator, fast_policy, tmp_path, store, base_url=host_a) as a:
            stats = await asyncio.wait_for(Worker(a.engine, worker_id="a", idle_s=0.01).run(until_idle=True), 60)
            assert stats.finished == [job.id] and a.job(job.id).status is JobStatus.succeeded

    asyncio.run(go())
