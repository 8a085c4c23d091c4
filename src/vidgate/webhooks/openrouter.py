"""OpenRouter video webhooks: verification and signing, pure with the clock injected.

Source: shared/reference/providers-2026.md §1 "Webhooks" (OpenRouterTeam/docs c26125a,
cookbook/video-generation/video-generation-webhooks.mdx):

- ``X-OpenRouter-Signature: t=<unix>,v1=<hex>`` where ``v1 = hex(HMAC_SHA256(secret, "<t>,<raw body>"))``,
  note the **comma** between timestamp and body; the docs reject ``t`` older than 300 s and compare in
  constant time. The secret is the workspace signing secret, used as given (UTF-8), with no prefix decoding.
- ``X-OpenRouter-Idempotency-Key: <job_id>-<status>`` deduplicates retried deliveries: it is the delivery id
  (``VerifiedDelivery.webhook_id``) and, with ``seen``, a second delivery with the same key inside the
  window is refused as a replay.
- Envelope ``{"type": "video.generation.completed|failed|cancelled|expired", "created_at", "data": {"id",
  "status", ...}}``: ``data.id`` is the job id vidgate polls (the webhook only triggers a status fetch).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any

from vidgate.webhooks.errors import (
    BadSignatureError,
    MalformedBodyError,
    MalformedHeadersError,
    MissingHeadersError,
    ReplayedDeliveryError,
    WebhookConfigError,
)
from vidgate.webhooks.events import HintContext
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.replay import SeenIds
from vidgate.webhooks.standard import DEFAULT_TOLERANCE_S, VerifiedDelivery, check_window, parse_json_body

HEADER_SIGNATURE = "x-openrouter-signature"
HEADER_IDEMPOTENCY = "x-openrouter-idempotency-key"
EVENT_PREFIX = "video.generation."
_PART_RE = re.compile(r"^(t|v1)=(.+)$")
_MAX_KEY_LEN = 256

Secret = str | bytes


def _key(secret: Secret) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: Secret, body: bytes, timestamp: int) -> str:
    """The ``X-OpenRouter-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(_key(secret), f"{timestamp},".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def sign_headers(secret: Secret, body: bytes, *, timestamp: int, idempotency_key: str) -> dict[str, str]:
    """Both headers a delivery carries (for tests and your own senders)."""
    return {"X-OpenRouter-Signature": sign(secret, body, timestamp), "X-OpenRouter-Idempotency-Key": idempotency_key}


def parse_signature(header: str) -> tuple[int, list[str]]:
    """``t=<unix>,v1=<hex>[,v1=<hex>...]`` -> (t, [v1...])."""
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        match = _PART_RE.match(part.strip())
        if match is None:
            continue
        name, value = match.groups()
        if name == "t":
            if not value.isdigit() or len(value) > 12:
                raise MalformedHeadersError(
                    f"X-OpenRouter-Signature t={value[:20]!r} is not whole unix seconds (e.g. t=1777032000)."
                )
            timestamp = int(value)
        else:
            digests.append(value.lower())
    if timestamp is None or not digests:
        raise MalformedHeadersError(
            "X-OpenRouter-Signature is not 't=<unix seconds>,v1=<hex HMAC-SHA256>' as OpenRouter documents "
            f"(got {header[:60]!r})."
        )
    return timestamp, digests


def verify_openrouter_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Secret | Sequence[Secret],
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    seen: SeenIds | None = None,
    namespace: str = "",
) -> VerifiedDelivery:
    """Verify one delivery. Pure apart from ``seen`` (touched only after every check passed).

    Order: headers present and well-formed -> ``t`` inside ``now ± tolerance_s`` -> a ``v1`` matches one of
    ``secrets`` (several during a rotation) -> the body is JSON -> (with ``seen``) the idempotency key was
    not accepted before. Each refusal raises a ``WebhookVerificationError`` subclass.
    """
    keys = [_key(s) for s in ([secrets] if isinstance(secrets, str | bytes) else list(secrets))]
    if not keys or not all(keys):
        raise WebhookConfigError(
            "No OpenRouter webhook signing secret configured: copy the workspace signing secret from "
            "OpenRouter's workspace settings (VIDGATE_OPENROUTER_WEBHOOK_SECRET)."
        )
    lower = {k.lower(): v for k, v in headers.items()}
    signature = (lower.get(HEADER_SIGNATURE) or "").strip()
    idempotency = (lower.get(HEADER_IDEMPOTENCY) or "").strip()
    missing = [name for name, value in ((HEADER_SIGNATURE, signature), (HEADER_IDEMPOTENCY, idempotency)) if not value]
    if missing:
        raise MissingHeadersError(missing)
    if len(idempotency) > _MAX_KEY_LEN or any(c in idempotency for c in "\r\n"):
        raise MalformedHeadersError(
            f"X-OpenRouter-Idempotency-Key is {len(idempotency)} characters or has line breaks."
        )
    timestamp, offered = parse_signature(signature)
    check_window(timestamp, now=now, tolerance_s=tolerance_s)
    message = f"{timestamp},".encode() + body
    expected = [hmac.new(k, message, hashlib.sha256).hexdigest() for k in keys]
    if not any(hmac.compare_digest(want, got) for want in expected for got in offered):
        raise BadSignatureError(
            f"None of the {len(offered)} v1 signature(s) matches HMAC-SHA256(secret, '<t>,<body>') with the "
            f"{len(keys)} configured secret(s). Check the workspace signing secret and that nothing re-encodes "
            "the body before it reaches vidgate."
        )
    payload = parse_json_body(body)
    replay_key = f"{namespace}:{idempotency}" if namespace else idempotency
    expires_at = float(timestamp) + tolerance_s + 1
    if seen is not None and not seen.add(replay_key, now=now, expires_at=expires_at):
        raise ReplayedDeliveryError(replay_key)
    return VerifiedDelivery(idempotency, timestamp, body, payload, replay_key, expires_at)


def openrouter_hint(payload: Any, ctx: HintContext) -> WebhookHint | None:
    """``video.generation.*`` -> a hint naming ``data.id``; other event types are acknowledged and ignored."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise MalformedBodyError(
            "The OpenRouter webhook body is not {'type': 'video.generation.<status>', 'data': {'id': ...}}."
        )
    if not payload["type"].startswith(EVENT_PREFIX):
        return None
    data = payload.get("data")
    task_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(task_id, str) or not task_id:
        raise MalformedBodyError(f"The OpenRouter {payload['type']!r} event names no job: data.id is missing.")
    return WebhookHint(
        provider=ctx.provider,
        event_type=payload["type"],
        provider_task_id=task_id,
        webhook_id=ctx.webhook_id,
        received_at=ctx.received_at,
        raw=payload,
    )
