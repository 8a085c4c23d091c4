"""``vidgate jobs``: list, show, watch, download, cancel and retry jobs — all read from the store.

A job submitted by one process (``vidgate generate --detach``, a script, the gateway) can be watched and
collected by another, after a restart too, because everything comes from the shared store. Every command
prints for people by default (results on stdout, progress and hints on stderr) and one JSON document on
stdout with ``--json``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from vidgate.cli._common import (
    Exit,
    JsonOpt,
    OldStoreOpt,
    QuietOpt,
    StoreOpt,
    info,
    out,
    reported,
    run_async,
    set_quiet,
    store_url,
)
from vidgate.cli.emulator_jobs import cancel_here, made_with_emulator
from vidgate.cli.job_view import JobView, one_line, render_job, show_json, summary_json
from vidgate.client import AsyncClient
from vidgate.emulator.state import DEFAULT_KEY
from vidgate.errors import RequestError
from vidgate.store import JobNotFoundError, JobStore, open_store, timings
from vidgate.types import Job, JobStatus

T = TypeVar("T")
jobs_app = typer.Typer(help="Jobs in the store: list, show, watch, download, cancel, retry.", no_args_is_help=True)

ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="The key a job created with --api-key was sent with (vidgate stores only its fingerprint); jobs "
        "created with a key from the environment use that variable",
    ),
]
JobIdArg = Annotated[
    str,
    typer.Argument(metavar="JOB_ID", help="The job's id (job_...), or `last` for the newest job", show_default=False),
]
LAST = "last"
NO_WORKER_AFTER_S = 5.0  # a due job nobody has claimed for this long: say that no worker is running


def _run(store: str | None, action: Callable[[AsyncClient], Awaitable[T]], *, api_key: str | None = None,
         job_id: str | None = None) -> T:  # fmt: skip
    """Run ``action`` on the asyncio engine, on the store's jobs (each driven at its own endpoint). With
    ``api_key`` the client is configured for the job's own host with that key (a job created with --api-key)."""

    async def go() -> T:
        jobs = open_store(store)
        base_url = None
        if api_key is not None and job_id is not None:
            base_url = jobs.get(job_id).base_url
        async with AsyncClient(store=jobs, base_url=base_url, api_key=api_key) as client:
            return await action(client)

    return run_async(go())


def resolve_id(store: str | None, job_id: str) -> str:
    """``last`` is the newest job in the store (what a newcomer just made); any other value is an id, which
    must be in the store (else one plain line: which id, which store; exit 2)."""
    with open_store(store) as jobs:
        if job_id != LAST:
            try:
                jobs.get(job_id)
            except JobNotFoundError as missing:
                missing.args = (f"No job {job_id} in {_store_name(jobs)}. `vidgate jobs list` shows the jobs "
                                "there; --store picks another store.",)  # fmt: skip
                raise
            return job_id
        page = jobs.list_jobs(limit=1)
    if not page.jobs:
        raise RequestError("There are no jobs in the store yet, so `last` names none: create one with "
                           '`vidgate generate "..." --emulator` (offline) or `vidgate generate "..."`.')  # fmt: skip
    return page.jobs[0].id


def _store_name(jobs: JobStore) -> str:
    """The store as a person names it: the SQLite file, else its description (a PostgreSQL URL without password)."""
    path = getattr(jobs, "path", None)
    return str(path) if path is not None else repr(jobs)


def _check_key(job: Job, api_key: str | None, doing: str) -> None:
    """A job created with a key given as an argument is sent only with that key again: say so before trying."""
    ref = job.credentials_ref or ""
    if ref.startswith("key:") and api_key is None:
        asking = (f"{doing} job {job.id} means asking {job.base_url or job.provider} again, with the key it was "
                  f"created with: a key given on the command line (fingerprint {ref.removeprefix('key:')}), which "
                  "vidgate never stores.")  # fmt: skip
        if made_with_emulator(job):
            raise RequestError(
                f"{asking} That is the emulator's public key. If the emulator still runs (`vidgate emulate`), pass "
                f"--api-key {DEFAULT_KEY}. One started by --emulator stopped with its command and nothing can "
                f"reach the job again: `vidgate jobs cancel {job.id}` drops it (an emulator bills nothing)."
            )
        raise RequestError(f"{asking} Pass it again with --api-key.")


def _emit(job: Job, as_json: bool) -> None:
    """The result of watch, cancel and retry: one line for people, the summary object for machines."""
    if as_json:
        sys.stdout.write(json.dumps(summary_json(job), ensure_ascii=False) + "\n")
    else:
        out.print(one_line(job), markup=False)


