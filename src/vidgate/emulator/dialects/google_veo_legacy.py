"""The legacy Gemini API Veo protocol, emulated as an older deployment still serving it.

``POST /v1beta/models/{model}:predictLongRunning`` -> ``{"name": "models/{model}/operations/{id}"}``;
``GET /v1beta/models/{model}/operations/{id}`` -> ``{name, done, response.generateVideoResponse...}``;
videos are Files API URIs (``/v1beta/files/{id}:download?alt=media``, key required). Auth:
``x-goog-api-key`` or ``?key=``. Images: ``{bytesBase64Encoded, mimeType}`` (SDK) or
``{inlineData: {mimeType, data}}`` (REST docs); ``gcsUri`` is refused as the Gemini API does.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.dialects._google import (
    GoogleError,
    bad,
    check_b64,
    file_uri,
    google_json,
    require_api_key,
    unknown_fields,
)
from vidgate.emulator.facts import LEGACY_MODELS, VEO_FPS, EmuModel, veo_audio
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "google-veo-legacy"
STEP_FAIL_TRIGGER = "FAIL_STEP_ERROR"
RAI_REASON = "The input image resembles a public figure. Please use another image."
PARAMETER_FIELDS = {
    "sampleCount", "numberOfVideos", "durationSeconds", "aspectRatio", "resolution", "negativePrompt",
    "personGeneration", "enhancePrompt",
}  # fmt: skip


def legacy_models() -> dict[str, EmuModel]:
    return LEGACY_MODELS


def check_image(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise bad(f"{where} must be an Image object")
    if "gcsUri" in value:
        raise bad(f"{where}.gcsUri is not supported in the Gemini API; send the image inline")
    if "inlineData" in value:
        unknown_fields(where, value, {"inlineData"})
        inline = value["inlineData"]
        if not isinstance(inline, dict):
            raise bad(f"{where}.inlineData must be an object")
        unknown_fields(f"{where}.inlineData", inline, {"mimeType", "data"})
        check_b64(inline.get("data"), f"{where}.inlineData.data")
        mime = inline.get("mimeType")
    else:
        unknown_fields(where, value, {"bytesBase64Encoded", "mimeType"})
        check_b64(value.get("bytesBase64Encoded"), f"{where}.bytesBase64Encoded")
        mime = value.get("mimeType")
    if mime not in ("image/jpeg", "image/png", "image/webp"):
        raise bad(f"{where}: mimeType must be image/jpeg, image/png or image/webp")


def _duration(value: Any) -> int:
    """A JSON number (the SDK) or a numeric string (the REST docs): proto3 JSON takes both for int32."""
    if isinstance(value, bool):
        raise bad("parameters.durationSeconds must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise bad(f"parameters.durationSeconds must be a number, got {value!r}")


def check_predict(body: dict[str, Any], spec: EmuModel) -> dict[str, Any]:
    unknown_fields("", body, {"instances", "parameters", "webhookConfig"})
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise bad("instances must hold exactly one instance")
    inst = instances[0]
    unknown_fields("instances[0]", inst, {"prompt", "image", "lastFrame", "referenceImages", "video"})
    if not isinstance(inst.get("prompt"), str) or not inst["prompt"].strip():
        raise bad("instances[0].prompt is required")
    roles = spec.image_roles
    for name, role in (("image", "first_frame"), ("lastFrame", "last_frame")):
        if name in inst:
            if role not in roles:
                raise bad(f"{spec.model} does not support instances[0].{name}")
            check_image(inst[name], f"instances[0].{name}")
    if "lastFrame" in inst and "image" not in inst:
        raise bad("instances[0].lastFrame must be used in combination with the image parameter")
    params = body.get("parameters", {})
    if not isinstance(params, dict):
        raise bad("parameters must be an object")
    unknown_fields("parameters", params, PARAMETER_FIELDS)
    duration = _duration(params["durationSeconds"]) if "durationSeconds" in params else 8
    if duration not in [int(v) for v in spec.durations]:
        raise bad(f"durationSeconds {duration} is out of range for {spec.model}")
    refs = inst.get("referenceImages")
    if refs is not None:
        if "reference" not in roles:
            raise bad("Your use case is currently not supported. Please refer to Gemini API documentation for "
                      "current model offering.")  # fmt: skip
        if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
            raise bad("referenceImages must hold 1 to 3 images")
        for i, ref in enumerate(refs):
            if not isinstance(ref, dict):
                raise bad(f"instances[0].referenceImages[{i}] must be an object")
            unknown_fields(f"instances[0].referenceImages[{i}]", ref, {"image", "referenceType"})
            check_image(ref.get("image"), f"instances[0].referenceImages[{i}].image")
            if str(ref.get("referenceType", "")).lower() != "asset":
                raise bad("referenceType STYLE is only supported in Gemini Enterprise Agent Platform mode")
        if duration != 8:
            raise bad("reference images need durationSeconds 8")
    if "aspectRatio" in params and params["aspectRatio"] not in spec.aspect_ratios:
        raise bad(f"aspectRatio must be one of {list(spec.aspect_ratios)}")
    if "resolution" in params:
        if params["resolution"] not in spec.resolutions:
            raise bad(f"resolution {params['resolution']!r} is not supported by {spec.model}")
        if params["resolution"] in ("1080p", "4k") and duration != 8:
            raise bad(f"resolution {params['resolution']} needs durationSeconds 8")
    hook = body.get("webhookConfig")
    if hook is not None:
        if not isinstance(hook, dict) or not isinstance(hook.get("uris"), list):
            raise bad("webhookConfig.uris must be a list of URLs")
        unknown_fields("webhookConfig", hook, {"uris", "user_metadata"})
    return {**params, "durationSeconds": duration}


def routes(state: EmulatorState) -> list[Route]:
    async def predict(request: Request) -> JSONResponse:
        state.count("POST /v1beta/models/{model}:predictLongRunning")
        require_api_key(request, state)
        model, _, method = request.path_params["model_method"].partition(":")
        if method != "predictLongRunning":
            raise GoogleError(404, f"Method {method!r} not found.")
        body = await google_json(request)
        models = legacy_models()
        if model not in models:
            raise GoogleError(404, f"models/{model} is not found for API version v1beta.")
        spec = models[model]
        params = check_predict(body, spec)
        prompt = body["instances"][0]["prompt"].lower()
        trigger = state.config.fail_trigger.lower()
        fail = STEP_FAIL_TRIGGER if STEP_FAIL_TRIGGER.lower() in prompt else (
            RAI_REASON if trigger and trigger in prompt else None)  # fmt: skip
        queue_s, render_s = state.timing(spec.latency_s)
        name = f"models/{model}/operations/{secrets.token_hex(8)}"
        state.add(
            EmuJob(
                task_id=name,
                dialect=DIALECT,
                model=model,
                body=body,
                created=state.config.clock(),
                duration=float(params["durationSeconds"]),
                aspect_ratio=params.get("aspectRatio", "16:9"),
                fail_reason=fail,
                queue_s=queue_s,
                render_s=render_s,
                # CORE §2.3: resolution default 720p (Veo 2: 720p fixed), 24 fps, sound on Veo 3/3.1 only
                output=OutputVideo(
                    *output_size(params.get("aspectRatio", "16:9"), params.get("resolution", "720p")),
                    fps=VEO_FPS,
                    audio=veo_audio(model),
                ),
                meta={"samples": params.get("sampleCount", 1)},
            )
        )
        return JSONResponse({"name": name})

    async def operation(request: Request) -> JSONResponse:
        state.count("GET /v1beta/models/{model}/operations/{id}")
        require_api_key(request, state)
        name = f"models/{request.path_params['model']}/operations/{request.path_params['op']}"
        job = state.jobs.get(name)
        if job is None or job.dialect != DIALECT:
            raise GoogleError(404, f"Operation {name} not found.")
        out: dict[str, Any] = {"name": name}
        if state.phase(job)[0] != "done":
            return JSONResponse(out)
        out["done"] = True
        if job.fail_reason == STEP_FAIL_TRIGGER:
            out["error"] = {"code": 13, "message": "Video generation failed due to an internal error."}
            return JSONResponse(out)
        gvr: dict[str, Any] = {}
        if job.fail_reason:
            gvr["raiMediaFilteredCount"] = job.meta["samples"]
            gvr["raiMediaFilteredReasons"] = [job.fail_reason]
        else:
            uri = file_uri(str(request.base_url), "v1beta", job) + ":download?alt=media"
            gvr["generatedSamples"] = [{"video": {"uri": uri}} for _ in range(job.meta["samples"])]
        out["response"] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": gvr,
        }
        return JSONResponse(out)

    return [
        Route("/v1beta/models/{model_method}", predict, methods=["POST"]),
        Route("/v1beta/models/{model}/operations/{op}", operation, methods=["GET"]),
    ]
