"""Tenants: gateway API keys (``vg_<id>_<secret>``), stored as a salted HMAC-SHA256, checked in constant time.

The id part is public (it is what ``vidgate keys list`` shows and what jobs record as their owner); the
secret part is shown once, at creation, and never stored. Each key may carry a create-rate limit (accepted
creates per sliding minute, shared by every replica through the database), a spend budget (USD, estimated
from prices per second; see ``vidgate.server.submit``) and a default webhook URL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from vidgate.store.gateway import GatewayData, KeyRecord
from vidgate.types import Job, utcnow

KEY_PREFIX = "vg_"
_KEY = re.compile(r"^vg_([0-9a-f]{12})_([A-Za-z0-9_-]{32,128})$")
ANONYMOUS = "anonymous"


def _digest(salt: str, secret: str) -> str:
    return hmac.digest(bytes.fromhex(salt), secret.encode("utf-8"), hashlib.sha256).hex()


@dataclass(frozen=True)
class NewKey:
    record: KeyRecord
    token: str  # shown once; never stored


def new_key(
    name: str,
    *,
    rate_limit_per_min: int | None = None,
    budget_usd: float | None = None,
    webhook_url: str | None = None,
    now: datetime | None = None,
) -> NewKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    record = KeyRecord(
        id=key_id,
        name=name,
        salt=salt,
        secret_hash=_digest(salt, secret),
        created_at=now or utcnow(),
        rate_limit_per_min=rate_limit_per_min,
        budget_usd=budget_usd,
        webhook_url=webhook_url,
    )
    return NewKey(record, f"{KEY_PREFIX}{key_id}_{secret}")


def create_key(data: GatewayData, name: str, **kwargs: object) -> NewKey:
    made = new_key(name, **kwargs)  # type: ignore[arg-type]
    data.create_key(made.record)
    return made


def key_id_of(token: str) -> str | None:
    """The public id in a token that has the key shape (None otherwise); nothing is checked yet."""
    m = _KEY.match(token)
    return m.group(1) if m else None


def verify(data: GatewayData, token: str) -> KeyRecord | None:
    """The active key ``token`` names, or None. The secret is compared in constant time."""
    m = _KEY.match(token)
    return None if m is None else _checked(data.get_key(m.group(1)), m.group(2))


async def averify(data: GatewayData, token: str) -> KeyRecord | None:
    """``verify`` on an event loop: the key is read from the database on every call (a revoked key stops
    working at once, on every replica), without blocking the loop."""
    m = _KEY.match(token)
    return None if m is None else _checked(await data.aget_key(m.group(1)), m.group(2))


async def averify_with_job(data: GatewayData, token: str, job_id: str) -> tuple[KeyRecord | None, Job | None]:
    """``averify``, and the job ``job_id`` read in the same round trip; the job only with a valid key."""
    m = _KEY.match(token)
    if m is None:
        return None, None
    record, job = await data.aget_key_and_job(m.group(1), job_id)
    record = _checked(record, m.group(2))
    return record, None if record is None else job


def _checked(record: KeyRecord | None, secret: str) -> KeyRecord | None:
    if record is None or not record.active:
        _digest("00" * 16, secret)  # same work either way
        return None
    if not hmac.compare_digest(_digest(record.salt, secret), record.secret_hash):
        return None
    return record


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id (the owner of every job it creates), or ``anonymous`` when auth is off."""

    key_id: str
    record: KeyRecord | None = None

    @property
    def webhook_url(self) -> str | None:
        return self.record.webhook_url if self.record else None
