"""Luma over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's Luma dialects (the Agents
API and the legacy Dream Machine API), each enforcing its own reading of providers-2026.md §9."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_image
from tests.gateway.helpers import video_through_gateway
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.luma import RATE_TRIGGER
from vidgate.engine.hints import wake_on_hint
from vidgate.engine.polling import PollPolicy
from vidgate.engine.worker import Worker
from vidgate.errors import RateLimitError, TransportError
from vidgate.media import probe_video
from vidgate.net.loopback import LoopbackServer
from vidgate.store import MemoryStore
from vidgate.types import ErrorCode, utcnow
from vidgate.webhooks.receiver import RelayNotifySource, WebhookReceiver
from vidgate.webhooks.relay_notify import RelayNotifyTokens

CREATE, LEGACY_CREATE = "POST /v1/generations", "POST /dream-machine/v1/generations/video"


def post(emulator: EmulatorServer, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{emulator.url}{path}", json=body, headers={"Authorization": f"Bearer {emulator.api_key}"})


def test_emulator_speaks_both_luma_apis(emulator: EmulatorServer) -> None:
    ok = post(
        emulator,
        "/v1/generations",
        {"model": "ray-3.2", "type": "video", "prompt": "a fox", "video": {"duration": "5s", "resolution": "720p"}},
    )
    assert ok.status_code == 201 and ok.json()["state"] == "queued" and ok.json()["type"] == "video"
    for bad in (
        {"model": "ray-2", "type": "video", "prompt": "x"},
        {"model": "ray-3.2", "type": "video", "prompt": "x", "video": {"duration": "10s", "hdr": True}},
        {"model": "ray-3.2", "type": "video_edit", "prompt": "x"},
        {"model": "ray-3.2", "type": "video", "prompt": "x", "aspect_ratio": "9:21"},
    ):
        answer = post(emulator, "/v1/generations", bad)
        assert answer.status_code == 400 and set(answer.json()) == {"detail"}, bad
    legacy = post(emulator, "/dream-machine/v1/generations", {"model": "ray-2", "prompt": "x", "duration": "9s"})
    assert legacy.status_code == 201 and legacy.json()["state"] == "queued" and legacy.json()["request"]["duration"]
    b64 = post(
        emulator,
        "/dream-machine/v1/generations/video",
        {
            "model": "ray-2",
            "prompt": "x",
            "keyframes": {"frame0": {"type": "image", "url": "data:image/png;base64,AAAA"}},
        },
    )
    assert b64.status_code == 422  # keyframes are URLs only
    gone = httpx.delete(
        f"{emulator.url}/dream-machine/v1/generations/{legacy.json()['id']}",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    )
    assert gone.status_code == 204
    noauth = httpx.get(f"{emulator.url}/v1/generations/{ok.json()['id']}")
    assert noauth.status_code == 401 and noauth.json() == {"detail": "Invalid API key is provided"}


def test_client_agents_video_saves_at_once(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png")
    job = client.generate(
        "The character turns to face the camera",
        model="luma/ray-3.2",
        duration=5,
        aspect_ratio="9:16",
        resolution="720p",
        images=[str(first)],
        out=tmp_path / "l.mp4",
    )
    assert job.status is JobStatus.succeeded and job.raw_status == "completed"
    asset = job.assets[0]
    assert asset.expires_at is not None and "X-Amz-Expires=3600" in (asset.url or "")
    assert job.video and job.video.path
    probe = probe_video(tmp_path / "l.mp4")
    assert probe.duration == pytest.approx(5, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["video"]["start_frame"]["media_type"] == "image/png" and sent["video"]["duration"] == "5s"


def test_client_reframe_a_finished_generation(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    source = client.generate(
        "a greenhouse", model="luma/ray-3.2", duration=10, aspect_ratio="16:9", out=tmp_path / "src.mp4"
    )
    job = client.generate(
        "Extend the scene into cinematic widescreen",
        model="luma/ray-3.2",
        aspect_ratio="21:9",
        options={"type": "video_reframe", "source": source.provider_task_id},
        out=tmp_path / "wide.mp4",
    )
    assert job.status is JobStatus.succeeded
    assert emulator.state.jobs[job.provider_task_id or ""].body["source"] == {"generation_id": source.provider_task_id}
    probe = probe_video(tmp_path / "wide.mp4")
    assert probe.duration == pytest.approx(10, abs=0.2) and probe.width > 2 * probe.height


def test_failure_code_and_rate_limit(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="luma/ray-3.2")
    job = info.value.job
    assert job.raw_status == "failed" and job.error is not None
    assert job.error.code is ErrorCode.content_policy_input and "content_moderated" in job.error.message
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="luma-legacy/ray-2")
    assert rate.value.status_code == 429 and rate.value.body == {"detail": "Too many requests"}


def test_client_legacy_dream_machine(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate(
        "a teddy bear playing guitar",
        model="luma-legacy/ray-flash-2",
        duration=9,
        aspect_ratio="1:1",
        resolution="540p",
        images=["https://images.example/start.jpg"],
        out=tmp_path / "dm.mp4",
    )
    assert job.status is JobStatus.succeeded and job.raw_status == "completed"
    probe = probe_video(tmp_path / "dm.mp4")
    assert probe.duration == pytest.approx(9, abs=0.2) and probe.width == probe.height
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["keyframes"] == {"frame0": {"type": "image", "url": "https://images.example/start.jpg"}}
    assert emulator.state.counts[LEGACY_CREATE] == 1


def test_legacy_delete(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a pond", model="luma-legacy/ray-2", out=tmp_path / "p.mp4")
    assert client.delete(job) is True
    gone = httpx.get(f"{emulator.url}/dream-machine/v1/generations/{job.provider_task_id}",
                     headers={"Authorization": f"Bearer {emulator.api_key}"})  # fmt: skip
    assert gone.status_code == 404 and gone.json() == {"detail": "Generation not found"}


def test_an_unknown_agents_create_is_left_for_a_person(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "accept_then_drop"}]})
    with pytest.raises(TransportError) as info:
        client.submit("a paid video", model="luma/ray-3.2")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is None
    emulator.set_faults(None)
    assert client.advance(job).status is JobStatus.unknown
    assert emulator.state.counts[CREATE] == 1 and sum(emulator.state.creates.values()) == 1


def test_a_legacy_callback_reconciles_an_unknown_create(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    """callback_url is the only caller-supplied identity Dream Machine has: vidgate's per-job URL. Luma POSTs the
    generation there when it starts dreaming, so a create whose answer was lost learns its id and is never resent."""
    store = MemoryStore()
    tokens = RelayNotifyTokens(RelayNotifyTokens.generate_key())

    async def main(public: str, receiver: WebhookReceiver) -> None:
        urls = {"luma-legacy": lambda job_id: receiver.notify_url(public, job_id)}
        async with AsyncClient(
            base_url=emulator.url,
            api_key=emulator.api_key,
            poll_policy=fast_policy,
            store=store,
            downloads_dir=tmp_path,
            callback_urls=urls,
            env={},
        ) as client:
            emulator.set_faults({"rules": [{"endpoint": LEGACY_CREATE, "kind": "accept_then_drop"}]})
            with pytest.raises(TransportError) as info:
                await client.submit("an owl at night", model="luma-legacy/ray-2")
            job = info.value.job
            assert job is not None and job.status is JobStatus.unknown and job.provider_task_id is None
            emulator.set_faults(None)
            (task,) = emulator.state.jobs
            assert emulator.state.jobs[task].body["callback_url"].startswith(public)
            deadline = time.monotonic() + 10
            while client.job(job.id).provider_task_id is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert client.job(job.id).provider_task_id == task
            worker = Worker(client.engine, worker_id="w", concurrency=1)
            while not client.job(job.id).done and time.monotonic() < deadline:
                await worker.run_round()
                await asyncio.sleep(0.02)
            assert client.job(job.id).status is JobStatus.succeeded

    receiver = WebhookReceiver(on_hint=wake_on_hint(store, utcnow, []), relay=RelayNotifySource(tokens))
    with LoopbackServer(receiver.app(), name="luma-callbacks") as srv:
        asyncio.run(main(srv.url, receiver))
    assert sum(emulator.state.creates.values()) == 1 and emulator.state.counts["luma callback sent"] >= 1


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[object]:
        async with AsyncClient(
            base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}
        ) as client:
            return list(
                await asyncio.gather(
                    client.generate("a city", model="luma/ray-3.2", duration=10, out=tmp_path / "a.mp4"),
                    client.generate("a forest", model="luma-legacy/ray-2", duration=5, out=tmp_path / "b.mp4"),
                )
            )

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2  # type: ignore[attr-defined]
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(10, abs=0.2)
    assert probe_video(tmp_path / "b.mp4").duration == pytest.approx(5, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_luma(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_LUMA_BASE_URL": emulator.url, "VIDGATE_LUMA_API_KEY": emulator.api_key}
    cmd = [
        sys.executable,
        "-m",
        "vidgate",
        "generate",
        "a lighthouse",
        "-m",
        "luma/ray-3.2",
        "--duration",
        "5",
        "--aspect-ratio",
        "1:1",
        "--resolution",
        "540p",
        "--out",
        str(out),
        "--json",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "luma" and job["raw_status"] == "completed"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(5, abs=0.2) and probe.width == probe.height
    assert emulator.api_key not in result.stdout + result.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "vidgate", "models", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    keys = {m["key"] for m in json.loads(listed.stdout)}
    assert {"luma/ray-3.2", "luma-legacy/ray-2", "luma-legacy/ray-flash-2"} <= keys


def test_gateway_routes_luma(emulator: EmulatorServer, tmp_path: Path) -> None:
    payload = {"prompt": "a harbour", "model": "luma/ray-3.2", "seconds": "10"}
    video = video_through_gateway(emulator, tmp_path, "luma", payload)
    assert probe_video(video).duration == pytest.approx(10, abs=0.2)
    assert emulator.state.counts[CREATE] == 1
