"""Chat-compatible Sora end to end: Client, AsyncClient and the CLI against the emulator over loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import make_image
from vidgate.cli import app
from vidgate.client import AsyncClient, Client
from vidgate.emulator import POLICY_FAIL_REASON, EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.errors import JobFailedError, ValidationError
from vidgate.types import ErrorCode, Job, JobStatus

runner = CliRunner()
CHAT = "POST /v1/chat/completions"


def test_streamed_generation_reports_progress_and_saves_the_video(
    client: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    seen: list[Job] = []
    # The seed relay names only portrait 15 s variants ("sora_video2-portrait-15s (pro, 15 s)",
    # seed-relay-api.md "Chat-compatible video"); the emulator serves only those, so portrait here.
    job = client.generate("a red fox", model="sora_video2", aspect_ratio="9:16", duration=15,
                          out=tmp_path / "fox.mp4", on_progress=seen.append)  # fmt: skip
    assert job.status is JobStatus.succeeded and job.provider_task_id and job.provider_task_id.startswith("task_")
    steps = [(j.status, j.raw_status) for j in seen]
    assert steps[0] == (JobStatus.queued, "排队中")
    assert (JobStatus.running, "生成完成 ✅") in steps and steps[-1][0] is JobStatus.succeeded
    progress = [j.progress for j in seen]
    assert progress == sorted(progress) and 0 < max(p for p in progress if p < 100) < 100
    video = job.video
    assert video is not None and video.probe is not None
    assert video.probe.duration == pytest.approx(15, abs=0.2) and video.probe.width < video.probe.height
    (emu_job,) = emulator.state.jobs.values()
    assert emu_job.model == "sora_video2-portrait-15s" and emu_job.body["stream"] is True
    assert emulator.state.counts[CHAT] == 1 and emulator.state.counts["GET /cdn/{file}"] == 1
    assert sum(n for k, n in emulator.state.counts.items() if k.startswith("GET /v")) == 0  # nothing was polled


def test_non_stream_with_images_as_image_url_parts(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    image = make_image(tmp_path / "ref.png")
    job = client.submit("竖屏 动起来", model="sora_video2", aspect_ratio="9:16", hd=True,
                        images=[image, "https://cdn.example/b.png"], options={"stream": False})  # fmt: skip
    assert job.status is JobStatus.succeeded
    assert client.wait(job).status is JobStatus.succeeded  # nothing to poll: wait returns the final job at once
    (emu_job,) = emulator.state.jobs.values()
    assert emu_job.model == "sora_video2-portrait-hd" and emu_job.meta["images"] == 2
    parts = emu_job.body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "竖屏 动起来"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_an_answer_without_a_link_is_a_failed_job(client: Client, emulator: EmulatorServer) -> None:
    for stream in (True, False):
        job = client.submit("FAIL_POLICY a fox", model="sora_video2", options={"stream": stream})
        assert job.status is JobStatus.failed and job.assets == []
        assert job.error is not None and job.error.code is ErrorCode.content_policy_output
        assert POLICY_FAIL_REASON in job.error.message
    with pytest.raises(JobFailedError):
        client.generate("FAIL_POLICY again", model="sora_video2", out="never.mp4")


def test_bad_input_is_refused_before_any_request(client: Client, emulator: EmulatorServer) -> None:
    cases = [
        {"duration": 25},
        {"aspect_ratio": "1:1"},
        {"options": {"stream": "sometimes"}},
        {"options": {"watermark": True}},
        {"characters": ["cat"]},  # no character feature on the chat door
        {"images": ["ftp://x/y.png"]},
    ]
    for fields in cases:
        with pytest.raises(ValidationError):
            client.submit("a fox", model="sora_video2", **fields)  # type: ignore[arg-type]
    assert sum(emulator.state.counts.values()) == 0


def test_async_client_streams_the_same(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    seen: list[Job] = []

    async def go() -> Job:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}) as c:
            return await c.generate("a cat", model="sora_video2", out=tmp_path / "cat.mp4", on_progress=seen.append)

    job = asyncio.run(go())
    assert job.status is JobStatus.succeeded and job.video is not None and job.video.path
    assert [j.raw_status for j in seen][:2] == ["排队中", "生成中"]
    assert emulator.state.counts[CHAT] == 1


def test_cli_generate_on_the_chat_door(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {"VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key,
           "VIDGATE_HOME": str(tmp_path)}  # fmt: skip
    out = tmp_path / "v.mp4"
    result = runner.invoke(app, ["generate", "a fox", "-m", "sora_video2", "-a", "9:16", "--out", str(out), "--json"],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)["job"]
    assert job["model"] == "relay-chat/sora_video2" and job["status"] == "succeeded" and out.exists()
    failed = runner.invoke(app, ["generate", "FAIL_POLICY", "-m", "sora_video2", "--json"], env=env)
    assert failed.exit_code == 3
    assert json.loads(failed.stdout)["error"]["job"]["error"]["code"] == "content_policy_output"
