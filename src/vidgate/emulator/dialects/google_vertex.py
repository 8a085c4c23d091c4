"""Veo on Vertex AI / Agent Platform, emulated: ``:predictLongRunning`` and ``:fetchPredictOperation``.

Served under ``/v1/`` (the REST docs) and ``/v1beta1/`` (what google-genai sends) at
``/projects/{p}/locations/{l}/publishers/google/models/{model}:<method>`` with ``Authorization: Bearer``
(the emulator's API keys are its valid tokens). Results come back inline (``bytesBase64Encoded``) or, when
``parameters.storageUri`` is set, as ``gcsUri`` objects served by an emulated Cloud Storage JSON API
(``GET /storage/v1/b/{bucket}/o/{object}?alt=media``). The fail trigger makes the safety filter withhold the
video (``raiMediaFilteredCount``); ``FAIL_STEP_ERROR`` ends the operation with ``error`` code 13.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects._google import (
    GoogleError,
    bad,
    check_b64,
    finished_ok,
    google_json,
    require_oauth,
    unknown_fields,
    video_b64,
)
from vidgate.emulator.facts import VEO_FPS, VERTEX_MODELS, EmuModel
from vidgate.emulator.files import job_video_response
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "google-vertex-veo"
VERSIONS = ("v1", "v1beta1")
STEP_FAIL_TRIGGER = "FAIL_STEP_ERROR"
RAI_REASON = (
    "Veo could not generate videos because the input image or prompt violates Vertex AI's usage guidelines. "
    "Support codes: 58061214"
)
INSTANCE_FIELDS = {"prompt", "image", "lastFrame", "referenceImages", "video", "mask"}
PARAMETER_FIELDS = {
    "sampleCount", "durationSeconds", "aspectRatio", "resolution", "generateAudio", "negativePrompt",
    "personGeneration", "seed", "storageUri", "enhancePrompt", "fps", "compressionQuality", "resizeMode",
    "pubsubTopic", "labels",
}  # fmt: skip
PERSON = {"allow_adult", "dont_allow", "allow_all"}


def vertex_models() -> dict[str, EmuModel]:
    return VERTEX_MODELS


def check_image(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise bad(f"{where} must be an Image object")
    unknown_fields(where, value, {"bytesBase64Encoded", "gcsUri", "mimeType"})
    if ("bytesBase64Encoded" in value) == ("gcsUri" in value):
        raise bad(f"{where}: exactly one of bytesBase64Encoded or gcsUri is required")
    if "bytesBase64Encoded" in value:
        check_b64(value["bytesBase64Encoded"], f"{where}.bytesBase64Encoded")
    elif not (isinstance(value["gcsUri"], str) and value["gcsUri"].startswith("gs://")):
        raise bad(f"{where}.gcsUri must be a gs:// URI")
    if value.get("mimeType") not in ("image/jpeg", "image/png", "image/webp"):
        raise bad(f"{where}.mimeType must be image/jpeg, image/png or image/webp")


def _int(params: dict[str, Any], name: str) -> int | None:
    if name not in params:
        return None
    value = params[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(f"parameters.{name} must be an integer, got {value!r}")
    return value


def check_predict(body: dict[str, Any], spec: EmuModel) -> dict[str, Any]:
    unknown_fields("", body, {"instances", "parameters"})
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise bad("instances must hold exactly one instance")
    inst = instances[0]
    unknown_fields("instances[0]", inst, INSTANCE_FIELDS)
    if not isinstance(inst.get("prompt"), str) or not inst["prompt"].strip():
        raise bad("instances[0].prompt is required")
    for name in ("image", "lastFrame"):
        if name in inst:
            check_image(inst[name], f"instances[0].{name}")
    if "lastFrame" in inst and "image" not in inst:
        raise bad("instances[0].lastFrame must be used together with instances[0].image")
    refs = inst.get("referenceImages")
    params = body.get("parameters", {})
    if not isinstance(params, dict):
        raise bad("parameters must be an object")
    unknown_fields("parameters", params, PARAMETER_FIELDS)
    duration = _int(params, "durationSeconds")
    if duration is not None and duration not in [int(v) for v in spec.durations]:
        raise bad(f"parameters.durationSeconds {duration} is not supported by {spec.model}: 4, 6 or 8")
    effective = duration if duration is not None else 8
    if refs is not None:
        if not takes_references(spec):
            raise bad(f"{spec.model} does not support referenceImages. Your use case is currently not supported.")
        if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
            raise bad("instances[0].referenceImages must hold 1 to 3 images")
        for i, ref in enumerate(refs):
            if not isinstance(ref, dict):
                raise bad(f"instances[0].referenceImages[{i}] must be an object")
            unknown_fields(f"instances[0].referenceImages[{i}]", ref, {"image", "referenceType"})
            check_image(ref.get("image"), f"instances[0].referenceImages[{i}].image")
            if ref.get("referenceType") not in ("asset", "style", "ASSET", "STYLE"):
                raise bad(f"instances[0].referenceImages[{i}].referenceType must be asset")
        if "image" in inst or "lastFrame" in inst:
            raise bad("referenceImages cannot be combined with image or lastFrame")
        if effective != 8:
            raise bad("reference images need durationSeconds 8")
        if params.get("aspectRatio", "16:9") != "16:9":
            raise bad("reference images support aspectRatio 16:9 only")
    if "aspectRatio" in params and params["aspectRatio"] not in spec.aspect_ratios:
        raise bad(f"parameters.aspectRatio must be one of {list(spec.aspect_ratios)}")
    if "resolution" in params:
        if params["resolution"] not in spec.resolutions:
            raise bad(f"parameters.resolution must be one of {list(spec.resolutions)}")
        if params["resolution"] in ("1080p", "4k") and effective != 8:
            raise bad(f"resolution {params['resolution']} needs durationSeconds 8")
    samples = _int(params, "sampleCount")
    if samples is not None and not 1 <= samples <= 4:
        raise bad("parameters.sampleCount must be 1 to 4")
    seed = _int(params, "seed")
    if seed is not None and not 0 <= seed <= 2**32 - 1:
        raise bad("parameters.seed must be an unsigned 32-bit integer")
    for flag in ("generateAudio", "enhancePrompt"):
        if flag in params and not isinstance(params[flag], bool):
            raise bad(f"parameters.{flag} must be a boolean")
    if "personGeneration" in params and params["personGeneration"] not in PERSON:
        raise bad(f"parameters.personGeneration must be one of {sorted(PERSON)}")
    if "storageUri" in params and not (
        isinstance(params["storageUri"], str) and params["storageUri"].startswith("gs://")
    ):
        raise bad("parameters.storageUri must be a gs:// URI")
    return params


def takes_references(spec: EmuModel) -> bool:
    return "reference" in spec.image_roles


def operation_json(state: EmulatorState, job: EmuJob) -> dict[str, Any]:
    out: dict[str, Any] = {"name": job.task_id}
    if job.meta.get("cancelled") or state.phase(job)[0] != "done":
        return out
    out["done"] = True
    if job.fail_reason == STEP_FAIL_TRIGGER:
        out["error"] = {"code": 13, "message": "Internal error encountered while generating the video."}
        return out
    response: dict[str, Any] = {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"}
    if job.fail_reason:
        response["raiMediaFilteredCount"] = job.meta["samples"]
        response["raiMediaFilteredReasons"] = [RAI_REASON]
        out["response"] = response
        return out
    storage = job.meta.get("storage_uri")
    videos = []
    for k in range(job.meta["samples"]):
        if storage:
            videos.append(
                {"gcsUri": f"{storage.rstrip('/')}/{job.meta['op_id']}/sample_{k}.mp4", "mimeType": "video/mp4"}
            )
        else:
            videos.append({"bytesBase64Encoded": video_b64(job), "mimeType": "video/mp4"})
    response["videos"] = videos
    out["response"] = response
    return out


def routes(state: EmulatorState) -> list[Route]:
    async def model_method(request: Request) -> JSONResponse:
        version = request.url.path.split("/")[1]
        model, _, method = request.path_params["model_method"].partition(":")
        state.count(f"POST /{version}/projects/{{p}}/locations/{{l}}/publishers/google/models/{{m}}:{method}")
        require_oauth(request, state)
        body = await google_json(request)
        models = vertex_models()
        if model not in models:
            raise GoogleError(
                404, f"Publisher Model `projects/{request.path_params['project']}/locations/"
                f"{request.path_params['location']}/publishers/google/models/{model}` is not found."
            )  # fmt: skip
        spec = models[model]
        if method == "predictLongRunning":
            return JSONResponse(create(request, body, spec))
        if method == "fetchPredictOperation":
            unknown_fields("", body, {"operationName"})
            name = body.get("operationName")
            job = state.jobs.get(name) if isinstance(name, str) else None
            if job is None or job.dialect != DIALECT or job.model != model:
                raise GoogleError(404, f"Operation {name!r} not found for model {model}.")
            return JSONResponse(operation_json(state, job))
        raise GoogleError(404, f"Method {method!r} not found.")

    def create(request: Request, body: dict[str, Any], spec: EmuModel) -> dict[str, Any]:
        params = check_predict(body, spec)
        prompt = body["instances"][0]["prompt"]
        op_id = secrets.token_hex(16)
        p, loc = request.path_params["project"], request.path_params["location"]
        name = f"projects/{p}/locations/{loc}/publishers/google/models/{spec.model}/operations/{op_id}"
        queue_s, render_s = state.timing(spec.latency_s)
        trigger = state.config.fail_trigger.lower()
        fail = None
        if STEP_FAIL_TRIGGER.lower() in prompt.lower():
            fail = STEP_FAIL_TRIGGER
        elif trigger and trigger in prompt.lower():
            fail = RAI_REASON
        job = EmuJob(
            task_id=name,
            dialect=DIALECT,
            model=spec.model,
            body=body,
            created=state.config.clock(),
            duration=float(params.get("durationSeconds", 8)),
            aspect_ratio=params.get("aspectRatio", "16:9"),
            fail_reason=fail,
            queue_s=queue_s,
            render_s=render_s,
            # resolution default 720p (CORE §2.3, same family on Vertex), fps 24 unless the Vertex-only fps is
            # sent, generateAudio as sent (absent: on, Veo 3.x makes sound; facts.py)
            output=OutputVideo(
                *output_size(params.get("aspectRatio", "16:9"), params.get("resolution", "720p")),
                fps=params["fps"] if isinstance(params.get("fps"), int) and params["fps"] > 0 else VEO_FPS,
                audio=params.get("generateAudio", True) is not False,
            ),
            meta={"samples": params.get("sampleCount", 1), "storage_uri": params.get("storageUri"), "op_id": op_id},
        )
        state.add(job)
        return {"name": name}

    async def storage_object(request: Request) -> Response:
        state.count("GET /storage/v1/b/{bucket}/o/{object}")
        require_oauth(request, state)
        if request.query_params.get("alt") != "media":
            raise bad("alt=media is required to download an object")
        bucket, obj = request.path_params["bucket"], unquote(request.path_params["object"])
        uri = f"gs://{bucket}/{obj}"
        for job in list(state.jobs.values()):
            storage = job.meta.get("storage_uri")
            if job.dialect == DIALECT and storage and uri.startswith(f"{storage.rstrip('/')}/{job.meta['op_id']}/"):
                if not finished_ok(state, job):
                    break
                return await job_video_response(request, state, job)  # the bytes /_emulator/truth hashes
        raise GoogleError(404, f"No such object: {bucket}/{obj}")

    out = [
        Route(
            f"/{v}/projects/{{project}}/locations/{{location}}/publishers/google/models/{{model_method}}",
            model_method,
            methods=["POST"],
        )
        for v in VERSIONS
    ]
    out.append(Route("/storage/v1/b/{bucket}/o/{object:path}", storage_object, methods=["GET"]))
    return out
