"""DashScope (Wan) dialect, sans-IO: golden requests per model generation (size, img_url, keyframes, media[]),
the async header, statuses word by word (UNKNOWN is final), 24 h URLs, the error envelope and a PENDING-only cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import image_bytes
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
from vidgate.providers.dashscope import STATUS_MAP, DashScope, DashScopeOptions, parse_task
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = DashScope()
CATALOG = load_catalog()
INTL = "https://dashscope-intl.aliyuncs.com/api/v1"
CREATE = f"{INTL}/services/aigc/video-generation/video-synthesis"
TID = "0385dc79-5ff8-4d82-bcb6-xxxxxx"


def conn(base: str = INTL) -> Connection:
    return Connection(provider=CATALOG.providers["dashscope"], base_url=base, api_key="sk-test")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=DashScopeOptions)
    assert report.ok, [p.explain() for p in report.problems]
    assert not DIALECT.preflight(request, spec, report.images)
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(base: str = INTL, **fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn(base)))


def body_of(**fields: Any) -> dict[str, Any]:
    return dict(json.loads(create(**fields).content))


def problems(**fields: Any) -> list[str]:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=DashScopeOptions)
    return [p.explain() for p in report.problems + DIALECT.preflight(request, spec, report.images)]


def test_registered_and_every_model_uses_it() -> None:
    assert isinstance(get_dialect("dashscope"), DashScope)
    models = CATALOG.by_provider("dashscope")
    assert {m.dialect for m in models} == {"dashscope"} and len(models) == 10
    assert {"wan3.0-video", "wan2.7-t2v", "wan2.6-t2v", "wan2.5-i2v-preview"} <= {m.model for m in models}
    assert all(m.sources and m.results.url_lifetime.startswith("24 hours") for m in models)
    note = CATALOG.providers["dashscope"].note
    assert "dashscope-intl.aliyuncs.com" in note and "dashscope.aliyuncs.com" in note and "maas.aliyuncs.com" in note


def test_golden_text_to_video_with_size_and_the_async_header() -> None:
    request = create(prompt="a cat", model="dashscope/wan2.5-t2v-preview", size="1280x720", duration=10,
                     options={"prompt_extend": True, "seed": 12345, "watermark": False, "audio": True})  # fmt: skip
    assert request.method == "POST" and str(request.url) == CREATE
    assert request.headers["x-dashscope-async"] == "enable" and request.headers["authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {
        "model": "wan2.5-t2v-preview",
        "input": {"prompt": "a cat"},
        "parameters": {"size": "1280*720", "duration": 10, "prompt_extend": True, "seed": 12345,
                       "watermark": False, "audio": True},
    }  # fmt: skip


def test_golden_image_to_video_from_the_documented_example() -> None:
    # {"model":"wan2.5-i2v-preview","input":{"prompt","negative_prompt","img_url","audio_url"},
    #  "parameters":{"resolution":"720P","duration":5,"prompt_extend":true,"seed":12345,"watermark":false,"audio":true}}
    body = body_of(prompt="p", model="dashscope/wan2.5-i2v-preview", images=["https://img.example/cat.png"],
                   resolution="720p", duration=5, options={"negative_prompt": "blur", "audio_url": "https://a/x.mp3",
                   "prompt_extend": True, "seed": 12345, "watermark": False, "audio": True})  # fmt: skip
    assert body == {
        "model": "wan2.5-i2v-preview",
        "input": {"prompt": "p", "negative_prompt": "blur", "img_url": "https://img.example/cat.png",
                  "audio_url": "https://a/x.mp3"},
        "parameters": {"resolution": "720P", "duration": 5, "prompt_extend": True, "seed": 12345,
                       "watermark": False, "audio": True},
    }  # fmt: skip


def test_keyframes_and_media_forms() -> None:
    frames = ["https://i/first.png", "https://i/last.png"]
    kf = body_of(prompt="p", model="dashscope/wan2.2-kf2v-flash", images=frames)["input"]
    assert kf == {"prompt": "p", "first_frame_url": "https://i/first.png", "last_frame_url": "https://i/last.png"}
    png = image_bytes((640, 360))
    media = body_of(prompt="p", model="dashscope/wan2.7-i2v", duration=2, resolution="1080p",
                    images=[ImageInput(source=png, role=ImageRole.first_frame),
                            ImageInput(source="https://i/last.png", role=ImageRole.last_frame)],
                    options={"audio_url": "https://a/drive.mp3"})  # fmt: skip
    types = [m["type"] for m in media["input"]["media"]]
    assert types == ["first_frame", "last_frame", "driving_audio"]
    assert media["input"]["media"][0]["url"].startswith("data:image/png;base64,")
    assert media["parameters"] == {"duration": 2, "resolution": "1080P"}
    refs = body_of(
        prompt="p",
        model="dashscope/wan3.0-video",
        duration=30,
        aspect_ratio="adaptive",
        images=[ImageInput(source="https://i/r.png", role=ImageRole.reference)] * 2,
        options={"reference_videos": ["https://v/a.mp4"], "reference_audios": ["https://a/b.wav"]},
    )
    assert [m["type"] for m in refs["input"]["media"]] == [
        "reference_image", "reference_image", "reference_video", "reference_audio"]  # fmt: skip
    assert refs["parameters"] == {"duration": 30, "ratio": "adaptive"}
    t2v = body_of(prompt="p", model="dashscope/wan2.7-t2v", aspect_ratio="9:16", resolution="720p")
    assert t2v == {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"resolution": "720P",
                                                                                    "ratio": "9:16"}}  # fmt: skip


def test_oss_urls_add_the_resolve_header_and_bare_hosts_get_the_prefix() -> None:
    request = create(prompt="p", model="dashscope/wan2.2-i2v-plus", images=["https://i/a.png"],
                     options={"negative_prompt": "x"})  # fmt: skip
    assert "x-dashscope-ossresourceresolve" not in request.headers
    oss = DIALECT.create_request(prepared(prompt="p", model="dashscope/wan2.5-i2v-preview",
                                          images=["https://i/a.png"], options={"audio_url": "oss://bucket/a.mp3"}),
                                 conn())  # fmt: skip
    assert oss.headers["x-dashscope-ossresourceresolve"] == "enable"
    bare = create("http://127.0.0.1:9", prompt="p", model="dashscope/wan2.6-t2v")
    assert str(bare.url) == "http://127.0.0.1:9/api/v1/services/aigc/video-generation/video-synthesis"
    workspace = create("https://ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1", prompt="p", model="dashscope/wan2.6-t2v")
    assert str(workspace.url).startswith("https://ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1/services/")


def test_bad_input_is_refused_before_any_request() -> None:
    mixed = [ImageInput(source="https://i/f.png", role=ImageRole.first_frame),
             ImageInput(source="https://i/r.png", role=ImageRole.reference)]  # fmt: skip
    assert any("cannot be combined" in p for p in problems(prompt="p", model="dashscope/wan3.0-video", images=mixed))
    out = problems(prompt="p", model="dashscope/wan3.0-video", options={"reference_videos": ["https://v"] * 6})
    assert any("reference_videos" in p and "at most 5" in p for p in out)
    out = problems(prompt="x" * 801, model="dashscope/wan2.6-t2v", size="1280*720", duration=16)
    assert any("800" in p for p in out) and any("size" in p for p in out) and any("duration" in p for p in out)
    assert not problems(prompt="x" * 20000, model="dashscope/wan3.0-video")
    out = problems(prompt="p", model="dashscope/wan2.5-i2v-preview", images=["https://i/a.png"],
                   options={"audio_url": "/home/me/a.mp3"})  # fmt: skip
    assert any("by URL" in p for p in out)
    assert any("image" in p for p in problems(prompt="p", model="dashscope/wan2.2-i2v-plus"))


def test_every_documented_status_word_by_word() -> None:
    assert {
        "PENDING": JobStatus.queued, "RUNNING": JobStatus.running, "SUCCEEDED": JobStatus.succeeded,
        "FAILED": JobStatus.failed, "CANCELED": JobStatus.cancelled, "UNKNOWN": JobStatus.expired,
    } == STATUS_MAP  # fmt: skip
    for word, status in STATUS_MAP.items():
        out: dict[str, Any] = {"task_id": TID, "task_status": word}
        if word == "SUCCEEDED":
            out["video_url"] = "https://dashscope-result.oss.example/v.mp4"
        update = parse_task("dashscope", {"request_id": "r", "output": out})
        assert update.status is status and update.raw_status == word
    assert parse_task("dashscope", {"output": {"task_id": TID, "task_status": "SUSPENDED"}}).status is None


def test_unknown_is_final_with_a_clear_message() -> None:
    update = parse_task("dashscope", {"request_id": "r", "output": {"task_status": "UNKNOWN"}}, TID)
    assert update.status is JobStatus.expired and update.status.terminal and update.provider_task_id == TID
    assert update.error is not None and "24 h" in update.error.message and "region" in update.error.message


def test_succeeded_url_expires_24_hours_after_end_time() -> None:
    body = {"request_id": "r", "output": {"task_id": TID, "task_status": "SUCCEEDED",
            "submit_time": "2026-12-04 17:58:00.100", "scheduled_time": "2026-12-04 17:58:01.000",
            "end_time": "2026-12-04 18:00:00.000", "video_url": "https://x.oss.example/v.mp4",
            "orig_prompt": "p", "actual_prompt": "p+"},
            "usage": {"video_duration": 5, "video_ratio": "1280*720", "video_count": 1}}  # fmt: skip
    update = parse_task("dashscope", body)
    ended = datetime(2026, 12, 4, 10, tzinfo=UTC)  # 18:00 China time
    assert update.finished_at == ended and update.assets[0].expires_at == ended + timedelta(hours=24)
    missing = parse_task("dashscope", {"output": {"task_id": TID, "task_status": "SUCCEEDED"}})
    assert missing.status is JobStatus.failed


def test_failed_task_codes() -> None:
    out = {"task_id": TID, "task_status": "FAILED", "code": "DataInspectionFailed"}
    policy = parse_task("dashscope", {"output": {**out, "message": "Output data may contain inappropriate content."}})
    assert policy.error and policy.error.code is ErrorCode.content_policy_output
    inp = parse_task("dashscope", {"output": {**out, "message": "Input data may contain inappropriate content."}})
    assert inp.error and inp.error.code is ErrorCode.content_policy_input
    bad = parse_task("dashscope", {"output": {"task_id": TID, "task_status": "FAILED",
                                              "code": "InvalidParameter.Duration", "message": "bad"}})  # fmt: skip
    assert bad.error and bad.error.code is ErrorCode.invalid_request and "InvalidParameter" in bad.error.message
    with pytest.raises(ProtocolError):
        parse_task("dashscope", {"request_id": "r"})


@pytest.mark.parametrize(
    ("status", "code", "cls", "error_code"),
    [(401, "InvalidApiKey", AuthenticationError, "auth"),
     (403, "AccessDenied", AuthenticationError, "auth"),
     (429, "Throttling.RateQuota", RateLimitError, "rate_limited"),
     (400, "DataInspectionFailed", ContentPolicyError, "content_policy_input"),
     (400, "Arrearage", QuotaExceededError, "quota_exceeded"),
     (400, "InvalidParameter", ProviderHTTPError, None),
     (500, "InternalError", ProviderServerError, None)],
)  # fmt: skip
def test_error_envelope_is_mapped(status: int, code: str, cls: type[Exception], error_code: str | None) -> None:
    response = httpx.Response(status, json={"request_id": "req-42", "code": code, "message": "m"})
    with pytest.raises(cls) as info:
        DIALECT.answer("dashscope", response)
    err = info.value
    assert type(err) is cls and isinstance(err, ProviderHTTPError)
    assert err.code == code and err.request_id == "req-42" and err.error_code == error_code


def _drive(flow: Any, answers: list[httpx.Response]) -> tuple[list[httpx.Request], Any]:
    sent = [next(flow)]
    try:
        for answer in answers:
            sent.append(flow.send(answer))
    except StopIteration as stop:
        return sent, stop.value
    raise AssertionError("the flow asked for more requests than given")


def test_cancel_only_while_pending() -> None:
    spec = CATALOG.resolve("dashscope/wan2.6-t2v")

    def task(status: str) -> httpx.Response:
        return httpx.Response(200, json={"request_id": "r", "output": {"task_id": TID, "task_status": status}})

    sent, update = _drive(DIALECT.cancel(TID, spec, conn()), [task("PENDING"), httpx.Response(200, json={
        "request_id": "r"}), task("CANCELED")])  # fmt: skip
    path = f"/api/v1/tasks/{TID}"
    assert [(r.method, r.url.path) for r in sent] == [("GET", path), ("POST", f"{path}/cancel"), ("GET", path)]
    assert update.status is JobStatus.cancelled
    sent, update = _drive(DIALECT.cancel(TID, spec, conn()), [task("RUNNING")])
    assert len(sent) == 1 and update.status is JobStatus.running
