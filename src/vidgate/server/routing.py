"""Routes: which provider host (and which credentials) serves which models.

A route is (catalog provider, base URL, key env var, models). Each route gets its own ``Client`` on the
shared job store; a job remembers its route (``Job.route``), so any worker process with the same config
polls and downloads it through the right host with the right key. ``RoutedClient`` is the worker's view:
it hands each job to its route's client.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import certifi
import httpx

from vidgate.catalog import Catalog, ModelSpec, load_catalog
from vidgate.catalog.loader import is_retired
from vidgate.catalog.validate import Problem
from vidgate.client import Client, ProviderSettings, Submission
from vidgate.engine.download import ByteProgress
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.errors import MissingCredentialsError, UnknownModelError, ValidationError, VidgateError
from vidgate.server.config import GatewayConfig, RouteConfig
from vidgate.server.metrics import Metrics
from vidgate.types import Job


class RouteClient(Client):
    """A ``Client`` bound to one route that reports provider latency and polls to the metrics."""

    def __init__(self, *, route: str, metrics: Metrics | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.route = route
        self.metrics = metrics

    def _timed(self, job: Job | str, operation: str) -> _Timer:
        provider = job.provider if isinstance(job, Job) else self.store.get(job).provider
        return _Timer(self.metrics, provider, operation)

    def send(self, sub: Submission, **kwargs: Any) -> Job:
        provider = sub.prepared.spec.provider
        outcome = "error"
        try:
            with _Timer(self.metrics, provider, "create"):
                job = super().send(sub, **kwargs)
            outcome = job.status.value
            return job
        except VidgateError as exc:
            outcome = exc.job.status.value if exc.job is not None else "error"
            raise
        finally:
            if self.metrics is not None:
                self.metrics.submits.labels(provider, outcome).inc()

    def enqueue_prepared(self, sub: Submission) -> Job:
        """Persist a checked request for a worker to send (creates that stream the whole generation)."""
        return self._core.new_job(sub, due=True)[0]

    def get(self, job: Job | str) -> Job:
        job = self._core.job(job)
        if job.status.terminal or job.provider_task_id is None:
            return job
        if self.metrics is not None:
            self.metrics.polls.labels(job.provider).inc()
        with self._timed(job, "status"):
            return super().get(job)

    def download(
        self, job: Job | str, out: Any = None, *, on_bytes: ByteProgress | None = None, variant: str = "video"
    ) -> Job:
        with self._timed(job, "download"):
            return super().download(job, out, on_bytes=on_bytes, variant=variant)


class _Timer:
    def __init__(self, metrics: Metrics | None, provider: str, operation: str) -> None:
        self.metrics, self.provider, self.operation = metrics, provider, operation

    def __enter__(self) -> None:
        self.t0 = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        if self.metrics is not None:
            self.metrics.provider_latency.labels(self.provider, self.operation).observe(time.monotonic() - self.t0)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def shared_tls_transport() -> httpx.HTTPTransport:
    """A transport of its own (own connection pool) on the process's one TLS context: loading the CA bundle
    once instead of once per route client keeps gateway and worker start-up fast."""
    return httpx.HTTPTransport(verify=_tls_context())


@dataclass
class Route:
    config: RouteConfig
    client: RouteClient

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def provider(self) -> str:
        return self.config.provider


@dataclass(frozen=True)
class Candidate:
    route: Route
    spec: ModelSpec


def default_routes(catalog: Catalog) -> list[RouteConfig]:
    """No routes configured: every catalog provider is one, set up from its usual environment variables."""
    return [RouteConfig(name=name, provider=name) for name in catalog.providers]


class Router:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        catalog: Catalog,
        env: Mapping[str, str],
        client_kwargs: dict[str, Any],
        metrics: Metrics | None = None,
    ) -> None:
        self.catalog = catalog
        self.env = env
        self.config = config
        configs = config.routes or default_routes(catalog)
        for rc in configs:
            if rc.provider not in catalog.providers:
                raise ValueError(
                    f"route {rc.name}: unknown provider {rc.provider!r}; known: {', '.join(catalog.providers)}"
                )
        self.routes: dict[str, Route] = {}
        for rc in configs:
            base = rc.base_url or (env.get(rc.base_url_env) if rc.base_url_env else None)
            key = env.get(rc.api_key_env) if rc.api_key_env else None
            providers = {rc.provider: ProviderSettings(base_url=base, api_key=key)} if base or key else None
            kwargs = {"transport": shared_tls_transport(), **client_kwargs}
            client = RouteClient(
                route=rc.name, metrics=metrics, providers=providers, catalog=catalog, env=env, **kwargs
            )
            self.routes[rc.name] = Route(rc, client)

    def close(self) -> None:
        for route in self.routes.values():
            route.client.close()

    # -------------------------------------------------------------- what is served

    def serves(self, route: Route, spec: ModelSpec) -> bool:
        if spec.provider != route.provider:
            return False
        wanted = route.config.models
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

    def candidates(self, model: str) -> list[Candidate]:
        """Where a request for ``model`` may go, in order: routes serving it, then its configured fallbacks."""
        try:
            spec = self.resolve(model)
        except UnknownModelError:
            raise
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

    def check_credentials(self, route: Route, spec: ModelSpec) -> None:
        """A route whose key variable is unset never falls back to another variable silently."""
        env_var = route.config.api_key_env
        if env_var and not self.env.get(env_var):
            raise MissingCredentialsError(spec.provider, env_var)

    def client_for(self, job: Job) -> RouteClient:
        if job.route and job.route in self.routes:
            return self.routes[job.route].client
        for route in self.routes.values():
            if route.provider == job.provider:
                return route.client
        return next(iter(self.routes.values())).client


class RoutedClient(Client):
    """What a worker drives: ``advance`` runs each job through its own route's client."""

    def __init__(self, router: Router, **kwargs: Any) -> None:
        kwargs.setdefault("transport", shared_tls_transport())
        super().__init__(catalog=router.catalog, env=router.env, **kwargs)
        self.router = router

    def advance(self, job: Job | str, *, download: bool = True, on_bytes: ByteProgress | None = None) -> Job:
        current = self._core.job(job)
        return self.router.client_for(current).advance(current, download=download, on_bytes=on_bytes)

    def close(self) -> None:
        super().close()
        self.router.close()


