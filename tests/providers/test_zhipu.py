"""Zhipu dialect, sans-IO: golden requests, hosts and prefixes, image shapes, status table, both error bodies."""

from __future__ import annotations

import base64
import json
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
from vidgate.providers.zhipu import STATUS_MAP, Zhipu, ZhipuOptions, business_code, zhipu_http_error
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

DIALECT = Zhipu()
CATALOG = load_catalog()


def conn(provider: str = "zhipu", base_url: str | None = None) -> Connection:
    spec = CATALOG.providers[provider]
    return Connection(provider=spec, base_url=base_url or spec.base_url, api_key="zk-test")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=ZhipuOptions)
    report.problems.extend(DIALECT.preflight(request, spec, report.images))
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-42")


def create(provider: str = "zhipu", base_url: str | None = None, **fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn(provider, base_url)))


def body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def test_registered_under_the_catalog_dialect_name() -> None:
    assert isinstance(get_dialect("zhipu"), Zhipu)
    assert {m.dialect for m in CATALOG.models.values() if m.provider in ("zhipu", "zai", "relay-zhipu")} == {"zhipu"}


def test_golden_documented_example() -> None:
    # Z-BM curl example: {"model":"cogvideox-3","prompt":"A cat is playing with a ball.","quality":"quality",
    #                     "with_audio":true,"size":"1920x1080","fps":30}
    req = create(
        prompt="A cat is playing with a ball.", model="zhipu/cogvideox-3", size="1920x1080",
        options={"quality": "quality", "with_audio": True, "fps": 30},
    )  # fmt: skip
    assert req.method == "POST"
    assert str(req.url) == "https://open.bigmodel.cn/api/paas/v4/videos/generations"
    assert req.headers["authorization"] == "Bearer zk-test"
    assert req.headers["content-type"] == "application/json"
    assert body(req) == {"model": "cogvideox-3", "prompt": "A cat is playing with a ball.", "quality": "quality",
                         "with_audio": True, "size": "1920x1080", "fps": 30, "request_id": "idem-42"}  # fmt: skip


def test_duration_is_a_plain_integer_and_request_id_is_the_idempotency_key() -> None:
    b = body(create(prompt="x", model="cogvideox-3", duration=10))
    assert b["duration"] == 10 and isinstance(b["duration"], int)
    assert b["request_id"] == "idem-42"


@pytest.mark.parametrize(
    ("provider", "base_url", "url"),
    [
        ("zhipu", None, "https://open.bigmodel.cn/api/paas/v4/videos/generations"),
        ("zai", None, "https://api.z.ai/api/paas/v4/videos/generations"),
        ("relay-zhipu", None, "https://api.whatai.cc/cogvideox/v4/videos/generations"),
        ("zhipu", "https://open.bigmodel.cn/api/paas/v4/", "https://open.bigmodel.cn/api/paas/v4/videos/generations"),
        ("relay-zhipu", "http://127.0.0.1:9/cogvideox/v4", "http://127.0.0.1:9/cogvideox/v4/videos/generations"),
        ("zai", "http://127.0.0.1:9", "http://127.0.0.1:9/api/paas/v4/videos/generations"),
    ],
)
def test_hosts_and_path_prefixes(provider: str, base_url: str | None, url: str) -> None:
    req = create(provider, base_url, prompt="x", model=f"{provider}/cogvideox-3")
    assert str(req.url) == url


def test_status_request_uses_the_same_prefix() -> None:
    req = next(DIALECT.status("123-456", CATALOG.resolve("relay-zhipu/cogvideox-3"), conn("relay-zhipu")))
    assert req.method == "GET" and str(req.url) == "https://api.whatai.cc/cogvideox/v4/async-result/123-456"
    assert req.headers["authorization"] == "Bearer zk-test"


def _png(size: tuple[int, int] = (64, 36)) -> bytes:
    return image_bytes(size)


def test_cogvideox3_one_image_is_a_raw_base64_string() -> None:
    b = body(create(prompt="x", model="cogvideox-3", images=[_png()]))
    assert isinstance(b["image_url"], str) and not b["image_url"].startswith("data:")
    assert base64.b64decode(b["image_url"]) == _png()


def test_cogvideox3_first_and_last_frames_are_an_ordered_pair() -> None:
    first, last = _png((64, 36)), _png((64, 40))
    images = [ImageInput(source=last, role=ImageRole.last_frame), ImageInput(source=first, role=ImageRole.first_frame)]
    b = body(create(prompt="x", model="cogvideox-3", images=images))
    assert [base64.b64decode(x) for x in b["image_url"]] == [first, last]


def test_urls_pass_through_untouched() -> None:
    b = body(create(prompt="x", model="cogvideox-3", images=["https://example.com/a.png"]))
    assert b["image_url"] == "https://example.com/a.png"


