"""Webhooks in, wired to the engine: a hint makes its job due *now*, so the next worker round fetches its status.

The hint never changes a job by itself (the provider's status endpoint is the truth, and a worker's
status fetch is what moves the job); polling stays the fallback; a duplicate or late hint only makes a
finished job due once more, and a worker stepping a finished job changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from vidgate.store import JobConflictError, JobNotFoundError, JobStore
from vidgate.types import Job, JobStatus
from vidgate.webhooks.hints import WebhookHint


def find_job(store: JobStore, hint: WebhookHint, providers: Iterable[str]) -> Job | None:
    """The job a hint names: by vidgate job id, else by the provider's task id under any of ``providers``."""
    if hint.job_id:
        try:
            return store.get(hint.job_id)
        except JobNotFoundError:
            return None
    task = hint.provider_task_id
    if not task:
        return None
    for provider in dict.fromkeys([hint.provider, *providers]):
        job = store.find_by_provider_task_id(provider, task)
        if job is not None:
            return job
    return None


def wake_on_hint(
    store: JobStore,
    now: Callable[[], datetime],
    providers: Iterable[str] = (),
    on_wake: Callable[[], None] | None = None,
) -> Callable[[WebhookHint], Awaitable[None]]:
    """An ``on_hint`` for ``vidgate.webhooks.WebhookReceiver``: wake the named job (if it still has work).

    ``on_wake`` is called after a job was made due, e.g. ``Worker.notify`` so a worker in this process
    fetches its status at once instead of at the end of its idle wait.
    """
    names = list(providers)

    async def on_hint(hint: WebhookHint) -> None:
        job = find_job(store, hint, names)
        if job is None or job.done:
            return
        if job.status is JobStatus.unknown:
            adopt_task_id(store, job, hint, now())  # never a resubmit: only learn what the provider has
            return
        store.wake(job.id, now())
        if on_wake is not None:
            on_wake()

    return on_hint


def adopt_task_id(store: JobStore, job: Job, hint: WebhookHint, at: datetime) -> Job | None:
    """Reconcile an ``unknown`` create from an authenticated per-job callback that names the provider's task.

    Only a hint addressed to this job (its own callback URL, e.g. the relay's notify_hook token) counts.
    """
    if not (hint.job_id == job.id and hint.provider_task_id and job.provider_task_id is None):
        return None
    update = {"provider_task_id": hint.provider_task_id, "status": JobStatus.queued, "error": None,
              "submitted_at": job.submitted_at or at, "updated_at": at, "next_poll_at": at}  # fmt: skip
    try:
        return store.save(job.model_copy(update=update))
    except JobConflictError:
        return None  # someone else moved it first; the next hint or a person decides
