"""The gateway's tables (migrations 0002 and 0004) behave the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from storekit import at, make_job

from vidgate.server.tenants import averify, create_key, verify
from vidgate.store import JobStore, StoreError
from vidgate.store.gateway import Delivery, StoredCharacter, gateway_data
from vidgate.types import JobStatus


def _delivery(n: int, job_id: str, owner: str = "k1") -> Delivery:
    return Delivery(id=f"msg_{n}", job_id=job_id, owner=owner, url=f"https://hooks.example.com/{n}",
                    state="waiting", created_at=at(n), updated_at=at(n))  # fmt: skip


def test_jobs_have_owners_and_can_be_deleted(store: JobStore) -> None:
    store.create(make_job(1, owner="alice"))
    store.create(make_job(2, owner="bob"))
    store.create(make_job(3))
    assert [j.id for j in store.list_jobs(owner="alice").jobs] == ["job_0001"]
    assert store.get("job_0002").owner == "bob"
    assert len(store.list_jobs().jobs) == 3
    data = gateway_data(store)
    data.add_delivery(_delivery(1, "job_0001", "alice"))
    assert store.delete("job_0001") is True
    assert store.delete("job_0001") is False
    assert [j.id for j in store.list_jobs(owner="alice").jobs] == []
    assert data.get_delivery("msg_1") is None  # deliveries go with their job
    assert store.get_by_idempotency_key("key-1") is None


def test_keys_are_hashed_verified_and_revoked(store: JobStore) -> None:
    data = gateway_data(store)
    made = create_key(data, "app", rate_limit_per_min=2, budget_usd=1.0, webhook_url="https://x.example.com/h")
    record = data.get_key(made.record.id)
    assert record is not None and record.secret_hash == made.record.secret_hash
    assert made.token.split("_", 2)[2] not in repr(record)  # only the hash is kept
    assert verify(data, made.token) == record
    assert verify(data, made.token[:-1] + ("x" if made.token[-1] != "x" else "y")) is None
    assert verify(data, "vg_nothex_" + "a" * 40) is None
    assert [k.id for k in data.list_keys()] == [record.id]
    with pytest.raises(StoreError):
        data.create_key(made.record)
    assert data.revoke_key(record.id, at(5)) is True
    assert data.revoke_key(record.id, at(6)) is False
    assert verify(data, made.token) is None


def test_keys_checked_on_an_event_loop_are_read_every_time(store: JobStore) -> None:
    data = gateway_data(store)
    made = create_key(data, "app")

    async def check() -> None:
        async with store.async_reads():
            assert await averify(data, made.token) == data.get_key(made.record.id)
            assert await averify(data, made.token[:-1] + ("x" if made.token[-1] != "x" else "y")) is None
            assert await data.aget_key("000000000000") is None
            data.revoke_key(made.record.id, at(5))
            assert await averify(data, made.token) is None  # refused at once: no cache to expire

    asyncio.run(check())


def test_a_key_and_a_job_are_read_together(store: JobStore) -> None:
    data = gateway_data(store)
    key = create_key(data, "app").record
    store.create(make_job(1, owner=key.id, status=JobStatus.queued, next_poll_at=at(30)))
    (leased,) = store.claim("w1", at(40), lease_s=60)

    pairs = [(key.id, "job_0001"), (key.id, "job_0404"), ("000000000000", "job_0001"), ("0", "0")]

    async def read() -> list[tuple[object, object]]:
        async with store.async_reads():
            return [await data.aget_key_and_job(key_id, job_id) for key_id, job_id in pairs]

    both, no_job, no_key, neither = asyncio.run(read())
    assert both == (data.get_key(key.id), store.get("job_0001")) and both[1] == leased  # lease and version too
    assert no_job == (data.get_key(key.id), None)
    assert no_key == (None, store.get("job_0001"))
    assert neither == (None, None)


def test_budget_charges_are_atomic(store: JobStore, open_more: Callable[[], JobStore]) -> None:
    data = gateway_data(store)
    key = create_key(data, "capped", budget_usd=1.0).record
    others = [gateway_data(open_more()) for _ in range(4)]  # other processes (replicas) on the same database
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: others[i % 4].charge(key.id, 0.25), range(12)))
    assert results.count(True) == 4
    fresh = data.get_key(key.id)
    assert fresh is not None and fresh.spent_usd == pytest.approx(1.0)
    data.refund(key.id, 0.25)
    assert data.charge(key.id, 0.25) is True
    assert data.charge(key.id, 0.01) is False
    unlimited = create_key(data, "free").record
    assert all(data.charge(unlimited.id, 100.0) for _ in range(3))


def test_create_slots_are_a_sliding_window_shared_by_replicas(
    store: JobStore, open_more: Callable[[], JobStore]
) -> None:
    data, other = gateway_data(store), gateway_data(open_more())
    key = create_key(data, "limited", rate_limit_per_min=3).record
    t0 = at(30)
    slots = [d.take_create_slot(key.id, 3, t0 + timedelta(seconds=i)) for i, d in enumerate((data, other, data))]
    assert all(isinstance(s, str) for s in slots)
    wait = other.take_create_slot(key.id, 3, t0 + timedelta(seconds=3))
    assert wait == pytest.approx(57.0)  # the oldest create leaves the window 60 s after it was made
    # no fixed window: just past a minute boundary the same creates still count
    assert isinstance(data.take_create_slot(key.id, 3, at(61)), float)
    data.release_create_slot(str(slots[1]))  # that create was not accepted after all
    assert isinstance(other.take_create_slot(key.id, 3, t0 + timedelta(seconds=5)), str)
    assert isinstance(data.take_create_slot(key.id, 3, t0 + timedelta(seconds=6)), float)
    assert isinstance(data.take_create_slot(key.id, 3, t0 + timedelta(seconds=60)), str)  # the first one left
    assert isinstance(data.take_create_slot(create_key(data, "other").record.id, 1, t0), str)  # per key


def test_concurrent_creates_never_take_more_slots_than_the_limit(
    store: JobStore, open_more: Callable[[], JobStore]
) -> None:
    data = gateway_data(store)
    replicas = [data] + [gateway_data(open_more()) for _ in range(3)]
    key = create_key(data, "limited", rate_limit_per_min=5).record
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda i: replicas[i % 4].take_create_slot(key.id, 5, at(10)), range(24)))
    assert sum(isinstance(t, str) for t in taken) == 5


def test_charges_are_held_until_the_job_ends_then_kept_or_refunded_once(
    store: JobStore, open_more: Callable[[], JobStore]
) -> None:
    data, other = gateway_data(store), gateway_data(open_more())
    key = create_key(data, "budget", budget_usd=10.0).record
    ends = {1: JobStatus.succeeded, 2: JobStatus.failed, 3: JobStatus.cancelled, 4: JobStatus.expired,
            5: JobStatus.unknown, 6: JobStatus.running}  # fmt: skip
    for n in ends:
        job = store.create(make_job(n, owner=key.id)).job
        assert data.charge(key.id, 1.0)
        data.hold_charge(job.id, key.id, 1.0, at(n))
    data.hold_charge("job_0001", key.id, 5.0, at(9))  # recorded once
    assert other.settle_charges(at(20)) == []  # nothing has ended yet
    for n, status in ends.items():
        store.save(store.get(f"job_{n:04d}").model_copy(update={"status": status, "updated_at": at(10)}))
    with ThreadPoolExecutor(4) as pool:
        rounds = list(pool.map(lambda d: d.settle_charges(at(30)), [data, other, data, other]))
    settled = {c.job_id: c.state for r in rounds for c in r}
    assert sum(len(r) for r in rounds) == 4  # each settled by exactly one round
    assert settled == {"job_0001": "kept", "job_0002": "refunded", "job_0003": "refunded", "job_0004": "kept"}
    fresh = data.get_key(key.id)
    assert fresh is not None and fresh.spent_usd == pytest.approx(4.0)  # 6 charged, 2 refunded
    held = other.get_charge("job_0005")
    assert held is not None and (held.state, held.cost_usd) == ("held", 1.0)  # unknown: held
    store.delete("job_0006")  # a job gone before it ended: the charge is kept (the provider may have billed)
    assert [c.state for c in data.settle_charges(at(40))] == ["kept"]
    assert data.get_charge("job_nope") is None


def test_a_kept_charge_settles_at_the_cost_the_provider_recorded(
    store: JobStore, open_more: Callable[[], JobStore]
) -> None:
    """OpenRouter reports ``usage.cost``: the key pays that, not the estimate held at create (either way)."""
    data, other = gateway_data(store), gateway_data(open_more())
    key = create_key(data, "priced", budget_usd=10.0).record
    recorded = {1: 0.4, 2: 2.5, 3: None, 4: 0.7}  # cheaper, dearer, unpriced, failed (refunded whatever it says)
    for n in recorded:
        store.create(make_job(n, owner=key.id))
        assert data.charge(key.id, 1.0)
        data.hold_charge(f"job_{n:04d}", key.id, 1.0, at(n))
    for n, cost in recorded.items():
        status = JobStatus.failed if n == 4 else JobStatus.succeeded
        store.save(
            store.get(f"job_{n:04d}").model_copy(update={"status": status, "cost_usd": cost, "updated_at": at(10)})
        )
    settled = {c.job_id: (c.state, c.cost_usd) for c in other.settle_charges(at(20))}
    assert settled == {"job_0001": ("kept", 0.4), "job_0002": ("kept", 2.5), "job_0003": ("kept", 1.0),
                       "job_0004": ("refunded", 1.0)}  # fmt: skip
    fresh = data.get_key(key.id)
    assert fresh is not None and fresh.spent_usd == pytest.approx(0.4 + 2.5 + 1.0)
    again = data.get_charge("job_0002")
    assert again is not None and (again.state, again.cost_usd) == ("kept", 2.5)
    assert data.settle_charges(at(30)) == []  # settled once


def test_a_cancel_the_provider_did_not_confirm_keeps_the_charge(
    store: JobStore, open_more: Callable[[], JobStore]
) -> None:
    """Cancelled at the provider (or before the create left): refunded. Cancelled in vidgate only while the
    provider may still make the video: kept. A recorded cost that is not believable (inf, 1e308, > 10x the
    estimate) leaves the estimate."""
    data, other = gateway_data(store), gateway_data(open_more())
    key = create_key(data, "canceller", budget_usd=10.0).record
    ends = {1: (JobStatus.cancelled, False, None), 2: (JobStatus.cancelled, True, None),
            3: (JobStatus.succeeded, False, float("inf")), 4: (JobStatus.succeeded, False, 1e308),
            5: (JobStatus.succeeded, False, 9.5)}  # fmt: skip
    for n, (status, unconfirmed, cost) in ends.items():
        store.create(make_job(n, owner=key.id))
        assert data.charge(key.id, 1.0)
        data.hold_charge(f"job_{n:04d}", key.id, 1.0, at(n))
        job = store.get(f"job_{n:04d}")
        update = {"status": status, "cancel_unconfirmed": unconfirmed, "cost_usd": cost, "updated_at": at(10)}
        store.save(job.model_copy(update=update))
    settled = {c.job_id: (c.state, c.cost_usd) for c in other.settle_charges(at(20))}
    assert settled == {"job_0001": ("refunded", 1.0), "job_0002": ("kept", 1.0), "job_0003": ("kept", 1.0),
                       "job_0004": ("kept", 1.0), "job_0005": ("kept", 9.5)}  # fmt: skip
    fresh = data.get_key(key.id)
    assert fresh is not None and fresh.spent_usd == pytest.approx(1.0 + 1.0 + 1.0 + 9.5)


def test_deliveries_arm_claim_and_log(store: JobStore, open_more: Callable[[], JobStore]) -> None:
    data = gateway_data(store)
    job = store.create(make_job(1, owner="k1")).job
    data.add_delivery(_delivery(1, job.id))
    assert data.waiting_for_final() == []
    store.save(job.model_copy(update={"status": JobStatus.failed, "updated_at": at(3)}))
    (ready,) = data.waiting_for_final()
    assert data.arm(ready.id, "video.failed", '{"type":"video.failed"}', at(4)) is True
    assert data.arm(ready.id, "video.failed", "{}", at(4)) is False  # armed once
    a, b = data, gateway_data(open_more())
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda d: d.claim_deliveries(f"s-{id(d)}", at(5), 30), [a, b]))
    assert sorted(len(g) for g in got) == [0, 1]  # leased to exactly one sender
    winner = a if got[0] else b
    sender = f"s-{id(winner)}"
    claimed = (got[0] or got[1])[0]
    assert claimed.payload == '{"type":"video.failed"}'
    assert data.finish_attempt(claimed.id, "someone-else", at=at(6), status=500, error="x", duration_ms=1,
                               state="pending", next_attempt_at=at(9)) is False  # fmt: skip
    assert winner.finish_attempt(claimed.id, sender, at=at(6), status=500, error="HTTP 500", duration_ms=12,
                                 state="pending", next_attempt_at=at(9)) is True  # fmt: skip
    assert data.claim_deliveries("s", at(8), 30) == []  # not due yet
    (again,) = data.claim_deliveries("s", at(9), 30)
    assert data.finish_attempt(again.id, "s", at=at(10), status=204, error=None, duration_ms=3, state="delivered",
                               next_attempt_at=None)  # fmt: skip
    final = data.get_delivery(again.id)
    assert final is not None and final.state == "delivered" and final.attempts == 2 and final.delivered_at == at(10)
    assert [(x.status, x.error) for x in data.attempts(again.id)] == [(500, "HTTP 500"), (204, None)]
    assert [d.id for d in data.list_deliveries(owner="k1")] == ["msg_1"]
    assert data.list_deliveries(owner="k2") == []
    assert data.deliveries_by_state() == {"delivered": 1}
    assert data.jobs_by_status() == {"failed": 1}


def test_characters_belong_to_a_key(store: JobStore) -> None:
    data = gateway_data(store)
    data.save_character(StoredCharacter("ch_1", "k1", at(1), '{"id": "ch_1"}'))
    data.save_character(StoredCharacter("ch_2", "k2", at(2), '{"id": "ch_2"}'))
    got = data.get_character("ch_1")
    assert got is not None and got.owner == "k1" and got.created_at == at(1)
    assert [c.id for c in data.list_characters("k1")] == ["ch_1"]
    assert data.get_character("ch_3") is None
