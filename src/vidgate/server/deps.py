"""FastAPI dependencies shared by the routers: the gateway, the caller, and URL checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vidgate.net.ssrf import FetchFailed, FetchRefused
from vidgate.server.errors import APIError
from vidgate.server.gateway import Gateway
from vidgate.server.tenants import Principal
from vidgate.server.webhooks_out import check_url
from vidgate.types import VideoRequest

bearer = HTTPBearer(auto_error=False, description="A gateway API key: `vidgate keys create --name NAME`")


# Dependencies are coroutines: FastAPI runs a plain ``def`` dependency on a worker thread, and a thread hop
# costs more than everything these do (a key read is awaited on the loop: ``GatewayData.aget_key``).


async def gateway_of(request: Request) -> Gateway:
    return _gateway(request)


async def principal_of(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    principal = await _gateway(request).authenticate(credentials.credentials if credentials else None)
    request.state.key_id = principal.key_id  # for the access log (the id, never the key)
    return principal


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
PrincipalDep = Annotated[Principal, Depends(principal_of)]


def check_request_urls(gw: Gateway, request: VideoRequest, image_param: str) -> None:
    """Refuse image and character URLs that point at private networks before anything is stored or sent."""
    urls = [(image_param, i.source) for i in request.images if isinstance(i.source, str)]
    character_url = request.options.get("character_url")
    if isinstance(character_url, str):
        urls.append(("character_url", character_url))
    for param, url in urls:
        if not url.lower().startswith(("http://", "https://")):
            continue
        try:
            check_url(url, gw.policy)
        except FetchRefused as exc:
            raise APIError(
                400,
                f"The URL {url[:200]} is refused: {exc.reason}. Use a public http(s) URL or upload the file.",
                param=param,
                code="invalid_url",
            ) from None
        except FetchFailed as exc:
            raise APIError(
                400, f"The URL {url[:200]} cannot be used: {exc.reason}.", param=param, code="invalid_url"
            ) from None
