"""The Gemini API Interactions API (Gemini Omni video), emulated on ``/v1beta/`` and ``/v1/``.

``POST /{v}/interactions`` (background or synchronous), ``GET /{v}/interactions/{id}``,
``POST /{v}/interactions/{id}/cancel``, ``DELETE /{v}/interactions/{id}``; the video comes back inline
(base64) or as a Files API URI downloaded with the key. Auth: ``x-goog-api-key`` or ``?key=``.
Schema from google-genai 3.6.1 (``CreateModelInteraction``) and google-2026.md §2, checked independently
of ``vidgate.catalog.validate``. A prompt containing the config's fail trigger fails with a safety error
in ``errors[]``; one containing ``FAIL_STEP_ERROR`` fails with a step-level ``model_output.error``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.dialects._google import (
    GoogleError,
    bad,
    check_b64,
    file_uri,
    files_routes,
    google_json,
    require_api_key,
    unknown_fields,
    video_b64,
)
from vidgate.emulator.facts import OMNI_AUDIO, OMNI_FPS, OMNI_MODELS, EmuModel
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "google-interactions"
VERSIONS = ("v1beta", "v1")
STEP_FAIL_TRIGGER = "FAIL_STEP_ERROR"
MAX_SYNC_WAIT_S = 60.0
CREATE_FIELDS = {
    "model", "background", "cached_content", "continuation_token", "environment", "generation_config", "input",
    "labels", "previous_interaction_id", "response_format", "response_mime_type", "response_modalities",
    "safety_settings", "service_tier", "store", "stream", "system_instruction", "tools", "webhook_config",
}  # fmt: skip
GENERATION_FIELDS = {"seed", "temperature", "top_p", "max_output_tokens", "stop_sequences", "video_config"}
TASKS = {"text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale"}
FORMAT_FIELDS = {"type", "aspect_ratio", "resolution", "duration", "delivery", "gcs_uri"}
IMAGE_MIME = {
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/bmp",
    "image/tiff",
}
VIDEO_MIME = {
    "video/mp4", "video/mpeg", "video/mpg", "video/mov", "video/avi", "video/x-flv", "video/webm", "video/wmv",
    "video/3gpp",
}  # fmt: skip
MODALITIES = {"text", "image", "audio", "video", "document"}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")
POLICY_MESSAGE = (
    "The video could not be generated because the prompt or the generated content violates Google's "
    "Generative AI Prohibited Use Policy (safety filter)."
)


def omni_models() -> dict[str, EmuModel]:
    return OMNI_MODELS


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- schema


def _check_block(block: Any, where: str) -> str:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise bad(f"{where} must be a content block with a type")
    kind = str(block["type"])
    if kind == "text":
        unknown_fields(where, block, {"type", "text"})
        if not isinstance(block.get("text"), str):
            raise bad(f"{where}.text must be a string")
        return kind
    if kind not in ("image", "video"):
        raise bad(f"{where}.type {kind!r} is not supported for video generation")
    unknown_fields(where, block, {"type", "data", "uri", "mime_type", "resolution", "name", "processing"})
    has_data, has_uri = "data" in block, "uri" in block
    if has_data == has_uri:
        raise bad(f"{where}: exactly one of data or uri is required")
    mimes = IMAGE_MIME if kind == "image" else VIDEO_MIME
    mime = block.get("mime_type")
    if has_data:
        check_b64(block["data"], f"{where}.data")
        if mime is None:
            raise bad(f"{where}.mime_type is required with inline data")
    elif not isinstance(block["uri"], str) or not block["uri"].startswith(("https://", "http://", "gs://")):
        raise bad(f"{where}.uri must be an https or gs:// URI")
    if mime is not None and mime not in mimes:
        raise bad(f"{where}.mime_type {mime!r} is not supported; allowed: {sorted(mimes)}")
    return kind


def _check_input(value: Any) -> tuple[str, list[str]]:
    """The prompt text and the kinds of media blocks."""
    if isinstance(value, str):
        if not value.strip():
            raise bad("input must not be empty")
        return value, []
    if not isinstance(value, list) or not value:
        raise bad("input must be a string or a non-empty list of steps")
    texts, kinds = [], []
    for i, step in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(step, dict) or step.get("type") != "user_input":
            raise bad(f"{where} must be a user_input step")
        unknown_fields(where, step, {"type", "content"})
        content = step.get("content")
        if not isinstance(content, list) or not content:
            raise bad(f"{where}.content must be a non-empty list of content blocks")
        for j, block in enumerate(content):
            kind = _check_block(block, f"{where}.content[{j}]")
            if kind == "text":
                texts.append(block["text"])
            else:
                kinds.append(kind)
    return " ".join(texts), kinds


def _check_format(value: Any, spec: EmuModel) -> dict[str, Any]:
    if isinstance(value, list):
        videos = [v for v in value if isinstance(v, dict) and v.get("type") == "video"]
        if len(videos) != 1:
            raise bad("response_format needs exactly one entry of type video")
        value = videos[0]
    if not isinstance(value, dict) or value.get("type") != "video":
        raise bad("response_format.type must be video for a video model")
    unknown_fields("response_format", value, FORMAT_FIELDS)
    if "aspect_ratio" in value and value["aspect_ratio"] not in spec.aspect_ratios:
        raise bad(f"response_format.aspect_ratio must be one of {list(spec.aspect_ratios)}")
    if "resolution" in value and value["resolution"] not in spec.resolutions:
        raise bad(f"response_format.resolution must be one of {list(spec.resolutions)}")
    if "delivery" in value and value["delivery"] not in ("inline", "uri"):
        raise bad("response_format.delivery must be inline or uri")
    if "duration" in value:
        d = value["duration"]
        m = _DURATION.match(d) if isinstance(d, str) else None
        if m is None:
            raise bad(f'response_format.duration must be a string like "8s", got {d!r}')
        seconds = float(m.group(1))
        low, high = spec.duration_range or (0.0, 0.0)
        if not low <= seconds <= high:
            raise bad(f"response_format.duration {d} is out of range for {spec.model}: {low:g}s to {high:g}s")
    return value


def check_create(body: dict[str, Any], state: EmulatorState) -> tuple[EmuModel, str, dict[str, Any]]:
    unknown_fields("", body, CREATE_FIELDS)
    models = omni_models()
    model = body.get("model")
    if not isinstance(model, str):
        raise bad("model is required")
    name = model.removeprefix("models/")
    if name not in models:
        raise GoogleError(404, f"models/{name} is not found for API version v1beta, or is not supported for video.")
    spec = models[name]
    if body.get("stream"):
        raise bad("stream=true is not emulated; use background=true and poll")
    for flag in ("background", "store", "stream"):
        if flag in body and not isinstance(body[flag], bool):
            raise bad(f"{flag} must be a boolean")
    if "input" not in body and not body.get("previous_interaction_id"):
        raise bad("input is required")
    prompt, kinds = _check_input(body["input"]) if "input" in body else ("", [])
    gen = body.get("generation_config", {})
    if not isinstance(gen, dict):
        raise bad("generation_config must be an object")
    unknown_fields("generation_config", gen, GENERATION_FIELDS)
    if "seed" in gen and (not isinstance(gen["seed"], int) or isinstance(gen["seed"], bool)):
        raise bad("generation_config.seed must be an integer")
    video_config = gen.get("video_config", {})
    if not isinstance(video_config, dict):
        raise bad("generation_config.video_config must be an object")
    unknown_fields("generation_config.video_config", video_config, {"task"})
    task = video_config.get("task")
    if task is not None and task not in TASKS:
        raise bad(f"generation_config.video_config.task must be one of {sorted(TASKS)}")
    fmt = _check_format(body.get("response_format", {"type": "video"}), spec)
    modalities = body.get("response_modalities", ["video"])
    if not isinstance(modalities, list) or not set(modalities) <= MODALITIES:
        raise bad(f"response_modalities must be a list of {sorted(MODALITIES)}")
    if "service_tier" in body and body["service_tier"] not in ("flex", "standard", "priority", "deferred"):
        raise bad("service_tier must be flex, standard, priority or deferred")
    hook = body.get("webhook_config")
    if hook is not None:
        if not isinstance(hook, dict):
            raise bad("webhook_config must be an object")
        unknown_fields("webhook_config", hook, {"uris", "user_metadata"})
        uris = hook.get("uris")
        if not isinstance(uris, list) or not all(isinstance(u, str) and u.startswith(("https://", "http://"))
                                                 for u in uris):  # fmt: skip
            raise bad("webhook_config.uris must be a list of URLs")
        if "user_metadata" in hook and not isinstance(hook["user_metadata"], dict):
            raise bad("webhook_config.user_metadata must be an object")
    previous = body.get("previous_interaction_id")
    if previous is not None:
        old = state.jobs.get(previous)
        if old is None or old.dialect != DIALECT or old.meta.get("store") is False:
            raise GoogleError(404, f"Interaction {previous} not found.")
    images, videos = kinds.count("image"), kinds.count("video")
    if spec.max_images is not None and images > spec.max_images:
        raise bad(f"{spec.model} takes at most {spec.max_images} images per request, got {images}")
    if videos > max(1, spec.max_videos):
        raise bad(f"{spec.model} takes at most {spec.max_videos} videos per request, got {videos}")
    if task == "text_to_video" and kinds:
        raise bad("task text_to_video takes no image or video input")
    if task == "image_to_video" and not images:
        raise bad("task image_to_video needs an image in the input")
    if task == "reference_to_video" and not kinds:
        raise bad("task reference_to_video needs reference images or videos")
    if task in ("extend", "edit") and not (previous or videos):
        raise bad(f"task {task} needs previous_interaction_id or an input video")
    return spec, prompt, fmt


# ---------------------------------------------------------------- resource JSON


def interaction_json(state: EmulatorState, job: EmuJob, base_url: str, version: str) -> dict[str, Any]:
    phase, _ = state.phase(job)
    created = time.time() - (state.config.clock() - job.created)
    out: dict[str, Any] = {
        "id": job.task_id,
        "object": "interaction",
        "model": job.model,
        "status": "in_progress",
        "created": _iso(created),
        "updated": _iso(time.time()),
    }
    if job.meta.get("cancelled"):
        out["status"] = "cancelled"
        return out
    if phase != "done":
        return out
    if job.fail_reason == STEP_FAIL_TRIGGER:
        out["status"] = "failed"
        out["steps"] = [{"type": "model_output", "error": {"code": 13, "message": "Internal error while generating "
                                                                                  "the video."}}]  # fmt: skip
        return out
    if job.fail_reason:
        out["status"] = "failed"
        out["errors"] = [{"code": "SAFETY", "message": job.fail_reason}]
        return out
    block: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
    if job.meta.get("delivery") == "uri":
        block["uri"] = file_uri(base_url, version, job)
    else:
        block["data"] = video_b64(job)
    out["status"] = "completed"
    out["steps"] = [{"type": "model_output", "content": [block]}]
    tokens = int(5792 * job.duration)
    out["usage"] = {
        "total_input_tokens": 21,
        "total_output_tokens": tokens,
        "output_tokens_by_modality": [{"modality": "video", "tokens": tokens}],
        "total_tokens": tokens + 21,
    }
    return out


def routes(state: EmulatorState) -> list[Route]:
    def find(request: Request) -> EmuJob:
        job = state.jobs.get(request.path_params["id"])
        if job is None or job.dialect != DIALECT or job.meta.get("deleted"):
            raise GoogleError(404, f"Interaction {request.path_params['id']} not found.")
        return job

    def version_of(request: Request) -> str:
        return request.url.path.split("/")[1]

    async def create(request: Request) -> JSONResponse:
        version = version_of(request)
        state.count(f"POST /{version}/interactions")
        require_api_key(request, state)
        body = await google_json(request)
        spec, prompt, fmt = check_create(body, state)
        duration = float(_DURATION.match(fmt["duration"]).group(1)) if "duration" in fmt else 8.0  # type: ignore[union-attr]
        queue_s, render_s = state.timing(spec.latency_s)
        fail = None
        trigger = state.config.fail_trigger.lower()
        if STEP_FAIL_TRIGGER.lower() in prompt.lower():
            fail = STEP_FAIL_TRIGGER
        elif trigger and trigger in prompt.lower():
            fail = POLICY_MESSAGE
        job = EmuJob(
            task_id="v1_" + secrets.token_urlsafe(24),
            dialect=DIALECT,
            model=spec.model,
            body=body,
            created=state.config.clock(),
            duration=duration,
            aspect_ratio=fmt.get("aspect_ratio") or "16:9",
            fail_reason=fail,
            queue_s=queue_s,
            render_s=render_s,
            meta={"delivery": fmt.get("delivery", "inline"), "store": body.get("store", True), "prompt": prompt},
            # response_format.resolution, default 720p (G2026 §2: 1.1 '720p(default)'), 24 fps, always sound
            output=OutputVideo(
                *output_size(fmt.get("aspect_ratio") or "16:9", fmt.get("resolution", "720p")),
                fps=OMNI_FPS,
                audio=OMNI_AUDIO,
            ),
        )
        state.add(job)
        if not body.get("background"):  # synchronous: hold the request until the video exists
            await asyncio.sleep(min(MAX_SYNC_WAIT_S, job.queue_s + job.render_s))
            job.created = min(job.created, state.config.clock() - job.queue_s - job.render_s)
        return JSONResponse(interaction_json(state, job, str(request.base_url), version))

    async def get(request: Request) -> JSONResponse:
        version = version_of(request)
        state.count(f"GET /{version}/interactions/{{id}}")
        require_api_key(request, state)
        if request.query_params.get("stream", "false") not in ("false", "False"):
            raise bad("stream=true (SSE resume) is not emulated")
        job = find(request)
        return JSONResponse(interaction_json(state, job, str(request.base_url), version))

    async def cancel(request: Request) -> JSONResponse:
        version = version_of(request)
        state.count(f"POST /{version}/interactions/{{id}}/cancel")
        require_api_key(request, state)
        job = find(request)
        if state.phase(job)[0] == "done" and not job.meta.get("cancelled"):
            raise GoogleError(400, f"Interaction {job.task_id} has already finished and cannot be cancelled.",
                              "FAILED_PRECONDITION")  # fmt: skip
        job.meta["cancelled"] = True
        return JSONResponse(interaction_json(state, job, str(request.base_url), version))

    async def delete(request: Request) -> JSONResponse:
        version = version_of(request)
        state.count(f"DELETE /{version}/interactions/{{id}}")
        require_api_key(request, state)
        find(request).meta["deleted"] = True
        return JSONResponse({})

    out: list[Route] = []
    for v in VERSIONS:
        out += [
            Route(f"/{v}/interactions", create, methods=["POST"]),
            Route(f"/{v}/interactions/{{id}}", get, methods=["GET"]),
            Route(f"/{v}/interactions/{{id}}", delete, methods=["DELETE"]),
            Route(f"/{v}/interactions/{{id}}/cancel", cancel, methods=["POST"]),
        ]
    return out + files_routes(state)
