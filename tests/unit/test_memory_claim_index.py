"""MemoryStore.claim walks a due-time index instead of every row: the same answers as a full scan."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from vidgate.store import MemoryStore
from vidgate.types import Job, JobStatus

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def job(i: int, due: datetime | None) -> Job:
    return Job(id=f"job_{i:04d}", provider="relay", model="relay/sora-2", idempotency_key=f"k{i}",
               status=JobStatus.queued, next_poll_at=due, created_at=T0, updated_at=T0)  # fmt: skip


def full_scan(store: MemoryStore, now: datetime) -> list[str]:
    rows = [r for r in store._rows.values() if r.next_poll_at is not None and r.next_poll_at <= now
            and (r.lease_until is None or r.lease_until <= now)]  # fmt: skip
    return [r.id for r in sorted(rows, key=lambda r: (r.next_poll_at, r.id))]


def test_claims_match_a_full_scan_through_random_changes() -> None:
    rnd = random.Random(7)
    store = MemoryStore()
    for i in range(200):
        store.create(job(i, T0 + timedelta(seconds=rnd.randint(-50, 50)) if rnd.random() < 0.8 else None))
    now = T0
    for _ in range(300):
        now += timedelta(seconds=rnd.randint(0, 3))
        action = rnd.random()
        target = f"job_{rnd.randrange(200):04d}"
        if target not in store._rows:
            continue
        if action < 0.3:
            store.wake(target, now + timedelta(seconds=rnd.randint(-5, 20)))
        elif action < 0.5:
            stored = store.get(target)
            due = None if rnd.random() < 0.1 else now + timedelta(seconds=rnd.randint(-10, 30))
            store.save(stored.model_copy(update={"next_poll_at": due}))
        elif action < 0.55:
            store.delete(target)
        else:
            expected = full_scan(store, now)[:5]
            got = store.claim("w", now, lease_s=rnd.choice([1, 30]), limit=5)
            assert [j.id for j in got] == expected
            for j in got:
                if rnd.random() < 0.5:
                    store.release(j.id, "w", now + timedelta(seconds=rnd.randint(0, 20)))


def test_a_job_whose_lease_expired_is_claimed_again() -> None:
    store = MemoryStore()
    store.create(job(1, T0))
    assert [j.id for j in store.claim("a", T0, lease_s=10)] == ["job_0001"]
    assert store.claim("b", T0 + timedelta(seconds=5), lease_s=10) == []
    assert [j.id for j in store.claim("b", T0 + timedelta(seconds=10), lease_s=10)] == ["job_0001"]


def test_the_index_stays_small_when_due_times_keep_moving() -> None:
    store = MemoryStore()
    store.create(job(1, T0))
    for k in range(5000):
        store.wake("job_0001", T0 - timedelta(seconds=k))  # each wake pushes an entry
    assert len(store._due) < 2 * 1 + 1024 + 2
    assert [j.id for j in store.claim("w", T0, lease_s=5)] == ["job_0001"]
