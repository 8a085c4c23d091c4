"""The vidgate gateway: an HTTP service in front of the library (``vidgate serve``).

``create_app(config, plugins=[...], routers=[...])`` builds the FastAPI app; ``Gateway`` is its runtime
(store, routes, tenants, webhooks, metrics, embedded worker); ``load_config`` reads the TOML file.
"""

from vidgate.server.app import Plugin, create_app
from vidgate.server.config import GatewayConfig, RouteConfig, ServerSettings, load_config
from vidgate.server.gateway import Gateway

__all__ = ["Gateway", "GatewayConfig", "Plugin", "RouteConfig", "ServerSettings", "create_app", "load_config"]
