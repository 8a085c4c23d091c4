"""fal's queue API over loopback: raw HTTP as fal documents it, and vidgate (Client, AsyncClient, CLI)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_image
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ValidationError
from vidgate.media import probe_video

KLING3_T2V = "fal-ai/kling-video/v3/pro/text-to-video"


KLING3_I2V_KEY = "fal/fal-ai/kling-video/v3/pro/image-to-video"
FLUX_KEY = "fal/blackforestlabs/flux-3-max/text-to-video"
VEO_KEY = "fal/fal-ai/veo3.1"
KLING26_KEY = "fal/fal-ai/kling-video/v2.6/pro/text-to-video"


def key(emulator: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Key {emulator.api_key}"}


# ---------------------------------------------------------------- the documented HTTP flow


def test_queue_flow_urls_drop_the_sub_path(emulator: EmulatorServer) -> None:
    submit = httpx.post(
        f"{emulator.url}/{KLING3_T2V}", json={"prompt": "a cat", "duration": "5"}, headers=key(emulator)
    )
    assert submit.status_code == 200, submit.text
    body = submit.json()
    rid = body["request_id"]
    assert body["status"] == "IN_QUEUE" and body["queue_position"] == 0
    assert body["status_url"] == f"{emulator.url}/fal-ai/kling-video/requests/{rid}/status"
    assert body["response_url"] == f"{emulator.url}/fal-ai/kling-video/requests/{rid}"
    status = httpx.get(body["status_url"], headers=key(emulator)).json()
    assert status["status"] in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    assert httpx.get(body["status_url"], headers={"Authorization": f"Bearer {emulator.api_key}"}).status_code == 401


def test_emulator_422_detail_and_jwks(emulator: EmulatorServer) -> None:
    answer = httpx.post(f"{emulator.url}/{KLING3_T2V}", json={"duration": 5}, headers=key(emulator))
    assert answer.status_code == 422
    locs = [d["loc"] for d in answer.json()["detail"]]
    assert ["body", "prompt"] in locs and ["body", "duration"] in locs
    jwks = httpx.get(f"{emulator.url}/.well-known/jwks.json").json()
    assert jwks["keys"][0]["crv"] == "Ed25519"


# ---------------------------------------------------------------- vidgate against the emulator


def test_client_kling_v3_image_to_video(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png")
    last = make_image(tmp_path / "last.png")
    job = client.generate("a morph", model=KLING3_I2V_KEY, duration=10, aspect_ratio="9:16",
                          images=[str(first), str(last)], options={"generate_audio": True, "no_retry": True},
                          out=tmp_path / "v.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "COMPLETED"
    assert job.provider_task_id in emulator.state.jobs
    assert emulator.state.counts["GET /{app}/requests/{id}"] == 1
    probe = probe_video(tmp_path / "v.mp4")
    assert probe.duration == pytest.approx(10, abs=0.2) and probe.height > probe.width
    emu = next(iter(emulator.state.jobs.values()))
    assert emu.body["duration"] == "10" and emu.body["generate_audio"] is True
    assert emu.body["start_image_url"].startswith("data:image/png") and emu.body["end_image_url"].startswith("data:")
    assert emu.meta["headers"]["x-fal-no-retry"] == "1"


def test_client_failure_is_read_from_the_result(client: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="fal/bytedance/seedance-2.0/text-to-video")
    job = info.value.job
    assert job.raw_status == "COMPLETED" and job.error is not None and "flagged" in job.error.message


def test_422_becomes_a_field_problem(client: Client, emulator: EmulatorServer) -> None:
    # The catalog allows 21:9 for Seedance 1.5; make the emulator disagree to see fal's 422 mapped back.
    from vidgate.emulator.dialects import fal as emu_fal

    app = emu_fal.APPS["fal-ai/bytedance/seedance/v1.5/pro/text-to-video"]
    emu_fal.APPS["fal-ai/bytedance/seedance/v1.5/pro/text-to-video"] = emu_fal.App(("5", "10"), ("16:9",))
    try:
        with pytest.raises(ValidationError) as info:
            client.submit("a city", model="fal/fal-ai/bytedance/seedance/v1.5/pro/text-to-video", aspect_ratio="21:9")
    finally:
        emu_fal.APPS["fal-ai/bytedance/seedance/v1.5/pro/text-to-video"] = app
    assert [p.field for p in info.value.problems] == ["aspect_ratio"]


def test_cancel(client: Client, emulator: EmulatorServer) -> None:
    job = client.submit("slow", model=KLING26_KEY)
    cancelled = client.cancel(job.id)
    assert cancelled.status is JobStatus.cancelled


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[object]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a fox", model=FLUX_KEY, duration=5, out=tmp_path / "a.mp4"),
                client.generate("a dog", model=VEO_KEY, duration=8, resolution="720p", out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2  # type: ignore[attr-defined]
    assert probe_video(tmp_path / "b.mp4").duration == pytest.approx(8, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_fal(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_FAL_BASE_URL": emulator.url, "VIDGATE_FAL_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", KLING26_KEY,
           "--duration", "5", "--aspect-ratio", "1:1", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "fal"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(5, abs=0.2) and probe.width == probe.height
    assert emulator.api_key not in result.stdout + result.stderr


def test_gateway_routes_to_fal(emulator: EmulatorServer, tmp_path: Path) -> None:
    from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
    from vidgate.server.config import RouteConfig
    from vidgate.server.run import GatewayServer

    routes = [RouteConfig(name="fal", provider="fal", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    with GatewayServer(gateway_config(emulator, tmp_path, routes=routes), env=env_for(emulator, tmp_path)) as gw:
        key = gw.create_key("alice")
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            payload = {
                "prompt": "a lighthouse",
                "model": KLING26_KEY,
                "seconds": "5",
            }
            created = http.post("/v1/videos", json=payload, headers=bearer(key))
            assert created.status_code == 200, created.text
            done = wait_done(http, str(created.json()["id"]), key)
            assert done["status"] == "completed"
            content = http.get(f"/v1/videos/{created.json()['id']}/content", headers=bearer(key))
            assert content.status_code == 200 and content.content[4:8] == b"ftyp"
    (tmp_path / "gw.mp4").write_bytes(content.content)
    assert probe_video(tmp_path / "gw.mp4").duration == pytest.approx(5, abs=0.2)
    assert emulator.state.counts["POST /{app}"] == 1
