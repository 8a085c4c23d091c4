"""The OpenAI-format /v1/videos dialect, sans-IO: golden requests for the OpenAI-format examples in
seed-relay-api.md, the status table, the relay drift examples as parsing tests, sizes, downloads."""

from __future__ import annotations

import email.parser
import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import image_bytes
from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import AuthenticationError, ProtocolError, ProviderHTTPError, ValidationError
from vidgate.net.drive import BlockingDriver
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers._openai_wire import VideoObject, mapped_size, target_size
from vidgate.providers.openai_videos import STATUS_MAP, OpenAIVideos, OpenAIVideosOptions
from vidgate.types import Asset, ErrorCode, JobStatus, VideoRequest

DIALECT = OpenAIVideos()
CATALOG = load_catalog()
RELAY = Connection(provider=CATALOG.providers["relay-openai"], base_url="https://relay.example", api_key="sk-test")
OPENAI = Connection(provider=CATALOG.providers["openai"], base_url="https://api.openai.example", api_key="sk-oai")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=OpenAIVideosOptions, allow_retired=True)
    problems = report.problems + DIALECT.preflight(request, spec, report.images)
    assert not problems, [p.explain() for p in problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def problems_of(**fields: Any) -> list[str]:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=OpenAIVideosOptions, allow_retired=True)
    return [p.explain() for p in report.problems + DIALECT.preflight(request, spec, report.images)]


def create_request(conn: Connection = RELAY, **fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn))


