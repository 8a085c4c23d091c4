"""OpenRouter over loopback: vidgate (Client, AsyncClient, CLI, gateway, catalog sync) against the emulator's
OpenRouter dialect, which enforces the spec's schema and answers GET /api/v1/videos/models from its own list."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_image
from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config, wait_done
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.openrouter import CREDITS_TRIGGER, MODELS, RATE_TRIGGER
from vidgate.engine.polling import PollPolicy
from vidgate.errors import QuotaExceededError, RateLimitError, UnknownModelError, ValidationError
from vidgate.media import probe_video
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer
from vidgate.types import ErrorCode, ImageInput, ImageRole, utcnow

NEW_MODEL = "bytedance/seedance-2.0-mini"  # in the emulator's list, not in the packaged catalog


def post(emulator: EmulatorServer, body: dict[str, Any], key: str | None = "default") -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {emulator.api_key if key == 'default' else key}"}
    return httpx.post(f"{emulator.url}/api/v1/videos", json=body, headers=headers)


def cli_env(emulator: EmulatorServer, home: Path) -> dict[str, str]:
    return {**os.environ, "VIDGATE_HOME": str(home), "VIDGATE_OPENROUTER_BASE_URL": emulator.url,
            "VIDGATE_OPENROUTER_API_KEY": emulator.api_key}  # fmt: skip


# ---------------------------------------------------------------- the emulator's strict schema, raw


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "google/veo-3.1", "prompt": "x", "duration": 5}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "duration": "8"}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "resolution": "4K"}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "aspect_ratio": "5:4"}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "size": "1000x1000"}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "frames": []}, 400),
        ({"model": "google/veo-3.1"}, 400),
        ({"model": "kwaivgi/kling-v3.0-pro", "prompt": "x", "frame_images": [
            {"type": "image_url", "image_url": {"url": "https://e.x/a.png"}, "frame_type": "last_frame"}]}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "frame_images": [
            {"type": "image_url", "image_url": {"url": "https://e.x/a.png"}}]}, 400),
        ({"model": "google/veo-3.1", "prompt": "x", "callback_url": "http://hooks.example/x"}, 400),
        ({"model": "acme/none", "prompt": "x"}, 404),
    ],
)  # fmt: skip
def test_emulator_enforces_the_spec(emulator: EmulatorServer, body: dict[str, Any], status: int) -> None:
    response = post(emulator, body)
    assert response.status_code == status, response.text
    envelope = response.json()
    assert envelope["error"]["code"] == status and envelope["error"]["message"] and "user_id" in envelope


def test_emulator_auth_and_models_endpoint(emulator: EmulatorServer) -> None:
    missing = post(emulator, {"model": "google/veo-3.1", "prompt": "x"}, key=None)
    assert missing.status_code == 401 and missing.json()["error"]["message"] == "Missing Authentication header"
    assert post(emulator, {"model": "google/veo-3.1", "prompt": "x"}, key="wrong").status_code == 401
    listing = httpx.get(f"{emulator.url}/api/v1/videos/models").json()["data"]  # no auth, as in the docs example
    ids = {m["id"] for m in listing}
    assert NEW_MODEL in ids and ids == set(MODELS)
    veo = next(m for m in listing if m["id"] == "google/veo-3.1")
    assert veo["supported_durations"] == [4, 6, 8] and veo["supported_frame_images"] == ["first_frame", "last_frame"]
    assert {"generate_audio", "seed", "allowed_passthrough_parameters", "pricing_skus", "supported_sizes"} <= set(veo)


def test_emulator_202_relative_polling_url_and_content_needs_the_key(emulator: EmulatorServer, client: Client) -> None:
    created = post(emulator, {"model": "google/veo-3.1", "prompt": "x", "duration": 4})
    assert created.status_code == 202 and created.json()["status"] == "pending"
    assert created.json()["polling_url"] == f"/api/v1/videos/{created.json()['id']}"
    job = client.wait(client.submit("a fox", model="openrouter/google/veo-3.1", duration=4).id)
    url = job.video.url if job.video else ""
    assert url.startswith(emulator.url) and "/content?index=0" in url
    assert httpx.get(url).status_code == 401  # the content proxy needs Authorization: Bearer
    assert httpx.get(url, headers={"Authorization": f"Bearer {emulator.api_key}"}).content[4:8] == b"ftyp"


# ---------------------------------------------------------------- vidgate against the emulator


def test_client_first_and_last_frames_cost_and_probe(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    first = make_image(tmp_path / "first.png", size=(160, 90))
    last = make_image(tmp_path / "last.jpg", size=(160, 90), fmt="JPEG")
    images = [ImageInput(source=str(last), role=ImageRole.last_frame), ImageInput(source=str(first))]
    job = client.generate("morph day into night", model="openrouter/google/veo-3.1", duration=6, resolution="1080p",
                          aspect_ratio="16:9", images=images, options={"generate_audio": True, "provider_options": {
                              "google-vertex": {"parameters": {"negativePrompt": "blurry"}}}},
                          out=tmp_path / "v.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.raw_status == "completed"
    assert job.cost_usd == pytest.approx(0.6)
    probe = probe_video(tmp_path / "v.mp4")
    assert probe.duration == pytest.approx(6, abs=0.2) and probe.width > probe.height
    sent = emulator.state.jobs[job.provider_task_id or ""].body
    assert [f["frame_type"] for f in sent["frame_images"]] == ["first_frame", "last_frame"]
    first_url = sent["frame_images"][0]["image_url"]["url"]
    assert first_url.startswith("data:image/png;base64,")
    assert base64.b64decode(first_url.split(",")[1])[:4] == b"\x89PNG"
    assert sent["provider"] == {"options": {"google-vertex": {"parameters": {"negativePrompt": "blurry"}}}}
    assert emulator.state.counts["GET /api/v1/videos/{id}/content"] >= 1


def test_failed_job_and_submit_errors(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY please", model="openrouter/alibaba/wan-2.7")
    job = info.value.job
    assert job.raw_status == "failed" and job.error and job.error.code is ErrorCode.content_policy_output
    with pytest.raises(QuotaExceededError) as credits:
        client.submit(CREDITS_TRIGGER, model="openrouter/google/veo-3.1-fast")
    assert credits.value.status_code == 402 and "Insufficient credits" in credits.value.message
    with pytest.raises(RateLimitError) as rate:
        client.submit(RATE_TRIGGER, model="openrouter/google/veo-3.1-lite")
    assert rate.value.error_code == "rate_limited"


def test_async_client_two_models(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            return list(await asyncio.gather(
                client.generate("a city", model="openrouter/bytedance/seedance-2.0", duration=5, resolution="720p",
                                aspect_ratio="1:1", options={"seed": 3}, out=tmp_path / "a.mp4"),
                client.generate("a field", model="openrouter/kwaivgi/kling-v3.0-pro", duration=10,
                                aspect_ratio="9:16", out=tmp_path / "b.mp4"),
            ))  # fmt: skip

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 2
    a, b = probe_video(tmp_path / "a.mp4"), probe_video(tmp_path / "b.mp4")
    assert a.width == a.height and a.duration == pytest.approx(5, abs=0.2)
    assert b.height > b.width and b.duration == pytest.approx(10, abs=0.2)


def test_cli_generates_through_openrouter(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    cmd = [sys.executable, "-m", "vidgate", "generate", "a lighthouse", "-m", "openrouter/google/veo-3.1",
           "--duration", "8", "--aspect-ratio", "9:16", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(emulator, tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["provider"] == "openrouter" and job["cost_usd"] == pytest.approx(0.8)
    probe = probe_video(out)
    assert probe.duration == pytest.approx(8, abs=0.2) and probe.height > probe.width
    assert emulator.api_key not in result.stdout + result.stderr


def test_catalog_sync_makes_an_unknown_model_validate_and_generate(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDGATE_HOME", str(tmp_path))
    key = f"openrouter/{NEW_MODEL}"
    with (
        Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}) as client,
        pytest.raises(UnknownModelError),
    ):
        client.submit("a fox", model=key)
    env = cli_env(emulator, tmp_path)
    remote = subprocess.run([sys.executable, "-m", "vidgate", "models", "--remote", "-p", "openrouter", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    found = json.loads(remote.stdout)
    assert NEW_MODEL in {u["id"] for u in found["unknown"]}
    assert found["capabilities"][NEW_MODEL]["supported_durations"] == [4, 5, 6, 8, 10]
    sync = subprocess.run([sys.executable, "-m", "vidgate", "catalog", "sync", "openrouter", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert sync.returncode == 0, sync.stderr
    summary = json.loads(sync.stdout)
    assert summary["path"] == str(tmp_path / "catalog" / "openrouter.toml") and NEW_MODEL in summary["new"]
    text = Path(summary["path"]).read_text()
    assert f"{emulator.url}/api/v1/videos/models" in text and "synced_at" in text
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}) as client:
        with pytest.raises(ValidationError) as refused:  # 7 s is not in its supported_durations
            client.submit("a fox", model=key, duration=7)
        assert "4, 5, 6, 8, 10" in str(refused.value)
        job = client.generate("a fox", model=key, duration=6, resolution="480p", aspect_ratio="9:16",
                              out=tmp_path / "new.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded
    probe = probe_video(tmp_path / "new.mp4")
    assert probe.duration == pytest.approx(6, abs=0.2) and probe.height > probe.width


def test_gateway_routes_openrouter(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="openrouter", provider="openrouter", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        key = gateway.create_key("alice")
        ids = {m["id"] for m in http.get("/v1/models", headers=bearer(key)).json()["data"]}
        assert "openrouter/google/veo-3.1" in ids
        veo = http.get("/v1/models/openrouter/google/veo-3.1", headers=bearer(key)).json()
        assert veo["vidgate"]["durations"]["values"] == [4, 6, 8]
        payload = {"prompt": "a harbour", "model": "openrouter/google/veo-3.1", "seconds": "4"}
        created = http.post("/v1/videos", json=payload, headers=bearer(key))
        assert created.status_code == 200, created.text
        done = wait_done(http, str(created.json()["id"]), key)
        assert done["status"] == "completed", done
        content = http.get(f"/v1/videos/{created.json()['id']}/content", headers=bearer(key))
        assert content.status_code == 200 and content.content[4:8] == b"ftyp"
        (tmp_path / "gw.mp4").write_bytes(content.content)
        assert probe_video(tmp_path / "gw.mp4").duration == pytest.approx(4, abs=0.2)
    assert emulator.state.counts["POST /api/v1/videos"] == 1


def test_gateway_budget_pays_the_usage_cost_openrouter_reports(emulator: EmulatorServer, tmp_path: Path) -> None:
    """The key's budget holds the estimate ([prices]: $0.25/s x 4 s = $1.00) while the job runs, then settles at
    the job's ``usage.cost`` (the emulator bills $0.10/s: $0.40)."""
    routes = [RouteConfig(name="openrouter", provider="openrouter", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    config.prices["openrouter/google/veo-3.1"] = 0.25
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        token = gateway.create_key("payer", budget_usd=1.5)
        (record,) = [k for k in gateway.gateway.data.list_keys() if k.name == "payer"]
        payload = {"prompt": "a harbour", "model": "openrouter/google/veo-3.1", "seconds": "4"}
        created = http.post("/v1/videos", json=payload, headers=bearer(token))
        assert created.status_code == 200, created.text
        held = gateway.gateway.data.get_key(record.id)
        assert held is not None and held.spent_usd == pytest.approx(1.0)
        refused = http.post("/v1/videos", json=payload, headers=bearer(token))  # $1.00 more does not fit
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "budget_exceeded"
        wait_done(http, str(created.json()["id"]), token)
        gateway.gateway.data.settle_charges(utcnow())
        charge = gateway.gateway.data.get_charge(str(created.json()["id"]))
        assert charge is not None and (charge.state, charge.cost_usd) == ("kept", pytest.approx(0.4))
        paid = gateway.gateway.data.get_key(record.id)
        assert paid is not None and paid.spent_usd == pytest.approx(0.4)
        again = http.post("/v1/videos", json=payload, headers=bearer(token))  # $1.10 left now: fits
        assert again.status_code == 200, again.text


def test_an_unconfirmed_default_duration_is_not_held_against_the_provider(
    client: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """No duration asked, and the catalog's default for the model is unconfirmed: the video the provider chose
    (the emulator's first supported length) is not reported as a mismatch."""
    job = client.generate("a fox", model="openrouter/google/veo-3.1-fast", out=tmp_path / "d.mp4")
    assert job.video is not None and job.video.probe is not None
    assert job.video.probe.duration == pytest.approx(4, abs=0.2) and job.video.mismatch == []
    asked = client.generate("a fox", model="openrouter/google/veo-3.1-fast", duration=6, out=tmp_path / "e.mp4")
    assert asked.video is not None and asked.video.mismatch == []  # asked and got 6 s
