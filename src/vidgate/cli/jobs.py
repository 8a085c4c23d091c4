"""``vidgate jobs``: list, show, watch, download, cancel and retry jobs — all read from the store.

A job submitted by one process (``vidgate generate --detach``, a script, the gateway) can be watched and
collected by another, after a restart too, because everything comes from the shared store.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from vidgate.cli._common import err, out, reported, run_async
from vidgate.client import AsyncClient
from vidgate.engine.endpoints import describe_endpoint
from vidgate.errors import RequestError
from vidgate.store import open_store, timings
from vidgate.types import Job, JobStatus

T = TypeVar("T")
jobs_app = typer.Typer(help="Jobs in the store: list, show, watch, download, cancel, retry.", no_args_is_help=True)

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", envvar="VIDGATE_DATABASE_URL", help="Job store: SQLite path or postgresql:// URL "
                 "(default $VIDGATE_HOME/vidgate.db)"),
]  # fmt: skip
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout")]


def _run(store: str | None, action: Callable[[AsyncClient], Awaitable[T]]) -> T:
    """Run ``action`` on the asyncio engine, on the store's jobs (each driven at its own endpoint)."""

    async def go() -> T:
        async with AsyncClient(store=open_store(store)) as client:
            return await action(client)

    return run_async(go())


def _summary(job: Job) -> dict[str, Any]:
    video = job.video
    return {
        "id": job.id,
        "model": job.model,
        "status": job.status.value,
        "raw_status": job.raw_status,
        "progress": job.progress,
        "provider_task_id": job.provider_task_id,
        "endpoint": describe_endpoint(job.provider, job.base_url, job.credentials_ref),
        "created_at": job.created_at.isoformat(),
        "video": video.path if video else None,
        "error": job.error.model_dump(mode="json", exclude={"raw"}) if job.error else None,
    }


@jobs_app.command("list")
def list_jobs(
    store: StoreOpt = None,
    status: Annotated[list[str] | None, typer.Option("--status", "-s", help="Only these states")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The newest jobs (jobs waiting for your decision: --status unknown)."""
    with reported(as_json), open_store(store) as jobs:
        page = jobs.list_jobs(status=status or None, provider=provider, limit=limit)
        if as_json:
            sys.stdout.write(json.dumps([_summary(j) for j in page.jobs], ensure_ascii=False) + "\n")
            return
        table = Table(title=f"{len(page.jobs)} jobs")
        for col in ("id", "model", "status", "raw", "progress", "created", "provider task", "endpoint"):
            table.add_column(col, overflow="fold")
        for j in page.jobs:
            table.add_row(j.id, j.model, j.status.value, j.raw_status or "", f"{j.progress}%",
                          j.created_at.strftime("%Y-%m-%d %H:%M:%S"), j.provider_task_id or "",
                          f"{j.base_url or '-'} {j.credentials_ref or ''}".strip())  # fmt: skip
        out.print(table)


@jobs_app.command("show")
def show(job_id: str, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Everything about one job: request, state, assets, error, timeline and phase durations."""
    with reported(as_json), open_store(store) as jobs:
        job = jobs.get(job_id)
        entries = jobs.timeline(job_id)
        t = timings(entries)
        body = {
            "job": job.model_dump(mode="json"),
            "timeline": [
                {"at": e.at.isoformat(), "kind": e.kind, "status": e.status, "detail": e.detail} for e in entries
            ],
            "timings": {
                "queued_s": t.queued_s,
                "render_s": t.render_s,
                "download_s": t.download_s,
                "total_s": t.total_s,
            },
        }
        if as_json:
            sys.stdout.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
            return
        out.print_json(data=body, default=str)


@jobs_app.command("watch")
def watch(
    job_id: str,
    store: StoreOpt = None,
    drive: Annotated[bool, typer.Option(help="Also do the work here (poll, download) instead of a worker")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between looks at the store")] = 0.5,
    timeout: Annotated[float | None, typer.Option(help="Stop watching after this many seconds")] = None,
) -> None:
    """Follow a job's status and progress until it is done (another process or a worker does the work)."""

    async def follow(client: AsyncClient) -> Job:
        started, last = time.monotonic(), ""
        while True:
            job = client.job(job_id)
            if drive and not job.done and client.now() >= (job.next_poll_at or client.now()):
                job = await client.advance(job)
            line = f"{job.status.value} {job.progress}% {job.raw_status or ''}".strip()
            if line != last:
                err.print(line, markup=False)
                last = line
            if job.done or (job.status is JobStatus.unknown and job.next_poll_at is None):
                return job
            if timeout is not None and time.monotonic() - started > timeout:
                raise typer.Exit(4)
            await asyncio.sleep(interval)

    with reported(False):
        job = _run(store, follow)
        out.print(json.dumps(_summary(job), ensure_ascii=False))
        if job.status is not JobStatus.succeeded:
            raise typer.Exit(3)


@jobs_app.command("download")
def download(
    job_id: str,
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to put the video")] = None,
    store: StoreOpt = None,
) -> None:
    """Save a finished job's video: copied when a worker already saved it, downloaded otherwise."""

    async def fetch(client: AsyncClient) -> str:
        job = client.job(job_id)
        video = job.video
        if video is not None and video.path and Path(video.path).exists():
            if out_file is not None:
                shutil.copyfile(video.path, out_file)
            return str(out_file or video.path)
        job = await client.download(job, out_file)
        assert job.video is not None
        return str(job.video.path)

    with reported(False):
        out.print(_run(store, fetch))


@jobs_app.command("cancel")
def cancel(job_id: str, store: StoreOpt = None) -> None:
    """Cancel at the provider where it can; otherwise stop tracking the job here (already-paid work is lost)."""

    async def stop(client: AsyncClient) -> Job:
        job = client.job(job_id)
        if job.status.terminal:
            raise RequestError(f"job {job_id} is already {job.status.value}; nothing to cancel")
        return await client.cancel(job)

    with reported(False):
        out.print(json.dumps(_summary(_run(store, stop)), ensure_ascii=False))


@jobs_app.command("retry")
def retry(
    job_id: str,
    store: StoreOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this may pay for the video again")] = False,
) -> None:
    """Your decision on a job: an ``unknown`` one is resubmitted; a failed/expired one becomes a new job."""

    async def again(client: AsyncClient) -> Job:
        job = client.job(job_id)
        if not yes:
            raise RequestError(
                f"job {job_id} is {job.status.value}: retrying sends a new paid request to {job.provider}. "
                "Check the provider's console first, then run again with --yes."
            )
        return await client.retry(job)

    with reported(False):
        out.print(json.dumps(_summary(_run(store, again)), ensure_ascii=False))
