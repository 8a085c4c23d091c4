"""The sans-IO provider contract.

A dialect turns a checked request into ``httpx.Request`` objects and ``httpx.Response`` objects into
``JobUpdate``s. It never performs I/O: every operation is a *flow*, a generator that yields requests
and receives responses, so multi-step protocols (upload, then create) and one-shot ones share one
shape, and ``Client`` / ``AsyncClient`` drive the same code.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.errors import (
    AuthenticationError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    RateLimitError,
)
from vidgate.media import LoadedImage
from vidgate.types import Asset, ImageRole, JobError, JobStatus, VideoRequest

T = TypeVar("T")
Flow = Generator[httpx.Request, httpx.Response, T]


@dataclass(frozen=True)
class Connection:
    """Where and as whom to talk to a provider. ``api_key`` is a secret: never log or persist it."""

    provider: ProviderSpec
    base_url: str
    api_key: str = field(repr=False)

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
    raw: Any = None


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dialect:
    """One wire protocol. Subclasses implement ``submit`` and ``status``; the rest has sensible defaults."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        raise NotImplementedError

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        raise NotImplementedError

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


def run_sync(client: httpx.Client, flow: Flow[T]) -> T:
    """Drive a flow with a blocking client."""
    from vidgate.errors import TransportError

    try:
        request = next(flow)
        while True:
            try:
                response = client.send(request)
                response.read()
            except httpx.TransportError as exc:
                raise TransportError(_host(request), f"{exc.__class__.__name__}: {exc}") from exc
            request = flow.send(response)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def run_async(client: httpx.AsyncClient, flow: Flow[T]) -> T:
    """Drive a flow with an async client."""
    from vidgate.errors import TransportError

    try:
        request = next(flow)
        while True:
            try:
                response = await client.send(request)
                await response.aread()
            except httpx.TransportError as exc:
                raise TransportError(_host(request), f"{exc.__class__.__name__}: {exc}") from exc
            request = flow.send(response)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _host(request: httpx.Request) -> str:
    return request.url.host or "provider"


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
