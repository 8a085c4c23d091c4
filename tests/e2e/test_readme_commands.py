"""Every command block of the README runs, as written, against the emulator (issue 17).

The README's fenced ``sh`` and ``python`` blocks run in order, in one temp directory with a fresh HOME and
VIDGATE_HOME, sharing environment variables like one terminal session. A block that cannot run offline is
marked just above its fence with ``<!-- readme-test: skip (why) -->``; a block that starts a server (``vidgate
emulate``, ``vidgate serve``) with ``<!-- readme-test: background (...) -->``: the test starts that command as a
process on a free port and uses it for the blocks that follow.

What the test changes, and only this (``SUBSTITUTIONS``): the fixed ports the README names become the free ports
the servers got, and time runs faster — ``VIDGATE_POLL_TIME_SCALE`` is 0.003 instead of 0.05 and the
foreground emulator runs its jobs on that scale — so the whole README runs in seconds instead of minutes.

A ``toml`` block whose first line names a user catalog overlay (``# ~/.vidgate/catalog/NAME.toml``) is written
there (under the session's VIDGATE_HOME), as a reader would save it; one that starts with ``[server]`` is a
``gateway.toml`` and must load (``test_readme_gateway_configs_load``); ``json`` blocks are not run.

Lines in a runnable ``sh`` block may be: ``vidgate ...`` (optionally ``> FILE``), ``export NAME=VALUE ...``
(VALUE may be ``$(vidgate ...)``), comments. Anything else (pipes, placeholders such as ``ID``, other tools)
fails the test: a README step must be copy and paste.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vidgate.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FAST = "0.003"
MAX_SKIPPED = 6  # blocks that cannot run offline (pip, make, a real key, PostgreSQL, a fragment): keep it small
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
_MARK = re.compile(r"<!--\s*readme-test:\s*(skip|background)\b[^>]*-->\s*$")
_OVERLAY = re.compile(r"^# ~/\.vidgate/(catalog/[\w.-]+\.toml)\n")
_CAPTURE = re.compile(r"^export (\w+)=\$\((vidgate [^)]*)\)\s*(#.*)?$")


@dataclass
class Block:
    lang: str
    text: str
    line: int
    mark: str | None  # "skip", "background" or None


def readme_blocks(text: str) -> list[Block]:
    blocks = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        line = text.count("\n", 0, m.start()) + 1
        blocks.append(Block(m.group(1), m.group(2), line, mark.group(1) if mark else None))
    return blocks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Session:
    """One terminal: its directory, its environment, the servers it started and the ports they got."""

    cwd: Path
    env: dict[str, str]
    substitutions: dict[str, str] = field(default_factory=dict)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: dict[str, tuple[subprocess.Popen[bytes], str, list[str]]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)

    def substitute(self, text: str) -> str:
        for old, new in self.substitutions.items():
            text = text.replace(old, new)
        return text

    def vidgate(self, args: list[str], where: str) -> str:
        """Run one vidgate command in this process (the real entry point's app); returns its stdout."""
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VIDGATE_") and k not in self.env}
        result = CliRunner().invoke(app, args, env={**unset, **self.env, "COLUMNS": "100"}, catch_exceptions=False)
        assert result.exit_code == 0, (
            f"{where}: `vidgate {shlex.join(args)}` exited {result.exit_code}:\n{result.output}"
        )
        self.ran.append("vidgate " + shlex.join(args))
        return result.stdout

    def start(self, line: str) -> None:
        """``vidgate emulate`` / ``vidgate serve`` as a process on a free port. Servers start when the test does
        (they take seconds to import and bind) and are waited for where the README starts them."""
        args = shlex.split(line, comments=True)[1:]
        port_at = args.index("--port") + 1
        port = str(free_port())
        self.substitutions[f"127.0.0.1:{args[port_at]}"] = f"127.0.0.1:{port}"
        args = [*args[:port_at], port, *args[port_at + 1 :]]
        if args[0] == "emulate":
            args += ["--time-scale", FAST]  # the emulator's jobs run on the test's time scale
        proc = subprocess.Popen([sys.executable, "-m", "vidgate", *args], cwd=self.cwd, env=dict(self.env),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        self.servers.append(proc)
        self.started[line.strip()] = (proc, port, args)

    def background(self, line: str, where: str) -> None:
        proc, port, args = self.started[line.strip()]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"{where}: `vidgate {shlex.join(args)}` exited {proc.returncode}"
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                self.ran.append("vidgate " + shlex.join(args) + " &")
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"{where}: `vidgate {shlex.join(args)}` did not start listening within 30 s")

    def run_line(self, line: str, where: str, background: bool) -> None:
        captured = _CAPTURE.match(line)
        if captured:  # export NAME=$(vidgate ...): the command's stdout, as a shell would capture it
            args = shlex.split(self.substitute(captured.group(2)), comments=True)[1:]
            self.env[captured.group(1)] = self.vidgate(args, where).strip()
            return
        words = shlex.split(self.substitute(line), comments=True)
        if not words:
            return
        if words[0] == "export":
            for assignment in words[1:]:
                name, sep, value = assignment.partition("=")
                assert sep, f"{where}: `export {assignment}` sets nothing"
                if name == "VIDGATE_POLL_TIME_SCALE":
                    value = FAST
                self.env[name] = value
            return
        assert words[0] == "vidgate", (
            f"{where}: `{line}` is not a vidgate command or an export; a README command must be copy and paste "
            "(or mark the block `<!-- readme-test: skip (why) -->`)"
        )
        args = words[1:]
        if background:
            self.background(line, where)
            return
        assert args[:1] not in (["emulate"], ["serve"]), f"{where}: a server command outside a background block"
        target = None
        if ">" in args:
            at = args.index(">")
            args, target = args[:at], args[at + 1]
        stdout = self.vidgate(args, where)
        if target:
            (self.cwd / target).write_text(stdout, encoding="utf-8")

    def write_overlay(self, text: str, where: str) -> None:
        """A catalog overlay the README tells the reader to save: written where it says, under VIDGATE_HOME."""
        named = _OVERLAY.match(text)
        if named:
            path = Path(self.env["VIDGATE_HOME"]) / named.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.ran.append(f"saved {path.name} from {where}")

    def run_python(self, code: str, where: str) -> None:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        try:
            exec(compile(self.substitute(code), where, "exec"), {"__name__": "__readme__"})
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.ran.append(f"python block at {where}")

    def stop(self) -> None:
        for proc in self.servers:
            proc.send_signal(signal.SIGINT)
        for proc in self.servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGATE_")}
    env.update(HOME=str(home), VIDGATE_HOME=str(home / ".vidgate"), VIDGATE_POLL_TIME_SCALE=FAST)
    monkeypatch.chdir(work)
    s = Session(work, env)
    try:
        yield s
    finally:
        s.stop()


def test_readme_blocks_are_marked_with_known_marks() -> None:
    text = README.read_text(encoding="utf-8")
    marks = re.findall(r"<!--\s*readme-test:[^>]*-->", text)
    assert all(_MARK.search(m) for m in marks), marks
    blocks = readme_blocks(text)
    assert len([b for b in blocks if b.mark is not None]) == len(marks), "a mark must sit right above a fence"
    skipped = [b.line for b in blocks if b.mark == "skip"]
    assert len(skipped) <= MAX_SKIPPED, f"too many README blocks cannot run offline: lines {skipped}"


def test_readme_gateway_configs_load(tmp_path: Path) -> None:
    from vidgate.server.config import load_config

    configs = [b for b in readme_blocks(README.read_text(encoding="utf-8")) if b.text.startswith("[server]")]
    assert configs, "the README shows no gateway.toml"
    for block in configs:
        path = tmp_path / f"gateway-{block.line}.toml"
        path.write_text(block.text, encoding="utf-8")
        assert load_config(path).routes, f"README.md:{block.line}: a gateway.toml without routes"


def test_every_readme_command_runs_against_the_emulator(session: Session) -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    for block in blocks:
        if block.mark == "background":
            for line in block.text.splitlines():
                if shlex.split(line, comments=True):
                    session.start(line)
    for block in blocks:
        where = f"README.md:{block.line}"
        if block.mark is None and block.lang == "toml":
            session.write_overlay(block.text, where)
            continue
        if block.mark == "skip" or block.lang not in ("sh", "python"):
            continue
        if block.lang == "python":
            session.run_python(block.text, where)
            continue
        for line in block.text.replace("\\\n", " ").splitlines():
            session.run_line(line, where, background=block.mark == "background")
    # the README's own promises: the quickstart's file, the detached job collected by the worker, the gateway's
    assert (session.cwd / "lighthouse.mp4").stat().st_size > 0
    assert (session.cwd / "heron.mp4").stat().st_size > 0 and (session.cwd / "heron-copy.mp4").exists()
    assert (session.cwd / "boat.mp4").stat().st_size > 0
    assert "Generated from the catalog" in (session.cwd / "providers.md").read_text(encoding="utf-8")
    assert any(c.startswith("vidgate emulate") for c in session.ran), session.ran
    assert (session.cwd / "my-relay.mp4").stat().st_size > 0  # the catalog overlay example, saved and used
