"""Pure job-state transitions: apply what a provider said to a ``Job``."""

from __future__ import annotations

from datetime import datetime

from vidgate.providers._base import JobUpdate
from vidgate.types import Job, JobStatus, utcnow


def apply_update(job: Job, update: JobUpdate, now: datetime | None = None) -> Job:
    """A new ``Job`` with the update applied. A final state is never left; progress never goes back."""
    now = now or utcnow()
    if job.status.terminal:
        return job
    changes: dict[str, object] = {"updated_at": now}
    if update.raw_status is not None:
        changes["raw_status"] = update.raw_status
    if update.provider_task_id and not job.provider_task_id:
        changes["provider_task_id"] = update.provider_task_id
    status = update.status
    if status is not None:
        changes["status"] = status
        # Our own clock, not the provider's (it may be skewed); the provider's times stay in the raw body.
        if status is JobStatus.running and job.started_at is None:
            changes["started_at"] = now
        if status.terminal:
            changes["completed_at"] = now
    if update.progress is not None:
        changes["progress"] = max(job.progress, update.progress)
    if status is JobStatus.succeeded:
        changes["progress"] = 100
    if update.assets:
        changes["assets"] = update.assets
    if update.error is not None:
        changes["error"] = update.error
    if update.cost_usd is not None:
        changes["cost_usd"] = update.cost_usd
    return job.model_copy(update=changes)
