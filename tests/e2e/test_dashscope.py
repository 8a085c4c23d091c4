"""Wan on DashScope over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's DashScope
dialect, which enforces its own transcription of the reference (providers-2026.md §7, more-providers.md §6)."""

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
from tests.gateway.helpers import (
    video_through_gateway,
    wait_for,
)
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.dashscope import RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ContentPolicyError, RateLimitError, TransportError
from vidgate.media import probe_video

CREATE_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
CREATE = f"POST {CREATE_PATH}"


def post(emulator: EmulatorServer, body: object, *, asynchronous: bool = True) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    if asynchronous:
        headers["X-DashScope-Async"] = "enable"
    return httpx.post(f"{emulator.url}{CREATE_PATH}", json=body, headers=headers, timeout=30)


def task(emulator: EmulatorServer, task_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{emulator.url}/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {emulator.api_key}"}
    )
    assert answer.status_code == 200
    return dict(answer.json())


def test_emulator_speaks_the_documented_shapes(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"model": "wan2.6-t2v", "input": {"prompt": "a fox"}, "parameters": {"size": "1280*720", "duration": 5}}
    sync = post(emulator, body, asynchronous=False)
    assert sync.status_code == 403 and "synchronous" in sync.json()["message"]
    made = post(emulator, body).json()
    assert made["output"]["task_status"] == "PENDING" and made["request_id"]
    bad = post(emulator, {**body, "parameters": {"size": "1280x720"}})
    assert bad.status_code == 400 and set(bad.json()) == {"request_id", "code", "message"}
    assert bad.json()["code"] == "InvalidParameter"
    lower = post(emulator, {"model": "wan2.5-i2v-preview", "input": {"img_url": "https://i/a.png"},
                            "parameters": {"resolution": "720p"}})  # fmt: skip
    assert lower.status_code == 400 and "720P" in lower.json()["message"]
    text_duration = post(emulator, {**body, "parameters": {"duration": "5"}})
    assert text_duration.status_code == 400
    noauth = httpx.post(f"{emulator.url}{CREATE_PATH}", json=body, headers={"X-DashScope-Async": "enable"})
    assert noauth.status_code == 401 and noauth.json()["code"] == "InvalidApiKey"
    assert task(emulator, "no-such-task")["output"]["task_status"] == "UNKNOWN"
    done_id = made["output"]["task_id"]
    wait_for(lambda: task(emulator, done_id)["output"]["task_status"] == "SUCCEEDED", timeout=10)
    clock = emulator.config.clock
    monkeypatch.setattr(emulator.config, "clock", lambda: clock() + 86401)
    assert task(emulator, done_id)["output"]["task_status"] == "UNKNOWN"  # 24 h later: expired task id


