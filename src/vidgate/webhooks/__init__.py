"""Webhooks in: verify provider callbacks and turn them into ``WebhookHint``s (which job to re-check now).

A hint never carries a final state; the engine answers it with a status fetch. See ``receiver.py`` for
the ASGI app, ``standard.py`` for Standard Webhooks verification/signing, ``gemini_jwt.py`` for Gemini's
RS256-JWT-signed dynamic webhooks, ``relay_notify.py`` for the
relay's per-job notify_hook URLs.
"""

from vidgate.webhooks.errors import (
    BadSignatureError,
    BadTokenError,
    KeysUnavailableError,
    MalformedBodyError,
    MalformedHeadersError,
    MissingHeadersError,
    PayloadTooLargeError,
    ReplayedDeliveryError,
    TimestampOutOfRangeError,
    TimestampTooNewError,
    TimestampTooOldError,
    UnsupportedSignatureError,
    WebhookConfigError,
    WebhookError,
    WebhookVerificationError,
)
from vidgate.webhooks.events import HintContext, gemini_hint, openai_hint
from vidgate.webhooks.gemini_jwt import (
    GEMINI_JWKS_URL,
    GeminiJwtKeys,
    JwksCache,
    verify_gemini_jwt_webhook,
)
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.receiver import (
    RelayNotifySource,
    StandardWebhookSource,
    TokenRedactingFilter,
    WebhookReceiver,
)
from vidgate.webhooks.relay_notify import NotifyTokens, RelayNotifyTokens, relay_hint, relay_notify_url
from vidgate.webhooks.replay import InMemorySeenIds, SeenIds
from vidgate.webhooks.standard import (
    DEFAULT_TOLERANCE_S,
    VerifiedDelivery,
    generate_secret,
    load_secret,
    sign_headers,
    verify_standard_webhook,
)

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "GEMINI_JWKS_URL",
    "BadSignatureError",
    "BadTokenError",
    "GeminiJwtKeys",
    "HintContext",
    "InMemorySeenIds",
    "JwksCache",
    "KeysUnavailableError",
    "MalformedBodyError",
    "MalformedHeadersError",
    "MissingHeadersError",
    "NotifyTokens",
    "PayloadTooLargeError",
    "RelayNotifySource",
    "RelayNotifyTokens",
    "ReplayedDeliveryError",
    "SeenIds",
    "StandardWebhookSource",
    "TimestampOutOfRangeError",
    "TimestampTooNewError",
    "TimestampTooOldError",
    "TokenRedactingFilter",
    "UnsupportedSignatureError",
    "VerifiedDelivery",
    "WebhookConfigError",
    "WebhookError",
    "WebhookHint",
    "WebhookReceiver",
    "WebhookVerificationError",
    "gemini_hint",
    "generate_secret",
    "load_secret",
    "openai_hint",
    "relay_hint",
    "relay_notify_url",
    "sign_headers",
    "verify_gemini_jwt_webhook",
    "verify_standard_webhook",
]
