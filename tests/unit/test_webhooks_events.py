"""Parsing verified bodies into WebhookHints, and the relay notify_hook token scheme."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from vidgate.webhooks import (
    HintContext,
    MalformedBodyError,
    RelayNotifyTokens,
    WebhookConfigError,
    WebhookHint,
    gemini_hint,
    openai_hint,
    relay_hint,
    relay_notify_url,
)

CTX = HintContext(provider="openai", webhook_id="evt_1", received_at=1000.0)
GCTX = HintContext(provider="gemini", webhook_id="wh_1", received_at=1000.0)


# --------------------------------------------------------------------------------------------- OpenAI


@pytest.mark.parametrize("event", ["video.completed", "video.failed"])
def test_openai_video_events(event: str) -> None:
    body = {"id": "evt_abc", "object": "event", "created_at": 1758941485, "type": event, "data": {"id": "video_1"}}
    hint = openai_hint(body, CTX)
    assert hint is not None
    assert (hint.provider, hint.event_type, hint.provider_task_id, hint.job_id) == ("openai", event, "video_1", None)
    assert hint.webhook_id == "evt_1" and hint.received_at == 1000.0 and hint.raw == body


@pytest.mark.parametrize("event", ["batch.completed", "response.completed", "eval.run.succeeded"])
def test_openai_non_video_events_are_ignored(event: str) -> None:
    assert openai_hint({"type": event, "data": {"id": "x"}}, CTX) is None


@pytest.mark.parametrize(
    "body",
    [
        {"type": "video.completed"},
        {"type": "video.completed", "data": {}},
        {"type": "video.completed", "data": {"id": ""}},
        {"type": "video.completed", "data": {"id": 42}},
        {"data": {"id": "video_1"}},
        {"type": 7, "data": {"id": "video_1"}},
        ["video.completed"],
        "video.completed",
    ],
)
def test_openai_malformed(body: object) -> None:
    with pytest.raises(MalformedBodyError) as exc:
        openai_hint(body, CTX)
    assert exc.value.http_status == 400


# --------------------------------------------------------------------------------------------- Gemini


@pytest.mark.parametrize("event", ["interaction.completed", "interaction.failed", "video.generated"])
def test_gemini_thin_payloads(event: str) -> None:
    body = {"type": event, "version": "v1", "timestamp": "2026-01-22T12:00:00Z", "data": {"id": "abc-123"}}
    hint = gemini_hint(body, GCTX)
    assert hint is not None
    assert (hint.provider, hint.event_type, hint.provider_task_id) == ("gemini", event, "abc-123")


def test_gemini_video_generated_keeps_extra_data() -> None:
    body = {
        "type": "video.generated",
        "version": "v1",
        "timestamp": "2026-01-22T12:00:00Z",
        "data": {"id": "op_1", "output_file_uri": "https://example.invalid/files/a", "file_name": "files/a"},
    }
    hint = gemini_hint(body, GCTX)
    assert hint is not None and hint.raw["data"]["file_name"] == "files/a"


def test_gemini_name_is_accepted_when_id_is_absent() -> None:
    hint = gemini_hint({"type": "video.generated", "data": {"name": "models/veo/operations/op_1"}}, GCTX)
    assert hint is not None and hint.provider_task_id == "models/veo/operations/op_1"


@pytest.mark.parametrize("event", ["batch.succeeded", "batch.failed", "batch.expired"])
def test_gemini_batch_events_are_ignored(event: str) -> None:
    assert gemini_hint({"type": event, "data": {"id": "batches/1"}}, GCTX) is None


def test_gemini_missing_id() -> None:
    with pytest.raises(MalformedBodyError) as exc:
        gemini_hint({"type": "interaction.completed", "data": {"user_metadata": {}}}, GCTX)
    assert "data.id" in str(exc.value)


def test_hint_must_name_a_job() -> None:
    with pytest.raises(ValidationError):
        WebhookHint(provider="x", event_type="y", received_at=0.0)


def test_hint_is_frozen() -> None:
    hint = WebhookHint(provider="x", event_type="y", job_id="job_1", received_at=0.0)
    with pytest.raises(ValidationError):
        hint.job_id = "job_2"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------- relay body


@pytest.mark.parametrize(
    ("body", "task_id", "event"),
    [
        (
            {"task_id": "t-1", "platform": "openai", "status": "SUCCESS", "progress": "100%", "data": {"output": "u"}},
            "t-1",
            "SUCCESS",
        ),
        (
            {"task_id": "veo3:1756693796-YQVHH4A3Lg", "status": "FAILURE", "data": None},
            "veo3:1756693796-YQVHH4A3Lg",
            "FAILURE",
        ),
        ({"code": "success", "data": {"task_id": "t-2", "status": "IN_PROGRESS"}}, "t-2", "IN_PROGRESS"),
        ({"id": "video_3"}, "video_3", "notify"),
        ({"task_id": 5, "status": ["odd"]}, None, "notify"),
        ({"something": "else"}, None, "notify"),
        ([1, 2], None, "notify"),
    ],
)
def test_relay_body_shapes(body: object, task_id: str | None, event: str) -> None:
    hint = relay_hint(json.dumps(body).encode(), job_id="job_1", provider="relay", received_at=5.0)
    assert (hint.job_id, hint.provider_task_id, hint.event_type) == ("job_1", task_id, event)
    assert hint.raw == body and hint.webhook_id is None


@pytest.mark.parametrize("body", [b"", b"   ", b"task done", b"\xff\xfe", b"task_id=t-1&status=SUCCESS"])
def test_relay_non_json_body_still_names_the_job(body: bytes) -> None:
    hint = relay_hint(body, job_id="job_1", provider="relay", received_at=5.0)
    assert hint.job_id == "job_1" and hint.raw is None and hint.event_type == "notify"


# --------------------------------------------------------------------------------------- relay tokens

KEY = "k" * 32


def test_token_right_wrong_and_other_job() -> None:
    tokens = RelayNotifyTokens(KEY)
    token = tokens.token_for("job_abc")
    assert token.startswith("v1") and len(token) == 45
    assert token == RelayNotifyTokens(KEY).token_for("job_abc")  # stateless: recomputed, never stored
    assert tokens.verify("job_abc", token)
    assert not tokens.verify("job_abc", token[:-1] + ("A" if token[-1] != "A" else "B"))  # wrong
    assert not tokens.verify("job_other", token)  # another (unknown) job's URL
    assert not tokens.verify("job_abc", "")
    assert not tokens.verify("job_abc", "v1")
    assert not tokens.verify("job/../x", token)
    assert not tokens.verify("job_abc", "v1Ωé")
    assert not RelayNotifyTokens("z" * 32).verify("job_abc", token)  # another installation's key


def test_token_key_rotation() -> None:
    old = RelayNotifyTokens(KEY)
    rotated = RelayNotifyTokens(["n" * 32, KEY])
    assert rotated.verify("job_1", old.token_for("job_1"))  # URLs issued before the rotation still work
    assert rotated.token_for("job_1") != old.token_for("job_1")  # new URLs use the new key
    assert not old.verify("job_1", rotated.token_for("job_1"))


def test_token_keys_must_be_long_enough() -> None:
    with pytest.raises(WebhookConfigError) as exc:
        RelayNotifyTokens("short")
    assert "short" not in str(exc.value)
    with pytest.raises(WebhookConfigError):
        RelayNotifyTokens([])
    assert len(RelayNotifyTokens.generate_key()) >= 40


def test_notify_url() -> None:
    tokens = RelayNotifyTokens(KEY)
    url = relay_notify_url("https://app.example.com/hooks/", "job_abc", tokens)
    assert url == f"https://app.example.com/hooks/relay/job_abc/{tokens.token_for('job_abc')}"
    with pytest.raises(ValueError, match="cannot go into a notify_hook URL"):
        relay_notify_url("https://app.example.com/hooks", "job/1", tokens)
