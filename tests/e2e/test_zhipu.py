"""Zhipu over loopback: the unmodified zai-sdk and vidgate (Client, AsyncClient, CLI) against the emulator."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from zai import ZaiClient, ZhipuAiClient
from zai.core import APIRequestFailedError, APIStatusError

from tests.conftest import image_bytes, make_image
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.zhipu import BLOCK_TRIGGER, RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ContentPolicyError, RateLimitError
from vidgate.media import probe_video


def zhipu_counts(emulator: EmulatorServer) -> int:
    return sum(n for k, n in emulator.state.counts.items() if "/api/paas/v4/" in k or "/cogvideox/v4/" in k)


def sdk_wait(client: Any, task_id: str, limit: float = 20) -> Any:
    deadline = time.monotonic() + limit
    while True:
        result = client.videos.retrieve_videos_result(id=task_id)
        if result.task_status in ("SUCCESS", "FAIL") or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


@pytest.fixture
def zai_client(emulator: EmulatorServer) -> Iterator[ZaiClient]:
    yield ZaiClient(api_key=emulator.api_key, base_url=f"{emulator.url}/api/paas/v4", max_retries=0)


# ---------------------------------------------------------------- the official SDK


def test_zai_sdk_cogvideox3_generation_and_result(zai_client: ZaiClient, emulator: EmulatorServer) -> None:
    created = zai_client.videos.generations(
        model="cogvideox-3", prompt="A cat is playing with a ball.", quality="quality", with_audio=True,
        size="1920x1080", fps=30, duration=10, request_id="sdk-req-1",
    )  # fmt: skip
    assert created.id and created.task_status == "PROCESSING" and created.request_id == "sdk-req-1"
    result = sdk_wait(zai_client, created.id)
    assert result.task_status == "SUCCESS" and result.model == "cogvideox-3"
    video = result.video_result[0]
    assert video.url.endswith(".mp4") and video.cover_image_url.endswith(".jpg")
    mp4 = httpx.get(video.url).content
    assert mp4[4:8] == b"ftyp"
    assert httpx.get(video.cover_image_url).content[:3] == b"\xff\xd8\xff"  # the cover is a JPEG
    assert emulator.state.jobs[created.id].body["duration"] == 10


def test_zai_sdk_vidu_model_with_a_data_uri_image(zai_client: ZaiClient) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(image_bytes((256, 144))).decode()
    created = zai_client.videos.generations(
        model="vidu2-image", image_url=data_uri, prompt="the bird flies", duration=4, size="1280x720",
        movement_amplitude="auto", with_audio=True,
    )  # fmt: skip
    assert sdk_wait(zai_client, created.id).task_status == "SUCCESS"


def test_zai_sdk_vidu_text_and_first_last_frames(zai_client: ZaiClient) -> None:
    created = zai_client.videos.generations(model="viduq1-text", prompt="a fox", style="anime", duration=5,
                                            aspect_ratio="9:16", size="1920x1080")  # fmt: skip
    assert sdk_wait(zai_client, created.id).task_status == "SUCCESS"
    raw = base64.b64encode(image_bytes()).decode()
    pair = zai_client.videos.generations(model="cogvideox-3", prompt="morph", image_url=[raw, raw], quality="speed")
    assert sdk_wait(zai_client, pair.id).task_status == "SUCCESS"


def test_zai_sdk_sees_the_documented_errors(zai_client: ZaiClient, emulator: EmulatorServer) -> None:
    with pytest.raises(APIRequestFailedError) as info:
        zai_client.videos.generations(model="cogvideox-3", prompt="x" * 600)
    assert info.value.status_code == 400 and '"1261"' in info.value.response.text
    with pytest.raises(APIRequestFailedError) as info:
        zai_client.videos.generations(model="cogvideox-3", prompt="x", image_url=["a" * 80, "a" * 80],
                                      quality="quality")  # fmt: skip
    assert '"1214"' in info.value.response.text
    bad = ZaiClient(api_key="wrong", base_url=f"{emulator.url}/api/paas/v4", max_retries=0)
    with pytest.raises(APIStatusError) as auth:
        bad.videos.generations(model="cogvideox-3", prompt="x")
    assert auth.value.status_code == 401 and "1002" in auth.value.response.text


def test_zhipu_sdk_client_through_the_relay_prefix(emulator: EmulatorServer) -> None:
    client = ZhipuAiClient(api_key=emulator.api_key, base_url=f"{emulator.url}/cogvideox/v4", max_retries=0)
    created = client.videos.generations(model="cogvideox-3", prompt="a relay cat")
    assert sdk_wait(client, created.id).task_status == "SUCCESS"
    assert emulator.state.counts["POST /cogvideox/v4/videos/generations"] == 1


# ---------------------------------------------------------------- the emulator's strict schema, raw


def post(emulator: EmulatorServer, body: dict[str, Any], key: str | None = "default") -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {emulator.api_key if key == 'default' else key}"}
    return httpx.post(f"{emulator.url}/api/paas/v4/videos/generations", json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"model": "cogvideox-3", "prompt": "x" * 513}, "1261"),
        ({"model": "cogvideox-3", "prompt": "x", "duration": "5"}, "1214"),
        ({"model": "cogvideox-3", "prompt": "x", "duration": 6}, "1214"),
        ({"model": "cogvideox-3", "prompt": "x", "size": "1280x960"}, "1214"),
        ({"model": "cogvideox-2", "prompt": "x", "duration": 5}, "1214"),
        ({"model": "cogvideox-3", "prompt": "x", "aspect_ratio": "16:9"}, "1214"),
        ({"model": "viduq1-text"}, "1213"),
        ({"model": "vidu2-image", "prompt": "x"}, "1213"),
        ({"model": "vidu2-image", "prompt": "x", "image_url": base64.b64encode(image_bytes()).decode()}, "1214"),
        ({"model": "vidu2-reference", "prompt": "x", "image_url": ["https://e.x/a.png"] * 4}, "1214"),
        ({"model": "viduq1-text", "prompt": "x", "size": "1280x720"}, "1214"),
        ({"model": "cogvideox-9", "prompt": "x"}, "1211"),
        ({"model": "cogvideox-3", "prompt": "x", "seed": 1}, "1214"),
        ({"model": "cogvideox-3"}, "1213"),
    ],
)
def test_emulator_enforces_the_documented_schema(emulator: EmulatorServer, body: dict[str, Any], code: str) -> None:
    response = post(emulator, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_emulator_accepts_the_sdks_nulls(emulator: EmulatorServer) -> None:
    body = {"model": "viduq1-text", "prompt": "x", "quality": None, "fps": None, "off_peak": None, "style": None}
    assert post(emulator, body).status_code == 200


def test_emulator_auth_codes(emulator: EmulatorServer) -> None:
    assert post(emulator, {"model": "cogvideox-3", "prompt": "x"}, key=None).json()["error"]["code"] == "1001"
    assert post(emulator, {"model": "cogvideox-3", "prompt": "x"}, key="nope").json()["error"]["code"] == "1002"


def test_emulator_zai_error_body(emulator: EmulatorServer) -> None:
    emulator.config.zhipu_error_shape = "zai"
    try:
        response = post(emulator, {"model": "cogvideox-3", "prompt": "x" * 600})
    finally:
        emulator.config.zhipu_error_shape = "bigmodel"
    assert response.json()["code"] == 1261 and "message" in response.json()


# ---------------------------------------------------------------- vidgate against the same emulator


def test_client_cogvideox3_first_and_last_frames(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png")
    last = make_image(tmp_path / "last.jpg", fmt="JPEG")
    job = client.generate("morph", model="zhipu/cogvideox-3", duration=10, size="1280x720",
                          images=[str(first), str(last)], options={"fps": 60}, out=tmp_path / "v.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "SUCCESS"
    assert [a.kind for a in job.assets] == ["video", "cover"]
    assert job.video and job.video.probe and job.video.probe.duration == pytest.approx(10, abs=0.2)
    probe = probe_video(tmp_path / "v.mp4")
    assert probe.width / probe.height == pytest.approx(16 / 9, rel=0.03)
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["request_id"] == job.idempotency_key
    assert [base64.b64decode(x)[:4] for x in sent["image_url"]] == [b"\x89PNG", b"\xff\xd8\xff\xe0"]


def test_client_zai_and_relay_prefix(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a fox", model="zai/viduq1-text", aspect_ratio="9:16", out=tmp_path / "a.mp4")
    assert job.video and job.video.probe and job.video.probe.height > job.video.probe.width
    job = client.generate("a fox", model="relay-zhipu/cogvideox-3", out=tmp_path / "b.mp4")
    assert job.status is JobStatus.succeeded
    assert emulator.state.counts["POST /cogvideox/v4/videos/generations"] == 1
    assert emulator.state.counts["POST /api/paas/v4/videos/generations"] == 1


def test_failed_job_and_submit_errors(client: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="cogvideox-3")
    assert info.value.job.raw_status == "FAIL" and info.value.job.error is not None
    with pytest.raises(ContentPolicyError) as policy:
        client.submit(f"{BLOCK_TRIGGER} something", model="cogvideox-3")
    assert policy.value.code == "1301" and policy.value.error_code == "content_policy_input"
    emulator.config.zhipu_error_shape = "zai"
    try:
        with pytest.raises(RateLimitError) as rate:
            client.submit(RATE_TRIGGER, model="zai/cogvideox-3")
    finally:
        emulator.config.zhipu_error_shape = "bigmodel"
    assert rate.value.code == "1302" and rate.value.error_code == "rate_limited" and rate.value.status_code == 429


def test_async_client_vidu_reference(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    refs = [make_image(tmp_path / f"r{i}.png", size=(256, 256)) for i in range(3)]

    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("the three friends", model="vidu2-reference", images=[str(r) for r in refs],
                                aspect_ratio="1:1", out=tmp_path / "ref.mp4"),
                client.generate("a city", model="zai/cogvideox-3", duration=5, out=tmp_path / "c.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    probe = probe_video(tmp_path / "ref.mp4")
    assert probe.width == probe.height and probe.duration == pytest.approx(4, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_zhipu(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_ZHIPU_BASE_URL": emulator.url, "VIDGATE_ZHIPU_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "zhipu/cogvideox-3", "--duration", "5",
           "--size", "720x1280", "-o", "quality=speed", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "zhipu"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(5, abs=0.2) and probe.height > probe.width
    assert emulator.state.counts["POST /api/paas/v4/videos/generations"] == 1
    assert emulator.api_key not in result.stdout + result.stderr
