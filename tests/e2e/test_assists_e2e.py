"""Assists end to end against the emulator over loopback: plan -> generate, frame -> generate (image to video),
generate -> review, through Client, AsyncClient and the CLI; each refusal before any request."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import make_image
from vidgate.assists.plan import PlanRefusedError
from vidgate.cli import app
from vidgate.client import AsyncClient, Client
from vidgate.emulator import EmulatorServer
from vidgate.emulator.fault_plan import FaultPlan
from vidgate.engine.polling import PollPolicy
from vidgate.errors import ProtocolError, RateLimitError, ValidationError
from vidgate.store import open_store
from vidgate.types import ImageRole, Job, JobStatus

runner = CliRunner()
CHAT = "POST /v1/chat/completions"
NATIVE = "POST /v1beta/models/{model}:generateContent"


def chat_bodies(emulator: EmulatorServer) -> int:
    return emulator.state.counts[CHAT]


def test_plan_then_generate_then_review_with_client(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    plan = client.plan("a paper plane crosses a library and lands on a desk", model="sora-2", duration=10)
    assert plan.model == "relay/sora-2" and plan.storyboard and plan.duration == 10
    assert sum(s.seconds for s in plan.shots) == pytest.approx(10) and 1 <= len(plan.shots) <= 6
    assert all(s.seconds >= 1 and (s.seconds * 2).is_integer() for s in plan.shots)
    assert plan.record is not None and plan.record.kind == "plan" and plan.record.requests == 1
    assert plan.record.prompt_tokens and plan.record.completion_tokens
    assert emulator.state.counts[CHAT] == 1 and emulator.state.jobs == {}  # nothing sent to the video model yet

    job = client.generate_assisted(plan=plan, review=True, out=tmp_path / "plane.mp4")
    assert job.status is JobStatus.succeeded and job.video is not None and job.video.path
    (emu_job,) = emulator.state.jobs.values()
    assert emu_job.body["duration"] == "10" and emu_job.body["prompt"].startswith("Shot 1:\nduration: ")
    assert emu_job.body["prompt"].count("Scene: ") == len(plan.shots)
    assert [a.kind for a in job.assists] == ["plan", "review"]
    assert job.review is not None and job.review.matches is True and job.review.prompt == plan.idea
    assert job.review.chat_model == "relay/gemini-2.5-pro-preview-05-06"
    assert emulator.state.counts[CHAT] == 2  # the plan and the review; the video went by URL (image_url part)
    assert client.job(job.id).review == job.review


def test_review_a_failing_video_lists_what_is_off(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a fox in the snow", model="sora-2", out=tmp_path / "fox.mp4")
    verdict = client.review(job, prompt="FAIL_POLICY a fox jumping over a fence")
    assert verdict.matches is False and verdict.issues and verdict.issues[0].what
    stored = client.job(job.id)
    assert stored.review == verdict and [a.kind for a in stored.assists] == ["review"]


def test_frame_then_image_to_video(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    frame = client.frame("a paper plane on an oak desk, morning light", for_model="sora-2", aspect_ratio="16:9")
    assert frame.answered_as == "url" and frame.role is ImageRole.first_frame and frame.format == "png"
    with Image.open(io.BytesIO(frame.data)) as im:
        assert im.size == (frame.width, frame.height) and frame.width / frame.height == pytest.approx(16 / 9, rel=0.01)
    assert any("cropped" in c for c in frame.changes)
    assert emulator.state.counts["GET /assist-images/{token}.png"] == 1
    job = client.generate_assisted("the plane takes off", frames=[frame], model="sora-2", aspect_ratio="16:9",
                                   out=tmp_path / "i2v.mp4")  # fmt: skip
    assert job.status is JobStatus.succeeded and [a.kind for a in job.assists] == ["frame"]
    (emu_job,) = emulator.state.jobs.values()
    assert len(emu_job.body["images"]) == 1 and emu_job.body["images"][0].startswith("data:image/png;base64,")
    path = frame.save(tmp_path / "first")
    assert path.suffix == ".png" and path.read_bytes() == frame.data


def test_frame_edit_answers_inline_base64(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    source = make_image(tmp_path / "cat.png", size=(300, 300))
    frame = client.frame("make it night", for_model="sora-2", image=source, aspect_ratio="9:16", role="first_frame")
    assert frame.answered_as == "base64" and frame.height > frame.width
    assert emulator.state.counts.get("GET /assist-images/{token}.png", 0) == 0


def test_an_image_answer_without_a_picture_is_a_protocol_error(client: Client, emulator: EmulatorServer) -> None:
    with pytest.raises(ProtocolError, match="no image in the answer"):
        client.frame("FAIL_POLICY a fox", for_model="sora-2")
    assert emulator.state.counts[CHAT] == 1 and emulator.state.jobs == {}


def test_review_of_a_local_file_goes_inline_to_generate_content(
    client: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    job = client.generate("a red ball", model="sora-2", out=tmp_path / "ball.mp4")
    assert job.video is not None and job.video.path
    verdict = client.review(job.video.path, prompt="a red ball rolls")
    assert verdict.matches is True and verdict.chat_model.endswith(":generateContent")
    assert emulator.state.counts[NATIVE] == 1 and emulator.state.counts.get(CHAT, 0) == 0


def test_refusals_happen_before_any_request(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    job = client.generate("a red ball", model="sora-2", out=tmp_path / "ball.mp4")
    before = sum(emulator.state.counts.values())
    with pytest.raises(ValidationError, match="has no video input") as no_video:
        client.review(job, chat_model="gpt-4o-image")  # a model without video input
    assert "relay/gemini-2.5-pro-preview-05-06" in no_video.value.problems[0].allowed
    with pytest.raises(PlanRefusedError, match="no plan can fit") as cannot_fit:
        client.plan("a long journey", model="sora-2", duration=15)  # relay sora-2 makes 10 s only
    assert cannot_fit.value.problems[0].allowed == "10 s"
    with pytest.raises(ValidationError, match="never sends a local path"):
        client.review(tmp_path / "ball.mp4", prompt="a ball", chat_model="relay/gemini-2.5-pro-preview-05-06")
    with pytest.raises(ValidationError, match="has no JSON-schema answers"):
        client.plan("a fox", model="sora-2", chat_model="gpt-4o-image")
    with pytest.raises(ValidationError, match="has no image output"):
        client.frame("a fox", for_model="sora-2", chat_model="relay/gemini-2.5-pro-preview-05-06")
    with pytest.raises(ValidationError, match="aspect ratio"):
        client.frame("a fox", for_model="sora-2", aspect_ratio="1:1")
    with pytest.raises(ValidationError, match="not an image role"):
        client.frame("a fox", for_model="sora-2", role="middle")
    with pytest.raises(ValidationError, match="the idea is empty"):
        client.plan("  ", model="sora-2")
    with pytest.raises(ValidationError, match="should be a number"):
        client.plan("a fox", model="sora-2", duration="ten")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="should be a Job"):
        client.review(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="neither a job id"):
        client.review("job_missing")
    with pytest.raises(ValidationError, match="file not found"):
        client.frame("a fox", for_model="sora-2", image=tmp_path / "missing.png")
    assert sum(emulator.state.counts.values()) == before


def test_a_429_on_the_chat_route_is_retried(client: Client, emulator: EmulatorServer) -> None:
    once = {"endpoint": CHAT, "kind": "error", "status": 429, "retry_after": 0, "count": 1, "body_contains": "gemini"}
    emulator.state.faults.set(FaultPlan.model_validate({"rules": [once]}))
    try:
        plan = client.plan("a lighthouse at dawn", model="sora-2")
        assert plan.record is not None and plan.record.requests == 2
        emulator.state.faults.set(FaultPlan.model_validate({"rules": [
            {"endpoint": CHAT, "kind": "error", "status": 429, "retry_after": 0}]}))  # fmt: skip
        with pytest.raises(RateLimitError):
            client.plan("a lighthouse at dawn", model="sora-2")
    finally:
        emulator.state.faults.clear()


def test_async_client_plan_frame_generate_review(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    async def go() -> Job:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}) as c:
            plan = await c.plan("a kite over the dunes", model="sora-2-pro", duration=15, aspect_ratio="16:9")
            frame = await c.frame("a kite over the dunes", for_model="sora-2-pro", aspect_ratio="16:9")
            job = await c.generate_assisted(plan=plan, frames=[frame], review=True, out=tmp_path / "kite.mp4")
            return job

    job = asyncio.run(go())
    assert job.status is JobStatus.succeeded and [a.kind for a in job.assists] == ["plan", "frame", "review"]
    assert job.review is not None and job.video is not None and job.video.probe is not None
    assert job.video.probe.duration == pytest.approx(15, abs=0.2) and job.video.probe.width > job.video.probe.height


def test_the_review_survives_a_sqlite_store(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={}, store=db) as c:
        job = c.generate("a red ball", model="sora-2", out=tmp_path / "ball.mp4")
        verdict = c.review(job)
    stored = open_store(str(db)).get(job.id)
    assert stored.review == verdict and stored.assists[0].kind == "review"


def test_cli_plan_generate_review_frame(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {"VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key,
           "VIDGATE_HOME": str(tmp_path), "VIDGATE_DATABASE_URL": str(tmp_path / "jobs.db")}  # fmt: skip
    plan_file = tmp_path / "plan.json"
    made = runner.invoke(app, ["plan", "a paper plane crosses a library", "-m", "sora-2", "-o", str(plan_file),
                               "--json"], env=env)  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["plan"]["duration"] == 10 and plan_file.exists()

    sent = runner.invoke(app, ["generate", "--plan", str(plan_file), "--review", "--out", str(tmp_path / "v.mp4"),
                               "--json"], env=env)  # fmt: skip
    assert sent.exit_code == 0, sent.output
    job = json.loads(sent.stdout)["job"]
    assert job["review"]["matches"] is True and [a["kind"] for a in job["assists"]] == ["plan", "review"]

    again = runner.invoke(app, ["review", job["id"], "--prompt", "FAIL_POLICY a boat", "--strict"], env=env)
    assert again.exit_code == 3 and "does NOT match" in again.stdout
    shown = runner.invoke(app, ["jobs", "show", job["id"]], env=env)
    assert shown.exit_code == 0 and "Review" in shown.stdout and "does NOT match" in shown.stdout

    frame_file = tmp_path / "first.png"
    framed = runner.invoke(app, ["frame", "a plane on a desk", "-m", "sora-2", "-a", "16:9", "-o", str(frame_file)],
                           env=env)  # fmt: skip
    assert framed.exit_code == 0, framed.output
    args = ["generate", "the plane takes off", "-m", "sora-2", "-a", "16:9", "--image", f"first_frame={frame_file}"]
    i2v = runner.invoke(app, [*args, "--out", str(tmp_path / "i2v.mp4"), "--json"], env=env)
    assert i2v.exit_code == 0, i2v.output
    last = list(emulator.state.jobs.values())[-1]
    assert last.body["images"][0].startswith("data:image/png;base64,") and last.body["aspect_ratio"] == "16:9"

    refused = runner.invoke(app, ["review", job["id"], "--chat-model", "gpt-4o-image", "--json"], env=env)
    assert refused.exit_code == 2 and "no video input" in json.loads(refused.stdout)["error"]["message"]
    both = runner.invoke(app, ["generate", "a prompt too", "--plan", str(plan_file)], env=env)
    assert both.exit_code == 2 and "drop the PROMPT argument" in both.output
    other_length = runner.invoke(app, ["generate", "--plan", str(plan_file), "-d", "15"], env=env)
    assert other_length.exit_code == 2 and "plan again" in other_length.output
    (tmp_path / "junk.json").write_text("[]")
    junk = runner.invoke(app, ["generate", "--plan", str(tmp_path / "junk.json")], env=env)
    assert junk.exit_code == 2 and "not a vidgate plan" in junk.output
    listed = runner.invoke(app, ["catalog", "chat-models", "--json"], env=env)
    assert listed.exit_code == 0 and {m["key"] for m in json.loads(listed.stdout)} >= {"relay/gpt-4o-image"}
    too_long = runner.invoke(app, ["plan", "a journey", "-m", "sora-2", "-d", "15"], env=env)
    assert too_long.exit_code == 2 and "no plan can fit" in too_long.output
