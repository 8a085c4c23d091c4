"""Run the gateway as a real HTTP server on loopback in a background thread (tests, demos, the console test).

with GatewayServer(config) as gw:          # gw.url, gw.gateway (store, keys, routes)
    key = gw.create_key("tests")            # the full ``vg_...`` token
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vidgate.net.loopback import LoopbackServer
from vidgate.server.app import Plugin, create_app
from vidgate.server.config import GatewayConfig
from vidgate.server.gateway import Gateway
from vidgate.server.tenants import create_key


class GatewayServer(LoopbackServer):
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
        app = create_app(gateway=self.gateway, plugins=plugins)
        super().__init__(app, host, port, lifespan="on", name="the gateway", start_timeout=15)

    def create_key(self, name: str = "test", **kwargs: Any) -> str:
        return create_key(self.gateway.data, name, **kwargs).token

    def stop(self) -> None:
        super().stop()
        if self._own:
            self.gateway.close()
