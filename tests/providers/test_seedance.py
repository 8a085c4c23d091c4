"""Seedance dialect (Volcengine Ark and BytePlus ModelArk), sans-IO: golden requests from the documented examples,
content[] roles, reference clips, statuses word by word, 24 h URLs, the error envelope, and a cancel that never
deletes a finished task."""

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
    QuotaExceededError,
    RateLimitError,
)
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.seedance import STATUS_MAP, Seedance, SeedanceOptions, parse_task
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = Seedance()
CATALOG = load_catalog()
ARK = "https://ark.cn-beijing.volces.com/api/v3"
BYTEPLUS = "https://ark.ap-southeast.bytepluses.com/api/v3"
TASK = "cgt-20260611112037-gx5l7"  # the documented create answer's id


def conn(provider: str = "ark", base: str = ARK) -> Connection:
    return Connection(provider=CATALOG.providers[provider], base_url=base, api_key="ark-test")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=SeedanceOptions)
    assert report.ok, [p.explain() for p in report.problems]
    problems = DIALECT.preflight(request, spec, report.images)
    assert not problems, [p.explain() for p in problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(provider: str = "ark", base: str = ARK, **fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn(provider, base)))


def problems(**fields: Any) -> list[str]:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=SeedanceOptions)
    return [p.explain() for p in report.problems + DIALECT.preflight(request, spec, report.images)]


def test_two_providers_one_dialect() -> None:
    assert isinstance(get_dialect("seedance"), Seedance)
    ark, byteplus = CATALOG.by_provider("ark"), CATALOG.by_provider("byteplus")
    assert {m.dialect for m in ark + byteplus} == {"seedance"}
    assert {m.model for m in ark} >= {"doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128",
                                      "doubao-seedance-2-0-mini-260615"}  # fmt: skip
    assert {m.model for m in byteplus} >= {"dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128",
                                           "dreamina-seedance-2-0-mini", "dreamina-seedance-2-5-260628"}  # fmt: skip
    assert CATALOG.providers["ark"].api_key_env != CATALOG.providers["byteplus"].api_key_env
    assert all(m.sources and m.results.url_lifetime.startswith("24 hours") for m in ark + byteplus)
    assert "no caller id" in CATALOG.providers["ark"].note.lower()


def test_golden_text_to_video_create() -> None:
    # the documented create: POST /api/v3/contents/generations/tasks {model, content[text], top-level params}
    request = create(prompt="a cat", model="ark/doubao-seedance-2-0-260128", duration=5, aspect_ratio="16:9",
                     resolution="1080p", options={"seed": 11, "watermark": False, "generate_audio": True})  # fmt: skip
    assert request.method == "POST" and str(request.url) == f"{ARK}/contents/generations/tasks"
    assert request.headers["authorization"] == "Bearer ark-test"
    assert json.loads(request.content) == {
        "model": "doubao-seedance-2-0-260128",
        "content": [{"type": "text", "text": "a cat"}],
        "resolution": "1080p", "ratio": "16:9", "duration": 5, "seed": 11, "watermark": False,
        "generate_audio": True,
    }  # fmt: skip


def test_byteplus_host_and_a_bare_base_url_get_the_api_v3_prefix() -> None:
    request = create("byteplus", BYTEPLUS, prompt="x", model="byteplus/dreamina-seedance-2-5-260628", duration=30)
    assert str(request.url) == f"{BYTEPLUS}/contents/generations/tasks"
    assert json.loads(request.content)["model"] == "dreamina-seedance-2-5-260628"
    bare = create("ark", "http://127.0.0.1:9", prompt="x", model="ark/doubao-seedance-2-0-mini-260615")
    assert str(bare.url) == "http://127.0.0.1:9/api/v3/contents/generations/tasks"


