"""The gateway's tables on SQLite or PostgreSQL, through the job store's own connections.

Named queries: ``sql/gateway_sqlite.sql`` and ``sql/gateway_postgres.sql``; tables: migration 0002.
SQLite keeps times as fixed-width UTC text, PostgreSQL as ``timestamptz``; ``_t`` / ``_dt`` convert.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from vidgate.store import queries
from vidgate.store.base import JobStore
from vidgate.store.codec import load_job, ts_parse, ts_text, utc
from vidgate.store.errors import StoreError
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
from vidgate.types import Job

_KEY_TIMES = ("created_at", "revoked_at")
_KEY_FIELDS = tuple(f.name for f in fields(KeyRecord))
_DELIVERY_TIMES = ("created_at", "updated_at", "next_attempt_at", "delivered_at")


class SqlGatewayData(GatewayData):
    def __init__(
        self,
        dialect: str,
        tx: Callable[[], AbstractContextManager[Any]],
        conn: Callable[[], AbstractContextManager[Any]],
        aone: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None,
    ) -> None:
        """``aone(query, params)``: one row for a caller on an event loop; by default read inline (SQLite: a
        local read is quicker than a thread hop)."""
        self.dialect = dialect
        self.q = queries.load(f"gateway_{dialect}")
        self._tx = tx
        self._conn = conn
        self._aone = aone or self._one_inline

    @classmethod
    def for_store(cls, store: JobStore) -> SqlGatewayData:
        from vidgate.store.sqlite import SqliteStore

        if isinstance(store, SqliteStore):
            return cls("sqlite", store._tx, _sqlite_conn(store))
        from vidgate.store.postgres import PostgresStore

        if isinstance(store, PostgresStore):
            return cls("postgres", store._tx, store._conn, store._afetchone)
        raise StoreError(f"The gateway needs a memory, SQLite or PostgreSQL store, not {store!r}.")

    # ------------------------------------------------------------------ conversions

    def _t(self, dt: datetime | None) -> Any:
        if dt is None:
            return None
        return ts_text(dt) if self.dialect == "sqlite" else utc(dt)

    def _dt(self, value: Any) -> datetime | None:
        if value is None:
            return None
        return ts_parse(value) if isinstance(value, str) else utc(value)

    def _key(self, row: Any) -> KeyRecord:
        doc = {name: row[name] for name in _KEY_FIELDS}  # on every authenticated request: no fields() here
        for name in _KEY_TIMES:
            doc[name] = self._dt(doc[name])
        doc["spent_usd"] = float(doc["spent_usd"] or 0.0)
        return KeyRecord(**doc)

    def _delivery(self, row: Any) -> Delivery:
        doc = {f.name: row[f.name] for f in fields(Delivery)}
        for name in _DELIVERY_TIMES:
            doc[name] = self._dt(doc[name])
        return Delivery(**doc)

    def _character(self, row: Any) -> StoredCharacter:
        created = self._dt(row["created_at"])
        assert created is not None
        return StoredCharacter(row["id"], row["owner"], created, row["data"])

    def _rows(self, query: str, params: dict[str, Any]) -> list[Any]:
        with self._conn() as conn:
            return list(conn.execute(query, params).fetchall())

    def _one(self, query: str, params: dict[str, Any]) -> Any:
        with self._conn() as conn:
            return conn.execute(query, params).fetchone()

    async def _one_inline(self, query: str, params: dict[str, Any]) -> Any:
        return self._one(query, params)

    def _write(self, query: str, params: dict[str, Any]) -> int:
        with self._tx() as conn:
            return int(conn.execute(query, params).rowcount)

    # ------------------------------------------------------------------ keys

    def create_key(self, key: KeyRecord) -> None:
        params = {f.name: getattr(key, f.name) for f in fields(KeyRecord)}
        for name in _KEY_TIMES:
            params[name] = self._t(params[name])
        try:
            self._write(self.q.insert_key, params)
        except Exception as exc:
            if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
                raise StoreError(f"A key with id {key.id!r} exists already.") from exc
            raise

    def get_key(self, key_id: str) -> KeyRecord | None:
        row = self._one(self.q.get_key, {"id": key_id})
        return None if row is None else self._key(row)

    async def aget_key(self, key_id: str) -> KeyRecord | None:
        row = await self._aone(self.q.get_key, {"id": key_id})
        return None if row is None else self._key(row)

    async def aget_key_and_job(self, key_id: str, job_id: str) -> tuple[KeyRecord | None, Job | None]:
        row = await self._aone(self.q.get_key_and_job, {"key_id": key_id, "job_id": job_id})
        key = None if row["id"] is None else self._key(row)
        if row["job_data"] is None:
            return key, None
        job = load_job(
            row["job_data"],
            version=row["job_version"],
            next_poll_at=self._dt(row["job_next_poll_at"]),
            lease_owner=row["job_lease_owner"],
            lease_until=self._dt(row["job_lease_until"]),
        )
        return key, job

    def list_keys(self) -> list[KeyRecord]:
        return [self._key(r) for r in self._rows(self.q.list_keys, {})]

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        return self._write(self.q.revoke_key, {"id": key_id, "at": self._t(at)}) == 1

    def charge(self, key_id: str, cost_usd: float) -> bool:
        return self._write(self.q.charge, {"id": key_id, "cost": float(cost_usd)}) == 1

    def refund(self, key_id: str, cost_usd: float) -> None:
        self._write(self.q.refund, {"id": key_id, "cost": float(cost_usd)})

    def take_create_slot(self, key_id: str, limit: int, now: datetime, window_s: float = 60.0) -> str | float:
        since = now - timedelta(seconds=window_s)
        with self._tx() as conn:
            conn.execute(self.q.lock_key, {"key_id": key_id})
            conn.execute(self.q.prune_creates, {"key_id": key_id, "since": self._t(since)})
            row = conn.execute(self.q.count_creates, {"key_id": key_id}).fetchone()
            if int(row["n"]) >= limit:
                oldest = self._dt(row["oldest"])
                assert oldest is not None
                return max(0.001, (oldest - since).total_seconds())
            slot = uuid.uuid4().hex
            conn.execute(self.q.insert_create, {"slot": slot, "key_id": key_id, "at": self._t(now)})
        return slot

    def release_create_slot(self, slot: str) -> None:
        self._write(self.q.release_create, {"slot": slot})

    def hold_charge(self, job_id: str, key_id: str, cost_usd: float, at: datetime) -> None:
        params = {"job_id": job_id, "key_id": key_id, "cost": float(cost_usd), "at": self._t(at)}
        self._write(self.q.hold_charge, params)

    def get_charge(self, job_id: str) -> Charge | None:
        row = self._one(self.q.get_charge, {"job_id": job_id})
        return None if row is None else self._charge(row)

    def _charge(self, row: Any) -> Charge:
        created = self._dt(row["created_at"])
        assert created is not None
        return Charge(row["job_id"], row["key_id"], float(row["cost_usd"]), row["state"], created,
                      self._dt(row["settled_at"]))  # fmt: skip

    def settle_charges(self, at: datetime, limit: int = 100) -> list[Charge]:
        settled: list[Charge] = []
        stamp = self._t(at)
        with self._tx() as conn:
            for row in conn.execute(self.q.charges_to_settle, {"limit": limit}).fetchall():
                recorded, unconfirmed = job_facts(row["data"])
                refunded = refunded_when_settled(row["status"], unconfirmed)
                state = "refunded" if refunded else "kept"
                held = float(row["cost_usd"])
                cost = held if refunded else settled_cost(held, recorded)
                params = {"job_id": row["job_id"], "state": state, "at": stamp, "cost": cost}
                if conn.execute(self.q.settle_charge, params).rowcount != 1:
                    continue  # another replica settled it
                if refunded:
                    conn.execute(self.q.refund, {"id": row["key_id"], "cost": held})
                elif cost != held:
                    conn.execute(self.q.adjust_spend, {"id": row["key_id"], "delta": cost - held})
                settled.append(Charge(row["job_id"], row["key_id"], cost, state, at, at))
        return settled

    # ------------------------------------------------------------------ deliveries

    def add_delivery(self, delivery: Delivery) -> None:
        check_state(delivery.state)
        params = {f.name: getattr(delivery, f.name) for f in fields(Delivery)}
        for name in _DELIVERY_TIMES:
            params[name] = self._t(params[name])
        self._write(self.q.insert_delivery, params)

    def waiting_for_final(self, limit: int = 100) -> list[Delivery]:
        return [self._delivery(r) for r in self._rows(self.q.waiting_for_final, {"limit": limit})]

    def arm(self, delivery_id: str, event_type: str, payload: str, at: datetime) -> bool:
        params = {"id": delivery_id, "event_type": event_type, "payload": payload, "at": self._t(at)}
        return self._write(self.q.arm, params) == 1

    def claim_deliveries(self, sender: str, now: datetime, lease_s: float, limit: int = 10) -> list[Delivery]:
        until = now + timedelta(seconds=lease_s)
        params = {"sender": sender, "now": self._t(now), "lease_until": self._t(until), "limit": limit}
        with self._tx() as conn:
            rows = conn.execute(self.q.claim_deliveries, params).fetchall()
        out = [self._delivery(r) for r in rows]
        out.sort(key=lambda d: (d.next_attempt_at or now, d.id))
        return out

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
        params = {
            "id": delivery_id,
            "sender": sender,
            "at": self._t(at),
            "status": status,
            "error": error,
            "duration_ms": duration_ms,
            "state": state,
            "next_attempt_at": self._t(next_attempt_at),
        }
        with self._tx() as conn:
            if conn.execute(self.q.finish_attempt, params).rowcount != 1:
                return False
            conn.execute(self.q.insert_attempt, params)
        return True

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        row = self._one(self.q.get_delivery, {"id": delivery_id})
        return None if row is None else self._delivery(row)

    def list_deliveries(
        self, *, owner: str | None = None, job_id: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        rows = self._rows(self.q.list_deliveries, {"owner": owner, "job_id": job_id, "limit": limit})
        return [self._delivery(r) for r in rows]

    def attempts(self, delivery_id: str) -> list[Attempt]:
        out = []
        for r in self._rows(self.q.list_attempts, {"id": delivery_id}):
            at = self._dt(r["at"])
            assert at is not None
            out.append(Attempt(int(r["seq"]), r["delivery_id"], at, r["status"], r["error"], int(r["duration_ms"])))
        return out

    # ------------------------------------------------------------------ characters

    def save_character(self, character: StoredCharacter) -> None:
        params = {
            "id": character.id,
            "owner": character.owner,
            "created_at": self._t(character.created_at),
            "data": character.data,
        }
        self._write(self.q.upsert_character, params)

    def get_character(self, character_id: str) -> StoredCharacter | None:
        row = self._one(self.q.get_character, {"id": character_id})
        return None if row is None else self._character(row)

    def list_characters(self, owner: str, limit: int = 100) -> list[StoredCharacter]:
        return [self._character(r) for r in self._rows(self.q.list_characters, {"owner": owner, "limit": limit})]

    # ------------------------------------------------------------------ metrics

    def jobs_by_status(self) -> dict[str, int]:
        return {r["status"]: int(r["n"]) for r in self._rows(self.q.jobs_by_status, {})}

    def deliveries_by_state(self) -> dict[str, int]:
        return {r["state"]: int(r["n"]) for r in self._rows(self.q.deliveries_by_state, {})}


def _sqlite_conn(store: Any) -> Callable[[], AbstractContextManager[Any]]:
    """SQLite reads use the thread's connection directly (no transaction needed)."""
    from contextlib import contextmanager

    @contextmanager
    def conn() -> Iterator[Any]:
        yield store._conn()

    return conn


def job_facts(data: str | None) -> tuple[float | None, bool]:
    """``Job.cost_usd`` (None: gone, unpriced, or not a number) and ``Job.cancel_unconfirmed`` out of a job
    row's JSON document."""
    if not data:
        return None, False
    try:
        doc = json.loads(data)
    except ValueError:
        return None, False
    if not isinstance(doc, dict):
        return None, False
    value = doc.get("cost_usd")
    cost = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return cost, doc.get("cancel_unconfirmed") is True
