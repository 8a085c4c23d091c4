"""The relay's character (cameo) endpoint: ``POST /sora/v1/characters``, sans-IO.

Body: ``timestamps`` ("start,end" seconds, span 1 to 3 s) and exactly one of ``url`` (a video with sound
showing the character) or ``from_task`` (an already generated task). **No ``model`` field**: integrators
report that sending one makes the relay answer 404 "channel not found".
Answer: ``{"id": "ch_…", "username", "permalink", "profile_picture_url"}``; ``username`` goes after ``@``.

Sources: seed-relay-api.md "Character cameo"; relay-platforms.md §2.3;
https://docs.yutoai.net/en/api/api-374618722.html (the same apifox page);
https://github.com/leon30083/wenjing-aigc/blob/main/reference/用户输入文件夹/开发经验/Sora2_Character_Best_Practices.md
(the "do not send model" finding).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from vidgate.characters import CharacterRequest, character_problems
from vidgate.errors import ProtocolError, ProviderHTTPError
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, error_details, json_body, raise_for_status
from vidgate.types import Character

CHARACTERS_PATH = "/sora/v1/characters"
MIN_SPAN_S = 1.0
MAX_SPAN_S = 3.0


class CharacterAnswer(BaseModel):
    """The documented answer; other fields are kept (``extra="allow"``) and in ``Character.raw``."""

    model_config = ConfigDict(extra="allow")

    id: str
    username: str
    permalink: str | None = None
    profile_picture_url: str | None = None


def problems(request: CharacterRequest) -> list[Problem]:
    return character_problems(request, min_span_s=MIN_SPAN_S, max_span_s=MAX_SPAN_S)


def character_body(request: CharacterRequest) -> dict[str, Any]:
    """The wire body: timestamps, then url or from_task. ``name`` is local and never sent; no ``model``."""
    body: dict[str, Any] = {"timestamps": request.timestamps}
    if request.url is not None:
        body["url"] = request.url
    if request.from_task is not None:
        body["from_task"] = request.from_task
    return body


def create_character(dialect: Dialect, request: CharacterRequest, conn: Connection) -> Flow[Character]:
    response = yield dialect.json_request("POST", conn, CHARACTERS_PATH, character_body(request))
    return parse_character(conn.provider.name, response, request.name)


def parse_character(provider: str, response: httpx.Response, name: str | None = None) -> Character:
    raise_for_status(provider, response)
    body = json_body(provider, response)
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and "username" in body["data"]:
        body = body["data"]  # a {"code": ..., "data": {...}} wrapper some relays add
    try:
        answer = CharacterAnswer.model_validate(body)
    except PydanticValidationError:
        if isinstance(body, dict) and (body.get("error") or body.get("message") or body.get("msg")):
            message, code = error_details(body)
            raise ProviderHTTPError(provider, response.status_code, message, code=code, body=body) from None
        raise ProtocolError(provider, f"the character answer has no id/username: {str(body)[:200]}", body) from None
    return Character(
        id=answer.id,
        username=answer.username,
        provider=provider,
        permalink=answer.permalink,
        profile_picture_url=answer.profile_picture_url,
        name=name,
        raw=body,
    )
