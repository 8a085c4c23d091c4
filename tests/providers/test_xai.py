"""xAI Grok Imagine video dialect, sans-IO: the documented create body and answers (providers-2026.md §10), the
status table word by word, moderation blocks and error shapes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import image_bytes
from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import AuthenticationError, ProtocolError, ProviderHTTPError, RateLimitError
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.xai import STATUS_MAP, Xai, XaiOptions, parse_generation
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = Xai()
CATALOG = load_catalog()
BASE = "https://api.x.ai"


def conn() -> Connection:
    return Connection(provider=CATALOG.providers["xai"], base_url=BASE, api_key="xai-test")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=XaiOptions)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(**fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn()))


def test_registered_and_models() -> None:
    assert isinstance(get_dialect("xai"), Xai)
    keys = {m.key for m in CATALOG.by_provider("xai")}
    assert keys == {"xai/grok-imagine-video", "xai/grok-imagine-video-1.5", "xai/grok-imagine-video-1.5-lite",
                    "xai/grok-imagine-video-1.5-preview"}  # fmt: skip
    assert all(m.sources and m.is_unconfirmed("results") for m in CATALOG.by_provider("xai"))


def test_golden_text_create() -> None:
    request = create(prompt="a cat", model="xai/grok-imagine-video", duration=15, aspect_ratio="3:2",
                     resolution="720p", options={"seed": 3})  # fmt: skip
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1/videos/generations"
    assert request.headers["authorization"] == "Bearer xai-test"
    assert json.loads(request.content) == {"model": "grok-imagine-video", "prompt": "a cat", "duration": 15,
                                           "aspect_ratio": "3:2", "resolution": "720p", "seed": 3}  # fmt: skip


def test_first_frame_as_data_uri_and_reference_images() -> None:
    body = json.loads(
        create(prompt="go", model="xai/grok-imagine-video", images=[ImageInput(source=image_bytes())]).content
    )
    assert body["image"]["url"].startswith("data:image/png;base64,")
    refs = [ImageInput(source="https://i.example/a.png", role=ImageRole.reference),
            ImageInput(source="https://i.example/b.png", role=ImageRole.reference)]  # fmt: skip
    body = json.loads(create(prompt="go", model="xai/grok-imagine-video", images=refs).content)
    assert body["reference_images"] == [{"url": "https://i.example/a.png"}, {"url": "https://i.example/b.png"}]
    assert "image" not in body


def test_limits_are_checked_before_sending() -> None:
    spec = CATALOG.resolve("xai/grok-imagine-video")
    for bad in ({"duration": 16}, {"duration": 0}, {"resolution": "1080p"}, {"aspect_ratio": "21:9"}):
        assert not check(VideoRequest(prompt="x", model=spec.key, **bad), spec).ok, bad
    assert not check(VideoRequest(prompt="x" * 4097, model=spec.key), spec).ok
    mixed = [ImageInput(source="https://i.example/a.png", role=ImageRole.first_frame),
             ImageInput(source="https://i.example/b.png", role=ImageRole.reference)]  # fmt: skip
    request = VideoRequest(prompt="x", model=spec.key, images=mixed)
    assert [p.field for p in DIALECT.preflight(request, spec, check(request, spec).images)] == ["images"]
    v15 = CATALOG.resolve("xai/grok-imagine-video-1.5")
    assert not check(VideoRequest(prompt="x", model=v15.key), v15).ok  # image-to-video only


def test_create_answer_is_a_request_id() -> None:
    flow = DIALECT.submit(prepared(prompt="a", model="xai/grok-imagine-video"), conn())
    next(flow)
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(200, json={"request_id": "d97415a1-5796-b7ec-379f-4e6819e08fdf"}))
    update = stop.value.value
    assert update.status is JobStatus.queued and update.provider_task_id == "d97415a1-5796-b7ec-379f-4e6819e08fdf"
    flow = DIALECT.submit(prepared(prompt="a", model="xai/grok-imagine-video"), conn())
    next(flow)
    with pytest.raises(ProtocolError):
        flow.send(httpx.Response(200, json={"id": "x"}))


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("pending", JobStatus.queued),
        ("done", JobStatus.succeeded),
        ("failed", JobStatus.failed),
        ("expired", JobStatus.failed),
        ("processing", None),
        ("queued", None),
    ],
)
def test_status_table_word_by_word(raw: str, status: JobStatus | None) -> None:
    assert STATUS_MAP.get(raw) is status
    body: dict[str, Any] = {"status": raw, "model": "grok-imagine-video"}
    if raw == "done":
        body["video"] = {"url": "https://vidgen.x.ai/v.mp4", "duration": 8, "upsampled_prompt": "..."}
    update = parse_generation("xai", body, "rid")
    assert update.status is status and update.raw_status == raw and update.provider_task_id == "rid"


def test_golden_done_answer() -> None:
    body = {
        "status": "done",
        "model": "grok-imagine-video",
        "usage": {"cost_in_usd_ticks": 4000000000},
        "video": {"url": "https://vidgen.x.ai/abc.mp4", "duration": 8, "upsampled_prompt": "a cat ..."},
    }
    update = parse_generation("xai", body, "rid")
    assert update.status is JobStatus.succeeded and update.assets[0].url == "https://vidgen.x.ai/abc.mp4"
    assert update.progress == 100 and update.cost_usd is None  # the tick's size is not in the reference


def test_done_without_url_is_a_moderation_failure_and_no_status_with_url_is_success() -> None:
    blocked = parse_generation("xai", {"status": "done", "video": {"url": None, "respect_moderation": False}}, "r")
    assert blocked.status is JobStatus.failed and blocked.error is not None
    assert blocked.error.code is ErrorCode.content_policy_output
    quiet = parse_generation("xai", {"video": {"url": "https://vidgen.x.ai/v.mp4"}}, "r")
    assert quiet.status is JobStatus.succeeded
    nothing = parse_generation("xai", {"model": "grok-imagine-video"}, "r")
    assert nothing.status is None


def test_expired_is_a_retryable_failure() -> None:
    update = parse_generation("xai", {"status": "expired"}, "r")
    assert update.status is JobStatus.failed and update.error and update.error.retryable


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"code": "Client specified an invalid argument", "error": "duration must be 1-15"}, ProviderHTTPError),
        (401, {"code": "Unauthenticated", "error": "Incorrect API key provided"}, AuthenticationError),
        (429, {"error": {"message": "Too many requests"}}, RateLimitError),
    ],
)
def test_error_shapes(status: int, body: dict[str, Any], cls: type) -> None:
    flow = DIALECT.status("rid", CATALOG.resolve("xai/grok-imagine-video"), conn())
    assert str(next(flow).url) == f"{BASE}/v1/videos/rid"
    with pytest.raises(ProviderHTTPError) as info:
        flow.send(httpx.Response(status, json=body))
    assert type(info.value) is cls and info.value.message
