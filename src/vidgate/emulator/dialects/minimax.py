"""MiniMax (Hailuo) video generation, emulated from the reference text (providers-2026.md §6, more-providers.md §2),
independently of vidgate's catalog: its own model table and checks.

V1 routes: ``POST /v1/video_generation`` -> ``{"task_id", "base_resp"}``; ``GET /v1/query/video_generation?task_id=``
-> ``{task_id, status, file_id, video_width, video_height, base_resp}`` with status ``Preparing`` (the first third
of the queue), ``Queueing``, ``Processing``, ``Success`` or ``Fail``; ``GET /v1/files/retrieve?file_id=`` (an int64)
-> ``{"file": {file_id, bytes, created_at, filename, purpose, download_url, backup_download_url}, "base_resp"}``.
``callback_url``: before answering the create the emulator POSTs ``{"challenge": "..."}`` there and needs the same
value echoed within 3 s (the older reference's official M1 reading; the newer marks it [MEMORY]), else the create
fails; later it POSTs the query body (without ``video_width``/``video_height``) when the task starts processing
and when it is final, unsigned.

V2 routes: ``POST /v2/video_generation`` (``content[]`` with roles) -> ``{"task": {...}, "base_resp"}``;
``GET /v2/query/video_generation/{task_id}`` -> ``{"task": {id, model, status, content: {url, duration}, error,
ratio, resolution, usage}}`` with status ``queued | running | succeeded | failed`` (``cancelled``/``expired`` exist
in the reference; nothing here cancels or expires a task).

Errors (the emulator's choice where the reference is silent): every refusal is HTTP 200 with
``base_resp {status_code, status_msg}`` (V1 and V2); injected faults keep their HTTP status and carry the same
envelope (``faults_shapes``). Triggers in the prompt: ``RATE_LIMIT`` -> 1002, ``SENSITIVE_INPUT`` -> 1026,
``NO_BALANCE`` -> 1008; the config's ``fail_trigger`` -> the task ends ``Fail`` / ``failed`` with 1027.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import io
import itertools
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vidgate.emulator.callbacks import when_final
from vidgate.emulator.faults_shapes import register_shape_prefix
from vidgate.emulator.files import job_digest
from vidgate.emulator.render import OutputVideo
from vidgate.emulator.state import EmuJob, EmulatorState

DIALECT = "minimax"
DIALECT_V2 = "minimax-v2"
RATE_TRIGGER = "RATE_LIMIT"
INPUT_TRIGGER = "SENSITIVE_INPUT"
BALANCE_TRIGGER = "NO_BALANCE"
CHALLENGE_TIMEOUT_S = 3.0  # "echo {"challenge"} within 3 seconds or task creation fails" (M1)
V1_PROMPT_MAX = 2000
V2_TEXT_MAX = 7000
IMAGE_MAX_BYTES = 20 * 1024 * 1024  # "< 20 MB" (M1)
V1_FIELDS = frozenset({"model", "prompt", "prompt_optimizer", "fast_pretreatment", "duration", "resolution",
                       "first_frame_image", "last_frame_image", "subject_reference", "callback_url",
                       "aigc_watermark"})  # fmt: skip
V2_FIELDS = frozenset({"model", "content", "resolution", "duration", "ratio"})
V2_ROLES = {"image_url": ("first_frame", "last_frame", "reference_image"), "video_url": ("reference_video",),
            "audio_url": ("reference_audio",)}  # fmt: skip
MEDIA = ("http://", "https://", "mm_file://", "data:")
RATIO = re.compile(r"^\d{1,2}:\d{1,2}$")
FPS = 24  # V2: "2K (2560x1440) at 24 fps"; V1 names no frame rate: the same assumed
TIER_HEIGHT = {"512P": 512, "720P": 720, "768P": 768, "1080P": 1080, "480P": 480, "2K": 1440}
log = logging.getLogger(__name__)
for _prefix in ("/v1/video_generation", "/v1/query/video_generation", "/v1/files/retrieve", "/v2/video_generation",
                "/v2/query/video_generation"):  # fmt: skip
    register_shape_prefix(_prefix, "minimax")  # injected faults answer in MiniMax's base_resp envelope


@dataclass(frozen=True)
class V1Model:
    """One V1 model as the reference writes it."""

    durations: tuple[int, ...] = (6, 10)
    resolutions: tuple[str, ...] = ("768P", "1080P")
    default_resolution: str = "768P"
    text: bool = True  # text-to-video (no first frame needed)
    first_frame: bool = True
    last_frame: bool = False
    subject: bool = False  # subject_reference (S2V)
    latency_s: float = 120.0


def _legacy(*, text: bool = True, first_frame: bool = True, subject: bool = False) -> V1Model:
    """The legacy 01 family: "720P, 6 s" (more-providers.md §2)."""
    return V1Model(durations=(6,), resolutions=("720P",), default_resolution="720P", text=text,
                   first_frame=first_frame, subject=subject)  # fmt: skip


V1_MODELS: dict[str, V1Model] = {
    "MiniMax-Hailuo-2.3": V1Model(),
    "MiniMax-Hailuo-2.3-Fast": V1Model(text=False, latency_s=60),  # "(i2v)"
    # 512P with 6/10 s; "UNSURE on 512P-T2V" in the older file: the emulator does not refuse it
    "MiniMax-Hailuo-02": V1Model(resolutions=("512P", "768P", "1080P"), last_frame=True, latency_s=150),
    "T2V-01-Director": _legacy(first_frame=False),
    "T2V-01": _legacy(first_frame=False),
    "I2V-01-Director": _legacy(text=False),
    "I2V-01-live": _legacy(text=False),
    "I2V-01": _legacy(text=False),
    "S2V-01": _legacy(text=False, first_frame=False, subject=True),
}


@dataclass(frozen=True)
class V2Model:
    resolutions: tuple[str, ...]
    references: bool = True  # reference images / videos / audios
    durations: tuple[int, int] = (4, 15)  # "4/5-15 s": the emulator accepts both readings
    latency_s: float = 240.0


V2_MODELS: dict[str, V2Model] = {
    "MiniMax-H3": V2Model(("768P", "2K")),
    "MiniMax-H3-Max": V2Model(("480P", "768P"), references=False, latency_s=300),  # "no references; 480P/768P"
}


class MiniMaxEmuError(Exception):
    """A refusal in MiniMax's envelope: HTTP 200 (unless ``http``) with ``base_resp {status_code, status_msg}``."""

    def __init__(self, code: int, message: str, http: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.http = code, message, http

    def response(self) -> JSONResponse:
        body = {"base_resp": {"status_code": self.code, "status_msg": self.message}}
        return JSONResponse(body, status_code=self.http)


def _ok() -> dict[str, Any]:
    return {"status_code": 0, "status_msg": "success"}


def _image_shape(value: Any, field: str) -> tuple[int, int] | None:
    """Check an image reference (URL, mm_file:// id or data URI) as MiniMax does; the data URI's size if known."""
    if not isinstance(value, str) or not value.startswith(MEDIA):
        raise MiniMaxEmuError(2013, f"invalid params, {field}: a URL or a data:image/...;base64 URI is required")
    if not value.startswith("data:"):
        return None  # a URL: the emulator cannot fetch it (no internet), accepted as is
    head, _, payload = value.partition(",")
    if not head.startswith("data:image/") or ";base64" not in head:
        raise MiniMaxEmuError(2013, f"invalid params, {field}: a data URI must be data:image/<type>;base64,...")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise MiniMaxEmuError(2013, f"invalid params, {field}: the base64 payload does not decode") from None
    if len(raw) >= IMAGE_MAX_BYTES:
        raise MiniMaxEmuError(2013, f"invalid params, {field}: the image must be smaller than 20 MB")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            fmt, (w, h) = (img.format or "").upper(), img.size
    except Exception:
        raise MiniMaxEmuError(2013, f"invalid params, {field}: not a readable image") from None
    if fmt not in ("JPEG", "PNG", "WEBP"):
        raise MiniMaxEmuError(2013, f"invalid params, {field}: format {fmt or '?'} (JPG, JPEG, PNG or WebP)")
    if min(w, h) <= 300:
        raise MiniMaxEmuError(2013, f"invalid params, {field}: {w}x{h}: the short side must be more than 300 px")
    if not 0.4 <= w / h <= 2.5:
        raise MiniMaxEmuError(2013, f"invalid params, {field}: {w}x{h}: the aspect ratio must be 2:5 to 5:2")
    return w, h


def _prompt_triggers(prompt: str) -> None:
    low = prompt.lower()
    if RATE_TRIGGER.lower() in low:
        raise MiniMaxEmuError(1002, "rate limit exceeded (RPM), please retry later")
    if INPUT_TRIGGER.lower() in low:
        raise MiniMaxEmuError(1026, "input new_sensitive")
    if BALANCE_TRIGGER.lower() in low:
        raise MiniMaxEmuError(1008, "insufficient balance")


def check_v1(body: dict[str, Any]) -> tuple[str, V1Model, tuple[int, int] | None]:
    """The V1 create as MiniMax validates it: the model, its table entry and the first frame's size if known."""
    name = body.get("model")
    model = V1_MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        raise MiniMaxEmuError(2013, f"invalid params, model: {name!r} is not one of {', '.join(V1_MODELS)}")
    unknown = sorted(set(body) - V1_FIELDS)
    if unknown:
        raise MiniMaxEmuError(2013, f"invalid params, unknown field(s) {', '.join(unknown)}")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise MiniMaxEmuError(2013, "invalid params, prompt: must be a string")
    if prompt and len(prompt) > V1_PROMPT_MAX:
        raise MiniMaxEmuError(2013, f"invalid params, prompt: {len(prompt)} characters (at most {V1_PROMPT_MAX})")
    for flag in ("prompt_optimizer", "fast_pretreatment", "aigc_watermark"):
        if flag in body and not isinstance(body[flag], bool):
            raise MiniMaxEmuError(2013, f"invalid params, {flag}: must be a boolean")
    first = body.get("first_frame_image")
    shape = None
    if first is not None:
        if not model.first_frame:
            raise MiniMaxEmuError(2013, f"invalid params, first_frame_image: {name} takes no first frame")
        shape = _image_shape(first, "first_frame_image")
    elif not model.text and not model.subject:
        raise MiniMaxEmuError(2013, f"invalid params, first_frame_image: required by {name} (image-to-video)")
    if "last_frame_image" in body:
        if not model.last_frame:
            raise MiniMaxEmuError(2013, f"invalid params, last_frame_image: {name} takes no last frame")
        if first is None:
            raise MiniMaxEmuError(2013, "invalid params, last_frame_image: needs first_frame_image")
        _image_shape(body["last_frame_image"], "last_frame_image")
    subjects = body.get("subject_reference")
    if subjects is not None or model.subject:
        if not model.subject:
            raise MiniMaxEmuError(2013, f"invalid params, subject_reference: only S2V models take it, not {name}")
        if not isinstance(subjects, list) or not subjects:
            raise MiniMaxEmuError(2013, "invalid params, subject_reference: a list of {image, mask?} is required")
        for i, item in enumerate(subjects):  # [{image, mask?}] (providers-2026.md §6)
            if not isinstance(item, dict) or set(item) - {"image", "mask"} or "image" not in item:
                raise MiniMaxEmuError(2013, f"invalid params, subject_reference[{i}]: must be {{image, mask?}}")
            _image_shape(item["image"], f"subject_reference[{i}].image")
    if not (prompt or "").strip() and first is None:
        raise MiniMaxEmuError(2013, "invalid params, prompt: required without first_frame_image")
    duration = body.get("duration", 6)
    if isinstance(duration, bool) or not isinstance(duration, int) or duration not in model.durations:
        raise MiniMaxEmuError(2013, f"invalid params, duration: {duration!r} (allowed: {list(model.durations)})")
    resolution = body.get("resolution", model.default_resolution)
    if resolution not in model.resolutions:
        raise MiniMaxEmuError(2013, f"invalid params, resolution: {resolution!r} (allowed: {list(model.resolutions)})")
    if resolution == "1080P" and duration != 6:
        raise MiniMaxEmuError(2013, "invalid params, 1080P supports a duration of 6 s only")
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or not callback.startswith(("http://", "https://"))):
        raise MiniMaxEmuError(2013, "invalid params, callback_url: must be an http(s) URL")
    return str(name), model, shape


