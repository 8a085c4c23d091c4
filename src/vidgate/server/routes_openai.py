"""OpenAI-compatible ``/v1/videos``: the unmodified ``openai`` SDK works against these routes.

    create     POST   /v1/videos                   JSON or multipart (input_reference file)
    retrieve   GET    /v1/videos/{id}
    list       GET    /v1/videos?after=&limit=&order=
    delete     DELETE /v1/videos/{id}
    content    GET    /v1/videos/{id}/content?variant=video|thumbnail|spritesheet   (Range)
    remix      POST   /v1/videos/{id}/remix
    cancel     POST   /v1/videos/{id}/cancel       (vidgate extension)
    events     GET    /v1/videos/{id}/events       Server-Sent Events (see ``sse``)

Every video object also carries a ``vidgate`` object (state words, provider status, probe, signed links).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from vidgate.errors import VidgateError
from vidgate.server import files
from vidgate.server.bodies import (
    OpenAICreate,
    OpenAIRemix,
    body_schema,
    check_prompt,
    openai_request,
    parse_model,
    read_body,
)
from vidgate.server.deps import GatewayDep, PrincipalDep, VideoDep
from vidgate.server.errors import APIError, from_vidgate
from vidgate.server.gateway import Gateway
from vidgate.server.present import video_object
from vidgate.server.responses import JSONResponse
from vidgate.server.sse import job_events
from vidgate.store.codec import encode_cursor
from vidgate.types import ImageRole, Job

log = logging.getLogger("vidgate.server")
router = APIRouter(prefix="/v1/videos", tags=["videos (OpenAI-compatible)"])

_MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string"},
        "model": {"type": "string"},
        "seconds": {"type": "string"},
        "size": {"type": "string"},
        "input_reference": {"type": "string", "format": "binary"},
        "aspect_ratio": {"type": "string"},
        "resolution": {"type": "string"},
        "hd": {"type": "string", "enum": ["true", "false"]},
        "callback_url": {"type": "string"},
        "images": {"type": "array", "items": {"type": "string"}},
        "image_roles": {"type": "array", "items": {"type": "string", "enum": [r.value for r in ImageRole]}},
        "characters": {"type": "array", "items": {"type": "string"}},
        "options": {"type": "string", "description": "A JSON object of per-provider options"},
    },
    "additionalProperties": False,
}
CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": body_schema(OpenAICreate)},
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
        },
    }
}
REMIX_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": body_schema(OpenAIRemix)}}}}
VIDEO_EXAMPLE = {
    "description": "The video object",
    "content": {
        "application/json": {
            "example": {
                "id": "job_0123456789abcdef01234567",
                "object": "video",
                "model": "relay/sora-2",
                "status": "queued",
                "progress": 0,
                "created_at": 1764115200,
                "completed_at": None,
                "expires_at": None,
                "prompt": "a lighthouse",
                "size": "1280x720",
                "seconds": "10",
                "remixed_from_video_id": None,
                "error": None,
                "vidgate": {},
            }
        }
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (OpenAI error shape, one entry per bad field in error.problems)"},
    401: {"description": "Missing or wrong API key"},
    404: {"description": "No such video for this API key"},
}


def video_json(gw: Gateway, request: Request, job: Job) -> dict[str, Any]:
    return video_object(job, links=files.links(gw, request, job), spec=gw.spec_or_none(job.model))


def respond(gw: Gateway, request: Request, job: Job) -> JSONResponse:
    headers = {}
    if not job.status.terminal:
        headers["openai-poll-after-ms"] = str(max(200, int(1000 * gw.config.server.time_scale)))
    return JSONResponse(video_json(gw, request, job), headers=headers)


def _spec_of(gw: Gateway) -> Any:
    def spec_of(model: str) -> Any:
        return gw.router.resolve(model)

    return spec_of


@router.post("", summary="Create a video", openapi_extra=CREATE_BODY, responses={200: VIDEO_EXAMPLE, **ERRORS})
async def create_video(
    request: Request,
    gw: GatewayDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    fields, uploads = await read_body(request)
    try:
        video_request, callback = openai_request(fields, uploads, _spec_of(gw), gw.config.server.max_prompt_chars)
    except VidgateError as exc:
        raise from_vidgate(exc) from None
    except ValueError as exc:  # e.g. an image source the request model refuses
        raise APIError(400, str(exc), code="invalid_value") from None
    job = await gw.submit(
        principal, video_request, idempotency_key=idempotency_key, callback_url=callback, image_param="input_reference"
    )
    return respond(gw, request, job)


@router.get("", summary="List videos")
async def list_videos(
    request: Request,
    gw: GatewayDep,
    principal: PrincipalDep,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> JSONResponse:
    jobs, has_more = await run_in_threadpool(_page, gw, principal.key_id, after, limit, order)
    data = [video_json(gw, request, j) for j in jobs]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


def _page(gw: Gateway, owner: str, after: str | None, limit: int, order: str) -> tuple[list[Job], bool]:
    if order == "desc":
        cursor = None
        if after:
            anchor = gw.job_or_none(owner, after)
            if anchor is None:
                raise APIError(
                    400, f"Invalid 'after': no video with id '{after}'.", param="after", code="invalid_value"
                )
            cursor = encode_cursor(anchor.created_at, anchor.id)
        page = gw.store.list_jobs(owner=owner, limit=limit, cursor=cursor)
        return page.jobs, page.next_cursor is not None
    every: list[Job] = []
    cursor = None
    while True:  # oldest first: walk the newest-first pages (bounded by what one key created)
        page = gw.store.list_jobs(owner=owner, limit=500, cursor=cursor)
        every.extend(page.jobs)
        if page.next_cursor is None or len(every) >= 50_000:
            break
        cursor = page.next_cursor
    every.reverse()
    if after:
        ids = [j.id for j in every]
        if after not in ids:
            raise APIError(400, f"Invalid 'after': no video with id '{after}'.", param="after", code="invalid_value")
        every = every[ids.index(after) + 1 :]
    return every[:limit], len(every) > limit


@router.get("/{video_id}", summary="Retrieve a video", responses={200: VIDEO_EXAMPLE, **ERRORS})
async def retrieve_video(video_id: str, request: Request, read: VideoDep) -> JSONResponse:
    return respond(read.gw, request, read.job)


@router.delete("/{video_id}", summary="Delete a finished video", responses=ERRORS)
async def delete_video(video_id: str, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    await gw.delete(principal, video_id)
    return JSONResponse({"id": video_id, "object": "video.deleted", "deleted": True})


@router.get(
    "/{video_id}/content",
    summary="Download the video, thumbnail or spritesheet",
    responses=ERRORS,
    response_class=FileResponse,
)
async def video_content(
    video_id: str,
    read: VideoDep,
    request: Request,
    variant: Annotated[Literal["video", "thumbnail", "spritesheet"], Query()] = "video",
) -> Response:
    return await files.serve(read.gw, read.job, variant, request)


router.add_api_route("/{video_id}/content", video_content, methods=["HEAD"], include_in_schema=False)


@router.post(
    "/{video_id}/remix",
    summary="Remix a finished video",
    openapi_extra=REMIX_BODY,
    responses={200: VIDEO_EXAMPLE, **ERRORS},
)
async def remix_video(video_id: str, request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    fields, uploads = await read_body(request)
    if uploads:
        raise APIError(400, "A remix takes only a prompt.", param=next(iter(uploads)), code="unknown_parameter")
    body: OpenAIRemix = parse_model(OpenAIRemix, fields)
    check_prompt(body.prompt, gw.config.server.max_prompt_chars)
    job = await gw.remix(principal, video_id, body.prompt)
    return respond(gw, request, job)


@router.post(
    "/{video_id}/cancel",
    summary="Cancel a video that is not finished (vidgate extension)",
    responses={200: VIDEO_EXAMPLE, **ERRORS},
)
async def cancel_video(video_id: str, request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    job = await gw.cancel(principal, video_id)
    return respond(gw, request, job)


@router.get(
    "/{video_id}/events",
    summary="Live progress as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: `event: video` with the video object on every "
            "change, then `event: done`",
            "content": {"text/event-stream": {}},
        },
        **ERRORS,
    },
)
async def video_events(video_id: str, request: Request, read: VideoDep) -> StreamingResponse:
    gw = read.gw
    return StreamingResponse(
        job_events(gw, request, read.job, lambda j: video_json(gw, request, j)),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
