"""Relay-compatible ``/v2/videos/generations``: apps written for the relay switch by changing the base URL.

Field names and status words are the relay's: create answers ``{"task_id"}``; the query answers
``status`` NOT_START / IN_PROGRESS / SUCCESS / FAILURE, ``progress`` "37%", ``fail_reason`` and
``data.output`` (an expiring signed link to the saved video on this gateway; no API key needed).
``notify_hook`` becomes a signed Standard Webhook from this gateway when the task is final.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from vidgate.errors import VidgateError
from vidgate.server import files
from vidgate.server.bodies import RelayCreate, body_schema, read_body, relay_request
from vidgate.server.deps import GatewayDep, GatewayKeyAndVideo, PrincipalDep, VideoRead
from vidgate.server.errors import APIError, from_vidgate
from vidgate.server.present import relay_task
from vidgate.server.responses import JSONResponse

router = APIRouter(prefix="/v2/videos/generations", tags=["videos (relay-compatible)"])
TaskDep = Annotated[VideoRead, Depends(GatewayKeyAndVideo("task_id"))]

CREATE_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema(RelayCreate)}}}
}


@router.post(
    "",
    summary="Create a video task (relay unified format)",
    openapi_extra=CREATE_BODY,
    responses={200: {"content": {"application/json": {"example": {"task_id": "job_0123"}}}}},
)
async def create_task(
    request: Request,
    gw: GatewayDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    data, _ = await read_body(request, allow_multipart=False)
    try:
        video_request, hook = relay_request(data, gw.router.resolve, gw.config.server.max_prompt_chars)
    except VidgateError as exc:
        raise from_vidgate(exc, {}) from None
    except ValueError as exc:
        raise APIError(400, str(exc), code="invalid_value") from None
    job = await gw.submit(
        principal,
        video_request,
        idempotency_key=idempotency_key,
        callback_url=hook,
        callback_param="notify_hook",
        image_param="images",
    )
    return JSONResponse({"task_id": job.id})


@router.get("/{task_id}", summary="Query a video task (relay unified format)")
async def query_task(task_id: str, request: Request, read: TaskDep) -> JSONResponse:
    job = read.job
    output = files.link(read.gw, request, job) if job.done and job.video is not None else None
    return JSONResponse(relay_task(job, output))
