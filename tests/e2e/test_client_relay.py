"""Client and AsyncClient against the emulator over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import make_image
from vidgate import AsyncClient, Client, JobFailedError, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.media import probe_video


def test_generate_with_images_and_progress(client: Client, emulator: EmulatorServer, tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []
    first = make_image(tmp_path / "first.png")
    job = client.generate(
        "the cat walks", model="veo3-fast-frames", images=[str(first), str(first)], aspect_ratio="16:9",
        out=tmp_path / "cat.mp4", on_progress=lambda j: seen.append((j.status.value, j.progress)),
    )  # fmt: skip
    assert job.status is JobStatus.succeeded and job.provider_task_id and ":" in job.provider_task_id
    assert seen[0] == ("queued", 0) and seen[-1] == ("succeeded", 100)
    assert [p for _, p in seen] == sorted(p for _, p in seen)  # progress never goes back
    video = job.video
    assert video is not None and video.path and video.probe and video.probe.duration == pytest.approx(8, abs=0.2)
    assert emulator.state.jobs[job.provider_task_id].body["images"][0].startswith("data:image/png;base64,")
    assert job.started_at and job.completed_at and job.submitted_at


def test_failed_generation_raises_with_the_job(client: Client) -> None:
    with pytest.raises(JobFailedError) as info:
        client.generate("FAIL_POLICY", model="sora-2")
    assert info.value.job.status is JobStatus.failed
    assert info.value.job.error is not None and info.value.job.error.code.value == "content_policy_output"


def test_async_client_generates(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy,
                               env={}) as client:  # fmt: skip
            jobs = await asyncio.gather(
                client.generate("one", model="sora-2", duration=10, out=tmp_path / "1.mp4"),
                client.generate("two", model="sora-2-pro", duration=25, aspect_ratio="9:16", out=tmp_path / "2.mp4"),
            )
        assert [j.status for j in jobs] == [JobStatus.succeeded] * 2

    asyncio.run(main())
    assert probe_video(tmp_path / "2.mp4").duration == pytest.approx(25, abs=0.2)
    assert emulator.state.counts["POST /v2/videos/generations"] == 2


def test_public_surface_is_pinned() -> None:
    import vidgate

    assert sorted(vidgate.__all__) == sorted(
        ["Asset", "AsyncClient", "AuthenticationError", "BadValueError", "Catalog", "Character", "Client",
         "ConfigurationError", "DownloadError", "EndpointMismatchError", "ErrorCode", "ImageError", "ImageInput",
         "ImageRole", "Job", "JobError", "JobFailedError", "JobStatus", "MissingCredentialsError", "ModelSpec",
         "PollPolicy", "Problem", "ProtocolError", "ProviderHTTPError", "ProviderServerError", "ProviderSettings",
         "RateLimitError", "RequestError", "Route", "Shot", "Submission", "TransportError", "UnknownModelError",
         "ValidationError", "VideoProbe", "VideoRequest", "VidgateError", "__version__", "check", "fit",
         "load_catalog", "next_delay", "validate"]
    )  # fmt: skip
    for name in vidgate.__all__:
        assert hasattr(vidgate, name), name
