"""Veo on Vertex (predictLongRunning + fetchPredictOperation) and the legacy Gemini API Veo protocol, sans-IO:
golden requests, operation parsing, safety filters, downloads, settings and credentials."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest

from tests.conftest import image_bytes
from tests.providers.google_helpers import BASE, answer, drive, prepare, sent
from vidgate import Client, ImageInput, ImageRole, JobStatus, ValidationError
from vidgate.catalog import is_retired, load_catalog, sunset_warning
from vidgate.errors import ConfigurationError
from vidgate.providers.google_veo_legacy import GoogleVeoLegacy
from vidgate.providers.google_vertex import GoogleVertexVeo
from vidgate.types import ErrorCode

V, L = GoogleVertexVeo(), GoogleVeoLegacy()
VBASE = "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1"
MODEL = f"{VBASE}/publishers/google/models/veo-3.1-generate-001"
OP = "projects/my-proj/locations/us-central1/publishers/google/models/veo-3.1-generate-001/operations/op1"


def test_vertex_golden_request_matches_the_sdk_wire_names() -> None:
    png = image_bytes()
    sub = prepare("a cat", model="veo-3.1-generate-001", images=[png], duration=8, aspect_ratio="16:9",
                  resolution="1080p", options={"sample_count": 1, "seed": 3, "person_generation": "allow_adult",
                                               "generate_audio": True, "negative_prompt": "blurry",
                                               "storage_uri": "gs://bucket/out"})  # fmt: skip
    request, body = sent(V.submit(sub.prepared, sub.connection))
    assert str(request.url) == f"{MODEL}:predictLongRunning"
    assert request.headers["authorization"] == "Bearer ya29.token"
    assert body == {
        "instances": [{"prompt": "a cat", "image": {"bytesBase64Encoded": base64.b64encode(png).decode(),
                                                    "mimeType": "image/png"}}],
        "parameters": {"durationSeconds": 8, "aspectRatio": "16:9", "resolution": "1080p", "sampleCount": 1,
                       "seed": 3, "personGeneration": "allow_adult", "generateAudio": True,
                       "negativePrompt": "blurry", "storageUri": "gs://bucket/out"},
    }  # fmt: skip
    assert isinstance(body["parameters"]["durationSeconds"], int)  # a JSON number, not "8" (catalog note)


def test_vertex_frames_references_and_gcs_images() -> None:
    sub = prepare("morph", model="veo-3.1-generate-001", images=[image_bytes(), "gs://b/last.jpg"])
    _, body = sent(V.submit(sub.prepared, sub.connection))
    assert set(body["instances"][0]) == {"prompt", "image", "lastFrame"}
    assert body["instances"][0]["lastFrame"] == {"gcsUri": "gs://b/last.jpg", "mimeType": "image/jpeg"}
    refs = [ImageInput(source=image_bytes(), role=ImageRole.reference) for _ in range(3)]
    sub = prepare("hero", model="veo-3.1-generate-001", images=refs)
    _, body = sent(V.submit(sub.prepared, sub.connection))
    assert [r["referenceType"] for r in body["instances"][0]["referenceImages"]] == ["asset"] * 3


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("veo-3.1-generate-001", {"resolution": "1080p", "duration": 4}, "duration"),
        ("veo-3.1-generate-001", {"resolution": "4k", "duration": 6}, "duration"),
        ("veo-3.1-fast-generate-001", {"images": [ImageInput(source=image_bytes(), role=ImageRole.reference)]},
         "images[0].role"),
        ("veo-3.1-generate-001", {"images": [ImageInput(source=image_bytes(), role=ImageRole.last_frame)]}, "images"),
        ("veo-3.1-generate-001", {"images": [ImageInput(source=image_bytes(), role=ImageRole.reference)],
                                  "duration": 6}, "duration"),
        ("veo-3.1-generate-001", {"images": [ImageInput(source=image_bytes(), role=ImageRole.reference)],
                                  "aspect_ratio": "9:16"}, "aspect_ratio"),
        ("veo-3.1-generate-001", {"options": {"storage_uri": "s3://x"}}, "options.storage_uri"),
        ("veo-3.1-generate-001", {"options": {"sample_count": 5}}, "options.sample_count"),
        ("veo-3.1-fast-generate-001", {"images": ["gs://b/x.png"] * 3}, "images"),
    ],
)  # fmt: skip
def test_vertex_bad_requests_are_refused(model: str, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        prepare("a clip", model=model, **fields)
    assert field in [p.field for p in info.value.problems]


def _op(**extra: Any) -> dict[str, Any]:
    return {"name": OP, **extra}


def test_vertex_operation_states_and_results() -> None:
    sub = prepare("x", model="veo-3.1-generate-001")
    spec, conn = sub.prepared.spec, sub.connection
    request, body = sent(V.status(OP, spec, conn))
    assert str(request.url) == f"{MODEL}:fetchPredictOperation" and body == {"operationName": OP}
    assert drive(V.status(OP, spec, conn), answer(_op())).status is JobStatus.running
    assert drive(V.status(OP, spec, conn), answer(_op(done=False))).status is JobStatus.running
    gcs = drive(V.status(OP, spec, conn), answer(_op(done=True, response={"videos": [
        {"gcsUri": "gs://bucket/out/op1/sample_0.mp4", "mimeType": "video/mp4"}]})))  # fmt: skip
    assert gcs.status is JobStatus.succeeded and gcs.assets[0].url == "gs://bucket/out/op1/sample_0.mp4"
    dl = V.download_request(gcs.assets[0], conn)
    assert str(dl.url) == "https://storage.googleapis.com/storage/v1/b/bucket/o/out%2Fop1%2Fsample_0.mp4?alt=media"
    assert dl.headers["authorization"] == "Bearer ya29.token"
    data = base64.b64encode(bytes(6000)).decode()
    inline = drive(V.status(OP, spec, conn), answer(_op(done=True, response={"videos": [
        {"bytesBase64Encoded": data, "mimeType": "video/mp4"}]})))  # fmt: skip
    asset = inline.assets[0]
    assert asset.url == f"{VBASE.split('/v1/')[0]}/v1/{OP}#/response/videos/0/bytesBase64Encoded"
    again = V.download_request(asset, conn)
    assert again.method == "POST" and str(again.url) == f"{MODEL}:fetchPredictOperation"
    assert data not in str(inline.raw)


@pytest.mark.parametrize(
    ("response", "code"),
    [
        ({"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["violates usage guidelines"]},
         ErrorCode.content_policy_output),
        ({"raiMediaFilteredCount": 1}, ErrorCode.content_policy_output),
        ({}, ErrorCode.provider_error),
    ],
)  # fmt: skip
def test_vertex_filtered_or_empty_results_fail_never_succeed(response: dict[str, Any], code: ErrorCode) -> None:
    sub = prepare("x", model="veo-3.1-generate-001")
    update = drive(V.status(OP, sub.prepared.spec, sub.connection), answer(_op(done=True, response=response)))
    assert update.status is JobStatus.failed and update.error is not None and update.error.code is code


def test_vertex_operation_error_maps_rpc_codes() -> None:
    sub = prepare("x", model="veo-3.1-generate-001")
    for rpc, code in ((3, ErrorCode.invalid_request), (8, ErrorCode.rate_limited), (13, ErrorCode.provider_error)):
        err = {"code": rpc, "message": "boom"}
        update = drive(V.status(OP, sub.prepared.spec, sub.connection), answer(_op(done=True, error=err)))
        assert update.status is JobStatus.failed and update.error is not None and update.error.code is code


def test_vertex_settings_base_url_and_global_host() -> None:
    sub = prepare("x", model="veo-3.1-generate-001", env={"VIDGATE_VERTEX_LOCATION": "global"})
    request, _ = sent(V.submit(sub.prepared, sub.connection))
    assert str(request.url).startswith("https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/")
    with pytest.raises(ConfigurationError) as info:
        prepare("x", model="veo-3.1-generate-001", env={"VIDGATE_VERTEX_PROJECT": ""})
    assert "VIDGATE_VERTEX_PROJECT" in str(info.value)


def test_vertex_token_from_application_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth

    from vidgate import credentials

    class FakeCreds:
        valid, token = True, "adc-token"

    credentials.reset()
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (FakeCreds(), "adc-project"))
    with Client(env={}) as client:
        sub = client.prepare("x", model="veo-3.1-generate-001")
    credentials.reset()
    request, _ = sent(V.submit(sub.prepared, sub.connection))
    assert request.headers["authorization"] == "Bearer adc-token" and "/projects/adc-project/" in str(request.url)


def test_vertex_sunset_is_upstream_warned_not_refused() -> None:
    spec = load_catalog().resolve("veo-3.1-generate-001")
    assert spec.sunset is not None and spec.sunset.kind == "upstream" and spec.sunset.date == date(2026, 11, 17)
    assert not is_retired(spec, date(2026, 11, 26))
    warning = sunset_warning(spec, date(2026, 11, 26))
    assert warning is not None and "gemini-omni-1.2-flash" in warning


# ---------------------------------------------------------------- legacy Gemini API Veo


def test_legacy_golden_request_from_the_2_34_capture() -> None:
    png = image_bytes()
    sub = prepare("A neon hologram of a cat", model="veo-3.1-generate-preview", allow_retired=True, images=[png],
                  duration=8, aspect_ratio="16:9", resolution="720p",
                  options={"sample_count": 1, "negative_prompt": "blurry"})  # fmt: skip
    request, body = sent(L.submit(sub.prepared, sub.connection))
    assert str(request.url) == f"{BASE}/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    assert request.headers["x-goog-api-key"] == "K"
    assert body == {
        "instances": [{"prompt": "A neon hologram of a cat",
                       "image": {"bytesBase64Encoded": base64.b64encode(png).decode(), "mimeType": "image/png"}}],
        "parameters": {"sampleCount": 1, "durationSeconds": 8, "aspectRatio": "16:9", "resolution": "720p",
                       "negativePrompt": "blurry"},
    }  # fmt: skip
    assert list(body["parameters"]) == ["sampleCount", "durationSeconds", "aspectRatio", "resolution", "negativePrompt"]
    created = drive(L.submit(sub.prepared, sub.connection),
                    answer({"name": "models/veo-3.1-generate-preview/operations/op123"}))  # fmt: skip
    assert created.provider_task_id == "models/veo-3.1-generate-preview/operations/op123"


def test_legacy_operation_poll_and_results() -> None:
    sub = prepare("x", model="veo-3.1-generate-preview", allow_retired=True, webhook_url="https://example.com/h")
    spec, conn, name = sub.prepared.spec, sub.connection, "models/veo-3.1-generate-preview/operations/op123"
    _, body = sent(L.submit(sub.prepared, conn))
    assert body["webhookConfig"] == {"uris": ["https://example.com/h"]}
    request, _ = sent(L.status(name, spec, conn))
    assert request.method == "GET" and str(request.url) == f"{BASE}/v1beta/{name}"
    uri = f"{BASE}/v1beta/files/xyz:download?alt=media"
    done = {"name": name, "done": True, "response": {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}}  # fmt: skip
    update = drive(L.status(name, spec, conn), answer(done))
    assert update.status is JobStatus.succeeded and update.assets[0].url == uri
    dl = L.download_request(update.assets[0], conn)
    assert str(dl.url) == uri and dl.headers["x-goog-api-key"] == "K"
    filtered = {
        "name": name,
        "done": True,
        "response": {
            "generateVideoResponse": {
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": ["The input image resembles a public figure."],
            }
        },
    }
    update = drive(L.status(name, spec, conn), answer(filtered))
    assert update.status is JobStatus.failed and update.error is not None
    assert update.error.code is ErrorCode.content_policy_output and "public figure" in update.error.message
    assert drive(L.status(name, spec, conn), answer({"name": name})).status is JobStatus.running
    failed = drive(
        L.status(name, spec, conn), answer({"name": name, "done": True, "error": {"code": 3, "message": "x"}})
    )
    assert failed.status is JobStatus.failed and failed.error is not None
    assert failed.error.code is ErrorCode.invalid_request


def test_legacy_models_are_retired_with_their_dates() -> None:
    cat = load_catalog()
    dates = {
        m.model: m.sunset.date for m in cat.by_provider("gemini-legacy") if m.sunset and m.sunset.kind == "retired"
    }
    assert dates == {
        "veo-3.1-generate-preview": date(2026, 10, 22), "veo-3.1-fast-generate-preview": date(2026, 10, 22),
        "veo-3.1-lite-generate-preview": date(2026, 10, 22), "veo-3.0-generate-001": date(2026, 6, 30),
        "veo-3.0-fast-generate-001": date(2026, 6, 30), "veo-2.0-generate-001": date(2026, 6, 30),
    }  # fmt: skip
    with pytest.raises(ValidationError) as info:
        prepare("x", model="veo-3.1-generate-preview")
    assert [p.field for p in info.value.problems] == ["model"]
