"""Runway dialect, sans-IO: golden requests from the documented examples, the version header, per-model body
unions, every status word by word, failureCode mapping, the error envelope and the cancel flow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import image_bytes
from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import AuthenticationError, ProtocolError, ProviderHTTPError, RateLimitError
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.runway import STATUS_MAP, Runway, RunwayOptions, failure_error, parse_task, utf16_units
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = Runway()
CATALOG = load_catalog()
BASE = "https://api.dev.runwayml.com"
IMG = "https://images.example/cat.png"


def conn() -> Connection:
    return Connection(provider=CATALOG.providers["runway"], base_url=BASE, api_key="key_test")


def problems(**fields: Any) -> list[str]:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=RunwayOptions)
    found = [p.explain() for p in report.problems]
    if report.ok:
        found += [p.explain() for p in DIALECT.preflight(request, spec, report.images)]
    return found


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=RunwayOptions)
    assert report.ok, [p.explain() for p in report.problems]
    assert not DIALECT.preflight(request, spec, report.images)
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(**fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn()))


def test_registered_and_every_model_polls_only() -> None:
    assert isinstance(get_dialect("runway"), Runway)
    models = CATALOG.by_provider("runway")
    assert {m.dialect for m in models} == {"runway"} and len(models) == 11
    assert all(m.results.delivery == ["poll"] and m.sources for m in models)
    assert not Runway.dedups_creates and not Runway.per_job_callback  # no caller id: unknown stays for a person
    assert "no caller-supplied id" in CATALOG.providers["runway"].note.lower()


def test_golden_image_to_video_gen45() -> None:
    # The API reference's image_to_video example: gen4.5, promptImage URL, promptText, ratio, duration
    request = create(
        prompt="A cat walks",
        model="runway/gen4.5",
        images=[IMG],
        aspect_ratio="1280:720",
        duration=5,
        options={"seed": 42},
    )
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1/image_to_video"
    assert request.headers["authorization"] == "Bearer key_test"
    assert request.headers["x-runway-version"] == "2024-11-06"
    assert json.loads(request.content) == {
        "model": "gen4.5",
        "promptText": "A cat walks",
        "promptImage": IMG,
        "ratio": "1280:720",
        "duration": 5,
        "seed": 42,
    }


def test_text_to_video_sends_required_defaults() -> None:
    request = create(prompt="A quiet harbour", model="runway/gen4.5")
    assert str(request.url) == f"{BASE}/v1/text_to_video"
    assert json.loads(request.content) == {
        "model": "gen4.5",
        "promptText": "A quiet harbour",
        "ratio": "1280:720",
        "duration": 5,
    }
    assert request.headers["x-runway-version"] == "2024-11-06"


def test_veo_first_and_last_frames_and_options() -> None:
    png = image_bytes()
    frames = [ImageInput(source=png, role=ImageRole.first_frame), ImageInput(source=IMG, role=ImageRole.last_frame)]
    body = json.loads(
        create(
            prompt="morph",
            model="runway/veo3.1",
            images=frames,
            duration=4,
            aspect_ratio="1920:1080",
            options={"audio": True, "negative_prompt": "blur"},
        ).content
    )
    first, last = body["promptImage"]
    assert first["position"] == "first" and first["uri"].startswith("data:image/png;base64,")
    assert last == {"uri": IMG, "position": "last"}
    assert body["audio"] is True and body["negativePrompt"] == "blur" and body["duration"] == 4
    assert body["ratio"] == "1920:1080"


def test_seedance_reference_images_have_no_position() -> None:
    refs = [ImageInput(source=IMG, role=ImageRole.reference)] * 2
    body = json.loads(create(prompt="two friends", model="runway/seedance2", images=refs).content)
    assert body["promptImage"] == [{"uri": IMG}, {"uri": IMG}]
    mixed = [ImageInput(source=IMG, role=ImageRole.first_frame), ImageInput(source=IMG, role=ImageRole.reference)]
    assert any("cannot be mixed" in p for p in problems(prompt="x", model="runway/seedance2", images=mixed))


def test_happyhorse_resolution_and_no_ratio_or_duration() -> None:
    body = json.loads(create(prompt="gallop", model="runway/happyhorse_1_0", images=[IMG], resolution="1080P").content)
    assert body == {"model": "happyhorse_1_0", "promptText": "gallop", "promptImage": IMG, "resolution": "1080P"}


def test_public_figure_threshold_goes_into_content_moderation() -> None:
    body = json.loads(
        create(prompt="x", model="runway/gen4_turbo", images=[IMG], options={"public_figure_threshold": "low"}).content
    )
    assert body["contentModeration"] == {"publicFigureThreshold": "low"} and body["duration"] == 10


def test_bad_input_is_refused_before_sending() -> None:
    assert any("1280:720" in p for p in problems(prompt="x", model="runway/gen4.5", aspect_ratio="16:9"))
    assert any("UTF-16" in p for p in problems(prompt="😀" * 501, model="runway/gen4.5"))  # 501 chars, 1002 units
    assert utf16_units("😀a") == 3
    text_only = problems(prompt="x", model="runway/gen4.5", aspect_ratio="1104:832")
    assert any("text_to_video" in p for p in text_only)
    last_only = [ImageInput(source=IMG, role=ImageRole.last_frame)]
    assert any("first frame" in p for p in problems(prompt="x", model="runway/veo3.1", images=last_only))
    assert any("duration" in p for p in problems(prompt="x", model="runway/veo3.1", duration=5))
    assert problems(prompt="x", model="runway/gen4_turbo")  # an image is required
    assert any("seed" in p for p in problems(prompt="x", model="runway/gen4.5", options={"seed": -1}))
    assert any("audio" in p for p in problems(prompt="x", model="runway/gen4.5", options={"audio": True}))


def test_every_documented_status_word_by_word() -> None:
    assert {
        "PENDING": JobStatus.queued,
        "THROTTLED": JobStatus.queued,
        "RUNNING": JobStatus.running,
        "SUCCEEDED": JobStatus.succeeded,
        "FAILED": JobStatus.failed,
        "CANCELLED": JobStatus.cancelled,
    } == STATUS_MAP
    throttled = parse_task("runway", {"id": "t", "status": "THROTTLED", "createdAt": "2026-12-05T10:00:00Z"})
    assert throttled.status is JobStatus.queued and throttled.raw_status == "THROTTLED" and throttled.error is None
    running = parse_task("runway", {"id": "t", "status": "RUNNING", "progress": 0.42})
    assert running.status is JobStatus.running and running.progress == 42
    assert parse_task("runway", {"id": "t", "status": "RUNNING", "progress": 1.0}).progress == 99
    assert parse_task("runway", {"id": "t", "status": "ARCHIVED"}).status is None  # unknown: keep polling
    cancelled = parse_task("runway", {"id": "t", "status": "CANCELLED", "createdAt": "2026-12-05T10:00:00Z"})
    assert cancelled.status is JobStatus.cancelled and cancelled.error and cancelled.error.code is ErrorCode.cancelled
    with pytest.raises(ProtocolError):
        parse_task("runway", {"status": "PENDING"})


def test_succeeded_outputs_expire_within_a_day() -> None:
    before = datetime.now(UTC)
    done = parse_task(
        "runway", {"id": "t", "status": "SUCCEEDED", "output": ["https://dnznrvs05pmza.cloudfront.net/a.mp4"]}
    )
    assert done.status is JobStatus.succeeded and done.progress == 100
    expires = done.assets[0].expires_at
    assert expires is not None and before + timedelta(hours=23) < expires <= datetime.now(UTC) + timedelta(hours=24)
    empty = parse_task("runway", {"id": "t", "status": "SUCCEEDED", "output": []})
    assert empty.status is JobStatus.failed and empty.error and empty.error.retryable


@pytest.mark.parametrize(
    ("code", "expected", "retryable"),
    [
        ("SAFETY.INPUT.TEXT", ErrorCode.content_policy_input, False),
        ("SAFETY.INPUT.IMAGE", ErrorCode.content_policy_input, False),
        ("SAFETY.OUTPUT.VIDEO", ErrorCode.content_policy_output, False),
        ("INTERNAL.BAD_OUTPUT.CODE01", ErrorCode.provider_error, True),
        ("INTERNAL", ErrorCode.provider_error, True),
    ],
)
def test_failure_codes_map_to_vidgate_codes(code: str, expected: ErrorCode, retryable: bool) -> None:
    update = parse_task("runway", {"id": "t", "status": "FAILED", "failure": "rejected", "failureCode": code})
    assert update.status is JobStatus.failed and update.error is not None
    assert update.error.code is expected and update.error.retryable is retryable and code in update.error.message
    assert failure_error(None, "quota exceeded for this account", None).code is ErrorCode.quota_exceeded


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, ProviderHTTPError), (401, AuthenticationError), (429, RateLimitError), (503, ProviderHTTPError)],
)
def test_error_envelope_is_typed(status: int, cls: type[Exception]) -> None:
    body = {"error": "Validation of body failed", "issues": [{"path": ["ratio"], "message": "Invalid enum value"}]}
    response = httpx.Response(status, json=body, headers={"Retry-After": "7"})
    with pytest.raises(cls) as info:
        DIALECT.parse("runway", response)
    assert "Validation of body failed" in str(info.value) and "ratio: Invalid enum value" in str(info.value)
    if status == 429:
        assert isinstance(info.value, RateLimitError) and info.value.retry_after == 7


def test_cancel_reads_first_and_never_deletes_a_finished_task() -> None:
    spec = CATALOG.resolve("runway/gen4.5")
    flow = DIALECT.cancel("t1", spec, conn())
    read = next(flow)
    assert read.method == "GET" and str(read.url) == f"{BASE}/v1/tasks/t1"
    delete = flow.send(httpx.Response(200, json={"id": "t1", "status": "RUNNING", "progress": 0.3}))
    assert delete.method == "DELETE" and str(delete.url) == f"{BASE}/v1/tasks/t1"
    assert delete.headers["x-runway-version"] == "2024-11-06"
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(204))
    assert stop.value.value.status is JobStatus.cancelled and stop.value.value.raw_status == "CANCELLED"
    finished = DIALECT.cancel("t2", spec, conn())
    next(finished)
    with pytest.raises(StopIteration) as done:
        finished.send(httpx.Response(200, json={"id": "t2", "status": "SUCCEEDED", "output": ["https://x/a.mp4"]}))
    assert done.value.value.status is JobStatus.succeeded  # no DELETE was sent


def test_create_answer_is_only_an_id() -> None:
    flow = DIALECT.submit(prepared(prompt="x", model="runway/gen4.5"), conn())
    next(flow)
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(200, json={"id": "497f6eca-6276-4993-bfeb-53cbbbba6f08"}))
    update = stop.value.value
    assert update.provider_task_id == "497f6eca-6276-4993-bfeb-53cbbbba6f08" and update.status is JobStatus.queued
    bad = DIALECT.submit(prepared(prompt="x", model="runway/gen4.5"), conn())
    next(bad)
    with pytest.raises(ProtocolError):
        bad.send(httpx.Response(200, json={}))


def test_retired_gen3a_turbo_is_refused_without_override() -> None:
    found = problems(prompt="x", model="runway/gen3a_turbo", images=[IMG])
    assert any("retired" in p for p in found)
