"""A webhook makes its job due now (one status fetch by the next worker round); duplicates change nothing;
a per-job relay callback reconciles an ``unknown`` create by naming its task id — never by resubmitting."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from vidgate.client import Client
from vidgate.emulator import EmulatorServer
from vidgate.engine.hints import wake_on_hint
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.errors import TransportError
from vidgate.store import MemoryStore
from vidgate.types import JobEvent, JobStatus
from vidgate.webhooks.receiver import RelayNotifySource, WebhookReceiver
from vidgate.webhooks.relay_notify import RelayNotifyTokens

KEY = RelayNotifyTokens.generate_key()
STATUS = "GET /v2/videos/generations/{task_id}"


def deliver(receiver: WebhookReceiver, url: str, body: dict[str, object]) -> int:
    async def post() -> int:
        transport = httpx.ASGITransport(app=receiver.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://vidgate.test") as http:
            return (await http.post(httpx.URL(url).path, json=body)).status_code

    return asyncio.run(post())


@pytest.fixture
def setup(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = MemoryStore()
    client = Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, store=store,
                    downloads_dir=tmp_path, env={})  # fmt: skip
    receiver = WebhookReceiver(
        on_hint=wake_on_hint(store, client.now, client.catalog.providers),
        relay=RelayNotifySource(RelayNotifyTokens(KEY)),
    )
    yield client, receiver, Worker(client, worker_id="w", threads=1)
    client.close()


def test_a_webhook_wakes_its_job_for_one_status_fetch(setup, emulator: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    client, receiver, worker = setup
    events: list[JobEvent] = []
    client.on_event(events.append)
    job = client.submit("a kite over dunes", model="sora-2")
    url = receiver.notify_url("http://vidgate.test", job.id)
    later = client.now() + timedelta(hours=1)  # as if the next poll were far away
    job = client.store.save(job.model_copy(update={"next_poll_at": later}))
    while emulator.state.phase(emulator.state.jobs[job.provider_task_id])[0] != "done":
        asyncio.run(asyncio.sleep(0.02))
    assert worker.run_once() == 0  # nothing due: polling alone would wait an hour
    before = emulator.state.counts[STATUS]
    envelope = {"task_id": job.provider_task_id, "status": "SUCCESS"}
    assert deliver(receiver, url, envelope) == 200
    assert worker.run_once() == 1
    done = client.job(job.id)
    assert done.done and done.status is JobStatus.succeeded and emulator.state.counts[STATUS] == before + 1
    assert deliver(receiver, url, envelope) == 200  # duplicate: acknowledged ...
    assert deliver(receiver, url, {**envelope, "progress": "100%"}) == 200  # ... and a late one too
    assert worker.run_once() == 0 and emulator.state.counts[STATUS] == before + 1  # ... changing nothing
    assert [e.kind for e in events].count("completed") == 1


def test_a_wrong_token_is_refused_and_wakes_nothing(setup) -> None:  # type: ignore[no-untyped-def]
    client, receiver, worker = setup
    job = client.submit("a lighthouse", model="sora-2")
    client.store.save(job.model_copy(update={"next_poll_at": client.now() + timedelta(hours=1)}))
    url = receiver.notify_url("http://vidgate.test", job.id)[:-3] + "xyz"
    assert deliver(receiver, url, {"task_id": job.provider_task_id}) == 401
    assert worker.run_once() == 0


def test_a_relay_callback_reconciles_an_unknown_create(setup, emulator: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    client, receiver, worker = setup
    emulator.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_drop"}]})
    with pytest.raises(TransportError) as info:
        client.submit("an owl at night", model="sora-2")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown
    (task,) = emulator.state.jobs  # the relay did record it
    deliver(receiver, receiver.notify_url("http://vidgate.test", job.id), {"task_id": task, "status": "IN_PROGRESS"})
    adopted = client.job(job.id)
    assert adopted.status is JobStatus.queued and adopted.provider_task_id == task
    emulator.set_faults(None)
    while not client.job(job.id).done:
        worker.run_once()
        asyncio.run(asyncio.sleep(0.02))
    assert client.job(job.id).status is JobStatus.succeeded
    assert list(emulator.truth(hashes=False)["creates"].values()) == [1]
