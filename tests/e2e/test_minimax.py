"""MiniMax over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's MiniMax dialect, which
enforces its own transcription of the reference (providers-2026.md §6, more-providers.md §2): V1 create, query and
file retrieval, the callback challenge, V2 content[] roles, base_resp errors, and an unknown create left alone."""

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
from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done, wait_for
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.minimax import BALANCE_TRIGGER, INPUT_TRIGGER, RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ContentPolicyError, QuotaExceededError, RateLimitError, TransportError
from vidgate.media import probe_video
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer
from vidgate.types import ErrorCode

CREATE = "POST /v1/video_generation"
QUERY = "GET /v1/query/video_generation"
RETRIEVE = "GET /v1/files/retrieve"
CREATE_V2 = "POST /v2/video_generation"


def call(emulator: EmulatorServer, method: str, path: str, body: object = None, **params: str) -> Any:
    auth = {"Authorization": f"Bearer {emulator.api_key}"}
    answer = httpx.request(method, f"{emulator.url}{path}", json=body, params=params, headers=auth, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def picture(tmp_path: Path, name: str = "frame.png", size: tuple[int, int] = (640, 360)) -> str:
    return str(make_image(tmp_path / name, size=size))


def test_emulator_speaks_the_documented_shapes(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator.config, "time_scale", 0.0)  # every task is finished at once
    made = call(emulator, "POST", "/v1/video_generation", {"model": "MiniMax-Hailuo-2.3", "prompt": "a fox"})
    assert set(made) == {"task_id", "base_resp"} and made["base_resp"] == {"status_code": 0, "status_msg": "success"}
    task = call(emulator, "GET", "/v1/query/video_generation", task_id=made["task_id"])
    assert task["status"] == "Success" and task["file_id"] and (task["video_width"], task["video_height"]) == (
        1366, 768)  # fmt: skip
    file = call(emulator, "GET", "/v1/files/retrieve", file_id=task["file_id"])["file"]
    assert isinstance(file["file_id"], int) and file["purpose"] == "video_generation" and file["bytes"] > 0
    assert httpx.get(file["download_url"]).content[4:8] == b"ftyp"
    bad = call(emulator, "POST", "/v1/video_generation", {"model": "MiniMax-Hailuo-2.3", "prompt": "x", "duration": 8})
    assert bad["base_resp"]["status_code"] == 2013 and "duration" in bad["base_resp"]["status_msg"]
    tall = {"model": "MiniMax-Hailuo-2.3", "prompt": "x", "duration": 10, "resolution": "1080P"}
    assert call(emulator, "POST", "/v1/video_generation", tall)["base_resp"]["status_code"] == 2013
    noauth = httpx.post(f"{emulator.url}/v1/video_generation", json={}).json()
    assert noauth["base_resp"]["status_code"] == 1004
    v2 = {"model": "MiniMax-H3", "content": [{"type": "text", "text": "hi"}], "resolution": "2K", "duration": 5}
    created = call(emulator, "POST", "/v2/video_generation", v2)["task"]
    got = call(emulator, "GET", f"/v2/query/video_generation/{created['id']}")["task"]
    assert got["status"] == "succeeded" and got["content"]["url"].endswith(".mp4") and got["content"]["duration"] == 5
    frames = [{"type": "image_url", "image_url": "https://i/a.png", "role": "first_frame"},
              {"type": "image_url", "image_url": "https://i/b.png", "role": "reference_image"}]  # fmt: skip
    mixed = {**v2, "content": [*v2["content"], *frames]}
    assert "mutually exclusive" in call(emulator, "POST", "/v2/video_generation", mixed)["base_resp"]["status_msg"]


def test_emulator_status_words_over_time(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(emulator.config, "clock", lambda: now[0])
    monkeypatch.setattr(emulator.config, "time_scale", 1.0)  # 120 s: 12 s queued, then 108 s processing
    v1 = call(emulator, "POST", "/v1/video_generation", {"model": "MiniMax-Hailuo-2.3", "prompt": "a fox"})["task_id"]
    v2 = {"model": "MiniMax-H3", "content": [{"type": "text", "text": "hi"}], "resolution": "768P", "duration": 5}
    v2_id = call(emulator, "POST", "/v2/video_generation", v2)["task"]["id"]
    seen_v1, seen_v2 = [], []
    for t in (0, 5, 30, 300):  # Preparing is the first third of the queue
        now[0] = 1000.0 + t
        seen_v1.append(call(emulator, "GET", "/v1/query/video_generation", task_id=v1)["status"])
        seen_v2.append(call(emulator, "GET", f"/v2/query/video_generation/{v2_id}")["task"]["status"])
    assert seen_v1 == ["Preparing", "Queueing", "Processing", "Success"]
    assert seen_v2 == ["queued", "queued", "running", "succeeded"]


def test_client_v1_text_to_video_saves_a_probed_mp4(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a lighthouse at dusk [Push in]", model="MiniMax-Hailuo-2.3", duration=10,
                          out=tmp_path / "t.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "Success"
    assert job.video is not None and job.video.expires_at is not None  # the ~9 h download link
    probe = probe_video(tmp_path / "t.mp4")
    assert probe.duration == pytest.approx(10, abs=0.2) and probe.width > probe.height
    assert emulator.state.counts[CREATE] == 1 and emulator.state.counts[RETRIEVE] >= 1


def test_an_expired_link_is_replaced_by_retrieving_the_file_again(
    client: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    job = client.wait(client.submit("a slow river", model="MiniMax-Hailuo-2.3"))
    first = job.video.url if job.video else None
    assert job.status is JobStatus.succeeded and first and emulator.state.counts[RETRIEVE] == 1
    emulator.set_faults({"url_ttl_s": 30})  # from now on links are signed: the one vidgate holds no longer works
    assert httpx.get(first).status_code == 403
    saved = client.download(job, tmp_path / "r.mp4")
    assert saved.video is not None and saved.video.url != first and emulator.state.counts[RETRIEVE] == 2
    assert probe_video(tmp_path / "r.mp4").duration == pytest.approx(6, abs=0.2)


def test_client_v1_first_and_last_frame(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first, last = picture(tmp_path, "a.png", (360, 640)), picture(tmp_path, "b.png", (360, 640))
    job = client.generate("a door opens", model="minimax/MiniMax-Hailuo-02", images=[first, last], resolution="512P",
                          options={"prompt_optimizer": False}, out=tmp_path / "f.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert sent["first_frame_image"].startswith("data:image/png;base64,") and "last_frame_image" in sent
    assert sent["prompt_optimizer"] is False and sent["resolution"] == "512P"
    probe = probe_video(tmp_path / "f.mp4")
    assert probe.height > probe.width and probe.duration == pytest.approx(6, abs=0.2)  # follows the frame's shape


def test_client_s2v_subject_reference(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("she smiles", model="S2V-01", images=[picture(tmp_path)], out=tmp_path / "s.mp4")
    assert job.status is JobStatus.succeeded
    subjects = emulator.state.jobs[job.provider_task_id or ""].body["subject_reference"]
    assert len(subjects) == 1 and subjects[0]["image"].startswith("data:image/png;base64,")
    assert probe_video(tmp_path / "s.mp4").duration == pytest.approx(6, abs=0.2)


def test_client_v2_h3_references(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    ref = {"source": picture(tmp_path), "role": "reference"}
    options = {"reference_videos": ["https://v.example/clip.mp4"], "reference_audios": ["mm_file://42"]}
    job = client.generate("a duet on a rooftop", model="MiniMax-H3", duration=7, aspect_ratio="9:16",
                          resolution="2K", images=[ref], options=options, out=tmp_path / "h3.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "succeeded"
    content = emulator.state.jobs[job.provider_task_id or ""].body["content"]
    assert [c.get("role") for c in content] == [None, "reference_image", "reference_video", "reference_audio"]
    probe = probe_video(tmp_path / "h3.mp4")
    assert probe.duration == pytest.approx(7, abs=0.2) and probe.height > probe.width
    assert probe.height / probe.width == pytest.approx(16 / 9, rel=0.02)  # 9:16 at 2K: 1440x2560
    assert emulator.state.counts[CREATE_V2] == 1


def test_failures_and_base_resp_errors(client: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(JobFailedError) as failed:
        client.generate("FAIL_POLICY please", model="MiniMax-Hailuo-2.3")
    job = failed.value.job
    assert job.raw_status == "Fail" and job.error is not None and job.error.code is ErrorCode.content_policy_output
    with pytest.raises(JobFailedError) as failed_v2:
        client.generate("FAIL_POLICY again", model="MiniMax-H3-Max")
    assert failed_v2.value.job.raw_status == "failed"
    with pytest.raises(ContentPolicyError) as refused:
        client.submit(f"{INPUT_TRIGGER} text", model="MiniMax-Hailuo-2.3")
    assert refused.value.code == "1026" and refused.value.error_code == ErrorCode.content_policy_input.value
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="MiniMax-H3")
    assert rate.value.code == "1002"
    with pytest.raises(QuotaExceededError):
        client.submit(BALANCE_TRIGGER, model="MiniMax-Hailuo-02")


def test_injected_429_is_retried_without_a_duplicate_create(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "error", "status": 429, "retry_after": 0.05,
                                    "count": 1}]})  # fmt: skip
    with pytest.raises(RateLimitError) as info:
        client.submit("a quiet lake", model="MiniMax-Hailuo-2.3")
    assert info.value.body["base_resp"]["status_code"] == 1002  # the fault speaks MiniMax's envelope
    job = info.value.job
    assert job is not None and job.status is JobStatus.pending
    done = client.wait(job)
    assert done.status is JobStatus.succeeded and done.submit_attempts == 2
    assert sum(emulator.state.creates.values()) == 1


def test_unknown_create_is_left_for_a_person(client: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "accept_then_drop", "count": 1}]})
    with pytest.raises(TransportError) as info:
        client.submit("a paid video", model="MiniMax-Hailuo-2.3")
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
                client.generate("a city", model="MiniMax-Hailuo-2.3", out=tmp_path / "a.mp4"),
                client.generate("a forest", model="MiniMax-H3", duration=6, out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(6, abs=0.2)
    assert probe_video(tmp_path / "b.mp4").duration == pytest.approx(6, abs=0.2)


@pytest.mark.slow
def test_cli_lists_and_generates(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_MINIMAX_BASE_URL": emulator.url, "VIDGATE_MINIMAX_API_KEY": emulator.api_key}
    listed = subprocess.run([sys.executable, "-m", "vidgate", "models", "--provider", "minimax", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert {"minimax/MiniMax-Hailuo-2.3", "minimax/MiniMax-H3", "minimax/MiniMax-H3-Max"} <= set(
        json.dumps(json.loads(listed.stdout)).split('"'))  # fmt: skip
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "MiniMax-Hailuo-2.3",
           "--duration", "6", "--resolution", "1080P", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "minimax" and job["raw_status"] == "Success"
    assert probe_video(out).duration == pytest.approx(6, abs=0.2)
    assert emulator.api_key not in result.stdout + result.stderr
    refused = subprocess.run([*cmd[:7], "--duration", "10", "--resolution", "1080P", "--out", str(tmp_path / "b.mp4")],
                             capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert refused.returncode != 0 and "1080P" in refused.stderr + refused.stdout
    assert emulator.state.counts[CREATE] == 1  # the refused request never left


def test_gateway_routes_minimax(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="minimax", provider="minimax", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        key = gateway.create_key("alice")
        for model, seconds in (("minimax/MiniMax-Hailuo-2.3", "6"), ("minimax/MiniMax-H3", "5")):
            created = http.post("/v1/videos", json={"prompt": "a harbour", "model": model, "seconds": seconds},
                                headers=bearer(key))  # fmt: skip
            assert created.status_code == 200, created.text
            done = wait_done(http, str(created.json()["id"]), key)
            assert done["status"] == "completed", done
            content = http.get(f"/v1/videos/{created.json()['id']}/content", headers=bearer(key))
            assert content.status_code == 200 and content.content[4:8] == b"ftyp"
            (tmp_path / "gw.mp4").write_bytes(content.content)
            assert probe_video(tmp_path / "gw.mp4").duration == pytest.approx(int(seconds), abs=0.2)
    assert emulator.state.counts[CREATE] == 1 and emulator.state.counts[CREATE_V2] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_callback_challenge_and_an_unknown_create_reconciled(emulator: EmulatorServer, tmp_path: Path) -> None:
    """With a public URL every V1 create carries the job's own callback_url: the gateway echoes MiniMax's challenge
    (else the create would fail), and when the create's answer is lost the job stays unknown (never resent) until
    a status callback names the task and the gateway adopts it."""
    port = _free_port()
    routes = [RouteConfig(name="minimax", provider="minimax", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes, public_url=f"http://127.0.0.1:{port}")
    emulator.set_faults({"rules": [{"endpoint": CREATE, "kind": "accept_then_drop", "count": 1}]})
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path), port=port) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        key = gateway.create_key("bob")
        payload = {"prompt": "a paper boat", "model": "minimax/MiniMax-Hailuo-2.3", "seconds": "6"}
        made = http.post("/v1/videos", json=payload, headers=bearer(key)).json()
        assert made["vidgate"]["status"] == "unknown"
        # the gateway shows an unknown job as failed (outcome_unknown) until a callback names its task
        wait_for(lambda: gateway.gateway.store.get(made["id"]).status is not JobStatus.unknown or None, 20.0)
        assert wait_done(http, made["id"], key)["status"] == "completed"
        job = gateway.gateway.store.get(made["id"])
        assert job.provider_task_id in emulator.state.jobs
        assert (job.request.webhook_url or "").startswith(f"http://127.0.0.1:{port}/hooks/")  # type: ignore[union-attr]
    assert emulator.state.counts[CREATE] == 1 and emulator.state.counts["minimax challenge passed"] == 1
    assert emulator.state.counts["minimax callback sent"] >= 1
