"""The in-memory twin of the gateway tables, tied to a ``MemoryStore`` (the contract: ``vidgate.store.gateway``)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from vidgate.store.codec import utc
from vidgate.store.errors import JobNotFoundError, StoreError
from vidgate.store.gateway_base import (
    Attempt,
    Charge,
    Delivery,
    GatewayData,
    KeyRecord,
    StoredCharacter,
    check_state,
    refunded_when_settled,
    settled_cost,
)
from vidgate.store.memory import MemoryStore
from vidgate.types import Job


class MemoryGatewayData(GatewayData):
    """The in-memory twin, tied to a ``MemoryStore`` (deleting a job deletes its deliveries)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._lock = threading.RLock()
        self._keys: dict[str, KeyRecord] = {}
        self._creates: dict[str, tuple[str, datetime]] = {}  # slot -> (key id, when)
        self._charges: dict[str, Charge] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._leases: dict[str, tuple[str, datetime]] = {}
        self._attempts: list[Attempt] = []
        self._characters: dict[str, StoredCharacter] = {}
        store.on_delete.append(self._job_deleted)

    def _job_deleted(self, job_id: str) -> None:
        with self._lock:
            gone = [d.id for d in self._deliveries.values() if d.job_id == job_id]
            for d in gone:
                self._deliveries.pop(d, None)
                self._leases.pop(d, None)
            self._attempts = [a for a in self._attempts if a.delivery_id not in gone]

    # keys
    def create_key(self, key: KeyRecord) -> None:
        with self._lock:
            if key.id in self._keys:
                raise StoreError(f"A key with id {key.id!r} exists already.")
            self._keys[key.id] = key

    def get_key(self, key_id: str) -> KeyRecord | None:
        with self._lock:
            return self._keys.get(key_id)

    async def aget_key(self, key_id: str) -> KeyRecord | None:
        return self.get_key(key_id)

    async def aget_key_and_job(self, key_id: str, job_id: str) -> tuple[KeyRecord | None, Job | None]:
        try:
            job: Job | None = await self.store.aget(job_id)
        except JobNotFoundError:
            job = None
        return self.get_key(key_id), job

    def list_keys(self) -> list[KeyRecord]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda k: (k.created_at, k.id))

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None or key.revoked_at is not None:
                return False
            self._keys[key_id] = replace(key, revoked_at=utc(at))
            return True

    def charge(self, key_id: str, cost_usd: float) -> bool:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                return False
            if key.budget_usd is not None and key.spent_usd + cost_usd > key.budget_usd + 1e-9:
                return False
            self._keys[key_id] = replace(key, spent_usd=key.spent_usd + cost_usd)
            return True

    def refund(self, key_id: str, cost_usd: float) -> None:
        with self._lock:
            key = self._keys.get(key_id)
            if key is not None:
                self._keys[key_id] = replace(key, spent_usd=max(0.0, key.spent_usd - cost_usd))

    def take_create_slot(self, key_id: str, limit: int, now: datetime, window_s: float = 60.0) -> str | float:
        now = utc(now)
        since = now - timedelta(seconds=window_s)
        with self._lock:
            for slot, (owner, at) in list(self._creates.items()):
                if owner == key_id and at <= since:
                    del self._creates[slot]
            times = [at for owner, at in self._creates.values() if owner == key_id]
            if len(times) >= limit:
                return max(0.001, (min(times) - since).total_seconds())
            slot = uuid.uuid4().hex
            self._creates[slot] = (key_id, now)
            return slot

    def release_create_slot(self, slot: str) -> None:
        with self._lock:
            self._creates.pop(slot, None)

    def hold_charge(self, job_id: str, key_id: str, cost_usd: float, at: datetime) -> None:
        with self._lock:
            self._charges.setdefault(job_id, Charge(job_id, key_id, float(cost_usd), "held", utc(at)))

    def get_charge(self, job_id: str) -> Charge | None:
        with self._lock:
            return self._charges.get(job_id)

    def settle_charges(self, at: datetime, limit: int = 100) -> list[Charge]:
        with self._lock:
            held = sorted((c for c in self._charges.values() if c.state == "held"), key=lambda c: c.created_at)
        ended: dict[str, tuple[str | None, float | None, bool]] = {}
        for charge in held:  # the store is read outside this lock (it calls back into it on delete)
            try:
                job = self.store.get(charge.job_id)
                status: str | None = job.status.value
                recorded, unconfirmed = job.cost_usd, job.cancel_unconfirmed
            except JobNotFoundError:
                status, recorded, unconfirmed = None, None, False
            if status is None or status in ("succeeded", "failed", "cancelled", "expired"):
                ended[charge.job_id] = (status, recorded, unconfirmed)
            if len(ended) >= limit:
                break
        settled: list[Charge] = []
        with self._lock:
            for job_id, (status, recorded, unconfirmed) in ended.items():
                charge = self._charges[job_id]
                if charge.state != "held":
                    continue  # settled meanwhile
                refunded = refunded_when_settled(status, unconfirmed)
                cost = charge.cost_usd if refunded else settled_cost(charge.cost_usd, recorded)
                if refunded:
                    self.refund(charge.key_id, charge.cost_usd)
                elif cost != charge.cost_usd:
                    key = self._keys[charge.key_id]
                    self._keys[charge.key_id] = replace(key, spent_usd=max(0.0, key.spent_usd + cost - charge.cost_usd))
                done = replace(charge, cost_usd=cost, state="refunded" if refunded else "kept", settled_at=utc(at))
                self._charges[job_id] = done
                settled.append(done)
        return settled

    # deliveries
    def add_delivery(self, delivery: Delivery) -> None:
        check_state(delivery.state)
        with self._lock:
            self.store.get(delivery.job_id)  # JobNotFoundError, like the foreign key
            self._deliveries[delivery.id] = delivery

    def waiting_for_final(self, limit: int = 100) -> list[Delivery]:
        with self._lock:
            waiting = sorted(
                (d for d in self._deliveries.values() if d.state == "waiting"), key=lambda d: (d.created_at, d.id)
            )
            out = []
            for d in waiting:
                try:
                    if self.store.get(d.job_id).status.terminal:
                        out.append(d)
                except StoreError:
                    continue
                if len(out) >= limit:
                    break
            return out

    def arm(self, delivery_id: str, event_type: str, payload: str, at: datetime) -> bool:
        with self._lock:
            d = self._deliveries.get(delivery_id)
            if d is None or d.state != "waiting":
                return False
            self._deliveries[delivery_id] = replace(
                d, state="pending", event_type=event_type, payload=payload, next_attempt_at=utc(at), updated_at=utc(at)
            )
            return True

    def claim_deliveries(self, sender: str, now: datetime, lease_s: float, limit: int = 10) -> list[Delivery]:
        now = utc(now)
        with self._lock:
            due = sorted(
                (
                    d
                    for d in self._deliveries.values()
                    if d.state == "pending"
                    and d.next_attempt_at is not None
                    and d.next_attempt_at <= now
                    and (d.id not in self._leases or self._leases[d.id][1] <= now)
                ),
                key=lambda d: (d.next_attempt_at or now, d.id),
            )[:limit]
            for d in due:
                self._leases[d.id] = (sender, now + timedelta(seconds=lease_s))
            return due

    def finish_attempt(
        self,
        delivery_id: str,
        sender: str,
        *,
        at: datetime,
        status: int | None,
        error: str | None,
        duration_ms: int,
        state: str,
        next_attempt_at: datetime | None,
    ) -> bool:
        check_state(state)
        with self._lock:
            d = self._deliveries.get(delivery_id)
            lease = self._leases.get(delivery_id)
            if d is None or lease is None or lease[0] != sender:
                return False
            self._leases.pop(delivery_id, None)
            seq = len(self._attempts) + 1
            self._attempts.append(Attempt(seq, delivery_id, utc(at), status, error, duration_ms))
            self._deliveries[delivery_id] = replace(
                d,
                state=state,
                attempts=d.attempts + 1,
                last_status=status,
                last_error=error,
                next_attempt_at=None if next_attempt_at is None else utc(next_attempt_at),
                updated_at=utc(at),
                delivered_at=utc(at) if state == "delivered" else d.delivered_at,
            )
            return True

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            return self._deliveries.get(delivery_id)

    def list_deliveries(
        self, *, owner: str | None = None, job_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        with self._lock:
            rows = [
                d
                for d in self._deliveries.values()
                if (owner is None or d.owner == owner) and (job_id is None or d.job_id == job_id)
            ]
        rows.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return rows[:limit]

    def attempts(self, delivery_id: str) -> list[Attempt]:
        with self._lock:
            return [a for a in self._attempts if a.delivery_id == delivery_id]

    # characters
    def save_character(self, character: StoredCharacter) -> None:
        with self._lock:
            self._characters[character.id] = character

    def get_character(self, character_id: str) -> StoredCharacter | None:
        with self._lock:
            return self._characters.get(character_id)

    def list_characters(self, owner: str, limit: int = 100) -> list[StoredCharacter]:
        with self._lock:
            rows = [c for c in self._characters.values() if c.owner == owner]
        rows.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return rows[:limit]

    # metrics
    def jobs_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        cursor = None
        while True:
            page = self.store.list_jobs(limit=500, cursor=cursor)
            for job in page.jobs:
                counts[job.status.value] = counts.get(job.status.value, 0) + 1
            if page.next_cursor is None:
                return counts
            cursor = page.next_cursor

    def deliveries_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for d in self._deliveries.values():
                counts[d.state] = counts.get(d.state, 0) + 1
        return counts
