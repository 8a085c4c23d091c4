"""Bad input and attacks: oversize bodies and prompts, SSRF through image URLs (and redirects to them)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import image_bytes
from tests.gateway.helpers import AppServer, bearer, env_for, gateway_config, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer

LIMIT = 64 * 1024


@pytest.fixture
def small(emulator: EmulatorServer, tmp_path: Path) -> Iterator[tuple[GatewayServer, str]]:
    config = gateway_config(emulator, tmp_path, max_body_bytes=LIMIT, max_prompt_chars=500, allow_hosts=["localhost"])
    with GatewayServer(config, env=env_for(emulator, tmp_path)) as gw:
        yield gw, gw.create_key("sec")


def test_oversize_uploads_are_413_before_anything_is_sent(
    small: tuple[GatewayServer, str], emulator: EmulatorServer
) -> None:
    gw, key = small
    big = b"\x89PNG" + b"\0" * (LIMIT + 10)
    with httpx.Client(base_url=gw.url) as http:
        r = http.post("/v1/videos", data={"prompt": "p", "seconds": "10"},
                      files={"input_reference": ("a.png", big, "image/png")}, headers=bearer(key))  # fmt: skip
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted while reading
            yield b'{"prompt": "'
            for _ in range(LIMIT // 1024 + 2):
                yield b"a" * 1024
            yield b'"}'

        r = http.post("/v1/videos", content=chunks(), headers={**bearer(key), "content-type": "application/json"})
        assert r.status_code == 413
    assert sum(emulator.state.counts.values()) == 0


def test_raw_socket_lying_content_length(small: tuple[GatewayServer, str]) -> None:
    gw, key = small
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(f"POST /v1/videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                  f"Content-Length: {LIMIT * 100}\r\nContent-Type: application/json\r\n\r\n{{".encode())  # fmt: skip
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_long_prompts_are_400(small: tuple[GatewayServer, str], emulator: EmulatorServer) -> None:
    gw, key = small
    with httpx.Client(base_url=gw.url) as http:
        r = http.post("/v1/videos", json={"prompt": "x" * 501, "seconds": "10"}, headers=bearer(key))
        assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
        assert r.json()["error"]["code"] == "prompt_too_long"
        r = http.post("/v2/videos/generations", json={"prompt": "x" * 501, "model": "sora-2"}, headers=bearer(key))
        assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    assert sum(emulator.state.counts.values()) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cat.png",
        "http://169.254.169.254/latest/meta-data/iam",
        "http://10.0.0.7/cat.png",
        "http://[::1]:8080/cat.png",
        "http://[::ffff:127.0.0.1]/cat.png",
        "http://localhost.localdomain.localhost/cat.png",
        "http://0.0.0.0/cat.png",
    ],
)
def test_ssrf_image_urls_are_refused(small: tuple[GatewayServer, str], emulator: EmulatorServer, url: str) -> None:
    gw, key = small
    with httpx.Client(base_url=gw.url) as http:
        r = http.post("/v1/videos", json={"prompt": "p", "seconds": "10", "images": [url]}, headers=bearer(key))
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_url", r.text
        r = http.post("/v1/videos", headers=bearer(key),
                      json={"prompt": "p", "seconds": "10", "input_reference": {"image_url": url}})  # fmt: skip
        assert r.status_code == 400 and r.json()["error"]["param"] == "input_reference"
        r = http.post("/v2/videos/generations", headers=bearer(key),
                      json={"prompt": "p", "model": "sora-2", "duration": "10", "images": [url]})  # fmt: skip
        assert r.status_code == 400 and r.json()["error"]["param"] == "images"
    assert sum(emulator.state.counts.values()) == 0


@pytest.fixture
def image_host() -> Iterator[AppServer]:
    holder: dict[str, AppServer] = {}

    async def image(request: Request) -> Response:
        return Response(image_bytes((1280, 720)), media_type="image/png")

    async def to_loopback(request: Request) -> Response:
        return RedirectResponse(f"http://127.0.0.1:{holder['s'].port}/img.png", status_code=302)

    async def to_metadata(request: Request) -> Response:
        return RedirectResponse("http://169.254.169.254/latest/meta-data", status_code=307)

    app = Starlette(routes=[Route("/img.png", image), Route("/to-loopback", to_loopback),
                            Route("/to-metadata", to_metadata)])  # fmt: skip
    with AppServer(app) as server:
        holder["s"] = server
        yield server


def test_redirects_to_private_addresses_are_refused(
    small: tuple[GatewayServer, str], emulator: EmulatorServer, image_host: AppServer
) -> None:
    gw, key = small
    trusted = image_host.url_at("localhost")  # the operator trusts this host name; redirects from it are checked
    model = "relay-openai/sora-2"  # takes the image only as a file: the gateway downloads it
    with httpx.Client(base_url=gw.url, timeout=30) as http:
        for path in ("/to-loopback", "/to-metadata"):
            r = http.post("/v1/videos", headers=bearer(key), json={"prompt": "p", "model": model, "seconds": "10",
                          "size": "1280x720", "input_reference": {"image_url": trusted + path}})  # fmt: skip
            assert r.status_code == 400, r.text
            assert "redirected to" in r.json()["error"]["message"]
        assert sum(emulator.state.counts.values()) == 0
        ok = http.post("/v1/videos", headers=bearer(key), json={"prompt": "p", "model": model, "seconds": "10",
                       "size": "1280x720", "input_reference": {"image_url": trusted + "/img.png"}})  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert wait_done(http, ok.json()["id"], key)["status"] == "completed"
