"""The ASGI webhook receiver: verify, turn into a ``WebhookHint``, hand to ``on_hint``; answer the sender.

    receiver = WebhookReceiver(
        on_hint,                                   # async (hint) -> None; the engine fetches the job's status
        sources=[StandardWebhookSource.openai(os.environ["OPENAI_WEBHOOK_SECRET"]),
                 StandardWebhookSource.gemini(os.environ["GEMINI_WEBHOOK_SECRET"],       # static (HMAC)
                                              jwt=GeminiJwtKeys(audience="https://vg.example.com/hooks/gemini"))],
                                              # ^ dynamic (per-request webhook_config): RS256 JWT, Google's JWKS
        relay=RelayNotifySource(RelayNotifyTokens(os.environ["VIDGATE_NOTIFY_KEY"])),
    )
    app = receiver.app()                           # a Starlette app, or
    my_app.router.routes.extend(receiver.routes()) # routes to mount into yours

Routes (``prefix`` defaults to ``/hooks``): ``POST {prefix}/openai``, ``POST {prefix}/gemini`` (one per
Standard Webhooks source, at its ``path``) and ``POST {prefix}/relay/{job_id}/{token}``.

Answers: 200 ``{"status": "accepted"}`` (``on_hint`` was called), ``"duplicate"`` (same delivery again:
nothing happens, the sender stops retrying), ``"ignored"`` (authentic but not about a video job, or a job
the store no longer has); 400 malformed headers/body; 401 bad signature, token or timestamp; 413 too large;
500 if ``on_hint`` raised (the delivery is forgotten so the sender's retry is accepted). ``on_hint`` should
only enqueue work and return quickly: senders expect an answer within seconds. Logs name the provider,
delivery id, event type and outcome; never a secret, token, signature or body.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from vidgate.webhooks.errors import (
    BadTokenError,
    PayloadTooLargeError,
    UnsupportedSignatureError,
    WebhookConfigError,
    WebhookVerificationError,
)
from vidgate.webhooks.events import HintContext, HintParser, gemini_hint, openai_hint
from vidgate.webhooks.gemini_jwt import GeminiJwtKeys, is_jwt
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.openrouter import openrouter_hint, verify_openrouter_webhook
from vidgate.webhooks.relay_notify import NotifyTokens, relay_hint, relay_notify_url, url_challenge
from vidgate.webhooks.replay import InMemorySeenIds, SeenIds
from vidgate.webhooks.replicate import ReplicateSecret, replicate_hint
from vidgate.webhooks.standard import (
    DEFAULT_TOLERANCE_S,
    Secret,
    VerifiedDelivery,
    load_secrets,
    verify_standard_webhook,
)

log = logging.getLogger("vidgate.webhooks")

OnHint = Callable[[WebhookHint], Awaitable[None]]
DEFAULT_MAX_BODY_BYTES = 256 * 1024
_PATH_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class StandardWebhookSource:
    """One Standard Webhooks sender: its provider name, signing secret(s), body parser and route path."""

    provider: str
    secrets: Secret | Sequence[Secret] = field(repr=False)  # never printed
    parse: HintParser
    path: str
    jwt: GeminiJwtKeys | None = None  # also accept RS256-JWT-signed deliveries (Gemini dynamic webhooks)
    # A sender with its own signature scheme: verify(body, headers, secrets, now=, tolerance_s=) -> delivery
    verify: Callable[..., VerifiedDelivery] | None = None

    @classmethod
    def openai(
        cls, secrets: Secret | Sequence[Secret], *, provider: str = "openai", path: str = "openai"
    ) -> StandardWebhookSource:
        """OpenAI project webhooks (``video.completed`` / ``video.failed``); secret ``whsec_…`` from the dashboard."""
        return cls(provider=provider, secrets=secrets, parse=openai_hint, path=path)

    @classmethod
    def gemini(
        cls,
        secrets: Secret | Sequence[Secret] = (),
        *,
        provider: str = "gemini",
        path: str = "gemini",
        jwt: GeminiJwtKeys | None = None,
    ) -> StandardWebhookSource:
        """Gemini API webhooks. *Static* ones are HMAC-signed with ``secrets`` (``new_signing_secret`` from webhook
        creation); *dynamic* ones (per-request ``webhook_config``) are RS256 JWTs, accepted when ``jwt`` is given
        (``GeminiJwtKeys(audience=<the URL in webhook_config.uris>)``). At least one of the two is needed."""
        return cls(provider=provider, secrets=secrets, parse=gemini_hint, path=path, jwt=jwt)

    @classmethod
    def openrouter(
        cls, secrets: Secret | Sequence[Secret], *, provider: str = "openrouter", path: str = "openrouter"
    ) -> StandardWebhookSource:
        """OpenRouter video webhooks (``X-OpenRouter-Signature``); the workspace signing secret, as given."""
        return cls(provider, secrets, openrouter_hint, path, verify=verify_openrouter_webhook)

    @classmethod
    def replicate(
        cls, secret: ReplicateSecret, *, provider: str = "replicate", path: str = "replicate"
    ) -> StandardWebhookSource:
        """Replicate prediction webhooks (Standard Webhooks); the account secret, given or fetched once."""
        return cls(provider, (), replicate_hint, path, verify=secret.verify)


@dataclass(frozen=True)
class RelayNotifySource:
    """The relay's per-job ``notify_hook`` URLs. ``job_exists`` (optional) lets late deliveries be ignored."""

    tokens: NotifyTokens
    provider: str = "relay"
    path: str = "relay"
    job_exists: Callable[[str], Awaitable[bool]] | None = None


