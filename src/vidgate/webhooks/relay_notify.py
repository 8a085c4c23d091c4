"""The relay's per-task ``notify_hook``: an unsigned callback, protected by an unguessable URL.

Facts (shared/reference/seed-relay-api.md, relay-platforms.md §2.2/§2.6): the create body takes
``notify_hook`` (a URL); what the relay POSTs there is not documented and carries no signature, no event id
and no retry semantics. vidgate therefore trusts nothing in the body:

- **URL scheme.** At submit time vidgate puts ``{base}/relay/{job_id}/{token}`` into ``notify_hook``, where
  ``token = "v1" + base64url(HMAC-SHA256(key, "vidgate/relay-notify/v1\\0" + job_id))`` (45 characters,
  256 bits). The key is one per installation (``RelayNotifyTokens.generate_key()``), so no token is stored
  anywhere: the receiver recomputes it and compares in constant time. Rotate by listing the new key first
  and keeping the old one until its jobs are done. Only someone who saw the URL (the relay) can call it,
  and only for that one job.
- **Body.** Accepted if it is the task envelope (``{"task_id", "status", …}``), a wrapper with
  ``data.task_id``, anything else carrying an ``id``, or not JSON at all: the job is already named by the
  URL. ``status`` is kept only as the hint's ``event_type``; the engine re-fetches the task.
- **Unknown job.** A correct token for a job the store no longer has is a late delivery: 200, ignored.

The token is a credential: keep it out of logs (``TokenRedactingFilter`` in ``receiver.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError

from vidgate.webhooks.errors import WebhookConfigError
from vidgate.webhooks.hints import WebhookHint
from vidgate.webhooks.standard import parse_json_body

JOB_ID_RE = re.compile(r"^[A-Za-z0-9._:~-]{1,128}$")
TOKEN_PREFIX = "v1"
_DOMAIN = b"vidgate/relay-notify/v1\x00"
_MIN_KEY_BYTES = 16


@runtime_checkable
class NotifyTokens(Protocol):
    """Issues and checks per-job callback tokens. Swap in a store-backed one if you prefer random tokens."""

    def token_for(self, job_id: str) -> str: ...

    def verify(self, job_id: str, token: str) -> bool: ...


class RelayNotifyTokens:
    """Stateless per-job tokens derived with HMAC-SHA256 from installation key(s); the first key issues."""

    def __init__(self, keys: str | bytes | Sequence[str | bytes]) -> None:
        items: list[str | bytes] = [keys] if isinstance(keys, str | bytes) else list(keys)
        if not items:
            raise WebhookConfigError(
                "No notify token key configured; generate one with RelayNotifyTokens.generate_key()."
            )
        self._keys = [k.encode("utf-8") if isinstance(k, str) else bytes(k) for k in items]
        for i, key in enumerate(self._keys):
            if len(key) < _MIN_KEY_BYTES:
                raise WebhookConfigError(
                    f"Notify token key #{i + 1} is {len(key)} bytes; at least {_MIN_KEY_BYTES} are required "
                    "(the value is not shown). Generate one with RelayNotifyTokens.generate_key()."
                )

    @staticmethod
    def generate_key() -> str:
        return _secrets.token_urlsafe(32)

    def token_for(self, job_id: str) -> str:
        _check_job_id(job_id)
        return self._token(self._keys[0], job_id)

    def verify(self, job_id: str, token: str) -> bool:
        if not JOB_ID_RE.match(job_id) or not token.startswith(TOKEN_PREFIX):
            return False
        given = token.encode("ascii", "replace")
        ok = False
        for key in self._keys:  # every key is tried, so timing does not tell which one matched
            ok |= hmac.compare_digest(self._token(key, job_id).encode("ascii"), given)
        return ok

    @staticmethod
    def _token(key: bytes, job_id: str) -> str:
        digest = hmac.new(key, _DOMAIN + job_id.encode("utf-8"), hashlib.sha256).digest()
        return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def relay_notify_url(base_url: str, job_id: str, tokens: NotifyTokens, *, path: str = "relay") -> str:
    """The ``notify_hook`` value for one job: ``{base_url}/{path}/{job_id}/{token}``.

    ``base_url`` is where the receiver's routes are reachable from the relay, e.g.
    ``https://app.example.com/hooks`` when they are mounted with the default ``/hooks`` prefix.
    """
    _check_job_id(job_id)
    return f"{base_url.rstrip('/')}/{path.strip('/')}/{quote(job_id, safe='')}/{tokens.token_for(job_id)}"


def _check_job_id(job_id: str) -> None:
    if not JOB_ID_RE.match(job_id):
        raise ValueError(
            f"Job id {job_id[:60]!r} cannot go into a notify_hook URL: use 1-128 characters from "
            "A-Z a-z 0-9 . _ : ~ - (vidgate's own ids look like 'job_<hex>')."
        )


class _TaskRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    task_id: str | None = None
    id: str | None = None
    status: str | None = None


class _Wrapped(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: _TaskRef | None = None


_M = TypeVar("_M", bound=BaseModel)


def _lenient(model: type[_M], payload: dict[str, Any]) -> _M | None:
    try:
        return model.model_validate(payload)
    except ValidationError:
        return None


MAX_CHALLENGE_CHARS = 512


def url_challenge(body: bytes) -> str | None:
    """The ``challenge`` of a URL-ownership check (MiniMax POSTs ``{"challenge": "..."}`` to a create's
    ``callback_url`` and needs it echoed within 3 s, more-providers.md §2), or None for any other body."""
    try:
        payload: Any = parse_json_body(body) if body.strip() else None
    except Exception:
        return None
    if not isinstance(payload, dict) or set(payload) != {"challenge"}:
        return None
    value = payload["challenge"]
    return value if isinstance(value, str) and 0 < len(value) <= MAX_CHALLENGE_CHARS else None


def relay_hint(body: bytes, *, job_id: str, provider: str, received_at: float) -> WebhookHint:
    """Hint from a notify_hook delivery whose URL token was already verified. Never raises on the body."""
    try:
        payload: Any = parse_json_body(body) if body.strip() else None
    except Exception:
        payload = None
    task_id: str | None = None
    status: str | None = None
    if isinstance(payload, dict):
        top = _lenient(_TaskRef, payload) or _TaskRef()
        wrapped = _lenient(_Wrapped, payload)
        inner = wrapped.data if wrapped else None
        task_id = top.task_id or (inner.task_id if inner else None) or top.id
        status = top.status or (inner.status if inner else None)
    return WebhookHint(
        provider=provider,
        event_type=status or "notify",
        provider_task_id=task_id or None,
        job_id=job_id,
        received_at=received_at,
        raw=payload,
    )
