"""Standard Webhooks verification with fixed vectors and a frozen clock (no I/O, no wall clock)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from standardwebhooks import Webhook

from vidgate.errors import ConfigurationError, VidgateError
from vidgate.webhooks import (
    BadSignatureError,
    InMemorySeenIds,
    MalformedBodyError,
    MalformedHeadersError,
    MissingHeadersError,
    ReplayedDeliveryError,
    TimestampTooNewError,
    TimestampTooOldError,
    UnsupportedSignatureError,
    WebhookConfigError,
    WebhookVerificationError,
    generate_secret,
    sign_headers,
    verify_standard_webhook,
)

# The Standard Webhooks specification's published test vector
# (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# vidgate's own vector: OpenAI's documented video.completed event (core-providers.md §1.7), signed with a fixed
# secret; the signature was computed once with a plain hmac/hashlib implementation and is pinned here.
SECRET = "whsec_dmlkZ2F0ZS1maXhlZC10ZXN0LXNlY3JldC0zMi1ieXQ="
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-of-thirty-two-b!!").decode()
WID = "evt_abc123"
TS = 1758941485
BODY = (
    b'{"id":"evt_abc123","object":"event","created_at":1758941485,"type":"video.completed",'
    b'"data":{"id":"video_abc123"}}'
)
SIG = "v1,9kg29uGIXmOd0s1pvp7t+cP0uph8nbs77Z+ZGYCbyJE="


def headers(sig: str = SIG, wid: str = WID, ts: int | str = TS) -> dict[str, str]:
    return {"webhook-id": wid, "webhook-timestamp": str(ts), "webhook-signature": sig}


def verify(body: bytes = BODY, hdrs: dict[str, str] | None = None, secret: Any = SECRET, **kw: Any) -> Any:
    kw.setdefault("now", TS + 5)
    return verify_standard_webhook(body, headers() if hdrs is None else hdrs, secret, **kw)


def test_spec_vector_verifies() -> None:
    hdrs = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIG}
    delivery = verify_standard_webhook(SPEC_BODY, hdrs, SPEC_SECRET, now=SPEC_TS)
    assert delivery.payload == {"test": 2432232314}
    assert delivery.webhook_id == SPEC_ID and delivery.timestamp == SPEC_TS


def test_signing_helper_reproduces_both_vectors() -> None:
    assert sign_headers(SPEC_SECRET, SPEC_BODY, webhook_id=SPEC_ID, timestamp=SPEC_TS)["webhook-signature"] == SPEC_SIG
    assert sign_headers(SECRET, BODY, webhook_id=WID, timestamp=TS) == headers()


def test_valid_delivery() -> None:
    delivery = verify()
    assert delivery.payload["data"]["id"] == "video_abc123"
    assert delivery.body == BODY
    assert delivery.expires_at == TS + 300 + 1


def test_header_names_are_case_insensitive() -> None:
    hdrs = {"Webhook-Id": WID, "WEBHOOK-TIMESTAMP": str(TS), "Webhook-Signature": SIG}
    assert verify(hdrs=hdrs).webhook_id == WID


def test_tampered_body() -> None:
    with pytest.raises(BadSignatureError) as exc:
        verify(BODY.replace(b"video.completed", b"video.failed"))
    assert exc.value.http_status == 401


def test_tampered_signature() -> None:
    raw = bytearray(base64.b64decode(SIG[3:]))
    raw[0] ^= 1
    with pytest.raises(BadSignatureError):
        verify(hdrs=headers(sig="v1," + base64.b64encode(bytes(raw)).decode()))


@pytest.mark.parametrize("field", ["wid", "ts"])
def test_signature_binds_id_and_timestamp(field: str) -> None:
    hdrs = headers(wid="evt_other") if field == "wid" else headers(ts=TS + 1)
    with pytest.raises(BadSignatureError):
        verify(hdrs=hdrs)


def test_wrong_secret() -> None:
    with pytest.raises(BadSignatureError) as exc:
        verify(secret=OTHER_SECRET)
    assert "1 configured secret" in str(exc.value)


def test_rotation_any_configured_secret_may_match() -> None:
    assert verify(secret=[OTHER_SECRET, SECRET]).webhook_id == WID


def test_replayed_same_webhook_id_twice() -> None:
    seen = InMemorySeenIds()
    verify(seen=seen, namespace="openai")
    with pytest.raises(ReplayedDeliveryError) as exc:
        verify(seen=seen, namespace="openai", now=TS + 60)
    assert exc.value.http_status == 200 and exc.value.key == "openai:evt_abc123"
    # A different webhook-id is a different delivery.
    body2 = BODY.replace(b"evt_abc123", b"evt_def456")
    hdrs2 = sign_headers(SECRET, body2, webhook_id="evt_def456", timestamp=TS)
    assert verify(body2, hdrs2, seen=seen).webhook_id == "evt_def456"


def test_seen_set_is_only_touched_after_verification() -> None:
    seen = InMemorySeenIds()
    with pytest.raises(BadSignatureError):
        verify(secret=OTHER_SECRET, seen=seen)  # a forged copy must not poison the set
    assert len(seen) == 0
    verify(seen=seen)
    assert len(seen) == 1


def test_replay_after_window_is_refused_as_too_old_not_accepted() -> None:
    seen = InMemorySeenIds()
    verify(seen=seen)
    with pytest.raises(TimestampTooOldError):
        verify(seen=seen, now=TS + 302)


def test_expired_timestamp() -> None:
    assert verify(now=TS + 300).webhook_id == WID  # the edge of the window is inside
    with pytest.raises(TimestampTooOldError) as exc:
        verify(now=TS + 301)
    assert exc.value.http_status == 401 and "301 s before" in str(exc.value)


def test_timestamp_from_the_future() -> None:
    assert verify(now=TS - 300).webhook_id == WID
    with pytest.raises(TimestampTooNewError) as exc:
        verify(now=TS - 301)
    assert "ahead" in str(exc.value)


def test_tolerance_is_configurable() -> None:
    with pytest.raises(TimestampTooOldError):
        verify(now=TS + 61, tolerance_s=60)


def test_window_is_checked_before_signature() -> None:
    with pytest.raises(TimestampTooOldError):
        verify(secret=OTHER_SECRET, now=TS + 10_000)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    hdrs = headers()
    del hdrs[missing]
    with pytest.raises(MissingHeadersError) as exc:
        verify(hdrs=hdrs)
    assert exc.value.missing == [missing] and exc.value.http_status == 400
    assert missing in str(exc.value)


def test_empty_headers_are_missing() -> None:
    with pytest.raises(MissingHeadersError) as exc:
        verify(hdrs={"webhook-id": " ", "webhook-timestamp": "", "webhook-signature": ""})
    assert exc.value.missing == ["webhook-id", "webhook-timestamp", "webhook-signature"]


@pytest.mark.parametrize("ts", ["1758941485.5", "abc", "-1758941485", "1e9"])
def test_malformed_timestamp(ts: str) -> None:
    with pytest.raises(MalformedHeadersError):
        verify(hdrs=headers(ts=ts))


def test_multiple_signatures_one_valid() -> None:
    bad = "v1," + base64.b64encode(b"x" * 32).decode()
    for sig in (f"{bad} {SIG}", f"{SIG} {bad}", f"v1a,AAAA {bad}  {SIG}", f"garbage v1,%%% {SIG}"):
        assert verify(hdrs=headers(sig=sig)).webhook_id == WID


def test_multiple_signatures_none_valid() -> None:
    bad = "v1," + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(BadSignatureError) as exc:
        verify(hdrs=headers(sig=f"{bad} {bad}"))
    assert "2 v1 signature(s)" in str(exc.value)


def test_signature_for_other_version_only() -> None:
    with pytest.raises(UnsupportedSignatureError) as exc:
        verify(hdrs=headers(sig="v1a,AAAA"))
    assert "v1a" in str(exc.value)


def test_dynamic_gemini_jwt_is_refused_with_explanation() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with pytest.raises(UnsupportedSignatureError) as exc:
        verify(hdrs=headers(sig=jwt))
    assert "RS256" in str(exc.value) and "static webhook" in str(exc.value)
    assert isinstance(exc.value, BadSignatureError) and exc.value.http_status == 401


def test_whsec_prefix_is_optional_and_raw_bytes_work() -> None:
    bare = SECRET.removeprefix("whsec_")
    raw = base64.b64decode(bare)
    assert verify(secret=bare).webhook_id == WID
    assert verify(secret=raw).webhook_id == WID
    assert verify(secret="  " + SECRET + "\n").webhook_id == WID  # pasted with whitespace
    assert verify(secret=SECRET.rstrip("=")).webhook_id == WID  # unpadded base64 is accepted too


@pytest.mark.parametrize("bad", ["whsec_not base64!!", "whsec_", "", b""])
def test_unusable_secret_is_a_config_error(bad: str | bytes) -> None:
    with pytest.raises(WebhookConfigError) as exc:
        verify(secret=bad)
    assert isinstance(exc.value, ConfigurationError) and isinstance(exc.value, VidgateError)
    if isinstance(bad, str) and len(bad) > 8:
        assert bad not in str(exc.value)  # never echo a secret


def test_no_secrets_is_a_config_error() -> None:
    with pytest.raises(WebhookConfigError):
        verify(secret=[])


def test_valid_signature_but_not_json() -> None:
    body = b"not json"
    with pytest.raises(MalformedBodyError) as exc:
        verify(body, sign_headers(SECRET, body, webhook_id=WID, timestamp=TS))
    assert exc.value.http_status == 400


def test_body_not_utf8() -> None:
    with pytest.raises(MalformedBodyError):
        verify(b'{"a": "\xff"}')


def test_errors_are_typed_and_rooted() -> None:
    for cls in (BadSignatureError, MissingHeadersError, TimestampTooOldError, MalformedBodyError):
        assert issubclass(cls, WebhookVerificationError) and issubclass(cls, VidgateError)


def test_generated_secret_round_trip_and_library_agrees() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    now = int(time.time())
    hdrs = sign_headers(secret, BODY, webhook_id="msg_1", timestamp=now)
    assert verify(hdrs=hdrs, secret=secret, now=now).webhook_id == "msg_1"
    # The library's own verify (wall clock) accepts what the helper signed.
    assert Webhook(secret).verify(BODY, hdrs)["type"] == "video.completed"


def test_seen_set_expiry_and_capacity() -> None:
    seen = InMemorySeenIds(max_entries=2)
    assert seen.add("a", now=0, expires_at=10)
    assert not seen.add("a", now=5, expires_at=10)
    assert seen.add("a", now=11, expires_at=20)  # expired, so new again
    assert seen.add("b", now=11, expires_at=30)
    assert seen.add("c", now=11, expires_at=40)  # full: the earliest-expiring ("a") goes
    assert "a" not in seen and "b" in seen and "c" in seen and len(seen) == 2
    seen.discard("b")
    assert seen.add("b", now=12, expires_at=30)
    with pytest.raises(ValueError):
        InMemorySeenIds(max_entries=0)
