"""`vidgate serve --emulator` restarted: the unfinished jobs of the earlier run's built-in emulator (another
loopback port, the same emulator key) are cancelled, since nothing can ever finish them; every other job is
left alone."""

from __future__ import annotations

from vidgate import Client
from vidgate.engine.endpoints import key_fingerprint
from vidgate.store import MemoryStore
from vidgate.types import Job, JobStatus, VideoRequest, utcnow

KEY = "emulator-key"


def job(n: int, base_url: str, ref: str | None, status: JobStatus = JobStatus.queued) -> Job:
    now = utcnow()
    return Job(id=f"job_{n:04d}", provider="relay", model="sora-2", status=status, base_url=base_url,
               credentials_ref=ref, request=VideoRequest(model="sora-2", prompt="x"), created_at=now,
               updated_at=now)  # fmt: skip


def test_only_the_gone_emulators_open_jobs_are_cancelled() -> None:
    store = MemoryStore()
    ref = key_fingerprint(KEY)
    jobs = [
        job(1, "http://127.0.0.1:40001", ref),  # the earlier run's emulator: cancelled
        job(2, "http://127.0.0.1:40001", ref, JobStatus.running),  # idem
        job(3, "http://127.0.0.1:40002", ref),  # this run's emulator: kept
        job(4, "http://127.0.0.1:40001", ref, JobStatus.succeeded),  # finished: kept
        job(5, "https://relay.example", ref),  # not loopback: kept
        job(6, "http://127.0.0.1:40001", "VIDGATE_RELAY_API_KEY"),  # a real key on a local relay: kept
    ]
    for j in jobs:
        store.create(j)
    with Client(base_url="http://127.0.0.1:40002", api_key=KEY, store=store, env={}) as client:
        gone = client.abandon_emulator_jobs("http://127.0.0.1:40002/", KEY)
    assert sorted(j.id for j in gone) == ["job_0001", "job_0002"]
    states = {j.id: store.get(j.id) for j in jobs}
    assert states["job_0001"].status is JobStatus.cancelled and not states["job_0001"].cancel_unconfirmed
    assert "built-in emulator" in (states["job_0002"].error.message if states["job_0002"].error else "")
    assert [states[f"job_000{n}"].status for n in (3, 4, 5, 6)] == [
        JobStatus.queued, JobStatus.succeeded, JobStatus.queued, JobStatus.queued
    ]  # fmt: skip
