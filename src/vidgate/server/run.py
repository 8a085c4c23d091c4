"""Run the gateway as a real HTTP server on loopback in a background thread (tests, demos, the console test).

with GatewayServer(config) as gw:          # gw.url, gw.gateway (store, keys, routes)
    key = gw.create_key("tests")            # the full ``vg_...`` token
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import uvicorn

from vidgate.server.app import Plugin, create_app
from vidgate.server.config import GatewayConfig
from vidgate.server.gateway import Gateway
from vidgate.server.tenants import create_key


class GatewayServer:
    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        gateway: Gateway | None = None,
        plugins: Sequence[Plugin] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        **gateway_kwargs: Any,
    ) -> None:
        self.gateway = gateway or Gateway(config, **gateway_kwargs)
        self._own = gateway is None
        self.app = create_app(gateway=self.gateway, plugins=plugins)
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="vidgate-gateway", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def create_key(self, name: str = "test", **kwargs: Any) -> str:
        return create_key(self.gateway.data, name, **kwargs).token

    def start(self) -> GatewayServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()
        if self._own:
            self.gateway.close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
