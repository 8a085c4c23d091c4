"""Replicate webhooks: Standard Webhooks vectors with a frozen clock (valid, tampered, replayed, wrong key,
stale), the account secret fetched once from GET /v1/webhooks/default/secret and cached, the receiver route and
the emulator's own signer (providers-2026.md §3 "Webhooks")."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from vidgate.catalog import load_catalog
from vidgate.emulator.dialects.replicate import sign as emulator_sign
from vidgate.engine.callbacks import replicate_secret
from vidgate.webhooks import InMemorySeenIds, WebhookHint, WebhookReceiver
from vidgate.webhooks.errors import BadSignatureError, ReplayedDeliveryError, TimestampTooOldError, WebhookConfigError
from vidgate.webhooks.events import HintContext
from vidgate.webhooks.receiver import StandardWebhookSource
from vidgate.webhooks.replicate import ReplicateSecret, replicate_hint
from vidgate.webhooks.standard import verify_standard_webhook

SECRET = "whsec_cmVwbGljYXRlLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmM="  # base64("replicate-test-key-0123456789abc")
T = 1777032000
MSG = "msg_p5jXN8AQM9LWM0D4loKWxJek"
BODY = (
    b'{"id":"ufawqhfynnddngldkgtslldrkq","model":"kwaivgi/kling-v2.1-master","status":"succeeded",'
    b'"output":"https://replicate.delivery/xezq/out.mp4"}'
)
SIG = "v1,Awf9lblvuikpDsEL/vUv85ezFpPVLcUH9YqvO+WRwfU="  # fixed vector: HMAC-SHA256 over "{id}.{ts}.{body}"
HEADERS = {"webhook-id": MSG, "webhook-timestamp": str(T), "webhook-signature": SIG}


def test_valid_vector_and_the_emulator_signs_the_same() -> None:
    delivery = verify_standard_webhook(BODY, HEADERS, SECRET, now=T + 10)
    assert delivery.payload["id"] == "ufawqhfynnddngldkgtslldrkq"
    assert emulator_sign(SECRET, MSG, T, BODY) == SIG
    hint = replicate_hint(delivery.payload, HintContext("replicate", MSG, T))
    assert hint.provider_task_id == "ufawqhfynnddngldkgtslldrkq" and hint.event_type == "prediction.succeeded"


def test_tampered_wrong_key_stale_and_replayed_are_refused() -> None:
    with pytest.raises(BadSignatureError):
        verify_standard_webhook(BODY.replace(b"succeeded", b"failed"), HEADERS, SECRET, now=T)
    wrong = "whsec_" + "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="
    with pytest.raises(BadSignatureError):
        verify_standard_webhook(BODY, HEADERS, wrong, now=T)
    with pytest.raises(TimestampTooOldError):
        verify_standard_webhook(BODY, HEADERS, SECRET, now=T + 301)
    seen = InMemorySeenIds()
    verify_standard_webhook(BODY, HEADERS, SECRET, now=T, seen=seen)
    with pytest.raises(ReplayedDeliveryError):
        verify_standard_webhook(BODY, HEADERS, SECRET, now=T + 1, seen=seen)


def test_secret_is_fetched_once_and_cached() -> None:
    calls: list[httpx.Request] = []

    def fetch(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"key": SECRET})

    secret = ReplicateSecret(base_url="https://api.replicate.com", api_key="r8-test", fetch=fetch)
    for _ in range(3):
        secret.verify(BODY, HEADERS, now=T)
    assert len(calls) == 1 and secret.fetches == 1
    assert str(calls[0].url) == "https://api.replicate.com/v1/webhooks/default/secret"
    assert calls[0].headers["authorization"] == "Bearer r8-test" and "r8-test" not in repr(secret)
    failing = ReplicateSecret(base_url="https://x", api_key="k", fetch=lambda r: httpx.Response(401, json={}))
    with pytest.raises(WebhookConfigError):
        failing.get()


def test_callbacks_configuration() -> None:
    catalog = load_catalog()
    assert replicate_secret({}, catalog) is None
    given = replicate_secret({"VIDGATE_REPLICATE_WEBHOOK_SECRET": SECRET}, catalog)
    assert given is not None and given.get() == SECRET
    assert replicate_secret({"VIDGATE_REPLICATE_API_KEY": "r8"}, catalog) is not None


def test_receiver_route_verifies_and_deduplicates() -> None:
    hints: list[WebhookHint] = []

    async def on_hint(hint: WebhookHint) -> None:
        hints.append(hint)

    source = StandardWebhookSource.replicate(ReplicateSecret(SECRET))
    receiver = WebhookReceiver(on_hint=on_hint, sources=[source], clock=lambda: T + 5)
    http = TestClient(receiver.app())
    first = http.post("/hooks/replicate", content=BODY, headers=HEADERS)
    assert first.status_code == 200, first.text
    again = http.post("/hooks/replicate", content=BODY, headers=HEADERS)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    bad = http.post("/hooks/replicate", content=BODY + b" ", headers=HEADERS)
    assert bad.status_code in (400, 401)
    assert [h.provider_task_id for h in hints] == ["ufawqhfynnddngldkgtslldrkq"]