@pytest.mark.parametrize(
    ("model", "n", "is_list"),
    [("viduq1-image", 1, False), ("vidu2-image", 1, False), ("viduq1-start-end", 1, True),
     ("vidu2-start-end", 2, True), ("vidu2-reference", 1, True), ("vidu2-reference", 3, True)],
)  # fmt: skip
def test_vidu_image_shapes_use_data_uris(model: str, n: int, is_list: bool) -> None:
    b = body(create(prompt="x", model=model, images=[_png((256, 144))] * n))
    value = b["image_url"]
    assert isinstance(value, list) is is_list
    for item in value if is_list else [value]:
        assert item.startswith("data:image/png;base64,")


def test_vidu_text_sends_aspect_ratio_and_style() -> None:
    b = body(create(prompt="x", model="zai/viduq1-text", aspect_ratio="9:16", duration=5,
                    options={"style": "anime", "movement_amplitude": "large"}))  # fmt: skip
    assert b == {"model": "viduq1-text", "prompt": "x", "duration": 5, "aspect_ratio": "9:16", "style": "anime",
                 "movement_amplitude": "large", "request_id": "idem-42"}  # fmt: skip


def test_empty_prompt_is_omitted_for_image_models() -> None:
    assert "prompt" not in body(create(prompt="", model="vidu2-image", images=[_png()]))


def test_vidu_start_end_frames_with_different_shapes_are_refused_by_preflight() -> None:
    spec = CATALOG.resolve("viduq1-start-end")
    request = VideoRequest(prompt="x", model="viduq1-start-end", images=[_png((200, 100)), _png((100, 200))])
    report = check(request, spec, options_model=ZhipuOptions)
    problems = DIALECT.preflight(request, spec, report.images)
    assert len(problems) == 1 and "0.8 to 1.25" in problems[0].allowed


# ---------------------------------------------------------------- status


def test_status_table_is_explicit() -> None:
    expected = {"SUBMITTED": JobStatus.queued, "PROCESSING": JobStatus.running,
                "SUCCESS": JobStatus.succeeded, "FAIL": JobStatus.failed}  # fmt: skip
    assert expected == STATUS_MAP


def parse(payload: Any, status: int = 200) -> Any:
    return DIALECT.parse_status("zhipu", httpx.Response(status, json=payload))


@pytest.mark.parametrize(
    ("raw", "status"),
    [("PROCESSING", JobStatus.running), ("SUBMITTED", JobStatus.queued), ("processing", JobStatus.running),
     ("QUEUEING", None), ("", None)],
)  # fmt: skip
def test_status_mapping_and_unknown_keeps_polling(raw: str, status: JobStatus | None) -> None:
    update = parse({"model": "cogvideox-3", "task_status": raw, "request_id": "r"})
    assert update.status is status
    assert update.raw_status == (raw or None)


def test_success_yields_the_video_and_the_cover() -> None:
    update = parse({"model": "cogvideox-3", "task_status": "SUCCESS", "request_id": "r",
                    "video_result": [{"url": "https://sfile.chatglm.cn/v.mp4",
                                      "cover_image_url": "https://sfile.chatglm.cn/c.jpg"}]})  # fmt: skip
    assert update.status is JobStatus.succeeded and update.progress == 100
    assert [(a.kind, a.url) for a in update.assets] == [
        ("video", "https://sfile.chatglm.cn/v.mp4"),
        ("cover", "https://sfile.chatglm.cn/c.jpg"),
    ]


def test_success_without_a_url_is_a_failure() -> None:
    update = parse({"task_status": "SUCCESS", "video_result": []})
    assert update.status is JobStatus.failed and update.error is not None
    assert update.error.code is ErrorCode.provider_error


def test_fail_without_reason() -> None:
    update = parse({"model": "cogvideox-3", "task_status": "FAIL", "request_id": "r"})
    assert update.status is JobStatus.failed and update.error is not None
    assert update.error.code is ErrorCode.provider_error and "no" in update.error.message
    assert update.error.raw["task_status"] == "FAIL"


def test_fail_with_a_1301_business_code_is_an_output_policy_failure() -> None:
    update = parse({"task_status": "FAIL", "error": {"code": "1301", "message": "unsafe"}})
    assert update.error is not None and update.error.code is ErrorCode.content_policy_output
    assert update.error.retryable is False


def test_create_parses_the_id() -> None:
    payload = {"model": "cogvideox-3", "id": "8-9", "request_id": "r", "task_status": "PROCESSING"}
    update = DIALECT.parse_create("zhipu", httpx.Response(200, json=payload))
    assert update.provider_task_id == "8-9" and update.status is JobStatus.queued and update.raw_status == "PROCESSING"


def test_create_without_id_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        DIALECT.parse_create("zhipu", httpx.Response(200, json={"task_status": "PROCESSING"}))


