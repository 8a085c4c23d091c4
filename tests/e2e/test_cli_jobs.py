"""`vidgate generate --detach`, `vidgate worker` and `vidgate jobs ...` sharing one SQLite store across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidgate.cli import app
from vidgate.emulator import EmulatorServer
from vidgate.media import probe_video

runner = CliRunner()


@pytest.fixture
def env(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"VIDGATE_RELAY_BASE_URL": emulator.url, "VIDGATE_RELAY_API_KEY": emulator.api_key,
              "VIDGATE_DATABASE_URL": str(tmp_path / "jobs.db")}  # fmt: skip
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return {**os.environ, **values}


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


@pytest.mark.slow
def test_detached_job_is_watched_and_collected_by_other_processes(env: dict[str, str], tmp_path: Path) -> None:
    submitted = subprocess.run(
        [sys.executable, "-m", "vidgate", "generate", "a boat at dusk", "-m", "sora-2", "-d", "10", "--detach",
         "--json"], capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["job"]["id"]

    code, listing = cli("jobs", "list", "--json")
    assert code == 0 and json.loads(listing)[0]["id"] == job_id

    worker = subprocess.run(
        [sys.executable, "-m", "vidgate", "worker", "--until-idle", "--idle", "0.05", "--time-scale", "0.003",
         "--downloads", str(tmp_path / "dl")], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    code, watched = cli("jobs", "watch", job_id, "--timeout", "30", "--json")  # the worker did everything
    assert code == 0, watched
    summary = json.loads(watched.strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and Path(summary["video"]).exists()

    code, shown = cli("jobs", "show", job_id, "--json")
    body = json.loads(shown)
    assert [e["status"] for e in body["timeline"] if e["kind"] == "status"][-1] == "succeeded"
    # the detaching process scheduled the first poll on real time (3 s), after this 0.4 s job had finished,
    # so the render phase was never observed; the download and the total are
    assert body["timings"]["download_s"] is not None and body["timings"]["total_s"] is not None

    out = tmp_path / "copy.mp4"
    code, _ = cli("jobs", "download", job_id, "--out", str(out))
    assert code == 0 and probe_video(out).duration == pytest.approx(10, abs=0.2)


def test_an_unknown_job_waits_for_a_decision(env: dict[str, str], emulator: EmulatorServer) -> None:
    emulator.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_drop"}]})
    code, output = cli("generate", "a paid video", "-m", "sora-2", "--json")
    assert code == 4
    job_id = json.loads(output)["error"]["job"]["id"]
    code, listing = cli("jobs", "list", "--status", "unknown", "--json")
    assert [j["id"] for j in json.loads(listing)] == [job_id]
    code, output = cli("jobs", "retry", job_id)
    assert code == 2 and "--yes" in output  # a resubmit may pay twice: explicit confirmation only
    code, output = cli("jobs", "cancel", job_id, "--json")
    assert code == 0 and json.loads(output)["status"] == "cancelled"
    assert emulator.truth(hashes=False)["creates"] and all(
        n == 1 for n in emulator.truth(hashes=False)["creates"].values()
    )
