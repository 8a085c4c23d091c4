"""Models, health, metrics, signed file links and the webhook delivery log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse

from vidgate.catalog import ModelSpec
from vidgate.catalog.loader import sunset_warning
from vidgate.errors import UnknownModelError
from vidgate.server import files
from vidgate.server.deps import GatewayDep, PrincipalDep
from vidgate.server.errors import APIError, not_found
from vidgate.server.gateway import Gateway
from vidgate.server.metrics import CONTENT_TYPE
from vidgate.server.responses import JSONResponse
from vidgate.store import JobNotFoundError

router = APIRouter()


def capabilities(spec: ModelSpec, gw: Gateway) -> dict[str, Any]:
    d = spec.duration
    return {
        "key": spec.key,
        "provider": spec.provider,
        "family": spec.family,
        "summary": spec.summary,
        "modes": spec.modes,
        "durations": {"values": d.values, "min": d.min, "max": d.max, "step": d.step, "default": d.default},
        "aspect_ratios": spec.aspect_ratio.values if spec.aspect_ratio.supported else [],
        "resolutions": spec.resolution.values if spec.resolution.supported else [],
        "sizes": spec.size.values if spec.size.supported else [],
        "hd": spec.hd.supported,
        "images": {
            "max_count": spec.images.max_count,
            "min_count": spec.images.min_count,
            "transports": spec.images.transports,
            "formats": spec.images.formats,
            "roles": [r.value for r in spec.images.roles],
            "max_bytes": spec.images.max_bytes,
        },
        "prompt": {
            "max_chars": spec.prompt.max_chars,
            "max_tokens": spec.prompt.max_tokens,
            "required": spec.prompt.required,
            "rules": spec.prompt.rules,
        },
        "storyboard": spec.storyboard,
        "characters": spec.characters.supported,
        "audio": spec.audio,
        "options": spec.options,
        "typical_latency_s": spec.typical_latency_s,
        "price_per_second_usd": gw.submitter.pricing.per_second(spec),
        "sunset": spec.sunset.model_dump(mode="json") if spec.sunset else None,
        "warning": sunset_warning(spec),
        "routes": [r.name for r in gw.router.routes.values() if gw.router.serves(r, spec)],
    }


def model_object(spec: ModelSpec, gw: Gateway) -> dict[str, Any]:
    return {
        "id": spec.key,
        "object": "model",
        "created": 0,
        "owned_by": spec.provider,
        "vidgate": capabilities(spec, gw),
    }


@router.get("/v1/models", tags=["models"], summary="The models this gateway serves, with capabilities")
async def list_models(gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [model_object(s, gw) for s in gw.router.served_models()]})


@router.get("/v1/models/{model_id:path}", tags=["models"], summary="One model and its capabilities")
async def get_model(model_id: str, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    try:
        spec = gw.router.resolve(model_id)
    except UnknownModelError as exc:
        raise APIError(404, exc.worded("Call GET /v1/models"), param="model", code="model_not_found") from None
    if spec not in gw.router.served_models(include_retired=True):
        raise APIError(404, f"This gateway does not serve {spec.key}.", param="model", code="model_not_found")
    return JSONResponse(model_object(spec, gw))


@router.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
async def healthz(gw: GatewayDep) -> JSONResponse:
    try:
        await run_in_threadpool(gw.store.list_jobs, limit=1)
    except Exception as exc:
        return JSONResponse({"status": "error", "database": f"{exc.__class__.__name__}"}, status_code=503)
    return JSONResponse({"status": "ok", "worker": gw.config.server.worker, "routes": list(gw.router.routes)})


@router.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, gw: GatewayDep) -> Response:
    gw.check_metrics_token(request.headers.get("authorization"))
    body = await run_in_threadpool(gw.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)


@router.get(
    files.FILE_PATH,
    name="signed_file",
    tags=["videos (OpenAI-compatible)"],
    summary="A saved result through an expiring signed link (no API key)",
    response_class=FileResponse,
)
async def signed_file(
    job_id: str,
    variant: Literal["video", "thumbnail", "spritesheet"],
    gw: GatewayDep,
    expires: Annotated[int, Query(ge=0, le=2**53)],
    signature: Annotated[str, Query(max_length=200)],
    request: Request,
) -> Response:
    if not gw.signer.file_ok(job_id, variant, expires, signature):
        raise APIError(403, "This link is invalid or has expired; ask the API for a fresh one.", code="bad_signature")
    try:
        job = await gw.store.aget(job_id)
    except JobNotFoundError:
        raise not_found("video", job_id) from None
    return await files.serve(gw, job, variant, request)


router.add_api_route(files.FILE_PATH, signed_file, methods=["HEAD"], include_in_schema=False)


@router.get("/v1/webhook_deliveries", tags=["webhooks"], summary="The webhook delivery log of this API key")
async def deliveries(
    gw: GatewayDep,
    principal: PrincipalDep,
    video_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    def load() -> list[dict[str, Any]]:
        out = []
        for d in gw.data.list_deliveries(owner=principal.key_id, job_id=video_id, limit=limit):
            attempts = [
                {"at": a.at.isoformat(), "status": a.status, "error": a.error, "duration_ms": a.duration_ms}
                for a in gw.data.attempts(d.id)
            ]
            out.append(
                {
                    "id": d.id,
                    "object": "webhook_delivery",
                    "video_id": d.job_id,
                    "url": d.url,
                    "state": d.state,
                    "event_type": d.event_type,
                    "attempts": attempts,
                    "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
                    "created_at": d.created_at.isoformat(),
                }
            )
        return out

    return JSONResponse({"object": "list", "data": await run_in_threadpool(load)})


@router.get("/v1/webhook_secret", tags=["webhooks"], summary="The secret this key's webhooks are signed with")
async def webhook_secret(request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    return JSONResponse({"object": "webhook_secret", "secret": gw.signer.webhook_secret(principal.key_id)})
