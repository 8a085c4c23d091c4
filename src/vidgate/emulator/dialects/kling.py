"""Kling's official video API, emulated from the reference text (providers-2026.md §4, more-providers.md §1 where
the newer file is silent), independently of vidgate's catalog: its own model table and checks.

Routes (``/v1/videos/...`` with a Kling JWT; the relay's pass-through ``/kling/v1/videos/...`` with the relay's
own Bearer key): ``POST text2video | image2video | omni-video`` and ``GET {endpoint}/{task_id or
external_task_id}``.

* Auth: ``Authorization: Bearer <jwt>``, HS256 signed with ``SECRET_KEY``; ``iss`` must be an access key the
  emulator knows (``config.api_keys``); ``nbf``/``exp`` checked on wall time. Codes 1001 (empty), 1002
  (invalid), 1003 (not yet valid), 1004 (expired), all HTTP 401.
* Answers: ``{code, message, request_id, data}``; errors carry the service code (1201 invalid value, 1203
  not found, 1303 concurrency, ...) with the HTTP status of the reference's table.
* ``external_task_id`` is unique per account (a second create with it: 400 / 1201), and a task can be queried
  by it in place of the task id.
* ``callback_url``: the flat task object is POSTed (no signature) when the task is final.

Triggers in the prompt: ``CONCURRENCY_LIMIT`` -> 429 / 1303; the config's ``fail_trigger`` -> the task ends
``failed`` with a risk-control message.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from PIL import Image
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.callbacks import Callbacks
from vidgate.emulator.dialects._common import EmuHTTPError, bearer_ok
from vidgate.emulator.faults_shapes import register_shape_prefix
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "kling"
SECRET_KEY = "emulator-kling-secret-key-0123456789"  # pairs with every access key in config.api_keys
CONCURRENCY_TRIGGER = "CONCURRENCY_LIMIT"
RISK_CONTROL_MSG = "Failure to pass the risk control system"  # "content risk control" (task_status_msg)
LATENCY_S = 180.0
MAX_PROMPT = 2500
MAX_SHOT_PROMPT = 512
MAX_SHOTS = 6
ENDPOINTS = ("text2video", "image2video", "omni-video")
for _prefix in ("/v1/videos/text2video", "/v1/videos/image2video", "/v1/videos/omni-video", "/kling/v1/"):
    register_shape_prefix(_prefix, "kling")  # injected faults answer Kling's {code, message, request_id}


@dataclass(frozen=True)
class EmuModel:
    durations: tuple[str, ...]
    sound: bool = False
    cfg_scale: bool = True
    multi_shot: bool = False
    omni: bool = False


_SHORT = ("5", "10")
_V3 = tuple(str(n) for n in range(3, 16))
MODELS: dict[str, EmuModel] = {
    "kling-v1": EmuModel(_SHORT),
    "kling-v1-5": EmuModel(_SHORT),
    "kling-v1-6": EmuModel(_SHORT),
    "kling-v2-master": EmuModel(_SHORT, cfg_scale=False),
    "kling-v2-1": EmuModel(_SHORT, cfg_scale=False),
    "kling-v2-1-master": EmuModel(_SHORT, cfg_scale=False),
    "kling-v2-5-turbo": EmuModel(_SHORT, cfg_scale=False),
    "kling-v2-6": EmuModel(_SHORT, sound=True, cfg_scale=False),
    "kling-v3": EmuModel(_V3, sound=True, cfg_scale=False, multi_shot=True),
    "kling-v3-omni": EmuModel(_V3, sound=True, cfg_scale=False, omni=True),
    "kling-video-o1": EmuModel(_SHORT, cfg_scale=False, omni=True),
}
ASPECTS = ("16:9", "9:16", "1:1")
CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")
COMMON_FIELDS = {"model_name", "model", "prompt", "negative_prompt", "cfg_scale", "mode", "sound", "duration",
                 "camera_control", "watermark_info", "callback_url", "external_task_id", "voice_list"}  # fmt: skip
ENDPOINT_FIELDS = {
    "text2video": COMMON_FIELDS | {"aspect_ratio", "multi_shot", "shot_type", "multi_prompt"},
    "image2video": COMMON_FIELDS
    | {"image", "image_tail", "static_mask", "dynamic_masks", "multi_shot", "shot_type", "multi_prompt"},
    "omni-video": COMMON_FIELDS | {"aspect_ratio", "image_list", "element_list", "video_list"},
}
HTTP_STATUS = {1000: 401, 1001: 401, 1002: 401, 1003: 401, 1004: 401, 1100: 429, 1101: 429, 1102: 429, 1103: 403,
               1200: 400, 1201: 400, 1202: 404, 1203: 404, 1300: 400, 1301: 400, 1302: 429, 1303: 429, 1304: 429,
               5000: 500, 5001: 503, 5002: 504}  # fmt: skip


class KlingEmuError(EmuHTTPError):
    def __init__(self, service_code: int, message: str) -> None:
        super().__init__(HTTP_STATUS.get(service_code, 400), message, str(service_code))
        self.service_code = service_code

    def response(self) -> JSONResponse:
        body = {"code": self.service_code, "message": self.message, "request_id": str(uuid.uuid4())}
        return JSONResponse(body, status_code=self.status)


def invalid(message: str) -> KlingEmuError:
    return KlingEmuError(1201, message)


def check_jwt(request: Request, state: EmulatorState) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise KlingEmuError(1001, "Authorization is empty")
    if scheme != "Bearer" or not token:
        raise KlingEmuError(1002, "Authorization is invalid: expected 'Bearer <token>'")
    try:
        claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False,
                            "verify_nbf": False, "require": ["iss", "exp"]})  # fmt: skip
    except jwt.InvalidTokenError:
        raise KlingEmuError(1002, "Authorization is invalid") from None
    if claims.get("iss") not in state.config.api_keys:
        raise KlingEmuError(1002, "Authorization is invalid: unknown access key")
    now = time.time()
    if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > now:
        raise KlingEmuError(1003, "Authorization is not yet valid")
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now:
        raise KlingEmuError(1004, "Authorization has expired")


def check_image(field: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise invalid(f"{field} must be a URL or Base64 string")
    if value.startswith(("http://", "https://")):
        return
    if value.startswith("data:"):
        raise invalid(f"{field}: Base64 must not carry a data: prefix (send the raw Base64 string)")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{field} is neither a URL nor valid Base64") from None


def image_shape(value: Any) -> str | None:
    """``"W:H"`` of a raw-base64 first frame (image2video follows the image's shape); None for URLs."""
    if not isinstance(value, str) or value.startswith(("http://", "https://")):
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(value))) as img:
            return f"{img.width}:{img.height}"
    except (ValueError, OSError):
        return None


