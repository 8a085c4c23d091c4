"""Replicate over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's Replicate dialect,
which enforces its own transcription of the model schemas (providers-2026.md §3)."""

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
from vidgate.emulator.dialects import replicate as replicate_emu
from vidgate.emulator.dialects.replicate import RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import RateLimitError
from vidgate.media import probe_video

CREATE_NAMED = "POST /v1/models/{owner}/{name}/predictions"


def post(emulator: EmulatorServer, path: str, body: object, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {emulator.api_key}", **headers}
    return httpx.post(f"{emulator.url}{path}", json=body, headers=auth, timeout=30)


def test_emulator_prefer_wait_and_expiring_output(emulator: EmulatorServer) -> None:
    answer = post(emulator, "/v1/models/kwaivgi/kling-v2.1-master/predictions",
                  {"input": {"prompt": "a fox", "duration": 5}}, Prefer="wait=10")  # fmt: skip
    pred = answer.json()
    assert answer.status_code == 201 and pred["status"] == "succeeded", pred
    assert pred["output"].endswith(".mp4") and httpx.get(pred["output"]).content[4:8] == b"ftyp"
    bad = post(emulator, "/v1/models/kwaivgi/kling-v2.1-master/predictions", {"input": {"prompt": "x", "duration": 7}})
    assert bad.status_code == 422 and "duration" in bad.json()["detail"]
    unknown = post(emulator, "/v1/models/nobody/nothing/predictions", {"input": {"prompt": "x"}})
    assert unknown.status_code == 404 and "detail" in unknown.json()
    versioned = post(emulator, "/v1/predictions", {"version": "minimax/video-01", "input": {"prompt": "x"}})
    assert versioned.status_code == 201 and versioned.json()["model"] == "minimax/video-01"
    noauth = httpx.post(f"{emulator.url}/v1/predictions", json={})
    assert noauth.status_code == 401


def test_client_kling_saves_a_probed_mp4(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    start = make_image(tmp_path / "start.png")
    job = client.generate("a lighthouse at dusk", model="replicate/kwaivgi/kling-v2.1-master", duration=10,
                          aspect_ratio="9:16", images=[str(start)], out=tmp_path / "k.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "succeeded"
    video = job.assets[0]
    assert video.expires_at is not None and job.video and job.video.path
    probe = probe_video(tmp_path / "k.mp4")
    assert probe.duration == pytest.approx(10, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id or ""].body["input"]
    assert sent["start_image"].startswith("data:image/png;base64,") and sent["duration"] == 10
    assert emulator.state.counts[CREATE_NAMED] == 1


def test_client_veo_first_and_last_frame(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first, last = make_image(tmp_path / "a.png"), make_image(tmp_path / "b.png")
    job = client.generate("morph", model="replicate/google/veo-3.1", duration=4, resolution="720p",
                          images=[str(first), str(last)], options={"generate_audio": True},
                          out=tmp_path / "v.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded
    sent = emulator.state.jobs[job.provider_task_id or ""].body["input"]
    assert set(sent) >= {"image", "last_frame", "generate_audio", "resolution"}
    assert probe_video(tmp_path / "v.mp4").duration == pytest.approx(4, abs=0.2)


def test_failed_job_and_rate_limit(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="replicate/minimax/video-01")
    assert info.value.job.raw_status == "failed" and info.value.job.error is not None
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="replicate/minimax/video-01")
    assert rate.value.status_code == 429 and rate.value.retry_after == 1


def test_429_with_retry_after_is_retried_without_a_duplicate_create(
    client: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST /v1/models/bytedance/seedance-1-pro/predictions",
                                    "kind": "error", "status": 429, "retry_after": 0.05, "count": 1}]})  # fmt: skip
    with pytest.raises(RateLimitError) as info:
        client.submit("a quiet lake", model="replicate/bytedance/seedance-1-pro")
    job = info.value.job
    assert job is not None and job.status is JobStatus.pending and job.next_poll_at is not None
    done = client.wait(job)
    assert done.status is JobStatus.succeeded and done.submit_attempts == 2
    assert len(emulator.state.jobs) == 1 and sum(emulator.state.creates.values()) == 1


def test_cancel(client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replicate_emu, "MAX_WAIT_S", 0.1)  # a slow model: Prefer: wait gives up
    monkeypatch.setattr(emulator.config, "time_scale", 0.1)  # 15 s per prediction
    job = client.submit("a long story", model="replicate/kwaivgi/kling-v1.6-standard")
    assert job.status in (JobStatus.queued, JobStatus.running)
    job = client.cancel(job.id)
    assert job.status is JobStatus.cancelled and job.raw_status == "canceled"
    assert emulator.state.counts["POST /v1/predictions/{id}/cancel"] == 1


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[object]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a city", model="replicate/kwaivgi/kling-v2.5-turbo-pro", out=tmp_path / "a.mp4"),
                client.generate("a forest", model="replicate/minimax/video-01", out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2  # type: ignore[attr-defined]
    assert probe_video(tmp_path / "b.mp4").duration == pytest.approx(6, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_replicate(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_REPLICATE_BASE_URL": emulator.url, "VIDGATE_REPLICATE_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "replicate/kwaivgi/kling-v2.1-master",
           "--duration", "5", "--aspect-ratio", "1:1", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "replicate"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(5, abs=0.2) and probe.width == probe.height
    assert emulator.api_key not in result.stdout + result.stderr


def test_gateway_routes_replicate(emulator: EmulatorServer, tmp_path: Path) -> None:
    payload = {"prompt": "a harbour", "model": "replicate/kwaivgi/kling-v2.1-master", "seconds": "5"}
    video = video_through_gateway(emulator, tmp_path, "replicate", payload)
    assert probe_video(video).duration == pytest.approx(5, abs=0.2)
    assert emulator.state.counts[CREATE_NAMED] == 1


def test_emulator_cancel_after_and_expired_outputs(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 0.1)  # 1.5 s in the queue
    body = {"input": {"prompt": "late", "duration": 5}}
    pred = post(emulator, "/v1/models/kwaivgi/kling-v2.1-master/predictions", body, **{"Cancel-After": "50ms"}).json()
    assert pred["status"] == "starting"
    pid = pred["id"]
    get = lambda: httpx.get(f"{emulator.url}/v1/predictions/{pid}",  # noqa: E731
                            headers={"Authorization": f"Bearer {emulator.api_key}"}).json()  # fmt: skip
    deadline = time.monotonic() + 5
    while get()["status"] == "starting" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert get()["status"] == "aborted"
    bad = post(emulator, "/v1/models/kwaivgi/kling-v2.1-master/predictions", body, **{"Cancel-After": "soon"})
    assert bad.status_code == 400
    monkeypatch.setattr(emulator.config, "time_scale", 0.002)
    done = post(emulator, "/v1/models/minimax/video-01/predictions", {"input": {"prompt": "x"}}, Prefer="wait").json()
    assert done["status"] == "succeeded" and done["output"]
    clock = emulator.config.clock
    monkeypatch.setattr(emulator.config, "clock", lambda: clock() + 3601)  # an hour later: files deleted
    gone = httpx.get(done["urls"]["get"], headers={"Authorization": f"Bearer {emulator.api_key}"}).json()
    assert gone["status"] == "succeeded" and gone["output"] is None and gone["data_removed"] is True
