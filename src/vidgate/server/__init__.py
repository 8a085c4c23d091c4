"""The vidgate gateway: an HTTP service in front of the library (``vidgate serve``; ``pip install 'vidgate[server]'``).

``create_app(config, plugins=[...], routers=[...])`` builds the FastAPI app; ``Gateway`` is its runtime
(store, routes, tenants, webhooks, metrics, embedded worker); ``load_config`` reads the TOML file. The
configuration and the routes import without the ``server`` extra (``vidgate worker --config`` needs only them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidgate.server.config import GatewayConfig, RouteConfig, ServerSettings, load_config

if TYPE_CHECKING:
    from vidgate.server.app import Plugin, create_app
    from vidgate.server.gateway import Gateway

__all__ = ["Gateway", "GatewayConfig", "Plugin", "RouteConfig", "ServerSettings", "create_app", "load_config"]


def __getattr__(name: str) -> object:  # the app and its runtime need FastAPI: imported only when used
    if name in ("Plugin", "create_app"):
        from vidgate.server import app

        return getattr(app, name)
    if name == "Gateway":
        from vidgate.server.gateway import Gateway

        return Gateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
