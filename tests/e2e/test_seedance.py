"""Seedance over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's Seedance dialect, which
enforces its own transcription of the reference (providers-2026.md §5, more-providers.md §5) for both hosts
(Volcengine Ark and BytePlus ModelArk)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_image
from tests.gateway.helpers import (
    EMU_KEY_ENV,
    bearer,
    env_for,
    gateway_config,
    video_through_gateway,
    wait_for,
)
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.seedance import RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ContentPolicyError, RateLimitError, TransportError
from vidgate.media import probe_video
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer

TASKS = "/api/v3/contents/generations/tasks"
CREATE = f"POST {TASKS}"


def call(emulator: EmulatorServer, method: str, path: str, body: object = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    return httpx.request(method, f"{emulator.url}{path}", json=body, headers=headers, timeout=30)


def text(prompt: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": prompt}]


def test_emulator_speaks_the_documented_shapes(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    made = call(emulator, "POST", TASKS, {"model": "doubao-seedance-1-0-pro-250528", "content": text("a fox"),
                                          "ratio": "adaptive", "duration": 5})  # fmt: skip
    assert made.status_code == 200 and set(made.json()) == {"id"} and made.json()["id"].startswith("cgt-")
    bad = call(emulator, "POST", TASKS, {"model": "doubao-seedance-2-0-fast-260128", "content": text("x"),
                                         "resolution": "1080p"})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidParameter"
    mixed = call(emulator, "POST", TASKS, {"model": "doubao-seedance-1-0-pro-250528",
                                           "content": text("x --rs 720p --dur 5"), "duration": 5})  # fmt: skip
    assert mixed.status_code == 400 and "--text commands" in mixed.json()["error"]["message"]
    audio = call(emulator, "POST", TASKS, {"model": "seedance-1-0-pro-250528", "content": text("x"),
                                           "generate_audio": True})  # fmt: skip
    assert audio.status_code == 400 and audio.json()["error"]["param"] == "generate_audio"
    ref = {"type": "image_url", "image_url": {"url": "https://img.example/r.png"}, "role": "reference_image"}
    lite = {"model": "doubao-seedance-1-0-lite-i2v-250428", "content": [*text("x"), ref], "resolution": "1080p"}
    assert call(emulator, "POST", TASKS, lite).status_code == 400
    assert call(emulator, "POST", TASKS, {**lite, "resolution": "720p"}).status_code == 200
    unknown = call(emulator, "POST", TASKS, {"model": "doubao-seedance-9", "content": text("x")})
    assert unknown.status_code == 404 and "error" in unknown.json()
    assert httpx.post(f"{emulator.url}{TASKS}", json={}).status_code == 401
    listed = call(emulator, "GET", f"{TASKS}?page_num=1&page_size=10&filter.task_ids={made.json()['id']}").json()
    assert [t["id"] for t in listed["items"]] == [made.json()["id"]]


def test_delete_cancels_queued_refuses_running_and_deletes_finished(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 100.0)  # a long queue
    queued = call(emulator, "POST", TASKS, {"model": "dreamina-seedance-2-0-mini", "content": text("q")}).json()["id"]
    assert call(emulator, "DELETE", f"{TASKS}/{queued}").status_code == 200
    assert call(emulator, "GET", f"{TASKS}/{queued}").json()["status"] == "cancelled"
    assert call(emulator, "DELETE", f"{TASKS}/{queued}").status_code == 400  # cancelled: refused
    monkeypatch.setattr(emulator.config, "time_scale", 0.0001)
    done = call(emulator, "POST", TASKS, {"model": "dreamina-seedance-2-0-mini", "content": text("d")}).json()["id"]
    wait_for(lambda: call(emulator, "GET", f"{TASKS}/{done}").json()["status"] == "succeeded", timeout=10)
    assert call(emulator, "DELETE", f"{TASKS}/{done}").status_code == 200
    assert call(emulator, "GET", f"{TASKS}/{done}").status_code == 404  # the record is gone
    job = emulator.state.jobs[queued]
    monkeypatch.setattr(job, "meta", {**job.meta, "cancelled_at": None})
    monkeypatch.setattr(job, "queue_s", 0.0)
    monkeypatch.setattr(job, "render_s", 10_000.0)
    assert call(emulator, "GET", f"{TASKS}/{queued}").json()["status"] == "running"
    assert call(emulator, "DELETE", f"{TASKS}/{queued}").status_code == 400  # running: refused


def test_emulator_expires_unfinished_tasks_and_clears_urls_after_24_h(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 1000.0)  # never done in time
    slow = call(emulator, "POST", TASKS, {"model": "doubao-seedance-2-0-260128", "content": text("slow"),
                                          "execution_expires_after": 3600}).json()["id"]  # fmt: skip
    monkeypatch.setattr(emulator.config, "time_scale", 0.0001)
    fast = call(emulator, "POST", TASKS, {"model": "doubao-seedance-2-0-260128", "content": text("f")}).json()["id"]
    wait_for(lambda: call(emulator, "GET", f"{TASKS}/{fast}").json()["status"] == "succeeded", timeout=10)
    assert call(emulator, "GET", f"{TASKS}/{fast}").json()["content"]["video_url"].endswith(".mp4")
    clock = emulator.config.clock
    monkeypatch.setattr(emulator.config, "clock", lambda: clock() + 86401)
    assert call(emulator, "GET", f"{TASKS}/{slow}").json()["status"] == "expired"
    assert call(emulator, "GET", f"{TASKS}/{fast}").json()["content"] == {}  # cleared after 24 h


def test_client_ark_first_frame_saves_a_probed_mp4(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png", (640, 360))
    job = client.generate("a lighthouse at dusk", model="ark/doubao-seedance-1-5-pro-251215", duration=6,
                          aspect_ratio="9:16", resolution="720p", images=[str(first)],
                          options={"return_last_frame": True, "seed": 7}, out=tmp_path / "s.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "succeeded" and job.provider == "ark"
    video = job.video
    assert video is not None and video.path and video.expires_at is not None
    probe = probe_video(tmp_path / "s.mp4")
    assert probe.duration == pytest.approx(6, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["content"][1]["role"] == "first_frame" and sent["content"][1]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    assert sent["duration"] == 6 and sent["ratio"] == "9:16" and sent["return_last_frame"] is True
    job = client.download(job, tmp_path / "last.png", variant="thumbnail")  # the last frame (return_last_frame)
    frame = next(a for a in job.assets if a.kind == "thumbnail")
    assert frame.path and Path(frame.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert emulator.state.counts[CREATE] == 1


def test_client_byteplus_references(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    refs = [make_image(tmp_path / f"r{i}.png", (400, 400)) for i in range(3)]
    options = {"reference_videos": ["https://cdn.example/clip.mp4"], "reference_audios": ["asset://audio-1"]}
    job = client.generate("the same cat, three shots", model="byteplus/dreamina-seedance-2-5-260628", duration=20,
                          aspect_ratio="1:1", images=[{"source": str(p), "role": "reference"} for p in refs],
                          options=options, out=tmp_path / "b.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.provider == "byteplus"
    kinds = [c["type"] for c in emulator.state.jobs[job.provider_task_id or ""].body["content"]]
    assert kinds == ["text", "image_url", "image_url", "image_url", "video_url", "audio_url"]
    probe = probe_video(tmp_path / "b.mp4")
    assert probe.duration == pytest.approx(20, abs=0.2) and probe.width == probe.height


def test_failed_job_policy_refusal_and_rate_limit(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="ark/doubao-seedance-2-0-mini-260615")
    job = info.value.job
    assert job.raw_status == "failed" and job.error is not None and job.error.code.value == "content_policy_output"
    with pytest.raises(ContentPolicyError) as refused:
        client.submit("BLOCK_POLICY here", model="ark/doubao-seedance-2-0-mini-260615")
    assert refused.value.error_code == "content_policy_input"
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="byteplus/seedance-1-0-pro-250528")
    assert rate.value.status_code == 429


def test_cancel_a_queued_task(client: Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 100.0)  # a long queue
    job = client.submit("a long story", model="byteplus/dreamina-seedance-2-0-fast-260128")
    job = client.cancel(job.id)
    assert job.status is JobStatus.cancelled and job.raw_status == "cancelled"
    assert emulator.state.counts[f"DELETE {TASKS}/{{id}}"] == 1


def test_unknown_create_is_never_resent(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "accept_then_drop", "count": 1}]})
    with pytest.raises(TransportError) as info:
        client.submit("a paid video", model="ark/doubao-seedance-2-0-260128")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is None
    assert job.error is not None and "vidgate jobs retry" in job.error.message
    assert client.advance(job).status is JobStatus.unknown
    assert emulator.state.counts[CREATE] == 1 and len(emulator.state.jobs) == 1


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a city", model="ark/doubao-seedance-2-0-260128", duration=4, out=tmp_path / "a.mp4"),
                client.generate("a forest", model="byteplus/dreamina-seedance-2-0-260128", aspect_ratio="21:9",
                                out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(4, abs=0.2)
    wide = probe_video(tmp_path / "b.mp4")
    assert wide.width / wide.height == pytest.approx(21 / 9, rel=0.05)


@pytest.mark.slow
def test_cli_generates_through_ark(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_ARK_BASE_URL": emulator.url, "VIDGATE_ARK_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "ark/doubao-seedance-2-0-fast-260128",
           "--duration", "5", "--aspect-ratio", "1:1", "--resolution", "480p", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "ark"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(5, abs=0.2) and probe.width == probe.height
    assert emulator.api_key not in result.stdout + result.stderr


def test_cli_models_lists_both_hosts() -> None:
    for provider, model in (("byteplus", "dreamina-seedance-2-5-260628"), ("ark", "doubao-seedance-2-0-260128")):
        result = subprocess.run([sys.executable, "-m", "vidgate", "models", "--provider", provider, "--json"],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert model in [m["model"] for m in json.loads(result.stdout)]


def test_gateway_routes_seedance(emulator: EmulatorServer, tmp_path: Path) -> None:
    payload = {"prompt": "a harbour", "model": "byteplus/dreamina-seedance-2-0-260128", "seconds": "5"}
    video = video_through_gateway(emulator, tmp_path, "byteplus", payload)
    assert probe_video(video).duration == pytest.approx(5, abs=0.2)
    assert emulator.state.counts[CREATE] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_callback_reconciles_an_unknown_create(emulator: EmulatorServer, tmp_path: Path) -> None:
    """The create is recorded but its answer lost: the job is unknown and never resent; Seedance's callback to
    the job's own URL names the task, the gateway adopts it and finishes the job with one create."""
    port = _free_port()
    routes = [RouteConfig(name="ark", provider="ark", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes, public_url=f"http://127.0.0.1:{port}")
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "accept_then_drop", "count": 1}]})
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path), port=port) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        key = gateway.create_key("bob")
        payload = {"prompt": "a paper boat", "model": "ark/doubao-seedance-2-0-260128", "seconds": "5"}
        made = http.post("/v1/videos", json=payload, headers=bearer(key)).json()
        assert made["vidgate"]["status"] == "unknown"
        # The callback sent at creation may race the lost answer's bookkeeping; the one sent when the task ends
        # then names it. Either way the job finishes from a callback, with one create.
        wait_for(lambda: gateway.gateway.store.get(made["id"]).done, timeout=20)
        job = gateway.gateway.store.get(made["id"])
        assert job.status is JobStatus.succeeded, job
        assert http.get(f"/v1/videos/{made['id']}", headers=bearer(key)).json()["status"] == "completed"
        assert job.provider_task_id in emulator.state.jobs
        assert (job.request.webhook_url or "").startswith(f"http://127.0.0.1:{port}/hooks/")  # type: ignore[union-attr]
    assert emulator.state.counts[CREATE] == 1 and emulator.state.counts["seedance callback sent"] >= 1
