"""Kling over loopback: vidgate (Client, AsyncClient, CLI, gateway) against the emulator's Kling dialect, which
checks its own reading of providers-2026.md §4 (JWT, string durations, raw base64, multi_prompt, service codes)."""

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
import jwt
import pytest

from tests.conftest import make_image
from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.kling import CONCURRENCY_TRIGGER, SECRET_KEY
from vidgate.engine.polling import PollPolicy
from vidgate.errors import RateLimitError, TransportError
from vidgate.media import probe_video
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer
from vidgate.types import Shot

SECRET_ENV = {"VIDGATE_KLING_SECRET_KEY": SECRET_KEY}
T2V = "POST /v1/videos/text2video"


@pytest.fixture
def kclient(emulator: EmulatorServer, fast_policy: PollPolicy) -> Iterator[Client]:
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env=SECRET_ENV) as c:
        yield c


def token(emulator: EmulatorServer, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": emulator.api_key, "exp": now + 1800, "nbf": now - 5, **claims}
    return jwt.encode(payload, SECRET_KEY, algorithm="HS256")


def post(emulator: EmulatorServer, path: str, body: object, auth: str | None = None) -> httpx.Response:
    headers = {"Authorization": auth} if auth is not None else {}
    return httpx.post(f"{emulator.url}{path}", json=body, headers=headers, timeout=30)


def test_emulator_auth_codes_body_checks_and_lookup_by_external_id(emulator: EmulatorServer) -> None:
    assert post(emulator, "/v1/videos/text2video", {"prompt": "x"}).json()["code"] == 1001
    assert post(emulator, "/v1/videos/text2video", {"prompt": "x"}, "Bearer nope").json()["code"] == 1002
    expired = post(emulator, "/v1/videos/text2video", {"prompt": "x"},
                   f"Bearer {token(emulator, exp=int(time.time()) - 1)}")  # fmt: skip
    assert expired.status_code == 401 and expired.json()["code"] == 1004
    ok = f"Bearer {token(emulator)}"
    bad = post(emulator, "/v1/videos/text2video", {"prompt": "x", "model_name": "kling-v2-6", "duration": 5}, ok)
    assert bad.status_code == 400 and bad.json()["code"] == 1201 and "string" in bad.json()["message"]
    prefixed = post(emulator, "/v1/videos/image2video",
                    {"model_name": "kling-v2-6", "image": "data:image/png;base64,iVBORw0KGgo="}, ok)  # fmt: skip
    assert prefixed.status_code == 400 and "data:" in prefixed.json()["message"]
    created = post(emulator, "/v1/videos/text2video", {"prompt": "x", "model_name": "kling-v3", "duration": "3",
                                                       "external_task_id": "mine-1"}, ok)  # fmt: skip
    data = created.json()
    assert data["code"] == 0 and data["message"] == "SUCCEED" and data["data"]["task_status"] == "submitted"
    assert data["data"]["task_info"] == {"external_task_id": "mine-1"}
    again = post(emulator, "/v1/videos/text2video", {"prompt": "x", "external_task_id": "mine-1"}, ok)
    assert again.status_code == 400 and again.json()["code"] == 1201
    by_ext = httpx.get(f"{emulator.url}/v1/videos/text2video/mine-1", headers={"Authorization": ok}).json()
    assert by_ext["data"]["task_id"] == data["data"]["task_id"]
    missing = httpx.get(f"{emulator.url}/v1/videos/image2video/mine-1", headers={"Authorization": ok})
    assert missing.status_code == 404 and missing.json()["code"] == 1203


def test_client_v3_storyboard_saves_a_probed_mp4(kclient: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = kclient.generate(
        "",
        model="kling/kling-v3",
        shots=[Shot(duration=3, scene="dawn"), Shot(duration=4, scene="noon")],
        aspect_ratio="9:16",
        options={"mode": "pro", "sound": "on"},
        out=tmp_path / "k.mp4",
    )
    assert job.status is JobStatus.succeeded and job.raw_status == "succeed"
    assert job.provider_task_id and job.provider_task_id.startswith("text2video/")
    probe = probe_video(tmp_path / "k.mp4")
    assert probe.duration == pytest.approx(7, abs=0.2) and probe.height > probe.width
    sent = emulator.state.jobs[job.provider_task_id.split("/")[1]].body
    assert sent["multi_shot"] is True and [s["duration"] for s in sent["multi_prompt"]] == ["3", "4"]
    assert sent["duration"] == "7" and sent["external_task_id"] == job.idempotency_key
    assert job.video is not None and job.video.expires_at is not None


def test_pro_mode_with_sound_renders_1080p_with_audio(
    kclient: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The emulator renders Kling's pro mode at 1080p (std: 720p) with a sound track when ``sound: on``."""
    job = kclient.generate("a drummer", model="kling/kling-v2-6", duration=5, aspect_ratio="9:16",
                           options={"mode": "pro", "sound": "on"}, out=tmp_path / "p.mp4")  # fmt: skip
    (truth,) = [j for j in emulator.truth(hashes=False)["jobs"] if j["task_id"] == job.provider_task_id.split("/")[-1]]
    assert truth["video"]["provider"] == {"width": 1080, "height": 1920, "fps": 24, "audio": True}
    assert job.video is not None and job.video.probe is not None and job.video.probe.height > job.video.probe.width


def test_client_image2video_sends_raw_base64(kclient: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    start = make_image(tmp_path / "start.png", size=(300, 400))
    job = kclient.generate("the scene moves", model="kling/kling-v2-6", duration=10, images=[str(start)],
                           out=tmp_path / "i.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.provider_task_id
    sent = emulator.state.jobs[job.provider_task_id.split("/")[1]].body
    assert base64.b64decode(sent["image"]) == start.read_bytes() and sent["duration"] == "10"
    probe = probe_video(tmp_path / "i.mp4")
    assert probe.duration == pytest.approx(10, abs=0.2) and probe.height > probe.width  # the image's 3:4 shape
    assert emulator.state.counts["POST /v1/videos/image2video"] == 1


def test_failed_task_and_concurrency_limit(kclient: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(JobFailedError) as info:
        kclient.generate("FAIL_POLICY please", model="kling/kling-v2-5-turbo")
    job = info.value.job
    assert job.raw_status == "failed" and job.error is not None and "risk control" in job.error.message
    with pytest.raises(RateLimitError) as rate:
        kclient.submit(CONCURRENCY_TRIGGER, model="kling/kling-v2-5-turbo")
    assert rate.value.code == "1303" and rate.value.retry_after is not None and rate.value.retry_after >= 1
    assert rate.value.job is not None and rate.value.job.status is JobStatus.pending


def test_injected_429_is_retried_without_a_duplicate_create(kclient: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": T2V, "kind": "error", "status": 429, "retry_after": 0.05,
                                    "count": 1}]})  # fmt: skip
    with pytest.raises(RateLimitError) as info:
        kclient.submit("a quiet lake", model="kling/kling-v2-1-master")
    assert info.value.code == "1303"  # the fault answers in Kling's envelope
    job = info.value.job
    assert job is not None and job.status is JobStatus.pending
    done = kclient.wait(job)
    assert done.status is JobStatus.succeeded and done.submit_attempts == 2
    assert sum(emulator.state.creates.values()) == 1


def test_an_unknown_create_is_reconciled_by_external_task_id(kclient: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": T2V, "kind": "accept_then_drop", "count": 1}]})
    with pytest.raises(TransportError) as info:
        kclient.submit("a lost answer", model="kling/kling-v2-6")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is not None
    assert job.error is not None and "look it up" in job.error.message
    found = kclient.advance(job, download=False)  # looked up by its key: the task the create made
    assert found.status in (JobStatus.queued, JobStatus.running, JobStatus.succeeded), found
    assert found.provider_task_id and found.provider_task_id.startswith("text2video/")
    assert emulator.state.counts["GET /v1/videos/text2video/{id}"] >= 1
    done = kclient.wait(found)
    assert done.status is JobStatus.succeeded
    assert len(emulator.state.jobs) == 1 and emulator.state.counts[T2V] == 1


def test_an_unknown_create_that_never_landed_is_sent_again(kclient: Client, emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": T2V, "kind": "drop", "count": 1}]})
    with pytest.raises(TransportError) as info:
        kclient.submit("never arrived", model="kling/kling-v2-6")
    job = info.value.job
    assert job is not None and job.status is JobStatus.unknown
    resent = kclient.advance(job, download=False)
    assert resent.status in (JobStatus.queued, JobStatus.running, JobStatus.succeeded)
    assert kclient.wait(resent).status is JobStatus.succeeded
    assert len(emulator.state.jobs) == 1 and sum(emulator.state.creates.values()) == 1


def test_an_unknown_create_on_the_relay_waits_for_a_person(emulator: EmulatorServer, fast_policy: PollPolicy) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST /kling/v1/videos/text2video", "kind": "accept_then_drop"}]})
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}) as c:
        with pytest.raises(TransportError) as info:
            c.submit("a lost answer", model="relay-kling/kling-v2-6")
        job = info.value.job
        assert job is not None and job.status is JobStatus.unknown and job.next_poll_at is None
        assert c.advance(job).status is JobStatus.unknown  # nothing automatic: the relay's ids are its own
    assert emulator.state.counts["POST /kling/v1/videos/text2video"] == 1


def test_relay_pass_through_with_the_relay_key(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}) as c:
        job = c.generate("a harbour", model="relay-kling/kling-v2-6", duration=5, out=tmp_path / "r.mp4")
    assert job.status is JobStatus.succeeded and job.provider == "relay-kling"
    assert emulator.state.counts["POST /kling/v1/videos/text2video"] == 1
    assert probe_video(tmp_path / "r.mp4").duration == pytest.approx(5, abs=0.2)


def test_async_client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env=SECRET_ENV) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a city", model="kling/kling-v3", duration=4, out=tmp_path / "a.mp4"),
                client.generate("a forest", model="kling/kling-v2-6", out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(4, abs=0.2)


@pytest.mark.slow
def test_cli_generates_through_kling(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_KLING_BASE_URL": emulator.url, "VIDGATE_KLING_ACCESS_KEY": emulator.api_key,
           **SECRET_ENV}  # fmt: skip
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "kling/kling-v3", "--duration", "6",
           "--aspect-ratio", "1:1", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "kling"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(6, abs=0.2) and probe.width == probe.height
    assert SECRET_KEY not in result.stdout + result.stderr
    models = subprocess.run([sys.executable, "-m", "vidgate", "models", "--json"], capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    keys = {m["key"] for m in json.loads(models.stdout)}
    assert models.returncode == 0 and {"kling/kling-v3", "kling/kling-v3-omni", "relay-kling/kling-v2-6"} <= keys


def test_gateway_routes_kling(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="kling", provider="kling", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path, **SECRET_ENV)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        key = gateway.create_key("alice")
        payload = {"prompt": "a harbour", "model": "kling/kling-v2-6", "seconds": "5"}
        created = http.post("/v1/videos", json=payload, headers=bearer(key))
        assert created.status_code == 200, created.text
        done = wait_done(http, str(created.json()["id"]), key)
        assert done["status"] == "completed", done
        content = http.get(f"/v1/videos/{created.json()['id']}/content", headers=bearer(key))
        assert content.status_code == 200 and content.content[4:8] == b"ftyp"
        (tmp_path / "gw.mp4").write_bytes(content.content)
        assert probe_video(tmp_path / "gw.mp4").duration == pytest.approx(5, abs=0.2)
    assert emulator.state.counts[T2V] == 1
