"""The sans-IO provider contract.

A dialect turns a checked request into ``httpx.Request`` objects and ``httpx.Response`` objects into
``JobUpdate``s. It never performs I/O: every operation is a *flow*, a generator that yields requests
and receives responses, so multi-step protocols (upload, then create) and one-shot ones share one
shape, and ``Client`` / ``AsyncClient`` drive the same code.

Long-lived answers (a synchronous generation, server-sent events) use more of the effects of
``vidgate.net.steps``; a flow that uses any of them is a ``StepFlow`` (every ``Flow`` is one that never does):
``Stream(request)`` (the response with its body unread), ``READ`` (the next chunk of that body) and
``report(update)``: an intermediate ``JobUpdate`` (progress, status, task id) that the job operation running
the flow applies to the job. The flow's *return value* stays the one final update, so a dialect whose submit
answers with the finished video simply returns a terminal ``JobUpdate`` and leaves nothing to poll.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.characters import CharacterRequest
from vidgate.errors import (
    AuthenticationError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    RateLimitError,
)
from vidgate.media import LoadedImage
from vidgate.net.steps import Report, Steps
from vidgate.problems import Problem
from vidgate.types import Asset, Character, ImageRole, JobError, JobStatus, VideoRequest

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)
Flow = Generator[httpx.Request, httpx.Response, T]
StepFlow = Steps[T]


def report(update: JobUpdate) -> StepFlow[None]:
    """Hand an intermediate update to the operation running the flow (it applies it to the job)."""
    yield Report(update)


@dataclass(frozen=True)
class Connection:
    """Where and as whom to talk to a provider. ``api_key`` is a secret: never log or persist it."""

    provider: ProviderSpec
    base_url: str
    api_key: str = field(repr=False)
    # ProviderSpec.settings resolved (project, region, a secret key): kept out of repr like the key
    settings: Mapping[str, str] = field(default_factory=dict, repr=False)
    credentials_ref: str = ""  # where the key came from (an env var name...), recorded on jobs; never the key

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class Prepared:
    """A request that passed ``catalog.check``: the images are loaded and their roles assigned."""

    request: VideoRequest
    spec: ModelSpec
    images: list[LoadedImage]
    roles: list[ImageRole]
    idempotency_key: str


@dataclass
class JobUpdate:
    """What one provider response says about a job. ``status=None`` means "nothing definite: keep polling"."""

    status: JobStatus | None = None
    raw_status: str | None = None
    progress: int | None = None
    provider_task_id: str | None = None
    assets: list[Asset] = field(default_factory=list)
    error: JobError | None = None
    poll_after: float | None = None  # the provider's own hint, seconds
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cost_usd: float | None = None  # what the provider says the job cost (USD), when it reports it
    raw: Any = None


@dataclass
class VideoPage:
    """One page of a provider's list of videos (cursor pagination)."""

    items: list[JobUpdate]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
    raw: Any = None