def check_body(endpoint: str, body: dict[str, Any]) -> EmuModel:
    unknown = sorted(set(body) - ENDPOINT_FIELDS[endpoint])
    if unknown:
        raise invalid(f"unknown parameter(s) for {endpoint}: {', '.join(unknown)}")
    name = body.get("model_name") or body.get("model", "kling-v1")
    model = MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        raise KlingEmuError(1203, f"model_name {name!r} not found")
    if model.omni != (endpoint == "omni-video"):
        raise invalid(f"model_name {name} is not served by {endpoint}")
    for field in ("prompt", "negative_prompt"):
        if field in body and (not isinstance(body[field], str) or len(body[field]) > MAX_PROMPT):
            raise invalid(f"{field} must be a string of at most {MAX_PROMPT} characters")
    shots = body.get("multi_prompt")
    if endpoint == "text2video" and not str(body.get("prompt") or "").strip() and not shots:
        raise invalid("prompt is required")
    if body.get("mode", "std") not in ("std", "pro"):
        raise invalid("mode must be std or pro")
    if "sound" in body and (body["sound"] not in ("on", "off") or not model.sound):
        raise invalid(f"sound must be on or off, and only on v2.6 and later (model_name {name})")
    if "cfg_scale" in body:
        v = body["cfg_scale"]
        if not model.cfg_scale or isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise invalid(f"cfg_scale must be a number in [0, 1] and is not supported by {name}")
    duration = body.get("duration", "5")
    if not isinstance(duration, str) or duration not in model.durations:
        raise invalid(f"duration must be a string, one of {list(model.durations)} for {name}")
    if "aspect_ratio" in body and body["aspect_ratio"] not in ASPECTS:
        raise invalid(f"aspect_ratio must be one of {list(ASPECTS)}")
    camera = body.get("camera_control")
    if camera is not None and (not isinstance(camera, dict) or camera.get("type") not in CAMERA_TYPES):
        raise invalid(f"camera_control.type must be one of {list(CAMERA_TYPES)}")
    wm = body.get("watermark_info")
    if wm is not None and (not isinstance(wm, dict) or not isinstance(wm.get("enabled"), bool)):
        raise invalid('watermark_info must be {"enabled": true|false}')
    if "callback_url" in body and not str(body["callback_url"]).startswith(("http://", "https://")):
        raise invalid("callback_url must be an http(s) URL")
    if "external_task_id" in body and (not isinstance(body["external_task_id"], str) or not body["external_task_id"]):
        raise invalid("external_task_id must be a non-empty string")
    if body.get("multi_shot") or shots is not None:
        check_shots(model, name, body, duration)
    if endpoint == "image2video":
        if "image" not in body and "image_tail" not in body:
            raise invalid("image or image_tail is required")
        for field in ("image", "image_tail"):
            if field in body:
                check_image(field, body[field])
        if "image_tail" in body and ("camera_control" in body or "static_mask" in body or "dynamic_masks" in body):
            raise invalid("image_tail, masks and camera_control cannot be used together")
    if endpoint == "omni-video":
        images = body.get("image_list", [])
        if not isinstance(images, list) or any(not isinstance(i, dict) for i in images):
            raise invalid("image_list must be a list of {image_url}")
        for i, item in enumerate(images):
            check_image(f"image_list[{i}].image_url", item.get("image_url"))
    return model


