"""What the webhook receiver raises. All are ``VidgateError``s (one root, see ``vidgate.errors``).

    WebhookError
    ├── WebhookConfigError           a secret or token key is unusable (also a ``ConfigurationError``)
    └── WebhookVerificationError     a delivery was refused; ``http_status`` and ``code`` say how to answer
        ├── MalformedHeadersError    400  a webhook-* header is not in the Standard Webhooks form
        │   └── MissingHeadersError  400  webhook-id / webhook-timestamp / webhook-signature absent
        ├── BadSignatureError        401  no signature matches any configured secret
        │   └── UnsupportedSignatureError  401  a scheme vidgate does not verify (e.g. an RS256 JWT)
        ├── TimestampOutOfRangeError 401  outside the replay window (default ±300 s)
        │   ├── TimestampTooOldError
        │   └── TimestampTooNewError
        ├── BadTokenError            401  the relay notify_hook URL's token does not belong to that job
        ├── MalformedBodyError       400  the (authentic) body is not the JSON the sender documents
        ├── KeysUnavailableError     503  the sender's public keys (JWKS) could not be fetched: retry later
        ├── PayloadTooLargeError     413  the body exceeds the receiver's limit
        └── ReplayedDeliveryError    200  the same webhook-id again: acknowledged and ignored

A ``ReplayedDeliveryError`` is not a failure of the sender: the receiver answers 200 so that an
at-least-once sender stops retrying, and changes nothing. Messages never contain secrets, tokens
or bodies.
"""

from __future__ import annotations

from vidgate.errors import ConfigurationError, VidgateError


class WebhookError(VidgateError):
    """Root of the webhook receiver's errors."""


class WebhookConfigError(WebhookError, ConfigurationError):
    """A signing secret or token key cannot be used. Raised when the receiver is built, never per request."""


class WebhookVerificationError(WebhookError):
    """A delivery was refused. ``http_status`` is what the receiver answers; ``code`` is a stable short name."""

    http_status: int = 401
    code: str = "verification_failed"


class MalformedHeadersError(WebhookVerificationError):
    http_status = 400
    code = "malformed_headers"


class MissingHeadersError(MalformedHeadersError):
    code = "missing_headers"

    def __init__(self, missing: list[str]) -> None:
        self.missing = list(missing)
        super().__init__(
            f"Missing Standard Webhooks header(s): {', '.join(self.missing)}. A signed delivery carries "
            "webhook-id, webhook-timestamp and webhook-signature; check that nothing in front of this "
            "server (proxy, gateway) strips them."
        )


class BadSignatureError(WebhookVerificationError):
    code = "bad_signature"


class UnsupportedSignatureError(BadSignatureError):
    code = "unsupported_signature"


class TimestampOutOfRangeError(WebhookVerificationError):
    code = "timestamp_out_of_range"

    def __init__(self, timestamp: int, now: float, tolerance_s: float, message: str) -> None:
        self.timestamp = timestamp
        self.now = now
        self.tolerance_s = tolerance_s
        super().__init__(message)


class TimestampTooOldError(TimestampOutOfRangeError):
    code = "timestamp_too_old"


class TimestampTooNewError(TimestampOutOfRangeError):
    code = "timestamp_too_new"


class BadTokenError(WebhookVerificationError):
    code = "bad_token"


class MalformedBodyError(WebhookVerificationError):
    http_status = 400
    code = "malformed_body"


class KeysUnavailableError(WebhookVerificationError):
    """The public keys needed to check an asymmetric signature could not be fetched; the sender should retry."""

    http_status = 503
    code = "keys_unavailable"


class PayloadTooLargeError(WebhookVerificationError):
    http_status = 413
    code = "payload_too_large"


class ReplayedDeliveryError(WebhookVerificationError):
    """The same delivery (provider + webhook-id) was already accepted inside the replay window."""

    http_status = 200
    code = "duplicate"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"Delivery {key!r} was already accepted; this copy is acknowledged and ignored.")
