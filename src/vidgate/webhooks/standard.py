"""Standard Webhooks (https://www.standardwebhooks.com/) verification and signing — pure, clock injected.

The scheme (OpenAI video webhooks and Gemini API static webhooks use it; shared/reference/core-providers.md
§1.7 and §2.8): headers ``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature`` (a
space-separated list of ``v1,<base64>``); the signature is HMAC-SHA256 over ``f"{id}.{timestamp}.{body}"``
with the secret base64-decoded after stripping ``whsec_``; deliveries outside ±300 s are refused.

The ``standardwebhooks`` library provides the secret decoding and the HMAC (``Webhook.sign``). Its own
``verify()`` is not called: it reads the wall clock with a fixed 5-minute window (so it cannot be tested
with a frozen clock or configured) and lets malformed headers escape as ``ValueError``/``binascii.Error``.
Here header parsing, the window and the constant-time comparison run against an injected ``now`` and
every refusal is a typed ``WebhookVerificationError``.

Gemini *dynamic* (per-request ``webhook_config``) webhooks put an RS256 JWT in ``webhook-signature``,
verified against Google's JWKS: that is ``gemini_jwt.py``. Here such a delivery is refused with
``UnsupportedSignatureError`` (a source without ``jwt=GeminiJwtKeys(...)`` configured).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from vidgate.webhooks.errors import (
    BadSignatureError,
    MalformedBodyError,
    MalformedHeadersError,
    MissingHeadersError,
    ReplayedDeliveryError,
    TimestampTooNewError,
    TimestampTooOldError,
    UnsupportedSignatureError,
    WebhookConfigError,
)
from vidgate.webhooks.replay import SeenIds

DEFAULT_TOLERANCE_S = 300
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
SECRET_PREFIX = "whsec_"

_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")
_JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_MAX_ID_LEN = 256

Secret = str | bytes


@dataclass(frozen=True)
class VerifiedDelivery:
    """An authentic delivery inside the replay window, with its JSON body parsed."""

    webhook_id: str
    timestamp: int
    body: bytes
    payload: Any
    replay_key: str
    expires_at: float


def load_secret(secret: Secret) -> Webhook:
    """A library ``Webhook`` for one secret: ``whsec_<base64>``, bare base64, or raw key bytes."""
    if isinstance(secret, str):
        body = secret.strip().removeprefix(SECRET_PREFIX)
        try:
            base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookConfigError(
                f"The webhook signing secret is not '{SECRET_PREFIX}' followed by base64 "
                f"(it has {len(secret)} characters; the value is not shown). Copy the secret exactly as the "
                "provider showed it when the webhook was created."
            ) from None
        secret = SECRET_PREFIX + body
    try:
        return Webhook(secret)
    except (EmptyWebhookSecretError, binascii.Error, ValueError, RuntimeError):
        raise WebhookConfigError(
            "The webhook signing secret is empty or unusable. Set the secret the provider returned when "
            "the webhook was created (OpenAI: project settings > Webhooks; Gemini: new_signing_secret)."
        ) from None


def load_secrets(secrets: Secret | Sequence[Secret]) -> list[Webhook]:
    """Several secrets are accepted during a rotation; a delivery passes if any of them signed it."""
    items: list[Secret] = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    if not items:
        raise WebhookConfigError("No webhook signing secret configured; pass at least one secret.")
    return [load_secret(s) for s in items]


def generate_secret(num_bytes: int = 32) -> str:
    """A new random ``whsec_`` secret (for tests, the emulator, and your own senders)."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(num_bytes)).decode("ascii")


