"""OpenAI-format videos (``/v1/videos``), emulated: the routes, the video object and the job clock.

Two flavours on one server: OpenAI under ``/openai/v1/videos``, the relay's copy at ``/v1/videos``. The
request schema each enforces is in ``openai_videos_schema`` (see its docstring for the documented facts).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vidgate.emulator.dialects.openai_videos_schema import (
    DIALECT,
    GUARDRAIL_FAILURE,
    OPENAI,
    PRIVATE_REMIX,
    PROMPT_MAX,
    RELAY,
    VARIANTS,
    Flavour,
    OpenAIError,
    auth,
    check_create,
    quote_list,
    read_body,
    request_id,
    text_field,
)
from vidgate.emulator.facts import SORA_AUDIO, SORA_FPS, sora_latency
from vidgate.emulator.files import job_shape, job_video_response
from vidgate.emulator.render import OutputVideo, output_size, render_spritesheet, render_thumbnail
from vidgate.emulator.state import EmuJob, EmulatorState

# ---------------------------------------------------------------- the video object


def _latency(flavour: Flavour, model: str) -> float:
    return sora_latency(model)


def new_id(flavour: Flavour, model: str) -> str:
    if flavour is RELAY:
        alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
        return f"{model}:task_" + "".join(secrets.choice(alphabet) for _ in range(26))
    return "video_" + secrets.token_hex(16)


def status_of(state: EmulatorState, job: EmuJob) -> tuple[str, int]:
    phase, fraction = state.phase(job)
    if phase == "queued":
        return "queued", 0
    if phase == "running":
        return "in_progress", min(99, int(fraction * 100))
    return ("failed", 100) if job.fail_reason else ("completed", 100)


def poll_after_ms(job: EmuJob) -> int:
    """The hint the emulator sends while a job runs: a tenth of its total time, within 50 ms .. 10 s."""
    return max(50, min(10_000, int((job.queue_s + job.render_s) * 100)))


def video_json(state: EmulatorState, job: EmuJob, base_url: str) -> dict[str, Any]:
    params = job.body
    flavour = RELAY if params["flavour"] == "relay" else OPENAI
    status, progress = status_of(state, job)
    age = state.config.clock() - job.created
    created = time.time() - age
    done_at = created + job.queue_s + job.render_s
    if flavour is RELAY:
        body: dict[str, Any] = {
            "id": job.task_id,
            "status": status,
            "created_at": int(created * 1000),  # milliseconds: the relay's drift
            "model": job.model,
            "object": "video",
            "progress": progress,
            "seconds": params["seconds"],
            "size": "small",
            "video_url": "",
        }
        if params.get("remixed_from_video_id"):
            body["remixed_from_video_id"] = params["remixed_from_video_id"]
        if status == "completed":
            link = f"{base_url.rstrip('/')}/cdn/{job.file_token}.mp4"
            body["url"] = body["video_url"] = link
        elif status == "failed":
            body["error"] = {"code": "generation_failed", "message": job.fail_reason}
        return body
    finished = status in ("completed", "failed")
    return {
        "id": job.task_id,
        "object": "video",
        "model": job.model,
        "status": status,
        "progress": progress,
        "created_at": int(created),
        "completed_at": int(done_at) if finished else None,
        "expires_at": int(done_at) + 3600 if status == "completed" else None,
        "prompt": params["prompt"],
        "size": params["size"],
        "seconds": params["seconds"],
        "remixed_from_video_id": params.get("remixed_from_video_id"),
        "error": {"code": "generation_failed", "message": job.fail_reason} if status == "failed" else None,
    }


def video_response(state: EmulatorState, job: EmuJob, request: Request) -> JSONResponse:
    body = video_json(state, job, str(request.base_url))
    headers = {"x-request-id": request_id()}
    if body["status"] in ("queued", "in_progress") and state.config.poll_after_hint:
        headers["openai-poll-after-ms"] = str(poll_after_ms(job))
    return JSONResponse(body, headers=headers)


# ---------------------------------------------------------------- routes


def routes(state: EmulatorState) -> list[Route]:
    return [*_flavour_routes(state, RELAY), *_flavour_routes(state, OPENAI)]


def _flavour_routes(state: EmulatorState, flavour: Flavour) -> list[Route]:
    base = f"{flavour.prefix}/v1/videos"

    def add_job(params: dict[str, Any], model: str) -> EmuJob:
        queue_s, render_s = state.timing(_latency(flavour, model))
        trigger = state.config.fail_trigger.lower()
        job = EmuJob(
            task_id=new_id(flavour, model),
            dialect=DIALECT,
            model=model,
            body={**params, "flavour": flavour.name},
            created=state.config.clock(),
            duration=float(params["seconds"]),
            aspect_ratio=params["size"],
            fail_reason=GUARDRAIL_FAILURE if trigger and trigger in params["prompt"].lower() else None,
            queue_s=queue_s,
            render_s=render_s,
            output=OutputVideo(*output_size(params["size"]), fps=SORA_FPS, audio=SORA_AUDIO),  # exactly `size`
        )
        return state.add(job)

    def find(request: Request) -> EmuJob:
        video_id = request.path_params["video_id"]
        job = state.jobs.get(video_id)
        if job is None or job.dialect != DIALECT or job.body.get("flavour") != flavour.name:
            raise OpenAIError(404, f"Video with id '{video_id}' not found.", "not_found", "video_id")
        return job

    async def create(request: Request) -> Response:
        state.count(f"POST {base}")
        auth(request, state)
        body, multipart = await read_body(request)
        params = await check_create(body, multipart, flavour)
        return video_response(state, add_job(params, params["model"]), request)

    async def retrieve(request: Request) -> Response:
        state.count(f"GET {base}/{{id}}")
        auth(request, state)
        return video_response(state, find(request), request)

    async def listing(request: Request) -> Response:
        state.count(f"GET {base}")
        auth(request, state)
        query = request.query_params
        for name in query:
            if name not in ("after", "limit", "order"):
                raise OpenAIError(400, f"Unknown parameter: '{name}'.", "unknown_parameter", name)
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise OpenAIError(400, "Invalid 'limit': expected an integer.", "invalid_type", "limit") from None
        if not 0 <= limit <= 100:
            raise OpenAIError(
                400, f"Invalid 'limit': {limit}. Expected a value from 0 to 100.", "invalid_value", "limit"
            )
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise OpenAIError(
                400, f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "invalid_value", "order"
            )
        mine = [j for j in state.jobs.values() if j.dialect == DIALECT and j.body.get("flavour") == flavour.name]
        if order == "desc":
            mine.reverse()
        after = query.get("after")
        if after is not None:
            ids = [j.task_id for j in mine]
            if after not in ids:
                raise OpenAIError(400, f"Invalid 'after': no video with id '{after}'.", "invalid_value", "after")
            mine = mine[ids.index(after) + 1 :]
        page = mine[:limit]
        data = [video_json(state, j, str(request.base_url)) for j in page]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(mine) > len(page),
            },
            headers={"x-request-id": request_id()},
        )

    async def delete(request: Request) -> Response:
        state.count(f"DELETE {base}/{{id}}")
        auth(request, state)
        job = find(request)
        status, _ = status_of(state, job)
        if status not in ("completed", "failed"):
            raise OpenAIError(
                400, f"Video '{job.task_id}' is {status}: only completed or failed videos can be deleted.",
                "invalid_value", "video_id",
            )  # fmt: skip
        with state._lock:
            state.jobs.pop(job.task_id, None)
            state.files.pop(job.file_token, None)
        return JSONResponse(
            {"id": job.task_id, "object": "video.deleted", "deleted": True}, headers={"x-request-id": request_id()}
        )

    async def remix(request: Request) -> Response:
        state.count(f"POST {base}/{{id}}/remix")
        auth(request, state)
        source = find(request)
        body, multipart = await read_body(request)
        for name in body:
            if name != "prompt":
                raise OpenAIError(400, f"Unknown parameter: '{name}'.", "unknown_parameter", name)
        prompt = text_field(body, "prompt", multipart)
        if not prompt or len(prompt) > PROMPT_MAX:
            raise OpenAIError(400, "Invalid 'prompt': expected 1 to 32000 characters.", "invalid_value", "prompt")
        if source.body.get("private"):
            raise OpenAIError(400, PRIVATE_REMIX, "video_private", "video_id")
        status, _ = status_of(state, source)
        if status != "completed":
            raise OpenAIError(
                400,
                f"Video '{source.task_id}' is {status}: only a completed video can be remixed.",
                "invalid_value",
                "video_id",
            )
        params = {k: source.body[k] for k in ("model", "seconds", "size")}
        params.update(prompt=prompt, remixed_from_video_id=source.task_id)
        return video_response(state, add_job(params, source.model), request)

    async def content(request: Request) -> Response:
        state.count(f"GET {base}/{{id}}/content")
        auth(request, state)
        job = find(request)
        variant = request.query_params.get("variant", "video")
        if variant not in VARIANTS:
            raise OpenAIError(
                400,
                f"Invalid value: '{variant}'. Supported values are: {quote_list(list(VARIANTS))}.",
                "invalid_value",
                "variant",
            )
        status, _ = status_of(state, job)
        if status != "completed":
            raise OpenAIError(404, f"Video '{job.task_id}' has no content: it is {status}.", "not_found", "video_id")
        # OpenAI documents the formats (thumbnail .webp, spritesheet .jpg; CORE §1.5), not the sizes: the
        # thumbnail is the video's first frame at the video's size, the spritesheet 10 stills in 5 columns at
        # a 144-pixel short side each [choice]
        shape = job_shape(state, job)
        if variant == "thumbnail":
            thumb = await run_in_threadpool(render_thumbnail, shape.width, shape.height, shape.text or "thumbnail")
            return Response(thumb, media_type=VARIANTS[variant])
        if variant == "spritesheet":
            sheet = await run_in_threadpool(render_spritesheet, shape.width, shape.height, tile_short_side=144)
            return Response(sheet, media_type=VARIANTS[variant])
        return await job_video_response(request, state, job)  # Range, ETag; the bytes /_emulator/truth hashes

    return [
        Route(base, create, methods=["POST"]),
        Route(base, listing, methods=["GET"]),
        Route(f"{base}/{{video_id}}", retrieve, methods=["GET"]),
        Route(f"{base}/{{video_id}}", delete, methods=["DELETE"]),
        Route(f"{base}/{{video_id}}/remix", remix, methods=["POST"]),
        Route(f"{base}/{{video_id}}/content", content, methods=["GET"]),
    ]
