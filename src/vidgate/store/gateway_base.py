"""The gateway's records (keys, deliveries, attempts, characters) and the ``GatewayData`` contract its stores keep.

See ``vidgate.store.gateway`` for the rules and for ``gateway_data(store)``.
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from vidgate.types import Job

DELIVERY_STATES = ("waiting", "pending", "delivered", "failed")


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    salt: str
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    rate_limit_per_min: int | None = None
    budget_usd: float | None = None
    spent_usd: float = 0.0
    webhook_url: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Delivery:
    id: str
    job_id: str
    owner: str | None
    url: str
    state: str
    created_at: datetime
    updated_at: datetime
    event_type: str | None = None
    payload: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    seq: int
    delivery_id: str
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Charge:
    """What one job was charged on its key's budget: ``held`` until the job ends, then ``kept`` or ``refunded``."""

    job_id: str
    key_id: str
    cost_usd: float
    state: str
    created_at: datetime
    settled_at: datetime | None = None


CHARGE_REFUNDED_WHEN = ("failed", "cancelled")  # nothing was made; an expired video was made (and billed)


MAX_SETTLE_FACTOR = 10.0  # a recorded cost above 10x the estimate is not believed (a provider's bad number)


def settled_cost(held_usd: float, recorded_usd: float | None) -> float:
    """What a kept charge finally costs the key: the price the provider reported for the job (OpenRouter's
    ``usage.cost``, recorded as ``Job.cost_usd``) when there is one, else the estimate held at create. A
    reported cost that is not a finite number from 0 to ``MAX_SETTLE_FACTOR`` x the estimate is not believed:
    the estimate stands (one bad answer must not lock a key's budget for good)."""
    if recorded_usd is None or not math.isfinite(recorded_usd) or recorded_usd < 0:
        return held_usd
    if held_usd > 0 and recorded_usd > held_usd * MAX_SETTLE_FACTOR:
        return held_usd
    return round(float(recorded_usd), 6)


def refunded_when_settled(status: str | None, cancel_unconfirmed: bool) -> bool:
    """A charge is given back when nothing was made: the job failed, or was cancelled at the provider (or before
    its create left). A job cancelled in vidgate only may still be made and billed: its charge is kept."""
    return status in CHARGE_REFUNDED_WHEN and not (status == "cancelled" and cancel_unconfirmed)


@dataclass(frozen=True)
class StoredCharacter:
    id: str
    owner: str
    created_at: datetime
    data: str  # the Character as JSON


class GatewayData(ABC):
    """Keys, create slots, charges, deliveries and characters. Thread-safe; every method is atomic."""

    # ------------------------------------------------------------------ keys

    @abstractmethod
    def create_key(self, key: KeyRecord) -> None: ...

    @abstractmethod
    def get_key(self, key_id: str) -> KeyRecord | None: ...

    async def aget_key(self, key_id: str) -> KeyRecord | None:
        """``get_key`` for a caller on an event loop (every authenticated request): like ``JobStore.aget``."""
        return await asyncio.to_thread(self.get_key, key_id)

    @abstractmethod
    async def aget_key_and_job(self, key_id: str, job_id: str) -> tuple[KeyRecord | None, Job | None]:
        """``aget_key`` and ``JobStore.aget`` of this database in one round trip (a read of one video: what each
        poll costs); None for whichever does not exist."""

    @abstractmethod
    def list_keys(self) -> list[KeyRecord]:
        """Every key, oldest first."""

    @abstractmethod
    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """False when there is no such key or it was revoked already."""

    @abstractmethod
    def charge(self, key_id: str, cost_usd: float) -> bool:
        """Add ``cost_usd`` to the key's spend unless that would pass its budget (False: refused)."""

    @abstractmethod
    def refund(self, key_id: str, cost_usd: float) -> None: ...

    @abstractmethod
    def take_create_slot(self, key_id: str, limit: int, now: datetime, window_s: float = 60.0) -> str | float:
        """Count one create for the key unless it made ``limit`` in the ``window_s`` seconds before ``now`` (a
        sliding window: never more than ``limit`` in any such span). Returns the slot's id, to be released
        if the create is not accepted after all, or the seconds until a slot frees up."""

    @abstractmethod
    def release_create_slot(self, slot: str) -> None:
        """The create this slot counted was not accepted (refused, invalid, over budget): it no longer counts."""

    @abstractmethod
    def hold_charge(self, job_id: str, key_id: str, cost_usd: float, at: datetime) -> None:
        """Record that ``job_id`` was charged ``cost_usd`` (already added by ``charge``); held until it ends."""

    @abstractmethod
    def get_charge(self, job_id: str) -> Charge | None: ...

    @abstractmethod
    def settle_charges(self, at: datetime, limit: int = 100) -> list[Charge]:
        """Settle the held charges of jobs that have ended: refund the key for a job that ended failed or
        cancelled (no video was made), keep the rest. Each charge is settled once across replicas; returns the
        charges settled by this call."""

    # ------------------------------------------------------------------ deliveries

    @abstractmethod
    def add_delivery(self, delivery: Delivery) -> None: ...

    @abstractmethod
    def waiting_for_final(self, limit: int = 100) -> list[Delivery]:
        """``waiting`` deliveries whose job is now in a final state (oldest first)."""

    @abstractmethod
    def arm(self, delivery_id: str, event_type: str, payload: str, at: datetime) -> bool:
        """``waiting`` -> ``pending`` with its payload, due at ``at``. False when it was not waiting."""

    @abstractmethod
    def claim_deliveries(self, sender: str, now: datetime, lease_s: float, limit: int = 10) -> list[Delivery]:
        """Lease up to ``limit`` due pending deliveries to ``sender`` until ``now + lease_s``."""

    @abstractmethod
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
        """Log one attempt and set the delivery's state (``pending`` with a next time, ``delivered``, ``failed``).
        False when ``sender`` no longer holds the lease (nothing is written)."""

    @abstractmethod
    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    @abstractmethod
    def list_deliveries(
        self, *, owner: str | None = None, job_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Newest first."""

    @abstractmethod
    def attempts(self, delivery_id: str) -> list[Attempt]: ...

    # ------------------------------------------------------------------ characters

    @abstractmethod
    def save_character(self, character: StoredCharacter) -> None: ...

    @abstractmethod
    def get_character(self, character_id: str) -> StoredCharacter | None: ...

    @abstractmethod
    def list_characters(self, owner: str, limit: int = 100) -> list[StoredCharacter]: ...

    # ------------------------------------------------------------------ metrics

    @abstractmethod
    def jobs_by_status(self) -> dict[str, int]:
        """How many jobs are in each state (every gateway replica sees the same numbers)."""

    @abstractmethod
    def deliveries_by_state(self) -> dict[str, int]: ...


def check_state(state: str) -> str:
    if state not in DELIVERY_STATES:
        raise ValueError(f"Unknown delivery state {state!r}; allowed: {', '.join(DELIVERY_STATES)}.")
    return state
