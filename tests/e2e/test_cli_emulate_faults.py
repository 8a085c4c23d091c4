"""``vidgate emulate --faults``: the plan is live from the first request, and a bad plan is refused up front."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vidgate.cli import app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_emulate_starts_with_the_fault_plan(tmp_path: Path) -> None:
    plan = {"seed": 4, "rules": [{"endpoint": "POST /v2/videos/generations", "kind": "error", "status": 429,
                                  "retry_after": 3, "count": 1}], "url_ttl_s": 60}  # fmt: skip
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    port = free_port()
    cmd = [sys.executable, "-m", "vidgate", "emulate", "--port", str(port), "--faults", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                shown = httpx.get(f"{base}/_emulator/faults").json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        assert shown["plan"]["rules"][0]["status"] == 429 and shown["plan"]["url_ttl_s"] == 60
        headers = {"Authorization": "Bearer emulator-key"}
        first = httpx.post(f"{base}/v2/videos/generations", json={"prompt": "x", "model": "sora-2"}, headers=headers)
        assert first.status_code == 429 and first.headers["retry-after"] == "3"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulate_refuses_a_bad_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"rules": [{"kind": "explode"}]}))
    result = CliRunner().invoke(app, ["emulate", "--faults", str(path)])
    assert result.exit_code == 2
    assert "not a usable fault plan" in result.output and "explode" in result.output
    missing = CliRunner().invoke(app, ["emulate", "--faults", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
