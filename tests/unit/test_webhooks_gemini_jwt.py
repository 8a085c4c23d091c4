"""Gemini dynamic webhooks: RS256 JWTs in ``webhook-signature`` checked against a JWKS, with a frozen clock.

core-providers.md §2.8: "**Dynamic** (per-request): `webhookConfig: {uris: [...], user_metadata: {...}}` in the
create body ... Signed with an **asymmetric JWT (RS256)** in `webhook-signature`, verified via JWKS". Keys are a
locally generated RSA pair; the key set is injected (never fetched from the internet).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from vidgate.webhooks import (
    BadSignatureError,
    GeminiJwtKeys,
    JwksCache,
    KeysUnavailableError,
    TimestampTooOldError,
    verify_gemini_jwt_webhook,
)
from vidgate.webhooks.gemini_jwt import GEMINI_JWKS_URL, is_jwt

NOW = 1_790_000_000
AUD = "https://vg.example.com/hooks/gemini"
ISS = "https://generativelanguage.googleapis.com"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
BODY = json.dumps({"type": "interaction.completed", "version": "v1", "data": {"id": "v1_abc"}}).encode()


def jwk(private: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key())), "kid": kid, "alg": "RS256"}


JWKS = {"keys": [jwk(KEY, "k1")]}


def token(signer: Any = KEY, kid: str = "k1", alg: str = "RS256", **claims: Any) -> str:
    body = {"iss": ISS, "aud": AUD, "iat": NOW - 5, "exp": NOW + 300} | claims
    return jwt.encode({k: v for k, v in body.items() if v is not None}, signer, algorithm=alg, headers={"kid": kid})


def headers(sig: str, ts: int = NOW) -> dict[str, str]:
    return {"webhook-id": "wh_1", "webhook-timestamp": str(ts), "webhook-signature": sig}


def verify(sig: str, jwks: Mapping[str, Any] = JWKS, ts: int = NOW, now: float = NOW) -> Any:
    return verify_gemini_jwt_webhook(BODY, headers(sig, ts), jwks, now=now, audience=AUD)


def test_a_google_signed_delivery_is_accepted() -> None:
    """Signed with an asymmetric JWT (RS256) in webhook-signature, verified via JWKS (core-providers.md §2.8)."""
    delivery = verify(token())
    assert delivery.webhook_id == "wh_1" and delivery.payload["data"]["id"] == "v1_abc"
    assert is_jwt(token()) and not is_jwt("v1,c2lnbmF0dXJl")


@pytest.mark.parametrize(
    ("sig", "words"),
    [
        (token(signer=OTHER), "does not verify"),  # right kid, wrong key: a forged signature
        (token(kid="k9"), "not in Google's key set"),
        (token(aud="https://evil.example/hook"), "audience"),
        (token(iss="https://evil.example"), "issued by"),
        (token(exp=NOW - 3600), "expired"),
        (token(exp=None), "'exp'"),
        (token(iat=NOW + 3600), "future"),
        (
            jwt.encode({"iss": ISS, "aud": AUD, "exp": NOW + 60}, "k" * 32, algorithm="HS256", headers={"kid": "k1"}),
            "RS256",
        ),
        ("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "RS256"),  # alg none
    ],
)
def test_bad_deliveries_are_refused_with_401(sig: str, words: str) -> None:
    with pytest.raises(BadSignatureError, match=words) as info:
        verify(sig)
    assert info.value.http_status == 401


def test_the_standard_webhooks_window_still_applies() -> None:
    with pytest.raises(TimestampTooOldError):
        verify(token(), ts=NOW - 3600)


def test_a_tampered_token_is_refused() -> None:
    head, _claims, sig = token().split(".")
    other_claims = token(aud=AUD, exp=NOW + 999).split(".")[1]
    with pytest.raises(BadSignatureError):
        verify(f"{head}.{other_claims}.{sig}")


def test_keys_are_fetched_once_cached_and_refetched_for_a_new_kid() -> None:
    fetched: list[str] = []
    current = {"jwks": JWKS}
    clock = [0.0]

    async def fetch(url: str) -> Mapping[str, Any]:
        fetched.append(url)
        return current["jwks"]

    keys = GeminiJwtKeys(audience=AUD, cache=JwksCache(fetch=fetch, clock=lambda: clock[0]))

    async def go() -> None:
        for _ in range(3):
            await keys.verify(BODY, headers(token()), now=NOW, tolerance_s=300)
        assert fetched == [GEMINI_JWKS_URL]  # cached
        current["jwks"] = {"keys": [jwk(KEY, "k1"), jwk(OTHER, "k2")]}  # Google rotated in a new key
        clock[0] = 61.0
        await keys.verify(BODY, headers(token(signer=OTHER, kid="k2")), now=NOW, tolerance_s=300)
        assert len(fetched) == 2
        with pytest.raises(BadSignatureError):  # an unknown kid refetches at most once a minute
            await keys.verify(BODY, headers(token(kid="k7")), now=NOW, tolerance_s=300)
        assert len(fetched) == 2

    asyncio.run(go())


def test_keys_that_cannot_be_fetched_are_a_503_so_google_retries() -> None:
    async def fetch(url: str) -> Mapping[str, Any]:
        raise OSError("no route")

    keys = GeminiJwtKeys(audience=AUD, cache=JwksCache(fetch=fetch))
    with pytest.raises(KeysUnavailableError) as info:
        asyncio.run(keys.verify(BODY, headers(token()), now=NOW, tolerance_s=300))
    assert info.value.http_status == 503