def test_create_answering_200_with_an_error_body_raises_it() -> None:
    with pytest.raises(ContentPolicyError):
        DIALECT.parse_create("zhipu", httpx.Response(200, json={"error": {"code": "1301", "message": "unsafe"}}))


# ---------------------------------------------------------------- errors: both documented bodies


def bigmodel(code: int, message: str = "m") -> dict[str, Any]:
    return {"error": {"code": str(code), "message": message}}


def zai(code: int, message: str = "m") -> dict[str, Any]:
    return {"code": code, "message": message}


CASES = [
    (1301, 400, ContentPolicyError, ErrorCode.content_policy_input),
    (1261, 400, ProviderHTTPError, ErrorCode.invalid_request),
    (1302, 429, RateLimitError, ErrorCode.rate_limited),
    (1303, 429, RateLimitError, ErrorCode.rate_limited),
    (1305, 429, RateLimitError, ErrorCode.rate_limited),
    (1304, 429, QuotaExceededError, ErrorCode.quota_exceeded),
    (1113, 429, QuotaExceededError, ErrorCode.quota_exceeded),
    (1000, 401, AuthenticationError, ErrorCode.auth),
    (1002, 401, AuthenticationError, ErrorCode.auth),
    (1004, 401, AuthenticationError, ErrorCode.auth),
    (1210, 400, ProviderHTTPError, ErrorCode.invalid_request),
    (1214, 400, ProviderHTTPError, ErrorCode.invalid_request),
    (1215, 400, ProviderHTTPError, ErrorCode.invalid_request),
]


@pytest.mark.parametrize("shape", [bigmodel, zai])
@pytest.mark.parametrize(("code", "http", "cls", "mapped"), CASES)
def test_business_codes_in_both_bodies(shape: Any, code: int, http: int, cls: type, mapped: ErrorCode) -> None:
    response = httpx.Response(http, json=shape(code, "原始消息"), headers={"x-request-id": "rq-1"})
    with pytest.raises(ProviderHTTPError) as info:
        DIALECT.parse_create("zhipu", response)
    exc = info.value
    assert type(exc) is cls
    assert exc.code == str(code) and exc.error_code == mapped.value
    assert exc.status_code == http and exc.request_id == "rq-1"
    assert "原始消息" in exc.message and exc.body == shape(code, "原始消息")


def test_rate_limit_codes_are_retryable_and_policy_is_not() -> None:
    assert business_code("1302").retryable is True  # type: ignore[union-attr]
    assert business_code(1301).retryable is False  # type: ignore[union-attr]
    assert business_code("abc") is None and business_code(None) is None and business_code(9999) is None


def test_unknown_code_keeps_the_http_status_class() -> None:
    exc = zhipu_http_error("zhipu", httpx.Response(500, json=bigmodel(1234)))
    assert type(exc) is ProviderServerError and exc.error_code is None


def test_status_check_errors_are_typed_too() -> None:
    with pytest.raises(RateLimitError):
        parse(zai(1302), status=429)


def test_catalog_pins_the_choices_made_where_sources_disagree() -> None:
    c3 = CATALOG.resolve("zhipu/cogvideox-3")
    assert c3.duration.wire_type == "int" and c3.duration.values == [5, 10]
    assert c3.images.max_bytes == 5 * 1024 * 1024 and c3.images.base64_form == "raw"
    assert c3.images.formats == ["jpeg", "png"]
    assert c3.constraints[0].when == {"quality": ["quality"]} and c3.constraints[0].require == {"image_count": [0, 1]}
    assert c3.prompt.max_chars == 512
    assert any("speed mode" in n for n in c3.notes) and any("5 MiB" in n for n in c3.notes)
    assert "1920x1080" in CATALOG.resolve("zai/cogvideox-3").size.values
    vidu = CATALOG.resolve("zhipu/vidu2-reference")
    assert vidu.images.base64_form == "data_uri" and vidu.images.max_bytes == 50 * 1024 * 1024
    assert (vidu.images.min_count, vidu.images.max_count, vidu.images.min_side) == (1, 3, 128)
    assert "480x360" in CATALOG.resolve("zhipu/vidu2-start-end").size.values
    assert "480x360" not in CATALOG.resolve("zai/vidu2-start-end").size.values
    assert not any(k.startswith("zai/cogvideox-2") or k == "zai/cogvideox-flash" for k in CATALOG.models)
    assert CATALOG.providers["relay-zhipu"].path_prefix == "cogvideox/v4"
    assert CATALOG.providers["relay-zhipu"].api_key_env == CATALOG.providers["relay"].api_key_env
    assert all(len(m.results.error_shapes) >= 2 for m in CATALOG.models.values() if m.dialect == "zhipu")
    assert CATALOG.resolve("cogvideox-3").key == "zhipu/cogvideox-3"
