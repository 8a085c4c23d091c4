"""Characters (cameos) through the gateway: ``POST /v1/videos/characters`` and ``GET .../{id}``.

Made from a video URL or from a finished video of the same API key (``from_task``), on the provider of
``model`` (default: the first served model that has characters). Each character belongs to the key that
made it; mention it in prompts as ``@username``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from vidgate.server.bodies import CharacterCreate, body_schema, parse_model, read_body
from vidgate.server.deps import GatewayDep, PrincipalDep
from vidgate.server.errors import APIError, not_found
from vidgate.server.gateway import Gateway
from vidgate.server.responses import JSONResponse
from vidgate.server.tenants import Principal
from vidgate.store.gateway import StoredCharacter
from vidgate.types import Character, utcnow

router = APIRouter(prefix="/v1/videos/characters", tags=["characters"])
relay_router = APIRouter(prefix="/sora/v1/characters", tags=["characters"])

CREATE_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema(CharacterCreate)}}}
}


def relay_character_json(c: Character) -> dict[str, Any]:
    """The relay's answer shape (seed-relay-api.md "Character cameo"): id, username, permalink, picture."""
    return {
        "id": c.id,
        "username": c.username,
        "permalink": c.permalink,
        "profile_picture_url": c.profile_picture_url,
    }


def character_json(c: Character) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "character",
        "name": c.name or c.username,
        "username": c.username,
        "provider": c.provider,
        "permalink": c.permalink,
        "profile_picture_url": c.profile_picture_url,
        "created_at": int(c.created_at.timestamp()),
    }


async def _create(gw: Gateway, principal: Principal, body: CharacterCreate) -> Character:
    if (body.url is None) == (body.from_task is None):
        raise APIError(
            400,
            "Give exactly one of 'url' (a video showing the character) or 'from_task' (a finished "
            "video id of this API key).",
            param="url",
            code="invalid_value",
        )
    if body.url is not None:
        await gw.check_url(body.url, "url", what="The URL")
    source = gw.job(principal, body.from_task) if body.from_task else None
    if source is not None:
        spec = gw.catalog.resolve(source.model)
    elif body.model:
        spec = gw.router.resolve(body.model)
    else:
        able = [s for s in gw.router.served_models() if s.characters.supported]
        if not able:
            raise APIError(400, "No model this gateway serves makes characters.", param="model", code="unsupported")
        spec = able[0]
    route = gw.router.route_for(spec)
    if route is None:
        raise APIError(400, f"This gateway has no route for {spec.key}.", param="model", code="model_not_found")
    character = await gw.client.create_character(
        timestamps=body.timestamps,
        url=body.url,
        from_task=source,
        name=body.name,
        model=spec.key,
        save=False,
        route=route.name,
    )
    gw.data.save_character(StoredCharacter(character.id, principal.key_id, utcnow(), character.model_dump_json()))
    return character


@router.post("", summary="Create a character from a video URL or a finished video", openapi_extra=CREATE_BODY)
async def create_character(request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    fields, uploads = await read_body(request)
    if uploads:
        raise APIError(
            400,
            "This gateway makes characters from a video URL ('url') or a finished video "
            "('from_task'), not from an uploaded file.",
            param=next(iter(uploads)),
            code="unsupported_parameter",
        )
    body: CharacterCreate = parse_model(CharacterCreate, fields)
    character = await _create(gw, principal, body)
    return JSONResponse(character_json(character))


@router.get("", summary="The characters of this API key")
async def list_characters(gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    rows = await run_in_threadpool(gw.data.list_characters, principal.key_id)
    data = [character_json(Character.model_validate_json(r.data)) for r in rows]
    return JSONResponse({"object": "list", "data": data})


@router.get("/{character_id}", summary="One character")
async def get_character(character_id: str, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    row = await run_in_threadpool(gw.data.get_character, character_id)
    if row is None or row.owner != principal.key_id:
        raise not_found("character", character_id, "character_id")
    return JSONResponse(character_json(Character.model_validate_json(row.data)))


@relay_router.post(
    "",
    summary="Create a character (relay format: timestamps + url | from_task)",
    openapi_extra=CREATE_BODY,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "id": "ch_691155df38588191b3ae5f2d390a4359",
                        "username": "saparpomd.oddwingduo",
                        "permalink": "https://sora.chatgpt.com/profile/saparpomd.oddwingduo",
                        "profile_picture_url": "https://videos.openai.com/az/files/...",
                    }
                }
            }
        }
    },
)
async def create_relay_character(request: Request, gw: GatewayDep, principal: PrincipalDep) -> JSONResponse:
    """The relay's ``POST /sora/v1/characters`` for apps that only switch their base URL: same body, same answer.
    ``from_task`` is a task id this key got from ``POST /v2/videos/generations`` (a video of another key is not
    found); the character belongs to this key, and only this key's requests may mention it."""
    fields, _ = await read_body(request, allow_multipart=False)
    body: CharacterCreate = parse_model(CharacterCreate, fields)
    return JSONResponse(relay_character_json(await _create(gw, principal, body)))
