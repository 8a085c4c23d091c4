"""Alibaba DashScope / Model Studio video synthesis (Wan), emulated from the reference text (providers-2026.md §7,
more-providers.md §6), independently of vidgate's catalog: its own model table and request checks.

Routes: ``POST /api/v1/services/aigc/video-generation/video-synthesis`` (needs ``X-DashScope-Async: enable``)
-> ``{"output": {"task_id", "task_status": "PENDING"}, "request_id"}``; ``GET /api/v1/tasks/{id}``;
``POST /api/v1/tasks/{id}/cancel`` (PENDING only). Statuses ``PENDING``, ``RUNNING``, ``SUCCEEDED``,
``FAILED``, ``CANCELED`` and ``UNKNOWN``: an unknown task id, or any task 24 h after it was created, answers
HTTP 200 with ``UNKNOWN`` (task ids and ``video_url`` live 24 h). Over-long prompts are cut, as documented.
Times are written ``"YYYY-MM-DD HH:MM:SS.mmm"`` in China time (UTC+8), the emulator's choice.

Errors: ``{"request_id", "code", "message"}``. Triggers in the prompt: ``RATE_LIMIT`` -> 429
``Throttling.RateQuota``; ``BLOCK_POLICY`` -> 400 ``DataInspectionFailed``; the config's ``fail_trigger`` ->
the task ends ``FAILED`` with ``DataInspectionFailed`` on the output.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.dialects._common import EmuHTTPError, is_image_ref
from vidgate.emulator.faults_shapes import register_shape_prefix
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "dashscope"
CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"
TASK = "/api/v1/tasks/{task_id}"
RATE_TRIGGER = "RATE_LIMIT"
BLOCK_TRIGGER = "BLOCK_POLICY"
TTL_S = 24 * 3600.0  # "The task_id and video_url are valid 24 h"
CHINA = timezone(timedelta(hours=8))
NEGATIVE_MAX = 500
SIZES_25 = ("832*480", "480*832", "1280*720", "720*1280", "1920*1080", "1080*1920")
TIERS = ("480P", "720P", "1080P")
RATIOS_30 = ("adaptive", "16:9", "4:3", "1:1", "3:4", "9:16")
register_shape_prefix("/api/v1/services/", "dashscope")
register_shape_prefix("/api/v1/tasks/", "dashscope")


@dataclass(frozen=True)
class WanModel:
    """One model's create schema as the reference writes it. ``form``: how images travel."""

    form: str  # t2v (size) | i2v (img_url) | kf2v (first/last_frame_url) | media (wan2.7 / wan3.0)
    durations: tuple[int, ...] = ()  # () = fixed 5 s, no duration parameter
    sizes: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    ratios: tuple[str, ...] = ()
    media_types: frozenset[str] = frozenset()
    prompt_max: int = 800
    audio: bool = False
    shot_type: bool = False
    latency_s: float = 180.0


def _span(low: int, high: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1))


_FRAMES_27 = frozenset({"first_frame", "last_frame", "driving_audio", "first_clip"})
MODELS: dict[str, WanModel] = {
    # wan2.2: fixed 5 s (D1-D5 in more-providers §6)
    "wan2.2-t2v-plus": WanModel("t2v", sizes=("832*480", "480*832", "1920*1080", "1080*1920")),
    "wan2.2-i2v-plus": WanModel("i2v", tiers=TIERS),
    "wan2.2-i2v-flash": WanModel("i2v", tiers=TIERS),
    "wan2.2-kf2v-flash": WanModel("kf2v", tiers=TIERS),
    # wan2.5: 5 or 10 s, audio (D4, D5)
    "wan2.5-t2v-preview": WanModel("t2v", durations=(5, 10), sizes=SIZES_25, audio=True),
    "wan2.5-i2v-preview": WanModel("i2v", durations=(5, 10), tiers=TIERS, audio=True),
    # wan2.6: up to 15 s (5..15 in D4), shot_type
    "wan2.6-t2v": WanModel("t2v", durations=_span(5, 15), sizes=SIZES_25, audio=True, shot_type=True),
    "wan2.6-i2v": WanModel("i2v", durations=_span(5, 15), tiers=TIERS, audio=True, shot_type=True),
    "wan2.6-i2v-flash": WanModel("i2v", durations=_span(5, 15), tiers=TIERS, audio=True, shot_type=True),
    # wan2.7: media[] first_frame, last_frame, driving_audio, first_clip; 2..15 s; T2V takes resolution + ratio
    "wan2.7-t2v": WanModel(
        "media",
        durations=_span(2, 15),
        tiers=TIERS,
        ratios=("16:9", "4:3", "1:1", "3:4", "9:16"),
        media_types=frozenset({"driving_audio"}),
        audio=True,
    ),
    "wan2.7-i2v": WanModel("media", durations=_span(2, 15), tiers=TIERS, media_types=_FRAMES_27, audio=True),
    # wan3.0-video: one model for all modes (Bailian CLI page 2026-09-24; wan3 MCP)
    "wan3.0-video": WanModel(
        "media",
        durations=(-1, *_span(2, 30)),
        tiers=TIERS,
        ratios=RATIOS_30,
        prompt_max=20000,
        audio=True,
        media_types=frozenset(
            {
                "first_frame",
                "last_frame",
                "reference_image",
                "reference_video",
                "reference_audio",
                "driving_audio",
                "file",
                "link",
            }
        ),
        latency_s=300,
    ),
}
MEDIA_LIMITS_30 = {"first_frame": 1, "last_frame": 1, "reference_image": 10, "reference_video": 5,
                   "reference_audio": 5, "file": 1, "link": 1}  # fmt: skip
