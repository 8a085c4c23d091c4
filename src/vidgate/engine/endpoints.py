"""Endpoints: where a provider is reached and with which credential, and the binding of jobs to them.

An endpoint is (provider, base URL, credential). Every job records its endpoint when it is created — the base
URL and the *name* of its credential (an environment variable, ``ambient:<kind>``, or ``key:<fingerprint>``
for a key given as an argument; never the key) — and is only ever sent there: ``connection_for(job)``
raises ``EndpointMismatchError`` in a process configured for another host or credential, and workers claim
only the jobs of the endpoints they are configured for (``Endpoints.keys()``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx

from vidgate.catalog import Catalog
from vidgate.catalog.schema import ProviderSpec
from vidgate.credentials import ambient_token, fill_base_url, resolve_settings
from vidgate.errors import ConfigurationError, MissingCredentialsError
from vidgate.providers import Connection
from vidgate.types import Job, endpoint_key


@dataclass(frozen=True)
class ProviderSettings:
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    settings: Mapping[str, str] = field(default_factory=dict)  # the provider's extra settings (project, region)


@dataclass(frozen=True)
class Route:
    """A named endpoint of a catalog provider: its own host and key (e.g. a main and a backup relay).

    ``api_key_env`` names the variable that holds the key; when it is unset the route has no key (it never
    falls back to another variable). Unset fields are resolved as for the provider itself.
    """

    name: str
    provider: str
    base_url: str | None = None
    base_url_env: str | None = None
    api_key_env: str | None = None


class EndpointMismatchError(ConfigurationError):
    """A job would be sent to an endpoint (host or credential) other than the one it was created for."""

    def __init__(self, job: Job, configured: str) -> None:
        self.job = job
        self.configured = configured
        super().__init__(
            f"Job {job.id} belongs to {describe_endpoint(job.provider, job.base_url, job.credentials_ref)}, but "
            f"this process is configured for {configured}. Nothing was sent. Drive it from a process configured "
            f"for that endpoint (same base URL and key variable), or cancel it (`vidgate jobs cancel {job.id}`)."
        )


def describe_endpoint(provider: str, base_url: str | None, credentials_ref: str | None) -> str:
    if base_url is None:
        return f"{provider} (endpoint not recorded)"
    return f"{provider} at {base_url} with {credentials_ref or 'no key'}"


def checked_base_url(url: str, provider: ProviderSpec) -> str:
    """An http(s) URL with a host, without a trailing slash; anything else is refused before any I/O."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"The base URL {url!r} for provider {provider.name!r} is not an http(s) URL with a host. Nothing was "
            f"sent. Give one like https://api.example.com (--base-url, base_url=, or {provider.base_url_env})."
        )
    return url.rstrip("/")


def key_fingerprint(api_key: str) -> str:
    """How a key given as an argument is named on its jobs: a fingerprint, never the key."""
    return "key:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