def check_v2(body: dict[str, Any]) -> tuple[str, V2Model, str, tuple[int, int] | None]:
    """The V2 create as the reference describes it: the model, its entry, the prompt and a first frame's size."""
    name = body.get("model")
    model = V2_MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        raise MiniMaxEmuError(2013, f"invalid params, model: {name!r} is not one of {', '.join(V2_MODELS)}")
    unknown = sorted(set(body) - V2_FIELDS)
    if unknown:
        raise MiniMaxEmuError(2013, f"invalid params, unknown field(s) {', '.join(unknown)}")
    content = body.get("content")
    if not isinstance(content, list) or not content:
        raise MiniMaxEmuError(2013, "invalid params, content: a non-empty list is required")
    texts: list[str] = []
    roles: dict[str, int] = {}
    shape = None
    images = [c for c in content if isinstance(c, dict) and c.get("type") == "image_url"]
    for i, item in enumerate(content):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text":
            if not isinstance(item.get("text"), str):
                raise MiniMaxEmuError(2013, f"invalid params, content[{i}].text: must be a string")
            texts.append(item["text"])
            continue
        if kind not in V2_ROLES:
            raise MiniMaxEmuError(2013, f"invalid params, content[{i}].type: {kind!r} (text, image_url, video_url, "
                                        "audio_url)")  # fmt: skip
        assert isinstance(item, dict)
        value = item.get(kind)
        if not isinstance(value, str) or not value.startswith(MEDIA):
            raise MiniMaxEmuError(2013, f"invalid params, content[{i}].{kind}: a URL, mm_file:// id or data URI")
        role = item.get("role")
        if role is None and kind == "image_url" and len(images) == 1:
            role = "first_frame"  # "a single image with no role is treated as the first frame"
        if role not in V2_ROLES[kind]:
            raise MiniMaxEmuError(2013, f"invalid params, content[{i}].role: {role!r} (allowed: {V2_ROLES[kind]})")
        roles[role] = roles.get(role, 0) + 1
        if kind == "image_url" and value.startswith("data:"):
            size = _image_shape(value, f"content[{i}].image_url")
            shape = size if role == "first_frame" else shape
    if len(texts) != 1 or not texts[0].strip():
        raise MiniMaxEmuError(2013, "invalid params, content: exactly one non-empty text item is required")
    if len(texts[0]) > V2_TEXT_MAX:
        raise MiniMaxEmuError(2013, f"invalid params, text: {len(texts[0])} characters (at most {V2_TEXT_MAX})")
    keyframes = roles.get("first_frame", 0) + roles.get("last_frame", 0)
    references = roles.get("reference_image", 0) + roles.get("reference_video", 0) + roles.get("reference_audio", 0)
    if keyframes and references:
        raise MiniMaxEmuError(2013, "invalid params, keyframe mode and reference mode are mutually exclusive")
    if roles.get("first_frame", 0) > 1 or roles.get("last_frame", 0) > 1:
        raise MiniMaxEmuError(2013, "invalid params, at most one first_frame and one last_frame")
    if roles.get("last_frame") and not roles.get("first_frame"):
        raise MiniMaxEmuError(2013, "invalid params, last_frame needs a first_frame")
    if references and not model.references:
        raise MiniMaxEmuError(2013, f"invalid params, {name} takes no references")
    limits = {"reference_image": 9, "reference_video": 3, "reference_audio": 3}
    for role, most in limits.items():
        if roles.get(role, 0) > most:
            raise MiniMaxEmuError(2013, f"invalid params, at most {most} {role} items")
    if roles.get("reference_audio") and not (roles.get("reference_image") or roles.get("reference_video")):
        raise MiniMaxEmuError(2013, "invalid params, reference_audio needs a reference image or video")
    resolution = body.get("resolution")
    if resolution not in model.resolutions:
        raise MiniMaxEmuError(2013, f"invalid params, resolution: {resolution!r} (allowed: {list(model.resolutions)})")
    duration = body.get("duration")
    lo, hi = model.durations
    if isinstance(duration, bool) or not isinstance(duration, int) or not lo <= duration <= hi:
        raise MiniMaxEmuError(2013, f"invalid params, duration: {duration!r} (an integer, {lo}-{hi} s)")
    ratio = body.get("ratio")
    if ratio is not None and ratio != "adaptive" and not (isinstance(ratio, str) and RATIO.match(ratio)):
        raise MiniMaxEmuError(2013, f"invalid params, ratio: {ratio!r} (adaptive or W:H such as 16:9)")
    return str(name), model, texts[0], shape


