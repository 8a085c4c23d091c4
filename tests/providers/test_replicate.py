"""Replicate dialect, sans-IO: golden requests from the documented examples, paths, headers, statuses, outputs
that expire, errors."""

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
from vidgate.providers.replicate import (
    STATUS_MAP,
    Replicate,
    ReplicateOptions,
    cancel_after,
    create_path,
    parse_prediction,
)
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = Replicate()
CATALOG = load_catalog()
BASE = "https://api.replicate.com"


def conn() -> Connection:
    return Connection(provider=CATALOG.providers["replicate"], base_url=BASE, api_key="r8-test")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=ReplicateOptions)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(**fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn()))


def test_registered_and_every_model_uses_it() -> None:
    assert isinstance(get_dialect("replicate"), Replicate)
    models = CATALOG.by_provider("replicate")
    assert {m.dialect for m in models} == {"replicate"} and len(models) == 6
    assert all(m.sources and m.results.url_lifetime.startswith("1 hour") for m in models)


def test_golden_official_model_create() -> None:
    # create-a-prediction: POST /v1/models/{owner}/{name}/predictions, {"input": {...}}, Prefer: wait
    request = create(prompt="a cat", model="replicate/google/veo-3.1", duration=8, aspect_ratio="16:9",
                     resolution="1080p", options={"generate_audio": True, "seed": 7})  # fmt: skip
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1/models/google/veo-3.1/predictions"
    assert request.headers["authorization"] == "Bearer r8-test"
    assert request.headers["prefer"] == "wait=5" and request.headers["cancel-after"] == "60m"
    assert json.loads(request.content) == {
        "input": {"prompt": "a cat", "duration": 8, "aspect_ratio": "16:9", "resolution": "1080p",
                  "generate_audio": True, "seed": 7}
    }  # fmt: skip


def test_webhook_fields_sit_beside_input() -> None:
    options = {"webhook": "https://h.example/hooks/replicate", "webhook_events_filter": ["completed"]}
    request = create(prompt="x", model="replicate/minimax/video-01", options=options)
    body = json.loads(request.content)
    assert body == {"input": {"prompt": "x"}, "webhook": "https://h.example/hooks/replicate",
                    "webhook_events_filter": ["completed"]}  # fmt: skip


def test_image_fields_per_model() -> None:
    png = image_bytes()
    frames = [ImageInput(source=png, role=ImageRole.first_frame), ImageInput(source=png, role=ImageRole.last_frame)]
    veo = json.loads(create(prompt="m", model="replicate/google/veo-3.1", images=frames).content)["input"]
    assert veo["image"].startswith("data:image/png;base64,") and veo["last_frame"].startswith("data:image/png")
    kling = json.loads(create(prompt="m", model="replicate/kwaivgi/kling-v2.5-turbo-pro", images=frames).content)
    assert set(kling["input"]) == {"prompt", "start_image", "end_image"}
    refs = [ImageInput(source=png, role=ImageRole.reference)] * 2
    veo_refs = json.loads(create(prompt="m", model="replicate/google/veo-3.1", images=refs).content)["input"]
    assert len(veo_refs["reference_images"]) == 2
    minimax = json.loads(create(prompt="m", model="replicate/minimax/video-01", images=frames[:1]).content)
    assert "first_frame_image" in minimax["input"] and "duration" not in minimax["input"]


def test_versioned_model_goes_through_predictions() -> None:
    spec = CATALOG.resolve("replicate/minimax/video-01").model_copy(update={"model": "minimax/video-01:abc123"})
    assert create_path(spec) == ("v1/predictions", "minimax/video-01:abc123")
    assert cancel_after(90) == "2m" and cancel_after(3600) == "60m"


def test_every_documented_status_is_mapped() -> None:
    expected = {
        "starting": JobStatus.queued, "processing": JobStatus.running, "succeeded": JobStatus.succeeded,
        "failed": JobStatus.failed, "canceled": JobStatus.cancelled, "aborted": JobStatus.cancelled,
    }  # fmt: skip
    assert expected == STATUS_MAP
    assert parse_prediction("replicate", {"id": "p", "status": "booting"}).status is None  # unknown: keep polling


def test_succeeded_outputs_expire_an_hour_after_completion() -> None:
    done = "2026-12-04T10:00:00.000Z"
    one = parse_prediction("replicate", {"id": "p1", "status": "succeeded", "completed_at": done,
                                         "output": "https://replicate.delivery/x/out.mp4"})  # fmt: skip
    assert one.status is JobStatus.succeeded and one.raw_status == "succeeded"
    assert one.assets[0].expires_at == datetime(2026, 12, 4, 10, tzinfo=UTC) + timedelta(hours=1)
    many = parse_prediction(
        "replicate", {"id": "p2", "status": "succeeded", "output": ["https://a/1.mp4", "https://a/2.mp4"]}
    )
    assert [a.url for a in many.assets] == ["https://a/1.mp4", "https://a/2.mp4"]
    removed = parse_prediction("replicate", {"id": "p3", "status": "succeeded", "output": None, "data_removed": True})
    assert removed.status is JobStatus.failed and removed.error and "1 hour" in removed.error.message


def test_failed_canceled_and_aborted() -> None:
    failed = parse_prediction("replicate", {"id": "p", "status": "failed", "error": "E1001: out of memory"})
    assert failed.status is JobStatus.failed and failed.error and "E1001" in failed.error.message
    aborted = parse_prediction("replicate", {"id": "p", "status": "aborted"})
    assert aborted.status is JobStatus.cancelled and aborted.raw_status == "aborted"
    assert aborted.error and aborted.error.code is ErrorCode.cancelled
    with pytest.raises(ProtocolError):
        parse_prediction("replicate", {"status": "starting"})


@pytest.mark.parametrize(
    ("status", "headers", "cls"),
    [(429, {"Retry-After": "30"}, RateLimitError), (401, {}, AuthenticationError), (402, {}, QuotaExceededError),
     (422, {}, ProviderHTTPError)],
)  # fmt: skip
def test_http_errors_are_typed(status: int, headers: dict[str, str], cls: type[Exception]) -> None:
    detail = "Request was throttled. Your rate limit resets in ~30s."
    response = httpx.Response(status, json={"title": "t", "detail": detail, "status": status}, headers=headers)
    with pytest.raises(cls) as info:
        DIALECT.parse("replicate", response)
    assert detail in str(info.value)
    if status == 429:
        assert isinstance(info.value, RateLimitError) and info.value.retry_after == 30


def test_status_and_cancel_requests() -> None:
    spec = CATALOG.resolve("replicate/google/veo-3.1")
    assert str(next(DIALECT.status("abc", spec, conn())).url) == f"{BASE}/v1/predictions/abc"
    cancel = next(DIALECT.cancel("abc", spec, conn()))
    assert cancel.method == "POST" and str(cancel.url) == f"{BASE}/v1/predictions/abc/cancel"
