"""xAI Grok Imagine video over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's xAI
dialect (providers-2026.md §10), whose GET /v1/videos/{id} shares its path with the OpenAI-format route."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_image
from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, video_through_gateway
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.xai import EXPIRE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import RateLimitError
from vidgate.media import probe_video
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer
from vidgate.types import ErrorCode, utcnow

CREATE = "POST /v1/videos/generations"


def post(emulator: EmulatorServer, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    return httpx.post(f"{emulator.url}/v1/videos/generations", json=body, headers=headers, timeout=30)


def test_emulator_create_poll_and_errors(emulator: EmulatorServer) -> None:
    created = post(emulator, {"model": "grok-imagine-video", "prompt": "a cat", "duration": 3})
    assert created.status_code == 200 and set(created.json()) == {"request_id"}
    rid = created.json()["request_id"]
    got = httpx.get(f"{emulator.url}/v1/videos/{rid}", headers={"Authorization": f"Bearer {emulator.api_key}"})
    assert got.json()["status"] in ("pending", "done")
    bad = post(emulator, {"model": "grok-imagine-video", "prompt": "a cat", "duration": 16})
    assert bad.status_code == 400 and set(bad.json()) == {"code", "error"} and "duration" in bad.json()["error"]
    i2v = post(emulator, {"model": "grok-imagine-video-1.5", "prompt": "a cat"})
    assert i2v.status_code == 400 and "image" in i2v.json()["error"]
    noauth = httpx.post(f"{emulator.url}/v1/videos/generations", json={"prompt": "x"})
    assert noauth.status_code == 401
    # an id the xAI dialect did not make still reaches the OpenAI-format route (its own 404 shape)
    other = httpx.get(
        f"{emulator.url}/v1/videos/video_unknown", headers={"Authorization": f"Bearer {emulator.api_key}"}
    )
    assert other.status_code == 404 and "error" in other.json() and isinstance(other.json()["error"], dict)


def test_client_text_saves_a_probed_mp4(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a lighthouse", model="xai/grok-imagine-video", duration=6, aspect_ratio="9:16",
                          resolution="720p", out=tmp_path / "x.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "done"
    probe = probe_video(tmp_path / "x.mp4")
    assert probe.duration == pytest.approx(6, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent == {"model": "grok-imagine-video", "prompt": "a lighthouse", "duration": 6, "aspect_ratio": "9:16",
                    "resolution": "720p"}  # fmt: skip
    assert emulator.state.counts[CREATE] == 1


def test_client_image_to_video_with_a_data_uri(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    start = make_image(tmp_path / "s.png")
    job = client.generate("it moves", model="xai/grok-imagine-video-1.5", duration=2, images=[str(start)],
                          out=tmp_path / "i.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["image"]["url"].startswith("data:image/png;base64,")
    assert probe_video(tmp_path / "i.mp4").duration == pytest.approx(2, abs=0.2)


def test_moderation_block_expiry_and_rate_limit(client: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="xai/grok-imagine-video", duration=1)
    job = info.value.job
    assert job.raw_status == "done" and job.error and job.error.code is ErrorCode.content_policy_output
    with pytest.raises(JobFailedError) as expired:
        client.generate(f"{EXPIRE_TRIGGER} now", model="xai/grok-imagine-video", duration=1)
    assert expired.value.job.raw_status == "expired"
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "error", "status": 429, "retry_after": 0.05,
                                    "count": 1}]})  # fmt: skip
    with pytest.raises(RateLimitError) as rate:
        client.submit("a quiet lake", model="xai/grok-imagine-video", duration=1)
    waiting = rate.value.job
    assert waiting is not None and waiting.status is JobStatus.pending
    assert client.wait(waiting).status is JobStatus.succeeded and sum(emulator.state.creates.values()) == 3


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a city", model="xai/grok-imagine-video", duration=3, out=tmp_path / "a.mp4"),
                client.generate("a forest", model="xai/grok-imagine-video", duration=5, out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    assert probe_video(tmp_path / "b.mp4").duration == pytest.approx(5, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_xai(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_XAI_BASE_URL": emulator.url, "VIDGATE_XAI_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "xai/grok-imagine-video",
           "--duration", "4", "--aspect-ratio", "1:1", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "xai"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(4, abs=0.2) and probe.width == probe.height
    assert emulator.api_key not in result.stdout + result.stderr


def test_gateway_routes_xai(emulator: EmulatorServer, tmp_path: Path) -> None:
    payload = {"prompt": "a harbour", "model": "xai/grok-imagine-video", "seconds": "5"}
    video = video_through_gateway(emulator, tmp_path, "xai", payload)
    assert probe_video(video).duration == pytest.approx(5, abs=0.2)
    assert emulator.state.counts[CREATE] == 1


def test_gateway_cancel_without_a_provider_cancel_keeps_the_charge(emulator: EmulatorServer, tmp_path: Path) -> None:
    """xAI has no cancel: a cancel through the gateway stops tracking the job, but xAI may still make (and bill)
    the video, so the key's charge is kept — cancelling cannot be used to get videos made for free."""
    routes = [RouteConfig(name="xai", provider="xai", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    config.prices["xai/grok-imagine-video"] = 0.05
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        token = gateway.create_key("canceller", budget_usd=0.5)  # one 8 s video at $0.05/s = $0.40
        payload = {"prompt": "a harbour", "model": "xai/grok-imagine-video", "seconds": "8"}
        made = http.post("/v1/videos", json=payload, headers=bearer(token))
        assert made.status_code == 200, made.text
        assert http.post(f"/v1/videos/{made.json()['id']}/cancel", headers=bearer(token)).status_code == 200
        gateway.gateway.data.settle_charges(utcnow())
        charge = gateway.gateway.data.get_charge(made.json()["id"])
        assert charge is not None and charge.state == "kept"
        again = http.post("/v1/videos", json=payload, headers=bearer(token))
        assert again.status_code == 402 and again.json()["error"]["code"] == "budget_exceeded"
    assert emulator.state.counts["POST /v1/videos/generations"] == 1
