"""The unmodified google-genai SDK (3.x) against the emulator over loopback, and vidgate beside it.

Interactions API (Gemini Omni): ``interactions.create(background=True)`` for text-to-video and image-to-video,
``interactions.get`` until completed, ``output_video``, ``interactions.cancel``; on the SDK's default ``/v1/``
path and on ``/v1beta/``. Vertex mode with a fake OAuth credential: ``models.generate_videos`` +
``operations.get``. The bodies vidgate sends are compared with the SDK's own.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import _interactions_errors, types
from google.oauth2.credentials import Credentials

from tests.conftest import image_bytes
from vidgate import Client
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.media import probe_video

POLL_S = 0.02
MAX_POLLS = 500


def sdk(emulator: EmulatorServer, api_version: str | None = None) -> genai.Client:
    options = types.HttpOptions(base_url=emulator.url, retry_options=types.HttpRetryOptions(attempts=1))
    if api_version:
        options.api_version = api_version
    return genai.Client(api_key=emulator.api_key, http_options=options)


def vertex_sdk(emulator: EmulatorServer) -> genai.Client:
    return genai.Client(
        vertexai=True,
        project="emu-project",
        location="us-central1",
        credentials=Credentials(token=emulator.api_key),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=emulator.url, retry_options=types.HttpRetryOptions(attempts=1)),
    )


def until_completed(client: genai.Client, interaction: Any) -> Any:
    for _ in range(MAX_POLLS):
        if interaction.status != "in_progress":
            return interaction
        time.sleep(POLL_S)
        interaction = client.interactions.get(interaction.id)
    raise AssertionError("the interaction never finished")


def mp4_seconds(data: bytes, tmp_path: Path, name: str) -> float:
    path = tmp_path / name
    path.write_bytes(data)
    return probe_video(path).duration


@pytest.fixture
def png() -> bytes:
    return image_bytes()


@pytest.mark.parametrize("api_version", [None, "v1beta"])
def test_sdk_text_to_video_in_background(emulator: EmulatorServer, tmp_path: Path, api_version: str | None) -> None:
    client = sdk(emulator, api_version)
    ia = client.interactions.create(
        model="gemini-omni-1.2-flash",
        input="A red ball rolls across a white table, continuous smooth shot.",
        response_modalities=["video"],
        response_format={"type": "video", "aspect_ratio": "16:9", "resolution": "720p", "duration": "4s"},
        generation_config={"video_config": {"task": "text_to_video"}, "seed": 7},
        background=True,
    )
    assert ia.status == "in_progress" and ia.id
    ia = until_completed(client, ia)
    assert ia.status == "completed" and ia.output_video is not None
    assert ia.output_video.mime_type == "video/mp4"
    data = ia.output_video.data
    raw = data if isinstance(data, bytes) else base64.b64decode(data)
    assert mp4_seconds(raw, tmp_path, "t2v.mp4") == pytest.approx(4, abs=0.2)
    version = api_version or "v1"  # google-genai 3.x defaults to /v1/
    assert emulator.state.counts[f"POST /{version}/interactions"] == 1
    assert emulator.state.counts[f"GET /{version}/interactions/{{id}}"] >= 1


def test_sdk_image_to_video_with_uri_delivery(emulator: EmulatorServer, png: bytes, tmp_path: Path) -> None:
    import httpx

    client = sdk(emulator)
    ia = client.interactions.create(
        model="gemini-omni-1.2-flash",
        input=[
            {"type": "image", "mime_type": "image/png", "data": base64.b64encode(png).decode()},
            {"type": "text", "text": "Animate this photo: the cat stands up and walks out of frame."},
        ],
        response_modalities=["video"],
        response_format={"type": "video", "aspect_ratio": "9:16", "duration": "5s", "delivery": "uri"},
        generation_config={"video_config": {"task": "image_to_video"}},
        background=True,
    )
    ia = until_completed(client, ia)
    assert ia.status == "completed" and ia.output_video is not None and ia.output_video.uri
    body = emulator.state.jobs[ia.id].body
    assert body["input"][0]["type"] == "user_input"  # the SDK wraps bare blocks into one user_input step
    url = ia.output_video.uri + ":download?alt=media"
    assert httpx.get(url).status_code == 403  # the Files download needs the key
    got = httpx.get(url, headers={"x-goog-api-key": emulator.api_key})
    assert got.status_code == 200 and mp4_seconds(got.content, tmp_path, "i2v.mp4") == pytest.approx(5, abs=0.2)


def test_sdk_cancel_and_error_envelope(emulator: EmulatorServer) -> None:
    client = sdk(emulator, "v1beta")
    ia = client.interactions.create(model="gemini-omni-1.1-flash", input="slow", background=True,
                                    response_format={"type": "video", "duration": "10s"})  # fmt: skip
    cancelled = client.interactions.cancel(ia.id)
    assert cancelled.status == "cancelled"
    assert client.interactions.get(ia.id).status == "cancelled"
    with pytest.raises(_interactions_errors.APIStatusError) as info:
        client.interactions.create(model="gemini-omni-1.1-flash", input="x", background=True,
                                   response_format={"type": "video", "duration": "12s"})  # fmt: skip
    assert info.value.status_code == 400
    with pytest.raises(_interactions_errors.NotFoundError):
        client.interactions.get("v1_missing")


def test_sdk_vertex_generate_videos_and_operations_get(emulator: EmulatorServer, png: bytes, tmp_path: Path) -> None:
    client = vertex_sdk(emulator)
    op = client.models.generate_videos(
        model="veo-3.1-generate-001",
        source=types.GenerateVideosSource(prompt="a cat", image=types.Image(image_bytes=png, mime_type="image/png")),
        config=types.GenerateVideosConfig(duration_seconds=8, aspect_ratio="16:9", resolution="1080p",
                                          number_of_videos=1, generate_audio=True, seed=3),
    )  # fmt: skip
    for _ in range(MAX_POLLS):
        if op.done:
            break
        time.sleep(POLL_S)
        op = client.operations.get(op)
    assert op.done and op.response is not None and op.response.generated_videos
    video = op.response.generated_videos[0].video
    assert video is not None and video.video_bytes
    assert mp4_seconds(video.video_bytes, tmp_path, "veo.mp4") == pytest.approx(8, abs=0.2)
    assert emulator.state.counts[
        "POST /v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning"] == 1  # fmt: skip


def test_sdk_vertex_safety_filter_is_not_a_video(emulator: EmulatorServer) -> None:
    client = vertex_sdk(emulator)
    op = client.models.generate_videos(
        model="veo-3.1-fast-generate-001",
        source=types.GenerateVideosSource(prompt="FAIL_POLICY please"),
        config=types.GenerateVideosConfig(output_gcs_uri="gs://bucket/out"),
    )
    for _ in range(MAX_POLLS):
        if op.done:
            break
        time.sleep(POLL_S)
        op = client.operations.get(op)
    assert op.response is not None and not op.response.generated_videos
    assert op.response.rai_media_filtered_count == 1


@pytest.fixture
def vclient(emulator: EmulatorServer) -> Iterator[Client]:
    env = {"VIDGATE_VERTEX_PROJECT": "emu-project", "VIDGATE_VERTEX_STORAGE_BASE_URL": emulator.url}
    with Client(
        base_url=emulator.url, api_key=emulator.api_key, env=env, poll_policy=PollPolicy(time_scale=0.003)
    ) as c:
        yield c


def test_vidgate_sends_what_the_sdk_sends(emulator: EmulatorServer, vclient: Client, png: bytes) -> None:
    """Same request through the SDK and through vidgate: the emulator records identical bodies."""
    client = sdk(emulator, "v1beta")
    ia = client.interactions.create(
        model="gemini-omni-1.2-flash",
        input=[{"type": "image", "mime_type": "image/png", "data": base64.b64encode(png).decode()},
               {"type": "text", "text": "walk"}],
        response_modalities=["video"], background=True,
        response_format={"type": "video", "aspect_ratio": "9:16", "duration": "5s", "delivery": "uri"},
        generation_config={"video_config": {"task": "image_to_video"}},
    )  # fmt: skip
    job = vclient.submit("walk", model="gemini-omni-1.2-flash", images=[png], aspect_ratio="9:16", duration=5,
                         options={"delivery": "uri"})  # fmt: skip
    assert job.provider_task_id is not None
    assert emulator.state.jobs[job.provider_task_id].body == emulator.state.jobs[ia.id].body
    vertex = vertex_sdk(emulator)  # keep a reference: the SDK closes its HTTP client when collected
    op = vertex.models.generate_videos(
        model="veo-3.1-generate-001",
        source=types.GenerateVideosSource(prompt="a cat", image=types.Image(image_bytes=png, mime_type="image/png")),
        config=types.GenerateVideosConfig(duration_seconds=8, aspect_ratio="16:9", resolution="1080p",
                                          number_of_videos=1, generate_audio=True, seed=3,
                                          person_generation="allow_adult"),
    )  # fmt: skip
    veo = vclient.submit("a cat", model="veo-3.1-generate-001", images=[png], duration=8, aspect_ratio="16:9",
                         resolution="1080p", options={"sample_count": 1, "generate_audio": True, "seed": 3,
                                                      "person_generation": "allow_adult"})  # fmt: skip
    assert veo.provider_task_id is not None and op.name is not None
    assert emulator.state.jobs[veo.provider_task_id].body == emulator.state.jobs[op.name].body
