"""Routes: which provider host (and which credentials) serves which models, and where a new job may go.

A route is (catalog provider, base URL, key env var, models). All routes share one engine: each is an
endpoint of it (``vidgate.engine.endpoints.Route``), a job records its route and endpoint when it is
created, and any worker process with the same config drives it through that same host with that same key.
The router only decides where a *new* job goes: the routes serving its model, then its fallbacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgate.catalog import Catalog, ModelSpec
from vidgate.catalog.loader import is_retired
from vidgate.client import AsyncClient
from vidgate.engine.endpoints import Route
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.errors import ConfigurationError, ValidationError
from vidgate.problems import Problem
from vidgate.server.config import GatewayConfig, RouteConfig
from vidgate.store import JobStore


@dataclass(frozen=True)
class Candidate:
    route: RouteConfig
    spec: ModelSpec


def default_routes(catalog: Catalog) -> list[RouteConfig]:
    """No routes configured: every catalog provider is one, set up from its usual environment variables."""
    return [RouteConfig(name=name, provider=name) for name in catalog.providers]


def engine_routes(config: GatewayConfig) -> list[Route]:
    """The configured routes as the engine's named endpoints (none: each provider's own endpoint serves)."""
    return [
        Route(
            name=r.name,
            provider=r.provider,
            base_url=r.base_url,
            base_url_env=r.base_url_env,
            api_key_env=r.api_key_env,
        )
        for r in config.routes
    ]


class Router:
    def __init__(self, config: GatewayConfig, *, catalog: Catalog, env: Mapping[str, str]) -> None:
        self.catalog = catalog
        self.env = env
        self.config = config
        configs = config.routes or default_routes(catalog)
        for rc in configs:
            if rc.provider not in catalog.providers:
                raise ConfigurationError(
                    f"Gateway route {rc.name!r}: unknown provider {rc.provider!r}; known: "
                    f"{', '.join(catalog.providers)}. Fix `provider` in the [[routes]] of the config."
                )
        self.routes: dict[str, RouteConfig] = {rc.name: rc for rc in configs}

    # -------------------------------------------------------------- what is served

    def serves(self, route: RouteConfig, spec: ModelSpec) -> bool:
        if spec.provider != route.provider:
            return False
        wanted = route.models
        return "*" in wanted or spec.key in wanted or spec.model in wanted

    def served_models(self, *, include_retired: bool = False) -> list[ModelSpec]:
        out: list[ModelSpec] = []
        for spec in self.catalog.models.values():
            if any(self.serves(r, spec) for r in self.routes.values()) and (include_retired or not is_retired(spec)):
                out.append(spec)
        return out

    def resolve(self, model: str) -> ModelSpec:
        """A catalog key as given; a bare model id -> the first route (in order) serving a model of that id."""
        if "/" not in model:
            for route in self.routes.values():
                for spec in self.catalog.by_provider(route.provider):
                    if spec.model == model and self.serves(route, spec):
                        return spec
        return self.catalog.resolve(model)

    def route_for(self, spec: ModelSpec) -> RouteConfig | None:
        """The first route serving ``spec``."""
        return next((r for r in self.routes.values() if self.serves(r, spec)), None)

    def candidates(self, model: str) -> list[Candidate]:
        """Where a request for ``model`` may go, in order: routes serving it, then its configured fallbacks."""
        spec = self.resolve(model)
        out = [Candidate(r, spec) for r in self.routes.values() if self.serves(r, spec)]
        if not out:
            served = ", ".join(s.key for s in self.served_models()) or "none"
            raise ValidationError(
                [Problem("model", model, "this gateway has no route for this model", allowed=served)], spec.key
            )
        for entry in self.config.fallbacks.get(spec.key, []) + self.config.fallbacks.get(spec.model, []):
            route_name, _, other = entry.rpartition(":") if ":" in entry else ("", "", entry)
            fb = self.resolve(other)
            routes = [self.routes[route_name]] if route_name in self.routes else list(self.routes.values())
            out += [Candidate(r, fb) for r in routes if self.serves(r, fb) and Candidate(r, fb) not in out]
        return out


def gateway_client(
    config: GatewayConfig,
    store: JobStore,
    catalog: Catalog,
    env: Mapping[str, str],
    downloads_dir: Path,
    **options: Any,
) -> AsyncClient:
    """The one engine of a gateway (or of ``vidgate worker --config``): every route an endpoint of it."""
    s = config.server
    options.setdefault("poll_policy", DEFAULT_POLICY if s.time_scale == 1.0 else PollPolicy(time_scale=s.time_scale))
    if s.storage:  # results in the configured storage, on every gateway and `vidgate worker --config`
        options.setdefault("storage", s.storage)
    if s.rate_limits:
        options.setdefault("rate_limits", s.rate_limits)
    return AsyncClient(
        store=store,
        catalog=catalog,
        env=env,
        routes=engine_routes(config),
        downloads_dir=downloads_dir,
        allow_image_hosts=s.allow_hosts,
        **options,
    )