def check_shots(model: EmuModel, name: str, body: dict[str, Any], duration: str) -> None:
    if not model.multi_shot:
        raise invalid(f"multi_shot is not supported by {name}")
    shots = body.get("multi_prompt")
    if body.get("multi_shot") is not True or not isinstance(shots, list) or not 1 <= len(shots) <= MAX_SHOTS:
        raise invalid(f"multi_shot: true needs multi_prompt with 1 to {MAX_SHOTS} shots")
    if body.get("shot_type", "customize") not in ("customize", "intelligence"):
        raise invalid("shot_type must be customize or intelligence")
    total = 0
    for i, shot in enumerate(shots):
        ok = isinstance(shot, dict) and isinstance(shot.get("index"), int) and isinstance(shot.get("prompt"), str)
        if not ok or len(shot["prompt"]) > MAX_SHOT_PROMPT or not str(shot.get("duration", "")).isdigit():
            raise invalid(
                f'multi_prompt[{i}] must be {{index: int, prompt: <= {MAX_SHOT_PROMPT} chars, duration: "n"}}'
            )
        if not isinstance(shot["duration"], str):
            raise invalid(f"multi_prompt[{i}].duration must be a string")
        total += int(shot["duration"])
    if str(total) != duration:
        raise invalid(f"the multi_prompt durations add up to {total}, not duration {duration}")