def form(request: httpx.Request) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, content type, payload) of a multipart/form-data request."""
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.content
    message = email.parser.BytesParser().parsebytes(raw)
    assert message.is_multipart()
    out: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.get_payload():  # type: ignore[union-attr]
        name = part.get_param("name", header="content-disposition")
        ctype = part.get("content-type")
        payload = part.get_payload(decode=True)
        out[str(name)] = (part.get_filename(), ctype, payload)
    return out


def texts(request: httpx.Request) -> dict[str, str]:
    return {k: v[2].decode() for k, v in form(request).items() if v[0] is None}


def response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers, request=httpx.Request("GET", "https://relay.example"))


# ---------------------------------------------------------------- golden requests (seed-relay-api.md)


def test_golden_relay_create_multipart_with_reference_image() -> None:
    # The relay's "POST /v1/videos (multipart/form-data)" table: model, prompt, size, input_reference (file),
    # seconds (string), watermark; its example sends seconds "10".
    png = image_bytes((1280, 720))
    req = create_request(prompt="让牛快乐的跳科目三", model="relay-openai/sora-2", duration=10, size="1280x720",
                         images=[png], options={"watermark": False})  # fmt: skip
    assert req.method == "POST" and str(req.url) == "https://relay.example/v1/videos"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.headers["content-type"] == "multipart/form-data; boundary=vidgate-idem-1"
    assert texts(req) == {"model": "sora-2", "prompt": "让牛快乐的跳科目三", "seconds": "10", "size": "1280x720",
                          "watermark": "false"}  # fmt: skip
    filename, ctype, payload = form(req)["input_reference"]
    assert (filename, ctype, payload) == ("image0.png", "image/png", png)
    assert list(form(req)) == ["model", "prompt", "seconds", "size", "watermark", "input_reference"]


def test_golden_relay_create_with_inline_character_and_private() -> None:
    # "Create videos with Character using OpenAI": character_url + character_timestamps "1,3", private.
    req = create_request(prompt="The scene comes to life", model="relay-openai/sora-2", duration=10,
                         size="720x1280", options={"private": True, "watermark": True,
                         "character_url": "https://filesystem.site/cdn/20251030/javYrU4etHVFDqg8by7mViTWHlMOZy.mp4",
                         "character_timestamps": "1,3"})  # fmt: skip
    assert texts(req) == {
        "model": "sora-2", "prompt": "The scene comes to life", "seconds": "10", "size": "720x1280",
        "watermark": "true", "private": "true",
        "character_url": "https://filesystem.site/cdn/20251030/javYrU4etHVFDqg8by7mViTWHlMOZy.mp4",
        "character_timestamps": "1,3",
    }  # fmt: skip


def test_seconds_is_always_sent_as_a_string_even_when_not_asked() -> None:
    # Without seconds the relay applies the official 4 s default (billed 4 s for a 10 s clip, new-api#5498).
    req = create_request(prompt="a cat", model="relay-openai/sora-2")
    assert texts(req) == {"model": "sora-2", "prompt": "a cat", "seconds": "10"}
    req = create_request(OPENAI, prompt="a cat", model="openai/sora-2")
    assert texts(req)["seconds"] == "4"


def test_golden_openai_json_transport_with_image_url() -> None:
    req = create_request(OPENAI, prompt="a red kite", model="openai/sora-2-pro", duration=8, size="1792x1024",
                         images=["https://example.com/kite.png"])  # fmt: skip
    assert str(req.url) == "https://api.openai.example/v1/videos"
    assert req.headers["content-type"] == "application/json"
    assert json.loads(req.content) == {"model": "sora-2-pro", "prompt": "a red kite", "seconds": "8",
                                       "size": "1792x1024",
                                       "input_reference": {"image_url": "https://example.com/kite.png"}}  # fmt: skip


def test_json_transport_sends_a_local_image_as_a_data_url() -> None:
    png = image_bytes((720, 1280))
    req = create_request(OPENAI, prompt="x", model="openai/sora-2", images=[png], options={"transport": "json"})
    ref = json.loads(req.content)["input_reference"]["image_url"]
    assert ref.startswith("data:image/png;base64,")


def test_golden_remix_request_and_its_documented_answer() -> None:
    flow = DIALECT.remix("video_123", "make it night", None, CATALOG.resolve("relay-openai/sora-2"), RELAY)
    req = next(flow)
    assert req.method == "POST" and str(req.url) == "https://relay.example/v1/videos/video_123/remix"
    assert json.loads(req.content) == {"prompt": "make it night"}
    documented = {"id": "video_456", "object": "video", "model": "sora-2", "status": "queued", "progress": 0,
                  "created_at": 1712698600, "size": "720x1280", "seconds": "8",
                  "remixed_from_video_id": "video_123"}  # fmt: skip
    with pytest.raises(StopIteration) as stop:
        flow.send(response(documented))
    update = stop.value.value
    assert update.provider_task_id == "video_456" and update.status is JobStatus.queued and update.progress == 0


def test_remix_of_a_private_source_is_refused_before_any_request() -> None:
    source = VideoRequest(prompt="x", model="relay-openai/sora-2", options={"private": True})
    flow = DIALECT.remix("video_1", "again", source, CATALOG.resolve("relay-openai/sora-2"), RELAY)
    with pytest.raises(ValidationError) as info:
        next(flow)
    assert "private" in str(info.value) and "cannot be remixed" in str(info.value)


def test_ids_with_colons_are_url_encoded_in_every_path() -> None:
    task = "sora-2:task_01k7rtn875f83t2f8ry0kb5ap1"
    spec = CATALOG.resolve("relay-openai/sora-2")
    assert (
        next(DIALECT.status(task, spec, RELAY)).url.raw_path == b"/v1/videos/sora-2%3Atask_01k7rtn875f83t2f8ry0kb5ap1"
    )
    assert next(DIALECT.delete(task, spec, RELAY)).url.raw_path.endswith(b"sora-2%3Atask_01k7rtn875f83t2f8ry0kb5ap1")
    assert next(DIALECT.remix(task, "p", None, spec, RELAY)).url.raw_path.endswith(
        b"%3Atask_01k7rtn875f83t2f8ry0kb5ap1/remix"
    )
    assert DIALECT.content_url(RELAY, task, "thumbnail") == (
        "https://relay.example/v1/videos/sora-2%3Atask_01k7rtn875f83t2f8ry0kb5ap1/content?variant=thumbnail"
    )


# ---------------------------------------------------------------- the status table and drift parsing


@pytest.mark.parametrize(
    ("raw", "status"),
    [("queued", JobStatus.queued), ("in_progress", JobStatus.running), ("completed", JobStatus.succeeded),
     ("failed", JobStatus.failed), ("expired", JobStatus.failed), ("NOT_START", JobStatus.queued),
     ("SUBMITTED", JobStatus.queued), ("SUCCESS", JobStatus.succeeded), ("FAILURE", JobStatus.failed),
     ("UNKNOWN", None), ("warp_drive", None), ("", None)],
)  # fmt: skip
def test_status_table(raw: str, status: JobStatus | None) -> None:
    body: dict[str, Any] = {"id": "video_1", "object": "video", "status": raw, "progress": 10}
    update = DIALECT.parse_video(RELAY, response(body))
    assert update.status is status
    assert update.raw_status == (raw or None)


def test_every_openai_status_word_is_mapped_explicitly() -> None:
    assert {"queued", "in_progress", "completed", "failed"} <= set(STATUS_MAP)


def test_drift_queued_example_with_empty_video_url() -> None:
    body = {"id": "video_b9d05dda-0f9d-48c2-944e-7c5b47c6a399", "object": "video", "model": "sora-2-pro",
            "status": "queued", "progress": 0, "created_at": 1760679942, "seconds": "15", "size": "1280x720",
            "error": None, "video_url": ""}  # fmt: skip
    update = DIALECT.parse_video(RELAY, response(body))
    assert update.status is JobStatus.queued and update.progress == 0 and update.assets == [] and update.error is None


GUARDRAIL = "This content may violate our guardrails concerning similarity to third-party content."


def test_drift_failed_example_ms_created_at_small_size_and_colon_id() -> None:
    body = {"id": "sora-2:task_01k7rtn875f83t2f8ry0kb5ap1", "status": "failed", "created_at": 1760696116136,
            "model": "sora-2", "object": "video", "progress": 0, "seconds": "10", "size": "small",
            "error": {"code": "generation_failed", "message": GUARDRAIL}}  # fmt: skip
    video = VideoObject.parse("relay-openai", body)
    assert video.size == "small" and video.id.startswith("sora-2:")
    update = DIALECT.parse_video(RELAY, response(body))
    assert update.status is JobStatus.failed and update.provider_task_id == "sora-2:task_01k7rtn875f83t2f8ry0kb5ap1"
    assert update.error is not None and update.error.code is ErrorCode.content_policy_output
    assert update.error.message.startswith("This content may violate our guardrails")
    assert "generation_failed" in update.error.message and not update.error.retryable


def test_drift_completed_example_uses_the_cdn_link_and_lists_variants() -> None:
    link = "https://filesystem.site/cdn/20251017/78fd715fed4abc9b0bbdfe564e9d8b.mp4"
    body = {"id": "sora-2:task_01k7rtjcjjf08b031wzan1kb5r", "status": "completed", "created_at": 1760696021903,
            "model": "sora-2", "object": "video", "progress": 100, "seconds": "15", "size": "small",
            "url": link, "video_url": link}  # fmt: skip
    update = DIALECT.parse_video(RELAY, response(body))
    assert update.status is JobStatus.succeeded and update.progress == 100
    assert [(a.kind, a.mime_type) for a in update.assets] == [
        ("video", "video/mp4"), ("thumbnail", "image/webp"), ("spritesheet", "image/jpeg")]  # fmt: skip
    assert update.assets[0].url == link
    assert update.assets[1].url == (
        "https://relay.example/v1/videos/sora-2%3Atask_01k7rtjcjjf08b031wzan1kb5r/content?variant=thumbnail"
    )


def test_official_completed_object_downloads_from_content_with_expiry() -> None:
    body = {"id": "video_68d7512d", "object": "video", "model": "sora-2-pro", "status": "completed",
            "progress": 100, "created_at": 1758941485, "completed_at": 1758941600, "expires_at": 1758945200,
            "prompt": "x", "size": "1280x720", "seconds": "8", "remixed_from_video_id": None,
            "error": None}  # fmt: skip
    update = DIALECT.parse_video(OPENAI, response(body))
    video = update.assets[0]
    assert video.url == "https://api.openai.example/v1/videos/video_68d7512d/content?variant=video"
    assert video.expires_at is not None and int(video.expires_at.timestamp()) == 1758945200
    assert update.finished_at is not None and int(update.finished_at.timestamp()) == 1758941600


def test_create_answer_documented_as_empty_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        DIALECT.parse_video(RELAY, response({}), created=True)


def test_new_api_task_id_and_string_error_and_percent_progress() -> None:
    body = {"task_id": "t-1", "status": "FAILURE", "progress": "37%", "error": "上游错误"}
    update = DIALECT.parse_video(RELAY, response(body))
    assert update.provider_task_id == "t-1" and update.progress == 37 and update.status is JobStatus.failed
    assert update.error is not None and update.error.message == "上游错误"


def test_expired_video_is_a_final_failure_saying_so() -> None:
    update = DIALECT.parse_video(OPENAI, response({"id": "video_1", "status": "expired", "progress": 100}))
    assert update.status is JobStatus.failed and update.error is not None and "expired" in update.error.message


def test_poll_after_header_becomes_the_hint() -> None:
    body = {"id": "video_1", "status": "in_progress", "progress": 40}
    update = DIALECT.parse_video(OPENAI, response(body, headers={"openai-poll-after-ms": "2500"}))
    assert update.poll_after == 2.5 and update.progress == 40
    assert DIALECT.parse_video(OPENAI, response(body)).poll_after is None


def test_openai_error_bodies_become_typed_errors() -> None:
    bad = {"error": {"message": "Invalid value: '10'. Supported values are: '4', '8', and '12'.",
                     "type": "invalid_request_error", "param": "seconds", "code": "invalid_value"}}  # fmt: skip
    with pytest.raises(ProviderHTTPError) as info:
        DIALECT.parse_video(OPENAI, response(bad, 400, {"x-request-id": "req_1"}))
    assert info.value.code == "invalid_value" and info.value.request_id == "req_1" and "'4', '8'" in info.value.message
    with pytest.raises(AuthenticationError):
        DIALECT.parse_video(OPENAI, response({"error": {"message": "Incorrect API key provided."}}, 401))


# ---------------------------------------------------------------- list, delete, downloads


def test_list_sends_the_cursor_and_parses_the_page() -> None:
    spec = CATALOG.resolve("openai/sora-2")
    flow = DIALECT.list_videos(spec, OPENAI, after="video_9", limit=2, order="asc")
    req = next(flow)
    assert req.method == "GET" and req.url.path == "/v1/videos"
    assert dict(req.url.params) == {"after": "video_9", "limit": "2", "order": "asc"}
    page_body = {"object": "list", "data": [{"id": "video_10", "status": "completed", "progress": 100},
                                            {"id": "video_11", "status": "queued", "progress": 0}],
                 "first_id": "video_10", "last_id": "video_11", "has_more": True}  # fmt: skip
    with pytest.raises(StopIteration) as stop:
        flow.send(response(page_body))
    page = stop.value.value
    assert page.has_more and page.first_id == "video_10" and page.last_id == "video_11"
    assert [(i.provider_task_id, i.status) for i in page.items] == [("video_10", JobStatus.succeeded),
                                                                    ("video_11", JobStatus.queued)]  # fmt: skip


def test_list_limits_are_checked_before_any_request() -> None:
    spec = CATALOG.resolve("openai/sora-2")
    with pytest.raises(ValidationError) as info:
        next(DIALECT.list_videos(spec, OPENAI, after=None, limit=500, order="sideways"))
    assert "limit" in str(info.value) and "order" in str(info.value)


def test_delete_parses_the_deleted_object() -> None:
    flow = DIALECT.delete("video_1", CATALOG.resolve("openai/sora-2"), OPENAI)
    assert next(flow).method == "DELETE"
    with pytest.raises(StopIteration) as stop:
        flow.send(response({"id": "video_1", "object": "video.deleted", "deleted": True}))
    assert stop.value.value is True


def test_the_key_goes_only_to_the_api_origin() -> None:
    content = Asset(kind="video", url="https://api.openai.example/v1/videos/v/content?variant=video")
    req = DIALECT.download_request(content, OPENAI)
    assert req.headers["authorization"] == "Bearer sk-oai" and req.headers["accept"] == "application/binary"
    for url in (
        "https://filesystem.site/cdn/x.mp4",
        "https://api.openai.example.evil.com/v1/videos/x",
        "http://api.openai.example/v1/videos/x",
        "https://api.openai.example:8443/v1/videos/x",
    ):
        assert "authorization" not in DIALECT.download_request(Asset(kind="video", url=url), OPENAI).headers


def test_the_dialect_is_registered() -> None:
    assert isinstance(get_dialect("openai-videos"), OpenAIVideos)


# ---------------------------------------------------------------- the unified request -> size


@pytest.mark.parametrize(
    ("model", "fields", "size"),
    [("openai/sora-2", {"aspect_ratio": "16:9"}, "1280x720"),
     ("openai/sora-2", {"aspect_ratio": "9:16"}, "720x1280"),
     ("openai/sora-2", {"resolution": "720p"}, "720x1280"),
     ("openai/sora-2-pro", {"aspect_ratio": "16:9", "hd": True}, "1792x1024"),
     ("openai/sora-2-pro", {"aspect_ratio": "9:16", "resolution": "1080p"}, "1024x1792"),
     ("openai/sora-2-pro", {"aspect_ratio": "16:9", "resolution": "720p"}, "1280x720"),
     ("relay-openai/sora-2-pro", {"aspect_ratio": "16:9", "hd": True}, "1792x1024"),
     ("relay-openai/sora-2", {}, None),
     ("relay-openai/sora-2", {"size": "720x1280"}, "720x1280")],
)  # fmt: skip
def test_aspect_ratio_and_resolution_map_onto_size(model: str, fields: dict[str, Any], size: str | None) -> None:
    request = VideoRequest(prompt="x", model=model, **fields)
    assert target_size(request, CATALOG.resolve(model)) == (size, [])


def test_contradicting_size_and_aspect_ratio_is_a_problem() -> None:
    request = VideoRequest(prompt="x", model="openai/sora-2", size="720x1280", aspect_ratio="16:9")
    size, problems = target_size(request, CATALOG.resolve("openai/sora-2"))
    assert size == "720x1280" and "contradicts aspect_ratio=16:9" in problems[0].explain()
    assert mapped_size(request, CATALOG.resolve("openai/sora-2")) == "1280x720"


# ---------------------------------------------------------------- bad input for this dialect's limits


def test_limits_are_refused_with_what_is_allowed() -> None:
    wrong_seconds = problems_of(prompt="x", model="openai/sora-2", duration=10)
    assert any("duration: 10" in p and "4, 8, 12 s" in p for p in wrong_seconds)
    wrong_size = problems_of(prompt="x", model="openai/sora-2", size="1792x1024")
    assert any("size: '1792x1024'" in p and "1280x720, 720x1280" in p for p in wrong_size)
    relay_25 = problems_of(prompt="x", model="relay-openai/sora-2", duration=25)
    assert any("4, 8, 10, 12, 15 s" in p for p in relay_25)  # 4/8/12 with group=official (issue 12 item 8)
    two = problems_of(prompt="x", model="openai/sora-2", images=[image_bytes((720, 1280))] * 2)
    assert any("too many images" in p and "at most 1" in p for p in two)
    hd = problems_of(prompt="x", model="openai/sora-2", hd=True)
    assert any("has no hd option" in p and "sora-2-pro" in p for p in hd)
    assert any("webhook_url" in p for p in problems_of(prompt="x", model="openai/sora-2", webhook_url="https://a.b/c"))


def test_an_image_that_does_not_match_the_size_is_refused_with_the_fix() -> None:
    problems = problems_of(prompt="x", model="openai/sora-2", aspect_ratio="16:9", images=[image_bytes((64, 36))])
    assert len(problems) == 1
    assert "(64x36)" in problems[0] and "exactly the video size 1280x720" in problems[0]
    assert "fit_image=crop" in problems[0] and "fit_image=pad" in problems[0]
    # no size given: the default 720x1280 is what the image must match
    assert "720x1280" in problems_of(prompt="x", model="relay-openai/sora-2", images=[image_bytes((64, 36))])[0]


@pytest.mark.parametrize("mode", ["crop", "pad"])
def test_fit_image_resizes_the_image_that_is_sent(mode: str) -> None:
    req = create_request(prompt="x", model="relay-openai/sora-2", aspect_ratio="16:9",
                         images=[image_bytes((64, 36), fmt="JPEG")], options={"fit_image": mode})  # fmt: skip
    filename, ctype, payload = form(req)["input_reference"]
    with Image.open(io.BytesIO(payload)) as im:
        assert im.size == (1280, 720) and im.format == "JPEG"
    assert (filename, ctype) == ("image0.jpg", "image/jpeg")


def test_url_images_cannot_be_resized_or_sent_as_file_parts() -> None:
    url = "https://example.com/ref.png"
    fit = problems_of(prompt="x", model="openai/sora-2", images=[url], options={"fit_image": "crop"})
    assert any("options.fit_image" in p and "only resize local images" in p for p in fit)
    multipart = problems_of(prompt="x", model="openai/sora-2", images=[url], options={"transport": "multipart"})
    assert any("expected a file, but got a string" in p for p in multipart)
    # relay-openai takes files only: the client downloads a URL image first (SSRF-guarded), so no problem yet
    assert problems_of(prompt="x", model="relay-openai/sora-2", images=[url], options={"fit_image": "crop"}) == []


def test_a_mismatching_image_downloaded_after_preflight_is_refused_before_sending() -> None:
    request = VideoRequest(prompt="x", model="relay-openai/sora-2", images=[image_bytes((64, 36))])
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=OpenAIVideosOptions)
    flow = DIALECT.submit(Prepared(request, spec, report.images, assign_roles(report.images, spec), "k"), RELAY)
    with pytest.raises(ValidationError) as info:
        next(flow)
    assert "exactly the video size 720x1280" in str(info.value)


def test_options_are_typed_per_model() -> None:
    assert any("options.private" in p for p in problems_of(prompt="x", model="openai/sora-2",
                                                           options={"private": True}))  # fmt: skip
    assert any("options.fit_image" in p for p in problems_of(prompt="x", model="openai/sora-2",
                                                             options={"fit_image": "stretch"}))  # fmt: skip
    timestamps = problems_of(prompt="x", model="relay-openai/sora-2", options={"character_timestamps": "1,9"})
    assert any("1 to 3 seconds" in p for p in timestamps)


def test_retired_openai_models_are_refused_without_the_override() -> None:
    request = VideoRequest(prompt="x", model="openai/sora-2")
    report = check(request, CATALOG.resolve("openai/sora-2"), options_model=OpenAIVideosOptions)
    assert any("retired on 2026-09-24" in p.explain() and "--allow-retired" in p.explain() for p in report.problems)
    allowed = check(request, CATALOG.resolve("openai/sora-2"), options_model=OpenAIVideosOptions, allow_retired=True)
    assert allowed.ok and any("retired on 2026-09-24" in w for w in allowed.warnings)


def test_the_blocking_driver_drives_a_whole_flow() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "video_1", "object": "video", "status": "queued", "progress": 0},
                              headers={"openai-poll-after-ms": "1000"})  # fmt: skip

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        update = BlockingDriver(client).run(DIALECT.submit(prepared(prompt="x", model="openai/sora-2"), OPENAI))
    assert update.provider_task_id == "video_1" and update.poll_after == 1.0
