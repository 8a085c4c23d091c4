"""OpenRouter dialect, sans-IO: golden requests and responses from the documented examples (providers-2026.md §1),
frame roles, passthrough, polling_url resolution, status table, cost, error envelope and download auth."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import (
    AuthenticationError,
    ContentPolicyError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    QuotaExceededError,
    RateLimitError,
)
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.openrouter import (
    STATUS_MAP,
    OpenRouter,
    OpenRouterOptions,
    VideoGeneration,
    openrouter_http_error,
    resolve_polling_url,
)
from vidgate.types import Asset, ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = OpenRouter()
CATALOG = load_catalog()
IMG = "https://images.example/cat.png"


def conn(base_url: str = "https://openrouter.ai") -> Connection:
    return Connection(provider=CATALOG.providers["openrouter"], base_url=base_url, api_key="sk-or-test")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=OpenRouterOptions)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(base_url: str = "https://openrouter.ai", **fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn(base_url)))


def body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def status(payload: Any, code: int = 200, base_url: str = "https://openrouter.ai") -> Any:
    flow = DIALECT.status("job-abc123", CATALOG.resolve("openrouter/google/veo-3.1"), conn(base_url))
    request = next(flow)
    assert request.method == "GET" and request.url.path == "/api/v1/videos/job-abc123"
    try:
        flow.send(httpx.Response(code, json=payload, request=request))
    except StopIteration as stop:
        return stop.value
    raise AssertionError("status flow did not finish")


def test_registered_and_catalog_entries_use_it() -> None:
    assert isinstance(get_dialect("openrouter"), OpenRouter)
    models = CATALOG.by_provider("openrouter")
    assert {m.dialect for m in models} == {"openrouter"} and len(models) >= 5
    assert all(m.sources and m.sources[0].startswith("https://") for m in models)
    # per-model values are vidgate's choices until `vidgate catalog sync` replaces them
    assert all(m.unconfirmed for m in models)


def test_golden_text_request_with_passthrough() -> None:
    # the guide's example: model google/veo-3.1, duration 8, resolution 720p, aspect 16:9, audio, passthrough
    vertex = {"google-vertex": {"parameters": {"personGeneration": "allow", "negativePrompt": "blurry"}}}
    options = {"generate_audio": True, "provider_options": vertex}
    req = create(prompt="A golden retriever on a beach", model="openrouter/google/veo-3.1", duration=8,
                 resolution="720p", aspect_ratio="16:9", options=options)  # fmt: skip
    assert req.method == "POST" and str(req.url) == "https://openrouter.ai/api/v1/videos"
    assert req.headers["authorization"] == "Bearer sk-or-test"
    assert body(req) == {
        "model": "google/veo-3.1",
        "prompt": "A golden retriever on a beach",
        "duration": 8,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "provider": {"options": vertex},
    }  # fmt: skip


def test_base_url_ending_in_api_v1_is_not_doubled() -> None:
    req = create("https://openrouter.ai/api/v1", prompt="x", model="openrouter/google/veo-3.1")
    assert str(req.url) == "https://openrouter.ai/api/v1/videos"


def test_frame_images_carry_frame_type_from_roles() -> None:
    images = [ImageInput(source="https://images.example/end.png", role=ImageRole.last_frame),
              ImageInput(source=IMG, role=ImageRole.first_frame)]  # fmt: skip
    sent = body(create(prompt="morph", model="openrouter/google/veo-3.1", images=images))
    assert sent["frame_images"] == [
        {"type": "image_url", "image_url": {"url": IMG}, "frame_type": "first_frame"},
        {"type": "image_url", "image_url": {"url": "https://images.example/end.png"}, "frame_type": "last_frame"},
    ]
    assert "input_references" not in sent
    one = body(create(prompt="go", model="openrouter/alibaba/wan-2.7", images=[IMG]))
    assert one["frame_images"] == [{"type": "image_url", "image_url": {"url": IMG}, "frame_type": "first_frame"}]


def test_local_images_go_as_data_urls(tmp_path: Any) -> None:
    from tests.conftest import make_image

    path = make_image(tmp_path / "a.png")
    sent = body(create(prompt="go", model="openrouter/google/veo-3.1", images=[str(path)]))
    assert sent["frame_images"][0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_seed_and_callback_and_options_are_checked() -> None:
    sent = body(create(prompt="x", model="openrouter/bytedance/seedance-2.0", duration=12,
                       options={"seed": 7, "callback_url": "https://hooks.example/or"}))  # fmt: skip
    assert sent["seed"] == 7 and sent["callback_url"] == "https://hooks.example/or" and sent["duration"] == 12
    with pytest.raises(ValueError, match="https"):
        OpenRouterOptions(callback_url="http://hooks.example/or")
    with pytest.raises(ValueError):
        OpenRouterOptions.model_validate({"watermark": False})  # passthrough goes in provider_options


def test_duration_outside_the_model_set_is_refused_before_io() -> None:
    spec = CATALOG.resolve("openrouter/google/veo-3.1")
    report = check(VideoRequest(prompt="x", model=spec.key, duration=5), spec, options_model=OpenRouterOptions)
    assert not report.ok and "4, 6, 8" in report.problems[0].explain()


# ---------------------------------------------------------------- responses


def test_create_answer_spec_example_relative_polling_url() -> None:
    flow = DIALECT.submit(prepared(prompt="x", model="openrouter/google/veo-3.1"), conn())
    request = next(flow)
    answer = {"id": "job-abc123", "polling_url": "/api/v1/videos/job-abc123", "status": "pending"}
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(202, json=answer, request=request))
    update = stop.value.value
    assert update.status is JobStatus.queued and update.raw_status == "pending"
    assert update.provider_task_id == "job-abc123"
    gen = VideoGeneration.model_validate(answer)
    assert DIALECT.polling_url(conn(), gen) == "https://openrouter.ai/api/v1/videos/job-abc123"


def test_polling_url_relative_or_absolute_resolves_against_the_base() -> None:
    base = "https://openrouter.ai/api/v1"
    assert resolve_polling_url(base, "/api/v1/videos/j1") == "https://openrouter.ai/api/v1/videos/j1"
    absolute = "https://openrouter.ai/api/v1/videos/j1"  # the guide's form
    assert resolve_polling_url(base, absolute) == absolute
    foreign = VideoGeneration(id="j1", status="pending", polling_url="https://evil.example/api/v1/videos/j1")
    assert DIALECT.polling_url(conn(base), foreign) == "https://openrouter.ai/api/v1/videos/j1"


def test_completed_spec_example_records_cost_and_content_proxy() -> None:
    payload = {
        "id": "job-abc123", "polling_url": "/api/v1/videos/job-abc123", "status": "completed",
        "generation_id": "gen-xyz789",
        "unsigned_urls": ["https://openrouter.ai/api/v1/videos/job-abc123/content?index=0"],
        "usage": {"cost": 0.5, "is_byok": False},
    }  # fmt: skip
    update = status(payload)
    assert update.status is JobStatus.succeeded and update.cost_usd == 0.5 and update.progress == 100
    assert [a.url for a in update.assets] == ["https://openrouter.ai/api/v1/videos/job-abc123/content?index=0"]


def test_completed_without_urls_uses_the_content_endpoint_and_signed_urls_fallback() -> None:
    update = status({"id": "job-abc123", "status": "completed", "usage": {"cost": None}})
    assert update.cost_usd is None
    assert update.assets[0].url == "https://openrouter.ai/api/v1/videos/job-abc123/content?index=0"
    signed = status({"id": "job-abc123", "status": "completed", "urls": ["https://storage.example/v.mp4?sig=1"]})
    assert signed.assets[0].url == "https://storage.example/v.mp4?sig=1"


@pytest.mark.parametrize(("raw", "expected"), list(STATUS_MAP.items()))
def test_status_table(raw: str, expected: JobStatus) -> None:
    update = status({"id": "job-abc123", "status": raw, "error": "x" if raw == "failed" else None})
    assert update.raw_status == raw
    assert update.status is expected


def test_unknown_status_keeps_polling() -> None:
    update = status({"id": "job-abc123", "status": "rendering"})
    assert update.status is None and update.raw_status == "rendering"


def test_failed_job_keeps_the_reason() -> None:
    update = status({"id": "job-abc123", "status": "failed", "error": "Content policy violation"})
    assert update.status is JobStatus.failed and update.error is not None
    assert update.error.code is ErrorCode.content_policy_output and update.error.message == "Content policy violation"
    expired = status({"id": "job-abc123", "status": "expired", "error": "Job exceeded maximum time to live"})
    assert expired.status is JobStatus.expired and expired.error and expired.error.code is ErrorCode.timeout


def err(code: int, message: str, **headers: str) -> httpx.Response:
    envelope = {"error": {"code": code, "message": message, "metadata": {}}, "user_id": None}
    return httpx.Response(code, json=envelope, headers=headers)


@pytest.mark.parametrize(
    ("code", "message", "cls", "error_code"),
    [
        (400, "Invalid request parameters", ProviderHTTPError, "invalid_request"),
        (400, "Request blocked by content moderation", ContentPolicyError, "content_policy_input"),
        (401, "Missing Authentication header", AuthenticationError, "auth"),
        (402, "Insufficient credits. Add more using https://openrouter.ai/credits", QuotaExceededError,
         "quota_exceeded"),
        (404, "not found", ProviderHTTPError, "invalid_request"),
        (429, "Rate limit exceeded", RateLimitError, "rate_limited"),
        (500, "Internal Server Error", ProviderServerError, "provider_error"),
        (502, "Provider returned error", ProviderServerError, "provider_error"),
    ],
)  # fmt: skip
def test_error_envelope_maps_to_typed_errors(code: int, message: str, cls: type, error_code: str) -> None:
    exc = openrouter_http_error("openrouter", err(code, message, **{"retry-after": "3"}))
    assert type(exc) is cls and exc.status_code == code and exc.message == message
    assert exc.error_code == error_code and exc.code == str(code) and exc.retry_after == 3


def test_status_http_error_and_bad_shape() -> None:
    with pytest.raises(AuthenticationError):
        status({"error": {"code": 401, "message": "No auth credentials found"}}, code=401)
    with pytest.raises(ProtocolError):
        status({"unexpected": True})


def test_download_sends_the_key_only_to_the_api_origin() -> None:
    proxy = Asset(kind="video", url="https://openrouter.ai/api/v1/videos/j/content?index=0")
    assert DIALECT.download_request(proxy, conn()).headers["authorization"] == "Bearer sk-or-test"
    signed = Asset(kind="video", url="https://storage.example/v.mp4?sig=1")
    assert "authorization" not in DIALECT.download_request(signed, conn()).headers
