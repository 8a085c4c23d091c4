"""The job store contract: one suite, run on memory, SQLite and a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from storekit import advance, at, make_job

from vidgate.store import (
    EventKind,
    FinalStateError,
    JobConflictError,
    JobNotFoundError,
    JobStore,
    StaleJobError,
    StoreError,
    timings,
)
from vidgate.types import Asset, ErrorCode, ImageInput, ImageRole, Job, JobError, JobStatus, VideoRequest

# ---------------------------------------------------------------------------------------------- create / get


def test_create_then_get_round_trips_every_field(store: JobStore) -> None:
    job = make_job(
        request=VideoRequest(
            prompt="dawn over the sea \u00e9\u4e2d",
            model="sora-2",
            duration=10,
            aspect_ratio="16:9",
            images=[
                ImageInput(source=b"\x89PNG\r\n\x1a\n\x00\xff", role=ImageRole.first_frame),
                "https://x.test/a.png",
            ],
            options={"seed": 7, "nested": {"list": [1, 2.5, None, True]}},
        ),
        status=JobStatus.queued,
        raw_status="NOT_START",
        provider_task_id="task_123",
        progress=5,
        assets=[Asset(url="https://cdn.test/v.mp4", expires_at=at(3600), size_bytes=10)],
        error=JobError(code=ErrorCode.rate_limited, message="slow down", retryable=True, raw={"x": [1]}),
        warnings=["fit: duration 9 -> 10"],
        submitted_at=at(2),
        resubmit_if_unknown=True,
        next_poll_at=at(30),
    )
    result = store.create(job)
    assert result.created is True
    expected = job.model_copy(update={"version": 1})
    assert result.job == expected
    assert store.get(job.id) == expected
    assert store.get_by_idempotency_key("key-1") == expected
    assert store.find_by_provider_task_id("relay", "task_123") == expected
    assert store.find_by_provider_task_id("other", "task_123") is None


def test_missing_jobs(store: JobStore) -> None:
    with pytest.raises(JobNotFoundError, match="job_9999"):
        store.get("job_9999")
    assert store.get_by_idempotency_key("nope") is None
    with pytest.raises(JobNotFoundError):
        store.timeline("job_9999")
    with pytest.raises(JobNotFoundError):
        store.record_event("job_9999", EventKind.note)
    with pytest.raises(JobNotFoundError):
        store.save(make_job(9999, version=1))


def test_same_idempotency_key_returns_the_existing_job(store: JobStore) -> None:
    first = store.create(make_job(1)).job
    again = store.create(make_job(2, idempotency_key="key-1", model="veo3"))
    assert again.created is False
    assert again.job == first
    assert [j.id for j in store.list_jobs().jobs] == ["job_0001"]


def test_jobs_without_a_key_are_all_new(store: JobStore) -> None:
    assert store.create(make_job(1, idempotency_key=None)).created
    assert store.create(make_job(2, idempotency_key=None)).created
    assert len(store.list_jobs().jobs) == 2


def test_duplicate_id_with_another_key_is_refused(store: JobStore) -> None:
    store.create(make_job(1))
    with pytest.raises(StoreError, match="already exists"):
        store.create(make_job(1, idempotency_key="other"))
    assert store.get_by_idempotency_key("other") is None


def test_create_ignores_store_managed_fields(store: JobStore) -> None:
    job = store.create(make_job(1, version=7, lease_owner="w", lease_until=at(99))).job
    assert (job.version, job.lease_owner, job.lease_until) == (1, None, None)


def test_aget_reads_what_get_reads_inside_and_outside_async_reads(store: JobStore) -> None:
    """``aget`` is the event-loop read (the gateway's): the same job with or without the store's loop pool."""
    request = VideoRequest(prompt="x", model="sora-2", images=[ImageInput(source=b"\x89PNG\r\n\x1a\n")])
    store.create(make_job(1, assets=[Asset(url="https://cdn.test/v.mp4")], request=request))  # bytes inside too

    async def read() -> list[Job]:
        jobs = [await store.aget("job_0001")]  # no loop pool: still works
        async with store.async_reads():
            async with store.async_reads():  # nested blocks share one
                jobs.append(await store.aget("job_0001"))
            jobs.append(await store.aget("job_0001"))
            with pytest.raises(JobNotFoundError):
                await store.aget("job_0404")
        return jobs

    assert asyncio.run(read()) == [store.get("job_0001")] * 3
    assert asyncio.run(read()) == [store.get("job_0001")] * 3  # a second event loop gets its own


# ---------------------------------------------------------------------------------------------- save


def test_save_bumps_the_version_and_persists(store: JobStore) -> None:
    job = store.create(make_job()).job
    saved = store.save(advance(job, 10, status=JobStatus.running, progress=40, provider_task_id="t1"))
    assert saved.version == 2
    got = store.get(job.id)
    assert got == saved
    assert (got.status, got.progress, got.provider_task_id) == (JobStatus.running, 40, "t1")
    assert store.find_by_provider_task_id("relay", "t1") == saved


def test_stale_save_is_rejected_and_changes_nothing(store: JobStore) -> None:
    job = store.create(make_job()).job
    newer = store.save(advance(job, 10, status=JobStatus.running))
    with pytest.raises(StaleJobError, match="version 1 but the store holds version 2") as info:
        store.save(advance(job, 11, status=JobStatus.failed))
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert store.get(job.id) == newer


def test_a_never_stored_job_cannot_be_saved_over_a_stored_one(store: JobStore) -> None:
    store.create(make_job())
    with pytest.raises(StaleJobError):
        store.save(make_job(status=JobStatus.failed))  # version 0


def test_a_final_state_is_never_left(store: JobStore) -> None:
    job = store.create(make_job()).job
    done = store.save(advance(job, 10, status=JobStatus.succeeded, progress=100))
    for status in (JobStatus.running, JobStatus.failed, JobStatus.unknown):
        with pytest.raises(FinalStateError, match="already 'succeeded'"):
            store.save(advance(done, 20, status=status))
    # the same final state may be saved again, e.g. to record the downloaded file
    again = store.save(advance(done, 30, assets=[Asset(path="/out/v.mp4", sha256="ab" * 32)]))
    assert again.version == done.version + 1
    assert store.get(job.id).assets[0].path == "/out/v.mp4"


def test_fixed_fields_cannot_change(store: JobStore) -> None:
    job = store.create(make_job()).job
    for field, value in [("model", "veo3"), ("provider", "other"), ("idempotency_key", "k2"), ("created_at", at(-5))]:
        with pytest.raises(JobConflictError, match=field):
            store.save(job.model_copy(update={field: value}))
    assert store.get(job.id) == job


def test_concurrent_saves_of_one_version_let_exactly_one_win(open_more: Callable[[], JobStore]) -> None:
    store = open_more()
    job = store.create(make_job()).job
    stores = [open_more() for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            stores[i].save(advance(job, 10 + i, progress=i + 1, status=JobStatus.running))
            return "ok"
        except StaleJobError:
            return "stale"

    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(attempt, range(len(stores))))
    assert sorted(outcomes) == ["ok"] + ["stale"] * 7
    assert store.get(job.id).version == 2
    assert [e.status for e in store.timeline(job.id)] == [JobStatus.pending, JobStatus.running]


# ---------------------------------------------------------------------------------------------- timeline


def test_timeline_records_each_transition_with_its_time(store: JobStore) -> None:
    job = store.create(make_job(1, created_at=at(0), updated_at=at(0))).job
    job = store.save(advance(job, 1, status=JobStatus.queued, raw_status="NOT_START", submitted_at=at(1)))
    job = store.save(advance(job, 2, raw_status="SUBMITTED"))  # same status, new provider word: recorded
    job = store.save(advance(job, 5, progress=3))  # progress only: no entry
    job = store.save(advance(job, 31, status=JobStatus.running, raw_status="IN_PROGRESS", progress=10))
    job = store.save(advance(job, 95, status=JobStatus.succeeded, raw_status="SUCCESS", progress=100))
    store.record_event(job.id, EventKind.download_started, at=at(96), detail={"url": "https://cdn.test/v.mp4"})
    store.record_event(job.id, EventKind.download_completed, at=at(99), detail={"bytes": 1234})

    entries = store.timeline(job.id)
    assert [(e.kind, e.status, e.at) for e in entries] == [
        ("status", JobStatus.pending, at(0)),
        ("status", JobStatus.queued, at(1)),
        ("status", JobStatus.queued, at(2)),
        ("status", JobStatus.running, at(31)),
        ("status", JobStatus.succeeded, at(95)),
        ("download_started", None, at(96)),
        ("download_completed", None, at(99)),
    ]
    assert entries[2].detail == {"raw_status": "SUBMITTED", "progress": 0}
    assert entries[-1].detail == {"bytes": 1234}
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    t = timings(entries)
    assert (t.queued_s, t.render_s, t.download_s, t.total_s) == (30.0, 64.0, 3.0, 99.0)


def test_timelines_are_per_job(store: JobStore) -> None:
    a = store.create(make_job(1)).job
    b = store.create(make_job(2)).job
    store.save(advance(a, 10, status=JobStatus.failed))
    assert len(store.timeline(a.id)) == 2
    assert len(store.timeline(b.id)) == 1
    assert store.record_event(b.id, "webhook", at=at(3), detail={"id": "msg_1"}).job_id == b.id
    assert [e.kind for e in store.timeline(b.id)] == ["status", "webhook"]


# ---------------------------------------------------------------------------------------------- listing


def _fill(store: JobStore) -> None:
    specs = [
        (1, "relay", "sora-2", JobStatus.queued),
        (2, "relay", "veo3", JobStatus.running),
        (3, "zhipu", "cogvideox-3", JobStatus.failed),
        (4, "relay", "sora-2", JobStatus.succeeded),
        (5, "zhipu", "cogvideox-3", JobStatus.unknown),
        (6, "relay", "sora-2", JobStatus.unknown),
    ]
    for n, provider, model, status in specs:
        store.create(make_job(n, provider=provider, model=model, status=status))


def _ids(jobs: list[Job]) -> list[int]:
    return [int(j.id.split("_")[1]) for j in jobs]


def test_list_filters(store: JobStore) -> None:
    _fill(store)
    assert _ids(store.list_jobs().jobs) == [6, 5, 4, 3, 2, 1]  # newest first
    assert _ids(store.list_jobs(status="unknown").jobs) == [6, 5]
    assert _ids(store.list_jobs(status=[JobStatus.queued, "running"]).jobs) == [2, 1]
    assert _ids(store.list_jobs(provider="zhipu").jobs) == [5, 3]
    assert _ids(store.list_jobs(model="sora-2").jobs) == [6, 4, 1]
    assert _ids(store.list_jobs(provider="relay", model="sora-2", status="unknown").jobs) == [6]
    assert _ids(store.list_jobs(created_from=at(2), created_to=at(5)).jobs) == [4, 3, 2]
    assert _ids(store.list_jobs(created_from=at(2).replace(tzinfo=None)).jobs) == [6, 5, 4, 3, 2]  # naive = UTC
    assert store.list_jobs(provider="nobody").jobs == []
    with pytest.raises(ValueError, match=r"Unknown job status 'done'.*allowed: pending"):
        store.list_jobs(status="done")
    with pytest.raises(ValueError, match="limit"):
        store.list_jobs(limit=0)


def test_cursor_pagination_walks_every_job_once(store: JobStore) -> None:
    for n in range(1, 8):
        store.create(make_job(n))
    # two jobs created at the same instant are ordered by id
    store.create(make_job(8, created_at=at(7)))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = store.list_jobs(limit=3, cursor=cursor, provider="relay")
        seen += _ids(page.jobs)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [8, 7, 6, 5, 4, 3, 2, 1]
    assert pages == 3
    assert store.list_jobs(limit=8).next_cursor is None
    with pytest.raises(ValueError, match="Invalid page cursor"):
        store.list_jobs(cursor="not-a-cursor")


def test_unknown_jobs_awaiting_a_human_decision(store: JobStore) -> None:
    _fill(store)
    j6 = store.get("job_0006")
    store.save(advance(j6, 20, next_poll_at=at(60)))  # reconciliation scheduled: not for a human (yet)
    assert _ids(store.awaiting_decision()) == [5]
    assert store.awaiting_decision(limit=1)[0].status is JobStatus.unknown


# ---------------------------------------------------------------------------------------------- claims


def _due(store: JobStore, n: int, when: float, **changes: Any) -> Job:
    fields: dict[str, Any] = {"status": JobStatus.queued, "next_poll_at": at(when), **changes}
    return store.create(make_job(n, **fields)).job


def test_claim_takes_due_jobs_earliest_first(store: JobStore) -> None:
    _due(store, 1, 30)
    _due(store, 2, 10)
    _due(store, 3, 500)  # not due yet
    store.create(make_job(4))  # idle (next_poll_at None)
    _due(store, 5, 20)
    claimed = store.claim("w1", at(100), lease_s=60, limit=2)
    assert _ids(claimed) == [2, 5]
    for job in claimed:
        assert (job.lease_owner, job.lease_until, job.version) == ("w1", at(160), 2)
    assert _ids(store.claim("w1", at(100), lease_s=60, limit=10)) == [1]
    assert store.claim("w2", at(100), lease_s=60) == []
    with pytest.raises(ValueError):
        store.claim("w1", at(100), lease_s=0)


def test_final_jobs_with_work_left_are_claimable(store: JobStore) -> None:
    _due(store, 1, 10, status=JobStatus.succeeded)  # e.g. the video still has to be downloaded
    assert _ids(store.claim("w1", at(20), lease_s=30)) == [1]


def test_lease_expiry_lets_another_worker_claim_and_fences_the_first(store: JobStore) -> None:
    _due(store, 1, 0)
    (mine,) = store.claim("w1", at(10), lease_s=30)
    assert store.claim("w2", at(39), lease_s=30) == []  # still leased
    (theirs,) = store.claim("w2", at(40), lease_s=30)  # w1's lease expired (it died)
    assert theirs.lease_owner == "w2"
    assert theirs.version == mine.version + 1
    # the first worker wakes up: it can neither save nor keep nor release the job
    with pytest.raises(StaleJobError):
        store.save(advance(mine, 41, status=JobStatus.running))
    assert store.heartbeat(mine.id, "w1", 30, now=at(41)) is False
    assert store.release(mine.id, "w1", at(50)) is False
    saved = store.save(advance(theirs, 42, status=JobStatus.running))
    assert saved.lease_owner == "w2"


def test_heartbeat_extends_only_your_own_lease(store: JobStore) -> None:
    _due(store, 1, 0)
    (job,) = store.claim("w1", at(10), lease_s=30)
    assert store.heartbeat(job.id, "w1", 30, now=at(35)) is True  # now leased until 65
    assert store.heartbeat(job.id, "w2", 300, now=at(36)) is False
    assert store.get(job.id).lease_until == at(65)
    assert store.claim("w2", at(64), lease_s=30) == []
    assert _ids(store.claim("w2", at(65), lease_s=30)) == [1]
    assert store.heartbeat("job_9999", "w1", 30) is False


def test_release_schedules_the_next_look(store: JobStore) -> None:
    _due(store, 1, 0)
    _due(store, 2, 0)
    a, b = store.claim("w1", at(10), lease_s=30)
    assert store.release(a.id, "w2", at(20)) is False
    assert store.release(a.id, "w1", at(20)) is True
    assert store.release(b.id, "w1", None) is True  # nothing left to do
    got = store.get(a.id)
    assert (got.lease_owner, got.lease_until, got.next_poll_at) == (None, None, at(20))
    assert store.get(b.id).next_poll_at is None
    assert store.claim("w2", at(19), lease_s=30) == []
    assert _ids(store.claim("w2", at(20), lease_s=30)) == [1]
    assert store.release("job_9999", "w1", None) is False


def test_wake_makes_a_job_due_sooner_but_never_later(store: JobStore) -> None:
    _due(store, 1, 100)
    idle = store.create(make_job(2)).job
    assert store.wake("job_0001", at(40)) is True
    assert store.get("job_0001").next_poll_at == at(40)
    assert store.wake("job_0001", at(90)) is True  # later than already due: unchanged
    assert store.get("job_0001").next_poll_at == at(40)
    assert store.wake(idle.id, at(50)) is True
    assert store.wake("job_9999", at(50)) is False
    (job,) = store.claim("w1", at(45), lease_s=30)
    assert store.wake(job.id, at(46)) is True  # a webhook during the lease: the worker is not disturbed
    got = store.get(job.id)
    assert (got.version, got.lease_owner, got.next_poll_at) == (job.version, "w1", at(40))
    assert _ids(store.claim("w2", at(60), lease_s=30)) == [2]  # the woken idle job; job 1 is still leased
    assert _ids(store.claim("w2", at(75), lease_s=30)) == [1]


def test_a_leased_job_saved_by_its_worker_keeps_the_lease(store: JobStore) -> None:
    _due(store, 1, 0)
    (job,) = store.claim("w1", at(10), lease_s=30)
    saved = store.save(advance(job, 12, status=JobStatus.running, next_poll_at=at(40), lease_owner=None))
    assert (saved.lease_owner, saved.lease_until, saved.next_poll_at) == ("w1", at(40), at(40))
    assert store.claim("w2", at(39), lease_s=30) == []


# ---------------------------------------------------------------------------------------------- concurrency


def test_concurrent_creates_with_one_key_make_one_row(open_more: Callable[[], JobStore]) -> None:
    stores = [open_more() for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def create(i: int) -> tuple[str, bool]:
        barrier.wait()
        result = stores[i].create(make_job(100 + i, idempotency_key="same-key"))
        return result.job.id, result.created

    with ThreadPoolExecutor(len(stores)) as pool:
        results = list(pool.map(create, range(len(stores))))
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(stores[0].list_jobs().jobs) == 1


def test_concurrent_claims_never_share_a_job(open_more: Callable[[], JobStore]) -> None:
    store = open_more()
    total = 120
    for n in range(total):
        _due(store, n, n % 7)
    workers = [open_more() for _ in range(4)]
    barrier = threading.Barrier(len(workers))

    def run(i: int) -> list[str]:
        barrier.wait()  # round one: every worker claims at the same moment (4 x 5 < 120, so all get some)
        got = [j.id for j in workers[i].claim(f"w{i}", at(100), lease_s=60, limit=5)]
        barrier.wait()  # then all race until nothing is left
        while batch := workers[i].claim(f"w{i}", at(100), lease_s=60, limit=5):
            got += [j.id for j in batch]
        return got

    with ThreadPoolExecutor(len(workers)) as pool:
        claimed = list(pool.map(run, range(len(workers))))
    flat = [job_id for part in claimed for job_id in part]
    assert len(flat) == len(set(flat)) == total
    assert all(len(part) >= 5 for part in claimed)


# ---------------------------------------------------------------------------------------------- secrets


def test_credentials_ref_only_holds_a_reference() -> None:
    for ref in ("VIDGATE_RELAY_API_KEY", "ambient:google-adc"):
        Job(id="j", provider="relay", model="sora-2", credentials_ref=ref)
    for secret in ("sk-live-abc123", "Bearer xyz", "AIzaSyD-abc", "ambient:AIzaSyD", "ambient:" + "a" * 60):
        with pytest.raises(ValueError, match="credentials_ref"):
            Job(id="j", provider="relay", model="sora-2", credentials_ref=secret)


def test_credential_named_values_are_redacted(store: JobStore) -> None:
    job = make_job(
        request=VideoRequest(prompt="p", model="sora-2", options={"api_key": "sk-1", "nested": {"Authorization": "x"}}),
        error=JobError(code=ErrorCode.auth, message="denied", raw={"headers": {"x-api-key": "sk-2"}, "n": 1}),
    )
    stored = store.create(job).job
    entry = store.record_event(job.id, EventKind.webhook, detail={"headers": {"Authorization": "Bearer t"}})
    assert entry.detail == {"headers": {"Authorization": "[redacted]"}}
    assert store.timeline(job.id)[-1].detail == entry.detail
    assert stored.request is not None
    assert stored.request.options == {"api_key": "[redacted]", "nested": {"Authorization": "[redacted]"}}
    assert stored.error is not None
    assert stored.error.raw == {"headers": {"x-api-key": "[redacted]"}, "n": 1}
