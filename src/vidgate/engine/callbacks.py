"""Webhooks in, wired to the engine for ``vidgate serve --public-url`` and ``vidgate worker --public-url``.

One ``WebhookReceiver`` serves every provider that can call back:

* per-job URLs for dialects that take a callback URL with each create (the relay's ``notify_hook``): the URL
  carries an unguessable per-job token (``RelayNotifyTokens``; its key is derived from the gateway secret, so
  every replica and worker issues and checks the same tokens). New jobs of those models carry their URL
  automatically (``callback_urls``), and their polling becomes only a safety net;
* project webhooks signed as Standard Webhooks, where a secret is configured: OpenAI
  (``VIDGATE_OPENAI_WEBHOOK_SECRET``) and Gemini (``VIDGATE_GEMINI_WEBHOOK_SECRET``);
* Gemini *dynamic* webhooks (a create's ``webhook_config.uris`` = ``{public_url}/hooks/gemini``), RS256 JWTs
  checked against Google's JWKS (``VIDGATE_GEMINI_JWKS_URL``, comma-separated, overrides the URL) with that
  URL as the audience: always on, with or without the static secret.

A delivery never changes a job by itself: it makes the job due now (``engine.hints.wake_on_hint``) and wakes
the workers of this process; the provider's status endpoint stays the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from vidgate.catalog import Catalog
from vidgate.engine.hints import wake_on_hint
from vidgate.errors import ConfigurationError
from vidgate.providers import get_dialect
from vidgate.store import JobStore
from vidgate.types import utcnow
from vidgate.webhooks import (
    GEMINI_JWKS_URL,
    GeminiJwtKeys,
    JwksCache,
    RelayNotifySource,
    StandardWebhookSource,
    WebhookReceiver,
)
from vidgate.webhooks.fal import JWKS_URL as FAL_JWKS_URL
from vidgate.webhooks.fal import FalJwks, fal_hint
from vidgate.webhooks.gemini_jwt import FetchJwks, fetch_jwks_httpx
from vidgate.webhooks.relay_notify import RelayNotifyTokens
from vidgate.webhooks.replicate import ReplicateSecret

OPENAI_SECRET_ENV = "VIDGATE_OPENAI_WEBHOOK_SECRET"
GEMINI_SECRET_ENV = "VIDGATE_GEMINI_WEBHOOK_SECRET"
OPENROUTER_SECRET_ENV = "VIDGATE_OPENROUTER_WEBHOOK_SECRET"
REPLICATE_SECRET_ENV = "VIDGATE_REPLICATE_WEBHOOK_SECRET"  # else fetched once with VIDGATE_REPLICATE_API_KEY
GEMINI_JWKS_ENV = "VIDGATE_GEMINI_JWKS_URL"
FAL_JWKS_ENV = "VIDGATE_FAL_JWKS_URL"  # fal webhooks: ED25519 keys, fetched on the first delivery
HOOKS_PREFIX = "/hooks"


@dataclass
class Wakers:
    """Who to wake when a delivery made a job due (the workers of this process); thread-safe callables."""

    callbacks: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self) -> None:
        for wake in list(self.callbacks):
            wake()


@dataclass
class Callbacks:
    receiver: WebhookReceiver
    public_url: str
    wakers: Wakers
    providers: list[str]  # the providers whose jobs carry a per-job callback URL
    # providers that sign their deliveries and name the task: every job carries the same /hooks/<source> URL
    signed: dict[str, str] = field(default_factory=dict)

    def callback_urls(self) -> dict[str, Callable[[str], str]]:
        """``AsyncClient(callback_urls=...)``: each job of these providers gets its own callback URL, or its
        provider's signed-delivery URL."""
        urls: dict[str, Callable[[str], str]] = {p: self.url_for for p in self.providers}
        for provider, url in self.signed.items():
            urls.setdefault(provider, _same_url(url))
        return urls

    def url_for(self, job_id: str) -> str:
        return self.receiver.notify_url(self.public_url, job_id)


def per_job_providers(catalog: Catalog) -> list[str]:
    """Providers with models that deliver by webhook through a per-job URL the create carries."""
    return sorted(
        {
            m.provider
            for m in catalog.models.values()
            if "webhook" in m.results.delivery and get_dialect(m.dialect).per_job_callback
        }
    )