EXCLUSIVE_30 = {"reference_image", "reference_video", "reference_audio", "file", "link"}


class DashScopeEmuError(EmuHTTPError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message, code)

    def response(self) -> JSONResponse:
        return JSONResponse({"request_id": str(uuid.uuid4()), "code": self.code, "message": self.message},
                            status_code=self.status)  # fmt: skip


def _bad(message: str) -> DashScopeEmuError:
    return DashScopeEmuError(400, "InvalidParameter", message)


def _url(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("oss://") or is_image_ref(value))


def check_input(model_id: str, model: WanModel, inputs: Any) -> None:
    if not isinstance(inputs, dict):
        raise _bad("input must be an object")
    allowed = {"prompt", "negative_prompt", "audio_url"}
    allowed |= {"i2v": {"img_url"}, "kf2v": {"first_frame_url", "last_frame_url"}, "media": {"media"}}.get(
        model.form, set()
    )
    unknown = sorted(set(inputs) - allowed)
    if unknown:
        raise _bad(f"input.{unknown[0]} is not supported by {model_id}")
    if "audio_url" in inputs and (not model.audio or model.form == "media"):
        raise _bad(f"input.audio_url is not supported by {model_id}")
    prompt = inputs.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _bad("input.prompt must be a string")
    if model.form == "t2v" and not (prompt or "").strip():
        raise _bad("input.prompt is required")
    if model.form == "i2v" and not _url(inputs.get("img_url")):
        raise _bad("input.img_url is required: a public URL, an oss:// URL or Base64 data")
    if model.form == "kf2v" and not (_url(inputs.get("first_frame_url")) and _url(inputs.get("last_frame_url"))):
        raise _bad("input.first_frame_url and input.last_frame_url are required")
    if model.form == "media":
        check_media(model_id, model, inputs.get("media", []), bool((prompt or "").strip()))


def check_media(model_id: str, model: WanModel, media: Any, has_prompt: bool) -> None:
    if not isinstance(media, list):
        raise _bad("input.media must be an array")
    counts: dict[str, int] = {}
    for i, item in enumerate(media):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in model.media_types:
            raise _bad(f"input.media[{i}].type {kind!r} is not supported by {model_id}")
        if not _url(item.get("url")):
            raise _bad(f"input.media[{i}].url must be a URL")
        counts[kind] = counts.get(kind, 0) + 1
    if model_id == "wan3.0-video":
        for kind, limit in MEDIA_LIMITS_30.items():
            if counts.get(kind, 0) > limit:
                raise _bad(f"input.media: at most {limit} {kind} item(s)")
        if set(counts) & EXCLUSIVE_30 and set(counts) & {"first_frame", "last_frame"}:
            raise _bad("input.media: reference, file and link types cannot be combined with first_frame/last_frame")
    elif counts.get("first_frame", 0) > 1 or counts.get("last_frame", 0) > 1:
        raise _bad("input.media: at most one first_frame and one last_frame")
    if "last_frame" in counts and "first_frame" not in counts:
        raise _bad("input.media: last_frame needs a first_frame")
    if model.media_types & {"first_frame"} and model_id != "wan3.0-video" and "first_frame" not in counts:
        raise _bad(f"input.media: {model_id} needs a first_frame")
    if not has_prompt and not counts:
        raise _bad("input.prompt is required")