class ChunkTransform(Protocol):
    """Turns a download's body, chunk by chunk, into the video's bytes with bounded memory."""

    def feed(self, chunk: bytes) -> bytes: ...

    def close(self) -> bytes: ...


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dialect:
    """One wire protocol. Subclasses implement ``submit`` and ``status``; the rest has sensible defaults."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate] | StepFlow[JobUpdate]:
        """Create the job. A synchronous dialect returns a terminal update here (and may ``report`` progress)."""
        raise NotImplementedError

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        raise NotImplementedError

    operations: ClassVar[frozenset[str]] = frozenset()  # extra flows it speaks: remix, list, delete, characters
    # True when each create may carry its own callback URL that the provider POSTs to, unsigned (the relay's
    # notify_hook): vidgate then sends an unguessable per-job URL (see vidgate.engine.callbacks).
    per_job_callback: ClassVar[bool] = False
    # The receiver source (``/hooks/<name>``) of a provider whose create may carry a callback URL that it POSTs to
    # SIGNED, naming the task (fal, Replicate, OpenRouter): one fixed URL serves every job; the dialect puts
    # ``VideoRequest.webhook_url`` there when the caller's options name no URL of their own.
    signed_callback: ClassVar[str] = ""
    # True when the provider deduplicates creates by the idempotency key we send (e.g. Zhipu's request_id):
    # a create whose outcome is unknown may then be sent again safely.
    dedups_creates: ClassVar[bool] = False

    def is_duplicate_create(self, exc: Exception) -> bool:
        """True when ``exc`` says the provider already has a create with our idempotency key."""
        return False

    def finds_by_key(self, provider: ProviderSpec) -> bool:
        """True when ``provider`` can look a create up by the idempotency key we sent (Kling's
        external_task_id): a create whose outcome is unknown is then looked up and sent again only if absent."""
        return False

    def find_by_key(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate | None]:
        """The job the provider holds under ``prepared.idempotency_key``, or None (see ``finds_by_key``)."""
        raise NotImplementedError

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        """Checks only this wire protocol needs, run with ``catalog.check`` before any I/O. Default: none."""
        return []

    def remix(
        self, task_id: str, prompt: str, source: VideoRequest | None, spec: ModelSpec, conn: Connection
    ) -> Flow[JobUpdate]:
        """A new job from a finished one and a new prompt (``"remix" in operations``)."""
        raise NotImplementedError

    def list_videos(
        self, spec: ModelSpec, conn: Connection, *, after: str | None, limit: int | None, order: str | None
    ) -> Flow[VideoPage]:
        """One page of the account's videos (``"list" in operations``)."""
        raise NotImplementedError

    def delete(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[bool]:
        """Delete a finished video and its assets at the provider (``"delete" in operations``)."""
        raise NotImplementedError

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        """Ask the provider to stop a running job (``"cancel" in operations``); returns what it then says."""
        raise NotImplementedError

    def download_transform(self, asset: Asset) -> ChunkTransform | None:
        """A decoder between the download response and the file, when the video is not the body itself
        (e.g. base64 inside JSON). Default: none, the body is the video."""
        return None

    def character_problems(self, request: CharacterRequest) -> list[Problem]:
        """Checks of a character request this protocol needs, run before any I/O. Default: none."""
        return []

    def create_character(self, request: CharacterRequest, conn: Connection) -> Flow[Character]:
        """Create a reusable character (``"characters" in operations``)."""
        raise NotImplementedError

    def wire_models(self, spec: ModelSpec) -> list[str]:
        """Every model id this catalog entry may put on the wire (compared with ``/v1/models``)."""
        return [spec.model]

    def download_request(self, asset: Asset, conn: Connection) -> httpx.Request:
        """How to fetch a result: a plain GET by default (CDN links need no auth)."""
        if asset.url is None:
            raise ValueError("asset has no URL")
        return httpx.Request("GET", asset.url)

    def auth_headers(self, conn: Connection) -> dict[str, str]:
        if conn.provider.auth == "x-goog-api-key":
            return {"x-goog-api-key": conn.api_key}
        return {"Authorization": f"Bearer {conn.api_key}"}

    def json_request(self, method: str, conn: Connection, path: str, body: Any = None) -> httpx.Request:
        headers = {**self.auth_headers(conn), "Accept": "application/json"}
        if body is None:
            return httpx.Request(method, conn.url(path), headers=headers)
        headers["Content-Type"] = "application/json"
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return httpx.Request(method, conn.url(path), headers=headers, content=content)


# ---------------------------------------------------------------- shared response helpers


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def json_body(provider: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProtocolError(provider, f"expected JSON, got {response.text[:200]!r}", response.text) from None


def read_shape(provider: str, model: type[B], body: Any, what: str) -> B:
    """``body`` read as the dialect's model of a provider object (a task, an operation...); a body that is not
    one is a ``ProtocolError`` naming ``what`` and the first thing wrong with it."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ProtocolError(provider, f"unexpected {what} shape: {exc.errors()[0]['msg']}", body) from None


def error_details(body: Any) -> tuple[str, str | None]:
    """Message and code from any of the error shapes providers use.

    OpenAI / new-api: {"error": {"message", "type", "code"}}; Google: {"error": {"code": int, "message",
    "status"}}; Zhipu BigModel: {"error": {"code": "1301", "message"}}; Z.ai: {"code": 1301, "message"};
    relays also send {"message": ...} or {"msg": ...} or plain text.
    """
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("msg") or json.dumps(err, ensure_ascii=False))
            code = err.get("code") if err.get("code") is not None else err.get("status") or err.get("type")
            return message, None if code is None else str(code)
        if isinstance(err, str):
            return err, None if body.get("code") is None else str(body.get("code"))
        text = body.get("message") or body.get("msg") or body.get("detail")
        if text is not None:
            code = body.get("code")
            return str(text), None if code is None else str(code)
        return json.dumps(body, ensure_ascii=False)[:500], None
    return str(body)[:500], None


def raise_for_status(provider: str, response: httpx.Response) -> None:
    """Turn an HTTP error into the typed exception carrying status, code, request id, retry-after and body."""
    if response.is_success:
        return
    raise http_error(provider, response)


def http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text
    message, code = error_details(body)
    request_id = (
        response.headers.get("x-request-id")
        or response.headers.get("request-id")
        or response.headers.get("x-goog-request-id")
    )
    kwargs: dict[str, Any] = {
        "code": code,
        "request_id": request_id,
        "retry_after": parse_retry_after(response.headers),
        "body": body,
    }
    status = response.status_code
    if status in (401, 403):
        return AuthenticationError(provider, status, message, **kwargs)
    if status == 429:
        return RateLimitError(provider, status, message, **kwargs)
    if status >= 500:
        return ProviderServerError(provider, status, message, **kwargs)
    return ProviderHTTPError(provider, status, message, **kwargs)


def unix_time(value: Any) -> datetime | None:
    """A unix timestamp in seconds *or milliseconds* (relays mix them) as an aware datetime."""
    if value in (None, "", 0):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if v > 1e11:  # milliseconds: 1e11 s is the year 5138
        v /= 1000
    return datetime.fromtimestamp(v, UTC)
