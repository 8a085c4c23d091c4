"""The gateway's JSON logs: secrets never reach a line, whatever their case or where they sit."""

from __future__ import annotations

import io
import json
import logging

import pytest

from vidgate.server.logs import Redactor, setup_logging

KEY = "vg_0123456789ab_" + "S3cr3t-" * 6


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (f"auth with {KEY} failed", "auth with vg_0123456789ab_[redacted] failed"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"),
        ("header BEARER xyz", "header BEARER [redacted]"),
        ("?Signature=a&n=1&API_KEY=k&token=t", "?Signature=[redacted]&n=1&API_KEY=[redacted]&token=[redacted]"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw in a message", "secret whsec_[redacted] in a message"),
        ("the route key sk-live-123456 leaked", "the route key [redacted] leaked"),
        ('{"msg": "GET /v1/videos/job_1 200", "status": 200}', '{"msg": "GET /v1/videos/job_1 200", "status": 200}'),
    ],
)  # fmt: skip
def test_redactor(text: str, redacted: str) -> None:
    assert Redactor(["sk-live-123456", "short"])(text) == redacted


def test_access_log_lines_are_json_without_secrets() -> None:
    stream = io.StringIO()
    setup_logging("info", secrets=["route-key-123"], stream=stream)
    try:
        logging.getLogger("vidgate.access").info("GET /v1/videos/x 401", extra={"key_id": None, "note": KEY})
        logging.getLogger("vidgate.server").warning("provider said route-key-123 is wrong")
    finally:
        setup_logging("warning", stream=io.StringIO())
    access, warning = (json.loads(line) for line in stream.getvalue().splitlines())
    assert access["msg"] == "GET /v1/videos/x 401" and access["level"] == "info" and access["key_id"] is None
    assert access["note"] == "vg_0123456789ab_[redacted]"
    assert warning["msg"] == "provider said [redacted] is wrong"
