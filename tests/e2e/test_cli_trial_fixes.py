"""What a newcomer's trial of the CLI found (notes/newuser.md), each fixed and pinned: Ctrl-C on an --emulator
run, jobs of an emulator that is gone, `serve` on a busy port, piped tables, what `jobs retry` did, no bare
headings, unknown ids, and the timeline's send step."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from vidgate.catalog import load_catalog
from vidgate.cli import app
from vidgate.cli.models_remote import print_capabilities, print_discovery
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.providers.remote_models import Discovery, RemoteModel
from vidgate.store import open_store
from vidgate.store.gateway import gateway_data

FAST = "0.003"


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def vidgate(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """A real `vidgate` process: stdout and stderr are pipes (not terminals), as under `| grep`."""
    return subprocess.Popen([sys.executable, "-m", "vidgate", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db = str(tmp_path / "jobs.db")
    monkeypatch.setenv("VIDGATE_DATABASE_URL", db)
    monkeypatch.chdir(tmp_path)
    return db


@pytest.fixture
def proc_env(store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGATE_") or k == "VIDGATE_HOME"}
    env.pop("COLUMNS", None)
    return {**env, "VIDGATE_DATABASE_URL": store}


def interrupt_once_queued(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait until the job is at the provider (the plain progress line), then Ctrl-C."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if re.match(r"(queued|running) ", line):
            break
    else:
        raise AssertionError(f"the job never reached the provider:\n{''.join(seen)}")
    proc.send_signal(signal.SIGINT)
    stdout, rest = proc.communicate(timeout=60)
    return stdout, "".join(seen) + rest


def job_json(job_id: str) -> dict[str, object]:
    shown = run("jobs", "show", job_id, "--json")
    assert shown.exit_code == 0, shown.output
    return dict(json.loads(shown.stdout)["job"])


# -------------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_on_an_emulator_run_cancels_the_job_and_says_so_once(proc_env: dict[str, str]) -> None:
    # jobs ten times slower than --emulator's default: the Ctrl-C surely lands while the job runs
    proc = vidgate("generate", "a snail racing", "-m", "sora-2", "--emulator", "--out", "snail.mp4",
                   env={**proc_env, "VIDGATE_POLL_TIME_SCALE": "0.5"})  # fmt: skip
    _, stderr = interrupt_once_queued(proc)
    assert proc.returncode == 130, stderr
    assert stderr.count("Interrupted") == 1, stderr
    job_id = re.search(r"job (job_\w+) \(", stderr).group(1)  # type: ignore[union-attr]
    said = stderr[stderr.index("Interrupted") :]
    assert f"job {job_id} is cancelled" in said and "built-in emulator" in said and "billed" in said
    assert "jobs watch" not in said and "resume" not in said  # advice that could not work is not given
    job = job_json(job_id)
    assert job["status"] == "cancelled" and job["next_poll_at"] is None
    assert not job.get("cancel_unconfirmed")  # an emulator bills nothing: nothing left to charge
    assert run("jobs", "list", "--status", "queued", "--json").stdout.strip() == "[]"


def test_ctrl_c_on_a_real_endpoint_keeps_the_resume_advice(proc_env: dict[str, str]) -> None:
    with EmulatorServer(EmulatorConfig(queue_seconds=60, render_seconds=5)) as emu:
        env = {**proc_env, "VIDGATE_RELAY_BASE_URL": emu.url, "VIDGATE_RELAY_API_KEY": emu.api_key,
               "VIDGATE_POLL_TIME_SCALE": FAST}  # fmt: skip
        proc = vidgate("generate", "a snail", "-m", "sora-2", "--out", "snail.mp4", env=env)
        _, stderr = interrupt_once_queued(proc)
        assert proc.returncode == 130, stderr
        assert stderr.count("Interrupted") == 1, stderr
        job_id = re.search(r"job (job_\w+) \(", stderr).group(1)  # type: ignore[union-attr]
        assert f"`vidgate jobs watch {job_id} --drive`" in stderr and f"`vidgate jobs cancel {job_id}`" in stderr
        assert job_json(job_id)["status"] == "queued"  # the provider has it: left for the user to resume


# -------------------------------------------------------------------------------- a job of an emulator that is gone


def test_jobs_of_a_stopped_emulator_can_be_cancelled_and_other_commands_say_how(store: str) -> None:
    with EmulatorServer(EmulatorConfig(queue_seconds=60)) as emu:
        made = run("generate", "a heron", "-m", "sora-2", "--detach", "--json", "--base-url", emu.url,
                   "--api-key", emu.api_key)  # fmt: skip
        assert made.exit_code == 0, made.output
        job_id = json.loads(made.stdout)["job"]["id"]
    # the emulator is gone, and its key was never stored
    for command in (["watch", job_id, "--drive"], ["retry", job_id, "--yes"]):
        refused = run("jobs", *command)
        assert refused.exit_code == 2, refused.output
        assert f"`vidgate jobs cancel {job_id}`" in refused.output and "--api-key emulator-key" in refused.output
    cancelled = run("jobs", "cancel", job_id)
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.startswith(f"{job_id} cancelled") and "bills nothing" in cancelled.output
    job = job_json(job_id)
    assert job["status"] == "cancelled" and not job.get("cancel_unconfirmed")


def test_a_job_with_a_real_key_argument_is_still_not_cancelled_blindly(store: str) -> None:
    with EmulatorServer(EmulatorConfig(queue_seconds=60, api_keys={"sk-real-looking"})) as emu:
        made = run("generate", "a heron", "-m", "sora-2", "--detach", "--json", "--base-url", emu.url,
                   "--api-key", "sk-real-looking")  # fmt: skip
        job_id = json.loads(made.stdout)["job"]["id"]
        refused = run("jobs", "cancel", job_id)
        assert refused.exit_code == 2 and "--api-key" in refused.output and "emulator" not in refused.output
        assert job_json(job_id)["status"] == "queued"
        assert run("jobs", "cancel", job_id, "--api-key", "sk-real-looking").exit_code == 0


# -------------------------------------------------------------------------------- serve on a busy port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_serve_on_a_busy_port_says_so_before_any_banner_or_worker(proc_env: dict[str, str], taken_port: int) -> None:
    proc = vidgate("serve", "--port", str(taken_port), "--no-auth", "--emulator", env=proc_env)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert f"Cannot listen on 127.0.0.1:{taken_port}" in stderr and "--port" in stderr
    for started in ("gateway on", "built-in emulator", "worker", "Errno", "Traceback"):
        assert started not in stderr, stderr


def test_serve_on_port_0_announces_the_port_it_got(proc_env: dict[str, str]) -> None:
    import httpx

    proc = vidgate("serve", "--port", "0", "--no-auth", env=proc_env)
    try:
        assert proc.stderr is not None
        banner = next(line for line in proc.stderr if "gateway on" in line)
        url = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert url is not None and url.group(1) != "0", banner
        for _ in range(100):
            try:
                if httpx.get(url.group(0) + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        else:
            raise AssertionError("the gateway never answered /healthz")
    finally:
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in rest  # Ctrl-C: uvicorn shuts down, then exits as asked


# -------------------------------------------------------------------------------- piped output


def test_piped_tables_keep_every_model_name_and_key_id_on_one_line(proc_env: dict[str, str], store: str) -> None:
    models = vidgate("models", env=proc_env)
    stdout, stderr = models.communicate(timeout=60)
    assert models.returncode == 0, stderr
    lines = stdout.splitlines()
    missing = [key for key in load_catalog().models if not any(key in line for line in lines)]
    assert not missing, missing  # e.g. `vidgate models | grep relay/sora-2` finds its line

    with open_store(store) as jobs:
        data = gateway_data(jobs)
        from vidgate.server.tenants import create_key

        made = [create_key(data, f"the nightly batch of the {team} team in Lisbon, second floor").record.id
                for team in ("marketing", "research")]  # fmt: skip
    keys = vidgate("keys", "list", env=proc_env)
    stdout, stderr = keys.communicate(timeout=60)
    assert keys.returncode == 0, stderr
    for key_id in made:
        assert any(key_id in line and "Lisbon, second floor" in line for line in stdout.splitlines()), stdout


def test_a_set_terminal_width_is_still_honoured() -> None:
    narrow = run("models", env={"COLUMNS": "80"})
    assert narrow.exit_code == 0 and all(len(line) <= 80 for line in narrow.stdout.splitlines())


# -------------------------------------------------------------------------------- retry, unknown ids, timeline


@pytest.fixture
def relay(emulator: EmulatorServer, store: str, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv("VIDGATE_RELAY_BASE_URL", emulator.url)
    monkeypatch.setenv("VIDGATE_RELAY_API_KEY", emulator.api_key)
    monkeypatch.setenv("VIDGATE_POLL_TIME_SCALE", FAST)
    return emulator


def test_retry_says_whether_it_was_sent_and_what_to_run_next(relay: EmulatorServer) -> None:
    relay.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_drop", "count": 2}]})
    made = run("generate", "a paid video", "-m", "sora-2", "--json")
    job_id = json.loads(made.stdout)["error"]["job"]["id"]
    again = run("jobs", "retry", "last", "--yes")  # the resend is dropped too
    assert again.exit_code == 0 and again.stdout.startswith(f"{job_id} unknown")
    assert "again no answer came back" in again.output and f"`vidgate jobs retry {job_id} --yes`" in again.output
    third = run("jobs", "retry", job_id, "--yes")
    assert third.exit_code == 0 and third.stdout.startswith(f"{job_id} queued")
    assert "accepted it" in third.output and f"`vidgate jobs watch {job_id} --drive`" in third.output

    shown = run("jobs", "show", job_id).stdout  # (queued now: its send step was only a moment)
    assert "sending the create" in shown and "status unknown" not in shown


def test_retry_of_a_failed_job_names_the_new_job(relay: EmulatorServer) -> None:
    made = run("generate", "FAIL_POLICY a cat", "-m", "sora-2", "--json")
    job_id = json.loads(made.stdout)["error"]["job"]["id"]
    again = run("jobs", "retry", job_id, "--yes")
    new_id = again.stdout.split()[0]
    assert new_id != job_id and f"new job {new_id}" in again.output and f"job {job_id} stays" in again.output


def test_an_unknown_id_is_one_plain_line_naming_the_store(relay: EmulatorServer, store: str) -> None:
    for command in (["show"], ["watch"], ["download"], ["cancel"], ["retry", "--yes"]):
        looked = run("jobs", command[0], "job_doesnotexist", *command[1:])
        assert looked.exit_code == 2, looked.output
        assert looked.output.startswith(f"No job job_doesnotexist in {store}."), looked.output
        assert "Invalid request" not in looked.output
    body = json.loads(run("jobs", "show", "job_doesnotexist", "--json").stdout)
    assert body["exit_code"] == 2 and body["error"]["type"] == "JobNotFoundError"


def test_the_timeline_shows_the_send_step_not_an_alarming_unknown(relay: EmulatorServer) -> None:
    made = run("generate", "a fox", "-m", "sora-2", "--json", "--out", "fox.mp4")
    job_id = json.loads(made.stdout)["job"]["id"]
    timeline = run("jobs", "show", job_id).stdout.split("Timeline", 1)[1]
    assert re.search(r"\+0\.\d s  sending the create\n", timeline), timeline
    assert "unknown" not in timeline
    raw = json.loads(run("jobs", "show", job_id, "--json").stdout)["timeline"]
    assert "unknown" in [e["status"] for e in raw]  # (presentation only: the stored record is as it was)

    relay.set_faults({"rules": [{"endpoint": "POST /v2/videos/generations", "kind": "accept_then_drop"}]})
    lost = json.loads(run("generate", "a paid video", "-m", "sora-2", "--json").stdout)["error"]["job"]["id"]
    assert "sending the create (status unknown: no answer came back)" in run("jobs", "show", lost).stdout


# -------------------------------------------------------------------------------- models --remote


def _discovery(**extra: object) -> Discovery:
    listed = RemoteModel.model_validate({"id": "acme/video-1", "object": "model", **extra})
    return Discovery(provider="openrouter", base_url="http://127.0.0.1:1", compared=["openrouter"], remote_count=1,
                     models=[], unknown=[], remote=[listed])  # fmt: skip


def test_models_remote_prints_no_heading_over_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    print_discovery(_discovery(pricing_skus={"per_second": "0.1"}), show_all=False)
    shown = capsys.readouterr().out
    assert "the account lists 1 models" in shown
    assert "catalog models on this account" not in shown and "capabilities" not in shown
    print_capabilities(_discovery(supported_durations=[5, 10]))
    assert "capabilities the provider publishes" in capsys.readouterr().out


# -------------------------------------------------------------------------------- every provider offline


@pytest.mark.parametrize(
    ("model", "extra", "probed"),
    [
        ("openai/sora-2", ["--allow-retired", "-d", "4"], "4 s, 720x1280"),  # OpenAI's own /v1/videos (/openai)
        ("kling/kling-v2-6", ["-d", "5"], "5 s, 1280x720"),  # signed with the emulator's Kling secret
        ("veo-3.1-generate-001", [], "8 s, 1280x720"),  # Vertex: a project and the emulator as storage host
    ],
)
def test_generate_emulator_reaches_providers_that_need_more_than_a_host(
    proc_env: dict[str, str], model: str, extra: list[str], probed: str
) -> None:
    proc = vidgate("generate", "a fox", "-m", model, "--emulator", "--out", "fox.mp4", *extra, env=proc_env)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"probed: {probed}" in stdout + stderr


def test_jobs_show_of_an_unknown_outcome_does_not_blame_the_provider() -> None:
    """An unknown create is vidgate's own report (the answer never came back), not the provider's failure."""
    from vidgate.cli.job_view import JobView, error_json, job_sections
    from vidgate.types import Job, JobError, JobStatus, VideoRequest, utcnow

    now = utcnow()
    error = JobError(code="provider_error", message="submit outcome unknown (read timeout); check the console")
    job = Job(id="job_x", provider="relay", model="sora-2", status=JobStatus.unknown, error=error, created_at=now,
              updated_at=now, request=VideoRequest(model="sora-2", prompt="x"))  # fmt: skip
    (section,) = [s for s in job_sections(JobView(job)) if s.title == "Error"]
    text = "\n".join(section.lines)
    assert "what happened: submit outcome unknown" in text and "provider said" not in text
    assert "failed to make the video" not in text and "answer never came back" in text
    shown = error_json(job)
    assert shown is not None and "answer never came back" in shown["meaning"]
