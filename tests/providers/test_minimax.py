"""MiniMax dialects, sans-IO: golden requests and answers from the documented examples (providers-2026.md §6,
more-providers.md §2), the status tables word by word, the two-step file retrieval, base_resp codes as typed
errors, V2 content[] roles, and the emulator's independent facts against the catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import image_bytes
from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.emulator.dialects import minimax as emu
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
from vidgate.providers.minimax import (
    STATUS_MAP,
    V2_STATUS_MAP,
    MiniMax,
    MiniMaxOptions,
    MiniMaxV2,
    MiniMaxV2Options,
    parse_v1_task,
    parse_v2_task,
)
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest
from vidgate.webhooks.relay_notify import url_challenge

V1, V2 = MiniMax(), MiniMaxV2()
CATALOG = load_catalog()
BASE = "https://api.minimax.io"
OK = {"status_code": 0, "status_msg": "success"}
# more-providers.md §2: the documented create, query and retrieve answers (M1, M2, M4, M7)
CREATE_ANSWER = {"task_id": "106916112212032", "base_resp": OK}
QUERY_SUCCESS = {"task_id": "176843862716480", "status": "Success", "file_id": "176844028768320",
                 "video_width": 1280, "video_height": 720, "base_resp": OK}  # fmt: skip
RETRIEVE = {"file": {"file_id": 361721749176519, "bytes": 0, "created_at": 1769863897, "filename": "output.mp4",
                     "purpose": "video_generation", "download_url": "https://cdn.example/output.mp4",
                     "backup_download_url": "https://backup.example/output.mp4"}, "base_resp": OK}  # fmt: skip


def conn() -> Connection:
    return Connection(provider=CATALOG.providers["minimax"], base_url=BASE, api_key="mm-test")


def big_png() -> bytes:
    return image_bytes((640, 360))


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    dialect = get_dialect(spec.dialect)
    report = check(request, spec, options_model=dialect.Options)
    assert report.ok, [p.explain() for p in report.problems]
    assert not dialect.preflight(request, spec, report.images)
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def problems(**fields: Any) -> list[str]:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    dialect = get_dialect(spec.dialect)
    report = check(request, spec, options_model=dialect.Options)
    return [p.field for p in report.problems] + [p.field for p in dialect.preflight(request, spec, report.images)]


def create(**fields: Any) -> httpx.Request:
    p = prepared(**fields)
    return next(get_dialect(p.spec.dialect).submit(p, conn()))  # type: ignore[arg-type]


def body(**fields: Any) -> dict[str, Any]:
    return json.loads(create(**fields).content)  # type: ignore[no-any-return]


def test_registered_and_listed() -> None:
    assert isinstance(get_dialect("minimax"), MiniMax) and isinstance(get_dialect("minimax-v2"), MiniMaxV2)
    models = {m.model: m for m in CATALOG.by_provider("minimax")}
    assert set(models) == {"MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast", "MiniMax-Hailuo-02", "S2V-01",
                           "MiniMax-H3", "MiniMax-H3-Max"}  # fmt: skip
    assert {m.dialect for m in models.values() if m.model.startswith("MiniMax-H3")} == {"minimax-v2"}
    assert all(m.sources and m.results.status_values and m.typical_latency_s for m in models.values())
    assert CATALOG.resolve("MiniMax-H3").key == "minimax/MiniMax-H3"  # -m <model> stays simple
    # Replicate's minimax/video-01 still resolves bare now that "minimax" is also a provider's name
    assert CATALOG.resolve("minimax/video-01").key == "replicate/minimax/video-01"


def test_no_caller_id_so_an_unknown_create_waits_for_a_person() -> None:
    provider = CATALOG.providers["minimax"]
    for dialect in (V1, V2):
        assert not dialect.dedups_creates and not dialect.finds_by_key(provider)
    assert "never resent" in provider.note and V1.per_job_callback and not V2.per_job_callback


# ---------------------------------------------------------------- V1 requests


def test_golden_v1_text_to_video() -> None:
    request = create(prompt="A man picks up a book [Pedestal up], then reads [Static shot].",
                     model="minimax/MiniMax-Hailuo-02", duration=6, resolution="1080P")  # fmt: skip
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1/video_generation"
    assert request.headers["authorization"] == "Bearer mm-test"
    assert json.loads(request.content) == {
        "model": "MiniMax-Hailuo-02", "prompt": "A man picks up a book [Pedestal up], then reads [Static shot].",
        "duration": 6, "resolution": "1080P",
    }  # fmt: skip


def test_v1_frames_and_subject_reference_are_data_uris_or_urls() -> None:
    png = big_png()
    frames = [ImageInput(source=png, role=ImageRole.first_frame), ImageInput(source=png, role=ImageRole.last_frame)]
    sent = body(prompt="morph", model="MiniMax-Hailuo-02", images=frames, duration=10, resolution="512P")
    assert sent["first_frame_image"].startswith("data:image/png;base64,")
    assert sent["last_frame_image"].startswith("data:image/png;base64,") and sent["resolution"] == "512P"
    url = body(prompt="", model="MiniMax-Hailuo-2.3-Fast", images=["https://img.example/a.jpg"])
    assert url == {"model": "MiniMax-Hailuo-2.3-Fast", "first_frame_image": "https://img.example/a.jpg"}
    s2v = body(prompt="she walks", model="S2V-01", images=["https://img.example/face.jpg"])
    assert s2v == {"model": "S2V-01", "prompt": "she walks",
                   "subject_reference": [{"image": "https://img.example/face.jpg"}]}  # fmt: skip


def test_v1_options_and_callback_url() -> None:
    opts = {"prompt_optimizer": False, "fast_pretreatment": True}
    sent = body(prompt="x", model="MiniMax-Hailuo-2.3", options=opts, webhook_url="https://vg.example/hooks/relay/j/t")
    assert sent["prompt_optimizer"] is False and sent["fast_pretreatment"] is True
    assert sent["callback_url"] == "https://vg.example/hooks/relay/j/t"  # vidgate's per-job URL
    own = body(prompt="x", model="MiniMax-Hailuo-2.3", options={"callback_url": "https://me.example/cb"},
               webhook_url="https://vg.example/hooks/relay/j/t")  # fmt: skip
    assert own["callback_url"] == "https://me.example/cb"  # the caller's own URL wins
    with pytest.raises(Exception, match="extra"):
        MiniMaxOptions.model_validate({"aspect_ratio": "16:9"})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": "MiniMax-Hailuo-2.3", "duration": 10, "resolution": "1080P"}, "duration"),  # 1080P is 6 s only
        ({"model": "MiniMax-Hailuo-02", "resolution": "512P"}, "has_images"),  # 512P needs an image
        ({"model": "MiniMax-Hailuo-2.3", "duration": 8}, "duration"),
        ({"model": "MiniMax-Hailuo-2.3", "resolution": "720P"}, "resolution"),
        ({"model": "MiniMax-Hailuo-2.3", "aspect_ratio": "9:16"}, "aspect_ratio"),  # V1 has no ratio field
        ({"model": "MiniMax-Hailuo-2.3-Fast"}, "images"),  # image-to-video only
        ({"model": "MiniMax-Hailuo-2.3", "prompt": "x" * 2001}, "prompt"),
        ({"model": "MiniMax-H3", "duration": 4}, "duration"),
        ({"model": "MiniMax-H3", "prompt": "x" * 7001}, "prompt"),
        ({"model": "MiniMax-H3-Max", "resolution": "2K"}, "resolution"),
    ],
)
def test_caller_mistakes_are_refused_before_sending(fields: dict[str, Any], field: str) -> None:
    assert field in problems(**{"prompt": "a cat", **fields})


def test_small_images_are_refused() -> None:
    # short side > 300 px (M1): 64x36 is refused before anything is sent
    assert any(f.startswith("images[0]") for f in problems(prompt="x", model="MiniMax-Hailuo-2.3",
                                                           images=[image_bytes((64, 36))]))  # fmt: skip


# ---------------------------------------------------------------- V1 answers


def test_create_answer_is_the_task_id() -> None:
    flow = V1.submit(prepared(prompt="x", model="MiniMax-Hailuo-2.3"), conn())
    next(flow)
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(200, json=CREATE_ANSWER))
    update = stop.value.value
    assert update.status is JobStatus.queued and update.provider_task_id == "106916112212032"
    assert update.poll_after is None  # "about 10 s" is a recommendation, not a per-answer hint: the policy decides


def test_every_documented_v1_status_word() -> None:
    expected = {"Preparing": JobStatus.queued, "Queueing": JobStatus.queued, "Processing": JobStatus.running,
                "Success": JobStatus.succeeded, "Fail": JobStatus.failed}  # fmt: skip
    assert expected == STATUS_MAP
    for word, status in expected.items():
        update = parse_v1_task("minimax", {"task_id": "1", "status": word, "file_id": "9", "base_resp": OK})
        assert update.status is status and update.raw_status == word
    for unseen in ("Running", "success", "Pending", ""):  # never seen: keep polling until the deadline
        assert parse_v1_task("minimax", {"task_id": "1", "status": unseen}).status is None


def test_success_needs_a_second_request_for_the_download_link() -> None:
    spec = CATALOG.resolve("MiniMax-Hailuo-2.3")
    flow = V1.status("176843862716480", spec, conn())
    query = next(flow)
    assert str(query.url) == f"{BASE}/v1/query/video_generation?task_id=176843862716480"
    retrieve = flow.send(httpx.Response(200, json=QUERY_SUCCESS))
    assert str(retrieve.url) == f"{BASE}/v1/files/retrieve?file_id=176844028768320"
    assert retrieve.headers["authorization"] == "Bearer mm-test"
    before = datetime.now(UTC)
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(200, json=RETRIEVE))
    update = stop.value.value
    assert update.status is JobStatus.succeeded and update.raw_status == "Success"
    video = update.assets[0]
    assert video.url == "https://cdn.example/output.mp4" and video.expires_at is not None
    assert before + timedelta(hours=9) <= video.expires_at <= datetime.now(UTC) + timedelta(hours=9)


def test_a_running_task_needs_one_request() -> None:
    flow = V1.status("1", CATALOG.resolve("MiniMax-Hailuo-2.3"), conn())
    next(flow)
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(200, json={"task_id": "1", "status": "Processing", "file_id": "", "base_resp": OK}))
    assert stop.value.value.status is JobStatus.running


def test_fail_and_success_without_a_file() -> None:
    refused = {"status_code": 1027, "status_msg": "output video sensitive"}
    failed = parse_v1_task("minimax", {"task_id": "1", "status": "Fail", "base_resp": refused})
    assert failed.status is JobStatus.failed and failed.error is not None
    assert failed.error.code is ErrorCode.content_policy_output and "output video sensitive" in failed.error.message
    odd = parse_v1_task("minimax", {"task_id": "1", "status": "Success", "file_id": ""})
    assert odd.status is JobStatus.failed and odd.error and odd.error.code is ErrorCode.provider_error
    with pytest.raises(ProtocolError):
        parse_v1_task("minimax", {"status": "Queueing"})


def test_callback_body_parses_like_a_query() -> None:
    # MiniMax POSTs the query body without video_width/height on status changes (M1)
    update = parse_v1_task("minimax", {"task_id": "7", "status": "Success", "file_id": "8", "base_resp": OK})
    assert update.provider_task_id == "7" and update.file_id == "8"


@pytest.mark.parametrize(
    ("code", "cls", "error_code"),
    [
        (1002, RateLimitError, ErrorCode.rate_limited), (1039, RateLimitError, ErrorCode.rate_limited),
        (1004, AuthenticationError, ErrorCode.auth), (2049, AuthenticationError, ErrorCode.auth),
        (1008, QuotaExceededError, ErrorCode.quota_exceeded), (2056, QuotaExceededError, ErrorCode.quota_exceeded),
        (1026, ContentPolicyError, ErrorCode.content_policy_input),
        (2013, ProviderHTTPError, ErrorCode.invalid_request), (1000, ProviderServerError, ErrorCode.provider_error),
        (1033, ProviderServerError, ErrorCode.provider_error),
    ],
)  # fmt: skip
def test_base_resp_codes_are_typed_errors(code: int, cls: type[ProviderHTTPError], error_code: ErrorCode) -> None:
    answer = httpx.Response(200, json={"task_id": "", "base_resp": {"status_code": code, "status_msg": "nope"}})
    flow = V1.submit(prepared(prompt="x", model="MiniMax-Hailuo-2.3"), conn())
    next(flow)
    with pytest.raises(cls) as info:
        flow.send(answer)
    assert type(info.value) is cls and info.value.code == str(code) and info.value.error_code == error_code.value
    assert "nope" in str(info.value)


def test_http_errors_keep_status_and_retry_after() -> None:
    answer = httpx.Response(429, json={"base_resp": {"status_code": 1002, "status_msg": "rpm"}},
                            headers={"Retry-After": "3"})  # fmt: skip
    flow = V1.status("1", CATALOG.resolve("MiniMax-Hailuo-2.3"), conn())
    next(flow)
    with pytest.raises(RateLimitError) as info:
        flow.send(answer)
    assert info.value.status_code == 429 and info.value.retry_after == 3
    flow = V1.status("1", CATALOG.resolve("MiniMax-Hailuo-2.3"), conn())
    next(flow)
    with pytest.raises(ProviderServerError):
        flow.send(httpx.Response(502, text="bad gateway"))
    unknown = V1.status("1", CATALOG.resolve("MiniMax-Hailuo-2.3"), conn())
    next(unknown)
    with pytest.raises(ProviderHTTPError) as other:
        unknown.send(httpx.Response(200, json={"base_resp": {"status_code": 9999, "status_msg": "new"}}))
    assert other.value.code == "9999"


# ---------------------------------------------------------------- V2


def test_golden_v2_create() -> None:
    request = create(prompt="a lighthouse in a storm", model="MiniMax-H3", duration=5, aspect_ratio="16:9",
                     resolution="2K")  # fmt: skip
    assert str(request.url) == f"{BASE}/v2/video_generation" and request.headers["authorization"] == "Bearer mm-test"
    assert json.loads(request.content) == {
        "model": "MiniMax-H3", "content": [{"type": "text", "text": "a lighthouse in a storm"}],
        "resolution": "2K", "duration": 5, "ratio": "16:9",
    }  # fmt: skip
    defaults = body(prompt="x", model="MiniMax-H3-Max")
    assert defaults["resolution"] == "768P" and defaults["duration"] == 5 and "ratio" not in defaults


def test_v2_roles() -> None:
    keyframes = body(prompt="fly", model="MiniMax-H3", images=["https://i.example/a.png", "https://i.example/b.png"])
    assert [(c["type"], c.get("role")) for c in keyframes["content"]] == [
        ("text", None), ("image_url", "first_frame"), ("image_url", "last_frame")]  # fmt: skip
    refs = [ImageInput(source="https://i.example/r.png", role=ImageRole.reference)]
    options = {"reference_videos": ["mm_file://123"], "reference_audios": ["https://a.example/x.mp3"]}
    sent = body(prompt="sing", model="MiniMax-H3", images=refs, options=options)["content"]
    assert sent[1:] == [
        {"type": "image_url", "image_url": "https://i.example/r.png", "role": "reference_image"},
        {"type": "video_url", "video_url": "mm_file://123", "role": "reference_video"},
        {"type": "audio_url", "audio_url": "https://a.example/x.mp3", "role": "reference_audio"},
    ]


def test_v2_rules_checked_before_sending() -> None:
    mixed = [ImageInput(source="https://i.example/a.png", role=ImageRole.first_frame),
             ImageInput(source="https://i.example/r.png", role=ImageRole.reference)]  # fmt: skip
    assert "images" in problems(prompt="x", model="MiniMax-H3", images=mixed)
    alone = problems(prompt="x", model="MiniMax-H3", options={"reference_audios": ["https://a.example/x.mp3"]})
    assert "options.reference_audios" in alone
    assert "options.reference_videos[0]" in problems(prompt="x", model="MiniMax-H3",
                                                     options={"reference_videos": ["/tmp/v.mp4"]})  # fmt: skip
    assert "options" in " ".join(problems(prompt="x", model="MiniMax-H3-Max",
                                          options={"reference_videos": ["https://v.example/a.mp4"]}))  # fmt: skip
    with pytest.raises(Exception, match="at most 3"):
        MiniMaxV2Options.model_validate({"reference_videos": ["https://v/1"] * 4})


def test_every_documented_v2_status_word() -> None:
    expected = {"queued": JobStatus.queued, "running": JobStatus.running, "succeeded": JobStatus.succeeded,
                "failed": JobStatus.failed, "cancelled": JobStatus.cancelled, "expired": JobStatus.expired}  # fmt: skip
    assert expected == V2_STATUS_MAP
    content = {"url": "https://cdn.example/v.mp4", "duration": 5}
    done = parse_v2_task("minimax", {"task": {"id": "t1", "status": "succeeded", "content": content}})
    assert done.status is JobStatus.succeeded and done.assets[0].url == "https://cdn.example/v.mp4"
    failed = parse_v2_task("minimax", {"task": {"id": "t1", "status": "failed",
                                                "error": {"code": 1027, "message": "output sensitive"}}})  # fmt: skip
    assert failed.error is not None and failed.error.code is ErrorCode.content_policy_output
    expired = parse_v2_task("minimax", {"task": {"id": "t1", "status": "expired"}})
    assert expired.status is JobStatus.expired and expired.error and expired.error.code is ErrorCode.timeout
    cancelled = parse_v2_task("minimax", {"task": {"id": "t1", "status": "cancelled"}})
    assert cancelled.error is not None and cancelled.error.code is ErrorCode.cancelled
    assert parse_v2_task("minimax", {"task": {"id": "t1", "status": "Succeeded"}}).status is None  # unseen
    assert parse_v2_task("minimax", {"task_id": "t9"}).provider_task_id == "t9"  # a create naming only the id


def test_v2_status_request() -> None:
    flow = V2.status("t 1", CATALOG.resolve("MiniMax-H3"), conn())
    assert str(next(flow).url) == f"{BASE}/v2/query/video_generation/t%201"


# ---------------------------------------------------------------- callbacks and the emulator's reading


def test_url_challenge_is_echoed_only_for_a_challenge_body() -> None:
    assert url_challenge(b'{"challenge": "abc"}') == "abc"
    assert url_challenge(b'{"task_id": "1", "status": "Success"}') is None
    assert url_challenge(b'{"challenge": "abc", "task_id": "1"}') is None
    assert url_challenge(b"not json") is None and url_challenge(b'{"challenge": 5}') is None


def test_the_emulator_reads_the_same_documents() -> None:
    """The emulator's own tables (transcribed separately) against the catalog; each difference is a recorded
    choice: 512P text-to-video and 4 s H3 clips are refused by vidgate only (unconfirmed in the reference)."""
    for spec in CATALOG.by_provider("minimax"):
        if spec.dialect == "minimax":
            m = emu.V1_MODELS[spec.model]
            if spec.duration.field:
                assert tuple(int(d) for d in spec.duration.values) == m.durations
                assert (
                    tuple(spec.resolution.values) == m.resolutions and spec.resolution.default == m.default_resolution
                )
            assert ("text" in spec.modes) == m.text and ("first_last" in spec.modes) == m.last_frame
            assert spec.prompt.max_chars == emu.V1_PROMPT_MAX
        else:
            v = emu.V2_MODELS[spec.model]
            assert tuple(spec.resolution.values) == v.resolutions
            assert (spec.duration.min, spec.duration.max) == (5, 15) and v.durations == (4, 15)
            assert ("reference" in spec.modes) == v.references and spec.prompt.max_chars == emu.V2_TEXT_MAX