@dataclass
class WebhookReceiver:
    on_hint: OnHint
    sources: Sequence[StandardWebhookSource] = ()
    relay: RelayNotifySource | None = None
    prefix: str = "/hooks"
    tolerance_s: float = DEFAULT_TOLERANCE_S
    seen: SeenIds = field(default_factory=InMemorySeenIds)
    clock: Callable[[], float] = time.time
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    counts: Counter[str] = field(default_factory=Counter, init=False)
    _hooks: dict[str, list[Webhook]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.prefix = "/" + self.prefix.strip("/") if self.prefix.strip("/") else ""
        paths = [s.path for s in self.sources] + ([self.relay.path] if self.relay else [])
        for path in paths:
            if not _PATH_RE.match(path):
                raise WebhookConfigError(f"Webhook route path {path!r} must match {_PATH_RE.pattern} (e.g. 'openai').")
        if len(set(paths)) != len(paths):
            raise WebhookConfigError(
                f"Two webhook sources share a route path: {sorted(paths)}. Give each its own path."
            )
        for source in self.sources:
            if source.verify is not None:
                self._hooks[source.path] = []  # verified by the source's own scheme
                continue
            if source.jwt is not None and not source.secrets:
                self._hooks[source.path] = []  # JWT-signed deliveries only
                continue
            try:
                self._hooks[source.path] = load_secrets(source.secrets)
            except WebhookConfigError as exc:
                raise WebhookConfigError(f"Webhook source {source.provider!r}: {exc}") from None

    # ------------------------------------------------------------------------------------------ public

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        for source in self.sources:
            routes.append(Route(f"{self.prefix}/{source.path}", self._standard_endpoint(source), methods=["POST"]))
        if self.relay is not None:
            routes.append(Route(f"{self.prefix}/{self.relay.path}/{{job_id}}/{{token}}", self._relay, methods=["POST"]))
        return routes

    def app(self) -> Starlette:
        return Starlette(routes=self.routes())

    def notify_url(self, base_url: str, job_id: str) -> str:
        """The relay ``notify_hook`` for ``job_id``; ``base_url`` is this server's public origin (no prefix)."""
        if self.relay is None:
            raise WebhookConfigError("This receiver has no relay source; pass relay=RelayNotifySource(...).")
        return relay_notify_url(base_url.rstrip("/") + self.prefix, job_id, self.relay.tokens, path=self.relay.path)

    def log_filter(self) -> logging.Filter:
        """A filter that hides relay tokens in access logs: ``logging.getLogger('uvicorn.access').addFilter(...)``."""
        return TokenRedactingFilter(f"{self.prefix}/{self.relay.path if self.relay else 'relay'}/")

    # ---------------------------------------------------------------------------------------- handlers

    def _standard_endpoint(self, source: StandardWebhookSource) -> Callable[[Request], Awaitable[Response]]:
        hooks = self._hooks[source.path]

        async def endpoint(request: Request) -> Response:
            now = self.clock()
            try:
                body = await self._read_body(request)
                if source.verify is not None:
                    # in a thread: the first delivery may fetch the sender's keys or secret (fal's JWKS,
                    # Replicate's account secret) with blocking I/O, which must not stall the event loop
                    headers, tolerance = request.headers, self.tolerance_s  # immutable: safe to read there
                    delivery = await asyncio.to_thread(
                        source.verify, body, headers, source.secrets, now=now, tolerance_s=tolerance
                    )
                elif source.jwt is not None and is_jwt(request.headers.get("webhook-signature", "")):
                    delivery = await source.jwt.verify(body, request.headers, now=now, tolerance_s=self.tolerance_s)
                elif not hooks:
                    raise UnsupportedSignatureError(
                        "This endpoint accepts only JWT-signed (Gemini dynamic) deliveries: webhook-signature "
                        "is not a JWT. Configure the static webhook's signing secret to accept HMAC deliveries."
                    )
                else:
                    delivery = verify_standard_webhook(
                        body, request.headers, hooks, now=now, tolerance_s=self.tolerance_s
                    )
                hint = source.parse(delivery.payload, HintContext(source.provider, delivery.webhook_id, now))
            except WebhookVerificationError as exc:
                return self._refuse(source.provider, exc, request)
            if hint is None:
                return self._answer(source.provider, "ignored", delivery.webhook_id, _event_type(delivery.payload))
            key = f"{source.provider}:{delivery.webhook_id}"
            return await self._deliver(hint, key, now=now, expires_at=delivery.expires_at)

        return endpoint

    async def _relay(self, request: Request) -> Response:
        assert self.relay is not None
        relay = self.relay
        now = self.clock()
        job_id = str(request.path_params["job_id"])
        try:
            if not relay.tokens.verify(job_id, str(request.path_params["token"])):
                raise BadTokenError(
                    f"The notify_hook URL's token is not the one vidgate issued for job {job_id[:64]!r}. "
                    "Only the callback URL sent with that job's create request is accepted."
                )
            body = await self._read_body(request)
        except WebhookVerificationError as exc:
            return self._refuse(relay.provider, exc, request)
        challenge = url_challenge(body)
        if challenge is not None:  # a URL-ownership check before the create completes (MiniMax): echo it
            self.counts[f"{relay.provider} challenge"] += 1
            return JSONResponse({"challenge": challenge})
        if relay.job_exists is not None and not await relay.job_exists(job_id):
            return self._answer(relay.provider, "ignored", None, "unknown job", job_id=job_id)
        hint = relay_hint(body, job_id=job_id, provider=relay.provider, received_at=now)
        # The relay sends no delivery id: the same body for the same job inside the window is a duplicate.
        key = f"{relay.provider}:{job_id}:{hashlib.sha256(body).hexdigest()[:32]}"
        return await self._deliver(hint, key, now=now, expires_at=now + self.tolerance_s)

    # ----------------------------------------------------------------------------------------- helpers

    async def _deliver(self, hint: WebhookHint, key: str, *, now: float, expires_at: float) -> Response:
        if not self.seen.add(key, now=now, expires_at=expires_at):
            return self._answer(hint.provider, "duplicate", hint.webhook_id, hint.event_type, job_id=hint.job_id)
        try:
            await self.on_hint(hint)
        except Exception as exc:
            self.seen.discard(key)
            self.counts[f"{hint.provider} callback_failed"] += 1
            log.error(
                "webhook %s delivery=%s event=%s: on_hint raised %s; answered 500 so the sender retries",
                hint.provider,
                hint.webhook_id or "-",
                hint.event_type,
                type(exc).__name__,
            )
            return JSONResponse(
                {"error": {"code": "callback_failed", "message": "The receiver could not hand the event on; retry."}},
                status_code=500,
            )
        return self._answer(
            hint.provider, "accepted", hint.webhook_id, hint.event_type, job_id=hint.job_id, task=hint.provider_task_id
        )

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLargeError(self._too_large(int(declared)))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLargeError(self._too_large(size))
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, size: int) -> str:
        return (
            f"The webhook body is at least {size} bytes; this receiver accepts at most {self.max_body_bytes} "
            "(raise max_body_bytes if a sender really sends more)."
        )

    def _answer(
        self,
        provider: str,
        status: str,
        webhook_id: str | None,
        event_type: str | None,
        *,
        job_id: str | None = None,
        task: str | None = None,
    ) -> JSONResponse:
        self.counts[f"{provider} {status}"] += 1
        log.info(
            "webhook %s %s: delivery=%s event=%s job=%s task=%s",
            provider,
            status,
            webhook_id or "-",
            event_type or "-",
            job_id or "-",
            task or "-",
        )
        return JSONResponse({"status": status})

    def _refuse(self, provider: str, exc: WebhookVerificationError, request: Request) -> JSONResponse:
        self.counts[f"{provider} {exc.code}"] += 1
        log.warning(
            "webhook %s refused (%s, HTTP %d) from %s: %s",
            provider,
            exc.code,
            exc.http_status,
            request.client.host if request.client else "?",
            exc,
        )
        return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, status_code=exc.http_status)


def _event_type(payload: object) -> str | None:
    if isinstance(payload, dict):
        value = payload.get("type")
        return value if isinstance(value, str) else None
    return None


class TokenRedactingFilter(logging.Filter):
    """Replaces the token segment after ``{marker}{job_id}/`` with ``***`` in log messages and arguments."""

    def __init__(self, marker: str = "/hooks/relay/") -> None:
        super().__init__()
        self._pattern = re.compile(re.escape(marker) + r"([^/\s?\"']+)/[^/\s?\"']+")
        self._marker = marker

    def redact(self, text: str) -> str:
        return self._pattern.sub(lambda m: f"{self._marker}{m.group(1)}/***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        return True
