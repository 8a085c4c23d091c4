"""Gemini Omni on the Interactions API, sans-IO: golden requests (google-2026.md examples A and B), the status
map, failures, inline and URI results, cancel."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.conftest import image_bytes
from tests.providers.google_helpers import BASE, answer, drive, prepare, sent
from vidgate import ImageInput, ImageRole, JobStatus, ValidationError
from vidgate.catalog import load_catalog
from vidgate.providers._json_stream import ELIDE_MIN_CHARS
from vidgate.providers.google_interactions import STATUS_MAP, GoogleInteractions
from vidgate.providers.google_interactions import Interaction as InteractionModel
from vidgate.types import ErrorCode

D = GoogleInteractions()


def test_golden_example_a_text_to_video_synchronous() -> None:
    sub = prepare(
        "A red ball rolls across a white table, continuous smooth shot.", model="gemini-omni-1.2-flash",
        duration=8, aspect_ratio="16:9", resolution="720p",
        options={"seed": 7, "delivery": "inline", "background": False},
    )  # fmt: skip
    request, body = sent(D.submit(sub.prepared, sub.connection))
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1beta/interactions"
    assert request.headers["x-goog-api-key"] == "K" and request.headers["content-type"] == "application/json"
    assert body == {
        "model": "gemini-omni-1.2-flash",
        "input": "A red ball rolls across a white table, continuous smooth shot.",
        "generation_config": {"seed": 7, "video_config": {"task": "text_to_video"}},
        "response_format": {"type": "video", "aspect_ratio": "16:9", "resolution": "720p", "duration": "8s",
                            "delivery": "inline"},
        "response_modalities": ["video"],
    }  # fmt: skip


def test_golden_example_b_image_to_video_background_uri() -> None:
    png = image_bytes()
    sub = prepare(
        "Animate this photo: the cat stands up and walks out of frame.", model="gemini-omni-1.2-flash",
        images=[png], aspect_ratio="9:16", duration=5, options={"delivery": "uri"},
    )  # fmt: skip
    _, body = sent(D.submit(sub.prepared, sub.connection))
    assert body == {
        "model": "gemini-omni-1.2-flash",
        "background": True,
        "input": [{"type": "user_input", "content": [
            {"type": "image", "mime_type": "image/png", "data": base64.b64encode(png).decode()},
            {"type": "text", "text": "Animate this photo: the cat stands up and walks out of frame."}]}],
        "generation_config": {"video_config": {"task": "image_to_video"}},
        "response_format": {"type": "video", "aspect_ratio": "9:16", "duration": "5s", "delivery": "uri"},
        "response_modalities": ["video"],
    }  # fmt: skip
    created = drive(D.submit(sub.prepared, sub.connection), answer({"id": "v1_Q2hk", "status": "in_progress"}))
    assert created.status is JobStatus.running and created.provider_task_id == "v1_Q2hk"


def test_task_derivation_webhook_and_uri_images() -> None:
    refs = [ImageInput(source=image_bytes(), role=ImageRole.reference) for _ in range(2)]
    sub = prepare("two friends", model="gemini-omni-1.2-flash", images=refs, webhook_url="https://example.com/hook",
                  options={"webhook_metadata": {"job": "42"}})  # fmt: skip
    _, body = sent(D.submit(sub.prepared, sub.connection))
    assert body["generation_config"]["video_config"]["task"] == "reference_to_video"
    assert body["webhook_config"] == {"uris": ["https://example.com/hook"], "user_metadata": {"job": "42"}}
    two = prepare("morph", model="gemini-omni-1.1-flash", images=[image_bytes(), "gs://bucket/last.png"])
    _, body = sent(D.submit(two.prepared, two.connection))
    content = body["input"][0]["content"]
    assert content[1] == {"type": "image", "uri": "gs://bucket/last.png", "mime_type": "image/png"}
    assert body["generation_config"]["video_config"]["task"] == "image_to_video"
    ext = prepare("longer", model="gemini-omni-1.2-flash", duration=5,
                  options={"task": "extend", "previous_interaction_id": "v1_prev"})  # fmt: skip
    _, body = sent(D.submit(ext.prepared, ext.connection))
    assert (
        body["previous_interaction_id"] == "v1_prev" and body["generation_config"]["video_config"]["task"] == "extend"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration": 2}, "duration"),
        ({"duration": 20}, "duration"),
        ({"options": {"previous_interaction_id": "v1_x"}}, "options.task"),
        ({"options": {"task": "extend"}}, "options.videos"),
        ({"duration": 12, "options": {"task": "extend", "previous_interaction_id": "v1_x"}}, "duration"),
        ({"images": [ImageInput(source=image_bytes(), role=ImageRole.first_frame),
                     ImageInput(source=image_bytes(), role=ImageRole.reference)]}, "images"),
        ({"options": {"task": "image_to_video"}}, "options.task"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_before_any_io(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        prepare("a clip", model="gemini-omni-1.2-flash", **fields)  # type: ignore[arg-type]
    assert field in [p.field for p in info.value.problems]


def test_status_map_covers_the_whole_enum() -> None:
    from typing import get_args

    from google.genai._gaos.types.interactions.interaction import InteractionStatus

    enum = set(get_args(get_args(InteractionStatus)[0]))
    assert set(STATUS_MAP) == enum  # every documented value mapped explicitly
    terminal = {k for k, v in STATUS_MAP.items() if v is not None and v.terminal}
    assert terminal == {"completed", "failed", "cancelled", "incomplete", "budget_exceeded"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("in_progress", JobStatus.running), ("queued", JobStatus.queued), ("requires_action", None),
     ("idle", None), ("requires_continuation", None), ("something_new", None), ("cancelled", JobStatus.cancelled),
     ("budget_exceeded", JobStatus.failed), ("incomplete", JobStatus.failed)],
)  # fmt: skip
def test_status_mapping(raw: str, expected: JobStatus | None) -> None:
    sub = prepare("x", model="gemini-omni-1.2-flash")
    update = drive(D.status("v1_a", sub.prepared.spec, sub.connection), answer({"id": "v1_a", "status": raw}))
    assert update.status is expected and update.raw_status == raw


def test_completed_inline_video_is_elided_and_pointed_at() -> None:
    sub = prepare("x", model="gemini-omni-1.2-flash")
    video = base64.b64encode(b"\x00\x00\x00\x18ftypmp42" + bytes(9000)).decode()
    assert len(video) >= ELIDE_MIN_CHARS
    body = {"id": "v1_a", "status": "completed", "steps": [
        {"type": "user_input", "content": [{"type": "text", "text": "x"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "here"},
                                             {"type": "video", "mime_type": "video/mp4", "data": video}]}]}  # fmt: skip
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body, request=request)

    update = drive(D.status("v1_a", sub.prepared.spec, sub.connection), handler)
    assert str(seen[0].url) == f"{BASE}/v1beta/interactions/v1_a?stream=false"
    assert update.status is JobStatus.succeeded and len(update.assets) == 1
    asset = update.assets[0]
    assert asset.url == f"{BASE}/v1beta/interactions/v1_a#/steps/1/content/1/data"
    assert video not in json.dumps(update.raw)  # the base64 is never kept in the job
    download = D.download_request(asset, sub.connection)
    assert str(download.url) == f"{BASE}/v1beta/interactions/v1_a?stream=false"
    assert download.headers["x-goog-api-key"] == "K"
    decoder = D.download_transform(asset)
    assert decoder is not None
    raw = json.dumps(body).encode()
    out = b"".join(decoder.feed(raw[i : i + 100]) for i in range(0, len(raw), 100)) + decoder.close()
    assert out == base64.b64decode(video)


def test_uri_results_download_with_the_key_only_on_the_api_host() -> None:
    sub = prepare("x", model="gemini-omni-1.2-flash")
    body = {"id": "v1_a", "status": "completed", "steps": [{"type": "model_output", "content": [
        {"type": "video", "mime_type": "video/mp4", "uri": f"{BASE}/v1beta/files/abc123"}]}]}  # fmt: skip
    update = drive(D.status("v1_a", sub.prepared.spec, sub.connection), answer(body))
    request = D.download_request(update.assets[0], sub.connection)
    assert str(request.url) == f"{BASE}/v1beta/files/abc123:download?alt=media"
    assert request.headers["x-goog-api-key"] == "K"
    assert D.download_transform(update.assets[0]) is None
    foreign = update.assets[0].model_copy(update={"url": "https://storage.example.com/v.mp4?sig=1"})
    assert "x-goog-api-key" not in D.download_request(foreign, sub.connection).headers


@pytest.mark.parametrize(
    ("body", "code", "retryable"),
    [
        ({"status": "failed", "errors": [{"code": "SAFETY", "message": "blocked by the safety filter"}]},
         ErrorCode.content_policy_output, False),
        ({"status": "failed", "errors": [{"code": "x", "message": "Your prompt violates our policy"}]},
         ErrorCode.content_policy_input, False),
        ({"status": "failed", "steps": [{"type": "model_output", "error": {"code": 13, "message": "Internal"}}]},
         ErrorCode.provider_error, True),
        ({"status": "failed", "steps": [{"type": "model_output", "error": {"code": 3, "message": "bad arg"}}]},
         ErrorCode.invalid_request, False),
        ({"status": "budget_exceeded"}, ErrorCode.quota_exceeded, False),
        ({"status": "incomplete"}, ErrorCode.provider_error, True),
        ({"status": "completed", "steps": []}, ErrorCode.provider_error, True),
    ],
)  # fmt: skip
def test_failures_map_to_job_errors(body: dict[str, object], code: ErrorCode, retryable: bool) -> None:
    sub = prepare("x", model="gemini-omni-1.2-flash")
    update = drive(D.status("v1_a", sub.prepared.spec, sub.connection), answer({"id": "v1_a", **body}))
    assert update.status is JobStatus.failed
    assert update.error is not None and update.error.code is code and update.error.retryable is retryable


def test_cancel_flow_and_google_error_envelope() -> None:
    from vidgate.errors import ProviderHTTPError

    sub = prepare("x", model="gemini-omni-1.2-flash")
    request, _ = sent(D.cancel("v1_a", sub.prepared.spec, sub.connection))
    assert request.method == "POST" and str(request.url) == f"{BASE}/v1beta/interactions/v1_a/cancel"
    update = drive(D.cancel("v1_a", sub.prepared.spec, sub.connection), answer({"id": "v1_a", "status": "cancelled"}))
    assert update.status is JobStatus.cancelled and update.error is not None
    envelope = {"error": {"code": 404, "message": "Interaction v1_b not found.", "status": "NOT_FOUND"}}
    with pytest.raises(ProviderHTTPError) as info:
        drive(D.status("v1_b", sub.prepared.spec, sub.connection), answer(envelope, 404))
    assert info.value.status_code == 404 and "not found" in info.value.message


def test_interaction_model_keeps_unknown_fields() -> None:
    ia = InteractionModel.model_validate({"id": "v1_a", "status": "completed", "usage": {"total_tokens": 3}})
    assert ia.model_extra == {"usage": {"total_tokens": 3}}


def test_catalog_limits_and_choices_are_pinned() -> None:
    cat = load_catalog()
    new, old = cat.resolve("gemini-omni-1.2-flash"), cat.resolve("gemini-omni-1.1-flash")
    assert (new.duration.min, new.duration.max, old.duration.min, old.duration.max) == (3, 15, 3, 10)
    assert new.duration.wire_type == "seconds_suffix" and new.duration.encode(8) == "8s"
    assert new.resolution.values == ["360p", "720p", "1080p", "4k"]
    assert (new.images.max_count, old.images.max_count) == (6, 3)
    assert new.extension is not None and new.extension.max_total_s == 30
    assert old.extension is not None and old.extension.max_total_s == 40
    assert old.video_inputs.max_count == 3 and old.video_inputs.max_seconds == 3
    assert any("/v1beta/" in n for n in new.notes) and new.results.download_auth