def check_parameters(model_id: str, model: WanModel, params: Any) -> None:
    if not isinstance(params, dict):
        raise _bad("parameters must be an object")
    known = {"prompt_extend", "watermark", "seed"}
    known |= {"size"} if model.sizes else set()
    known |= {"resolution"} if model.tiers else set()
    known |= {"ratio"} if model.ratios else set()
    known |= {"duration"} if model.durations else set()
    known |= {"audio"} if model.audio else set()
    known |= {"shot_type"} if model.shot_type else set()
    unknown = sorted(set(params) - known)
    if unknown:
        raise _bad(f"parameters.{unknown[0]} is not supported by {model_id}")
    if "size" in params and params["size"] not in model.sizes:
        raise _bad(f'parameters.size must be one of {list(model.sizes)} ("W*H")')
    if "resolution" in params and params["resolution"] not in model.tiers:
        raise _bad(f"parameters.resolution must be one of {list(model.tiers)}")
    if "ratio" in params and params["ratio"] not in model.ratios:
        raise _bad(f"parameters.ratio must be one of {list(model.ratios)}")
    if "duration" in params:
        d = params["duration"]
        if isinstance(d, bool) or not isinstance(d, int) or d not in model.durations:
            raise _bad(f"parameters.duration must be an integer among {model.durations[0]}..{model.durations[-1]}")
    for flag in ("prompt_extend", "watermark", "audio"):
        if flag in params and not isinstance(params[flag], bool):
            raise _bad(f"parameters.{flag} must be a boolean")
    if "seed" in params and (isinstance(params["seed"], bool) or not isinstance(params["seed"], int)
                             or not 0 <= params["seed"] <= 2147483647):  # fmt: skip
        raise _bad("parameters.seed must be an integer from 0 to 2147483647")
    if "shot_type" in params and params["shot_type"] not in ("single", "multi"):
        raise _bad("parameters.shot_type must be single or multi")


def _aspect(model: WanModel, params: dict[str, Any]) -> str | None:
    if "size" in params:
        w, _, h = str(params["size"]).partition("*")
        return f"{w}:{h}"
    if params.get("ratio") not in (None, "adaptive"):
        return str(params["ratio"])
    return "16:9" if model.form == "t2v" and not params.get("size") else None


def output_video(model: WanModel, inputs: dict[str, Any], params: dict[str, Any]) -> OutputVideo:
    """The task's video: ``size`` exactly (``"1280*720"``), else ``ratio`` (16:9 for image-led shapes [choice]) at
    the ``resolution`` tier (1080P when not asked [choice]); 24 fps [choice]; sound when the model makes audio and
    ``parameters.audio`` is not false, or a driving audio is given."""
    if "size" in params:
        size = output_size(str(params["size"]).replace("*", "x"))
    else:
        ratio = params.get("ratio")
        size = output_size(None if ratio in (None, "adaptive") else str(ratio), str(params.get("resolution", "1080P")))
    driving = "audio_url" in inputs or any(
        isinstance(m, dict) and m.get("type") in ("driving_audio", "reference_audio") for m in inputs.get("media", [])
    )
    return OutputVideo(*size, fps=24, audio=model.audio and (params.get("audio") is not False or driving))


