"""Retention: saved results are deleted from result storage a while after their job finished, or on a DELETE.

Only what the storage itself holds is deleted (a key it recognises in ``Asset.path``): a file the caller asked
a video to be saved to (``out=``) is the caller's and is never touched. A job that outlives its results keeps
its record, each removed asset marked ``removed_at`` (``path`` still says where the bytes were kept), so
nothing tries to fetch them again and the gateway answers 410 for them.

Any number of processes may sweep at once: deleting twice is harmless and the job save is compare-and-set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from vidgate.engine.core import Core
from vidgate.errors import VidgateError
from vidgate.storage import ResultStorage
from vidgate.store.errors import StoreError
from vidgate.types import Asset, Job, JobStatus

log = logging.getLogger("vidgate.retention")
PAGE = 200


def remove_results(storage: ResultStorage, job: Job) -> list[Asset]:
    """Delete ``job``'s saved bytes that ``storage`` holds; the assets that were removed (blocking I/O)."""
    removed = []
    for asset in job.assets:
        if asset.path is None or asset.removed_at is not None:
            continue
        key = storage.key_of(asset.path)
        if key is not None:  # else not ours: another storage's object, or a file the caller chose
            storage.delete(key)
            removed.append(asset)
    return removed


def finished_at(job: Job) -> datetime:
    return job.completed_at or job.updated_at


def sweep(core: Core, storage: ResultStorage, retention_s: float, now: datetime | None = None) -> int:
    """Delete the results of jobs that finished more than ``retention_s`` ago; how many assets were removed.
    Blocking (store and storage I/O): run it on a thread from an event loop."""
    now = now or core.now()
    cutoff = now - timedelta(seconds=retention_s)
    removed = 0
    cursor: str | None = None
    while True:  # a job finishes after it is created: every job old enough was created before the cutoff
        page = core.store.list_jobs(status=[JobStatus.succeeded], created_to=cutoff, limit=PAGE, cursor=cursor)
        for job in page.jobs:
            if finished_at(job) > cutoff or not any(a.path and a.removed_at is None for a in job.assets):
                continue
            try:
                gone = remove_results(storage, job)
            except VidgateError as exc:  # the store was unreachable: the next sweep tries again
                log.warning("retention: job %s: %s", job.id, exc)
                continue
            if gone:
                removed += len(gone)
                mark_removed(core, job, gone, now)
        if page.next_cursor is None:
            return removed
        cursor = page.next_cursor


def mark_removed(core: Core, job: Job, gone: list[Asset], at: datetime) -> Job:
    ids = {id(a) for a in gone}
    assets = [a.model_copy(update={"removed_at": at}) if id(a) in ids else a for a in job.assets]
    try:
        return core.record(job.model_copy(update={"assets": assets, "updated_at": at}), quiet=True)
    except StoreError as exc:
        log.warning("retention: job %s: could not record the removal: %s", job.id, exc)
        return job


async def retention_loop(
    core: Core, storage: ResultStorage, retention_s: float, stop: asyncio.Event, every_s: float | None = None
) -> None:
    """Sweep now and then (every tenth of the retention time, between 1 s and 1 h) until ``stop`` is set."""
    every = every_s if every_s is not None else min(3600.0, max(1.0, retention_s / 10))
    while not stop.is_set():
        try:
            count = await asyncio.to_thread(sweep, core, storage, retention_s)
            if count:
                log.info("retention: removed %d saved result(s) older than %g s", count, retention_s)
        except Exception as exc:  # a sweep that failed is tried again at the next round
            log.warning("retention sweep failed: %s: %s", exc.__class__.__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
