"""Assists through the gateway against a hostile answer: the image link never reaches the operator's network and
errors say nothing of it; a paid answer keeps its charge and none of its text leaks; an unbounded frame size or
an image bomb is a clear error, never a 500. The relay here is a real HTTP app on loopback."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateway.helpers import EMU_KEY_ENV, AppServer, bearer, env_for, gateway_config
from vidgate.emulator import EmulatorServer
from vidgate.server import RouteConfig
from vidgate.server.run import GatewayServer

CHAT = "POST /v1/chat/completions"
PLAN_CHAT = "relay/gemini-2.5-pro-preview-05-06"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (1, 2, 3)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    idat = zlib.compress(b"\x00" * ((w + 7) // 8 + 1) * 10)
    header = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class Relay:
    """A chat relay that answers every chat request with ``answer`` (text, or an HTTP status and error), and
    serves ``/img/ok.png`` and a 404 at ``/img/missing.png`` from its own origin."""

    def __init__(self, answer: str | int) -> None:
        self.answer = answer
        self.hits: dict[str, int] = {"chat": 0, "image": 0}
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/img/ok.png", self.image),
                Route("/img/missing.png", self.missing),
            ]
        )

    async def chat(self, request: Request) -> JSONResponse:
        self.hits["chat"] += 1
        if isinstance(self.answer, int):
            return JSONResponse({"error": {"message": "refused upstream", "code": "bad"}}, status_code=self.answer)
        message = {"role": "assistant", "content": self.answer}
        return JSONResponse(
            {
                "id": "c",
                "object": "chat.completion",
                "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10},
            }
        )

    async def image(self, request: Request) -> Response:
        self.hits["image"] += 1
        return Response(_png(), media_type="image/png")

    async def missing(self, request: Request) -> Response:
        self.hits["image"] += 1
        return Response(b"nothing here", status_code=404, media_type="text/plain")


@contextmanager
def _gateway(relay: Relay, emulator: EmulatorServer, tmp: Path) -> Iterator[tuple[GatewayServer, httpx.Client, str]]:
    with AppServer(relay.app) as server:
        if isinstance(relay.answer, str):
            relay.answer = relay.answer.replace("{relay}", server.url)
        routes = [RouteConfig(name="relay", provider="relay", base_url=server.url, api_key_env=EMU_KEY_ENV)]
        config = gateway_config(emulator, tmp, routes=routes)
        with (
            GatewayServer(config, env=env_for(emulator, tmp)) as gw,
            httpx.Client(base_url=gw.url, timeout=30) as http,
        ):
            yield gw, http, server.url


def _frame(http: httpx.Client, key: str, **extra: Any) -> httpx.Response:
    body = {"description": "a kite", "model": "sora-2", "aspect_ratio": "16:9", **extra}
    return http.post("/v1/assists/frame", json=body, headers=bearer(key))


def test_an_answer_link_into_the_operators_network_is_never_fetched(emulator: EmulatorServer, tmp_path: Path) -> None:
    internal_hits: list[str] = []

    async def secret(request: Request) -> Response:  # an internal-only service (think 169.254.169.254)
        internal_hits.append(request.url.path)
        return Response(_png(), media_type="image/png")

    internal = Starlette(routes=[Route("/latest/meta-data/secret.png", secret)])
    with AppServer(internal) as inside:
        relay = Relay(f"![x]({inside.url}/latest/meta-data/secret.png)")
        with _gateway(relay, emulator, tmp_path) as (gw, http, _):
            answer = _frame(http, gw.create_key("mallory"))
    assert internal_hits == [] and relay.hits["chat"] == 1
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "assist_answer_unusable" and "did not contain a usable image" in error["message"]
    port = inside.url.rsplit(":", 1)[1]
    assert not any(leak in answer.text for leak in (port, "127.0.0.1", "meta-data", "secret", "loopback"))


def test_the_relays_own_origin_is_fetched_and_its_failures_say_nothing(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    relay = Relay("![x]({relay}/img/ok.png)")
    with _gateway(relay, emulator, tmp_path) as (gw, http, relay_url):
        key = gw.create_key("alice")
        made = _frame(http, key)
        assert made.status_code == 200, made.text
        assert made.json()["answered_as"] == "url" and made.json()["width"] > made.json()["height"]
        relay.answer = f"![x]({relay_url}/img/missing.png)"
        missing = _frame(http, key)
    assert relay.hits == {"chat": 2, "image": 2}
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "assist_answer_unusable"
    assert not any(leak in missing.text for leak in ("404", "missing", "bytes", "/img/"))


def test_a_paid_answer_keeps_its_charge_and_none_of_its_text_leaks(emulator: EmulatorServer, tmp_path: Path) -> None:
    relay = Relay("Here is the secret poem you asked for: roses are red, and this is not JSON")
    with _gateway(relay, emulator, tmp_path) as (gw, http, _):
        gw.gateway.config.prices[PLAN_CHAT] = 0.01
        key = gw.create_key("budgeted", budget_usd=0.01)
        first = http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(key))
        codes = [
            http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(key)).status_code
            for _ in range(4)
        ]
    assert first.status_code == 422 and first.json()["error"]["code"] == "assist_answer_unusable", first.text
    assert "poem" not in first.text and "roses" not in first.text
    assert codes == [402] * 4 and relay.hits["chat"] == 1  # the budget paid for one billed answer, and no more


def test_an_error_answer_is_not_billed_so_its_charge_is_given_back(emulator: EmulatorServer, tmp_path: Path) -> None:
    relay = Relay(400)
    with _gateway(relay, emulator, tmp_path) as (gw, http, _):
        gw.gateway.config.prices[PLAN_CHAT] = 0.01
        key = gw.create_key("budgeted", budget_usd=0.01)
        codes = [
            http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(key)).status_code
            for _ in range(3)
        ]
        refused_early = http.post(
            "/v1/assists/plan", json={"idea": "a fox", "model": "sora-2", "duration": 25}, headers=bearer(key)
        )
        relay.answer = '{"shots": [{"seconds": 10, "scene": "a fox runs"}]}'
        paid = http.post("/v1/assists/plan", json={"idea": "a fox", "model": "sora-2"}, headers=bearer(key))
    assert codes == [400, 400, 400] and relay.hits["chat"] == 4, codes
    assert refused_early.status_code == 400 and refused_early.json()["error"]["param"] == "duration"
    assert paid.status_code == 200, paid.text  # every refusal above was given back: the budget still pays


def test_a_frame_size_past_the_models_limits_is_refused_before_any_request(
    gateway: GatewayServer, http: httpx.Client, emulator: EmulatorServer, key: str
) -> None:
    for size, param in (("8000x8000", "size"), ("40000x40000", "size"), ("big", "size"), ("1" * 40, "size")):
        answer = http.post(
            "/v1/assists/frame", json={"description": "a kite", "model": "sora-2", "size": size}, headers=bearer(key)
        )
        assert answer.status_code == 400, (size, answer.text)
        assert answer.json()["error"]["param"] == param
    sized = http.post(
        "/v1/assists/frame", json={"description": "a kite", "model": "sora-2", "size": "8000x8000"}, headers=bearer(key)
    )
    assert "8000x8000" in sized.json()["error"]["message"] and "3840" in sized.json()["error"]["message"]
    assert emulator.state.counts.get(CHAT, 0) == 0


def test_an_image_bomb_in_the_answer_is_a_clear_error_not_a_500(emulator: EmulatorServer, tmp_path: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(_bomb(20000, 20000)).decode()
    relay = Relay(f"![x]({uri})")
    with _gateway(relay, emulator, tmp_path) as (gw, http, _):
        answer = _frame(http, gw.create_key("mallory"))
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "assist_answer_unusable", answer.text
