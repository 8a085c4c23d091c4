"""Helpers for the gateway tests: gateway configs on the emulator, a loopback HTTP app server, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import FAST
from vidgate.emulator import EmulatorServer
from vidgate.net.loopback import LoopbackServer
from vidgate.server import GatewayConfig, RouteConfig, ServerSettings

EMU_KEY_ENV = "TEST_EMULATOR_KEY"


def gateway_config(
    emulator: EmulatorServer,
    tmp: Path,
    *,
    routes: list[RouteConfig] | None = None,
    database_url: str | None = None,
    **server: Any,
) -> GatewayConfig:
    settings = {
        "database_url": database_url or str(tmp / "gateway.db"),
        "downloads_dir": str(tmp / "files"),
        "time_scale": FAST,
        "worker_concurrency": 4,
        "sse_interval_s": 0.05,
        "webhook_backoff_s": [0.05, 0.1],
        **server,
    }
    if routes is None:
        routes = [
            RouteConfig(name="relay", provider="relay", base_url=emulator.url, api_key_env=EMU_KEY_ENV),
            RouteConfig(name="relay-openai", provider="relay-openai", base_url=emulator.url, api_key_env=EMU_KEY_ENV),
        ]
    return GatewayConfig(server=ServerSettings(**settings), routes=routes)


def env_for(emulator: EmulatorServer, tmp: Path, **extra: str) -> dict[str, str]:
    return {EMU_KEY_ENV: emulator.api_key, "VIDGATE_HOME": str(tmp), "VIDGATE_GATEWAY_SECRET": "test-secret", **extra}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(interval)


def wait_done(http: httpx.Client, video_id: str, key: str, timeout: float = 20.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/videos/{video_id}", headers=bearer(key)).json()
        return body if body["status"] in ("completed", "failed") else None

    result: dict[str, Any] = wait_for(done, timeout)
    return result


class AppServer(LoopbackServer):
    """Any ASGI app on 127.0.0.1 in a thread (webhook receivers, image hosts that redirect)."""


def video_through_gateway(emulator: EmulatorServer, tmp: Path, provider: str, payload: dict[str, Any]) -> Path:
    """One video made through a gateway routed to ``provider`` on the emulator: created with a tenant key on
    ``/v1/videos``, followed to ``completed``, its content fetched (an MP4) and saved; returns the file."""
    from vidgate.server.run import GatewayServer

    routes = [RouteConfig(name=provider, provider=provider, base_url=emulator.url, api_key_env=EMU_KEY_ENV)]
    config = gateway_config(emulator, tmp, routes=routes)
    with (
        GatewayServer(config, env=env_for(emulator, tmp)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        key = gateway.create_key("alice")
        created = http.post("/v1/videos", json=payload, headers=bearer(key))
        assert created.status_code == 200, created.text
        done = wait_done(http, str(created.json()["id"]), key)
        assert done["status"] == "completed", done
        content = http.get(f"/v1/videos/{created.json()['id']}/content", headers=bearer(key))
        assert content.status_code == 200 and content.content[4:8] == b"ftyp"
        (tmp / "gw.mp4").write_bytes(content.content)
    return tmp / "gw.mp4"
