"""Issue 12 end to end against the emulator: frame order from the CLI, inline characters refused before any
request, and the seed's storyboard example accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import make_image
from vidgate.cli import app
from vidgate.client import Client
from vidgate.emulator import EmulatorServer
from vidgate.errors import ValidationError

runner = CliRunner()


def generate(emulator: EmulatorServer, *args: str) -> str:
    result = runner.invoke(app, ["generate", *args, "--base-url", emulator.url, "--api-key", emulator.api_key])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_frames_roles_decide_the_order_sent(emulator: EmulatorServer, tmp_path: Path) -> None:
    """relay-platforms.md §4.1: "`*-frames` = first/last frame" - `--image last_frame=b.png --image
    first_frame=a.png` must go as images [a, b], not [b, a]."""
    a = make_image(tmp_path / "a.png", (64, 36))
    b = make_image(tmp_path / "b.png", (64, 36), fmt="JPEG")
    generate(emulator, "land the plane", "-m", "veo3-fast-frames", "--image", f"last_frame={b}",
             "--image", f"first_frame={a}", "--out", str(tmp_path / "v.mp4"))  # fmt: skip
    (job,) = emulator.state.jobs.values()
    images = job.body["images"]
    assert images[0].startswith("data:image/png;") and images[1].startswith("data:image/jpeg;")


@pytest.mark.parametrize(
    ("options", "field"),
    [({"character_url": "https://cdn.example/cat.mp4"}, "character_timestamps"),
     ({"character_timestamps": "1,3"}, "character_url"),
     ({"character_url": "cat.mp4", "character_timestamps": "1,3"}, "character_url")],
)  # fmt: skip
def test_inline_character_mistakes_are_refused_before_any_request(
    client: Client, emulator: EmulatorServer, options: dict[str, str], field: str
) -> None:
    """seed-relay-api.md: "`character_url` | string | video URL to create a character from, inline" and
    "`character_timestamps` | string | `"{start},{end}"` seconds where the character appears"."""
    with pytest.raises(ValidationError, match=field):
        client.submit("a cat", model="sora-2", options=options)
    assert sum(emulator.state.counts.values()) == 0


def test_cli_accepts_the_seeds_storyboard_example(emulator: EmulatorServer, tmp_path: Path) -> None:
    """seed-relay-api.md, Storyboard: two "duration: 7.5sec" shots, "(example sent with `"model": "sora-2",
    "aspect_ratio": "16:9", "hd": false, "duration": "10"`)"."""
    out = generate(emulator, "", "-m", "sora-2", "-a", "16:9", "--no-hd", "-d", "10", "--shot", "7.5:飞机起飞",
                   "--shot", "7.5:飞机降落", "--out", str(tmp_path / "s.mp4"))  # fmt: skip
    assert "add up to 15 s" in out
    (job,) = emulator.state.jobs.values()
    seed = "Shot 1:\nduration: 7.5sec\nScene: 飞机起飞\n\nShot 2:\nduration: 7.5sec\nScene: 飞机降落"
    assert job.body == {"prompt": seed, "model": "sora-2", "aspect_ratio": "16:9", "hd": False, "duration": "10"}
