"""The gateway's records (keys, deliveries, attempts, characters) and the ``GatewayData`` contract its stores keep.

See ``vidgate.store.gateway`` for the rules and for ``gateway_data(store)``.
"""

from __future__ import annotations

import asyncio
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
class StoredCharacter:
    id: str
    owner: str
    created_at: datetime
    data: str  # the Character as JSON


class GatewayData(ABC):
    """Keys, windows, deliveries and characters. Thread-safe; every method is atomic."""

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
    def hit(self, key_id: str, window_start: datetime) -> int:
        """Count one request in the key's window starting at ``window_start``; returns the window's count."""

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