def routes(state: EmulatorState) -> list[Route]:
    def stamp(t: float) -> str:
        wall = time.time() + (t - state.config.clock())
        return datetime.fromtimestamp(wall, CHINA).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def auth(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not any(hmac.compare_digest(token.encode(), k.encode())
                                                 for k in state.config.api_keys):  # fmt: skip
            raise DashScopeEmuError(401, "InvalidApiKey", "Invalid API-key provided.")

    async def create(request: Request) -> JSONResponse:
        state.count(f"POST {CREATE}")
        auth(request)
        if request.headers.get("x-dashscope-async", "").lower() != "enable":
            raise DashScopeEmuError(403, "AccessDenied", "current user api does not support synchronous calls")
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _bad("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("the request body must be a JSON object")
        unknown = sorted(set(body) - {"model", "input", "parameters"})
        if unknown:
            raise _bad(f"{unknown[0]} is not a known field")
        model_id = body.get("model")
        model = MODELS.get(model_id) if isinstance(model_id, str) else None
        if model is None:
            raise _bad(f"Model not exist: {model_id!r}")
        inputs = body.get("input")
        check_input(model_id, model, inputs)  # type: ignore[arg-type]
        params = body.get("parameters", {})
        check_parameters(model_id, model, params)  # type: ignore[arg-type]
        assert isinstance(inputs, dict)
        if any(str(u).startswith("oss://") for u in _all_urls(inputs)) and (
            request.headers.get("x-dashscope-ossresourceresolve", "").lower() != "enable"
        ):
            raise _bad("oss:// URLs need the header X-DashScope-OssResourceResolve: enable")
        prompt = str(inputs.get("prompt") or "")
        if RATE_TRIGGER.lower() in prompt.lower():
            raise DashScopeEmuError(
                429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
            )
        if BLOCK_TRIGGER.lower() in prompt.lower():
            raise DashScopeEmuError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        queue_s, render_s = state.timing(model.latency_s)
        trigger = state.config.fail_trigger.lower()
        duration = params.get("duration", 5)
        job = EmuJob(
            task_id=str(uuid.uuid4()),
            dialect=DIALECT,
            model=model_id,  # type: ignore[arg-type]
            body=body,
            created=state.config.clock(),
            duration=float(duration if duration != -1 else 10),
            aspect_ratio=_aspect(model, params),
            output=output_video(model, inputs, params),
            fail_reason="DataInspectionFailed" if trigger and trigger in prompt.lower() else None,
            queue_s=queue_s,
            render_s=render_s,
        )
        job.meta.update(resolution=params.get("resolution"), prompt=prompt[: model.prompt_max])
        state.add(job)
        return JSONResponse({"output": {"task_id": job.task_id, "task_status": "PENDING"},
                             "request_id": str(uuid.uuid4())})  # fmt: skip

    def task_json(task_id: str, base_url: str) -> dict[str, Any]:
        job = state.jobs.get(task_id)
        now = state.config.clock()
        if job is None or job.dialect != DIALECT or now - job.created >= TTL_S:
            return {"request_id": str(uuid.uuid4()), "output": {"task_id": task_id, "task_status": "UNKNOWN"}}
        out: dict[str, Any] = {"task_id": job.task_id, "submit_time": stamp(job.created)}
        body: dict[str, Any] = {"request_id": str(uuid.uuid4()), "output": out}
        if job.meta.get("canceled_at") is not None:
            out["task_status"] = "CANCELED"
            return body
        phase, _ = state.phase(job)
        if phase == "queued":
            out["task_status"] = "PENDING"
            return body
        out["scheduled_time"] = stamp(job.created + job.queue_s)
        if phase == "running":
            out["task_status"] = "RUNNING"
            return body
        out["end_time"] = stamp(state.done_at(job))
        if job.fail_reason:
            out.update(
                task_status="FAILED", code=job.fail_reason, message="Output data may contain inappropriate content."
            )
            return body
        prompt = job.meta["prompt"]
        out.update(task_status="SUCCEEDED", video_url=f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4",
                   orig_prompt=prompt, actual_prompt=prompt)  # fmt: skip
        body["usage"] = {"video_duration": int(job.duration), "video_ratio": job.aspect_ratio or "adaptive",
                         "video_count": 1}  # fmt: skip
        return body

    async def get(request: Request) -> JSONResponse:
        state.count(f"GET {TASK}")
        auth(request)
        return JSONResponse(task_json(request.path_params["task_id"], str(request.base_url)))

    async def cancel(request: Request) -> JSONResponse:
        state.count(f"POST {TASK}/cancel")
        auth(request)
        task_id = request.path_params["task_id"]
        if task_json(task_id, str(request.base_url))["output"]["task_status"] != "PENDING":
            why = "Failed to cancel the task, please confirm if the task is in PENDING status."
            raise DashScopeEmuError(400, "UnsupportedOperation", why)
        state.jobs[task_id].meta["canceled_at"] = state.config.clock()
        return JSONResponse({"request_id": secrets.token_hex(16)})

    return [
        Route(CREATE, create, methods=["POST"]),
        Route(TASK, get, methods=["GET"]),
        Route(TASK + "/cancel", cancel, methods=["POST"]),
    ]


def _all_urls(inputs: dict[str, Any]) -> list[Any]:
    urls = [v for k, v in inputs.items() if k.endswith("_url")]
    return urls + [m.get("url") for m in inputs.get("media", []) if isinstance(m, dict)]