def routed_client(
    config_path: str | os.PathLike[str],
    *,
    database_url: str | None = None,
    downloads_dir: str | os.PathLike[str] | None = None,
    poll_policy: PollPolicy | None = None,
    env: Mapping[str, str] | None = None,
    **client_kwargs: Any,
) -> RoutedClient:
    """What ``vidgate worker --config gateway.toml`` runs: the gateway's routes on its database. The config's
    ``database_url``, ``downloads_dir`` and ``time_scale`` apply unless given here (downloads must be where the
    gateway serves them from)."""
    from vidgate.server.config import load_config
    from vidgate.server.gateway import default_downloads
    from vidgate.store import open_store

    config = load_config(config_path)
    env = os.environ if env is None else env
    s = config.server
    if poll_policy is None or (poll_policy == DEFAULT_POLICY and s.time_scale != 1.0):
        poll_policy = DEFAULT_POLICY if s.time_scale == 1.0 else PollPolicy(time_scale=s.time_scale)
    kwargs: dict[str, Any] = {
        "store": open_store(database_url or s.database_url, env=env),
        "downloads_dir": s.downloads_dir or downloads_dir or default_downloads(env),
        "poll_policy": poll_policy,
        "allow_image_hosts": s.allow_hosts,
        **client_kwargs,
    }
    router = Router(config, catalog=load_catalog(), env=env, client_kwargs=kwargs)
    return RoutedClient(router, **kwargs)