def _aspect(shape: tuple[int, int] | None, fallback: str = "16:9") -> str:
    return f"{shape[0]}:{shape[1]}" if shape else fallback


def _pixels(aspect: str, tier: str) -> tuple[int, int]:
    """The video's size at a resolution tier: its short side is the tier, the long side even (768P 16:9 =
    1366x768, 1080P = 1920x1080: ComfyUI's docs via more-providers.md §2; 2K = 2560x1440: providers-2026 §6)."""
    a, _, b = aspect.partition(":")
    try:
        ratio = float(a) / float(b)
    except (ValueError, ZeroDivisionError):
        ratio = 16 / 9
    short = TIER_HEIGHT.get(tier, 768)
    long = round(short * max(ratio, 1 / ratio))
    long += long % 2
    return (long, short) if ratio >= 1 else (short, long)


def routes(state: EmulatorState) -> list[Route]:
    hooks: set[asyncio.Task[None]] = set()
    ids = itertools.count(int(time.time() * 1000) % 10**9 * 10**5)  # numeric ids, as MiniMax's int64 ones
    files: dict[int, str] = {}  # file_id -> task_id

    def auth(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if (
            scheme.lower() != "bearer"
            or not token
            or not any(hmac.compare_digest(token.encode(), k.encode()) for k in state.config.api_keys)
        ):
            raise MiniMaxEmuError(1004, "login fail: Please carry the API secret key in the 'Authorization' field")

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise MiniMaxEmuError(2013, "invalid params, the body is not JSON") from None
        if not isinstance(body, dict):
            raise MiniMaxEmuError(2013, "invalid params, the body must be a JSON object")
        return body

    async def guarded(handler: Any, request: Request) -> JSONResponse:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except MiniMaxEmuError as exc:
            return exc.response()

    # ------------------------------------------------------------ V1

    def v1_status(job: EmuJob) -> str:
        phase, _ = state.phase(job)
        if phase == "queued":
            return "Preparing" if state.config.clock() - job.created < job.queue_s / 3 else "Queueing"
        if phase == "running":
            return "Processing"
        return "Fail" if job.fail_reason else "Success"

    def v1_body(job: EmuJob, *, sizes: bool = True) -> dict[str, Any]:
        status = v1_status(job)
        body: dict[str, Any] = {"task_id": job.task_id, "status": status, "file_id": ""}
        if status == "Success":
            body["file_id"] = str(job.meta["mm_file_id"])
            if sizes:
                body["video_width"], body["video_height"] = job.meta["pixels"]
        body["base_resp"] = {"status_code": 1027, "status_msg": job.fail_reason} if status == "Fail" else _ok()
        return body

    async def challenge(url: str) -> None:
        token = secrets.token_urlsafe(16)
        try:
            async with httpx.AsyncClient(timeout=CHALLENGE_TIMEOUT_S) as http:
                answer = await http.post(url, json={"challenge": token})
            echoed = answer.json().get("challenge") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            echoed = None
        state.count("minimax challenge passed" if echoed == token else "minimax challenge failed")
        if echoed != token:
            raise MiniMaxEmuError(2013, f"invalid params, callback_url: it did not echo the challenge within "
                                        f"{CHALLENGE_TIMEOUT_S:g} s")  # fmt: skip

    async def send_callback(job: EmuJob, url: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(url, json=v1_body(job, sizes=False))
            state.count("minimax callback sent" if answer.status_code < 400 else "minimax callback failed")
        except httpx.HTTPError as exc:
            state.count("minimax callback failed")
            log.info("MiniMax callback for %s not delivered: %s", job.task_id, exc.__class__.__name__)

    def schedule_callbacks(job: EmuJob, url: str) -> None:
        loop = asyncio.get_running_loop()

        def processing() -> None:
            task = loop.create_task(send_callback(job, url))
            hooks.add(task)
            task.add_done_callback(hooks.discard)

        loop.call_later(max(0.0, job.created + job.queue_s - state.config.clock()), processing)
        when_final(state, job, lambda: send_callback(job, url), hooks)

    def new_job(dialect: str, model: str, body: dict[str, Any], prompt: str, duration: int, aspect: str,
                tier: str, latency_s: float, audio: bool) -> EmuJob:  # fmt: skip
        queue_s, render_s = state.timing(latency_s)
        trigger = state.config.fail_trigger.lower()
        width, height = _pixels(aspect, tier)
        job = EmuJob(
            task_id=str(next(ids)),
            dialect=dialect,
            model=model,
            body=body,
            created=state.config.clock(),
            duration=float(duration),
            aspect_ratio=aspect,
            fail_reason="output video sensitive" if trigger and trigger in prompt.lower() else None,
            queue_s=queue_s,
            render_s=render_s,
            output=OutputVideo(width=width, height=height, fps=FPS, audio=audio),
        )
        job.meta.update(mm_file_id=next(ids), resolution=tier, pixels=(width, height), created_unix=time.time(),
                        prompt=prompt)  # fmt: skip
        state.add(job)
        files[job.meta["mm_file_id"]] = job.task_id
        return job

    async def v1_create(request: Request) -> JSONResponse:
        state.count("POST /v1/video_generation")
        auth(request)
        body = await body_of(request)
        name, model, shape = check_v1(body)
        prompt = str(body.get("prompt") or "")
        _prompt_triggers(prompt)
        if body.get("callback_url"):
            await challenge(body["callback_url"])
        tier = str(body.get("resolution", model.default_resolution))
        job = new_job(DIALECT, name, body, prompt, int(body.get("duration", 6)), _aspect(shape), tier,
                      model.latency_s, audio=False)  # fmt: skip
        if body.get("callback_url"):
            schedule_callbacks(job, body["callback_url"])
        return JSONResponse({"task_id": job.task_id, "base_resp": _ok()})

    def find(task_id: str | None, dialect: str) -> EmuJob:
        job = state.jobs.get(task_id or "")
        if job is None or job.dialect != dialect:
            raise MiniMaxEmuError(2013, f"invalid params, task {task_id!r} not found")
        return job

    async def v1_query(request: Request) -> JSONResponse:
        state.count("GET /v1/query/video_generation")
        auth(request)
        return JSONResponse(v1_body(find(request.query_params.get("task_id"), DIALECT)))

    async def v1_retrieve(request: Request) -> JSONResponse:
        state.count("GET /v1/files/retrieve")
        auth(request)
        raw = request.query_params.get("file_id", "")
        task_id = files.get(int(raw)) if raw.isdigit() else None
        job = state.jobs.get(task_id or "")
        if job is None or v1_status(job) != "Success":
            raise MiniMaxEmuError(2013, f"invalid params, file_id {raw!r} not found")
        size, _ = await run_in_threadpool(job_digest, state, job)
        url = f"{str(request.base_url).rstrip('/')}/cdn/{job.file_token}.mp4"
        file = {"file_id": job.meta["mm_file_id"], "bytes": size, "created_at": int(job.meta["created_unix"]),
                "filename": "output.mp4", "purpose": "video_generation", "download_url": url,
                "backup_download_url": url}  # fmt: skip
        return JSONResponse({"file": file, "base_resp": _ok()})

    # ------------------------------------------------------------ V2

    def v2_task(job: EmuJob, base_url: str) -> dict[str, Any]:
        phase, _ = state.phase(job)
        status = {"queued": "queued", "running": "running"}.get(phase) or ("failed" if job.fail_reason else "succeeded")
        task: dict[str, Any] = {"id": job.task_id, "model": job.model, "status": status}
        task.update(ratio=job.body.get("ratio", "adaptive"), resolution=job.meta["resolution"])
        if status == "succeeded":
            task["content"] = {"url": f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4", "duration": job.duration}
            task["usage"] = {"duration": job.duration, "resolution": job.meta["resolution"]}
        elif status == "failed":
            task["error"] = {"code": 1027, "message": job.fail_reason}
        return task

    async def v2_create(request: Request) -> JSONResponse:
        state.count("POST /v2/video_generation")
        auth(request)
        body = await body_of(request)
        name, model, prompt, shape = check_v2(body)
        _prompt_triggers(prompt)
        ratio = body.get("ratio")
        aspect = ratio if isinstance(ratio, str) and RATIO.match(ratio) else _aspect(shape)
        job = new_job(DIALECT_V2, name, body, prompt, int(body["duration"]), aspect, str(body["resolution"]),
                      model.latency_s, audio=True)  # "2K (2560x1440) at 24 fps with stereo audio"  # fmt: skip
        return JSONResponse({"task": v2_task(job, str(request.base_url)), "base_resp": _ok()})

    async def v2_query(request: Request) -> JSONResponse:
        state.count("GET /v2/query/video_generation/{id}")
        auth(request)
        job = find(request.path_params["task_id"], DIALECT_V2)
        return JSONResponse({"task": v2_task(job, str(request.base_url)), "base_resp": _ok()})

    def route(path: str, handler: Any, method: str) -> Route:
        async def endpoint(request: Request) -> JSONResponse:
            return await guarded(handler, request)

        return Route(path, endpoint, methods=[method])

    return [
        route("/v1/video_generation", v1_create, "POST"),
        route("/v1/query/video_generation", v1_query, "GET"),
        route("/v1/files/retrieve", v1_retrieve, "GET"),
        route("/v2/video_generation", v2_create, "POST"),
        route("/v2/query/video_generation/{task_id}", v2_query, "GET"),
    ]
