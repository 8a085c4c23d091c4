"""What the gateway keeps beside the jobs, in the same database: API keys (hashed), per-key create slots, what
each job was charged, outgoing webhook deliveries with their attempt log, and characters created through the gateway.

One contract (``GatewayData``), an in-memory twin and one SQL implementation for SQLite and PostgreSQL
(``vidgate.store.gateway_sql``). ``gateway_data(store)`` returns the right one for a job store, sharing
its connections, so a key revoked on one gateway replica is refused by every other at once.

Rules every implementation keeps (``tests/contract/test_gateway_data.py`` pins them):

* Keys are never stored in the clear: only ``salt`` and ``secret_hash`` (see ``vidgate.server.tenants``).
* ``charge`` adds a cost to a key's spend only if it stays within the key's budget (atomic, so two replicas
  cannot both spend the last dollar); ``refund`` takes it back (never below zero).
* ``take_create_slot`` counts one create in a key's sliding window unless the window is full (atomic: two
  replicas cannot both take the last slot); ``release_create_slot`` uncounts a create that was not accepted.
* ``hold_charge`` records a job's charge; ``settle_charges`` refunds the charges of jobs that ended failed or
  cancelled and keeps the others, each exactly once.
* Deliveries are ``waiting`` (the job is not final yet), ``pending`` (payload built, due at
  ``next_attempt_at``), ``delivered`` or ``failed`` (gave up). ``claim_deliveries`` leases each due delivery
  to exactly one sender; ``finish_attempt`` appends to the attempt log and moves the delivery on.
"""

from __future__ import annotations

import threading

from vidgate.store.base import JobStore
from vidgate.store.gateway_base import (
    CHARGE_REFUNDED_WHEN,
    DELIVERY_STATES,
    Attempt,
    Charge,
    Delivery,
    GatewayData,
    KeyRecord,
    StoredCharacter,
    check_state,
)
from vidgate.store.gateway_memory import MemoryGatewayData
from vidgate.store.gateway_sql import SqlGatewayData
from vidgate.store.memory import MemoryStore

__all__ = [
    "CHARGE_REFUNDED_WHEN",
    "DELIVERY_STATES",
    "Attempt",
    "Charge",
    "Delivery",
    "GatewayData",
    "KeyRecord",
    "MemoryGatewayData",
    "SqlGatewayData",
    "StoredCharacter",
    "check_state",
    "gateway_data",
]

_MEMORY: dict[int, MemoryGatewayData] = {}
_MEMORY_LOCK = threading.Lock()


def gateway_data(store: JobStore) -> GatewayData:
    """The gateway tables of ``store``'s database (the memory twin for a ``MemoryStore``)."""
    if isinstance(store, MemoryStore):
        with _MEMORY_LOCK:  # one twin per memory store, so every gateway object on it sees the same keys
            found = _MEMORY.get(id(store))
            if found is None or found.store is not store:
                found = _MEMORY[id(store)] = MemoryGatewayData(store)
            return found
    return SqlGatewayData.for_store(store)