def test_client_wan3_first_frame_saves_a_probed_mp4(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png", (640, 360))
    job = client.generate("a lighthouse at dusk", model="dashscope/wan3.0-video", duration=12, aspect_ratio="9:16",
                          resolution="720p", images=[str(first)], options={"audio": False, "seed": 3},
                          out=tmp_path / "w.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "SUCCEEDED" and job.provider == "dashscope"
    assert job.video is not None and job.video.expires_at is not None
    probe = probe_video(tmp_path / "w.mp4")
    assert probe.duration == pytest.approx(12, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["input"]["media"][0]["type"] == "first_frame"
    assert sent["parameters"] == {"duration": 12, "ratio": "9:16", "resolution": "720P", "audio": False, "seed": 3}
    assert emulator.state.counts[CREATE] == 1


def test_client_t2v_size_and_keyframes(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a tram", model="dashscope/wan2.6-t2v", size="720x1280", duration=7,
                          options={"shot_type": "multi"}, out=tmp_path / "t.mp4")  # fmt: skip
    probe = probe_video(tmp_path / "t.mp4")
    assert job.status is JobStatus.succeeded and probe.duration == pytest.approx(7, abs=0.2)
    assert probe.height > probe.width
    assert emulator.state.jobs[job.provider_task_id or ""].body["parameters"]["size"] == "720*1280"
    frames = ["https://img.example/a.png", "https://img.example/b.png"]
    kf = client.generate("morph", model="dashscope/wan2.2-kf2v-flash", images=frames, out=tmp_path / "k.mp4")
    assert kf.status is JobStatus.succeeded and probe_video(tmp_path / "k.mp4").duration == pytest.approx(5, abs=0.2)


def test_failed_job_refusal_and_rate_limit(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="dashscope/wan2.7-t2v")
    job = info.value.job
    assert job.raw_status == "FAILED" and job.error is not None
    assert job.error.code.value == "content_policy_output" and "DataInspectionFailed" in job.error.message
    with pytest.raises(ContentPolicyError) as refused:
        client.submit("BLOCK_POLICY now", model="dashscope/wan2.7-t2v")
    assert refused.value.code == "DataInspectionFailed" and refused.value.request_id
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="dashscope/wan2.7-t2v")
    assert rate.value.status_code == 429 and rate.value.code == "Throttling.RateQuota"


def test_unknown_answer_ends_the_job(client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 100.0)  # still running when the task id expires
    job = client.submit("a slow river", model="dashscope/wan2.6-t2v")
    clock = emulator.config.clock
    monkeypatch.setattr(emulator.config, "clock", lambda: clock() + 86401)
    job = client.wait(job)
    assert job.status is JobStatus.expired and job.raw_status == "UNKNOWN"
    assert job.error is not None and "24 h" in job.error.message


def test_cancel_a_pending_task(client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 100.0)  # a long queue
    job = client.submit("a long story", model="dashscope/wan2.7-t2v")
    job = client.cancel(job.id)
    assert job.status is JobStatus.cancelled and job.raw_status == "CANCELED"
    assert emulator.state.counts["POST /api/v1/tasks/{task_id}/cancel"] == 1


def test_unknown_create_is_left_for_a_person(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "accept_then_drop", "count": 1}]})
    with pytest.raises(TransportError) as info:
        client.submit("a paid video", model="dashscope/wan2.6-t2v")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is None
    assert client.advance(job).status is JobStatus.unknown
    assert emulator.state.counts[CREATE] == 1 and len(emulator.state.jobs) == 1


def test_injected_faults_use_the_dashscope_envelope(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "error", "status": 429, "retry_after": 0.05,
                                    "count": 1}]})  # fmt: skip
    answer = post(emulator, {"model": "wan2.7-t2v", "input": {"prompt": "x"}})
    assert answer.status_code == 429 and answer.json()["code"] == "Throttling.RateQuota"
    assert set(answer.json()) == {"request_id", "code", "message"}


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a city", model="dashscope/wan2.7-t2v", duration=3, aspect_ratio="1:1",
                                out=tmp_path / "a.mp4"),
                client.generate("a forest", model="dashscope/wan2.5-t2v-preview", duration=10, out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    square = probe_video(tmp_path / "a.mp4")
    assert square.duration == pytest.approx(3, abs=0.2) and square.width == square.height
    assert probe_video(tmp_path / "b.mp4").duration == pytest.approx(10, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_dashscope(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_DASHSCOPE_BASE_URL": emulator.url, "VIDGATE_DASHSCOPE_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "dashscope/wan2.7-t2v", "--duration",
           "4", "--aspect-ratio", "16:9", "--resolution", "480p", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "dashscope"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(4, abs=0.2) and probe.width > probe.height
    assert emulator.api_key not in result.stdout + result.stderr
    listed = subprocess.run([sys.executable, "-m", "vidgate", "models", "--provider", "dashscope", "--json"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "wan3.0-video" in [m["model"] for m in json.loads(listed.stdout)]


def test_gateway_routes_dashscope(emulator: EmulatorServer, tmp_path: Path) -> None:
    payload = {"prompt": "a harbour", "model": "dashscope/wan2.7-t2v", "seconds": "6"}
    video = video_through_gateway(emulator, tmp_path, "dashscope", payload)
    assert probe_video(video).duration == pytest.approx(6, abs=0.2)
    assert emulator.state.counts[CREATE] == 1
