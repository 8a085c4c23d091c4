"""FastAPI dependencies shared by the routers: the gateway, the caller, and URL checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vidgate.server.gateway import Gateway
from vidgate.server.tenants import Principal
from vidgate.types import VideoRequest

bearer = HTTPBearer(auto_error=False, description="A gateway API key: `vidgate keys create --name NAME`")


def gateway_of(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def principal_of(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    principal = gateway_of(request).authenticate(credentials.credentials if credentials else None)
    request.state.key_id = principal.key_id  # for the access log (the id, never the key)
    return principal


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
PrincipalDep = Annotated[Principal, Depends(principal_of)]


async def check_request_urls(gw: Gateway, request: VideoRequest, image_param: str) -> None:
    """Refuse image and character URLs that point at private networks before anything is stored or sent."""
    urls = [(image_param, i.source) for i in request.images if isinstance(i.source, str)]
    character_url = request.options.get("character_url")
    if isinstance(character_url, str):
        urls.append(("character_url", character_url))
    for param, url in urls:
        if url.lower().startswith(("http://", "https://")):
            await gw.check_url(url, param, what=f"The URL {url[:200]}")
