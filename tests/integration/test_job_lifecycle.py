"""Money safety through the store, against the emulator over loopback: one create per job, whatever breaks."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from vidgate.client import AsyncClient, Client
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.errors import ProviderServerError, RateLimitError, TransportError
from vidgate.store import MemoryStore, open_store, timings
from vidgate.types import JobEvent, JobStatus


def make_client(emulator: EmulatorServer, policy: PollPolicy, **kwargs: object) -> Client:
    env = {"VIDGATE_ZHIPU_BASE_URL": emulator.url, "VIDGATE_ZHIPU_API_KEY": emulator.api_key}
    return Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=policy, env=env, **kwargs)  # type: ignore[arg-type]


def creates(emulator: EmulatorServer) -> list[int]:
    return sorted(emulator.truth(hashes=False)["creates"].values())


def test_the_same_idempotency_key_twice_is_one_job_and_one_create(
    emulator: EmulatorServer, fast_policy: PollPolicy
) -> None:
    with make_client(emulator, fast_policy) as client:
        first = client.submit("a red kite", model="sora-2", idempotency_key="order-42")
        second = client.submit("a red kite", model="sora-2", idempotency_key="order-42")
    assert first.id == second.id and first.provider_task_id == second.provider_task_id
    assert emulator.state.counts["POST /v2/videos/generations"] == 1


def test_a_create_recorded_then_dropped_is_unknown_and_never_resubmitted(
    emulator: EmulatorServer, fast_policy: PollPolicy
) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_drop"}]})
    events: list[JobEvent] = []
    with make_client(emulator, fast_policy) as client:
        client.on_event(events.append)
        with pytest.raises(TransportError) as info:
            client.submit("a paid video", model="sora-2")
        job = info.value.job
        assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is None
        assert [j.id for j in client.store.awaiting_decision()] == [job.id]
        emulator.set_faults(None)
        assert client.advance(job).status is JobStatus.unknown  # nothing automatic is safe
        assert client.wait(job).status is JobStatus.unknown
    assert creates(emulator) == [1]
    assert [e.kind for e in events] == ["created", "unknown"]


def test_a_5xx_after_the_provider_recorded_the_create_is_unknown(
    emulator: EmulatorServer, fast_policy: PollPolicy
) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_error",
                                    "status": 502}]})  # fmt: skip
    with make_client(emulator, fast_policy) as client, pytest.raises(ProviderServerError) as info:
        client.submit("another paid video", model="sora-2")
    assert info.value.job is not None and info.value.job.status is JobStatus.unknown
    assert creates(emulator) == [1]


def test_a_429_on_create_was_not_accepted_and_is_retried_once_due(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "error", "status": 429,
                                    "retry_after": 0.05, "count": 1}]})  # fmt: skip
    with make_client(emulator, fast_policy, downloads_dir=tmp_path) as client:
        with pytest.raises(RateLimitError) as info:
            client.submit("patience", model="sora-2")
        job = info.value.job
        assert job is not None and job.status is JobStatus.pending and job.next_poll_at is not None
        done = client.wait(job)
        assert done.status is JobStatus.succeeded and done.submit_attempts == 2
        saved = client.advance(done)
    assert saved.done and saved.video is not None and Path(saved.video.path or "").exists()
    assert creates(emulator) == [1]


def test_zhipu_request_id_reconciles_an_unknown_create(emulator: EmulatorServer, fast_policy: PollPolicy) -> None:
    # dropped before the emulator recorded it: asking again with the same request_id is accepted
    emulator.set_faults({"rules": [{"endpoint": "POST *", "kind": "drop", "count": 1}]})
    with make_client(emulator, fast_policy) as client:
        with pytest.raises(TransportError) as info:
            client.submit("a tea house in rain", model="zhipu/cogvideox-3")
        job = info.value.job
        assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is not None
        job = client.advance(job.model_copy(update={"next_poll_at": client.now()}))
        assert job.status in (JobStatus.queued, JobStatus.running) and job.provider_task_id
        assert client.wait(job).status is JobStatus.succeeded
    assert creates(emulator) == [1]


def test_zhipu_duplicate_request_id_means_it_landed_and_waits_for_a_person(
    emulator: EmulatorServer, fast_policy: PollPolicy
) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST *", "kind": "accept_then_drop", "count": 1}]})
    with make_client(emulator, fast_policy) as client:
        with pytest.raises(TransportError) as info:
            client.submit("a lantern festival", model="zhipu/cogvideox-3")
        job = client.advance(info.value.job.model_copy(update={"next_poll_at": client.now()}))  # type: ignore[union-attr]
        assert job.status is JobStatus.unknown and job.next_poll_at is None
        assert job.error is not None and "already has this request" in job.error.message
    assert creates(emulator) == [1]


def test_timeline_and_exactly_one_completion_event_across_two_clients(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "jobs.db")
    events: list[JobEvent] = []
    with make_client(emulator, fast_policy, store=store) as a, make_client(emulator, fast_policy, store=store) as b:
        a.on_event(events.append)
        b.on_event(events.append)
        job = a.submit("two watchers", model="sora-2")
        threads = [threading.Thread(target=c.wait, args=(job.id,)) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = a.download(job.id, tmp_path / "v.mp4")
    assert final.status is JobStatus.succeeded
    assert [e.kind for e in events].count("completed") == 1
    t = timings(store.timeline(job.id))
    assert t.render_s is not None and t.download_s is not None and t.total_s is not None


def test_workers_share_jobs_and_a_dead_workers_lease_expires(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    store = MemoryStore()
    with make_client(emulator, fast_policy, store=store, downloads_dir=tmp_path) as client:
        jobs = [client.enqueue(f"queued job {i}", model="sora-2") for i in range(6)]
        dead = store.claim("dead-worker", client.now(), lease_s=0.3, limit=1)  # claimed, then "killed"
        assert [j.id for j in dead] == [jobs[0].id]

    async def run_workers() -> list[Worker]:
        env = {"VIDGATE_ZHIPU_BASE_URL": emulator.url, "VIDGATE_ZHIPU_API_KEY": emulator.api_key}
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env=env,
                               store=store, downloads_dir=tmp_path) as c:  # fmt: skip
            workers = [Worker(c.engine, worker_id=f"w{i}", lease_s=5, concurrency=3, idle_s=0.02) for i in range(2)]
            stop = asyncio.Event()
            runners = [asyncio.ensure_future(w.run(stop)) for w in workers]
            deadline = time.monotonic() + 30
            while not all(c.job(j.id).done for j in jobs) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*runners)
            return workers

    workers = asyncio.run(run_workers())
    finals = [store.get(j.id) for j in jobs]
    assert all(j.done and j.status is JobStatus.succeeded for j in finals)
    truth = {t["task_id"]: t for t in emulator.truth()["jobs"]}
    for j in finals:
        assert j.video is not None and j.video.sha256 == truth[j.provider_task_id]["sha256"]  # type: ignore[index]
    assert creates(emulator) == [1] * 6
    assert sum(len(w.stats.finished) for w in workers) == 6
