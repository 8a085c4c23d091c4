"""OpenRouter webhook verification with fixed vectors and a frozen clock (providers-2026.md §1 "Webhooks"):
``X-OpenRouter-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>,<raw body>"))``, 300 s window, dedupe by
``X-OpenRouter-Idempotency-Key``; the receiver route; the emulator's own signer agrees."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from vidgate.emulator.dialects.openrouter import sign_webhook as emulator_sign
from vidgate.webhooks import InMemorySeenIds, WebhookHint, WebhookReceiver
from vidgate.webhooks.errors import (
    BadSignatureError,
    MalformedHeadersError,
    MissingHeadersError,
    ReplayedDeliveryError,
    TimestampTooNewError,
    TimestampTooOldError,
    WebhookConfigError,
)
from vidgate.webhooks.events import HintContext
from vidgate.webhooks.openrouter import openrouter_hint, sign, sign_headers, verify_openrouter_webhook
from vidgate.webhooks.receiver import StandardWebhookSource

SECRET = "or-whsec-test-secret"
T = 1777032000
# The documented completed envelope, byte for byte as sent.
BODY = (
    b'{"type":"video.generation.completed","created_at":"2026-04-24T12:00:00.000Z","data":{"id":"abc123",'
    b'"status":"completed","generation_id":"gen-xyz789","model":"google/veo-3.1","unsigned_urls":'
    b'["https://openrouter.ai/api/v1/videos/abc123/content?index=0"],"usage":{"cost":0.5,"is_byok":false}}}'
)
V1 = "12b1d97af19f53cd1a49808b46bcdec9fb7a5c7c42de3c7f1d6d453624519c6f"  # fixed vector
HEADERS = {"X-OpenRouter-Signature": f"t={T},v1={V1}", "X-OpenRouter-Idempotency-Key": "abc123-completed"}


def verify(body: bytes = BODY, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    kw.setdefault("now", T + 10)
    return verify_openrouter_webhook(body, HEADERS if headers is None else headers, kw.pop("secrets", SECRET), **kw)


def test_valid_vector() -> None:
    assert sign(SECRET, BODY, T) == f"t={T},v1={V1}"
    delivery = verify()
    assert delivery.webhook_id == "abc123-completed" and delivery.timestamp == T
    assert delivery.payload["data"]["id"] == "abc123"


def test_tampered_body_is_refused() -> None:
    with pytest.raises(BadSignatureError):
        verify(BODY.replace(b'"cost":0.5', b'"cost":0.0'))


def test_wrong_key_is_refused_and_rotation_accepts_either() -> None:
    with pytest.raises(BadSignatureError):
        verify(secrets="another-secret")
    assert verify(secrets=["another-secret", SECRET]).webhook_id == "abc123-completed"
    with pytest.raises(WebhookConfigError):
        verify(secrets=[])


def test_replayed_old_delivery_is_refused() -> None:
    with pytest.raises(TimestampTooOldError):
        verify(now=T + 301)
    with pytest.raises(TimestampTooNewError):
        verify(now=T - 301)
    assert verify(now=T + 300).timestamp == T  # the edge of the window


def test_duplicate_idempotency_key_is_a_replay() -> None:
    seen = InMemorySeenIds()
    verify(seen=seen)
    with pytest.raises(ReplayedDeliveryError):
        verify(seen=seen)
    other = sign_headers(SECRET, BODY, timestamp=T, idempotency_key="abc123-failed")
    assert verify(headers=other, seen=seen).webhook_id == "abc123-failed"


def test_comma_separator_not_dot() -> None:
    import hashlib
    import hmac

    dotted = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    with pytest.raises(BadSignatureError):
        verify(headers={**HEADERS, "X-OpenRouter-Signature": f"t={T},v1={dotted}"})


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-OpenRouter-Idempotency-Key": "abc123-completed"}, MissingHeadersError),
        ({"X-OpenRouter-Signature": f"t={T},v1={V1}"}, MissingHeadersError),
        ({**HEADERS, "X-OpenRouter-Signature": f"v1={V1}"}, MalformedHeadersError),
        ({**HEADERS, "X-OpenRouter-Signature": f"t=soon,v1={V1}"}, MalformedHeadersError),
        ({**HEADERS, "X-OpenRouter-Signature": f"t={T}"}, MalformedHeadersError),
    ],
)
def test_malformed_headers(headers: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(headers=headers)


def test_emulator_signer_is_an_independent_match() -> None:
    assert emulator_sign(SECRET, T, BODY) == f"t={T},v1={V1}"


def test_hint_names_the_job_and_ignores_other_events() -> None:
    ctx = HintContext("openrouter", "abc123-completed", T)
    hint = openrouter_hint(verify().payload, ctx)
    assert hint is not None and hint.provider_task_id == "abc123" and hint.event_type == "video.generation.completed"
    assert openrouter_hint({"type": "account.updated", "data": {}}, ctx) is None


def test_receiver_route_verifies_and_deduplicates() -> None:
    hints: list[WebhookHint] = []

    async def on_hint(hint: WebhookHint) -> None:
        hints.append(hint)

    receiver = WebhookReceiver(on_hint=on_hint, sources=[StandardWebhookSource.openrouter(SECRET)],
                               clock=lambda: T + 5)  # fmt: skip
    http = TestClient(receiver.app())
    first = http.post("/hooks/openrouter", content=BODY, headers=HEADERS)
    assert first.status_code == 200, first.text
    again = http.post("/hooks/openrouter", content=BODY, headers=HEADERS)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    bad = http.post("/hooks/openrouter", content=BODY + b" ", headers=HEADERS)
    assert bad.status_code in (400, 401)
    assert [h.provider_task_id for h in hints] == ["abc123"]


def test_vidgate_serve_wires_the_openrouter_receiver_when_the_secret_is_set() -> None:
    from vidgate.catalog import load_catalog
    from vidgate.engine.callbacks import OPENROUTER_SECRET_ENV, wire_callbacks
    from vidgate.store import MemoryStore

    def paths(env: dict[str, str]) -> list[str]:
        hooks = wire_callbacks(MemoryStore(), load_catalog(), public_url="https://vg.example", notify_key=b"k" * 32,
                               env=env)  # fmt: skip
        return [s.path for s in hooks.receiver.sources]

    assert "openrouter" not in paths({})
    assert "openrouter" in paths({OPENROUTER_SECRET_ENV: SECRET})
