"""fal queue dialect, sans-IO: golden requests from the reference's examples, returned URLs, statuses, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vidgate.catalog import check, load_catalog
from vidgate.catalog.validate import assign_roles
from vidgate.errors import AuthenticationError, ProtocolError, ProviderServerError, ValidationError
from vidgate.providers import Connection, Prepared, get_dialect
from vidgate.providers.fal import STATUS_MAP, Fal, FalOptions, fal_http_error, image_fields, request_path
from vidgate.types import ErrorCode, ImageInput, ImageRole, JobStatus, VideoRequest

KLING3_I2V_KEY = "fal/fal-ai/kling-video/v3/pro/image-to-video"
FLUX_KEY = "fal/blackforestlabs/flux-3-max/text-to-video"
VEO_KEY = "fal/fal-ai/veo3.1"
KLING26_KEY = "fal/fal-ai/kling-video/v2.6/pro/text-to-video"

DIALECT = Fal()
CATALOG = load_catalog()
BASE = "https://queue.fal.run"


def conn(base_url: str = BASE) -> Connection:
    return Connection(provider=CATALOG.providers["fal"], base_url=base_url, api_key="fal-key-1")


def prepared(**fields: Any) -> Prepared:
    request = VideoRequest(**fields)
    spec = CATALOG.resolve(request.model)
    report = check(request, spec, options_model=FalOptions)
    assert report.ok, [p.explain() for p in report.problems]
    return Prepared(request, spec, report.images, assign_roles(report.images, spec), "idem-1")


def submit(**fields: Any) -> httpx.Request:
    return next(DIALECT.submit(prepared(**fields), conn()))


def body(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def drive(flow: Any, *responses: httpx.Response) -> Any:
    sent = [next(flow)]
    try:
        for response in responses:
            sent.append(flow.send(response))
    except StopIteration as stop:
        return sent, stop.value
    raise AssertionError("flow did not finish")


def test_registered_and_every_fal_model_uses_it() -> None:
    assert isinstance(get_dialect("fal"), Fal)
    assert {m.dialect for m in CATALOG.models.values() if m.provider == "fal"} == {"fal"}


def test_golden_kling_v26_text_to_video() -> None:
    request = submit(model=KLING26_KEY, prompt="a cat", duration=10, aspect_ratio="9:16",
                     options={"negative_prompt": "blur", "generate_audio": False})  # fmt: skip
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/fal-ai/kling-video/v2.6/pro/text-to-video"
    assert request.headers["authorization"] == "Key fal-key-1"
    assert body(request) == {"prompt": "a cat", "duration": "10", "aspect_ratio": "9:16",
                             "negative_prompt": "blur", "generate_audio": False}  # fmt: skip


def test_image_field_names_are_catalog_data() -> None:
    v3 = CATALOG.resolve(KLING3_I2V_KEY)
    assert image_fields(v3) == {ImageRole.first_frame: "start_image_url", ImageRole.last_frame: "end_image_url"}
    pair = [ImageInput(source="https://e.x/a.png"), ImageInput(source="https://e.x/b.png")]
    sent = body(submit(model=KLING3_I2V_KEY, prompt="go", images=pair))
    assert sent["start_image_url"] == "https://e.x/a.png" and sent["end_image_url"] == "https://e.x/b.png"
    sent = body(
        submit(
            model="fal/bytedance/seedance-2.0/image-to-video",
            prompt="go",
            images=[ImageInput(source="https://e.x/a.png")],
        )
    )
    assert sent["image_url"] == "https://e.x/a.png"
    sent = body(submit(model="fal/fal-ai/kling-video/v4/image-to-video", prompt="go", images=[
        ImageInput(source="https://e.x/a.png", role=ImageRole.first_frame),
        ImageInput(source="https://e.x/m.png", role=ImageRole.reference),
        ImageInput(source="https://e.x/z.png", role=ImageRole.last_frame)]))  # fmt: skip
    assert sent["middle_image_urls"] == ["https://e.x/m.png"] and sent["end_image_url"] == "https://e.x/z.png"


def test_duration_wire_types_per_app() -> None:
    assert body(submit(model=FLUX_KEY, prompt="x", duration=5))["duration"] == 5
    assert body(submit(model=VEO_KEY, prompt="x", duration=8))["duration"] == "8s"
    assert (
        body(submit(model="fal/bytedance/seedance-2.0/text-to-video", prompt="x", duration=5, resolution="720p"))[
            "resolution"
        ]
        == "720p"
    )


def test_control_headers_and_webhook() -> None:
    request = submit(model=KLING26_KEY, prompt="x", options={
        "queue_priority": "low", "request_timeout_s": 30, "no_retry": True, "output_expiration_s": 3600,
        "webhook_url": "https://me.example/hooks/fal"})  # fmt: skip
    assert request.headers["x-fal-queue-priority"] == "low"
    assert request.headers["x-fal-request-timeout"] == "30" and request.headers["x-fal-no-retry"] == "1"
    assert json.loads(request.headers["x-fal-object-lifecycle-preference"]) == {"expiration_duration_seconds": 3600}
    assert request.url.params["fal_webhook"] == "https://me.example/hooks/fal"
    assert set(body(request)) == {"prompt"}


SUBMIT_ANSWER = {  # the reference's example, for fal-ai/kling-video/v3/pro/text-to-video
    "request_id": "764cabcf-b745-4b3e-ae38-1200304cf45b", "gateway_request_id": "764cabcf-b745-4b3e-ae38-1200304cf45b",
    "status": "IN_QUEUE", "queue_position": 0,
    "response_url": f"{BASE}/fal-ai/kling-video/requests/764cabcf-b745-4b3e-ae38-1200304cf45b",
    "status_url": f"{BASE}/fal-ai/kling-video/requests/764cabcf-b745-4b3e-ae38-1200304cf45b/status",
    "cancel_url": f"{BASE}/fal-ai/kling-video/requests/764cabcf-b745-4b3e-ae38-1200304cf45b/cancel",
}  # fmt: skip


def test_submit_answer_and_urls_without_the_sub_path() -> None:
    p = prepared(model="fal/fal-ai/kling-video/v3/pro/text-to-video", prompt="x")
    _, update = drive(DIALECT.submit(p, conn()), httpx.Response(200, json=SUBMIT_ANSWER))
    assert update.status is JobStatus.queued and update.raw_status == "IN_QUEUE"
    assert update.provider_task_id == SUBMIT_ANSWER["request_id"]
    assert request_path(p.spec.model, "r1") == "fal-ai/kling-video/requests/r1"


@pytest.mark.parametrize("url", ["https://evil.example/fal-ai/kling-video/requests/764cabcf-b745-4b3e-ae38-1200304cf45b",
                                 f"{BASE}/fal-ai/other/requests/764cabcf-b745-4b3e-ae38-1200304cf45b"])  # fmt: skip
def test_returned_urls_elsewhere_are_refused(url: str) -> None:
    p = prepared(model="fal/fal-ai/kling-video/v3/pro/text-to-video", prompt="x")
    with pytest.raises(ProtocolError):
        drive(DIALECT.submit(p, conn()), httpx.Response(200, json={**SUBMIT_ANSWER, "response_url": url}))


def test_status_table() -> None:
    assert STATUS_MAP["IN_QUEUE"] is JobStatus.queued and STATUS_MAP["IN_PROGRESS"] is JobStatus.running
    assert STATUS_MAP["COMPLETED"] is None  # decided by the result fetch


def test_poll_then_result() -> None:
    spec = CATALOG.resolve("fal/fal-ai/kling-video/v3/pro/text-to-video")
    flow = DIALECT.status("r1", spec, conn())
    done = {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 12.5}}
    video = {"video": {"url": "https://v3b.fal.media/files/x.mp4", "content_type": "video/mp4", "file_name": "x.mp4",
                       "file_size": 123}, "seed": 7}  # fmt: skip
    sent, update = drive(flow, httpx.Response(200, json=done), httpx.Response(200, json=video))
    assert [str(r.url) for r in sent] == [f"{BASE}/fal-ai/kling-video/requests/r1/status?logs=1",
                                          f"{BASE}/fal-ai/kling-video/requests/r1"]  # fmt: skip
    assert update.status is JobStatus.succeeded and update.assets[0].url == "https://v3b.fal.media/files/x.mp4"
    progress = {"status": "IN_PROGRESS", "logs": [{"message": "step 3"}]}
    _, running = drive(DIALECT.status("r1", spec, conn()), httpx.Response(200, json=progress))
    assert running.status is JobStatus.running


def test_failure_read_from_the_result() -> None:
    spec = CATALOG.resolve("fal/fal-ai/kling-video/v3/pro/text-to-video")
    error = {"detail": "Request timed out", "error_type": "request_timeout"}
    _, update = drive(DIALECT.status("r1", spec, conn()), httpx.Response(200, json={"status": "COMPLETED"}),
                      httpx.Response(504, json=error, headers={"X-Fal-Error-Type": "request_timeout"}))  # fmt: skip
    assert update.status is JobStatus.failed and update.error.retryable
    _, update = drive(DIALECT.status("r1", spec, conn()), httpx.Response(200, json={"status": "COMPLETED"}),
                      httpx.Response(422, json={"detail": [{"loc": ["body", "prompt"], "msg": "bad"}]}))  # fmt: skip
    assert update.error.code is ErrorCode.invalid_request


def test_422_detail_maps_to_field_problems() -> None:
    spec = CATALOG.resolve(KLING3_I2V_KEY)
    detail = {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"},
                         {"loc": ["body", "start_image_url"], "msg": "invalid url", "type": "value_error.url"},
                         {"loc": ["body", "duration"], "msg": "bad", "type": "value_error.const"}]}  # fmt: skip
    exc = fal_http_error("fal", httpx.Response(422, json=detail), spec)
    assert isinstance(exc, ValidationError)
    assert [p.field for p in exc.problems] == ["prompt", "images", "duration"]
    plain = fal_http_error("fal", httpx.Response(422, json={"detail": "bad input"}), spec)
    assert not isinstance(plain, ValidationError)


def test_http_errors() -> None:
    assert isinstance(fal_http_error("fal", httpx.Response(401, json={"detail": "no"})), AuthenticationError)
    exc = fal_http_error("fal", httpx.Response(503, json={"detail": "x", "error_type": "runner_scheduling_failure"},
                                               headers={"X-Fal-Error-Type": "runner_scheduling_failure"}))  # fmt: skip
    assert isinstance(exc, ProviderServerError) and exc.code == "runner_scheduling_failure"


@pytest.mark.parametrize(("answer", "status"), [
    ({"status": "OK"}, JobStatus.cancelled), ({"status": "CANCELLATION_REQUESTED"}, JobStatus.cancelled),
    ({"status": "ALREADY_COMPLETED"}, None)])  # fmt: skip
def test_cancel(answer: dict[str, str], status: JobStatus | None) -> None:
    spec = CATALOG.resolve("fal/fal-ai/kling-video/v3/pro/text-to-video")
    sent, update = drive(DIALECT.cancel("r1", spec, conn()), httpx.Response(202 if status else 400, json=answer))
    assert sent[0].method == "PUT" and str(sent[0].url) == f"{BASE}/fal-ai/kling-video/requests/r1/cancel"
    assert update.status is status
