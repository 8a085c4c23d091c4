"""Google's three dialects through Client, AsyncClient and the CLI against the emulator over loopback, and every
bad input refused before I/O with zero requests at the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import image_bytes
from vidgate import AsyncClient, Client, ImageInput, ImageRole, JobFailedError, JobStatus, ValidationError
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.media import probe_video
from vidgate.types import ErrorCode

FAST = 0.003


def google_env(emulator: EmulatorServer) -> dict[str, str]:
    return {"VIDGATE_VERTEX_PROJECT": "emu-project", "VIDGATE_VERTEX_STORAGE_BASE_URL": emulator.url}


@pytest.fixture
def gclient(emulator: EmulatorServer) -> Iterator[Client]:
    with Client(base_url=emulator.url, api_key=emulator.api_key, env=google_env(emulator),
                poll_policy=PollPolicy(time_scale=FAST), allow_retired=False) as client:  # fmt: skip
        yield client


@pytest.mark.parametrize(
    ("model", "fields", "seconds", "url_part"),
    [
        ("gemini-omni-1.2-flash", {"duration": 4, "aspect_ratio": "9:16"}, 4, "/v1beta/interactions/"),
        ("gemini-omni-1.1-flash", {"duration": 3, "options": {"delivery": "uri"}}, 3, "/v1beta/files/"),
        ("gemini-omni-1.2-flash", {"duration": 3, "options": {"background": False}}, 3, "#/steps/0/content/0/data"),
        ("veo-3.1-generate-001", {"duration": 4}, 4, "#/response/videos/0/bytesBase64Encoded"),
        ("veo-3.1-fast-generate-001", {"duration": 6, "options": {"storage_uri": "gs://bucket/out"}}, 6, "gs://"),
    ],
)  # fmt: skip
def test_client_generates_probed_videos(
    gclient: Client, tmp_path: Path, model: str, fields: dict[str, Any], seconds: float, url_part: str
) -> None:
    job = gclient.generate("a lighthouse at dawn", model=model, out=tmp_path / "v.mp4", images=[image_bytes()],
                           **fields)  # fmt: skip
    assert job.status is JobStatus.succeeded and job.video is not None
    assert job.video.url is not None and url_part in job.video.url
    assert job.video.probe is not None and job.video.probe.duration == pytest.approx(seconds, abs=0.2)
    assert job.video.mismatch == [] and job.video.size_bytes == (tmp_path / "v.mp4").stat().st_size
    assert len(json.dumps(job.model_dump(mode="json", exclude={"request"}))) < 20_000  # no base64 video kept


def test_client_legacy_veo_with_override(emulator: EmulatorServer, tmp_path: Path) -> None:
    with Client(base_url=emulator.url, api_key=emulator.api_key, env={}, poll_policy=PollPolicy(time_scale=FAST),
                allow_retired=True) as client:  # fmt: skip
        job = client.generate("a neon hologram of a cat", model="veo-3.1-generate-preview", duration=8,
                              resolution="1080p", images=[image_bytes()], out=tmp_path / "l.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and job.video is not None and job.video.probe is not None
    assert job.video.probe.duration == pytest.approx(8, abs=0.2)
    assert any("retired on 2026-10-22" in w for w in job.warnings)
    assert emulator.state.counts["GET /v1beta/files/{id}:download"] == 1


def test_failures_become_job_errors(gclient: Client) -> None:
    for model, prompt, code in (
        ("gemini-omni-1.2-flash", "FAIL_POLICY", ErrorCode.content_policy_output),
        ("gemini-omni-1.2-flash", "FAIL_STEP_ERROR", ErrorCode.provider_error),
        ("veo-3.1-generate-001", "FAIL_POLICY", ErrorCode.content_policy_output),
        ("veo-3.1-fast-generate-001", "FAIL_STEP_ERROR", ErrorCode.provider_error),
    ):
        with pytest.raises(JobFailedError) as info:
            gclient.generate(prompt, model=model)
        job = info.value.job
        assert job.status is JobStatus.failed and job.error is not None and job.error.code is code, (model, prompt)


def test_cancel_through_both_clients(emulator: EmulatorServer, gclient: Client) -> None:
    job = gclient.submit("a slow one", model="gemini-omni-1.2-flash", duration=15)
    job = gclient.cancel(job)
    assert job.status is JobStatus.cancelled and job.raw_status == "cancelled"
    assert gclient.cancel(job).status is JobStatus.cancelled  # final: nothing is sent again
    local = gclient.cancel(gclient.submit("x", model="veo-3.1-generate-001"))  # Vertex Veo has no cancel: local
    assert local.status is JobStatus.cancelled and local.error is not None
    assert "no cancel operation" in local.error.message

    async def main() -> None:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, env={},
                               poll_policy=PollPolicy(time_scale=FAST)) as client:  # fmt: skip
            job = await client.submit("another", model="gemini-omni-1.1-flash", duration=10)
            job = await client.cancel(job)
            assert job.status is JobStatus.cancelled

    asyncio.run(main())
    assert emulator.state.counts["POST /v1beta/interactions/{id}/cancel"] == 2


def test_async_client_generates_on_all_paths(emulator: EmulatorServer, tmp_path: Path) -> None:
    async def main() -> list[Any]:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, env=google_env(emulator),
                               poll_policy=PollPolicy(time_scale=FAST), allow_retired=True) as client:  # fmt: skip
            return await asyncio.gather(
                client.generate("one", model="gemini-omni-1.2-flash", duration=5, out=tmp_path / "1.mp4"),
                client.generate("two", model="veo-3.1-generate-001", duration=6, out=tmp_path / "2.mp4"),
                client.generate("three", model="veo-3.0-generate-001", duration=4, out=tmp_path / "3.mp4"),
            )

    jobs = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.succeeded] * 3
    assert [round(probe_video(tmp_path / f"{i}.mp4").duration) for i in (1, 2, 3)] == [5, 6, 4]


REFERENCE = ImageInput(source=image_bytes(), role=ImageRole.reference)
LAST = ImageInput(source=image_bytes(), role=ImageRole.last_frame)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("gemini-omni-1.2-flash", {"duration": 2}),
        ("gemini-omni-1.2-flash", {"duration": 20}),
        ("gemini-omni-1.1-flash", {"duration": 12}),
        ("veo-3.1-generate-001", {"resolution": "1080p", "duration": 4}),
        ("veo-3.1-fast-generate-001", {"images": [REFERENCE]}),
        ("veo-3.1-generate-001", {"images": [LAST]}),
        ("gemini-omni-1.2-flash", {"images": [LAST]}),
        ("veo-3.1-generate-preview", {}),
        ("veo-2.0-generate-001", {}),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_zero_requests(
    emulator: EmulatorServer, gclient: Client, model: str, fields: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        gclient.generate("a clip", model=model, **fields)
    assert sum(emulator.state.counts.values()) == 0


def run_cli(emulator: EmulatorServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGATE_")}
    env.update({
        "VIDGATE_GEMINI_BASE_URL": emulator.url, "VIDGATE_GEMINI_API_KEY": emulator.api_key,
        "VIDGATE_VERTEX_BASE_URL": emulator.url, "VIDGATE_VERTEX_ACCESS_TOKEN": emulator.api_key,
        "VIDGATE_VERTEX_PROJECT": "emu-project",
    })  # fmt: skip
    return subprocess.run([sys.executable, "-m", "vidgate", *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("model", "seconds"), [("gemini-omni-1.2-flash", 3), ("veo-3.1-fast-generate-001", 4)])
def test_cli_generates(emulator: EmulatorServer, tmp_path: Path, model: str, seconds: int) -> None:
    out = tmp_path / "cli.mp4"
    result = run_cli(emulator, "generate", "a fox in the snow", "--model", model, "--duration", str(seconds),
                     "--aspect-ratio", "16:9", "--out", str(out), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["assets"][0]["probe"]["duration"] == pytest.approx(seconds, abs=0.2)
    assert probe_video(out).duration == pytest.approx(seconds, abs=0.2)
    assert emulator.api_key not in result.stdout + result.stderr


@pytest.mark.slow
def test_cli_refuses_bad_input_before_any_request(emulator: EmulatorServer) -> None:
    result = run_cli(emulator, "generate", "x", "--model", "gemini-omni-1.2-flash", "--duration", "20", "--json")
    assert result.returncode == 2
    problems = json.loads(result.stdout)["error"]["problems"]
    assert problems[0]["field"] == "duration" and "3 to 15" in problems[0]["allowed"]
    result = run_cli(emulator, "generate", "x", "--model", "veo-3.1-generate-preview")
    assert result.returncode == 2 and "retired on 2026-10-22" in result.stderr
    assert sum(emulator.state.counts.values()) == 0
