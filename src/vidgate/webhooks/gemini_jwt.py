"""Gemini API *dynamic* webhooks (per-request ``webhook_config``): RS256 JWTs checked against Google's JWKS.

Facts (shared/reference/core-providers.md §2.8, from https://ai.google.dev/gemini-api/docs/webhooks): dynamic
deliveries carry the Standard Webhooks headers ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``,
but the signature is "an **asymmetric JWT (RS256)** in ``webhook-signature``, verified via JWKS"; the docs
show two JWKS URLs, ``https://generativelanguage.googleapis.com/.well-known/jwks.json`` in code and
``https://www.googleapis.com/oauth2/v3/certs`` in prose. Google retries a non-2xx answer for up to 24 h.

Choices (the reference names neither the issuer nor the audience):

- **Keys.** ``GEMINI_JWKS_URL`` (the URL in the docs' code) by default; both URLs can be given. Keys are
  fetched through an injectable ``fetch`` and cached (``JwksCache``): refreshed after ``ttl_s``, and once
  more (at most every ``min_refresh_s``) when a token names a ``kid`` the cache does not hold (rotation).
  A key set that cannot be fetched is answered 503, not 401: the delivery may be authentic, Google retries.
- **Claims.** ``alg`` must be RS256 (no ``none``, no HMAC with the public key). ``exp`` is required and
  checked against the injected clock (``leeway_s`` of skew); ``nbf`` / ``iat`` when present. ``aud`` must be
  one of the configured audiences: the URL(s) you put in ``webhook_config.uris`` (what this endpoint is
  reached at). ``iss`` must be one of ``issuers`` (default ``GEMINI_ISSUERS``, vidgate's reading: the
  Gemini API host and Google's token issuers; pass your own if Google's differs, the 401 message names it).
- **Body.** The reference documents no body hash in the token; a delivery only wakes a job for a status
  fetch (the provider's status endpoint is the truth), so a replayed token can cause a spare fetch at most.
  The ``webhook-timestamp`` window and ``webhook-id`` replay check of Standard Webhooks still apply.

PyJWT (with ``cryptography`` for RS256) is imported lazily: only receivers that configure this need it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidgate.webhooks.errors import (
    BadSignatureError,
    KeysUnavailableError,
    MalformedHeadersError,
    MissingHeadersError,
    WebhookConfigError,
)
from vidgate.webhooks.standard import (
    DEFAULT_TOLERANCE_S,
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    VerifiedDelivery,
    check_window,
    parse_json_body,
)

GEMINI_JWKS_URL = "https://generativelanguage.googleapis.com/.well-known/jwks.json"
GEMINI_JWKS_URL_PROSE = "https://www.googleapis.com/oauth2/v3/certs"
GEMINI_ISSUERS: tuple[str, ...] = (
    "https://generativelanguage.googleapis.com",
    "generativelanguage.googleapis.com",
    "https://accounts.google.com",
    "accounts.google.com",
)
ALGORITHM = "RS256"
DEFAULT_LEEWAY_S = 60.0

FetchJwks = Callable[[str], Awaitable[Mapping[str, Any]]]


def _jwt() -> Any:
    try:
        import jwt
    except ImportError:  # pragma: no cover - the extra is installed in development
        raise WebhookConfigError(
            "Verifying Gemini dynamic webhooks needs PyJWT with cryptography: pip install 'vidgate[google]' "
            "(or pip install 'PyJWT[crypto]')."
        ) from None
    return jwt


def is_jwt(signature_header: str) -> bool:
    """A compact JWS (three base64url parts), as opposed to Standard Webhooks' ``v1,<base64>`` list."""
    parts = signature_header.strip().split(".")
    return len(parts) == 3 and all(parts[:2]) and " " not in signature_header.strip() and "," not in parts[0]


