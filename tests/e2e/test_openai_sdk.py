"""Proof of fidelity: the unmodified official ``openai`` SDK (3.57.0) against the emulator over loopback.

Both flavours: OpenAI under ``/openai/v1`` and the relay's copy at ``/v1``. Every call is a real HTTP request
through the SDK's own client; nothing is patched.
"""

from __future__ import annotations

import asyncio
import base64
import warnings

import httpx
import openai
import pytest
from openai.types import Video

from tests.conftest import image_bytes
from vidgate.emulator import EmulatorServer
from vidgate.emulator.dialects.openai_videos_schema import INPAINT_MISMATCH

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # every Videos method is deprecated


def sdk(emulator: EmulatorServer, flavour: str = "openai") -> openai.OpenAI:
    prefix = "/openai" if flavour == "openai" else ""
    return openai.OpenAI(base_url=f"{emulator.url}{prefix}/v1", api_key=emulator.api_key, max_retries=0)


def total(emulator: EmulatorServer) -> int:
    return sum(emulator.state.counts.values())


def test_sdk_marks_the_videos_api_deprecated(emulator: EmulatorServer) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        sdk(emulator).videos.retrieve  # noqa: B018 - attribute access only
        sdk(emulator).videos.create(prompt="a lighthouse", seconds="4")
    assert any("September 24, 2026" in str(w.message) for w in seen)


def test_create_without_reference_then_poll_and_download_every_variant(emulator: EmulatorServer) -> None:
    client = sdk(emulator)
    video = client.videos.create(prompt="a lighthouse at dawn", model="sora-2", seconds="8", size="1280x720")
    assert isinstance(video, Video) and video.id.startswith("video_")
    assert (video.status, video.progress, video.seconds, video.size, video.model) == (
        "queued", 0, "8", "1280x720", "sora-2")  # fmt: skip
    assert video.prompt == "a lighthouse at dawn" and video.error is None
    done = client.videos.poll(video.id)  # sleeps what openai-poll-after-ms says
    assert done.status == "completed" and done.progress == 100 and done.completed_at and done.expires_at
    assert client.videos.retrieve(video.id).status == "completed"
    mp4 = client.videos.download_content(video.id)  # variant defaults to video
    assert mp4.content[4:8] == b"ftyp" and mp4.response.headers["content-type"] == "video/mp4"
    thumb = client.videos.download_content(video.id, variant="thumbnail")
    assert thumb.content[:4] == b"RIFF" and thumb.content[8:12] == b"WEBP"
    sprite = client.videos.download_content(video.id, variant="spritesheet")
    assert sprite.content[:3] == b"\xff\xd8\xff"
    explicit = client.videos.download_content(video.id, variant="video")
    assert explicit.content == mp4.content
    assert emulator.state.counts["GET /openai/v1/videos/{id}/content"] == 4


def test_create_with_a_reference_file_of_the_right_size(emulator: EmulatorServer) -> None:
    client = sdk(emulator)
    video = client.videos.create(
        prompt="she turns around", model="sora-2-pro", seconds="4", size="1792x1024",
        input_reference=("first.png", image_bytes((1792, 1024)), "image/png"),
    )  # fmt: skip
    assert video.status == "queued" and video.size == "1792x1024"
    assert emulator.state.jobs[video.id].body["input_reference"] == "1792x1024"


def test_create_with_image_url_object_via_extra_body_and_via_json(emulator: EmulatorServer) -> None:
    # The SDK types input_reference as a file *or* {"image_url"|"file_id"}, but videos.create() runs
    # extract_files() on it and raises for a dict (see the next test); extra_body is the SDK's way around.
    client = sdk(emulator)
    data_url = "data:image/png;base64," + base64.b64encode(image_bytes((720, 1280))).decode()
    via_form = client.videos.create(prompt="x", extra_body={"input_reference": {"image_url": data_url}})
    assert via_form.status == "queued" and via_form.size == "720x1280"  # sent as input_reference[image_url]
    via_json = client.post("/videos", body={"prompt": "y", "input_reference": {"image_url": data_url}}, cast_to=Video)
    assert via_json.status == "queued" and via_json.seconds == "4"


def test_sdk_refuses_the_documented_image_url_object_in_create(emulator: EmulatorServer) -> None:
    with pytest.raises(RuntimeError, match="Expected entry at `input_reference` to be bytes"):
        sdk(emulator).videos.create(prompt="x", input_reference={"image_url": "https://example.com/a.png"})  # type: ignore[arg-type]
    assert total(emulator) == 0