def test_image_roles_and_reference_clips_in_content() -> None:
    png = image_bytes((640, 360))
    frames = [ImageInput(source=png, role=ImageRole.first_frame), ImageInput(source=png, role=ImageRole.last_frame)]
    body = json.loads(create(prompt="m", model="ark/doubao-seedance-1-5-pro-251215", images=frames).content)
    assert [(c["type"], c.get("role")) for c in body["content"]] == [
        ("text", None), ("image_url", "first_frame"), ("image_url", "last_frame")]  # fmt: skip
    assert body["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    refs = [ImageInput(source="https://img.example/a.png", role=ImageRole.reference)] * 2
    options = {"reference_videos": ["https://v.example/clip.mp4"], "reference_audios": ["asset://aud-1"]}
    body = json.loads(create(prompt="m", model="byteplus/dreamina-seedance-2-0-260128", images=refs,
                             options=options).content)  # fmt: skip
    assert body["content"][1:] == [
        {"type": "image_url", "image_url": {"url": "https://img.example/a.png"}, "role": "reference_image"},
        {"type": "image_url", "image_url": {"url": "https://img.example/a.png"}, "role": "reference_image"},
        {"type": "video_url", "video_url": {"url": "https://v.example/clip.mp4"}, "role": "reference_video"},
        {"type": "audio_url", "audio_url": {"url": "asset://aud-1"}, "role": "reference_audio"},
    ]
    assert "reference_videos" not in body and "reference_audios" not in body


def test_ratio_adaptive_and_the_callback_url() -> None:
    request = create(prompt="m", model="ark/doubao-seedance-2-0-fast-260128", aspect_ratio="adaptive",
                     webhook_url="https://vg.example/hooks/relay/job1/v1tok",
                     options={"return_last_frame": True})  # fmt: skip
    body = json.loads(request.content)
    assert body["ratio"] == "adaptive" and body["return_last_frame"] is True
    assert body["callback_url"] == "https://vg.example/hooks/relay/job1/v1tok"
    assert DIALECT.per_job_callback and not DIALECT.dedups_creates  # no caller id: unknown creates wait


def test_bad_input_is_refused_before_any_request() -> None:
    png = image_bytes((640, 360))
    mixed = [ImageInput(source=png, role=ImageRole.first_frame), ImageInput(source=png, role=ImageRole.reference)]
    out = problems(prompt="x", model="ark/doubao-seedance-2-0-260128", images=mixed)
    assert any("cannot be mixed" in p for p in out)
    out = problems(prompt="x", model="ark/doubao-seedance-2-0-260128",
                   options={"reference_videos": ["/tmp/local.mp4", *["https://v/x.mp4"] * 3]})  # fmt: skip
    assert any("too many reference videos" in p and "at most 3" in p for p in out)
    assert any("options.reference_videos[0]" in p and "https://" in p for p in out)
    out = problems(prompt="x", model="ark/doubao-seedance-1-0-pro-250528", options={"reference_audios": ["https://a"]})
    assert any("reference_audios" in p for p in out)  # 1.x takes none
    refs = [ImageInput(source=png, role=ImageRole.reference)]
    out = problems(prompt="x", model="ark/doubao-seedance-2-0-260128", images=refs, options={"camera_fixed": True})
    assert any("camera_fixed" in p for p in out)
    lite = "ark/doubao-seedance-1-0-lite-i2v-250428"
    assert any("1080p is not available" in p for p in problems(prompt="x", model=lite, images=refs, resolution="1080p"))
    assert not problems(prompt="x", model=lite, images=refs * 4, resolution="720p")
    out = problems(prompt="x", model="ark/doubao-seedance-2-0-fast-260128", resolution="1080p", duration=3)
    assert any("resolution" in p and "480p, 720p" in p for p in out) and any("duration" in p for p in out)


def test_every_documented_status_word_by_word() -> None:
    assert {
        "queued": JobStatus.queued, "running": JobStatus.running, "succeeded": JobStatus.succeeded,
        "failed": JobStatus.failed, "cancelled": JobStatus.cancelled, "expired": JobStatus.expired,
    } == STATUS_MAP  # fmt: skip
    for word, status in STATUS_MAP.items():
        body: dict[str, Any] = {"id": TASK, "status": word}
        if word == "succeeded":
            body["content"] = {"video_url": "https://tos.example/v.mp4"}
        update = parse_task("ark", body)
        assert update.status is status and update.raw_status == word
    assert parse_task("ark", {"id": TASK, "status": "paused"}).status is None  # unknown word: keep polling
    assert parse_task("ark", {"id": TASK, "status": "Succeeded", "content": {"video_url": "u"}}).raw_status == (
        "Succeeded"
    )


def test_succeeded_urls_expire_24_hours_after_the_task_ended() -> None:
    ended = datetime(2026, 12, 4, 10, tzinfo=UTC)
    body = {"id": TASK, "model": "doubao-seedance-2-0-260128", "status": "succeeded", "error": None,
            "content": {"video_url": "https://ark-content.tos.example/v.mp4?X-Tos-Expires=86400",
                        "last_frame_url": "https://ark-content.tos.example/f.png"},
            "usage": {"completion_tokens": 108900, "total_tokens": 108900},
            "created_at": int(ended.timestamp()) - 60, "updated_at": int(ended.timestamp()),
            "seed": 58944, "resolution": "720p", "ratio": "16:9", "duration": 5, "framespersecond": 24}  # fmt: skip
    update = parse_task("ark", body)
    assert update.status is JobStatus.succeeded and update.finished_at == ended
    video, frame = update.assets
    assert video.kind == "video" and video.expires_at == ended + timedelta(hours=24)
    assert frame.kind == "thumbnail" and frame.mime_type == "image/png"
    cleared = parse_task("ark", {**body, "content": {}})
    assert cleared.status is JobStatus.failed and cleared.error and "24 h" in cleared.error.message


def test_failed_cancelled_and_expired_errors() -> None:
    out = parse_task(
        "ark",
        {
            "id": TASK,
            "status": "failed",
            "error": {
                "code": "OutputVideoSensitiveContentDetected",
                "message": "The generated video may contain sensitive content",
            },
        },
    )
    assert out.error and out.error.code is ErrorCode.content_policy_output
    inp = parse_task(
        "ark",
        {
            "id": TASK,
            "status": "failed",
            "error": {
                "code": "InputImageSensitiveContentDetected",
                "message": "The input image may contain sensitive content",
            },
        },
    )
    assert inp.error and inp.error.code is ErrorCode.content_policy_input
    gone = parse_task("ark", {"id": TASK, "status": "expired"})
    assert gone.status is JobStatus.expired and gone.error and gone.error.code is ErrorCode.timeout
    cancelled = parse_task("ark", {"id": TASK, "status": "cancelled"})
    assert cancelled.error and cancelled.error.code is ErrorCode.cancelled
    with pytest.raises(ProtocolError):
        parse_task("ark", {"status": "queued"})


@pytest.mark.parametrize(
    ("status", "code", "cls", "error_code"),
    [(401, "AuthenticationError", AuthenticationError, None),
     (429, "RateLimitExceeded.EndpointRPMExceeded", RateLimitError, None),
     (400, "InputTextSensitiveContentDetected", ContentPolicyError, "content_policy_input"),
     (403, "AccountOverdueError", AuthenticationError, None),
     (402, "QuotaExceeded", QuotaExceededError, "quota_exceeded"),
     (400, "InvalidParameter", ProviderHTTPError, None)],
)  # fmt: skip
def test_error_envelope_is_typed(status: int, code: str, cls: type[Exception], error_code: str | None) -> None:
    response = httpx.Response(status, json={"error": {"code": code, "message": "m", "param": "", "type": "x"}})
    with pytest.raises(cls) as info:
        DIALECT.answer("ark", response)
    assert type(info.value) is cls
    assert isinstance(info.value, ProviderHTTPError) and info.value.code == code
    assert info.value.error_code == error_code


def test_create_answer_without_an_id_is_a_protocol_error() -> None:
    flow = DIALECT.submit(prepared(prompt="x", model="ark/doubao-seedance-2-0-mini-260615"), conn())
    next(flow)
    with pytest.raises(ProtocolError):
        flow.send(httpx.Response(200, json={"status": "queued"}))


def _drive(flow: Any, answers: list[httpx.Response]) -> tuple[list[httpx.Request], Any]:
    sent = [next(flow)]
    try:
        for answer in answers:
            sent.append(flow.send(answer))
    except StopIteration as stop:
        return sent, stop.value
    raise AssertionError("the flow asked for more requests than given")


def test_cancel_deletes_only_a_queued_task() -> None:
    spec = CATALOG.resolve("ark/doubao-seedance-2-0-260128")
    queued = httpx.Response(200, json={"id": TASK, "status": "queued"})
    cancelled = httpx.Response(200, json={"id": TASK, "status": "cancelled"})
    sent, update = _drive(DIALECT.cancel(TASK, spec, conn()), [queued, httpx.Response(200), cancelled])
    assert [r.method for r in sent] == ["GET", "DELETE", "GET"]
    assert str(sent[1].url) == f"{ARK}/contents/generations/tasks/{TASK}"
    assert update.status is JobStatus.cancelled
    done = httpx.Response(200, json={"id": TASK, "status": "succeeded", "content": {"video_url": "https://t/v.mp4"}})
    sent, update = _drive(DIALECT.cancel(TASK, spec, conn()), [done])
    assert [r.method for r in sent] == ["GET"] and update.status is JobStatus.succeeded  # never DELETE a result
    running = httpx.Response(200, json={"id": TASK, "status": "running"})
    sent, update = _drive(DIALECT.cancel(TASK, spec, conn()), [running])
    assert [r.method for r in sent] == ["GET"] and update.status is JobStatus.running
