"""Luma's two video APIs, emulated from the reference text (providers-2026.md §9, more-providers.md §4),
independently of vidgate's catalog.

**Agents API** (current): ``POST /v1/generations`` (``model: ray-3.2``, ``type`` video / video_edit /
video_reframe, ``prompt`` 1-6000 chars, ``aspect_ratio``, ``video{resolution, duration, hdr, loop, start_frame,
end_frame}``, ``source`` for edit/reframe) and ``GET /v1/generations/{id}`` (``state`` queued / processing /
completed / failed, ``failure_code``, ``output[{type, url}]`` with presigned URLs: ``X-Amz-Date`` and
``X-Amz-Expires=3600``, signed when the generation is read).

**Dream Machine** (legacy) under ``/dream-machine/v1``: ``POST /generations`` and ``/generations/video`` (201, the
Generation object), ``GET /generations/{id}``, ``GET /generations`` (list), ``DELETE /generations/{id}``
(delete). ``state`` queued / dreaming / completed / failed, ``assets.video``. ``callback_url`` receives the
Generation object (unsigned) when it starts dreaming and when it is completed or failed, retried 3 times 100 ms
apart when the answer is not 200, with a 5 s timeout.

Errors: ``{"detail": "..."}`` on both. Triggers in the prompt: ``RATE_LIMIT`` -> 429; the config's
``fail_trigger`` -> failed (Agents: ``failure_code`` ``content_moderated``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.callbacks import when_final
from vidgate.emulator.dialects._common import EmuHTTPError, is_image_ref
from vidgate.emulator.faults_shapes import register_shape_prefix
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import EmuJob, EmulatorState

AGENTS = "luma-agents"
LEGACY = "luma-dream-machine"
LEGACY_PREFIX = "/dream-machine/v1"
RATE_TRIGGER = "RATE_LIMIT"
LATENCY_S = 120.0
PRESIGN_S = 3600  # "Output URLs are presigned, 1 h expiry"
CALLBACK_TRIES = 1 + 3  # "retries 3x with 100 ms delay"
CALLBACK_DELAY_S = 0.1
CALLBACK_TIMEOUT_S = 5.0
log = logging.getLogger(__name__)
register_shape_prefix("/v1/generations", "luma")
register_shape_prefix(LEGACY_PREFIX + "/", "luma")


@dataclass(frozen=True)
class AgentsFacts:
    """What the reference says ray-3.2 takes on the Agents API."""

    types: tuple[str, ...] = ("video", "video_edit", "video_reframe")
    aspect_ratios: tuple[str, ...] = ("9:16", "3:4", "1:1", "4:3", "16:9", "21:9")
    resolutions: tuple[str, ...] = ("540p", "720p", "1080p")
    durations: tuple[str, ...] = ("5s", "10s")
    prompt_max: int = 6000
    video_fields: frozenset[str] = frozenset({"resolution", "duration", "hdr", "exr_export", "loop", "start_frame",
                                              "end_frame"})  # fmt: skip
    top_fields: frozenset[str] = frozenset({"model", "type", "prompt", "aspect_ratio", "video", "source"})


RAY_32 = AgentsFacts()
LEGACY_MODELS = ("ray-1-6", "ray-2", "ray-flash-2")
LEGACY_ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
LEGACY_RESOLUTIONS = ("540p", "720p", "1080p", "4k")
LEGACY_DURATIONS = ("5s", "9s")
LEGACY_FIELDS = frozenset({"generation_type", "model", "prompt", "aspect_ratio", "loop", "keyframes", "resolution",
                           "duration", "callback_url", "concepts"})  # fmt: skip


class LumaEmuError(EmuHTTPError):
    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.message}, status_code=self.status)


def _bad(message: str) -> LumaEmuError:
    return LumaEmuError(400, message)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_image_ref(path: str, ref: Any, *, video: bool = False) -> None:
    """An ImageRef (or a source video): ``{url}``, ``{data, media_type}`` or ``{generation_id}``."""
    if not isinstance(ref, dict):
        raise _bad(f"{path}: must be an object with url, data + media_type, or generation_id")
    kind = "video/" if video else "image/"
    if "generation_id" in ref:
        if set(ref) != {"generation_id"} or not isinstance(ref["generation_id"], str):
            raise _bad(f"{path}: generation_id stands alone")
        return
    media = ref.get("media_type")
    if media is not None and not (isinstance(media, str) and media.startswith(kind)):
        raise _bad(f"{path}.media_type: must be {kind}*")
    if "url" in ref:
        if not isinstance(ref["url"], str) or not ref["url"].startswith(("https://", "http://")):
            raise _bad(f"{path}.url: must be a URL")
        if video and media is None:
            raise _bad(f"{path}.media_type: required with a video url")
        return
    if "data" in ref:
        if media is None:
            raise _bad(f"{path}.media_type: required with data")
        if not isinstance(ref["data"], str) or not is_image_ref(ref["data"]):
            raise _bad(f"{path}.data: must be base64")
        return
    raise _bad(f"{path}: give url, data + media_type, or generation_id")


def check_agents(body: dict[str, Any]) -> None:
    f = RAY_32
    unknown = sorted(set(body) - f.top_fields)
    if unknown:
        raise _bad(f"{unknown[0]}: unknown field")
    if body.get("model") != "ray-3.2":
        raise _bad(f"model: {body.get('model')!r} does not make videos; use ray-3.2")
    kind = body.get("type")
    if kind not in f.types:
        raise _bad(f"type: must be one of {list(f.types)}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not 1 <= len(prompt) <= f.prompt_max:
        raise _bad(f"prompt: 1 to {f.prompt_max} characters")
    if "aspect_ratio" in body and body["aspect_ratio"] not in f.aspect_ratios:
        raise _bad(f"aspect_ratio: must be one of {list(f.aspect_ratios)}")
    video = body.get("video", {})
    if not isinstance(video, dict):
        raise _bad("video: must be an object")
    unknown = sorted(set(video) - f.video_fields)
    if unknown:
        raise _bad(f"video.{unknown[0]}: unknown field")
    if "resolution" in video and video["resolution"] not in f.resolutions:
        raise _bad(f"video.resolution: must be one of {list(f.resolutions)}")
    if "duration" in video and video["duration"] not in f.durations:
        raise _bad(f"video.duration: must be one of {list(f.durations)}")
    ten = video.get("duration") == "10s"
    if video.get("hdr") and (ten or video.get("resolution", "720p") not in ("720p", "1080p")):
        raise _bad("video.hdr: needs 720p or 1080p and is not available at 10s")
    for name in ("loop", "start_frame", "end_frame"):
        if ten and video.get(name):
            raise _bad(f"video.{name}: not available at 10s")
    for name in ("start_frame", "end_frame"):
        if name in video:
            check_image_ref(f"video.{name}", video[name])
    if kind == "video":
        if "source" in body:
            raise _bad("source: only for video_edit and video_reframe")
    else:
        if "source" not in body:
            raise _bad(f"source: required for {kind}")
        check_image_ref("source", body["source"], video=True)
        if "start_frame" in video or "end_frame" in video:
            raise _bad(f"video.start_frame: not for {kind}")


def check_legacy(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - LEGACY_FIELDS)
    if unknown:
        raise LumaEmuError(422, f"{unknown[0]}: extra fields not permitted")
    if body.get("model") not in LEGACY_MODELS:
        raise LumaEmuError(422, f"model: must be one of {list(LEGACY_MODELS)}")
    if body.get("generation_type", "video") != "video":
        raise LumaEmuError(422, "generation_type: must be video")
    if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
        raise LumaEmuError(422, "prompt: required")
    for name, allowed in (("aspect_ratio", LEGACY_ASPECTS), ("resolution", LEGACY_RESOLUTIONS),
                          ("duration", LEGACY_DURATIONS)):  # fmt: skip
        if name in body and body[name] not in allowed:
            raise LumaEmuError(422, f"{name}: must be one of {list(allowed)}")
    keyframes = body.get("keyframes", {})
    if not isinstance(keyframes, dict) or set(keyframes) - {"frame0", "frame1"}:
        raise LumaEmuError(422, "keyframes: an object with frame0 and/or frame1")
    for name, frame in keyframes.items():
        ok = isinstance(frame, dict) and (
            (frame.get("type") == "image" and str(frame.get("url", "")).startswith(("https://", "http://")))
            or (frame.get("type") == "generation" and isinstance(frame.get("id"), str))
        )
        if not ok:
            raise LumaEmuError(422, f"keyframes.{name}: {{type: image, url}} (a URL) or {{type: generation, id}}")
    hook = body.get("callback_url")
    if hook is not None and not (isinstance(hook, str) and hook.startswith(("https://", "http://"))):
        raise LumaEmuError(422, "callback_url: must be a URL")


def routes(state: EmulatorState) -> list[Route]:
    hooks: set[asyncio.Task[None]] = set()

    def auth(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if (
            scheme.lower() != "bearer"
            or not token
            or not any(hmac.compare_digest(token.encode(), k.encode()) for k in state.config.api_keys)
        ):
            raise LumaEmuError(401, "Invalid API key is provided")

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _bad("the body must be JSON") from None
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        return body

    def find(request: Request, dialect: str) -> EmuJob:
        job = state.jobs.get(request.path_params["gid"])
        if job is None or job.dialect != dialect or job.meta.get("deleted"):
            raise LumaEmuError(404, "Generation not found")
        return job

    def new_job(dialect: str, model: str, body: dict[str, Any], prompt: str, duration: str | None,
                aspect: str | None) -> EmuJob:  # fmt: skip
        queue_s, render_s = state.timing(LATENCY_S)
        trigger = state.config.fail_trigger.lower()
        job = EmuJob(
            task_id=str(uuid.uuid4()),
            dialect=dialect,
            model=model,
            body=body,
            created=state.config.clock(),
            duration=float((duration or "5s").removesuffix("s")),
            aspect_ratio=aspect or "16:9",
            fail_reason="Prompt was flagged by content moderation" if trigger and trigger in prompt.lower() else None,
            # resolution 540p|720p|1080p(|4k legacy), 720p when none (the emulator's choice); silent, 24 fps
            output=OutputVideo(*output_size(aspect or "16:9", str(_resolution(body) or "720p")), fps=24),
            queue_s=queue_s,
            render_s=render_s,
        )
        job.meta["created_at"] = _iso(datetime.now(UTC))
        return state.add(job)

    async def agents_create(request: Request) -> JSONResponse:
        state.count("POST /v1/generations")
        auth(request)
        body = await body_of(request)
        check_agents(body)
        if RATE_TRIGGER.lower() in body["prompt"].lower():
            raise LumaEmuError(429, "Rate limit exceeded; retry later")
        video = body.get("video") or {}
        duration = video.get("duration")
        source = body.get("source") or {}
        if body["type"] != "video" and "generation_id" in source:
            parent = state.jobs.get(source["generation_id"])
            if parent is None or parent.dialect != AGENTS or state.phase(parent)[0] != "done":
                raise _bad("source.generation_id: no completed generation with this id")
            duration = duration or f"{int(parent.duration)}s"
        job = new_job(AGENTS, "ray-3.2", body, body["prompt"], duration, body.get("aspect_ratio"))
        job.meta["resolution"] = video.get("resolution")
        return JSONResponse(agents_generation(state, job, str(request.base_url)), status_code=201)

    async def agents_get(request: Request) -> JSONResponse:
        state.count("GET /v1/generations/{id}")
        auth(request)
        return JSONResponse(agents_generation(state, find(request, AGENTS), str(request.base_url)))

    async def legacy_create(request: Request) -> JSONResponse:
        state.count(f"POST {request.url.path}")
        auth(request)
        body = await body_of(request)
        check_legacy(body)
        if RATE_TRIGGER.lower() in body["prompt"].lower():
            raise LumaEmuError(429, "Too many requests")
        job = new_job(LEGACY, body["model"], body, body["prompt"], body.get("duration"), body.get("aspect_ratio"))
        job.meta["resolution"] = body.get("resolution")
        base = str(request.base_url)
        if body.get("callback_url"):
            schedule_callbacks(job, body["callback_url"], base)
        return JSONResponse(legacy_generation(state, job, base), status_code=201)

    async def legacy_get(request: Request) -> JSONResponse:
        state.count("GET /dream-machine/v1/generations/{id}")
        auth(request)
        return JSONResponse(legacy_generation(state, find(request, LEGACY), str(request.base_url)))

    async def legacy_list(request: Request) -> JSONResponse:
        state.count("GET /dream-machine/v1/generations")
        auth(request)
        try:
            limit = int(request.query_params.get("limit", "10"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            raise LumaEmuError(422, "limit and offset: integers") from None
        jobs = [j for j in state.jobs.values() if j.dialect == LEGACY and not j.meta.get("deleted")]
        jobs.sort(key=lambda j: j.created, reverse=True)
        page = [legacy_generation(state, j, str(request.base_url)) for j in jobs[offset : offset + limit]]
        return JSONResponse({"generations": page, "has_more": offset + limit < len(jobs), "count": len(page)})

    async def legacy_delete(request: Request) -> Response:
        state.count("DELETE /dream-machine/v1/generations/{id}")
        auth(request)
        find(request, LEGACY).meta["deleted"] = True
        return Response(status_code=204)

    def schedule_callbacks(job: EmuJob, url: str, base: str) -> None:
        loop = asyncio.get_running_loop()
        start_in = max(0.0, job.created + job.queue_s - state.config.clock())

        def dreaming() -> None:
            task = loop.create_task(send(job, url, base))
            hooks.add(task)
            task.add_done_callback(hooks.discard)

        loop.call_later(start_in + 0.01, dreaming)
        when_final(state, job, lambda: send(job, url, base), hooks)

    async def send(job: EmuJob, url: str, base: str) -> None:
        raw = json.dumps(legacy_generation(state, job, base)).encode()
        for attempt in range(CALLBACK_TRIES):
            try:
                async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_S) as http:
                    answer = await http.post(url, content=raw, headers={"Content-Type": "application/json"})
                if answer.status_code == 200:
                    state.count("luma callback sent")
                    return
            except httpx.HTTPError as exc:
                log.info("Luma callback for %s not delivered: %s", job.task_id, exc.__class__.__name__)
            if attempt + 1 < CALLBACK_TRIES:
                await asyncio.sleep(CALLBACK_DELAY_S)
        state.count("luma callback failed")

    p = LEGACY_PREFIX
    return [
        Route("/v1/generations", agents_create, methods=["POST"]),
        Route("/v1/generations/{gid}", agents_get, methods=["GET"]),
        Route(f"{p}/generations", legacy_create, methods=["POST"]),
        Route(f"{p}/generations/video", legacy_create, methods=["POST"]),
        Route(f"{p}/generations", legacy_list, methods=["GET"]),
        Route(f"{p}/generations/{{gid}}", legacy_get, methods=["GET"]),
        Route(f"{p}/generations/{{gid}}", legacy_delete, methods=["DELETE"]),
    ]


def presigned(base_url: str, job: EmuJob) -> str:
    """The file URL with S3-style presign parameters, signed now for ``PRESIGN_S`` seconds."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    query = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}&X-Amz-Expires={PRESIGN_S}"
    return f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4?{query}&X-Amz-Signature={secrets.token_hex(16)}"


