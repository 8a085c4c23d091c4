"""Runway over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's Runway dialect, which
enforces its own transcription of the per-model body unions (providers-2026.md §8)."""

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
from vidgate.emulator.dialects.runway import RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import RateLimitError, TransportError
from vidgate.media import probe_video
from vidgate.types import ErrorCode

I2V, T2V, TASK = "POST /v1/image_to_video", "POST /v1/text_to_video", "GET /v1/tasks/{id}"
VERSION = {"X-Runway-Version": "2024-11-06"}


def post(emulator: EmulatorServer, path: str, body: object, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {emulator.api_key}", **VERSION, **headers}
    return httpx.post(f"{emulator.url}{path}", json=body, headers=auth, timeout=30)


def test_emulator_speaks_runway(emulator: EmulatorServer) -> None:
    body = {"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 5}
    created = post(emulator, "/v1/text_to_video", body)
    assert created.status_code == 200 and set(created.json()) == {"id"}
    task = httpx.get(
        f"{emulator.url}/v1/tasks/{created.json()['id']}",
        headers={"Authorization": f"Bearer {emulator.api_key}", **VERSION},
    ).json()
    assert task["status"] in ("PENDING", "THROTTLED", "RUNNING", "SUCCEEDED") and task["createdAt"].endswith("Z")
    no_version = httpx.post(
        f"{emulator.url}/v1/text_to_video", json=body, headers={"Authorization": f"Bearer {emulator.api_key}"}
    )
    assert no_version.status_code == 400 and "X-Runway-Version" in no_version.json()["error"]
    bad = post(emulator, "/v1/text_to_video", {**body, "ratio": "1104:832"})  # image_to_video only on gen4.5
    assert bad.status_code == 400 and bad.json()["issues"][0]["path"] == ["ratio"]
    missing = post(emulator, "/v1/image_to_video", {"model": "gen4.5", "promptText": "x", "ratio": "1280:720"})
    assert missing.status_code == 400 and missing.json()["issues"][0]["path"] in (["duration"], ["promptImage"])
    last_only = post(
        emulator,
        "/v1/image_to_video",
        {"model": "veo3.1", "promptImage": [{"uri": "https://i.example/a.png", "position": "last"}]},
    )
    assert last_only.status_code == 400
    unknown = post(emulator, "/v1/image_to_video", {"model": "gen5", "promptImage": "https://i.example/a.png"})
    assert unknown.status_code == 400 and unknown.json()["issues"][0]["path"] == ["model"]
    assert httpx.post(f"{emulator.url}/v1/text_to_video", json=body, headers=VERSION).status_code == 401


def test_client_image_to_video_saves_a_probed_mp4(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png")
    job = client.generate(
        "a lighthouse at dusk",
        model="runway/gen4.5",
        duration=4,
        aspect_ratio="720:1280",
        images=[str(first)],
        options={"seed": 7},
        out=tmp_path / "r.mp4",
    )
    assert job.status is JobStatus.succeeded and job.raw_status == "SUCCEEDED"
    assert job.assets[0].expires_at is not None and job.video and job.video.path
    probe = probe_video(tmp_path / "r.mp4")
    assert probe.duration == pytest.approx(4, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["promptImage"].startswith("data:image/png;base64,") and sent["seed"] == 7
    assert emulator.state.counts[I2V] == 1 and emulator.state.counts[T2V] == 0


def test_client_veo_first_last_frames_text_and_progress(
    client: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    a, b = make_image(tmp_path / "a.png"), make_image(tmp_path / "b.png")
    progress: list[int] = []
    job = client.generate(
        "morph",
        model="runway/veo3.1_fast",
        duration=6,
        images=[str(a), str(b)],
        options={"audio": False},
        out=tmp_path / "v.mp4",
        on_progress=lambda j: progress.append(j.progress or 0),
    )
    assert job.status is JobStatus.succeeded and job.progress == 100 and progress == sorted(progress)
    assert [p["position"] for p in emulator.state.jobs[job.provider_task_id or ""].body["promptImage"]] == [
        "first",
        "last",
    ]
    assert probe_video(tmp_path / "v.mp4").duration == pytest.approx(6, abs=0.2)
    text = client.generate("a quiet sea", model="runway/gemini_omni_flash", duration=3, out=tmp_path / "t.mp4")
    assert text.status is JobStatus.succeeded and emulator.state.counts[T2V] == 1
    assert probe_video(tmp_path / "t.mp4").duration == pytest.approx(3, abs=0.2)


def test_throttled_is_queued_not_failed(
    client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 0.1)  # 9 s per task: three overlap
    jobs = [client.submit(f"scene {i}", model="runway/gen4.5") for i in range(3)]
    third = client.advance(jobs[2])
    assert third.status is JobStatus.queued and third.raw_status == "THROTTLED" and third.error is None
    for job in jobs:
        client.cancel(job.id)


def test_running_progress_fraction_becomes_percent(
    client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 0.05)  # 0.45 s queued, then 4 s running
    job = client.submit("a slow pan", model="runway/gen4.5", duration=2)
    deadline = time.monotonic() + 10
    while job.status is not JobStatus.running and time.monotonic() < deadline:
        job = client.advance(job.model_copy(update={"next_poll_at": client.now()}))
    assert job.status is JobStatus.running and job.raw_status == "RUNNING"
    phase, fraction = emulator.state.phase(emulator.state.jobs[job.provider_task_id or ""])
    assert phase == "running" and job.progress is not None and 0 <= job.progress <= round(fraction * 100) + 1
    client.cancel(job.id)


def test_failed_task_and_rate_limit(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="runway/gen4.5")
    job = info.value.job
    assert job.raw_status == "FAILED" and job.error is not None
    assert job.error.code is ErrorCode.content_policy_input and "SAFETY.INPUT.TEXT" in job.error.message
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="runway/gen4.5")
    assert rate.value.status_code == 429 and "daily task limit" in str(rate.value)


def test_cancel_deletes_a_running_task(
    client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 0.1)
    job = client.submit("a long story", model="runway/veo3")
    job = client.cancel(job.id)
    assert job.status is JobStatus.cancelled and job.raw_status == "CANCELLED"
    assert emulator.state.counts["DELETE /v1/tasks/{id}"] == 1
    answer = httpx.get(
        f"{emulator.url}/v1/tasks/{job.provider_task_id}",
        headers={"Authorization": f"Bearer {emulator.api_key}", **VERSION},
    ).json()
    assert answer["status"] == "CANCELLED"


def test_delete_a_finished_task(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a short clip", model="runway/gen4.5", duration=2, out=tmp_path / "d.mp4")
    assert client.delete(job) is True and emulator.state.counts["DELETE /v1/tasks/{id}"] == 1
    answer = httpx.get(f"{emulator.url}/v1/tasks/{job.provider_task_id}",
                       headers={"Authorization": f"Bearer {emulator.api_key}", **VERSION}).json()  # fmt: skip
    assert answer == {"id": job.provider_task_id, "createdAt": answer["createdAt"], "status": "CANCELLED"}


def test_an_unknown_create_is_left_for_a_person(client: Client, emulator: EmulatorServer) -> None:
    # Runway takes no caller-supplied id: a create that landed but whose answer was lost is never resent.
    emulator.set_faults({"rules": [{"endpoint": "POST /v1/text_to_video", "kind": "accept_then_drop"}]})
    with pytest.raises(TransportError) as info:
        client.submit("a paid video", model="runway/gen4.5")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is None
    emulator.set_faults(None)
    assert client.advance(job).status is JobStatus.unknown
    assert [j.id for j in client.store.awaiting_decision()] == [job.id]
    assert emulator.state.counts[T2V] == 1 and sum(emulator.state.creates.values()) == 1


def test_injected_fault_speaks_runway_envelope(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults(
        {
            "rules": [
                {"endpoint": "POST /v1/text_to_video", "kind": "error", "status": 429, "retry_after": 0.05, "count": 1}
            ]
        }
    )
    with pytest.raises(RateLimitError) as info:
        client.submit("patience", model="runway/gen4.5")
    assert isinstance(info.value.body, dict) and set(info.value.body) == {"error"}
    done = client.wait(info.value.job)  # type: ignore[arg-type]
    assert done.status is JobStatus.succeeded and sum(emulator.state.creates.values()) == 1


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    image = make_image(tmp_path / "i.png", size=(64, 64))

    async def main() -> list[object]:
        async with AsyncClient(
            base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}
        ) as client:
            return list(
                await asyncio.gather(
                    client.generate("a city", model="runway/seedance2_fast", duration=4, out=tmp_path / "a.mp4"),
                    client.generate(
                        "a horse", model="runway/happyhorse_1_0", images=[str(image)], out=tmp_path / "b.mp4"
                    ),
                )
            )

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2  # type: ignore[attr-defined]
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(4, abs=0.2)
    square = probe_video(tmp_path / "b.mp4")  # happyhorse: the aspect follows the (square) image
    assert square.width == square.height


@pytest.mark.slow
def test_cli_generates_through_runway(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_RUNWAY_BASE_URL": emulator.url, "VIDGATE_RUNWAY_API_KEY": emulator.api_key}
    cmd = [
        sys.executable,
        "-m",
        "vidgate",
        "generate",
        "a lighthouse",
        "-m",
        "runway/gen4.5",
        "--duration",
        "3",
        "--aspect-ratio",
        "960:960",
        "--image",
        str(make_image(tmp_path / "f.png")),
        "--out",
        str(out),
        "--json",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "runway" and job["raw_status"] == "SUCCEEDED"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(3, abs=0.2) and probe.width == probe.height
    assert emulator.api_key not in result.stdout + result.stderr


def test_cli_lists_runway_models() -> None:
    cmd = [sys.executable, "-m", "vidgate", "models", "--provider", "runway", "--json"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ})
    assert result.returncode == 0, result.stderr
    keys = {m["key"] for m in json.loads(result.stdout)}
    for model in ("gen4.5", "gen4_turbo", "veo3.1", "seedance2", "happyhorse_1_0", "gemini_omni_flash"):
        assert f"runway/{model}" in keys


def test_gateway_routes_runway(emulator: EmulatorServer, tmp_path: Path) -> None:
    payload = {"prompt": "a harbour", "model": "runway/gen4.5", "seconds": "5"}
    video = video_through_gateway(emulator, tmp_path, "runway", payload)
    assert probe_video(video).duration == pytest.approx(5, abs=0.2)
    assert emulator.state.counts[T2V] == 1
