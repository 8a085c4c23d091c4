"""Assists through the gateway: ``POST /v1/assists/plan``, ``/v1/assists/frame``, ``/v1/assists/review``.

A tenant's key uses the relay's chat models (plan a storyboard, make a first frame, review a finished video of
the same key) through the gateway's route for the chat model's provider. Budgets apply: a key with a spend
budget is charged the operator's ``[prices]`` entry for the chat model (USD per request, by catalog key or
wire id) before the call and refunded only when no chat request can have been billed (see ``_charged``); without
a price such a key is refused (402), as for videos. Nothing here reads a local path: images are URLs or data
URIs, videos are this key's jobs or URLs; the link in an image model's answer is fetched through the SSRF guard.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from vidgate.assists import run as assists
from vidgate.assists.ask import ChatCalls
from vidgate.assists.review import choose_reviewer
from vidgate.catalog.chat_models import ChatModelSpec, load_chat_catalog
from vidgate.errors import VidgateError
from vidgate.net.steps import Steps
from vidgate.server.bodies import body_schema, parse_model, read_body
from vidgate.server.deps import GatewayDep, PrincipalDep
from vidgate.server.errors import APIError, from_vidgate
from vidgate.server.gateway import Gateway
from vidgate.server.responses import JSONResponse
from vidgate.server.tenants import Principal
from vidgate.types import utcnow

T = TypeVar("T")
log = logging.getLogger("vidgate.server")
router = APIRouter(prefix="/v1/assists", tags=["assists"])
_FORBID = ConfigDict(extra="forbid")


class PlanBody(BaseModel):
    model_config = _FORBID

    idea: str = Field(min_length=1, max_length=20000, description="What the video should show")
    model: str = Field(description="The video model the plan is for")
    duration: float | None = Field(None, gt=0, description="Total seconds (default: the model's)")
    aspect_ratio: str | None = None
    chat_model: str | None = Field(None, description="A chat model with structured output")


class FrameBody(BaseModel):
    model_config = _FORBID

    description: str = Field(min_length=1, max_length=20000)
    model: str = Field(description="The video model that will take the image")
    role: str = "first_frame"
    image: str | None = Field(None, description="An image to edit: an https URL or a data URI")
    aspect_ratio: str | None = None
    size: str | None = Field(
        None, max_length=32, description="WIDTHxHEIGHT: one of the model's sizes, within its image limits"
    )
    chat_model: str | None = Field(None, description="A chat model with image output")


class ReviewBody(BaseModel):
    model_config = _FORBID

    video_id: str | None = Field(None, description="A finished video of this API key (the verdict is stored on it)")
    video_url: str | None = Field(None, description="Or a public video URL")
    prompt: str | None = Field(None, max_length=20000, description="Default: the video's own prompt")
    chat_model: str | None = Field(None, description="A chat model with video input")


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": body_schema(model)}}}}


def _route_for(gw: Gateway, chat: ChatModelSpec) -> str:
    route = next((r.name for r in gw.router.routes.values() if r.provider == chat.provider), None)
    if route is None:
        raise APIError(
            400,
            f"This gateway has no route to {chat.provider}, where {chat.key} is served.",
            param="chat_model",
            code="model_not_found",
        )
    return route


def _charge(gw: Gateway, principal: Principal, chat: ChatModelSpec) -> float:
    """The chat model's price per request, reserved on the key's budget (402 when unknown or over budget)."""
    record = principal.record
    if record is None or record.budget_usd is None:
        return 0.0
    prices = gw.config.prices
    cost = prices.get(chat.key, prices.get(chat.model))
    if cost is None:
        raise APIError(
            402,
            f"This API key has a spend budget and no price is known for {chat.key}; ask the "
            f"operator to add it under [prices] (USD per request).",
            param="chat_model",
            code="price_unknown",
            kind="insufficient_quota",
        )
    if not gw.data.charge(record.id, cost):
        raise APIError(
            402,
            f"This assist costs ${cost:.4f} ({chat.key}) and the API key's budget is used up. Nothing was sent.",
            code="budget_exceeded",
            kind="insufficient_quota",
        )
    return cost


async def _charged(
    gw: Gateway, principal: Principal, chat: ChatModelSpec, what: str, steps: Callable[[ChatCalls], Steps[T]]
) -> T:
    """Run an assist on the key's budget. The charge is given back only when no chat request can have been
    billed (refused before sending, never sent, or answered with an HTTP error); once the provider answered, or
    an answer was lost after sending, it stands, and a failure after an answer is a generic 422 (the model's
    text and what it linked to stay in the gateway's debug log)."""
    cost = _charge(gw, principal, chat)
    calls = ChatCalls()
    try:
        return await gw.client.engine.run(steps(calls))
    except BaseException as exc:
        billed = calls.may_be_billed
        if cost and principal.record is not None:
            if not billed:
                gw.data.refund(principal.record.id, cost)
            log.info(
                "assist %s on %s failed (%s); attempts %s; $%.4f %s",
                what,
                chat.key,
                exc.__class__.__name__,
                ",".join(calls.outcomes) or "none",
                cost,
                "kept: the provider may have billed it" if billed else "refunded",
            )
        if calls.answered and isinstance(exc, VidgateError):
            log.debug("assist %s on %s: the answer was not usable: %s", what, chat.key, exc)
            raise APIError(  # a 4xx: SDKs resend 5xx answers by themselves, and each resend would be charged
                422,
                f"The chat model {chat.key} answered, but its answer could not be used for the {what} "
                f"({_WHY[what]}). The provider billed that answer, so it counts as a paid assist. Try again.",
                code="assist_answer_unusable",
            ) from None
        if isinstance(exc, VidgateError):  # named as in the assist's body ("duration", "size"), not /v1/videos'
            raise from_vidgate(exc, {}) from None
        raise


_WHY = {
    "plan": "it did not follow the storyboard schema, or its shots do not fit the video model",
    "frame": "the image model's answer did not contain a usable image",
    "review": "it did not follow the verdict schema, or the verdict could not be saved",
}


def _chat(name: str | None, *capabilities: Any) -> ChatModelSpec:
    return load_chat_catalog().require(name, *capabilities)


@router.post("/plan", summary="Shots for an idea that the video model can take", openapi_extra=_body(PlanBody))
async def plan(request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    fields, _ = await read_body(request, allow_multipart=False)
    body: PlanBody = parse_model(PlanBody, fields)
    spec = gw.router.resolve(body.model)
    chat = _chat(body.chat_model, "structured_output")
    route = _route_for(gw, chat)
    made = await _charged(
        gw,
        principal,
        chat,
        "plan",
        lambda calls: assists.plan(
            gw.client.engine.core,
            body.idea,
            model=spec.key,
            duration=body.duration,
            aspect_ratio=body.aspect_ratio,
            chat_model=chat.key,
            route=route,
            calls=calls,
        ),
    )
    return JSONResponse({"object": "plan", **made.model_dump(mode="json")})


@router.post("/frame", summary="A reference image fitted to a video model", openapi_extra=_body(FrameBody))
async def frame(request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    fields, _ = await read_body(request, allow_multipart=False)
    body: FrameBody = parse_model(FrameBody, fields)
    if body.image is not None:
        if body.image.startswith(("http://", "https://")):
            await gw.check_url(body.image, "image", what="The image URL")
        elif not body.image.startswith("data:image/"):
            raise APIError(
                400,
                "image must be an https URL or a data:image/... URI (the gateway reads no paths).",
                param="image",
                code="invalid_value",
            )
    spec = gw.router.resolve(body.model)
    chat = _chat(body.chat_model, "image_output", *(("vision",) if body.image else ()))
    route = _route_for(gw, chat)
    made = await _charged(
        gw,
        principal,
        chat,
        "frame",
        lambda calls: assists.frame(
            gw.client.engine.core,
            body.description,
            for_model=spec.key,
            role=body.role,
            image=body.image,
            aspect_ratio=body.aspect_ratio,
            size=body.size,
            chat_model=chat.key,
            route=route,
            calls=calls,
        ),
    )
    out = made.model_dump(mode="json", exclude={"data"})
    out["b64_json"] = base64.b64encode(made.data).decode("ascii")
    out["mime_type"] = made.mime_type
    return JSONResponse({"object": "frame", **out})


@router.post("/review", summary="A verdict on a finished video", openapi_extra=_body(ReviewBody))
async def review(request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    fields, _ = await read_body(request, allow_multipart=False)
    body: ReviewBody = parse_model(ReviewBody, fields)
    if (body.video_id is None) == (body.video_url is None):
        raise APIError(
            400,
            "Give exactly one of 'video_id' (a finished video of this API key) or 'video_url'.",
            param="video_id",
            code="invalid_value",
        )
    target: Any
    has_url, has_bytes = body.video_url is not None, False
    if body.video_id is not None:
        target = gw.job(principal, body.video_id)  # another key's video is the same 404 as a missing one
        video = target.video
        if video is not None:
            has_url = bool(video.url) and (video.expires_at is None or video.expires_at > utcnow())
            has_bytes = bool(video.path) and Path(video.path).is_file()
    else:
        assert body.video_url is not None
        if not body.video_url.startswith(("http://", "https://")):
            raise APIError(400, "video_url must be an http(s) URL.", param="video_url", code="invalid_value")
        await gw.check_url(body.video_url, "video_url", what="The video URL")
        target = body.video_url
    chat = choose_reviewer(load_chat_catalog(), body.chat_model, has_url=has_url, has_bytes=has_bytes)
    route = _route_for(gw, chat)
    verdict = await _charged(
        gw,
        principal,
        chat,
        "review",
        lambda calls: assists.review(
            gw.client.engine.core, target, prompt=body.prompt, chat_model=chat.key, route=route, calls=calls
        ),
    )
    return JSONResponse({"object": "review", "video_id": body.video_id, **verdict.model_dump(mode="json")})
