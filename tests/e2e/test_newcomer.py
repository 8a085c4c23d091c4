"""Issue 17: a newcomer's first hour — every wait explained, every command readable, every README step obvious.

One test (or a few) per papercut of the issue, in its order. CLI commands run in this process through the typer
app with the session's emulator as the relay; ``vidgate emulate`` runs as a real process where binding and its
banner are the point.
"""

from __future__ import annotations

import importlib
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner, Result

from tests.badinput.helpers import provider_requests
from vidgate.cli import app
from vidgate.cli import jobs as jobs_cli
from vidgate.client import Client
from vidgate.emulator import POLICY_FAIL_REASON, EmulatorConfig, EmulatorServer
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.errors import ConfigurationError, ValidationError
from vidgate.problems import CLI, PYTHON
from vidgate.server.errors import OPENAI_FIELDS, from_vidgate
from vidgate.types import ErrorCode, JobError

docs_cli = importlib.import_module("vidgate.cli.docs")  # (the package exports the command, not the module)
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FAST = "0.003"


def run(*args: str, columns: int = 120) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


@pytest.fixture
def relay(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """The session's emulator as the relay (as `vidgate emulate`'s banner says to set it), a fresh store."""
    monkeypatch.setenv("VIDGATE_RELAY_BASE_URL", emulator.url)
    monkeypatch.setenv("VIDGATE_RELAY_API_KEY", emulator.api_key)
    monkeypatch.setenv("VIDGATE_POLL_TIME_SCALE", FAST)
    monkeypatch.setenv("VIDGATE_DATABASE_URL", str(tmp_path / "jobs.db"))
    monkeypatch.chdir(tmp_path)
    yield emulator


def emulate(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "vidgate", "emulate", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


# -------------------------------------------------------------------------------- the emulator's key and speed


def test_emulate_banner_names_the_key_and_the_variables_to_paste() -> None:
    proc = emulate("--port", "0")
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(6)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = "".join(lines)
    assert "API key: emulator-key" in text
    assert re.search(r"export VIDGATE_RELAY_BASE_URL=http://127\.0\.0\.1:\d+ VIDGATE_RELAY_API_KEY=emulator-key", text)
    assert "export VIDGATE_POLL_TIME_SCALE=0.05" in text


def test_readme_python_snippet_shows_where_the_key_and_speed_come_from() -> None:
    text = README.read_text(encoding="utf-8")
    snippet = text[text.index("### From Python") : text.index("### Install")]
    assert "emulator-key" in snippet and "VIDGATE_POLL_TIME_SCALE=0.05" in snippet
    assert "Client(poll_policy=PollPolicy(time_scale=0.05))" in snippet


def test_a_busy_port_is_an_error_before_any_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = emulate("--port", str(taken.getsockname()[1]))
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "Cannot listen" in stderr and "--port" in stderr
    assert "emulator on" not in stderr and "export" not in stderr


def test_library_polls_on_the_emulators_time_scale_from_the_environment(tmp_path: Path) -> None:
    env = {"VIDGATE_POLL_TIME_SCALE": "0.05"}
    with Client(env=env) as client:
        assert client._core.poll_policy.time_scale == 0.05
    with Client(env=env, poll_policy=PollPolicy(time_scale=0.5)) as client:  # an explicit policy wins
        assert client._core.poll_policy.time_scale == 0.5
    with Client(env={}) as client:
        assert client._core.poll_policy == DEFAULT_POLICY
    with pytest.raises(ConfigurationError, match="VIDGATE_POLL_TIME_SCALE"):
        Client(env={"VIDGATE_POLL_TIME_SCALE": "fast"})

    # a real run: jobs of half a second; on the real schedule the first status check alone would come after
    # 60% of sora-2's typical latency, so this 20 s timeout would expire the job
    with EmulatorServer(EmulatorConfig(queue_seconds=0.1, render_seconds=0.4)) as emu:
        env = {"VIDGATE_RELAY_BASE_URL": emu.url, "VIDGATE_RELAY_API_KEY": emu.api_key,
               "VIDGATE_POLL_TIME_SCALE": FAST}  # fmt: skip
        with Client(env=env) as client:
            job = client.generate("a lighthouse", model="sora-2", out=tmp_path / "l.mp4", timeout=20)
    assert job.video is not None and job.video.probe is not None and job.video.probe.duration == pytest.approx(10)


# -------------------------------------------------------------------------------- jobs: readable, copyable


def _made(relay: EmulatorServer, prompt: str = "a fox", *extra: str) -> str:
    result = run("generate", prompt, "-m", "sora-2", "--json", *extra)
    body = json.loads(result.stdout)
    return str(body["job"]["id"] if body["ok"] else body["error"]["job"]["id"])


def test_jobs_show_is_a_readable_summary_and_json_for_machines(relay: EmulatorServer) -> None:
    job_id = _made(relay, "a fox", "--out", "fox.mp4")
    shown = run("jobs", "show", job_id)
    assert shown.exit_code == 0
    for part in ("status: succeeded", "What to do", "Files", "Probe", "10 s, ", "Timeline", "download_completed"):
        assert part in shown.stdout, part
    assert not shown.stdout.lstrip().startswith("{")
    body = json.loads(run("jobs", "show", job_id, "--json").stdout)
    assert body["job"]["id"] == job_id and body["timeline"] and body["next_steps"]
    assert body["job"]["out"] == str(Path("fox.mp4").absolute())


def test_jobs_show_of_a_refusal_keeps_the_providers_words_and_says_what_they_mean(relay: EmulatorServer) -> None:
    job_id = _made(relay, "a FAIL_POLICY fox")
    shown = run("jobs", "show", job_id).stdout
    assert POLICY_FAIL_REASON in shown  # verbatim, in the relay's language
    assert "meaning: the provider's content policy refused" in shown
    assert "change the prompt" in shown
    failed = run("generate", "another FAIL_POLICY fox", "-m", "sora-2")
    assert failed.exit_code == 3
    assert POLICY_FAIL_REASON in failed.output and "Meaning (content_policy_output)" in failed.output


def test_the_meaning_of_every_error_code_is_one_english_line() -> None:
    for code in ErrorCode:
        meaning = JobError(code=code, message="x").meaning
        assert meaning and "\n" not in meaning and meaning.isascii(), code


def test_job_ids_stay_whole_in_an_80_column_list(relay: EmulatorServer) -> None:
    ids = [_made(relay, f"fox {i}") for i in range(2)]
    listing = run("jobs", "list", columns=80)
    assert listing.exit_code == 0
    for job_id in ids:
        assert any(job_id in line for line in listing.stdout.splitlines()), listing.stdout
    assert all(len(line) <= 80 for line in listing.stdout.splitlines())


def test_jobs_cancel_and_retry_print_a_line_and_json_on_request(relay: EmulatorServer) -> None:
    submitted = run("generate", "a cat", "-m", "sora-2", "--detach", "--json")
    job_id = json.loads(submitted.stdout)["job"]["id"]
    cancelled = run("jobs", "cancel", job_id)
    assert cancelled.exit_code == 0 and cancelled.stdout.startswith(f"{job_id} cancelled")
    again = run("jobs", "retry", job_id, "--yes", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["id"] != job_id


def test_last_names_the_newest_job_and_an_empty_store_says_how_to_make_one(relay: EmulatorServer) -> None:
    empty = run("jobs", "show", "last")
    assert empty.exit_code == 2 and "vidgate generate" in empty.output
    job_id = _made(relay)
    assert job_id in run("jobs", "show", "last").stdout


# -------------------------------------------------------------------------------- detach, watch, resume


def test_detach_says_what_to_run_next(relay: EmulatorServer) -> None:
    result = run("generate", "a heron", "-m", "sora-2", "--detach")
    assert result.exit_code == 0
    job_id = re.search(r"submitted (job_\w+)", result.stdout).group(1)  # type: ignore[union-attr]
    assert f"vidgate jobs watch {job_id} --drive" in result.output and "vidgate worker" in result.output


def test_detach_with_the_built_in_emulator_is_refused() -> None:
    result = run("generate", "a heron", "-m", "sora-2", "--detach", "--emulator")
    assert result.exit_code == 2 and "vidgate emulate" in result.output


def test_watch_without_a_worker_says_why_nothing_moves_and_a_timeout_says_so(
    relay: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_cli, "NO_WORKER_AFTER_S", 0.0)
    job_id = json.loads(run("generate", "a heron", "-m", "sora-2", "--detach", "--json").stdout)["job"]["id"]
    watched = run("jobs", "watch", job_id, "--timeout", "1", "--interval", "0.05")
    assert watched.exit_code == 4
    assert "No worker has picked" in watched.output and "vidgate worker" in watched.output
    assert "Stopped watching after 1 s" in watched.output and f"vidgate jobs watch {job_id}" in watched.output


def test_resuming_saves_to_the_out_the_job_was_created_with(relay: EmulatorServer, tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    submitted = run("generate", "a heron", "-m", "sora-2", "--detach", "--out", "videos/heron.mp4", "--json")
    job_id = json.loads(submitted.stdout)["job"]["id"]
    driven = run("jobs", "watch", job_id, "--drive", "--interval", "0.01")
    assert driven.exit_code == 0, driven.output
    saved = tmp_path / "videos" / "heron.mp4"
    assert saved.stat().st_size > 0 and not list(tmp_path.glob("job_*.mp4"))
    assert str(saved) in driven.stdout


def test_download_from_another_directory_finds_the_saved_file(
    relay: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _made(relay, "a heron", "--out", "heron.mp4")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = provider_requests(relay)
    got = run("jobs", "download", job_id)
    assert got.exit_code == 0 and got.stdout.strip() == str(tmp_path / "heron.mp4")
    assert provider_requests(relay) == before  # found where it was saved: nothing downloaded again
    assert run("jobs", "download", job_id, "--out", "copy.mp4").exit_code == 0
    assert (elsewhere / "copy.mp4").read_bytes() == (tmp_path / "heron.mp4").read_bytes()


def test_a_job_made_with_a_key_argument_asks_for_it_again_by_name(relay: EmulatorServer, tmp_path: Path) -> None:
    monkeypatch_env = {"VIDGATE_RELAY_API_KEY": None}
    made = CliRunner().invoke(app, ["generate", "x", "-m", "sora-2", "--api-key", relay.api_key, "--out", "k.mp4",
                                    "--json"], env=monkeypatch_env)  # fmt: skip
    job_id = json.loads(made.stdout)["job"]["id"]
    (tmp_path / "k.mp4").unlink()
    again = CliRunner().invoke(app, ["jobs", "download", job_id], env=monkeypatch_env)
    assert again.exit_code == 2 and "--api-key" in again.output and "fingerprint" in again.output
    fixed = CliRunner().invoke(app, ["jobs", "download", job_id, "--api-key", relay.api_key], env=monkeypatch_env)
    assert fixed.exit_code == 0, fixed.output
    assert (tmp_path / "k.mp4").exists()


def test_library_paths_are_stored_absolute(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    job = client.generate("a fox", model="sora-2", out="rel.mp4")
    assert job.video is not None and job.video.path == str(tmp_path / "rel.mp4")
    assert client.job(job.id).out == str(tmp_path / "rel.mp4")


# -------------------------------------------------------------------------------- worker and the store option


def test_worker_saves_under_vidgate_home_not_where_it_runs(relay: EmulatorServer, tmp_path: Path) -> None:
    job_id = json.loads(run("generate", "a heron", "-m", "sora-2", "--detach", "--json").stdout)["job"]["id"]
    worked = run("worker", "--until-idle", "--idle", "0.02")
    assert worked.exit_code == 0, worked.output
    home = Path(__import__("os").environ["VIDGATE_HOME"])
    assert (home / "files" / f"{job_id}.mp4").exists()
    assert not (tmp_path / "vidgate-downloads").exists()


def _commands() -> Iterator[tuple[str, Any]]:
    """Every command of the CLI and its path (typer builds click-style commands; groups have ``commands``)."""

    def walk(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, cmd
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}".strip())

    yield from walk(get_command(app), "")


# commands that had --database-url before the store option got one name (issue 17)
OLD_SPELLING = {"serve", "worker", "keys create", "keys list", "keys revoke"}


def test_one_name_for_the_store_everywhere_with_its_default_shown() -> None:
    with_store = []
    for path, cmd in _commands():
        opts = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if not getattr(p, "hidden", False)}
        hidden = {o for p in cmd.params if getattr(p, "hidden", False) for o in p.opts}
        assert "--database-url" not in opts, path
        if "--store" in opts:
            with_store.append(path)
            if path in OLD_SPELLING:
                assert "--database-url" in hidden, path  # the old spelling still works
            store = next(p for p in cmd.params if "--store" in p.opts)
            assert "~/.vidgate/vidgate.db" in (getattr(store, "help", "") or ""), path
    assert {"generate", "worker", "serve", "jobs list", "jobs show", "keys create", "keys list"} <= set(with_store)
    worker_help = run("worker", "--help", columns=200).stdout
    assert "~/.vidgate/files" in worker_help


def test_the_old_store_spelling_still_works(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    assert run("keys", "list", "--database-url", str(db), "--json").exit_code == 0
    assert run("jobs", "list", "--database-url", str(db), "--json").stdout.strip() == "[]"


def test_characters_from_task_on_a_fresh_emulator_is_refused_with_what_to_do(relay: EmulatorServer) -> None:
    result = run("characters", "create", "-t", "1,3", "--from-task", "task_1", "--emulator")
    assert result.exit_code == 2
    assert "vidgate emulate" in result.output and "--from-task" in result.output
    assert provider_requests(relay) == 0


# -------------------------------------------------------------------------------- help, version, echoed text


def test_help_texts_have_no_type_noise_rst_or_source_paths() -> None:
    for path, cmd in _commands():
        for param in cmd.params:  # Rich reads "[default: x]" in a help text as markup and drops it
            assert not re.search(r"\[\w[^\]]*:", getattr(param, "help", "") or ""), (path, param.name)
        text = run(*path.split(), "--help", columns=200).stdout
        assert "<bool>" not in text, path
        assert "``" not in text, path
        assert not re.search(r"\b\w+/\w+\.py\b", text), path
    assert re.fullmatch(r"vidgate \S+\n", run("--version").stdout)


def test_user_text_is_never_read_as_emoji_or_markup(relay: EmulatorServer, tmp_path: Path) -> None:
    result = run("generate", "a [bold]fox[/bold] :x:", "-m", "sora-2", "--out", "nope:x:.mp4")
    assert result.exit_code == 0, result.output
    assert "nope:x:.mp4" in result.stdout and "❌" not in result.output
    shown = run("jobs", "show", "last").stdout
    assert "'a [bold]fox[/bold] :x:'" in shown and "❌" not in shown


# -------------------------------------------------------------------------------- docs outside the repository


def test_docs_check_outside_a_checkout_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert docs_cli.checkout_doc() == ROOT / "docs" / "providers.md"  # found from any directory
    monkeypatch.setattr(docs_cli, "checkout_doc", lambda: None)  # as in an installed package
    for flag in ("--check", "--write"):
        result = run("docs", flag)
        assert result.exit_code == 2 and "not a checkout" in result.output, result.output
        assert "out of date" not in result.output
    assert not (tmp_path / "docs").exists()
    missing = run("docs", "--check", "--path", str(tmp_path / "p.md"))
    assert missing.exit_code == 1 and "does not exist yet" in missing.output


# -------------------------------------------------------------------------------- suggestions in the caller's words


def _problem(**fields: object) -> ValidationError:
    with Client(env={}) as client, pytest.raises(ValidationError) as caught:
        client.prepare("x", model="sora-2", **fields)
    return caught.value


def test_suggestions_name_the_callers_own_field() -> None:
    exc = _problem(duration=7)
    assert "Use duration=10, or pass fit=True" in str(exc)  # Python
    assert "Use --duration 10, or pass --fit" in exc.render(CLI)
    api = from_vidgate(exc, OPENAI_FIELDS).body()["error"]
    assert '"seconds": "10"' in api["message"] and "--" not in api["message"] and "fit" not in api["message"]
    assert api["problems"][0]["param"] == "seconds" and '"seconds": "10"' in api["problems"][0]["message"]
    relay_api = from_vidgate(exc, {}).body()["error"]["message"]
    assert '"duration": 10' in relay_api and "--duration" not in relay_api
    assert exc.problems[0].as_dict(PYTHON)["suggestion"].startswith("use duration=10")


def test_cli_suggestions_use_flags(relay: EmulatorServer) -> None:
    result = run("generate", "x", "-m", "sora-2", "-d", "7", "-a", "5:3", "--json")
    problems = json.loads(result.stdout)["error"]["problems"]
    assert [p["suggestion"].split(",")[0] for p in problems] == ["use --duration 10", "use --aspect-ratio 16:9"]


# -------------------------------------------------------------------------------- output discipline, README


def test_json_is_alone_on_stdout_and_quiet_leaves_stderr_to_errors(relay: EmulatorServer) -> None:
    as_json = run("generate", "a fox", "-m", "sora-2", "--json", "--out", "a.mp4")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["ok"] and as_json.stderr == ""
    quiet = run("-q", "generate", "a fox", "-m", "sora-2", "--out", "b.mp4")
    assert quiet.exit_code == 0 and quiet.stderr == "" and "Saved" in quiet.stdout
    chatty = run("generate", "a fox", "-m", "sora-2", "--out", "c.mp4")
    assert "IN_PROGRESS" in chatty.stderr and "Saved" in chatty.stdout and "IN_PROGRESS" not in chatty.stdout
    bad = run("generate", "x", "-m", "sora-2", "-d", "7", "-q")
    assert bad.exit_code == 2 and "duration" in bad.stderr  # errors are never silenced


def test_readme_first_screen_and_links() -> None:
    text = README.read_text(encoding="utf-8")
    first = text[: text.index("## Using it")]
    for answer in ("What it is", "Try it offline", "Where did my video go", "Point it at your real key"):
        assert answer in first, answer
    assert "apt-get" in first and "root" in first  # make test installs chromium, curl and wrk as root
    assert "../shared" not in text
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
