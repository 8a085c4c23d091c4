"""Webhooks out: signed Standard Webhooks to per-key and per-request URLs, retried with backoff, logged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.gateway.helpers import AppServer, bearer, env_for, gateway_config, wait_for
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer


class Receiver:
    """Records deliveries; answers 500 to the first ``fail_first`` of them."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.calls.append((dict(request.headers), body))
            n = len(self.calls)
        return Response(status_code=500 if n <= self.fail_first else 204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, AppServer]]:
    rec = Receiver(fail_first=2)
    with AppServer(rec.app()) as server:
        yield rec, server


@pytest.fixture
def hooked(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    config = gateway_config(emulator, tmp_path, allow_hosts=["localhost"])  # the test receiver, by name only
    with GatewayServer(config, env=env_for(emulator, tmp_path)) as gw:
        yield gw


def test_signed_delivery_retried_with_backoff_and_logged(
    hooked: GatewayServer, receiver: tuple[Receiver, AppServer]
) -> None:
    rec, server = receiver
    key = hooked.create_key("hooks")
    url = server.url_at("localhost") + "/hook"
    with httpx.Client(base_url=hooked.url, timeout=30) as http:
        video = http.post("/v1/videos", headers=bearer(key),
                          json={"prompt": "p", "seconds": "10", "callback_url": url}).json()  # fmt: skip
        wait_for(lambda: len(rec.calls) >= 3, timeout=30)
        secret = http.get("/v1/webhook_secret", headers=bearer(key)).json()["secret"]
        log = wait_for(lambda: (d := http.get("/v1/webhook_deliveries", params={"video_id": video["id"]},
                                              headers=bearer(key)).json()["data"]) and d[0]["state"] == "delivered"
                       and d)  # fmt: skip
    headers, body = rec.calls[-1]
    event: dict[str, Any] = Webhook(secret).verify(body, headers)  # raises unless the signature is right
    assert event["type"] == "video.completed" and event["data"] == {"id": video["id"], "status": "completed"}
    assert len({h["webhook-id"] for h, _ in rec.calls}) == 1  # retries keep the same webhook-id
    attempts = log[0]["attempts"]
    assert [a["status"] for a in attempts] == [500, 500, 204]
    assert log[0]["event_type"] == "video.completed" and log[0]["url"] == url
    with httpx.Client(base_url=hooked.url) as http:
        assert "vidgate_webhook_attempts" in http.get("/metrics").text


def test_per_key_webhook_and_failed_event(hooked: GatewayServer, receiver: tuple[Receiver, AppServer]) -> None:
    rec, server = receiver
    rec.fail_first = 0
    key = hooked.create_key("keyed", webhook_url=server.url_at("localhost") + "/hook")
    with httpx.Client(base_url=hooked.url, timeout=30) as http:
        r = http.post("/v2/videos/generations", headers=bearer(key),
                      json={"prompt": "FAIL_POLICY", "model": "sora-2", "duration": "10"})  # fmt: skip
        assert r.status_code == 200
    wait_for(lambda: rec.calls, timeout=30)
    event = json.loads(rec.calls[0][1])
    assert event["type"] == "video.failed" and event["data"]["id"] == r.json()["task_id"]


def test_callback_urls_go_through_the_ssrf_guard(hooked: GatewayServer, emulator: EmulatorServer) -> None:
    key = hooked.create_key("evil")
    with httpx.Client(base_url=hooked.url) as http:
        for url in ["http://169.254.169.254/latest/meta-data", "http://127.0.0.1:9/x", "http://10.1.2.3/x",
                    "http://[::1]/x", "file:///etc/passwd"]:  # fmt: skip
            r = http.post("/v1/videos", headers=bearer(key), json={"prompt": "p", "seconds": "10", "callback_url": url})
            assert r.status_code == 400 and r.json()["error"]["param"] == "callback_url", url
            r = http.post("/v2/videos/generations", headers=bearer(key),
                          json={"prompt": "p", "model": "sora-2", "duration": "10", "notify_hook": url})  # fmt: skip
            assert r.status_code == 400 and r.json()["error"]["param"] == "notify_hook", url
    assert sum(emulator.state.counts.values()) == 0
