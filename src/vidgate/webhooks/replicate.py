"""Replicate webhooks: the bare prediction object, signed as Standard Webhooks (providers-2026.md §3).

Verification is ``standard.verify_standard_webhook``. The signing secret is the account's, from
``GET /v1/webhooks/default/secret`` (``{"key": "whsec_..."}``): ``ReplicateSecret`` fetches it once, on the first
delivery, and caches it (or takes it as given). The fetch is a sans-IO request/parse pair plus an injected
``fetch`` callable, so tests and the engine choose the transport.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from vidgate.webhooks.errors import MalformedBodyError, WebhookConfigError
from vidgate.webhooks.events import HintContext
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.standard import DEFAULT_TOLERANCE_S, Secret, VerifiedDelivery, verify_standard_webhook

SECRET_PATH = "v1/webhooks/default/secret"
Fetch = Callable[[httpx.Request], httpx.Response]


def secret_request(base_url: str, api_key: str) -> httpx.Request:
    """``GET {base}/v1/webhooks/default/secret`` with the API token."""
    url = base_url.rstrip("/") + "/" + SECRET_PATH
    return httpx.Request("GET", url, headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"})


def parse_secret(response: httpx.Response) -> str:
    """The ``whsec_`` key from the secret endpoint's answer."""
    if not response.is_success:
        raise WebhookConfigError(f"Replicate's webhook secret endpoint answered HTTP {response.status_code}")
    try:
        key = response.json().get("key")
    except (ValueError, AttributeError):
        key = None
    if not isinstance(key, str) or not key:
        raise WebhookConfigError("Replicate's webhook secret endpoint answered without a key")
    return key


def _fetch_httpx(request: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=15) as http:
        return http.send(request)


class ReplicateSecret:
    """The account's signing secret: given, or fetched once from the API and cached (thread-safe)."""

    def __init__(
        self,
        secret: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        fetch: Fetch = _fetch_httpx,
    ) -> None:
        if secret is None and not (base_url and api_key):
            raise WebhookConfigError("Replicate webhooks need the signing secret or the API token to fetch it")
        self._secret = secret
        self._base_url = base_url or ""
        self._api_key = api_key or ""
        self._fetch = fetch
        self._lock = threading.Lock()
        self.fetches = 0

    def __repr__(self) -> str:
        return f"ReplicateSecret(cached={self._secret is not None})"  # never the secret or the token

    def get(self) -> str:
        with self._lock:
            if self._secret is None:
                self.fetches += 1
                self._secret = parse_secret(self._fetch(secret_request(self._base_url, self._api_key)))
            return self._secret

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Secret | Sequence[Secret] = (),
        *,
        now: float,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
    ) -> VerifiedDelivery:
        """``StandardWebhookSource.verify``: Standard Webhooks with this secret (``secrets`` is unused)."""
        return verify_standard_webhook(body, headers, self.get(), now=now, tolerance_s=tolerance_s)


def replicate_hint(payload: Any, ctx: HintContext) -> WebhookHint:
    """The prediction object -> a hint naming its ``id`` (event type ``prediction.<status>``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        raise MalformedBodyError("The Replicate webhook body is not a prediction object with an id.")
    status = payload.get("status")
    return WebhookHint(
        provider=ctx.provider,
        event_type=f"prediction.{status if isinstance(status, str) else 'unknown'}",
        provider_task_id=payload["id"],
        webhook_id=ctx.webhook_id,
        received_at=ctx.received_at,
        raw=payload,
    )