@jobs_app.command("list")
def list_jobs(
    store: StoreOpt = None,
    status: Annotated[list[str] | None, typer.Option("--status", "-s", help="Only these states")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 50,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """The newest jobs (jobs waiting for your decision: --status unknown). `vidgate jobs show ID` has the rest."""
    with reported(as_json), open_store(store_url(store, database_url)) as jobs:
        page = jobs.list_jobs(status=status or None, provider=provider, limit=limit)
        if as_json:
            sys.stdout.write(json.dumps([summary_json(j) for j in page.jobs], ensure_ascii=False) + "\n")
            return
        if not page.jobs:
            out.print('No jobs yet. `vidgate generate "..." --emulator` makes one offline.', markup=False)
            return
        table = Table(title=f"{len(page.jobs)} jobs", box=None, pad_edge=False)
        # ids are what people copy: never wrapped or cut, whatever the width; the rest folds around them
        table.add_column("id", no_wrap=True, min_width=len(page.jobs[0].id))
        table.add_column("status", no_wrap=True)
        table.add_column("model", no_wrap=True)
        for col in ("created", "endpoint"):
            table.add_column(col, overflow="fold")
        for j in page.jobs:
            state = f"{j.status.value} {j.progress}%" if not j.status.terminal else j.status.value
            table.add_row(j.id, state, escape(j.model), j.created_at.strftime("%m-%d %H:%M:%S"),
                          escape(f"{j.base_url or j.provider} {j.credentials_ref or ''}".strip()))  # fmt: skip
        out.print(table)


@jobs_app.command("show")
def show(
    job_id: JobIdArg,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """One job: status, what to do next, error (the provider's words and their meaning), file, probe, timeline."""
    with reported(as_json), open_store(store_url(store, database_url)) as jobs:
        job_id = resolve_id(store_url(store, database_url), job_id)
        job = jobs.get(job_id)
        entries = jobs.timeline(job_id)
        view = JobView(job, entries, timings(entries))
        if as_json:
            sys.stdout.write(json.dumps(show_json(view), ensure_ascii=False, default=str) + "\n")
            return
        render_job(out, view)


def _unclaimed_for(job: Job, now: datetime) -> float:
    """Seconds the job has been due with no worker holding it (0 when it is not due or a worker has it)."""
    if job.next_poll_at is None or (job.lease_until is not None and job.lease_until > now):
        return 0.0
    return max(0.0, (now - job.next_poll_at).total_seconds())


@jobs_app.command("watch")
def watch(
    job_id: JobIdArg,
    store: StoreOpt = None,
    drive: Annotated[
        bool, typer.Option(help="Do the work here (send, poll, download) instead of waiting for a `vidgate worker`")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between looks at the store", min=0.01)] = 0.5,
    timeout: Annotated[
        float | None, typer.Option(help="Stop watching after this many seconds (exit 4; the job goes on)", min=0)
    ] = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Follow a job until it is done: a `vidgate worker` does the work, or this command with --drive.

    Exit codes: 0 the video is saved, 3 the job failed, expired or was cancelled, 4 --timeout passed first.
    """
    set_quiet(quiet, as_json)

    async def follow(client: AsyncClient) -> Job:
        started, last, warned = time.monotonic(), "", False
        job = client.job(job_id)
        if not drive and not job.done:
            info.print(f"Watching {job_id}: a `vidgate worker` does the work (--drive: this terminal does it).",
                       markup=False)  # fmt: skip
        while True:
            job = client.job(job_id)
            if drive and not job.done and client.now() >= (job.next_poll_at or client.now()):
                _check_key(job, api_key, "Driving")
                job = await client.advance(job)
            line = f"{job.status.value} {job.progress}% {job.raw_status or ''}".strip()
            if line != last:
                info.print(line, markup=False)
                last = line
            if job.done or (job.status is JobStatus.unknown and job.next_poll_at is None):
                return job
            if not drive and not warned and _unclaimed_for(job, client.now()) > NO_WORKER_AFTER_S:
                warned = True
                info.print(f"No worker has picked {job_id} up (it has been due for over {NO_WORKER_AFTER_S:g} s). "
                           f"Start one in another terminal: `vidgate worker`, or stop this and run "
                           f"`vidgate jobs watch {job_id} --drive`.", markup=False)  # fmt: skip
            if timeout is not None and time.monotonic() - started > timeout:
                info.print(f"Stopped watching after {timeout:g} s: {job_id} is {job.status.value} "
                           f"({job.progress}%) and goes on. Watch again with `vidgate jobs watch {job_id}`."
                           + ("" if drive else " Is a `vidgate worker` running?"), markup=False)  # fmt: skip
                _emit(job, as_json)
                raise typer.Exit(int(Exit.provider_error))
            await asyncio.sleep(interval)

    with reported(as_json):
        job_id = resolve_id(store_url(store, database_url), job_id)
        job = _run(store_url(store, database_url), follow, api_key=api_key, job_id=job_id)
        _emit(job, as_json)
        if job.status is not JobStatus.succeeded:
            if not as_json:
                for step in show_json(JobView(job))["next_steps"]:
                    info.print(f"  {step}", markup=False)
            raise typer.Exit(int(Exit.generation_failed))


@jobs_app.command("download")
def download(
    job_id: JobIdArg,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to put the video (default: the --out the job was created with, else ./<job id>.mp4)"
        ),
    ] = None,
    store: StoreOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Save a finished job's video: copied when it is already saved on this machine, downloaded otherwise."""

    async def fetch(client: AsyncClient) -> Job:
        job = client.job(job_id)
        if job.status is not JobStatus.succeeded:
            raise RequestError(f"job {job_id} is {job.status.value}: there is no video to download"
                               + ("" if job.status.terminal else f" yet (`vidgate jobs watch {job_id}`)"))  # fmt: skip
        video = job.video
        if video is not None and video.path and Path(video.path).exists():
            if out_file is not None and Path(out_file).absolute() != Path(video.path):
                shutil.copyfile(video.path, out_file)
                info.print(f"copied from {video.path}", markup=False)
                return job.model_copy(update={"assets": [
                    a.model_copy(update={"path": str(Path(out_file).absolute())}) if a is video else a
                    for a in job.assets]})  # fmt: skip
            return job
        if video is not None and video.path:
            info.print(f"{video.path} is gone (moved or deleted): downloading it again", markup=False)
        _check_key(job, api_key, "Downloading")
        return await client.download(job, out_file)

    with reported(as_json):
        job_id = resolve_id(store_url(store, database_url), job_id)
        job = _run(store_url(store, database_url), fetch, api_key=api_key, job_id=job_id)
        video = job.video
        assert video is not None
        if as_json:
            sys.stdout.write(json.dumps({"ok": True, "path": video.path, "job": summary_json(job)}) + "\n")
        else:
            out.print(str(video.path), markup=False)


@jobs_app.command("cancel")
def cancel(
    job_id: JobIdArg,
    store: StoreOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Cancel at the provider where it can; otherwise stop tracking the job here (already-paid work is lost)."""

    async def stop(client: AsyncClient) -> Job:
        job = client.job(job_id)
        if job.status.terminal:
            raise RequestError(f"job {job_id} is already {job.status.value}; nothing to cancel")
        if job.status is not JobStatus.pending and api_key is None and made_with_emulator(job):
            # its key is only a fingerprint and its emulator is likely gone (--emulator): a local cancel always
            # works, and an emulator bills nothing
            info.print(f"job {job_id} was made with the emulator's public key: cancelled here without asking "
                       "the emulator (it bills nothing; with --api-key it is asked too).", markup=False)  # fmt: skip
            return cancel_here(client.store, job, "cancelled in vidgate: an emulator's job (its emulator may be gone)")
        if job.status is not JobStatus.pending:
            _check_key(job, api_key, "Cancelling")
        return await client.cancel(job)

    with reported(as_json):
        job_id = resolve_id(store_url(store, database_url), job_id)
        _emit(_run(store_url(store, database_url), stop, api_key=api_key, job_id=job_id), as_json)


@jobs_app.command("retry")
def retry(
    job_id: JobIdArg,
    store: StoreOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this may pay for the video again")] = False,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Your decision on a job: an `unknown` one is resubmitted; a failed or expired one becomes a new job."""

    async def again(client: AsyncClient) -> Job:
        job = client.job(job_id)
        if not yes:
            raise RequestError(
                f"job {job_id} is {job.status.value}: retrying sends a new paid request to {job.provider}. "
                "Check the provider's console first, then run again with --yes."
            )
        _check_key(job, api_key, "Retrying")
        return await client.retry(job)

    with reported(as_json):
        job_id = resolve_id(store_url(store, database_url), job_id)
        job = _run(store_url(store, database_url), again, api_key=api_key, job_id=job_id)
        _emit(job, as_json)
        info.print(_after_retry(job, job_id), markup=False)


def _after_retry(job: Job, old_id: str) -> str:
    """What ``jobs retry`` did (sent again or not, as which job) and the command to run next."""
    jid = job.id
    sent = f"Sent again as a new job {jid} (job {old_id} stays as it was)" if jid != old_id else f"Sent {jid} again"
    follow = f"follow it with `vidgate jobs watch {jid} --drive` (or `vidgate jobs watch {jid}` while a worker runs)"
    if job.status is JobStatus.unknown:
        return (f"{sent}, but again no answer came back, so it is still unknown: check the provider's console, "
                f"then `vidgate jobs retry {jid} --yes` once more, or `vidgate jobs cancel {jid}`.")  # fmt: skip
    if job.status is JobStatus.pending:
        return (f"Not sent yet: job {jid} waits to be sent. `vidgate jobs watch {jid} --drive` sends and follows "
                "it from this terminal (or a running `vidgate worker` does).")  # fmt: skip
    if job.status is JobStatus.succeeded:
        return f"{sent}, and it is done: `vidgate jobs download {jid}` saves the video."
    if job.status.terminal:
        return f"{sent}, and it is {job.status.value}: `vidgate jobs show {jid}` says why."
    task = f" (task {job.provider_task_id})" if job.provider_task_id else ""
    return f"{sent}: the provider accepted it{task}; {follow}."