def verify_gemini_jwt_webhook(
    body: bytes,
    headers: Mapping[str, str],
    jwks: Mapping[str, Any],
    *,
    now: float,
    audience: str | Sequence[str],
    issuers: Iterable[str] = GEMINI_ISSUERS,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    leeway_s: float = DEFAULT_LEEWAY_S,
) -> VerifiedDelivery:
    """Verify one dynamic delivery against the key set ``jwks`` (``{"keys": [...]}``). Pure; clock injected.

    Order: headers -> timestamp window -> the JWT's header (RS256, a ``kid`` in ``jwks``) -> signature ->
    ``aud`` / ``iss`` -> ``exp`` / ``nbf`` / ``iat`` against ``now`` -> the body is JSON. Raises a
    ``WebhookVerificationError`` subclass (401 for anything not authentic).
    """
    jwt = _jwt()
    webhook_id, timestamp, token = _read(headers)
    check_window(timestamp, now=now, tolerance_s=tolerance_s)
    key = _key_for(jwt, token, jwks)
    audiences = [audience] if isinstance(audience, str) else list(audience)
    if not audiences:
        raise WebhookConfigError("No audience configured for Gemini dynamic webhooks: pass the webhook URL.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audiences,
            issuer=list(issuers),
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["exp", "iss", "aud"]},
        )
    except jwt.InvalidSignatureError:
        raise BadSignatureError(
            "The webhook-signature JWT's RS256 signature does not verify with Google's key "
            f"{_kid(jwt, token)!r}. The delivery was not signed by Google (or was altered)."
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise BadSignatureError(
            f"The webhook-signature JWT has no {exc.claim!r} claim; Google's tokens carry it."
        ) from None
    except jwt.InvalidAudienceError:
        got = _unverified(jwt, token).get("aud")
        raise BadSignatureError(
            f"The webhook-signature JWT is for audience {str(got)[:200]!r}, not this endpoint "
            f"({', '.join(audiences)}). Configure the audience as the exact URL given in webhook_config.uris."
        ) from None
    except jwt.InvalidIssuerError:
        got = _unverified(jwt, token).get("iss")
        raise BadSignatureError(
            f"The webhook-signature JWT was issued by {str(got)[:200]!r}; accepted issuers: "
            f"{', '.join(issuers)}. If Google's issuer is a different one, pass issuers=[...]."
        ) from None
    except jwt.PyJWTError as exc:
        raise BadSignatureError(f"The webhook-signature JWT is not valid ({type(exc).__name__}).") from None
    _check_times(claims, now=now, leeway_s=leeway_s)
    payload = parse_json_body(body)
    expires_at = float(timestamp) + tolerance_s + 1
    return VerifiedDelivery(webhook_id, timestamp, body, payload, webhook_id, expires_at)


def _read(headers: Mapping[str, str]) -> tuple[str, int, str]:
    lower = {k.lower(): v for k, v in headers.items()}
    values = {name: (lower.get(name) or "").strip() for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise MissingHeadersError(missing)
    raw_ts = values[HEADER_TIMESTAMP]
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise MalformedHeadersError(f"webhook-timestamp {raw_ts[:40]!r} is not whole unix seconds.")
    if len(values[HEADER_ID]) > 256:
        raise MalformedHeadersError("webhook-id is longer than 256 characters.")
    return values[HEADER_ID], int(raw_ts), values[HEADER_SIGNATURE]


def _unverified(jwt: Any, token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _kid(jwt: Any, token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) else None


def _key_for(jwt: Any, token: str, jwks: Mapping[str, Any]) -> Any:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise BadSignatureError("webhook-signature is not a well-formed JWT (its header does not decode).") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise BadSignatureError(
            f"The webhook-signature JWT uses alg {str(alg)[:20]!r}; Gemini dynamic webhooks are signed with "
            f"{ALGORITHM}, the only algorithm accepted."
        )
    kid = header.get("kid")
    keys = [k for k in jwks.get("keys", []) if isinstance(k, Mapping)]
    matching = [k for k in keys if kid is None or k.get("kid") == kid]
    if not matching:
        known = ", ".join(str(k.get("kid")) for k in keys) or "none"
        raise BadSignatureError(
            f"The webhook-signature JWT names key {str(kid)[:80]!r}, which is not in Google's key set "
            f"(kids: {known}). Not signed by Google, or signed with a key newer than the cached set."
        )
    try:
        return jwt.PyJWK(dict(matching[0]), algorithm=ALGORITHM).key
    except jwt.PyJWTError:
        raise BadSignatureError(f"Google's key {str(kid)[:80]!r} in the key set is not an RSA key.") from None


def _check_times(claims: Mapping[str, Any], *, now: float, leeway_s: float) -> None:
    def number(name: str) -> float | None:
        value = claims.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadSignatureError(f"The webhook-signature JWT's {name!r} claim is not unix seconds.")
        return float(value)

    exp, nbf, iat = number("exp"), number("nbf"), number("iat")
    if exp is not None and now > exp + leeway_s:
        raise BadSignatureError(
            f"The webhook-signature JWT expired at {exp:.0f} ({now - exp:.0f} s before this server's time "
            f"{now:.0f}). An old delivery replayed, or this server's clock is wrong (check NTP)."
        )
    if nbf is not None and now + leeway_s < nbf:
        raise BadSignatureError(f"The webhook-signature JWT is not valid before {nbf:.0f} (now {now:.0f}).")
    if iat is not None and now + leeway_s < iat:
        raise BadSignatureError(
            f"The webhook-signature JWT was issued at {iat:.0f}, in the future of this server's time {now:.0f}."
        )


async def fetch_jwks_httpx(url: str) -> Mapping[str, Any]:
    """The default key fetch: ``GET url`` (10 s timeout), a JSON object with ``keys``."""
    import httpx

    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise ValueError(f"{url} did not answer a JSON Web Key Set ({{'keys': [...]}})")
    return body


@dataclass
class JwksCache:
    """Google's keys from ``urls`` (all merged), fetched through ``fetch`` and cached with the ``clock``."""

    urls: Sequence[str] = (GEMINI_JWKS_URL,)
    fetch: FetchJwks = fetch_jwks_httpx
    clock: Callable[[], float] = time.monotonic
    ttl_s: float = 3600.0
    min_refresh_s: float = 60.0
    _keys: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _fetched_at: float = field(default=float("-inf"), init=False, repr=False)

    async def keys(self, kid: str | None = None) -> Mapping[str, Any]:
        """The key set; refetched when stale, or (rate-limited) when ``kid`` is not in it."""
        now = self.clock()
        stale = self._keys is None or now - self._fetched_at >= self.ttl_s
        unknown = kid is not None and self._keys is not None and kid not in self._kids()
        if stale or (unknown and now - self._fetched_at >= self.min_refresh_s):
            await self._refresh(now)
        assert self._keys is not None
        return self._keys

    def _kids(self) -> set[str]:
        return {str(k.get("kid")) for k in (self._keys or {}).get("keys", []) if isinstance(k, Mapping)}

    async def _refresh(self, now: float) -> None:
        merged: list[Any] = []
        errors: list[str] = []
        for url in self.urls:
            try:
                got = await self.fetch(url)
                merged += [k for k in got.get("keys", []) if isinstance(k, Mapping)]
            except Exception as exc:  # any transport or parse failure: try the other URLs, keep old keys
                errors.append(f"{url}: {type(exc).__name__}")
        if not merged:
            if self._keys is not None:
                return  # keep serving the previous set; it is retried after min_refresh_s
            raise KeysUnavailableError(
                "Google's webhook signing keys could not be fetched (" + "; ".join(errors) + "). The delivery "
                "is answered 503 so Google retries it; check this server's outbound HTTPS access."
            )
        self._keys = {"keys": merged}
        self._fetched_at = now


@dataclass(frozen=True)
class GeminiJwtKeys:
    """What a Gemini source needs to accept dynamic deliveries: the keys and the expected audience(s)."""

    audience: str | Sequence[str]
    cache: JwksCache = field(default_factory=JwksCache)
    issuers: Sequence[str] = GEMINI_ISSUERS
    leeway_s: float = DEFAULT_LEEWAY_S

    async def verify(
        self, body: bytes, headers: Mapping[str, str], *, now: float, tolerance_s: float
    ) -> VerifiedDelivery:
        token = {k.lower(): v for k, v in headers.items()}.get(HEADER_SIGNATURE, "").strip()
        jwks = await self.cache.keys(_header_kid(token))
        return verify_gemini_jwt_webhook(
            body,
            headers,
            jwks,
            now=now,
            audience=self.audience,
            issuers=self.issuers,
            tolerance_s=tolerance_s,
            leeway_s=self.leeway_s,
        )


def _header_kid(token: str) -> str | None:
    import base64

    head = token.split(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None