def wire_callbacks(
    store: JobStore,
    catalog: Catalog,
    *,
    public_url: str,
    notify_key: str,
    env: Mapping[str, str],
    now: Callable[[], datetime] = utcnow,
    jwks_fetch: FetchJwks = fetch_jwks_httpx,
) -> Callbacks:
    """The receiver for every provider that can call back, waking this process's workers (``wakers``)."""
    if not public_url.lower().startswith(("http://", "https://")):
        raise ConfigurationError(
            f"public URL {public_url!r}: give the http(s) URL providers reach this server at, e.g. https://vg.example.com"
        )
    wakers = Wakers()
    sources = [StandardWebhookSource.openai(env[OPENAI_SECRET_ENV])] if env.get(OPENAI_SECRET_ENV) else []
    jwks_urls = [u.strip() for u in env.get(GEMINI_JWKS_ENV, "").split(",") if u.strip()] or [GEMINI_JWKS_URL]
    audience = f"{public_url.rstrip('/')}{HOOKS_PREFIX}/gemini"
    dynamic = GeminiJwtKeys(audience=audience, cache=JwksCache(urls=jwks_urls, fetch=jwks_fetch))
    sources.append(StandardWebhookSource.gemini(env.get(GEMINI_SECRET_ENV) or (), jwt=dynamic))
    if env.get(OPENROUTER_SECRET_ENV):
        sources.append(StandardWebhookSource.openrouter(env[OPENROUTER_SECRET_ENV]))
    if replicate := replicate_secret(env, catalog):
        sources.append(StandardWebhookSource.replicate(replicate))
    fal_keys = FalJwks(env.get(FAL_JWKS_ENV) or FAL_JWKS_URL)
    sources.append(StandardWebhookSource("fal", (), fal_hint, "fal", verify=fal_keys.verify))  # POST /hooks/fal
    receiver = WebhookReceiver(
        on_hint=wake_on_hint(store, now, catalog.providers, on_wake=wakers),
        sources=sources,
        relay=RelayNotifySource(RelayNotifyTokens(notify_key)),
        prefix=HOOKS_PREFIX,
    )
    signed = signed_callback_urls(catalog, sources, f"{public_url.rstrip('/')}{HOOKS_PREFIX}")
    return Callbacks(receiver, public_url.rstrip("/"), wakers, per_job_providers(catalog), signed)


def signed_callback_urls(catalog: Catalog, sources: Sequence[StandardWebhookSource], hooks_url: str) -> dict[str, str]:
    """provider -> the receiver URL its creates carry, for providers whose dialect can name a signed callback
    (``Dialect.signed_callback``) and whose source this receiver verifies (e.g. OpenRouter only with its
    secret configured): with ``--public-url`` their jobs are woken by the provider instead of waiting to poll."""
    if not _https_or_loopback(hooks_url):
        return {}  # these providers take HTTPS callback URLs only; a plain-http public URL would fail the create
    verified = {s.path: s for s in sources}
    out: dict[str, str] = {}
    for m in catalog.models.values():
        name = get_dialect(m.dialect).signed_callback
        source = verified.get(name) if name else None
        if source is not None and source.provider == m.provider and "webhook" in m.results.delivery:
            out[m.provider] = f"{hooks_url}/{source.path}"
    return out


def replicate_secret(env: Mapping[str, str], catalog: Catalog) -> ReplicateSecret | None:
    """Replicate's signing secret: VIDGATE_REPLICATE_WEBHOOK_SECRET, or fetched once (on the first delivery)
    from GET /v1/webhooks/default/secret with the API key; None when neither is configured."""
    if env.get(REPLICATE_SECRET_ENV):
        return ReplicateSecret(env[REPLICATE_SECRET_ENV])
    spec = catalog.providers.get("replicate")
    if spec is None or not env.get(spec.api_key_env):
        return None
    return ReplicateSecret(base_url=env.get(spec.base_url_env) or spec.base_url, api_key=env[spec.api_key_env])


def _same_url(url: str) -> Callable[[str], str]:
    def url_for(_job_id: str) -> str:
        return url

    return url_for


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
