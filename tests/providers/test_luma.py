"""Luma dialects, sans-IO: the Agents API (ray-3.2: video, video_edit, video_reframe; presigned 1 h outputs;
failure_code) and the legacy Dream Machine API (ray-2 / ray-flash-2, dreaming, keyframe URLs, callback_url);
golden requests from the documented examples, statuses word by word, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import image_bytes
from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import AuthenticationError, ProtocolError, ProviderHTTPError, QuotaExceededError, RateLimitError
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.luma import (
    AGENTS_STATUS,
    LEGACY_STATUS,
    LumaAgents,
    LumaDreamMachine,
    parse_agents_generation,
    parse_legacy_generation,
    presigned_expiry,
)
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

AGENTS, LEGACY = LumaAgents(), LumaDreamMachine()
CATALOG = load_catalog()
IMG = "https://images.example/opening-frame.jpg"
GEN = "d290f1ee-6c54-4b01-90e6-d701748f0851"


def conn(provider: str, base: str) -> Connection:
    return Connection(provider=CATALOG.providers[provider], base_url=base, api_key="luma-api-test")


def checked(dialect: Any, **fields: Any) -> tuple[VideoRequest, list[str], Prepared | None]:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=dialect.Options)
    found = [p.explain() for p in report.problems]
    if report.ok:
        found += [p.explain() for p in dialect.preflight(request, spec, report.images)]
    prep = Prepared(request, spec, report.images, assign_roles(report.images, spec), "k") if not found else None
    return request, found, prep


def agents_create(**fields: Any) -> httpx.Request:
    _, found, prep = checked(AGENTS, **fields)
    assert prep is not None, found
    return next(AGENTS.submit(prep, conn("luma", "https://agents.lumalabs.ai")))


def legacy_create(**fields: Any) -> httpx.Request:
    _, found, prep = checked(LEGACY, **fields)
    assert prep is not None, found
    return next(LEGACY.submit(prep, conn("luma-legacy", "https://api.lumalabs.ai")))


def test_two_providers_legacy_marked() -> None:
    assert isinstance(get_dialect("luma-agents"), LumaAgents)
    assert isinstance(get_dialect("luma-dream-machine"), LumaDreamMachine)
    assert [m.key for m in CATALOG.by_provider("luma")] == ["luma/ray-3.2"]
    assert [m.key for m in CATALOG.by_provider("luma-legacy")] == ["luma-legacy/ray-2", "luma-legacy/ray-flash-2"]
    assert "LEGACY" in CATALOG.providers["luma-legacy"].title
    assert all("LEGACY API" in m.notes[0] for m in CATALOG.by_provider("luma-legacy"))
    assert not LumaAgents.dedups_creates and not LumaDreamMachine.dedups_creates
    assert LumaDreamMachine.per_job_callback and not LumaAgents.per_job_callback
    assert CATALOG.resolve("luma/ray-3.2").results.delivery == ["poll"]


def test_golden_agents_text_to_video() -> None:
    # docs.agents.lumalabs.ai/guides/videos/generation: the basic text-to-video request
    request = agents_create(
        prompt="A slow dolly shot through a misty greenhouse at sunrise",
        model="luma/ray-3.2",
        aspect_ratio="16:9",
        resolution="720p",
        duration=5,
    )
    assert request.method == "POST" and str(request.url) == "https://agents.lumalabs.ai/v1/generations"
    assert request.headers["authorization"] == "Bearer luma-api-test" and "x-api-version" not in request.headers
    assert json.loads(request.content) == {
        "model": "ray-3.2",
        "type": "video",
        "prompt": "A slow dolly shot through a misty greenhouse at sunrise",
        "aspect_ratio": "16:9",
        "video": {"resolution": "720p", "duration": "5s"},
    }


def test_golden_agents_start_and_end_frames() -> None:
    frames = [
        ImageInput(source=IMG, role=ImageRole.first_frame),
        ImageInput(source=image_bytes(), role=ImageRole.last_frame),
    ]
    body = json.loads(
        agents_create(
            prompt="The character turns to face the camera and smiles", model="luma/ray-3.2", images=frames, duration=5
        ).content
    )
    assert body["video"]["start_frame"] == {"url": IMG}
    end = body["video"]["end_frame"]
    assert end["media_type"] == "image/png" and not end["data"].startswith("data:")


def test_golden_agents_reframe_and_edit_take_a_source() -> None:
    # docs.agents.lumalabs.ai/guides/videos/reframing: source.generation_id, or a URL with a video media_type
    body = json.loads(
        agents_create(
            prompt="Extend the scene into cinematic widescreen",
            model="luma/ray-3.2",
            aspect_ratio="21:9",
            resolution="720p",
            options={"type": "video_reframe", "source": GEN},
        ).content
    )
    assert body["type"] == "video_reframe" and body["source"] == {"generation_id": GEN}
    assert body["video"] == {"resolution": "720p"}
    edit = json.loads(
        agents_create(
            prompt="make it watercolor",
            model="luma/ray-3.2",
            options={"type": "video_edit", "source": "https://v.example/a.mp4"},
        ).content
    )
    assert edit["source"] == {"url": "https://v.example/a.mp4", "media_type": "video/mp4"}


def test_agents_rules_checked_before_sending() -> None:
    def refused(**fields: Any) -> str:
        _, found, _ = checked(AGENTS, model="luma/ray-3.2", **fields)
        assert found, fields
        return " ".join(found)

    assert "source" in refused(prompt="x", options={"type": "video_edit"})
    assert "only read by video_edit" in refused(prompt="x", options={"source": GEN})
    assert "10 s" in refused(prompt="x", duration=10, options={"hdr": True}, resolution="1080p")
    assert "10 s" in refused(prompt="x", duration=10, images=[IMG])
    assert "720p" in refused(prompt="x", resolution="540p", options={"hdr": True})
    assert "source" in refused(prompt="x", options={"type": "video_edit", "source": "not-a-video"})
    assert "aspect_ratio" in refused(prompt="x", aspect_ratio="9:21")  # 9:21 is Dream Machine's, not ray-3.2's
    assert "prompt" in refused(prompt="x" * 6001)


def test_agents_states_word_by_word_and_failure_codes() -> None:
    assert {
        "queued": JobStatus.queued,
        "processing": JobStatus.running,
        "completed": JobStatus.succeeded,
        "failed": JobStatus.failed,
    } == AGENTS_STATUS
    assert parse_agents_generation("luma", {"id": GEN, "state": "paused"}).status is None
    expected = {
        "content_moderated": ErrorCode.content_policy_output,
        "generation_failed": ErrorCode.provider_error,
        "budget_exhausted": ErrorCode.quota_exceeded,
        "output_not_found": ErrorCode.provider_error,
        "image_too_large": ErrorCode.invalid_request,
        "unsupported_format": ErrorCode.invalid_request,
        "corrupt_input": ErrorCode.invalid_request,
        "invalid_request": ErrorCode.invalid_request,
        "rate_limited": ErrorCode.rate_limited,
    }
    for code, vidgate_code in expected.items():
        update = parse_agents_generation(
            "luma", {"id": GEN, "state": "failed", "failure_code": code, "failure_reason": "it failed"}
        )
        assert update.status is JobStatus.failed and update.error and update.error.code is vidgate_code, code
    prompt = parse_agents_generation(
        "luma",
        {"id": GEN, "state": "failed", "failure_code": "content_moderated", "failure_reason": "The prompt was flagged"},
    )
    assert prompt.error and prompt.error.code is ErrorCode.content_policy_input


def test_agents_presigned_output_expiry_recorded() -> None:
    url = (
        "https://cdn.lumalabs.ai/out.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261205T100000Z"
        "&X-Amz-Expires=3600&X-Amz-Signature=abc"
    )
    assert presigned_expiry(url) == datetime(2026, 12, 5, 11, tzinfo=UTC)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    assert presigned_expiry("https://cdn.example/plain.mp4", now) == now + timedelta(hours=1)
    done = parse_agents_generation("luma", {"id": GEN, "state": "completed", "output": [{"type": "video", "url": url}]})
    assert done.status is JobStatus.succeeded and done.assets[0].expires_at == datetime(2026, 12, 5, 11, tzinfo=UTC)
    empty = parse_agents_generation("luma", {"id": GEN, "state": "completed", "output": []})
    assert empty.status is JobStatus.failed
    with pytest.raises(ProtocolError):
        parse_agents_generation("luma", {"state": "queued"})


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, AuthenticationError), (402, QuotaExceededError), (429, RateLimitError), (400, ProviderHTTPError)],
)
def test_detail_envelope_is_typed(status: int, cls: type[Exception]) -> None:
    response = httpx.Response(status, json={"detail": "Invalid API key is provided"})
    for dialect in (AGENTS, LEGACY):
        with pytest.raises(cls) as info:
            dialect.parse("luma", response)
        assert "Invalid API key is provided" in str(info.value)
    validation = httpx.Response(422, json={"detail": [{"loc": ["body", "duration"], "msg": "bad value"}]})
    with pytest.raises(ProviderHTTPError, match=r"body\.duration: bad value"):
        LEGACY.parse("luma-legacy", validation)


def test_golden_legacy_create_with_keyframes_and_callback() -> None:
    first_last = [
        ImageInput(source=IMG, role=ImageRole.first_frame),
        ImageInput(source="https://example.com/end.jpg", role=ImageRole.last_frame),
    ]
    request = legacy_create(
        prompt="Character walks from left to right",
        model="luma-legacy/ray-2",
        images=first_last,
        aspect_ratio="16:9",
        resolution="720p",
        duration=5,
        webhook_url="https://vg.example/hooks/relay/job1/tok",
        options={"loop": False},
    )
    assert str(request.url) == "https://api.lumalabs.ai/dream-machine/v1/generations/video"
    assert json.loads(request.content) == {
        "generation_type": "video",
        "model": "ray-2",
        "prompt": "Character walks from left to right",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration": "5s",
        "keyframes": {
            "frame0": {"type": "image", "url": IMG},
            "frame1": {"type": "image", "url": "https://example.com/end.jpg"},
        },
        "loop": False,
        "callback_url": "https://vg.example/hooks/relay/job1/tok",
    }
    prefixed = conn("luma-legacy", "https://relay.example/dream-machine/v1")  # prefix not repeated
    _, _, prep = checked(LEGACY, prompt="x", model="luma-legacy/ray-flash-2")
    assert prep is not None
    assert str(next(LEGACY.submit(prep, prefixed)).url) == "https://relay.example/dream-machine/v1/generations/video"


def test_legacy_refuses_local_images_and_9s_ok() -> None:
    _, found, _ = checked(LEGACY, prompt="x", model="luma-legacy/ray-2", images=[image_bytes()])
    assert found and any("url" in p.lower() for p in found)
    assert json.loads(legacy_create(prompt="x", model="luma-legacy/ray-2", duration=9).content)["duration"] == "9s"
    local = check(
        VideoRequest(prompt="x", model="luma/ray-3.2", images=[image_bytes()]), CATALOG.resolve("luma/ray-3.2")
    )
    (problem,) = LEGACY.preflight(
        VideoRequest(prompt="x", model="luma-legacy/ray-2"), CATALOG.resolve("luma-legacy/ray-2"), local.images
    )
    assert problem.field == "images[0]" and "URLs only" in problem.message


def test_legacy_states_word_by_word() -> None:
    assert {
        "queued": JobStatus.queued,
        "dreaming": JobStatus.running,
        "completed": JobStatus.succeeded,
        "failed": JobStatus.failed,
    } == LEGACY_STATUS
    dreaming = parse_legacy_generation("luma-legacy", {"id": GEN, "state": "dreaming"})
    assert dreaming.status is JobStatus.running and dreaming.raw_status == "dreaming"
    done = parse_legacy_generation(
        "luma-legacy", {"id": GEN, "state": "completed", "assets": {"video": "https://cdn/x.mp4"}}
    )
    assert done.assets[0].url == "https://cdn/x.mp4" and done.assets[0].expires_at is not None
    failed = parse_legacy_generation(
        "luma-legacy", {"id": GEN, "state": "failed", "failure_reason": "Prompt violates our content policy"}
    )
    assert failed.error and failed.error.code is ErrorCode.content_policy_input