def sign_headers(secret: Secret, body: bytes | str, *, webhook_id: str, timestamp: int) -> dict[str, str]:
    """Standard Webhooks headers for ``body`` signed with ``secret`` (the library computes the signature)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    signature = load_secret(secret).sign(webhook_id, _utc(timestamp), text)
    return {HEADER_ID: webhook_id, HEADER_TIMESTAMP: str(timestamp), HEADER_SIGNATURE: signature}


def verify_standard_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Secret | Sequence[Secret] | Sequence[Webhook],
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    seen: SeenIds | None = None,
    namespace: str = "",
) -> VerifiedDelivery:
    """Verify one delivery. Pure apart from ``seen`` (which it only touches after every check passed).

    Order: headers present and well-formed -> timestamp inside ``now ± tolerance_s`` -> a ``v1`` signature
    matches one of ``secrets`` -> the body is UTF-8 JSON -> (with ``seen``) the id was not accepted before.
    Raises a ``WebhookVerificationError`` subclass for each refusal.
    """
    hooks = _as_hooks(secrets)
    webhook_id, timestamp, signature_header = _read_headers(headers)
    _check_window(timestamp, now=now, tolerance_s=tolerance_s)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBodyError(
            f"The webhook body ({len(body)} bytes) is not UTF-8 text; JSON was expected."
        ) from None
    _check_signature(hooks, webhook_id, timestamp, text, signature_header)
    payload = parse_json_body(body, text)
    replay_key = f"{namespace}:{webhook_id}" if namespace else webhook_id
    expires_at = float(timestamp) + tolerance_s + 1
    if seen is not None and not seen.add(replay_key, now=now, expires_at=expires_at):
        raise ReplayedDeliveryError(replay_key)
    return VerifiedDelivery(webhook_id, timestamp, body, payload, replay_key, expires_at)


def parse_json_body(body: bytes, text: str | None = None) -> Any:
    try:
        return json.loads(body.decode("utf-8") if text is None else text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBodyError(
            f"The webhook body ({len(body)} bytes) is not valid JSON ({type(exc).__name__} at position "
            f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))}); the sender documents a JSON object."
        ) from None


# ------------------------------------------------------------------------------------------------ helpers


def _as_hooks(secrets: Secret | Sequence[Secret] | Sequence[Webhook]) -> list[Webhook]:
    if isinstance(secrets, str | bytes):
        return load_secrets(secrets)
    items = list(secrets)
    if items and all(isinstance(s, Webhook) for s in items):
        return [s for s in items if isinstance(s, Webhook)]
    return load_secrets([s for s in items if isinstance(s, str | bytes)])


def _read_headers(headers: Mapping[str, str]) -> tuple[str, int, str]:
    lower = {k.lower(): v for k, v in headers.items()}
    values = {name: (lower.get(name) or "").strip() for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise MissingHeadersError(missing)
    webhook_id, raw_ts, signature = values[HEADER_ID], values[HEADER_TIMESTAMP], values[HEADER_SIGNATURE]
    if len(webhook_id) > _MAX_ID_LEN or any(c in webhook_id for c in "\r\n"):
        raise MalformedHeadersError(
            f"webhook-id is {len(webhook_id)} characters or has line breaks; a short opaque id (at most "
            f"{_MAX_ID_LEN} characters) was expected."
        )
    if not _TIMESTAMP_RE.match(raw_ts):
        raise MalformedHeadersError(
            f"webhook-timestamp {raw_ts[:40]!r} is not whole unix seconds (digits only, e.g. '1758941485'), "
            "as Standard Webhooks requires."
        )
    return webhook_id, int(raw_ts), signature


def _check_window(timestamp: int, *, now: float, tolerance_s: float) -> None:
    age = now - timestamp
    if age > tolerance_s:
        raise TimestampTooOldError(
            timestamp,
            now,
            tolerance_s,
            f"webhook-timestamp {timestamp} is {age:.0f} s before this server's time {now:.0f}; deliveries "
            f"older than {tolerance_s:.0f} s are refused as possible replays. If the sender is retrying an old "
            "delivery that is expected; if every delivery fails, check this server's clock (NTP).",
        )
    if -age > tolerance_s:
        raise TimestampTooNewError(
            timestamp,
            now,
            tolerance_s,
            f"webhook-timestamp {timestamp} is {-age:.0f} s ahead of this server's time {now:.0f}; at most "
            f"{tolerance_s:.0f} s of clock skew is accepted. Check this server's clock (NTP).",
        )


check_window = _check_window  # shared with gemini_jwt.py


def _signatures(header: str) -> Iterable[tuple[str, str]]:
    for entry in header.split():
        version, sep, value = entry.partition(",")
        if sep:
            yield version, value


def _check_signature(hooks: list[Webhook], webhook_id: str, timestamp: int, text: str, header: str) -> None:
    expected = [_decode_b64(h.sign(webhook_id, _utc(timestamp), text).partition(",")[2]) for h in hooks]
    offered = list(_signatures(header))
    v1 = [_decode_b64(value) for version, value in offered if version == "v1"]
    for candidate in v1:
        if candidate is None:
            continue
        for want in expected:
            if want is not None and hmac.compare_digest(want, candidate):
                return
    if not v1:
        if _JWT_RE.match(header.strip()):
            raise UnsupportedSignatureError(
                "webhook-signature holds a JWT: this is a Gemini *dynamic* (per-request webhook_config) delivery, "
                "signed with RS256 and verified against Google's JWKS, which this endpoint is not configured for. "
                "Configure StandardWebhookSource.gemini(..., jwt=GeminiJwtKeys(audience=<this URL>)) (vidgate "
                "serve does so for /hooks/gemini), or register a static webhook with a signing secret."
            )
        versions = sorted({version for version, _ in offered}) or ["none"]
        raise UnsupportedSignatureError(
            f"webhook-signature has no 'v1,<base64>' entry (found versions: {', '.join(versions)}); vidgate "
            "verifies the symmetric HMAC-SHA256 'v1' scheme only."
        )
    raise BadSignatureError(
        f"None of the {len(v1)} v1 signature(s) matches the body signed with the {len(hooks)} configured "
        "secret(s). Check that the secret is this endpoint's current one and that nothing re-encodes the body "
        "before it reaches vidgate."
    )


def _decode_b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
