"""POST /sora/v1/characters: golden requests for the documented examples and answer parsing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vidgate.catalog import load_catalog
from vidgate.characters import CharacterRequest
from vidgate.errors import ProtocolError, ProviderHTTPError
from vidgate.providers import Connection
from vidgate.providers.relay_unified import RelayUnified
from vidgate.types import Character

DIALECT = RelayUnified()
CONN = Connection(provider=load_catalog().providers["relay"], base_url="https://relay.example/", api_key="sk-test")
# The documented answer (seed-relay-api.md "Character cameo").
ANSWER = {
    "id": "ch_691155df38588191b3ae5f2d390a4359",
    "username": "saparpomd.oddwingduo",
    "permalink": "https://sora.chatgpt.com/profile/saparpomd.oddwingduo",
    "profile_picture_url": "https://videos.openai.com/az/files/00000000-abcd/raw?se=2025-11-01&sig=x",
}


def create(request: CharacterRequest, response: httpx.Response | None = None) -> tuple[httpx.Request, Any]:
    flow = DIALECT.create_character(request, CONN)
    req = next(flow)
    reply = response or httpx.Response(200, json=ANSWER)
    try:
        flow.send(httpx.Response(reply.status_code, content=reply.content, headers=reply.headers, request=req))
    except StopIteration as stop:
        return req, stop.value
    raise AssertionError("the flow did not finish")


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        (
            {"url": "https://cdn.example/cat-with-sound.mp4", "timestamps": "1,2"},
            {"timestamps": "1,2", "url": "https://cdn.example/cat-with-sound.mp4"},
        ),
        (
            {"from_task": "video_637efe22-0e4e-4d3a-9f53-0e5c1a0b2c11", "timestamps": "1,3"},
            {"timestamps": "1,3", "from_task": "video_637efe22-0e4e-4d3a-9f53-0e5c1a0b2c11"},
        ),
    ],
)
def test_golden_requests_never_send_a_model_or_the_local_name(fields: dict[str, str], body: dict[str, str]) -> None:
    req, character = create(CharacterRequest(name="cat", **fields))
    assert req.method == "POST" and str(req.url) == "https://relay.example/sora/v1/characters"
    assert req.headers["authorization"] == "Bearer sk-test" and req.headers["content-type"] == "application/json"
    assert json.loads(req.content) == body  # no "model" (404 channel not found), no "name"
    assert isinstance(character, Character)
    assert (character.id, character.username, character.provider, character.name) == (
        ANSWER["id"], "saparpomd.oddwingduo", "relay", "cat",
    )  # fmt: skip
    assert character.permalink == ANSWER["permalink"] and character.raw == ANSWER


def test_a_wrapped_answer_and_extra_fields_are_accepted() -> None:
    _, character = create(
        CharacterRequest(url="https://x.example/v.mp4", timestamps="0,1"),
        httpx.Response(200, json={"code": "success", "data": {**ANSWER, "extra": 1}}),
    )
    assert character.username == "saparpomd.oddwingduo" and character.raw["extra"] == 1


def test_errors_are_typed() -> None:
    req = CharacterRequest(url="https://x.example/v.mp4", timestamps="1,3")
    channel = {"error": {"message": "channel not found", "type": "invalid_request_error", "code": "channel_not_found"}}
    with pytest.raises(ProviderHTTPError) as info:
        create(req, httpx.Response(404, json=channel))
    assert info.value.status_code == 404 and info.value.code == "channel_not_found"
    with pytest.raises(ProviderHTTPError, match="视频中不能出现真人"):
        create(req, httpx.Response(200, json={"message": "视频中不能出现真人"}))
    with pytest.raises(ProtocolError, match="no id/username"):
        create(req, httpx.Response(200, json={"id": "ch_1"}))
