"""End to end over loopback: each relay job carries its own notify_hook (``callback_urls``), the emulator calls
it when the task ends, the receiver wakes the job and an idle worker fetches its status at once.

With a callback, polling is only the safety net: the job is found through one status request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidgate.client import AsyncClient, Client
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.engine.hints import wake_on_hint
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.net.loopback import LoopbackServer
from vidgate.store import MemoryStore
from vidgate.types import Job, JobEvent, JobStatus
from vidgate.webhooks.receiver import RelayNotifySource, WebhookReceiver
from vidgate.webhooks.relay_notify import RelayNotifyTokens

SCALE = 0.004  # sora-2: 120 s typical -> about half a second here
STATUS = "GET /v2/videos/generations/{task_id}"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(time_scale=SCALE)) as server:
        yield server


def test_the_callback_finds_the_job_with_one_status_request(emu: EmulatorServer, tmp_path: Path) -> None:
    store = MemoryStore()
    tokens = RelayNotifyTokens(RelayNotifyTokens.generate_key())
    holder: dict[str, str] = {}
    finished: dict[str, float] = {}

    async def scenario() -> list[Job]:
        async with AsyncClient(
            base_url=emu.url, api_key=emu.api_key, poll_policy=PollPolicy(time_scale=SCALE), store=store,
            downloads_dir=tmp_path, env={},
            callback_urls={"relay": lambda job_id: receiver.notify_url(holder["url"], job_id)},
        ) as client:  # fmt: skip
            worker = Worker(client.engine, worker_id="w", concurrency=2, idle_s=30.0)  # only a wake-up is soon
            receiver = WebhookReceiver(
                on_hint=wake_on_hint(store, client.now, client.catalog.providers, on_wake=worker.notify),
                relay=RelayNotifySource(tokens),
            )
            client.on_event(
                lambda e: finished.setdefault(e.job.id, time.monotonic()) if e.kind == "completed" else None
            )
            stop = asyncio.Event()
            with LoopbackServer(receiver.app()) as hooks:
                holder["url"] = hooks.url
                jobs = [await client.submit(f"a paper boat, take {i}", model="sora-2") for i in range(3)]
                assert all("/hooks/relay/" in (j.request.webhook_url or "") for j in jobs if j.request)
                assert all(j.next_poll_at and (j.next_poll_at - client.now()).total_seconds() > 0.5 for j in jobs)
                runner = asyncio.ensure_future(worker.run(stop))
                deadline = time.monotonic() + 20
                while len(finished) < len(jobs) and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                stop.set()
                await asyncio.wait_for(runner, 5)
            return jobs

    jobs = asyncio.run(scenario())
    assert len(finished) == len(jobs)
    for job in jobs:
        emu_job = emu.state.jobs[job.provider_task_id or ""]
        assert finished[job.id] - emu.state.done_at(emu_job) < 0.5  # the callback, not the 30 s idle wait
        assert store.get(job.id).status is JobStatus.succeeded
    assert emu.state.counts["notify_hook sent"] >= len(jobs)
    assert emu.state.counts[STATUS] == len(jobs)  # one status fetch per job: no early check, no polling


def test_no_callback_for_a_provider_without_one_configured(emu: EmulatorServer) -> None:
    events: list[JobEvent] = []
    with Client(base_url=emu.url, api_key=emu.api_key, env={}, callback_urls={"zhipu": lambda j: "http://x/"}) as c:
        c.on_event(events.append)
        job = c.submit("a kite", model="sora-2")
    assert job.request is not None and job.request.webhook_url is None
    assert "notify_hook" not in emu.state.jobs[job.provider_task_id or ""].body
