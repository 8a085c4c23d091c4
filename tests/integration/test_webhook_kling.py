"""Kling's callback_url over loopback: the reference documents no signature (providers-2026.md §4 "Query and
callback shape"), so each job carries its own unguessable URL (the per-job callback of the relay's notify_hook),
the emulator POSTs the flat task there when it ends, and the receiver only wakes the job: the status endpoint
stays the truth, and a forged body changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vidgate.client import AsyncClient
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.emulator.dialects.kling import SECRET_KEY
from vidgate.engine.hints import wake_on_hint
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.net.loopback import LoopbackServer
from vidgate.store import MemoryStore
from vidgate.types import Job, JobStatus
from vidgate.webhooks.receiver import RelayNotifySource, WebhookReceiver
from vidgate.webhooks.relay_notify import RelayNotifyTokens

SCALE = 0.004  # 180 s typical -> under a second here
STATUS = "GET /v1/videos/text2video/{id}"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(time_scale=SCALE)) as server:
        yield server


def test_the_unsigned_callback_only_wakes_the_job(emu: EmulatorServer, tmp_path: Path) -> None:
    store = MemoryStore()
    tokens = RelayNotifyTokens(RelayNotifyTokens.generate_key())
    holder: dict[str, str] = {}
    finished: dict[str, float] = {}

    async def scenario() -> list[Job]:
        async with AsyncClient(
            base_url=emu.url, api_key=emu.api_key, poll_policy=PollPolicy(time_scale=SCALE), store=store,
            downloads_dir=tmp_path, env={"VIDGATE_KLING_SECRET_KEY": SECRET_KEY},
            callback_urls={"kling": lambda job_id: receiver.notify_url(holder["url"], job_id)},
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
                jobs = [await client.submit(f"a paper boat, take {i}", model="kling/kling-v2-6") for i in range(2)]
                sent = [emu.state.jobs[(j.provider_task_id or "").split("/")[1]].body for j in jobs]
                assert all("/hooks/relay/" in b["callback_url"] for b in sent)
                # a forged "succeed" at a job's own URL is only a reason to poll: the job stays unfinished
                forged = {"task_id": "1", "task_status": "succeed",
                          "task_result": {"videos": [{"url": "https://evil.example/x.mp4"}]}}  # fmt: skip
                async with httpx.AsyncClient() as http:
                    answer = await http.post(sent[0]["callback_url"], json=forged)
                assert answer.status_code < 300
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
        done = store.get(job.id)
        assert done.status is JobStatus.succeeded and done.provider_task_id == job.provider_task_id
        assert done.video is not None and "evil.example" not in (done.video.url or "")
    assert emu.state.counts["notify_hook sent"] >= len(jobs)
    assert emu.state.counts[STATUS] <= len(jobs) + 1  # one fetch per job (plus the forged wake-up), no polling
