"""Kling dialect, sans-IO: golden requests from the documented examples (providers-2026.md §4), the JWT, the
status table word by word, the {code, message, request_id, data} envelope and every service code."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import image_bytes
from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import (
    AuthenticationError,
    ConfigurationError,
    ContentPolicyError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    QuotaExceededError,
    RateLimitError,
)
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.kling import (
    JWT_LIFETIME_S,
    STATUS_MAP,
    Kling,
    KlingOptions,
    KlingTokens,
    kling_http_error,
    parse_task,
    split_task_id,
)
from vidgate.types import ErrorCode, ImageInput, JobStatus, Shot, VideoRequest

CATALOG = load_catalog()
BASE = "https://api-singapore.klingai.com"
ACCESS, SECRET = "ak-test", "sk-test-secret-key-0123456789abcdef"
NOW = 1_774_805_076.0


def dialect(clock: float = NOW) -> Kling:
    return Kling(KlingTokens(clock=lambda: clock))


def conn(provider: str = "kling", base: str = BASE) -> Connection:
    settings = {"secret_key": SECRET} if provider == "kling" else {}
    return Connection(provider=CATALOG.providers[provider], base_url=base, api_key=ACCESS, settings=settings)


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=KlingOptions)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def create(d: Kling | None = None, provider: str = "kling", **fields: Any) -> httpx.Request:
    return next((d or dialect()).submit(prepared(**fields), conn(provider)))


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def answer(data: dict[str, Any], status: int = 200, code: int = 0, message: str = "SUCCEED") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "request_id": "req-1", "data": data})


def test_registered_models_and_providers() -> None:
    assert isinstance(get_dialect("kling"), Kling)
    keys = {m.key for m in CATALOG.by_provider("kling")}
    assert {"kling/kling-v3", "kling/kling-v2-6", "kling/kling-v3-omni"} <= keys
    assert {m.dialect for m in CATALOG.by_provider("relay-kling")} == {"kling"}
    assert CATALOG.providers["kling"].auth == "kling-jwt" and "secret_key" in CATALOG.providers["kling"].settings
    assert CATALOG.providers["relay-kling"].path_prefix == "kling"
    assert all(m.sources and m.results.url_lifetime.startswith("30 days") for m in CATALOG.by_provider("kling"))


def test_golden_text2video_v3() -> None:
    # the documented text2video body: model_name, prompt, mode, sound, aspect_ratio, duration as a string
    request = create(prompt="a cat", model="kling/kling-v3", duration=12, aspect_ratio="9:16",
                     options={"mode": "pro", "sound": "on", "negative_prompt": "blur", "watermark": False})  # fmt: skip
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1/videos/text2video"
    assert body_of(request) == {
        "model_name": "kling-v3", "prompt": "a cat", "duration": "12", "aspect_ratio": "9:16", "mode": "pro",
        "sound": "on", "negative_prompt": "blur", "watermark_info": {"enabled": False}, "external_task_id": "idem-1",
    }  # fmt: skip


def test_jwt_claims_and_refresh_before_it_lapses() -> None:
    clock = [NOW]
    d = Kling(KlingTokens(clock=lambda: clock[0]))
    first = create(d, prompt="a", model="kling/kling-v2-6").headers["authorization"]
    scheme, _, token = first.partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False})
    assert claims == {"iss": ACCESS, "exp": int(NOW) + JWT_LIFETIME_S, "nbf": int(NOW) - 5}
    clock[0] = NOW + 1000  # 800 s left: reused
    assert create(d, prompt="a", model="kling/kling-v2-6").headers["authorization"] == first
    clock[0] = NOW + JWT_LIFETIME_S - 200  # under 5 minutes left: a new token
    renewed = create(d, prompt="a", model="kling/kling-v2-6").headers["authorization"]
    assert renewed != first
    assert jwt.decode(renewed.split()[1], SECRET, algorithms=["HS256"], options={"verify_nbf": False,
                      "verify_exp": False})["exp"] == int(clock[0]) + JWT_LIFETIME_S  # fmt: skip


def test_an_expired_token_answer_drops_the_cached_token() -> None:
    d = dialect()
    first = create(d, prompt="a", model="kling/kling-v2-6").headers["authorization"]
    with pytest.raises(AuthenticationError):
        d.parse("kling", httpx.Response(401, json={"code": 1004, "message": "token expired"}), "text2video")
    d.tokens.clock = lambda: NOW + 1  # a second later: minted again rather than reused
    assert create(d, prompt="a", model="kling/kling-v2-6").headers["authorization"] != first


def test_missing_secret_key_is_a_configuration_error_and_relay_uses_its_bearer_key() -> None:
    no_secret = Connection(provider=CATALOG.providers["kling"], base_url=BASE, api_key=ACCESS)
    with pytest.raises(ConfigurationError, match="VIDGATE_KLING_SECRET_KEY"):
        next(dialect().submit(prepared(prompt="a", model="kling/kling-v2-6"), no_secret))
    assert "sk-test" not in repr(conn())
    relay = next(dialect().submit(prepared(prompt="a", model="relay-kling/kling-v2-6"),
                                  conn("relay-kling", "https://relay.example")))  # fmt: skip
    assert relay.headers["authorization"] == f"Bearer {ACCESS}"
    assert str(relay.url) == "https://relay.example/kling/v1/videos/text2video"
    already = conn("relay-kling", "https://relay.example/kling")
    assert (
        str(dialect().status_request("text2video/1", already).url)
        == "https://relay.example/kling/v1/videos/text2video/1"
    )


def test_image2video_raw_base64_without_data_prefix_and_image_tail() -> None:
    png = image_bytes((400, 300))
    request = create(prompt="move", model="kling/kling-v2-6",
                     images=[ImageInput(source=png), "https://img.example/last.png"])  # fmt: skip
    assert str(request.url).endswith("/v1/videos/image2video")
    body = body_of(request)
    assert body["image"] == base64.b64encode(png).decode() and not body["image"].startswith("data:")
    assert body["image_tail"] == "https://img.example/last.png" and "aspect_ratio" not in body


def test_aspect_ratio_with_an_image_is_refused_before_sending() -> None:
    request = VideoRequest(prompt="x", model="kling/kling-v2-6", aspect_ratio="1:1", images=["https://i.example/a.png"])
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=KlingOptions)
    problems = dialect().preflight(request, spec, report.images)
    assert [p.field for p in problems] == ["aspect_ratio"]


def test_image_tail_and_camera_control_exclude_each_other() -> None:
    images = ["https://i.example/a.png", "https://i.example/b.png"]
    request = VideoRequest(
        prompt="x", model="kling/kling-v2-6", images=images, options={"camera_control": {"type": "down_back"}}
    )
    spec = CATALOG.resolve(request.model)
    problems = dialect().preflight(request, spec, check(request, spec, options_model=KlingOptions).images)
    assert [p.field for p in problems] == ["options.camera_control"]


def test_shots_become_multi_prompt() -> None:
    request = create(
        prompt="",
        model="kling/kling-v3",
        shots=[Shot(duration=4, scene="a door opens"), Shot(duration=6, scene="a cat walks in")],
    )
    body = body_of(request)
    assert body["multi_shot"] is True and body["shot_type"] == "customize" and body["duration"] == "10"
    assert body["multi_prompt"] == [{"index": 1, "prompt": "a door opens", "duration": "4"},
                                    {"index": 2, "prompt": "a cat walks in", "duration": "6"}]  # fmt: skip
    assert "prompt" not in body


def test_shot_rules_seven_shots_fractions_and_a_wrong_total() -> None:
    spec = CATALOG.resolve("kling/kling-v3")
    seven = VideoRequest(prompt="", model=spec.key, shots=[Shot(duration=2, scene="s")] * 7)
    assert any("at most 6" in p.message for p in dialect().preflight(seven, spec, []))
    frac = VideoRequest(prompt="", model=spec.key, shots=[Shot(duration=2.5, scene="s"), Shot(duration=2.5, scene="t")])
    assert [p.field for p in dialect().preflight(frac, spec, [])] == ["shots[0].duration", "shots[1].duration"]
    total = VideoRequest(prompt="", model=spec.key, duration=10, shots=[Shot(duration=3, scene="s")] * 2)
    assert any("add up" in p.message for p in dialect().preflight(total, spec, []))
    no_storyboard = check(VideoRequest(prompt="", model="kling/kling-v2-6", shots=[Shot(duration=5, scene="s")]),
                          CATALOG.resolve("kling/kling-v2-6"))  # fmt: skip
    assert not no_storyboard.ok


def test_durations_are_strings_and_v3_allows_3_to_15() -> None:
    assert body_of(create(prompt="a", model="kling/kling-v3", duration=3))["duration"] == "3"
    v26 = CATALOG.resolve("kling/kling-v2-6")
    assert not check(VideoRequest(prompt="a", model=v26.key, duration=7), v26).ok
    assert not check(
        VideoRequest(prompt="a", model="kling/kling-v3", duration=16), CATALOG.resolve("kling/kling-v3")
    ).ok


def test_omni_uses_omni_video_with_image_list() -> None:
    request = create(prompt="<<<image_1>>> dances", model="kling/kling-v3-omni",
                     images=["https://i.example/a.png", "https://i.example/b.png"])  # fmt: skip
    assert str(request.url).endswith("/v1/videos/omni-video")
    assert body_of(request)["image_list"] == [{"image_url": "https://i.example/a.png"},
                                              {"image_url": "https://i.example/b.png"}]  # fmt: skip


def test_callback_url_and_per_job_callback() -> None:
    assert Kling.per_job_callback is True
    body = body_of(create(prompt="a", model="kling/kling-v2-6", webhook_url="https://me.example/hooks/relay/j/t"))
    assert body["callback_url"] == "https://me.example/hooks/relay/j/t"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("submitted", JobStatus.queued),
        ("processing", JobStatus.running),
        ("succeed", JobStatus.succeeded),
        ("failed", JobStatus.failed),
        ("succeeded", None),
        ("queued", None),
        ("", None),
    ],
)
def test_status_table_word_by_word(raw: str, status: JobStatus | None) -> None:
    assert STATUS_MAP.get(raw) is status
    data: dict[str, Any] = {"task_id": "8672", "task_status": raw}
    if raw == "succeed":
        data["task_result"] = {"videos": [{"id": "v", "url": "https://cdn.example/v.mp4", "duration": "5.0"}]}
    update = parse_task("kling", {"code": 0, "data": data}, "text2video")
    assert update.status is status and update.raw_status == (raw or None)
    assert update.provider_task_id == "text2video/8672"
    assert set(STATUS_MAP) == {"submitted", "processing", "succeed", "failed"}


def test_golden_create_answer_and_query_answer() -> None:
    # the documented create answer (providers-2026.md §4 "Response envelope")
    created = answer({"task_id": "867283741759111202", "task_status": "submitted",
                      "task_info": {"external_task_id": "idem-1"}, "created_at": 1774805076166,
                      "updated_at": 1774805076166})  # fmt: skip
    update = dialect().parse("kling", created, "text2video")
    assert update.status is JobStatus.queued and update.provider_task_id == "text2video/867283741759111202"
    done = answer({"task_id": "867283741759111202", "task_status": "succeed", "updated_at": 1774805176166,
                   "final_unit_deduction": "1",
                   "task_result": {"videos": [{"id": "v1", "url": "https://cdn.example/v.mp4?ksTime=1",
                                               "duration": "5.041"}]}})  # fmt: skip
    update = dialect().parse("kling", done, "image2video")
    assert update.status is JobStatus.succeeded and update.assets[0].url == "https://cdn.example/v.mp4?ksTime=1"
    assert update.finished_at is not None and update.assets[0].expires_at is not None
    assert (update.assets[0].expires_at - update.finished_at).days == 30


def test_failed_task_and_succeed_without_a_url() -> None:
    failed = parse_task(
        "kling",
        {
            "code": 0,
            "data": {
                "task_id": "1",
                "task_status": "failed",
                "task_status_msg": "Failure to pass the risk control system",
            },
        },
        "text2video",
    )
    assert failed.status is JobStatus.failed and failed.error is not None
    assert failed.error.message == "Failure to pass the risk control system"
    empty = parse_task("kling", {"code": 0, "data": {"task_id": "1", "task_status": "succeed"}}, "text2video")
    assert empty.status is JobStatus.failed and empty.error and empty.error.code is ErrorCode.provider_error


def test_flat_callback_body_is_read_too() -> None:
    update = parse_task("kling", {"task_id": "42", "task_status": "processing"}, None)
    assert update.status is JobStatus.running and update.provider_task_id == "42"
    with pytest.raises(ProtocolError):
        parse_task("kling", {"code": 0, "data": {"task_status": "submitted"}}, "text2video")


@pytest.mark.parametrize(
    ("http", "code", "cls", "error_code"),
    [
        (401, 1000, AuthenticationError, ErrorCode.auth),
        (401, 1004, AuthenticationError, ErrorCode.auth),
        (429, 1100, QuotaExceededError, ErrorCode.quota_exceeded),
        (429, 1102, QuotaExceededError, ErrorCode.quota_exceeded),
        (403, 1103, AuthenticationError, ErrorCode.auth),
        (400, 1200, ProviderHTTPError, ErrorCode.invalid_request),
        (400, 1201, ProviderHTTPError, ErrorCode.invalid_request),
        (404, 1203, ProviderHTTPError, ErrorCode.invalid_request),
        (400, 1300, ContentPolicyError, ErrorCode.content_policy_input),
        (400, 1301, ContentPolicyError, ErrorCode.content_policy_input),
        (429, 1302, RateLimitError, ErrorCode.rate_limited),
        (429, 1303, RateLimitError, ErrorCode.rate_limited),
        (429, 1304, AuthenticationError, ErrorCode.auth),
        (500, 5000, ProviderServerError, ErrorCode.provider_error),
        (503, 5001, ProviderServerError, ErrorCode.provider_error),
        (504, 5002, ProviderServerError, ErrorCode.provider_error),
    ],
)
def test_error_envelope_mapped_to_typed_errors(http: int, code: int, cls: type, error_code: ErrorCode) -> None:
    response = httpx.Response(http, json={"code": code, "message": "nope", "request_id": "rid-9"})
    with pytest.raises(ProviderHTTPError) as info:
        dialect().parse("kling", response, "text2video")
    exc = info.value
    assert type(exc) is cls and exc.code == str(code) and exc.error_code == error_code.value
    assert exc.request_id == "rid-9" and exc.status_code == http
    if code == 1303:
        assert exc.retry_after == 1.0


def test_1303_backs_off_at_least_one_second() -> None:
    response = httpx.Response(429, json={"code": 1303, "message": "parallel task over resource pack limit"})
    exc = kling_http_error("kling", response)
    assert isinstance(exc, RateLimitError) and exc.retry_after == 1.0


def test_non_zero_code_in_a_200_answer_is_an_error() -> None:
    with pytest.raises(ProviderHTTPError) as info:
        dialect().parse("kling", answer({}, code=1201, message="invalid duration"), "text2video")
    assert info.value.code == "1201"


def test_reconciliation_by_external_task_id() -> None:
    d = dialect()
    assert d.finds_by_key(CATALOG.providers["kling"]) and not d.finds_by_key(CATALOG.providers["relay-kling"])
    flow = d.find_by_key(prepared(prompt="a", model="kling/kling-v2-6"), conn())
    query = next(flow)
    assert query.method == "GET" and str(query.url) == f"{BASE}/v1/videos/text2video/idem-1"
    with pytest.raises(StopIteration) as stop:
        flow.send(answer({"task_id": "99", "task_status": "processing"}))
    assert stop.value.value.provider_task_id == "text2video/99"
    missing = d.find_by_key(prepared(prompt="a", model="kling/kling-v2-6"), conn())
    next(missing)
    with pytest.raises(StopIteration) as stop:
        missing.send(httpx.Response(404, json={"code": 1203, "message": "task not found"}))
    assert stop.value.value is None
    for bare in (httpx.Response(404, text="Not Found"), httpx.Response(404, json={"detail": "no route"})):
        proxy = d.find_by_key(prepared(prompt="a", model="kling/kling-v2-6"), conn())
        next(proxy)
        with pytest.raises(ProviderHTTPError):  # not Kling's own "no such task": never a second paid create
            proxy.send(bare)


def test_status_paths_and_a_bare_id_tries_each_endpoint() -> None:
    spec = CATALOG.resolve("kling/kling-v2-6")
    assert split_task_id("image2video/55") == ("image2video", "55") and split_task_id("55") == (None, "55")
    flow = dialect().status("image2video/55", spec, conn())
    assert str(next(flow).url) == f"{BASE}/v1/videos/image2video/55"
    bare = dialect().status("55", spec, conn())
    assert str(next(bare).url).endswith("/v1/videos/text2video/55")
    second = bare.send(httpx.Response(404, json={"code": 1203, "message": "not found"}))
    assert str(second.url).endswith("/v1/videos/image2video/55")
    with pytest.raises(StopIteration) as stop:
        bare.send(answer({"task_id": "55", "task_status": "submitted"}))
    assert stop.value.value.provider_task_id == "image2video/55"
