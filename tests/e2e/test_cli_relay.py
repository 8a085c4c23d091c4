"""The CLI end to end against the emulator over loopback: a saved, probed MP4, and every bad input refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import make_image
from vidgate.cli import app
from vidgate.emulator import POLICY_FAIL_REASON, EmulatorServer
from vidgate.media import probe_video

runner = CliRunner()


def run_cli(
    emulator: EmulatorServer, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``vidgate`` entry point in a real subprocess, talking HTTP to the emulator."""
    full_env = {**os.environ, "VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key,
                **(env or {})}  # fmt: skip
    cmd = [sys.executable, "-m", "vidgate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "duration", "aspect", "wh"), [("sora-2", 10, "16:9", 16 / 9),
                                                                 ("sora-2-pro", 15, "9:16", 9 / 16)])  # fmt: skip
def test_generate_saves_a_probed_mp4_matching_the_request(
    emulator: EmulatorServer, tmp_path: Path, model: str, duration: int, aspect: str, wh: float
) -> None:
    out = tmp_path / "video.mp4"
    result = run_cli(emulator, "generate", "a lighthouse at dawn", "--model", model, "--duration", str(duration),
                     "--aspect-ratio", aspect, "--out", str(out), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["status"] == "succeeded" and job["raw_status"] == "SUCCESS" and job["progress"] == 100
    probe = probe_video(out)
    assert probe.duration == pytest.approx(duration, abs=0.2)
    assert probe.width / probe.height == pytest.approx(wh, rel=0.03)
    assert probe.codec == "h264"
    assert job["assets"][0]["probe"]["duration"] == probe.duration and job["assets"][0]["mismatch"] == []
    assert emulator.state.counts["POST /v2/videos/generations"] == 1
    assert emulator.state.counts["GET /cdn/{file}"] == 1
    assert emulator.api_key not in result.stdout + result.stderr  # no secrets in output


@pytest.mark.slow
def test_generate_with_the_built_in_emulator_flag(tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "vidgate", "generate", "a fox", "-m", "veo3-fast", "-a", "9:16", "--emulator",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, env={k: v for k, v in os.environ.items()
                                                          if not k.startswith("VIDGATE_")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # the built-in emulator serves real sizes: the relay's Veo is 720p (emulator/facts.py relay_veo_resolution)
    assert "Saved" in result.stdout and "probed: 8 s, 720x1280, h264" in result.stdout
    assert probe_video(out).duration == pytest.approx(8, abs=0.2)


def test_a_content_policy_failure_exits_3_with_the_relay_reason(emulator: EmulatorServer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "FAIL_POLICY please", "-m", "sora-2", "-d", "10", "--base-url",
                                 emulator.url, "--api-key", emulator.api_key, "--out", str(tmp_path / "x.mp4"),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["job"]["error"]["code"] == "content_policy_output"
    assert error["job"]["error"]["message"] == POLICY_FAIL_REASON
    assert not (tmp_path / "x.mp4").exists()


def test_a_wrong_key_exits_4(emulator: EmulatorServer) -> None:
    result = runner.invoke(app, ["generate", "x", "--base-url", emulator.url, "--api-key", "wrong"])
    assert result.exit_code == 4
    assert "HTTP 401" in result.output


def test_a_missing_key_exits_4_naming_the_variable(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDGATE_RELAY_API_KEY", raising=False)
    result = runner.invoke(app, ["generate", "x", "--base-url", emulator.url])
    assert result.exit_code == 4
    assert "VIDGATE_RELAY_API_KEY" in result.output
    assert sum(emulator.state.counts.values()) == 0


def bad_inputs(tmp_path: Path) -> list[tuple[str, list[str], str]]:
    img = str(make_image(tmp_path / "frame.png"))
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    return [
        ("unknown model", ["x", "-m", "sora-3"], "Unknown model 'sora-3'"),
        ("duration 12 on sora-2", ["x", "-m", "sora-2", "-d", "12"], "duration: 12"),
        ("duration 25 on sora-2", ["x", "-m", "sora-2", "-d", "25"], "duration: 25"),
        ("hd on sora-2", ["x", "-m", "sora-2", "--hd"], "hd: True"),
        ("aspect 4:3", ["x", "-m", "sora-2", "-a", "4:3"], "aspect_ratio: '4:3'"),
        ("too many images for frames", ["x", "-m", "veo2-fast-frames", "-i", img, "-i", img, "-i", img],
         "too many images"),
        ("non-image file", ["x", "-m", "sora-2", "-i", str(text_file)], "not a readable image"),
        ("unreadable path", ["x", "-m", "sora-2", "-i", str(tmp_path / "missing.png")], "file not found"),
        ("URL not http(s)", ["x", "-m", "sora-2", "-i", "ftp://example.com/a.png"], "scheme 'ftp'"),
        ("invalid base64", ["x", "-m", "sora-2", "-i", "A" * 65], "invalid base64"),
        ("empty prompt", ["", "-m", "sora-2"], "the prompt is empty"),
        # (shots that do not add up to -d are accepted with a warning: the seed's own storyboard example sends
        # 7.5 s + 7.5 s shots with "duration": "10"; a total no length of the model matches is still refused)
        ("storyboard does not fit", ["", "-m", "sora-2", "--shot", "6:take off", "--shot", "6:land"],
         "cannot make"),
    ]  # fmt: skip


def test_every_bad_input_is_refused_with_exit_2_and_zero_requests(emulator: EmulatorServer, tmp_path: Path) -> None:
    for name, args, needle in bad_inputs(tmp_path):
        result = runner.invoke(app, ["generate", *args, "--base-url", emulator.url, "--api-key", emulator.api_key])
        assert result.exit_code == 2, (name, result.output)
        assert needle in result.output, (name, result.output)
        assert "nothing was sent" in result.output, name
        assert sum(emulator.state.counts.values()) == 0, (name, emulator.state.counts)


def test_bad_input_in_json_mode_lists_problems(emulator: EmulatorServer) -> None:
    result = runner.invoke(app, ["generate", "x", "-m", "sora-2", "-d", "12", "-a", "4:3", "--json",
                                 "--base-url", emulator.url, "--api-key", emulator.api_key])  # fmt: skip
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["error"]["problems"]
    # relay sora-2: 10 s only (seed-relay-api.md: sora-2-pro "supports hd, 15s"; "25 only for sora-2-pro")
    assert [(p["field"], p["allowed"]) for p in problems] == [("duration", "10 s"), ("aspect_ratio", "16:9, 9:16")]


def test_fit_snaps_prints_each_change_and_succeeds(emulator: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "fit.mp4"
    result = runner.invoke(app, ["generate", "x", "-m", "sora-2", "-d", "12", "-a", "4:3", "--fit", "--out", str(out),
                                 "--base-url", emulator.url, "--api-key", emulator.api_key])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "duration: 12 -> 10" in result.output and "aspect_ratio: '4:3' -> '16:9'" in result.output
    assert probe_video(out).duration == pytest.approx(10, abs=0.2)


def test_models_lists_the_catalog() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0
    keys = {m["key"] for m in json.loads(result.stdout)}
    assert {"relay/sora-2", "relay/sora-2-pro", "relay/veo3-pro-frames", "relay/veo3.1-components"} <= keys
    table = runner.invoke(app, ["models", "--provider", "relay"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "relay/veo2-fast-frames" in table.output
