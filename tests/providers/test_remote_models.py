"""GET /v1/models: the flow, and what the account can use compared with the catalog."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vidgate.catalog import load_catalog
from vidgate.errors import AuthenticationError, ProtocolError
from vidgate.providers import Connection, get_dialect
from vidgate.providers.remote_models import RemoteModel, compare, list_models

CATALOG = load_catalog()
DIALECT = get_dialect("relay-unified")
CONN = Connection(provider=CATALOG.providers["relay"], base_url="https://relay.example", api_key="sk-test")


def listing(body: Any, status: int = 200) -> list[RemoteModel]:
    flow = list_models(DIALECT, CONN, "/v1/models")
    req = next(flow)
    assert req.method == "GET" and str(req.url) == "https://relay.example/v1/models"
    assert req.headers["authorization"] == "Bearer sk-test"
    try:
        flow.send(httpx.Response(status, content=json.dumps(body).encode(), request=req))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    raise AssertionError("the flow did not finish")


def test_openai_list_and_new_api_fields_are_parsed() -> None:
    models = listing({"object": "list", "success": True, "data": [
        {"id": "sora-2", "object": "model", "created": 1626777600, "owned_by": "openai",
         "supported_endpoint_types": ["openai-video"]},
        {"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"},
    ]})  # fmt: skip
    assert [(m.id, m.supported_endpoint_types) for m in models] == [("sora-2", ["openai-video"]), ("gpt-4o-mini", [])]
    assert [m.id for m in listing([{"id": "veo3"}])] == ["veo3"]  # a bare array


def test_bad_answers_are_typed() -> None:
    with pytest.raises(ProtocolError):
        listing({"object": "list"})
    with pytest.raises(AuthenticationError):
        listing({"error": {"message": "无效的令牌"}}, 401)


def test_compare_available_partial_missing_and_unknown() -> None:
    host = [s for s in CATALOG.models.values() if s.provider in ("relay", "relay-chat")]
    remote = [RemoteModel(id=i) for i in ("sora-2", "sora_video2", "sora_video2-portrait", "gpt-4o-mini")]
    remote += [
        RemoteModel(id="kling-v2-master", supported_endpoint_types=["openai-video"]),
        RemoteModel(id="wan2.5-video"),
        RemoteModel(id="cogvideox-3"),
        RemoteModel(id="veo3.1-fast-preview"),
    ]
    found = compare("relay", "https://relay.example", remote, host, CATALOG.models.values(),
                    lambda s: get_dialect(s.dialect).wire_models(s))  # fmt: skip
    by_key = {m.key: m for m in found.models}
    assert by_key["relay/sora-2"].available and by_key["relay/sora-2"].complete
    assert not by_key["relay/sora-2-pro"].available
    chat = by_key["relay-chat/sora_video2"]
    assert chat.available and not chat.complete and chat.wire["sora_video2-portrait"]
    assert not chat.wire["sora_video2-landscape-hd-15s"]
    unknown = {u.id: u for u in found.unknown}
    assert set(unknown) == {"gpt-4o-mini", "kling-v2-master", "wan2.5-video", "cogvideox-3", "veo3.1-fast-preview"}
    assert not unknown["gpt-4o-mini"].likely_video
    assert unknown["kling-v2-master"].likely_video  # declared video endpoint
    assert unknown["wan2.5-video"].likely_video and unknown["veo3.1-fast-preview"].likely_video  # name / family
    assert "zhipu/cogvideox-3" in unknown["cogvideox-3"].known_as
    data = found.as_dict()
    assert data["remote_count"] == 8 and data["compared_providers"] == ["relay", "relay-chat"]
    assert json.dumps(data)  # serialisable
