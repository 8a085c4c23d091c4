"""fal.ai webhooks (``?fal_webhook=<url>`` on the queue submit): ED25519 verification, pure with the clock injected.

Source: shared/reference/providers-2026.md §2 "Webhooks". Header names are official; the algorithm is tagged
[MEMORY, verify] there:

- ``X-Fal-Webhook-Request-Id``, ``X-Fal-Webhook-User-Id``, ``X-Fal-Webhook-Timestamp``, ``X-Fal-Webhook-Signature``.
- Signed message = ``request_id + "\\n" + user_id + "\\n" + timestamp + "\\n" + sha256_hex(raw body)``;
  the signature is hex-encoded ED25519.
- Public keys: the JWKS at ``https://rest.alpha.fal.ai/.well-known/jwks.json`` (``OKP`` / ``Ed25519`` keys, ``x`` in
  base64url); fetched once and cached, refetched (at most once a minute) when no cached key verifies.
- Timestamps outside ±300 s are refused.
- Body ``{"request_id", "gateway_request_id", "status": "OK"|"ERROR", "payload", "error", "payload_error"}``:
  ``request_id`` is the job's ``provider_task_id``; the hint only wakes the job, which then polls the queue.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vidgate.webhooks.errors import (
    BadSignatureError,
    KeysUnavailableError,
    MalformedBodyError,
    MalformedHeadersError,
    MissingHeadersError,
)
from vidgate.webhooks.events import HintContext
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.standard import DEFAULT_TOLERANCE_S, VerifiedDelivery, check_window, parse_json_body

JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
HEADER_REQUEST_ID = "x-fal-webhook-request-id"
HEADER_USER_ID = "x-fal-webhook-user-id"
HEADER_TIMESTAMP = "x-fal-webhook-timestamp"
HEADER_SIGNATURE = "x-fal-webhook-signature"
HEADERS = (HEADER_REQUEST_ID, HEADER_USER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)
FetchJwksSync = Callable[[str], Mapping[str, Any]]


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()


def jwks_keys(jwks: Mapping[str, Any]) -> list[Ed25519PublicKey]:
    """The Ed25519 public keys of a JWKS (other key types are skipped)."""
    out: list[Ed25519PublicKey] = []
    for jwk in jwks.get("keys") or []:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        x = str(jwk.get("x") or "")
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            out.append(Ed25519PublicKey.from_public_bytes(raw))
        except ValueError:
            continue
    return out


def verify_fal_webhook(
    body: bytes,
    headers: Mapping[str, str],
    keys: Sequence[Ed25519PublicKey],
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> VerifiedDelivery:
    """Verify one delivery against ``keys``. Order: headers -> timestamp window -> signature -> JSON body."""
    lower = {k.lower(): v for k, v in headers.items()}
    values = {name: (lower.get(name) or "").strip() for name in HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise MissingHeadersError(missing)
    stamp = values[HEADER_TIMESTAMP]
    if not stamp.isdigit() or len(stamp) > 12:
        raise MalformedHeadersError(f"X-Fal-Webhook-Timestamp {stamp[:20]!r} is not whole unix seconds.")
    try:
        signature = bytes.fromhex(values[HEADER_SIGNATURE])
    except ValueError:
        raise MalformedHeadersError("X-Fal-Webhook-Signature is not hex.") from None
    timestamp = int(stamp)
    check_window(timestamp, now=now, tolerance_s=tolerance_s)
    message = signed_message(values[HEADER_REQUEST_ID], values[HEADER_USER_ID], stamp, body)
    if not any(_ok(key, signature, message) for key in keys):
        raise BadSignatureError(
            "X-Fal-Webhook-Signature does not verify with any of fal's published ED25519 keys (JWKS)."
        )
    payload = parse_json_body(body)
    request_id = values[HEADER_REQUEST_ID]
    return VerifiedDelivery(
        webhook_id=request_id,
        timestamp=timestamp,
        body=body,
        payload=payload,
        replay_key=f"fal:{request_id}:{hashlib.sha256(body).hexdigest()[:32]}",
        expires_at=timestamp + tolerance_s,
    )


def _ok(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def fetch_jwks_httpx_sync(url: str) -> Mapping[str, Any]:
    import httpx

    response = httpx.get(url, headers={"Accept": "application/json"}, timeout=10)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, Mapping):
        raise ValueError("JWKS is not a JSON object")
    return body


class FalJwks:
    """fal's published keys: fetched on first use, cached ``ttl_s``, refetched when no cached key verifies."""

    def __init__(
        self,
        url: str = JWKS_URL,
        *,
        fetch: FetchJwksSync = fetch_jwks_httpx_sync,
        clock: Callable[[], float] = time.monotonic,
        ttl_s: float = 24 * 3600.0,
        min_refresh_s: float = 60.0,
    ) -> None:
        self.url, self._fetch, self._clock = url, fetch, clock
        self.ttl_s, self.min_refresh_s = ttl_s, min_refresh_s
        self._keys: list[Ed25519PublicKey] | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def keys(self, *, refresh: bool = False) -> list[Ed25519PublicKey]:
        with self._lock:
            age = self._clock() - self._fetched_at
            stale = self._keys is None or age > self.ttl_s or (refresh and age > self.min_refresh_s)
            if stale:
                try:
                    self.fetches += 1
                    keys = jwks_keys(self._fetch(self.url))
                except Exception as exc:
                    if self._keys is None:
                        raise KeysUnavailableError(f"fal's JWKS could not be fetched from {self.url}: {exc}") from exc
                else:
                    self._keys, self._fetched_at = keys, self._clock()
            return list(self._keys or [])

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Any = (),
        *,
        now: float,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
    ) -> VerifiedDelivery:
        """``StandardWebhookSource.verify``: the cached keys, then once more after a refetch (key rotation)."""
        try:
            return verify_fal_webhook(body, headers, self.keys(), now=now, tolerance_s=tolerance_s)
        except BadSignatureError:
            return verify_fal_webhook(body, headers, self.keys(refresh=True), now=now, tolerance_s=tolerance_s)


def fal_hint(payload: Any, ctx: HintContext) -> WebhookHint:
    """The delivery -> a hint naming ``request_id`` (event type ``fal.OK`` / ``fal.ERROR``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("request_id"), str) or not payload["request_id"]:
        raise MalformedBodyError("The fal webhook body is not {'request_id': ..., 'status': 'OK'|'ERROR', ...}.")
    status = payload.get("status")
    return WebhookHint(
        provider=ctx.provider,
        event_type=f"fal.{status if isinstance(status, str) else 'unknown'}",
        provider_task_id=payload["request_id"],
        webhook_id=ctx.webhook_id,
        received_at=ctx.received_at,
        raw=payload,
    )