def routes(state: EmulatorState) -> list[Route]:
    callbacks = Callbacks(state)
    by_external: dict[str, str] = {}  # external_task_id -> task_id (unique per account)

    def authorize(request: Request, relay: bool) -> None:
        if relay:
            if not bearer_ok(request, state):
                raise KlingEmuError(1002, "Invalid relay key")
            return
        check_jwt(request, state)

    async def create(request: Request) -> JSONResponse:
        relay = request.url.path.startswith("/kling/")
        endpoint = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        state.count(f"POST {'/kling' if relay else ''}/v1/videos/{endpoint}")
        authorize(request, relay)
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KlingEmuError(1200, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise KlingEmuError(1200, "the body must be a JSON object")
        model = check_body(endpoint, body)
        prompt = str(body.get("prompt") or "") + " ".join(str(s.get("prompt")) for s in body.get("multi_prompt") or [])
        if CONCURRENCY_TRIGGER.lower() in prompt.lower():
            raise KlingEmuError(1303, "parallel task over resource pack limit")
        external = body.get("external_task_id")
        if external is not None and external in by_external:
            raise invalid(f"external_task_id {external} already exists")
        queue_s, render_s = state.timing(LATENCY_S)
        trigger = state.config.fail_trigger.lower()
        job = EmuJob(
            task_id=str(800000000000000000 + uuid.uuid4().int % 10**17),
            dialect=DIALECT,
            model=str(body.get("model_name") or "kling-v1"),
            body=body,
            created=state.config.clock(),
            duration=float(body.get("duration", "5")),
            aspect_ratio=str(body.get("aspect_ratio") or image_shape(body.get("image")) or "16:9"),
            fail_reason=RISK_CONTROL_MSG if trigger and trigger in prompt.lower() else None,
            output=output_video(body, image_shape(body.get("image"))),
            queue_s=queue_s,
            render_s=render_s,
        )
        job.meta.update(endpoint=endpoint, relay=relay, wall=time.time(), omni=model.omni)
        state.add(job)
        if external is not None:
            by_external[external] = job.task_id
        base_url = str(request.base_url)
        if "callback_url" in body:
            callbacks.schedule(job, body["callback_url"], lambda: task_object(state, job, base_url))
        return envelope({**task_object(state, job, base_url), "task_status": "submitted"})

    async def query(request: Request) -> JSONResponse:
        relay = request.url.path.startswith("/kling/")
        endpoint = request.url.path.rstrip("/").rsplit("/", 2)[-2]
        state.count(f"GET {'/kling' if relay else ''}/v1/videos/{endpoint}/{{id}}")
        authorize(request, relay)
        ident = request.path_params["task_id"]
        job = state.jobs.get(ident) or state.jobs.get(by_external.get(ident, ""))
        if job is None or job.dialect != DIALECT or job.meta.get("endpoint") != endpoint:
            raise KlingEmuError(1203, f"task {ident} not found")
        return envelope(task_object(state, job, str(request.base_url)))

    out: list[Route] = []
    for prefix in ("", "/kling"):  # each endpoint spelled out: /v1/videos/{id} belongs to other dialects
        for name in ENDPOINTS:
            path = f"{prefix}/v1/videos/{name}"
            out.append(Route(path, create, methods=["POST"], name=f"kling-create{prefix}-{name}"))
            out.append(Route(path + "/{task_id:str}", query, methods=["GET"], name=f"kling-query{prefix}-{name}"))
    return out


def envelope(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data})


def task_object(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    """The task as a query answers it (and a callback carries it): times in milliseconds."""
    phase, _ = state.phase(job)
    wall0 = float(job.meta.get("wall", time.time()))
    created_ms = int(wall0 * 1000)
    now_ms = int((wall0 + max(0.0, state.config.clock() - job.created)) * 1000)
    task: dict[str, Any] = {
        "task_id": job.task_id,
        "task_status": "submitted",
        "task_info": {"external_task_id": job.body["external_task_id"]} if "external_task_id" in job.body else {},
        "created_at": created_ms,
        "updated_at": now_ms,
    }
    if phase == "queued":
        return task
    if phase == "running":
        task["task_status"] = "processing"
        return task
    done_ms = int((wall0 + state.done_at(job) - job.created) * 1000)
    task["updated_at"] = done_ms
    if job.fail_reason:
        task["task_status"] = "failed"
        task["task_status_msg"] = job.fail_reason
        return task
    task["task_status"] = "succeed"
    task["final_unit_deduction"] = "1" if job.body.get("mode", "std") == "std" else "3.5"
    video = {"id": f"v{job.task_id}", "url": f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4",
             "duration": f"{job.duration:g}"}  # fmt: skip
    task["task_result"] = {"videos": [video]}
    return task


KLING_FPS = 24  # not in the reference: Kling's usual 24 fps (emulator's choice)


def output_video(body: dict[str, Any], image_aspect: str | None) -> OutputVideo:
    """The finished video's shape: ``mode`` std 720p, pro 1080p (the reference names the modes, not their
    sizes: the emulator's reading of Kling's product pages), the asked aspect ratio (or the first frame's), and
    sound when ``sound: on`` (v2.6+ only, the reference's rule)."""
    short = "1080p" if body.get("mode") == "pro" else "720p"
    aspect = str(body.get("aspect_ratio") or image_aspect or "16:9")
    return OutputVideo(*output_size(aspect, short), fps=KLING_FPS, audio=body.get("sound") == "on")