def test_emulator_errors_reach_the_sdk_as_typed_errors(emulator: EmulatorServer) -> None:
    client = sdk(emulator)
    with pytest.raises(openai.BadRequestError) as bad_seconds:
        client.videos.create(prompt="x", seconds="10")  # type: ignore[arg-type]
    assert bad_seconds.value.body == {
        "message": "Invalid value: '10'. Supported values are: '4', '8', and '12'.",
        "type": "invalid_request_error",
        "param": "seconds",
        "code": "invalid_value",
    }
    with pytest.raises(openai.BadRequestError) as mismatch:
        client.videos.create(prompt="x", size="1280x720", input_reference=("a.png", image_bytes((64, 36)), "image/png"))
    assert mismatch.value.body == {"message": INPAINT_MISMATCH, "type": "invalid_request_error", "param": None,
                                   "code": None}  # fmt: skip
    with pytest.raises(openai.BadRequestError, match="Supported values for sora-2 are"):
        client.videos.create(prompt="x", model="sora-2", size="1792x1024")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("video_missing")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{emulator.url}/openai/v1", api_key="wrong", max_retries=0).videos.list()
    assert bad_seconds.value.request_id and bad_seconds.value.request_id.startswith("req_")


def test_remix_list_and_delete(emulator: EmulatorServer) -> None:
    client = sdk(emulator)
    first = client.videos.create_and_poll(prompt="a red kite", seconds="4", size="720x1280")
    assert first.status == "completed"
    remix = client.videos.remix(first.id, prompt="a blue kite")
    assert remix.remixed_from_video_id == first.id and remix.prompt == "a blue kite" and remix.seconds == "4"
    others = [client.videos.create(prompt=f"clip {i}", seconds="4") for i in range(3)]
    page = client.videos.list(limit=2)
    assert [v.id for v in page.data] == [others[2].id, others[1].id] and page.has_more  # newest first
    assert [v.id for v in client.videos.list(limit=2, order="asc").data] == [first.id, remix.id]
    everything = [v.id for v in client.videos.list(limit=2)]  # the SDK follows the cursor (after=last_id)
    assert everything == [others[2].id, others[1].id, others[0].id, remix.id, first.id]
    deleted = client.videos.delete(first.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (first.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(first.id)


def test_failed_generation_comes_back_as_a_failed_video(emulator: EmulatorServer) -> None:
    video = sdk(emulator).videos.create_and_poll(prompt="FAIL_POLICY please", seconds="4")
    assert video.status == "failed" and video.error is not None
    assert video.error.code == "generation_failed" and "guardrails" in video.error.message


def test_relay_flavour_through_the_sdk(emulator: EmulatorServer) -> None:
    client = sdk(emulator, "relay")
    video = client.videos.create(prompt="让牛快乐的跳科目三", model="sora-2", seconds="10", size="1280x720",
                                 input_reference=("scene.png", image_bytes((1280, 720)), "image/png"),
                                 extra_body={"watermark": "false", "private": "true"})  # fmt: skip
    assert video.id.startswith("sora-2:task_") and video.created_at > 10**12  # milliseconds
    assert video.size == "small"  # the relay's drift; the SDK does not validate responses
    done = client.videos.poll(video.id)
    assert done.status == "completed"
    extra = done.model_extra or {}
    assert extra["video_url"] == extra["url"] and extra["url"].endswith(".mp4")
    assert httpx.get(extra["url"]).content[4:8] == b"ftyp"  # the CDN link needs no key
    assert client.videos.download_content(video.id, variant="thumbnail").content[8:12] == b"WEBP"
    with pytest.raises(openai.BadRequestError, match="private"):
        client.videos.remix(video.id, prompt="again")
    with pytest.raises(openai.BadRequestError, match="Supported values are: '10' and '15'"):
        client.videos.create(prompt="x", model="sora-2", seconds="4")


def test_async_sdk(emulator: EmulatorServer) -> None:
    async def main() -> None:
        client = openai.AsyncOpenAI(base_url=f"{emulator.url}/openai/v1", api_key=emulator.api_key, max_retries=0)
        video = await client.videos.create_and_poll(prompt="async kite", seconds="12", size="1280x720")
        assert video.status == "completed" and video.seconds == "12"
        thumb = await client.videos.download_content(video.id, variant="thumbnail")
        assert thumb.content[8:12] == b"WEBP"
        page = await client.videos.list(limit=1)
        assert page.data[0].id == video.id
        assert (await client.videos.delete(video.id)).deleted
        await client.close()

    asyncio.run(main())


def test_raw_multipart_string_in_input_reference_gets_the_documented_error(emulator: EmulatorServer) -> None:
    response = httpx.post(
        f"{emulator.url}/openai/v1/videos",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        files={"prompt": (None, "x"), "input_reference": (None, "https://example.com/a.png")},
    )
    assert response.status_code == 400
    assert response.json() == {"error": {
        "message": "Invalid type for 'input_reference': expected a file, but got a string instead.",
        "type": "invalid_request_error", "param": "input_reference", "code": "invalid_type"}}  # fmt: skip
