"""vidgate's OpenAI-format dialect through Client, AsyncClient and the CLI against the emulator over loopback,
and every bad input for its limits refused before any request reaches the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import image_bytes, make_image
from vidgate import AsyncClient, Client, JobStatus, ValidationError
from vidgate.cli import app
from vidgate.client import ProviderSettings
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.errors import DownloadError
from vidgate.media import probe_video


def settings(emulator: EmulatorServer) -> dict[str, ProviderSettings]:
    return {
        "relay-openai": ProviderSettings(base_url=emulator.url, api_key=emulator.api_key),
        "openai": ProviderSettings(base_url=emulator.url + "/openai", api_key=emulator.api_key),
    }


@pytest.fixture
def oclient(emulator: EmulatorServer, fast_policy: PollPolicy) -> Iterator[Client]:
    with Client(providers=settings(emulator), poll_policy=fast_policy, env={}, allow_retired=True) as c:
        yield c


def total(emulator: EmulatorServer) -> int:
    return sum(emulator.state.counts.values())


def test_relay_flavour_generate_with_fit_image_then_variants(
    oclient: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    ref = make_image(tmp_path / "ref.png", (1000, 700))
    seen: list[str] = []
    job = oclient.generate("a cow dancing", model="relay-openai/sora-2", duration=15, aspect_ratio="16:9",
                           images=[str(ref)], options={"fit_image": "crop", "watermark": True},
                           out=tmp_path / "cow.mp4", on_progress=lambda j: seen.append(j.status.value))  # fmt: skip
    assert job.status is JobStatus.succeeded and job.provider_task_id and ":" in job.provider_task_id
    assert seen[0] == "queued" and seen[-1] == "succeeded"
    body = emulator.state.jobs[job.provider_task_id].body
    assert body["input_reference"] == "1280x720" and body["seconds"] == "15" and body["watermark"] is True
    video = job.video
    assert video is not None and video.url and "/cdn/" in video.url  # the relay's video_url, no key needed
    assert video.probe is not None and video.probe.duration == pytest.approx(15, abs=0.2) and not video.mismatch
    job = oclient.download(job, tmp_path / "thumb.webp", variant="thumbnail")
    job = oclient.download(job, variant="spritesheet", out=tmp_path / "sprite.jpg")
    kinds = {a.kind: a for a in job.assets}
    assert kinds["thumbnail"].mime_type == "image/webp" and kinds["thumbnail"].sha256
    assert kinds["spritesheet"].mime_type == "image/jpeg" and Path(kinds["spritesheet"].path or "").exists()
    with Image.open(tmp_path / "thumb.webp") as im:
        assert im.format == "WEBP"
    assert emulator.state.counts["GET /v1/videos/{id}/content"] == 2 and emulator.state.counts["GET /cdn/{file}"] == 1


def test_openai_flavour_generate_json_transport_pad_and_poll_hint(
    oclient: Client, emulator: EmulatorServer, tmp_path: Path
) -> None:
    job = oclient.generate("a kite", model="openai/sora-2-pro", duration=8, aspect_ratio="9:16", hd=True,
                           images=[image_bytes((300, 300))], options={"fit_image": "pad", "transport": "json"},
                           out=tmp_path / "kite.mp4")  # fmt: skip
    assert job.provider_task_id and job.provider_task_id.startswith("video_")
    assert emulator.state.jobs[job.provider_task_id].body["size"] == "1024x1792"
    assert any("retired on 2026-09-24" in w for w in job.warnings)
    video = job.video
    assert video is not None and video.url and "/openai/v1/videos/" in video.url and "variant=video" in video.url
    assert video.probe is not None and video.probe.height > video.probe.width
    assert probe_video(tmp_path / "kite.mp4").duration == pytest.approx(8, abs=0.2)


def test_remix_list_and_delete_through_the_client(oclient: Client, emulator: EmulatorServer) -> None:
    first = oclient.wait(oclient.submit("a red kite", model="openai/sora-2", duration=4))
    remix = oclient.remix(first, "a blue kite")
    assert remix.id != first.id and remix.status is JobStatus.queued and remix.request is not None
    assert remix.request.prompt == "a blue kite" and any("remix of job" in w for w in remix.warnings)
    remix = oclient.wait(remix)
    assert remix.status is JobStatus.succeeded
    assert emulator.state.jobs[remix.provider_task_id or ""].body["remixed_from_video_id"] == first.provider_task_id
    page = oclient.list_videos("openai", limit=1)
    assert [i.provider_task_id for i in page.items] == [remix.provider_task_id] and page.has_more
    rest = oclient.list_videos("openai/sora-2", after=page.last_id)
    assert [i.provider_task_id for i in rest.items] == [first.provider_task_id] and not rest.has_more
    assert oclient.delete(first) is True
    assert first.provider_task_id not in emulator.state.jobs


def test_async_client_generates_remixes_lists_and_deletes(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    async def main() -> None:
        async with AsyncClient(providers=settings(emulator), poll_policy=fast_policy, env={}) as client:
            job = await client.generate("async cow", model="relay-openai/sora-2-pro", duration=25,
                                        aspect_ratio="9:16", out=tmp_path / "a.mp4")  # fmt: skip
            assert job.status is JobStatus.succeeded
            job = await client.download(job, tmp_path / "a.jpg", variant="spritesheet")
            remix = await client.wait(await client.remix(job, "async dog"))
            assert remix.status is JobStatus.succeeded
            page = await client.list_videos("relay-openai", order="asc")
            assert [i.provider_task_id for i in page.items] == [job.provider_task_id, remix.provider_task_id]
            assert await client.delete(remix) is True

    asyncio.run(main())
    assert probe_video(tmp_path / "a.mp4").duration == pytest.approx(25, abs=0.2)


def test_server_poll_hint_is_honoured(oclient: Client, emulator: EmulatorServer) -> None:
    job = oclient.submit("hinted", model="openai/sora-2", duration=4)
    hint = oclient._core.server_hint(job)
    assert hint is not None and hint >= 0.05  # openai-poll-after-ms on the create answer
    assert oclient.wait(job).status is JobStatus.succeeded


# ---------------------------------------------------------------- bad input: nothing reaches the emulator


@pytest.mark.parametrize(
    ("fields", "needle"),
    [({"model": "relay-openai/sora-2", "duration": 25}, "Allowed: 4, 8, 10, 12, 15 s"),
     ({"model": "openai/sora-2", "duration": 10}, "Allowed: 4, 8, 12 s"),
     ({"model": "openai/sora-2", "size": "1792x1024"}, "Allowed: 1280x720, 720x1280"),
     ({"model": "openai/sora-2", "aspect_ratio": "16:9", "images": [image_bytes((64, 36))]},
      "exactly the video size 1280x720"),
     ({"model": "relay-openai/sora-2", "images": [image_bytes((720, 1280))] * 2}, "at most 1"),
     ({"model": "openai/sora-2", "images": ["https://example.com/a.png"], "options": {"fit_image": "crop"}},
      "can only resize local images"),
     ({"model": "relay-openai/sora-2", "size": "720x1280", "aspect_ratio": "16:9"}, "contradicts"),
     ({"model": "openai/sora-2", "options": {"watermark": True}}, "has no option 'watermark'")],
)  # fmt: skip
def test_bad_input_is_refused_before_any_request(
    oclient: Client, emulator: EmulatorServer, fields: dict[str, object], needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        oclient.submit("a cat", **fields)
    assert needle in str(info.value)
    assert total(emulator) == 0


def test_retired_model_without_the_override_is_refused(emulator: EmulatorServer, fast_policy: PollPolicy) -> None:
    with (
        Client(providers=settings(emulator), poll_policy=fast_policy, env={}) as client,
        pytest.raises(ValidationError) as info,
    ):
        client.submit("a cat", model="openai/sora-2", duration=4)
    assert "retired on 2026-09-24" in str(info.value) and "--allow-retired" in str(info.value)
    assert total(emulator) == 0


def test_remix_of_a_private_job_is_refused_before_any_request(oclient: Client, emulator: EmulatorServer) -> None:
    job = oclient.wait(oclient.submit("secret", model="relay-openai/sora-2", options={"private": True}))
    assert job.status is JobStatus.succeeded and emulator.state.jobs[job.provider_task_id or ""].body["private"]
    emulator.state.counts.clear()
    with pytest.raises(ValidationError) as info:
        oclient.remix(job, "again")
    assert "private=true" in str(info.value) and "cannot be remixed" in str(info.value)
    assert total(emulator) == 0


def test_remix_list_delete_and_variants_refused_where_they_do_not_apply(
    oclient: Client, emulator: EmulatorServer
) -> None:
    running = oclient.submit("still running", model="relay-openai/sora-2")
    emulator.state.counts.clear()
    with pytest.raises(ValidationError, match="a remix needs a finished video"):
        oclient.remix(running, "x")
    with pytest.raises(ValidationError, match="limit"):
        oclient.list_videos("relay-openai", limit=0)
    with pytest.raises(ValidationError, match="has no list operation"):
        oclient.list_videos("relay/sora-2")
    with pytest.raises(DownloadError, match="no finished video"):
        oclient.download(running, variant="thumbnail")
    assert total(emulator) == 0


# ---------------------------------------------------------------- the CLI


@pytest.mark.slow
def test_cli_generate_relay_openai_in_a_subprocess(emulator: EmulatorServer, tmp_path: Path) -> None:
    ref = make_image(tmp_path / "ref.jpg", (500, 500), "JPEG")
    out = tmp_path / "cli.mp4"
    env = {**os.environ, "VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key}
    cmd = [sys.executable, "-m", "vidgate", "generate", "the scene comes to life", "--model", "relay-openai/sora-2",
           "--duration", "10", "--aspect-ratio", "9:16", "--image", str(ref), "--option", "fit_image=pad",
           "--option", "watermark=false", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["model"] == "relay-openai/sora-2"
    probe = probe_video(out)
    assert probe.duration == pytest.approx(10, abs=0.2) and probe.height > probe.width
    assert emulator.state.counts["POST /v1/videos"] == 1


def test_cli_refuses_a_mismatching_image_with_exit_code_2(emulator: EmulatorServer, tmp_path: Path) -> None:
    ref = make_image(tmp_path / "ref.png", (64, 36))
    env = {"VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key}
    result = CliRunner().invoke(app, ["generate", "x", "--model", "relay-openai/sora-2", "--image", str(ref),
                                      "--json"], env=env)  # fmt: skip
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["error"]["problems"]
    assert problems[0]["field"] == "images[0]" and "fit_image=crop" in problems[0]["suggestion"]
    assert total(emulator) == 0


@pytest.mark.slow
def test_cli_openai_needs_allow_retired(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {"VIDGATE_OPENAI_BASE_URL": emulator.url + "/openai", "VIDGATE_OPENAI_API_KEY": emulator.api_key}
    args = ["generate", "a kite", "--model", "openai/sora-2", "--duration", "4", "--out", str(tmp_path / "k.mp4")]
    refused = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert refused.exit_code == 2 and "retired" in refused.stdout and total(emulator) == 0
    done = CliRunner().invoke(app, [*args, "--allow-retired", "--json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["job"]["status"] == "succeeded"
    assert emulator.state.counts["POST /openai/v1/videos"] == 1
