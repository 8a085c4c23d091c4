"""The relay's unified format, emulated: ``POST /v2/videos/generations`` and ``GET .../{task_id}``.

Schema enforced from the emulator's own reading of the docs (``emulator/facts.py``: seed-relay-api.md,
relay-platforms.md §4.1), never from vidgate's catalog, so the two can disagree and a test notices.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.callbacks import Callbacks
from vidgate.emulator.dialects._common import EmuHTTPError, is_image_ref, json_object, require_bearer
from vidgate.emulator.facts import (
    RELAY_V2,
    RELAY_V2_MODELS,
    SORA_AUDIO,
    SORA_FPS,
    VEO_FPS,
    EmuModel,
    relay_veo_resolution,
    sora_size,
    veo_audio,
)
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import POLICY_FAIL_REASON, EmuJob, EmulatorState

DIALECT = RELAY_V2
FIELDS = {
    "prompt", "model", "images", "aspect_ratio", "hd", "duration", "notify_hook", "watermark", "private",
    "character_url", "character_timestamps", "enhance_prompt", "enable_upsample",
}  # fmt: skip
BOOL_FIELDS = ("hd", "watermark", "private", "enhance_prompt", "enable_upsample")


def relay_models() -> dict[str, EmuModel]:
    return RELAY_V2_MODELS


def check_create(body: dict[str, Any]) -> EmuModel:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise EmuHTTPError(400, f"unknown field(s) {unknown}", "invalid_param", unknown[0])
    models = relay_models()
    model = body.get("model")
    if not isinstance(model, str) or model not in models:
        raise EmuHTTPError(400, f"model {model!r} not found (无可用渠道)", "model_not_found", "model")
    spec = models[model]
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise EmuHTTPError(400, "prompt is required", "invalid_param", "prompt")
    for name in BOOL_FIELDS:
        if name in body and not isinstance(body[name], bool):
            raise EmuHTTPError(400, f"{name} must be a boolean", "invalid_param", name)
    if "duration" in body:
        d = body["duration"]
        if not spec.takes_duration:
            raise EmuHTTPError(400, f"{model} takes no duration", "invalid_param", "duration")
        if not isinstance(d, str):
            raise EmuHTTPError(400, 'duration must be a string enum such as "10"', "invalid_param", "duration")
        allowed = [str(int(v)) for v in spec.durations]
        if d not in allowed:
            raise EmuHTTPError(
                400, f"duration {d!r} not allowed for {model}; allowed {allowed}", "invalid_param", "duration"
            )
    if "aspect_ratio" in body:
        if not spec.aspect_ratios:
            raise EmuHTTPError(400, f"{model} takes no aspect_ratio", "invalid_param", "aspect_ratio")
        if body["aspect_ratio"] not in spec.aspect_ratios:
            raise EmuHTTPError(
                400,
                f"aspect_ratio must be one of {list(spec.aspect_ratios)}",
                "invalid_param",
                "aspect_ratio",
            )
    if body.get("hd") is True and not spec.hd:
        raise EmuHTTPError(400, f"hd is only for sora-2-pro, not {model}", "invalid_param", "hd")
    images = body.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise EmuHTTPError(400, "images must be an array of strings (URL or base64)", "invalid_param", "images")
    too_many = spec.max_images is not None and len(images) > spec.max_images
    if too_many or len(images) < spec.min_images:
        most = f"at least {spec.min_images}" if spec.max_images is None else f"{spec.min_images} to {spec.max_images}"
        raise EmuHTTPError(
            400,
            f"{model} takes {most} images, got {len(images)}",
            "invalid_param",
            "images",
        )
    for i, img in enumerate(images):
        if not is_image_ref(img):
            raise EmuHTTPError(400, f"images[{i}] is neither a URL nor base64", "invalid_param", "images")
    for name in ("notify_hook", "character_url"):
        if name in body and not (isinstance(body[name], str) and body[name].startswith(("http://", "https://"))):
            raise EmuHTTPError(400, f"{name} must be an http(s) URL", "invalid_param", name)
    if "character_timestamps" in body:
        _check_timestamps(body["character_timestamps"])
    return spec


def _check_timestamps(value: Any) -> None:
    try:
        start, end = (float(x) for x in str(value).split(","))
    except ValueError:
        raise EmuHTTPError(
            400, 'character_timestamps must be "start,end"', "invalid_param", "character_timestamps"
        ) from None
    if not 1 <= end - start <= 3:
        raise EmuHTTPError(
            400, "character_timestamps span must be 1 to 3 seconds", "invalid_param", "character_timestamps"
        )


def output_video(spec: EmuModel, aspect: str, body: dict[str, Any], duration: float) -> OutputVideo:
    """What the relay returns for this request (emulator/facts.py: sora_size, relay_veo_resolution)."""
    if spec.family == "sora":
        size = output_size(sora_size(aspect, body.get("hd") is True, duration))
        return OutputVideo(*size, fps=SORA_FPS, audio=SORA_AUDIO)
    size = output_size(aspect, relay_veo_resolution(spec.model, body.get("enable_upsample") is True))
    return OutputVideo(*size, fps=VEO_FPS, audio=veo_audio(spec.model))


def new_task_id(spec: EmuModel) -> str:
    if spec.family == "veo":  # provider-prefixed ids with ':' as the relay returns them for Veo
        return f"{spec.model}:{int(time.time())}-{secrets.token_urlsafe(8)}"
    return str(uuid.uuid4())


def routes(state: EmulatorState) -> list[Route]:
    callbacks = Callbacks(state)

    async def create(request: Request) -> JSONResponse:
        state.count("POST /v2/videos/generations")
        require_bearer(request, state)
        body = await json_object(request)
        spec = check_create(body)
        duration = float(body["duration"]) if "duration" in body else float(spec.default_duration)
        trigger = state.config.fail_trigger.lower()
        queue_s, render_s = state.timing(spec.latency_s)
        aspect = body.get("aspect_ratio") or "16:9"
        job = EmuJob(
            task_id=new_task_id(spec),
            dialect=DIALECT,
            model=spec.model,
            body=body,
            created=state.config.clock(),
            duration=duration,
            aspect_ratio=aspect,
            fail_reason=POLICY_FAIL_REASON if trigger and trigger in body["prompt"].lower() else None,
            queue_s=queue_s,
            render_s=render_s,
            output=output_video(spec, aspect, body, duration),
        )
        state.add(job)
        if "notify_hook" in body:  # POSTed the final task envelope when the task ends (emulator/callbacks.py)
            base_url = str(request.base_url)
            callbacks.schedule(job, body["notify_hook"], lambda: task_json(state, job, base_url))
        return JSONResponse({"task_id": job.task_id})

    async def query(request: Request) -> JSONResponse:
        state.count("GET /v2/videos/generations/{task_id}")
        require_bearer(request, state)
        task_id = request.path_params["task_id"]
        job = state.jobs.get(task_id)
        if job is None or job.dialect != DIALECT:
            raise EmuHTTPError(404, f"task {task_id} not found", "task_not_found")
        return JSONResponse(task_json(state, job, str(request.base_url)))

    return [
        Route("/v2/videos/generations", create, methods=["POST"]),
        Route("/v2/videos/generations/{task_id:path}", query, methods=["GET"]),
    ]


def task_json(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    phase, fraction = state.phase(job)
    submit = int(time.time() - (state.config.clock() - job.created))
    body: dict[str, Any] = {
        "task_id": job.task_id,
        "platform": "google" if job.model.startswith("veo") else "openai",
        "action": "google-videos" if job.model.startswith("veo") else "sora-video",
        "status": "NOT_START",
        "fail_reason": "",
        "submit_time": submit,
        "start_time": 0,
        "finish_time": 0,
        "progress": "0%",
        "data": None,
        "search_item": "",
    }
    if phase == "queued":
        return body
    body["start_time"] = submit + int(job.queue_s)
    if phase == "running":
        body["status"] = "IN_PROGRESS"
        body["progress"] = f"{min(99, int(fraction * 100))}%"
        return body
    body["finish_time"] = body["start_time"] + int(job.render_s)
    body["progress"] = "100%"
    if job.fail_reason:
        body["status"] = "FAILURE"
        body["fail_reason"] = job.fail_reason
        return body
    body["status"] = "SUCCESS"
    body["data"] = {"output": f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4"}
    return body
