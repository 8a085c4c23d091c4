"""Getting a job to the provider: check, persist, send — and the decisions a person makes (retry).

The job row is written before the provider is called and the job is ``unknown`` while the create is in
flight, so a crash never leads to a paid job being sent twice (see ``Core.sending``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vidgate.engine.budget import take_budget
from vidgate.engine.core import Core, Submission
from vidgate.engine.image_fetch import fetch_images
from vidgate.engine.jobs import apply_update
from vidgate.errors import ProviderHTTPError, ProviderServerError, RateLimitError, RequestError, TransportError
from vidgate.net.steps import Steps, intercept_reports
from vidgate.providers import JobUpdate
from vidgate.types import Job, JobStatus, VideoRequest

ProgressCallback = Callable[[Job], None]


def prepare(
    core: Core,
    prompt: str | None,
    request: VideoRequest | None,
    fields: dict[str, Any],
    *,
    fit: bool = False,
    idempotency_key: str | None = None,
    route: str | None = None,
    characters: Iterable[str] | None = None,
) -> Steps[Submission]:
    """Check a request completely, nothing sent to the provider: the catalog's rules, then image URLs that
    the model cannot take by URL are downloaded (SSRF-guarded) and checked as files. ``characters``: the
    usernames the caller may mention (default: the local registry's)."""
    sub = core.prepare(core.build_request(prompt, request, fields), fit=fit, idempotency_key=idempotency_key,
                       route=route, characters=characters)  # fmt: skip
    sub.prepared = yield from fetch_images(sub.prepared, core.fetch_policy)
    return sub


def send(
    core: Core,
    sub: Submission,
    *,
    on_progress: ProgressCallback | None = None,
    resubmit_if_unknown: bool = False,
    queue: bool = False,
) -> Steps[Job]:
    """Persist the job, then create it at the provider — or, with ``queue``, leave that to a worker. The same
    idempotency key twice returns the stored job and sends nothing (``sub.created`` is then False)."""
    sub.prepared = yield from fetch_images(sub.prepared, core.fetch_policy)  # nothing to do after prepare()
    job, created = core.new_job(sub, resubmit_if_unknown=resubmit_if_unknown, due=queue)
    sub.created = created
    if not created or queue:
        return job
    return (yield from create(core, job, sub, on_progress))


def create(core: Core, job: Job, sub: Submission, on_progress: ProgressCallback | None = None) -> Steps[Job]:
    """Send the create of a stored job; its outcome (accepted, refused, not sent, unknown) is recorded, and a
    create that raised carries the recorded job as ``exc.job``."""
    job = core.sending(job)
    yield from take_budget(core.budgets, job.provider)
    started = core.clock()
    try:
        flow = sub.dialect.submit(sub.prepared, sub.connection)
        update = yield from intercept_reports(flow, progress_hook(core, job, on_progress))
    except (TransportError, ProviderHTTPError) as exc:
        current = core.job(job.id)
        if sub.dialect.is_duplicate_create(exc):
            exc.job = core.duplicate_create(current, exc)
        else:
            exc.job = core.create_failed(current, exc)
        core.observe("create", job.provider, started, exc.job.status.value)
        raise
    saved = core.accepted(core.job(job.id), update)
    core.observe("create", job.provider, started, saved.status.value)
    return saved


def progress_hook(core: Core, job: Job, on_progress: ProgressCallback | None) -> Callable[[Any], None]:
    """Apply a flow's intermediate updates (a streamed create) to the job as they come, and report them."""

    def hook(update: Any) -> None:
        assert isinstance(update, JobUpdate)
        current = core.record(apply_update(core.job(job.id), update, core.now()))
        if on_progress is not None:
            on_progress(current)

    return hook


def resend(core: Core, job: Job) -> Steps[Job]:
    """(Re)send a stored ``pending`` create, or an ``unknown`` one due for reconciliation, to the endpoint it was
    created for with its own idempotency key."""
    sub = core.resubmission(job)
    hook = sub.prepared.request.webhook_url
    if job.request is not None and hook != job.request.webhook_url:  # this process's callback URL, recorded
        job = core.record(job.model_copy(update={"request": job.request.model_copy(update={"webhook_url": hook})}))
    sub.prepared = yield from fetch_images(sub.prepared, core.fetch_policy)
    if job.status is JobStatus.unknown and sub.dialect.finds_by_key(sub.connection.provider):
        found = yield from look_up(core, job, sub)
        if found is not None:
            return found
    try:
        return (yield from create(core, job, sub))
    except (TransportError, ProviderHTTPError) as exc:
        return exc.job if exc.job is not None else core.job(job.id)


def look_up(core: Core, job: Job, sub: Submission) -> Steps[Job | None]:
    """Reconcile an ``unknown`` create by the idempotency key it carried (``Dialect.finds_by_key``): the job
    takes the provider's task when it has one; None when it has none (the create never landed: send it)."""
    yield from take_budget(core.budgets, job.provider)
    started = core.clock()
    try:
        update = yield from sub.dialect.find_by_key(sub.prepared, sub.connection)
    except (TransportError, ProviderHTTPError) as exc:
        core.observe("status", job.provider, started, exc.__class__.__name__)
        transient = not isinstance(exc, ProviderHTTPError) or isinstance(exc, RateLimitError | ProviderServerError)
        return core.unknown_outcome(core.job(job.id), f"looking it up by its key failed: {exc}", retry=transient)
    core.observe("status", job.provider, started, "ok" if update is not None else "not found")
    if update is None:
        return None
    return core.accepted(core.job(job.id), update)


def retry(core: Core, job: Job | str) -> Steps[Job]:
    """A person's decision: an ``unknown`` job is sent again now (it may be paid twice); a failed, expired or
    cancelled one becomes a new job with the same request, on the same endpoint."""
    job = core.job(job)
    if job.status is JobStatus.unknown:
        job = core.record(job.model_copy(update={"resubmit_if_unknown": True, "next_poll_at": core.now()}))
        return (yield from resend(core, job))
    if job.status.terminal and job.status is not JobStatus.succeeded and job.request is not None:
        core.connection_for(job)  # the new job goes where this one went (EndpointMismatchError otherwise)
        sub = yield from prepare(core, None, job.request, {}, route=job.route)
        sub.job_fields = {"owner": job.owner}
        return (yield from send(core, sub))
    raise RequestError(
        f"job {job.id} is {job.status.value}; only unknown, failed, expired or cancelled jobs can be retried"
    )


def submit(
    core: Core,
    prompt: str | None,
    request: VideoRequest | None,
    fields: dict[str, Any],
    *,
    fit: bool = False,
    idempotency_key: str | None = None,
    route: str | None = None,
    resubmit_if_unknown: bool = False,
    on_progress: ProgressCallback | None = None,
    queue: bool = False,
) -> Steps[Job]:
    """Check, persist, then send (or, with ``queue``, leave the sending to a worker)."""
    sub = yield from prepare(core, prompt, request, fields, fit=fit, idempotency_key=idempotency_key, route=route)
    return (yield from send(core, sub, on_progress=on_progress, resubmit_if_unknown=resubmit_if_unknown, queue=queue))
