"""The unmodified ``openai`` SDK against the gateway, whose jobs run on the emulator as the upstream provider."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from tests.conftest import image_bytes
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # every videos method is marked deprecated


@pytest.fixture
def sdk(gateway: GatewayServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


def test_create_and_poll_then_download(sdk: openai.OpenAI, tmp_path: Path, emulator: EmulatorServer) -> None:
    video = sdk.videos.create_and_poll(model="sora-2", prompt="a paper boat on a river", seconds="10",  # type: ignore[arg-type]
                                       size="1280x720", poll_interval_ms=50)  # fmt: skip
    assert video.status == "completed" and video.progress == 100 and video.model == "relay/sora-2"
    content = sdk.videos.download_content(video.id)
    out = tmp_path / "boat.mp4"
    content.write_to_file(out)
    assert out.read_bytes()[4:8] == b"ftyp"
    assert emulator.state.counts["POST /v2/videos/generations"] == 1

    page = sdk.videos.list(limit=10)
    assert [v.id for v in page.data] == [video.id]
    assert sdk.videos.retrieve(video.id).status == "completed"
    deleted = sdk.videos.delete(video.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(video.id)


def test_sdk_upload_openai_format_model_and_poll_hint(sdk: openai.OpenAI) -> None:
    video = sdk.videos.create_and_poll(
        model="relay-openai/sora-2",  # type: ignore[arg-type]
        prompt="the picture starts moving",
        seconds="10",  # type: ignore[arg-type]
        size="1280x720",
        input_reference=("frame.png", image_bytes((1280, 720)), "image/png"),
    )  # no poll_interval_ms: the SDK follows the gateway's openai-poll-after-ms
    assert video.status == "completed"
    thumb = sdk.videos.download_content(video.id, variant="thumbnail")
    assert thumb.read()[:4] == b"RIFF"  # webp


def test_sdk_sees_field_level_errors(sdk: openai.OpenAI, emulator: EmulatorServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.videos.create(model="sora-2", prompt="x", seconds="4")  # the relay's sora-2 makes 10 s (15 s is pro's)
    assert info.value.param == "seconds" and info.value.code == "invalid_value"  # type: ignore[attr-defined]
    assert "Allowed: 10 s" in info.value.message
    assert sum(emulator.state.counts.values()) == 0