class Endpoints:
    """Resolves endpoints: explicit arguments > per-provider settings > routes > environment > catalog."""

    def __init__(
        self,
        catalog: Catalog,
        env: Mapping[str, str],
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        providers: Mapping[str, ProviderSettings] | None = None,
        routes: Iterable[Route] = (),
    ) -> None:
        self.catalog = catalog
        self.env = env
        self.base_url = base_url
        self.api_key = api_key
        self.providers = dict(providers or {})
        self._resolved: dict[tuple[str, str | None], Connection] = {}
        self.routes: dict[str, Route] = {}
        for route in routes:
            if route.provider not in catalog.providers:
                raise ConfigurationError(
                    f"route {route.name}: unknown provider {route.provider!r}; known: " + ", ".join(catalog.providers)
                )
            self.routes[route.name] = route

    def _endpoint(self, provider: ProviderSpec, route: str | None, secret: bool) -> Connection:
        """Where ``provider`` (through ``route``) is reached and with which credential. ``secret=False``: the
        identity only (no ambient token is fetched; the key is left empty)."""
        r = self._route(route, provider.name)
        settings = self.providers.get(provider.name, ProviderSettings())
        env = self.env
        base_url = (
            (r.base_url if r else None)
            or (env.get(r.base_url_env) if r and r.base_url_env else None)
            or settings.base_url
            or self.base_url
            or env.get(provider.base_url_env)
            or provider.base_url
        )
        ambient: str | None = None
        if r is not None and r.api_key_env:
            api_key, ref = env.get(r.api_key_env), r.api_key_env  # a route's variable: no fallback
            if not api_key:
                raise MissingCredentialsError(provider.name, r.api_key_env)
        else:
            api_key = settings.api_key or self.api_key
            if api_key:
                ref = provider.api_key_env if env.get(provider.api_key_env) == api_key else key_fingerprint(api_key)
            else:
                api_key, ref = env.get(provider.api_key_env), provider.api_key_env
                if not api_key and provider.ambient_credentials:
                    ambient = provider.ambient_credentials
                    ref = f"ambient:{ambient}"
                    api_key = ambient_token(ambient) if secret else ""
                elif not api_key:
                    raise MissingCredentialsError(provider.name, provider.api_key_env)
        # the identity alone never asks the ambient source (Google ADC may probe a metadata server)
        values = resolve_settings(provider, settings.settings, env, ambient if secret else None)
        return Connection(
            provider=provider,
            base_url=checked_base_url(fill_base_url(base_url, values), provider),
            api_key=api_key or "",
            settings=values,
            credentials_ref=ref,
        )

    def _route(self, route: str | None, provider: str) -> Route | None:
        if route is None:
            return None
        r = self.routes.get(route)
        if r is None:
            if route == provider:
                return None  # a job of the default route of its provider (the gateway without routes)
            raise ConfigurationError(
                f"no route {route!r} is configured here; routes: {', '.join(self.routes) or 'none'}"
            )
        if r.provider != provider:
            raise ConfigurationError(f"route {route!r} serves provider {r.provider!r}, not {provider!r}")
        return r

    def connection(self, provider: ProviderSpec, route: str | None = None) -> Connection:
        """Where a new job of ``provider`` goes (its own endpoint, or ``route``'s). Resolved once per endpoint
        (a process reads its configuration when it first uses it), except ambient tokens, which expire."""
        key = (provider.name, route)
        found = self._resolved.get(key)
        if found is None:
            found = self._endpoint(provider, route, secret=True)
            if not found.credentials_ref.startswith("ambient:"):
                self._resolved[key] = found
        return found

    def connection_for(self, job: Job) -> Connection:
        """The connection of the endpoint ``job`` was created for; ``EndpointMismatchError`` when this
        process is configured for another host or credential (the job is then never sent anywhere)."""
        conn = self.connection(self.catalog.providers[job.provider], job.route)
        if job.base_url is not None and (conn.base_url, conn.credentials_ref) != (job.base_url, job.credentials_ref):
            raise EndpointMismatchError(job, describe_endpoint(job.provider, conn.base_url, conn.credentials_ref))
        return conn

    def keys(self) -> dict[str, str]:
        """Every endpoint this process can drive jobs of: ``Job.endpoint`` key -> a description. Jobs from
        before endpoints were recorded are driven by the process configured for their provider."""
        out: dict[str, str] = {}
        targets: list[tuple[ProviderSpec, str | None]] = [(p, None) for p in self.catalog.providers.values()]
        targets += [(self.catalog.providers[r.provider], r.name) for r in self.routes.values()]
        for provider, route in targets:
            try:
                conn = self._endpoint(provider, route, secret=False)
            except ConfigurationError:
                continue  # no key (or a required setting) for it here: not ours
            out[endpoint_key(provider.name, conn.base_url, conn.credentials_ref)] = describe_endpoint(
                provider.name, conn.base_url, conn.credentials_ref
            )
            out.setdefault(provider.name, f"{provider.name} (jobs created before endpoints were recorded)")
        return out
