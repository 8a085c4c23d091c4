"""A webhook makes its job due now (one status fetch by the next worker round); duplicates change nothing;
a per-job relay callback reconciles an ``unknown`` create by naming its task id — never by resubmitting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from vidgate.client import AsyncClient
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
Scenario = Callable[[AsyncClient, WebhookReceiver, Worker], Awaitable[None]]


async def deliver(receiver: WebhookReceiver, url: str, body: dict[str, object]) -> int:
    transport = httpx.ASGITransport(app=receiver.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://vidgate.test") as http:
        return (await http.post(httpx.URL(url).path, json=body)).status_code


@pytest.fixture
def run(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> Callable[[Scenario], None]:
    def go(scenario: Scenario) -> None:
        async def main() -> None:
            store = MemoryStore()
            async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                                   store=store, downloads_dir=tmp_path, env={}) as client:  # fmt: skip
                receiver = WebhookReceiver(
                    on_hint=wake_on_hint(store, client.now, client.catalog.providers),
                    relay=RelayNotifySource(RelayNotifyTokens(KEY)),
                )
                await scenario(client, receiver, Worker(client.engine, worker_id="w", concurrency=1))

        asyncio.run(main())

    return go


def test_a_webhook_wakes_its_job_for_one_status_fetch(run, emulator: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    async def scenario(client: AsyncClient, receiver: WebhookReceiver, worker: Worker) -> None:
        events: list[JobEvent] = []
        client.on_event(events.append)
        job = await client.submit("a kite over dunes", model="sora-2")
        url = receiver.notify_url("http://vidgate.test", job.id)
        later = client.now() + timedelta(hours=1)  # as if the next poll were far away
        job = client.store.save(job.model_copy(update={"next_poll_at": later}))
        while emulator.state.phase(emulator.state.jobs[job.provider_task_id])[0] != "done":
            await asyncio.sleep(0.02)
        assert await worker.run_round() == 0  # nothing due: polling alone would wait an hour
        before = emulator.state.counts[STATUS]
        envelope = {"task_id": job.provider_task_id, "status": "SUCCESS"}
        assert await deliver(receiver, url, envelope) == 200
        assert await worker.run_round() == 1
        done = client.job(job.id)
        assert done.done and done.status is JobStatus.succeeded and emulator.state.counts[STATUS] == before + 1
        assert await deliver(receiver, url, envelope) == 200  # duplicate: acknowledged ...
        assert await deliver(receiver, url, {**envelope, "progress": "100%"}) == 200  # ... and a late one too
        assert await worker.run_round() == 0 and emulator.state.counts[STATUS] == before + 1  # ... changing nothing
        assert [e.kind for e in events].count("completed") == 1

    run(scenario)


def test_a_wrong_token_is_refused_and_wakes_nothing(run) -> None:  # type: ignore[no-untyped-def]
    async def scenario(client: AsyncClient, receiver: WebhookReceiver, worker: Worker) -> None:
        job = await client.submit("a lighthouse", model="sora-2")
        client.store.save(job.model_copy(update={"next_poll_at": client.now() + timedelta(hours=1)}))
        url = receiver.notify_url("http://vidgate.test", job.id)[:-3] + "xyz"
        assert await deliver(receiver, url, {"task_id": job.provider_task_id}) == 401
        assert await worker.run_round() == 0

    run(scenario)


def test_a_relay_callback_reconciles_an_unknown_create(run, emulator: EmulatorServer) -> None:  # type: ignore[no-untyped-def]
    async def scenario(client: AsyncClient, receiver: WebhookReceiver, worker: Worker) -> None:
        emulator.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_drop"}]})
        with pytest.raises(TransportError) as info:
            await client.submit("an owl at night", model="sora-2")
        job = info.value.job
        assert job is not None and job.status is JobStatus.unknown
        (task,) = emulator.state.jobs  # the relay did record it
        notify = receiver.notify_url("http://vidgate.test", job.id)
        await deliver(receiver, notify, {"task_id": task, "status": "IN_PROGRESS"})
        adopted = client.job(job.id)
        assert adopted.status is JobStatus.queued and adopted.provider_task_id == task
        emulator.set_faults(None)
        while not client.job(job.id).done:
            await worker.run_round()
            await asyncio.sleep(0.02)
        assert client.job(job.id).status is JobStatus.succeeded
        assert list(emulator.truth(hashes=False)["creates"].values()) == [1]

    run(scenario)
