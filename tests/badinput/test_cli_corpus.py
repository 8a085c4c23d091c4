"""The CLI's bad-input corpus: what a user can mistype, each answered with its exit code and a message that names
what was wrong — never a traceback, and never a single request to a provider (the emulator counts them all).

Each case runs ``vidgate ...`` in this process through the real entry point (``vidgate.cli.main``), with the
emulator as the relay and a fresh ``$VIDGATE_HOME``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.badinput.helpers import NO_TRACEBACK, provider_requests
from tests.conftest import make_image
from vidgate.cli import main
from vidgate.emulator import EmulatorServer


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]  # every one of these appears in the output (case-insensitive)
    unset: tuple[str, ...] = ()  # environment variables removed for this case


def case(*args: str, code: int = 2, says: str | tuple[str, ...] = (), unset: tuple[str, ...] = ()) -> Case:
    return Case(args, code, (says,) if isinstance(says, str) else says, unset)


GEN = ("generate",)
CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ generate: the request
    "empty prompt": case(*GEN, "", says="prompt"),
    "whitespace prompt": case(*GEN, "   ", says="prompt"),
    "duration nan": case(*GEN, "x", "-d", "nan", says="duration"),
    "duration inf": case(*GEN, "x", "-d", "inf", says="duration"),
    "duration negative": case(*GEN, "x", "-d", "-5", says="duration"),
    "duration zero": case(*GEN, "x", "-d", "0", says="duration"),
    "duration nan with fit": case(*GEN, "x", "-d", "nan", "--fit", says="duration"),
    "duration negative with fit": case(*GEN, "x", "-d", "-5", "--fit", says="duration"),
    "duration not allowed": case(*GEN, "x", "-d", "7", says=("duration", "allowed", "10")),
    "duration not a number": case(*GEN, "x", "-d", "ten", says="duration"),
    "aspect ratio unknown": case(*GEN, "x", "-a", "7:3", says="aspect_ratio"),
    "aspect ratio garbage": case(*GEN, "x", "-a", "wide", says="aspect_ratio"),
    "resolution unknown": case(*GEN, "x", "-m", "veo3-fast", "--resolution", "9000p", says="resolution"),
    "size unknown": case(*GEN, "x", "-m", "relay-openai/sora-2", "--size", "99x99", "--allow-retired", says="size"),
    "model unknown": case(*GEN, "x", "-m", "sora-9", says=("sora-9", "sora-2")),
    "model empty": case(*GEN, "x", "-m", "", says="model"),
    "provider unknown": case(*GEN, "x", "-m", "nope/sora-2", says="nope"),
    "retired model": case(*GEN, "x", "-m", "openai/sora-2", says=("retired", "--allow-retired")),
    "image missing file": case(*GEN, "x", "-m", "veo3-fast-frames", "--image", "missing.png", says="images"),
    "image not an image": case(*GEN, "x", "-m", "veo3-fast-frames", "--image", "notes.txt", says="images"),
    "image bad base64": case(*GEN, "x", "-m", "veo3-fast-frames", "--image", "data:image/png;base64,%%%", says="image"),
    "image role unknown": case(*GEN, "x", "-m", "veo3-fast-frames", "--image", "middle=frame.png", says="image"),
    # (a model that takes image bytes: vidgate fetches the URL itself, through the SSRF guard)
    "image metadata url": case(*GEN, "x", "-m", "relay-openai/sora-2", "--image", "http://169.254.169.254/a.png",
                               says=("images", "metadata")),
    "image loopback url": case(*GEN, "x", "-m", "relay-openai/sora-2", "--image", "http://127.0.0.1:9/a.png",
                               says=("images", "loopback")),
    "image private url": case(*GEN, "x", "-m", "relay-openai/sora-2", "--image", "http://10.0.0.7/a.png",
                              says=("images", "private")),
    "image ftp url": case(*GEN, "x", "-m", "veo3-fast-frames", "--image", "ftp://x/a.png", says="image"),
    "too many images": case(*GEN, "x", "-m", "veo3-fast-frames", *["--image", "frame.png"] * 9, says="images"),
    "images on a text-only model": case(*GEN, "x", "-m", "veo3-fast", "--image", "frame.png", says="images"),
    "shot without colon": case(*GEN, "", "--shot", "abc", says="--shot"),
    "shot zero seconds": case(*GEN, "", "--shot", "0:the plane", says="shot"),
    "shot empty scene": case(*GEN, "", "--shot", "5:", says="shot"),
    "shot seconds not a number": case(*GEN, "", "--shot", "x:the plane", says="--shot"),
    # shots that do not add up to -d are only a warning (the seed's storyboard example sends 7.5 + 7.5 s shots
    # with "duration": "10"); shots adding up to no length the model makes, with no -d, are still refused
    "shots add up to no length": case(*GEN, "", "--shot", "3:a", "--shot", "3:b", says="shots"),
    "option without value": case(*GEN, "x", "--option", "watermark", says="--option"),
    "option unknown": case(*GEN, "x", "--option", "bogus=1", says="bogus"),
    "option wrong type": case(*GEN, "x", "-m", "veo3-fast", "--option", "enhance_prompt=maybe", says="enhance_prompt"),
    "character unknown": case(*GEN, "x", "--character", "ghost", says=("ghost", "characters")),
    "mention unknown": case(*GEN, "@ghost dances", says="ghost"),
    "mention glued": case(*GEN, "hi@ghost dances", says="mention"),
    "hd on a model without it": case(*GEN, "x", "-m", "veo3-fast", "--hd", says="hd"),
    "prompt too long": case(*GEN, "x" * 40_000, says="prompt"),
    "webhook url not a url": case(*GEN, "x", "--webhook-url", "not a url", says="webhook"),
    # ------------------------------------------------------------------ generate: everything around the request
    "out is /proc": case(*GEN, "x", "--out", "/proc/x.mp4", says=("out", "/proc")),
    "out is a directory": case(*GEN, "x", "--out", ".", says=("out", "directory")),
    "out exists": case(*GEN, "x", "--out", "existing.mp4", says=("out", "--force")),
    "out under a file": case(*GEN, "x", "--out", "existing.mp4/x.mp4", says="out"),
    "timeout negative": case(*GEN, "x", "--timeout", "-1", says="timeout"),
    "timeout zero": case(*GEN, "x", "--timeout", "0", says="timeout"),
    "timeout nan": case(*GEN, "x", "--timeout", "nan", says="timeout"),
    "timeout not a number": case(*GEN, "x", "--timeout", "soon", says="--timeout"),
    "base url ftp": case(*GEN, "x", "--base-url", "ftp://x", "--api-key", "k", says=("base url", "http")),
    "base url without scheme": case(*GEN, "x", "--base-url", "relay.example.com", "--api-key", "k", says="base url"),
    "base url without host": case(*GEN, "x", "--base-url", "https://", "--api-key", "k", says="base url"),
    "no api key": case(*GEN, "x", "--base-url", "https://relay.example.com", code=4, says="VIDGATE_RELAY_API_KEY",
                       unset=("VIDGATE_RELAY_API_KEY",)),
    "store is a directory": case(*GEN, "x", "--store", ".", says=("store", "directory")),
    "store is not a database": case(*GEN, "x", "--store", "notes.txt", says="store"),
    "store url unknown": case(*GEN, "x", "--store", "ftp://db", says=("database url", "postgresql")),
    "unknown flag": case(*GEN, "x", "--speed", "fast", says="--speed"),
    # ------------------------------------------------------------------ jobs
    "jobs show unknown id": case("jobs", "show", "job_nope", says="job_nope"),
    "jobs show empty id": case("jobs", "show", "", says="job"),
    "jobs watch unknown id": case("jobs", "watch", "job_nope", says="job_nope"),
    "jobs download unknown id": case("jobs", "download", "job_nope", says="job_nope"),
    "jobs cancel unknown id": case("jobs", "cancel", "job_nope", says="job_nope"),
    "jobs retry unknown id": case("jobs", "retry", "job_nope", "--yes", says="job_nope"),
    "jobs list status unknown": case("jobs", "list", "--status", "bogus", says=("bogus", "allowed")),
    "jobs list limit zero": case("jobs", "list", "--limit", "0", says="limit"),
    "jobs list limit negative": case("jobs", "list", "--limit", "-3", says="limit"),
    "jobs list limit not a number": case("jobs", "list", "--limit", "many", says="--limit"),
    "jobs list store garbage": case("jobs", "list", "--store", "notes.txt", says="store"),
    "jobs list store directory": case("jobs", "list", "--store", ".", says="directory"),
    "jobs list postgres unreachable": case("jobs", "list", "--store", "postgresql://nobody@127.0.0.1:1/none",
                                           code=4, says="PostgreSQL"),
    "jobs no subcommand": case("jobs", "explode", says="explode"),
    # ------------------------------------------------------------------ worker and serve
    "worker concurrency zero": case("worker", "--concurrency", "0", says="--concurrency"),
    "worker lease negative": case("worker", "--lease", "-1", says="--lease"),
    "worker lease not a number": case("worker", "--lease", "long", says="--lease"),
    "worker idle negative": case("worker", "--idle", "-1", says="--idle"),
    "worker batch zero": case("worker", "--batch", "0", says="--batch"),
    "worker time scale zero": case("worker", "--time-scale", "0", says="--time-scale"),
    "worker rate zero": case("worker", "--rate", "relay=0", says="--rate"),
    "worker rate garbage": case("worker", "--rate", "fast", says="--rate"),
    "worker config missing": case("worker", "--config", "missing.toml", says="missing.toml"),
    "worker config not toml": case("worker", "--config", "notes.txt", says="TOML"),
    "worker config bad route": case("worker", "--config", "bad-provider.toml", says="nope"),
    "worker public url ftp": case("worker", "--public-url", "ftp://x", says="public URL"),
    "worker hooks port too big": case("worker", "--hooks-port", "70000", says="--hooks-port"),
    "serve config bad route": case("serve", "--config", "bad-provider.toml", says="nope"),
    "serve config missing": case("serve", "--config", "missing.toml", says="missing.toml"),
    "serve config unknown field": case("serve", "--config", "unknown-field.toml", says="speed"),
    "serve port too big": case("serve", "--port", "70000", says="--port"),
    # ------------------------------------------------------------------ keys, emulate, characters, models
    "keys budget nan": case("keys", "create", "--name", "a", "--budget", "nan", says="--budget"),
    "keys budget inf": case("keys", "create", "--name", "a", "--budget", "inf", says="--budget"),
    "keys budget negative": case("keys", "create", "--name", "a", "--budget", "-1", says="--budget"),
    "keys rate limit zero": case("keys", "create", "--name", "a", "--rate-limit", "0", says="--rate-limit"),
    "keys webhook to loopback": case("keys", "create", "--name", "a", "--webhook-url", "http://127.0.0.1/x",
                                     says="webhook"),
    "keys webhook not a url": case("keys", "create", "--name", "a", "--webhook-url", "hooks", says="webhook"),
    "keys revoke unknown": case("keys", "revoke", "nope", says="nope"),
    "keys create without name": case("keys", "create", says="--name"),
    "emulate port too big": case("emulate", "--port", "99999", says="--port"),
    "emulate faults bad json": case("emulate", "--faults", "{bad json", says="--faults"),
    "emulate faults unknown kind": case("emulate", "--faults", '{"rules": [{"kind": "explode"}]}', says="kind"),
    "characters create without source": case("characters", "create", "-t", "1,2", says=("url", "from_task")),
    "characters create both sources": case("characters", "create", "-t", "1,2", "--url", "https://x.example/v.mp4",
                                           "--from-task", "t1", says=("url", "from_task")),
    "characters timestamps reversed": case("characters", "create", "-t", "5,1", "--url", "https://x.example/v.mp4",
                                           says="timestamps"),
    "characters timestamps garbage": case("characters", "create", "-t", "soon", "--url", "https://x.example/v.mp4",
                                          says="timestamps"),
    "characters model without them": case("characters", "create", "-t", "1,2", "--url", "https://x.example/v.mp4",
                                          "-m", "veo3-fast", says="character"),
    "characters show unknown": case("characters", "show", "nope", says="nope"),
    "models unknown model": case("models", "-m", "sora-9", says="sora-9"),
    "models unknown provider": case("models", "-p", "nope", says="nope"),
    "unknown command": case("explode", says="explode"),
}  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDGATE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIDGATE_RELAY_BASE_URL", emulator.url)
    monkeypatch.setenv("VIDGATE_RELAY_API_KEY", emulator.api_key)
    monkeypatch.delenv("VIDGATE_DATABASE_URL", raising=False)
    make_image(tmp_path / "frame.png", (1280, 720))
    (tmp_path / "notes.txt").write_text("not an image, not a database\n")
    (tmp_path / "existing.mp4").write_bytes(b"\0\0\0\x18ftypmp42")
    (tmp_path / "bad-provider.toml").write_text('[[routes]]\nname = "r"\nprovider = "nope"\n')
    (tmp_path / "unknown-field.toml").write_text("[server]\nspeed = 3\n")
    yield tmp_path


Run = Callable[..., tuple[int, str]]


@pytest.fixture
def kept_logging() -> Iterator[None]:
    """`serve` installs a root log handler on the captured stderr; later tests must not write to it once closed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def vidgate(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kept_logging: None
) -> Run:
    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["vidgate", *args])
        with pytest.raises(SystemExit) as done:
            main()
        captured = capsys.readouterr()
        return int(done.value.code or 0), captured.out + captured.err

    return run


