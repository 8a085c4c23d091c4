"""The relay's account webhook ("通知设置-WebHook"): verify it and turn it into a ``QuotaLowEvent``.

What the relay sends (seed-relay-api.md "Platform basics"; relay-platforms.md §2.6): ``POST <your URL>``
with ``Content-Type: application/json``, ``Authorization: Bearer <your api key>`` and
``{"topic": "user_quota_too_low", "data": {"quota": 0.5}}``. There is no signature, event id or retry
rule: the only proof of origin is the Bearer token, which must equal the account's own API key.

Decisions (pinned by tests):

* The token is compared with ``hmac.compare_digest`` against every configured key (key rotation), before
  the body is even parsed. Missing, malformed or wrong -> **401** ``bad_bearer``; nothing changes.
* An authentic body that is not the documented JSON (not JSON, not an object, no ``topic``, a
  ``quota`` that is not a number) -> **400** ``malformed_body``; nothing changes.
* An authentic, well-formed delivery with a topic vidgate does not know -> **422** ``unknown_topic``;
  nothing changes. A 4xx (not a silent 200) so a format change on the relay shows up in its logs.
* Only ``user_quota_too_low`` becomes an event, delivered to the callback; the receiver answers 200.

``verify_account_webhook`` is pure (headers and bytes in, event out); ``account_webhook_app`` wraps it
in a small Starlette app.
"""

from __future__ import annotations

import hmac
import inspect
import json
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.webhooks.errors import (
    MalformedBodyError,
    PayloadTooLargeError,
    WebhookConfigError,
    WebhookVerificationError,
)

QUOTA_TOPIC = "user_quota_too_low"
MAX_BODY_BYTES = 64 * 1024


class BadBearerError(WebhookVerificationError):
    """The ``Authorization: Bearer`` token is missing or is not the account's API key."""

    http_status = 401
    code = "bad_bearer"


class UnknownTopicError(WebhookVerificationError):
    """An authentic delivery about a topic vidgate does not know."""

    http_status = 422
    code = "unknown_topic"

    def __init__(self, topic: str) -> None:
        self.topic = topic
        super().__init__(
            f"Unknown account webhook topic {topic[:80]!r}; vidgate knows {QUOTA_TOPIC!r}. The delivery was "
            "authentic and was ignored."
        )


@dataclass(frozen=True)
class QuotaLowEvent:
    """The relay says the account's quota is low. ``quota`` is the remaining balance as the relay reports it."""

    quota: float
    provider: str = "relay"
    topic: Literal["user_quota_too_low"] = "user_quota_too_low"
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    raw: Mapping[str, Any] = field(default_factory=dict)


def check_bearer(authorization: str | None, api_keys: Iterable[str]) -> None:
    """Accept only ``Bearer <one of api_keys>``; every key is compared in constant time (no early exit)."""
    keys = [k for k in api_keys if k]
    if not keys:
        raise WebhookConfigError("The account webhook receiver needs the account's API key to compare with.")
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token.encode("utf-8"), key.encode("utf-8"))
    if scheme.lower() != "bearer" or not token or not matched:
        raise BadBearerError(
            "Refused: the Authorization header must be 'Bearer <the account's API key>'. Nothing was changed."
        )


def parse_account_payload(body: bytes, *, provider: str = "relay", now: datetime | None = None) -> QuotaLowEvent:
    """The documented payload of an *authenticated* delivery as an event (or a 400 / 422 error)."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedBodyError("The account webhook body is not JSON.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("topic"), str):
        raise MalformedBodyError('The account webhook body must be an object with a "topic" string.')
    topic = payload["topic"]
    if topic != QUOTA_TOPIC:
        raise UnknownTopicError(topic)
    data = payload.get("data")
    quota = data.get("quota") if isinstance(data, dict) else None
    if isinstance(quota, str):
        try:
            quota = float(quota)
        except ValueError:
            quota = None
    if isinstance(quota, bool) or not isinstance(quota, int | float) or not math.isfinite(quota):
        raise MalformedBodyError('The user_quota_too_low webhook must carry a number in "data.quota".')
    return QuotaLowEvent(quota=float(quota), provider=provider, received_at=now or datetime.now(UTC), raw=payload)


def verify_account_webhook(
    authorization: str | None,
    body: bytes,
    api_keys: Iterable[str],
    *,
    provider: str = "relay",
    now: datetime | None = None,
) -> QuotaLowEvent:
    """The Bearer check, then the payload. Raises a ``WebhookVerificationError`` whose ``http_status`` is
    what to answer: 401 (token), 400 (malformed), 422 (unknown topic)."""
    check_bearer(authorization, api_keys)
    return parse_account_payload(body, provider=provider, now=now)


EventCallback = Callable[[QuotaLowEvent], Awaitable[None] | None]


def account_webhook_app(
    api_keys: str | Iterable[str],
    on_event: EventCallback,
    *,
    path: str = "/hooks/relay/account",
    provider: str = "relay",
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """An ASGI app receiving the account webhook at ``path`` (POST only) and calling ``on_event``."""
    keys = [api_keys] if isinstance(api_keys, str) else list(api_keys)
    if not any(keys):
        raise WebhookConfigError("account_webhook_app needs the account's API key (api_keys).")

    async def receive(request: Request) -> JSONResponse:
        try:
            check_bearer(request.headers.get("authorization"), keys)  # before reading anything else
            body = await _read_limited(request, max_body_bytes)
            event = parse_account_payload(body, provider=provider)
        except WebhookVerificationError as exc:
            return JSONResponse(
                {"ok": False, "error": {"code": exc.code, "message": str(exc)}}, status_code=exc.http_status
            )
        result = on_event(event)
        if inspect.isawaitable(result):
            await result
        return JSONResponse({"ok": True, "topic": event.topic})

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"The webhook body is {declared} bytes; at most {limit} are accepted.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"The webhook body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
