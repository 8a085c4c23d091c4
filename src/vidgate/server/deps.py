"""FastAPI dependencies shared by the routers: the gateway, the caller, and URL checks."""

from __future__ import annotations

from typing import Annotated, NamedTuple

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from vidgate.server.gateway import Gateway
from vidgate.server.tenants import Principal
from vidgate.types import Job

# Dependencies are coroutines: FastAPI runs a plain ``def`` dependency on a worker thread, and a thread hop
# costs more than everything these do. Each dependency FastAPI solves costs ~20 us, so there are few.


class GatewayKey(HTTPBearer):
    """The caller: a gateway API key sent as ``Authorization: Bearer vg_...``, checked against the database on
    every request (``Gateway.authenticate``). Being the security scheme itself (rather than a dependency on
    an ``HTTPBearer``), it is one dependency to solve, and the OpenAPI document still names the scheme."""

    def __init__(self) -> None:
        super().__init__(
            scheme_name="HTTPBearer",
            description="A gateway API key: `vidgate keys create --name NAME`",
            auto_error=False,
        )

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = await _gateway(request).authenticate(await self.token(request))
        request.state.key_id = principal.key_id  # for the access log (the id, never the key)
        return principal

    async def token(self, request: Request) -> str | None:
        credentials = await super().__call__(request)
        return credentials.credentials if credentials else None


class VideoRead(NamedTuple):
    """All a read of one video needs, from one dependency (FastAPI spends ~20 us solving each)."""

    gw: Gateway
    principal: Principal
    job: Job


class GatewayKeyAndVideo(GatewayKey):
    """``GatewayKey``, and the caller's video that the path parameter ``param`` names, read in the same database
    round trip (``Gateway.caller_and_job``: 401, then the same 404 for a missing or foreign video)."""

    def __init__(self, param: str) -> None:
        super().__init__()
        self.param = param

    async def __call__(self, request: Request) -> VideoRead:  # type: ignore[override]
        gw = _gateway(request)
        principal, job = await gw.caller_and_job(await self.token(request), request.path_params[self.param])
        request.state.key_id = principal.key_id
        return VideoRead(gw, principal, job)


async def gateway_of(request: Request) -> Gateway:
    return _gateway(request)


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
PrincipalDep = Annotated[Principal, Depends(GatewayKey())]
VideoDep = Annotated[VideoRead, Depends(GatewayKeyAndVideo("video_id"))]  # routes with a {video_id}