@pytest.mark.parametrize("name", list(CASES))
def test_refused_with_a_message_and_nothing_sent(
    name: str, vidgate: Run, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = CASES[name]
    for variable in c.unset:
        monkeypatch.delenv(variable)
    before = provider_requests(emulator)
    code, output = vidgate(*c.args)
    assert NO_TRACEBACK not in output, output
    assert code == c.code, f"{name}: exit {code}, expected {c.code}\n{output}"
    for words in c.says:
        assert words.lower() in output.lower(), f"{name}: {words!r} not in\n{output}"
    assert provider_requests(emulator) == before, f"{name}: a request reached the provider"


def test_json_errors_are_one_object_with_the_problems(vidgate: Run, emulator: EmulatorServer) -> None:
    code, output = vidgate("generate", "x", "-d", "7", "--json")
    body = json.loads(output.strip().splitlines()[-1])
    assert code == 2 and body["ok"] is False and body["exit_code"] == 2
    (problem,) = body["error"]["problems"]
    assert problem["field"] == "duration" and problem["allowed"] and problem["suggestion"]
    assert provider_requests(emulator) == 0


def test_a_finished_job_cannot_be_cancelled_or_retried_without_yes(vidgate: Run, emulator: EmulatorServer) -> None:
    code, output = vidgate("generate", "a kite", "-d", "10", "--detach", "--json")
    job_id = json.loads(output.strip().splitlines()[-1])["job"]["id"]
    sent = provider_requests(emulator)
    code, output = vidgate("jobs", "retry", job_id)
    assert code == 2 and "--yes" in output and NO_TRACEBACK not in output
    assert provider_requests(emulator) == sent
