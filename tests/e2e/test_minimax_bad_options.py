"""A bad option for a MiniMax V2 model (H3) is a clear problem naming the option, before any request: a
ValidationError in the library, a 400 at the gateway (it was a raw pydantic error, a 500 there)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.gateway.helpers import EMU_KEY_ENV, bearer, env_for, gateway_config
from vidgate.client import Client
from vidgate.emulator import EmulatorServer
from vidgate.errors import ValidationError
from vidgate.server.config import RouteConfig
from vidgate.server.run import GatewayServer


def test_library_names_the_option() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    env = {"VIDGATE_MINIMAX_API_KEY": "k"}
    with Client(base_url="https://x.example", api_key="k", env=env, transport=httpx.MockTransport(record)) as c:
        for options in ({"seed": "x"}, {"reference_videos": "not-a-list"}, {"nope": 1}):
            with pytest.raises(ValidationError) as info:
                c.submit("a harbour", model="minimax/MiniMax-H3", options=options)
            assert any(p.field.startswith("options") for p in info.value.problems), info.value
    assert sent == []


def test_gateway_answers_400(emulator: EmulatorServer, tmp_path: Path) -> None:
    routes = [RouteConfig(name="minimax", provider="minimax", base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp_path, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp_path)) as gw,
        httpx.Client(base_url=gw.url, timeout=30) as http,
    ):
        key = gw.create_key("alice")
        body = {"prompt": "a harbour", "model": "minimax/MiniMax-H3", "seconds": "5",
                "options": {"reference_videos": "not-a-list"}}  # fmt: skip
        answer = http.post("/v1/videos", json=body, headers=bearer(key))
        assert answer.status_code == 400, (answer.status_code, answer.text)
        assert "reference_videos" in answer.text