def agents_generation(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    phase, _ = state.phase(job)
    body: dict[str, Any] = {
        "id": job.task_id,
        "created_at": job.meta["created_at"],
        "model": job.model,
        "type": job.body.get("type"),
        "state": {"queued": "queued", "running": "processing"}.get(phase, "completed"),
        "failure_code": None,
        "failure_reason": None,
        "output": [],
    }
    if phase != "done":
        return body
    if job.fail_reason:
        return {**body, "state": "failed", "failure_code": "content_moderated", "failure_reason": job.fail_reason}
    return {**body, "output": [{"type": "video", "url": presigned(base_url, job)}]}


def legacy_generation(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    phase, _ = state.phase(job)
    body: dict[str, Any] = {
        "id": job.task_id,
        "generation_type": "video",
        "state": {"queued": "queued", "running": "dreaming"}.get(phase, "completed"),
        "failure_reason": None,
        "created_at": job.meta["created_at"],
        "assets": None,
        "model": job.model,
        "request": job.body,
    }
    if phase != "done":
        return body
    if job.fail_reason:
        return {**body, "state": "failed", "failure_reason": job.fail_reason}
    url = f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4"
    return {**body, "assets": {"video": url, "image": None, "progress_video": None}}


def _resolution(body: dict[str, Any]) -> object:
    """``resolution`` at the top (Dream Machine) or inside ``video`` (Agents)."""
    video = body.get("video")
    return body.get("resolution") or (video.get("resolution") if isinstance(video, dict) else None)
