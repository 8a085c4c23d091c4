"""Running a job to its final state: status checks, the one step a worker takes, waiting, saving the result."""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from vidgate.engine.budget import take_budget
from vidgate.engine.core import Core, transform_for
from vidgate.engine.download import ByteProgress, DownloadExpired, Expect, describe_asset, sniff_image, sniff_video
from vidgate.engine.download import download as fetch_file
from vidgate.engine.ops.submit import ProgressCallback, prepare, resend, send
from vidgate.engine.plans import download_target, file_facts
from vidgate.errors import (
    DownloadError,
    JobFailedError,
    ProviderServerError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from vidgate.net.steps import Steps, offload, sleep
from vidgate.problems import Problem
from vidgate.providers import get_dialect
from vidgate.storage import RangeFile
from vidgate.types import Job, JobStatus, VideoRequest

TRANSIENT = (RateLimitError, ProviderServerError, TransportError)
PREVIEW_KINDS = ("thumbnail", "cover")


def check_timeout(timeout: float | None) -> None:
    """A timeout is a positive, finite number of seconds (or None: the model's own deadline)."""
    if timeout is None:
        return
    number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    if not number or not math.isfinite(timeout) or timeout <= 0:
        hint = "give the seconds to wait (e.g. 600), or none for the model's own deadline"
        raise ValidationError([Problem("timeout", timeout, "must be a positive number of seconds", suggestion=hint)])


def check_output(out: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Where a video will be saved, checked before anything is paid for: not a directory, in a directory that
    exists (or can be made) and is writable, and — unless ``overwrite`` — not an existing file."""
    path = Path(out).expanduser()
    problem: str | None = None
    if path.is_dir():
        problem = "is a directory"
    elif path.exists() and not overwrite:
        problem = "exists already"
    else:
        parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
        if parent is None or not parent.is_dir():
            problem = "is not inside a directory"
        elif not _can_create_in(parent):
            problem = f"cannot be written (no file can be created in {parent})"
    if problem is not None:
        hint = "give a file name in a writable directory"
        if problem == "exists already":
            hint = "give another file name, or replace it on purpose (--force)"
        raise ValidationError([Problem("out", str(out), f"the output path {problem}", suggestion=hint)])
    return path


def _can_create_in(directory: Path) -> bool:
    """Really try (permissions alone do not tell: root, read-only mounts, /proc)."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def status(core: Core, job: Job) -> Steps[Job]:
    """One status check of a job just read from the store (rate-limited by the provider's budget)."""
    if job.status.terminal or job.provider_task_id is None:
        return job
    spec = core.spec_of(job)
    conn = core.connection_for(job)
    yield from take_budget(core.budgets, job.provider)
    started, outcome = core.clock(), "ok"
    try:
        update = yield from get_dialect(spec.dialect).status(job.provider_task_id, spec, conn)
    except Exception as exc:
        outcome = exc.__class__.__name__
        raise
    finally:
        core.observe("status", job.provider, started, outcome)
    return core.polled(job, update)


def step(core: Core, job: Job, *, download: bool = True, on_bytes: ByteProgress | None = None) -> Steps[Job]:
    """One unit of work on a job just read from the store: (re)send a pending create, reconcile, poll, expire,
    or save the finished video (and its preview images)."""
    if job.status is JobStatus.pending or (job.status is JobStatus.unknown and job.next_poll_at is not None):
        return (yield from resend(core, job))
    if job.status is JobStatus.unknown:
        return job  # waits for a person: nothing automatic is safe
    if not job.status.terminal:
        limit = core.overdue(job)
        if limit is not None:
            return core.expire(job, limit)
        try:
            job = yield from status(core, job)
        except TRANSIENT as exc:
            return core.poll_failed(job, exc)
        if not job.status.terminal:
            return job
    if download and not job.done:  # finished just now or earlier: save the video in the same step
        job = yield from save(core, job, on_bytes=on_bytes)
        job = yield from previews(core, job)
    return job


def advance(core: Core, job: Job | str, *, download: bool = True, on_bytes: ByteProgress | None = None) -> Steps[Job]:
    return (yield from step(core, core.job(job), download=download, on_bytes=on_bytes))


def previews(core: Core, job: Job) -> Steps[Job]:
    """Best effort, after the video: the thumbnail or cover image where the provider offers one."""
    for kind in PREVIEW_KINDS:
        if any(a.kind == kind and a.path is None for a in job.assets):
            with contextlib.suppress(DownloadError):  # a missing preview never fails the job
                job = yield from save(core, job, variant=kind)
    return job


def wait(
    core: Core, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None
) -> Steps[Job]:
    """Poll until the job is final or its deadline (the model's, or ``timeout``) passes -> ``expired``."""
    check_timeout(timeout)
    job = core.job(job)
    hint = core.server_hint(job)
    if hint is not None and job.next_poll_at is not None:
        job = core.record(core.scheduled(job, hint))
    while not job.status.terminal and job.status is not JobStatus.unknown:
        limit = core.overdue(job, timeout)
        if limit is not None:
            job = core.expire(job, limit)
            break
        yield from sleep(min(core.seconds_until(job.next_poll_at), core.time_left(job, timeout)))
        before = (job.status, job.progress, job.raw_status)
        job = yield from step(core, core.job(job), download=False)
        if on_progress and (job.status, job.progress, job.raw_status) != before:
            on_progress(job)
    return job


def save(
    core: Core,
    job: Job | str,
    out: str | os.PathLike[str] | None = None,
    *,
    on_bytes: ByteProgress | None = None,
    variant: str = "video",
) -> Steps[Job]:
    """Stream the finished video (or a preview image) to ``out``, verify and probe it, record any mismatch.
    An expired result URL is refreshed once from the provider's status endpoint."""
    job = core.job(job)
    try:
        return (yield from _save(core, job, out, on_bytes, variant))
    except DownloadExpired:
        job = yield from refresh(core, job)
        return (yield from _save(core, job, out, on_bytes, variant))


def _save(
    core: Core, job: Job, out: str | os.PathLike[str] | None, on_bytes: ByteProgress | None, variant: str
) -> Steps[Job]:
    asset, request, spec = download_target(core, job, variant)
    expect: Expect = "video" if asset.kind == "video" else "image"
    kept = core.stored_key(asset)
    if out is not None and kept is not None:  # a copy of a result the object store keeps: from there, not the
        sha, _ = yield from offload(kept[0].copy_to, kept[1], Path(out))  # provider (whose URL may have expired)
        if asset.sha256 is not None and sha != asset.sha256:
            raise DownloadError(f"the stored {variant} of {job.id} has sha256 {sha}, not {asset.sha256}")
        return job  # the record keeps pointing at the store (retention deletes it there)
    target = core.object_target(job, out, asset)
    path = core.out_path(job, out, asset) if target is None else None
    writer = None
    if target is not None:  # straight into the object store, under the job's own key
        storage, key = target
        sniff, what = (sniff_video, "a video") if expect == "video" else (sniff_image, "an image")
        writer = storage.writer(key, sniff, what)
    core.download_started(job, asset)
    started, outcome = core.clock(), "ok"
    try:
        got = yield from fetch_file(request, path, spec.provider, on_bytes, expect, transform_for(spec, asset),
                                    writer, target and target[0].location(target[1]))  # fmt: skip
    except Exception as exc:
        outcome = exc.__class__.__name__
        raise
    finally:
        core.observe("download", job.provider, started, outcome)
    if expect == "image":
        return core.downloaded(job, asset, file_facts(asset, got))
    source = RangeFile(target[0], target[1], got.size) if target is not None else None
    described = yield from offload(describe_asset, asset, got, job.request, core.expected_duration(job), source)
    return core.downloaded(job, asset, described)


def refresh(core: Core, job: Job) -> Steps[Job]:
    """Ask the provider again for a finished job's result URLs (they expire)."""
    spec = core.spec_of(job)
    assert job.provider_task_id is not None
    update = yield from get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection_for(job))
    return core.refreshed(job, update)


def generate(
    core: Core,
    prompt: str | None,
    *,
    request: VideoRequest | None = None,
    fit: bool = False,
    idempotency_key: str | None = None,
    resubmit_if_unknown: bool = False,
    out: str | os.PathLike[str] | None = None,
    on_progress: ProgressCallback | None = None,
    on_bytes: ByteProgress | None = None,
    timeout: float | None = None,
    fields: dict[str, Any],
) -> Steps[Job]:
    """Submit, wait, download. Raises ``JobFailedError`` when the job does not succeed. Everything that can be
    checked here (the request, ``timeout``, ``out``) is checked before anything is sent."""
    check_timeout(timeout)
    if out is not None:
        check_output(out)
    sub = yield from prepare(core, prompt, request, fields, fit=fit, idempotency_key=idempotency_key)
    if out is not None:  # recorded, so a resumed download (another process, after a crash) saves there too
        sub.job_fields["out"] = str(Path(out).absolute())
    job = yield from send(core, sub, on_progress=on_progress, resubmit_if_unknown=resubmit_if_unknown)
    if on_progress:
        on_progress(job)
    job = yield from wait(core, job, timeout=timeout, on_progress=on_progress)
    if job.status is not JobStatus.succeeded:
        raise JobFailedError(job)
    return (yield from save(core, job, out, on_bytes=on_bytes))
