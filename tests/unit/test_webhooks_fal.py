"""fal webhook verification vectors: a locally generated ED25519 key pair, the reference's message layout."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vidgate.webhooks.errors import (
    BadSignatureError,
    KeysUnavailableError,
    MissingHeadersError,
    TimestampTooOldError,
)
from vidgate.webhooks.events import HintContext
from vidgate.webhooks.fal import FalJwks, fal_hint, jwks_keys, signed_message, verify_fal_webhook

NOW = 1_790_000_000
BODY = json.dumps({"request_id": "req-1", "gateway_request_id": "req-1", "status": "OK",
                   "payload": {"video": {"url": "https://v3b.fal.media/files/x.mp4"}}}).encode()  # fmt: skip


def jwks(key: Ed25519PrivateKey) -> dict[str, Any]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}]}


def signed(key: Ed25519PrivateKey, body: bytes = BODY, ts: int = NOW) -> dict[str, str]:
    sig = key.sign(signed_message("req-1", "user-9", str(ts), body)).hex()
    return {"X-Fal-Webhook-Request-Id": "req-1", "X-Fal-Webhook-User-Id": "user-9",
            "X-Fal-Webhook-Timestamp": str(ts), "X-Fal-Webhook-Signature": sig}  # fmt: skip


KEY = Ed25519PrivateKey.generate()
KEYS = jwks_keys(jwks(KEY))


def test_message_layout_is_the_references() -> None:
    expected = b"a\nb\n1\n" + hashlib.sha256(b"{}").hexdigest().encode()
    assert signed_message("a", "b", "1", b"{}") == expected


def test_valid_delivery() -> None:
    delivery = verify_fal_webhook(BODY, signed(KEY), KEYS, now=NOW + 10)
    assert delivery.webhook_id == "req-1" and delivery.payload["status"] == "OK"
    hint = fal_hint(delivery.payload, HintContext("fal", delivery.webhook_id, NOW))
    assert hint.provider_task_id == "req-1" and hint.event_type == "fal.OK"


def test_tampered_body() -> None:
    with pytest.raises(BadSignatureError):
        verify_fal_webhook(BODY.replace(b"OK", b"ERROR"), signed(KEY), KEYS, now=NOW)


def test_tampered_header() -> None:
    headers = {**signed(KEY), "X-Fal-Webhook-User-Id": "someone-else"}
    with pytest.raises(BadSignatureError):
        verify_fal_webhook(BODY, headers, KEYS, now=NOW)


def test_replayed_old_timestamp() -> None:
    with pytest.raises(TimestampTooOldError):
        verify_fal_webhook(BODY, signed(KEY, ts=NOW - 301), KEYS, now=NOW)


def test_wrong_key() -> None:
    other = jwks_keys(jwks(Ed25519PrivateKey.generate()))
    with pytest.raises(BadSignatureError):
        verify_fal_webhook(BODY, signed(KEY), other, now=NOW)


def test_missing_headers() -> None:
    headers = signed(KEY)
    del headers["X-Fal-Webhook-Signature"]
    with pytest.raises(MissingHeadersError):
        verify_fal_webhook(BODY, headers, KEYS, now=NOW)


def test_jwks_cached_and_refetched_on_rotation() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    served = [jwks(old)]
    clock = [0.0]
    cache = FalJwks(fetch=lambda url: served[-1], clock=lambda: clock[0])
    cache.verify(BODY, signed(old), now=NOW)
    cache.verify(BODY, signed(old), now=NOW)
    assert cache.fetches == 1
    served.append(jwks(new))
    clock[0] = 120.0
    assert cache.verify(BODY, signed(new), now=NOW).webhook_id == "req-1"
    assert cache.fetches == 2


def test_jwks_unavailable() -> None:
    def fail(url: str) -> dict[str, Any]:
        raise OSError("down")

    with pytest.raises(KeysUnavailableError):
        FalJwks(fetch=fail).verify(BODY, signed(KEY), now=NOW)
