"""The relay account webhook: fixed vectors for the pure verifier, and the ASGI receiver's answers."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from vidgate.webhooks.errors import MalformedBodyError, WebhookConfigError
from vidgate.webhooks.relay_account import (
    BadBearerError,
    QuotaLowEvent,
    UnknownTopicError,
    account_webhook_app,
    verify_account_webhook,
)

KEY = "sk-account-0123456789abcdef"
OLD_KEY = "sk-account-previous"
BODY = b'{"topic": "user_quota_too_low", "data": {"quota": 0.5}}'  # the documented example
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_documented_delivery_becomes_an_event() -> None:
    event = verify_account_webhook(f"Bearer {KEY}", BODY, [KEY], now=NOW)
    assert event == QuotaLowEvent(
        quota=0.5, provider="relay", received_at=NOW, raw={"topic": "user_quota_too_low", "data": {"quota": 0.5}}
    )
    assert event.topic == "user_quota_too_low"


@pytest.mark.parametrize(
    "authorization",
    ["bearer " + KEY, "BEARER  " + KEY + " ", "Bearer " + OLD_KEY],  # scheme case, spaces, a rotated key
)
def test_accepted_authorizations(authorization: str) -> None:
    assert verify_account_webhook(authorization, BODY, [KEY, OLD_KEY], now=NOW).quota == 0.5


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Basic {KEY}", f"Token {KEY}", KEY, "Bearer sk-account-0123456789abcdeF",
     f"Bearer {KEY}x", f"Bearer {KEY[:-1]}", "Bearer wrong"],
)  # fmt: skip
def test_anything_but_the_account_key_is_401(authorization: str | None) -> None:
    with pytest.raises(BadBearerError) as info:
        verify_account_webhook(authorization, BODY, [KEY], now=NOW)
    assert info.value.http_status == 401 and KEY not in str(info.value)


def test_the_token_is_checked_first_and_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("vidgate.webhooks.relay_account.hmac.compare_digest", spy)
    with pytest.raises(BadBearerError):  # a bad token with a malformed body: 401, the body is not looked at
        verify_account_webhook("Bearer nope", b"{not json", [KEY, OLD_KEY])
    assert calls == [(b"nope", KEY.encode()), (b"nope", OLD_KEY.encode())]  # every key compared, no early exit


@pytest.mark.parametrize(
    ("body", "error", "status"),
    [
        (b"{not json", MalformedBodyError, 400),
        (b"\xff\xfe", MalformedBodyError, 400),
        (b'["user_quota_too_low"]', MalformedBodyError, 400),
        (b'{"data": {"quota": 1}}', MalformedBodyError, 400),
        (b'{"topic": "user_quota_too_low"}', MalformedBodyError, 400),
        (b'{"topic": "user_quota_too_low", "data": {"quota": "lots"}}', MalformedBodyError, 400),
        (b'{"topic": "user_quota_too_low", "data": {"quota": true}}', MalformedBodyError, 400),
        (b'{"topic": "channel_update", "data": {}}', UnknownTopicError, 422),
    ],
)
def test_authentic_but_unusable_bodies(body: bytes, error: type[Exception], status: int) -> None:
    with pytest.raises(error) as info:
        verify_account_webhook(f"Bearer {KEY}", body, [KEY])
    assert info.value.http_status == status  # type: ignore[attr-defined]


def test_quota_as_a_numeric_string_or_integer() -> None:
    as_text = b'{"topic": "user_quota_too_low", "data": {"quota": "0.25"}}'
    assert verify_account_webhook(f"Bearer {KEY}", as_text, [KEY]).quota == 0.25
    zero = b'{"topic": "user_quota_too_low", "data": {"quota": 0}}'
    assert verify_account_webhook(f"Bearer {KEY}", zero, [KEY]).quota == 0.0


def test_a_receiver_needs_a_key() -> None:
    with pytest.raises(WebhookConfigError):
        verify_account_webhook(f"Bearer {KEY}", BODY, [""])
    with pytest.raises(WebhookConfigError):
        account_webhook_app([], lambda e: None)


def post(app: Any, headers: dict[str, str], body: bytes, method: str = "POST") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            return await http.request(method, "/hooks/relay/account", headers=headers, content=body)

    return asyncio.run(go())


def test_the_asgi_receiver_calls_back_only_for_an_authentic_quota_event() -> None:
    events: list[QuotaLowEvent] = []
    app = account_webhook_app(KEY, events.append, max_body_bytes=1024)
    ok = post(app, {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}, BODY)
    assert ok.status_code == 200 and ok.json() == {"ok": True, "topic": "user_quota_too_low"}
    assert [e.quota for e in events] == [0.5]
    refusals = [
        ({"Content-Type": "application/json"}, BODY, 401),
        ({"Authorization": "Bearer wrong"}, BODY, 401),
        ({"Authorization": "Bearer wrong"}, b"x" * 5000, 401),  # too large but not authentic: 401 first
        ({"Authorization": f"Bearer {KEY}"}, b"{not json", 400),
        ({"Authorization": f"Bearer {KEY}"}, b'{"topic": "other", "data": {}}', 422),
        ({"Authorization": f"Bearer {KEY}"}, b"x" * 5000, 413),
    ]
    for headers, body, status in refusals:
        answer = post(app, headers, body)
        assert answer.status_code == status, (headers, body[:20], answer.text)
        assert answer.json()["ok"] is False and KEY not in answer.text
    assert post(app, {"Authorization": f"Bearer {KEY}"}, BODY, method="GET").status_code == 405
    assert len(events) == 1  # nothing else changed anything


def test_an_async_callback_is_awaited() -> None:
    seen: list[float] = []

    async def on_event(event: QuotaLowEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.quota)

    assert post(account_webhook_app([KEY], on_event), {"Authorization": f"Bearer {KEY}"}, BODY).status_code == 200
    assert seen == [0.5]
