"""OpenRouter's video API: ``POST /api/v1/videos``, ``GET /api/v1/videos/{id}``, ``GET …/content?index=N``.

One dialect for every model OpenRouter routes (Veo, Kling, Seedance, Wan, Hailuo...): the request is the same
``VideoGenerationRequest`` and only the allowed values differ, which is catalog data (packaged, or discovered
from ``GET /api/v1/videos/models`` by ``vidgate catalog sync openrouter``). Source:
shared/reference/providers-2026.md §1 (OpenAPI spec of OpenRouterTeam/typescript-sdk 90c4937, docs repo c26125a).

- ``frame_images[]`` carries first/last frames (``frame_type`` from the image role); ``input_references[]``
  the reference images. If both are sent OpenRouter treats the request as image-to-video.
- The create answers ``202`` with ``polling_url``, relative in the spec and absolute in the guide: it is
  resolved against the base URL and used only when it points at the same origin (the key goes nowhere else).
- ``unsigned_urls[i]`` is OpenRouter's authenticated content proxy: downloads send the key there (and only
  there); signed storage ``urls[i]`` (newer docs) are kept as a fallback and fetched without it.
- ``usage.cost`` (USD, may be null) is recorded on the job as ``cost_usd``.
- There is no cancel endpoint in the spec.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import (
    AuthenticationError,
    ContentPolicyError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    QuotaExceededError,
    RateLimitError,
)
from vidgate.media import encode_for_json
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, json_body
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus

PREFIX = "api/v1"
VIDEOS_PATH = "videos"

# Every documented status (spec: VideoGenerationResponse.status). Anything else: None = keep polling.
STATUS_MAP: dict[str, JobStatus | None] = {
    "pending": JobStatus.queued,
    "in_progress": JobStatus.running,
    "completed": JobStatus.succeeded,
    "failed": JobStatus.failed,
    "cancelled": JobStatus.cancelled,
    "expired": JobStatus.expired,
}
_FRAME_TYPE = {ImageRole.first_frame: "first_frame", ImageRole.last_frame: "last_frame"}


class OpenRouterOptions(BaseModel):
    """Fields of OpenRouter's ``VideoGenerationRequest`` beyond prompt, duration, size and images."""

    model_config = ConfigDict(extra="forbid")

    generate_audio: bool | None = Field(
        None, description="Generate audio (default: the model's generate_audio capability, else false)"
    )
    seed: int | None = Field(None, description="Seed for models that take one (determinism is not guaranteed)")
    provider_options: dict[str, dict[str, Any]] | None = Field(
        None,
        description="Passthrough per upstream provider slug, sent as provider.options, e.g. "
        '{"google-vertex": {"parameters": {"negativePrompt": "blurry"}}}; allowed keys per model are its '
        "allowed_passthrough_parameters; OpenRouter silently drops unknown ones",
    )
    callback_url: str | None = Field(
        None, description="HTTPS URL OpenRouter POSTs video.generation.* webhooks to (overrides the workspace default)"
    )

    @field_validator("callback_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"callback_url must be an https:// URL, got {value!r}")
        return value


class _Usage(BaseModel):
    model_config = ConfigDict(extra="allow")
    cost: float | None = None
    is_byok: bool | None = None


class VideoGeneration(BaseModel):
    """``VideoGenerationResponse``: ``{id, polling_url, status}`` plus, when known, ``generation_id``,
    ``unsigned_urls``, ``urls``, ``usage`` and ``error``."""

    model_config = ConfigDict(extra="allow")

    id: str
    polling_url: str | None = None
    status: str
    generation_id: str | None = None
    unsigned_urls: list[str] | None = None
    urls: list[str] | None = None
    usage: _Usage | None = None
    error: str | dict[str, Any] | None = None


def api_path(conn: Connection, path: str) -> str:
    """``api/v1/<path>``, unless the configured base URL already ends with ``/api/v1``."""
    if urlsplit(conn.base_url).path.rstrip("/").endswith("/" + PREFIX):
        return path
    return f"{PREFIX}/{path}"


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def resolve_polling_url(base_url: str, polling_url: str) -> str:
    """``polling_url`` as an absolute URL: relative values (``/api/v1/videos/x``) resolve against the base."""
    return urljoin(base_url.rstrip("/") + "/", polling_url)


def content_url(conn: Connection, task_id: str, index: int = 0) -> str:
    return conn.url(api_path(conn, f"{VIDEOS_PATH}/{quote(task_id, safe='')}/content?index={index}"))


_EXCEPTION: dict[int, type[ProviderHTTPError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    402: QuotaExceededError,
    429: RateLimitError,
}
_ERROR_CODE: dict[int, ErrorCode] = {
    400: ErrorCode.invalid_request,
    401: ErrorCode.auth,
    403: ErrorCode.auth,
    402: ErrorCode.quota_exceeded,
    404: ErrorCode.invalid_request,
    429: ErrorCode.rate_limited,
}


def openrouter_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """The typed exception for ``{"error": {"code": 400, "message", "metadata"}}`` and its status code.

    401 auth, 402 ``Insufficient credits`` (quota), 429 rate limit, 5xx server (502: ``Provider returned
    error`` from the content endpoint); a 400 whose message names moderation is a content-policy refusal.
    """
    base = http_error(provider, response)
    status = response.status_code
    cls: type[ProviderHTTPError] = _EXCEPTION.get(status, type(base))
    error_code = _ERROR_CODE.get(status, ErrorCode.provider_error if status >= 500 else ErrorCode.invalid_request)
    if status == 400 and classify_failure(base.message).code is ErrorCode.content_policy_output:
        cls, error_code = ContentPolicyError, ErrorCode.content_policy_input
    if status >= 500:
        cls = ProviderServerError
    return cls(
        provider,
        status,
        base.message,
        code=base.code,
        request_id=base.request_id,
        retry_after=base.retry_after,
        body=base.body,
        error_code=error_code.value,
    )


class OpenRouter(Dialect):
    name = "openrouter"
    Options = OpenRouterOptions
    signed_callback = "openrouter"  # callback_url, HMAC-signed video.generation.* envelopes

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"model": spec.model}
        if req.prompt.strip():
            body["prompt"] = req.prompt
        frames: list[dict[str, Any]] = []
        references: list[dict[str, Any]] = []
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            url = encode_for_json(img, spec.images)
            if role in _FRAME_TYPE:
                frames.append({"type": "image_url", "image_url": {"url": url}, "frame_type": _FRAME_TYPE[role]})
            else:
                references.append({"type": "image_url", "image_url": {"url": url}})
        frames.sort(key=lambda f: f["frame_type"] != "first_frame")
        if frames:
            body["frame_images"] = frames
        if references:
            body["input_references"] = references
        if req.duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(req.duration)
        if req.resolution is not None and spec.resolution.field:
            body[spec.resolution.field] = req.resolution
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        if req.size is not None and spec.size.field:
            body[spec.size.field] = req.size
        options = OpenRouterOptions.model_validate(req.options)
        if options.generate_audio is not None:
            body["generate_audio"] = options.generate_audio
        if options.seed is not None:
            body["seed"] = options.seed
        callback = options.callback_url or req.webhook_url
        if callback is not None:
            body["callback_url"] = callback
        if options.provider_options:
            body["provider"] = {"options": options.provider_options}
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        request = self.json_request("POST", conn, api_path(conn, VIDEOS_PATH), self.create_body(prepared))
        response = yield request
        return self.parse_create(conn, response)

    def parse_create(self, conn: Connection, response: httpx.Response) -> JobUpdate:
        provider = conn.provider.name
        if not response.is_success:
            raise openrouter_http_error(provider, response)
        generation = _generation(provider, json_body(provider, response))
        update = self._update(conn, generation, response)
        if update.status is None or not update.status.terminal:
            update.status = JobStatus.queued if generation.status != "in_progress" else JobStatus.running
        return update

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, api_path(conn, f"{VIDEOS_PATH}/{quote(task_id, safe='')}"))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        provider = conn.provider.name
        if not response.is_success:
            raise openrouter_http_error(provider, response)
        return self._update(conn, _generation(provider, json_body(provider, response)), response)

    def _update(self, conn: Connection, gen: VideoGeneration, response: httpx.Response) -> JobUpdate:
        raw = response.json()
        status = STATUS_MAP.get(gen.status.strip().lower())
        update = JobUpdate(status=status, raw_status=gen.status, provider_task_id=gen.id, raw=raw)
        if gen.usage is not None and gen.usage.cost is not None:
            update.cost_usd = gen.usage.cost
        if status is JobStatus.succeeded:
            update.progress = 100
            update.assets = self.assets(conn, gen)
            if not update.assets:
                update.status = JobStatus.failed
                update.error = JobError(
                    code=ErrorCode.provider_error,
                    message="OpenRouter reported completed but gave no video URL",
                    retryable=True,
                    raw=raw,
                )
        elif status is JobStatus.failed:
            update.error = failure(gen, raw)
        elif status is JobStatus.expired:
            update.error = JobError(
                code=ErrorCode.timeout, message=_error_text(gen) or "the job expired", retryable=True, raw=raw
            )
        return update

    def assets(self, conn: Connection, gen: VideoGeneration) -> list[Asset]:
        """One video per output: the content proxy (``unsigned_urls``), else a signed ``urls`` entry, else
        the content endpoint built from the id."""
        proxies = [resolve_polling_url(conn.base_url, u) for u in gen.unsigned_urls or []]
        signed = gen.urls or []
        count = max(len(proxies), len(signed), 1)
        out = []
        for i in range(count):
            url = proxies[i] if i < len(proxies) else signed[i] if i < len(signed) else content_url(conn, gen.id, i)
            out.append(Asset(kind="video", url=url, mime_type="video/mp4"))
        return out

    def polling_url(self, conn: Connection, gen: VideoGeneration) -> str:
        """Where to poll: the answer's ``polling_url`` resolved against the base URL when it stays on the
        API's origin, else ``GET {base}/api/v1/videos/{id}``."""
        if gen.polling_url:
            url = resolve_polling_url(conn.base_url, gen.polling_url)
            if same_origin(url, conn.base_url):
                return url
        return conn.url(api_path(conn, f"{VIDEOS_PATH}/{quote(gen.id, safe='')}"))

    def download_request(self, asset: Asset, conn: Connection) -> httpx.Request:
        """The content proxy needs ``Authorization: Bearer``; the key goes only to the API's own origin."""
        if asset.url is None:
            raise ValueError("asset has no URL")
        if same_origin(asset.url, conn.base_url):
            return httpx.Request("GET", asset.url, headers=self.auth_headers(conn))
        return httpx.Request("GET", asset.url)


def _generation(provider: str, body: Any) -> VideoGeneration:
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and "id" not in body:
        code = body["error"].get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else 400
        raise openrouter_http_error(provider, httpx.Response(status, json=body))
    try:
        return VideoGeneration.model_validate(body)
    except ValidationError as exc:
        raise ProtocolError(provider, f"unexpected video generation shape: {exc.errors()[0]['msg']}", body) from None


def _error_text(gen: VideoGeneration) -> str | None:
    if isinstance(gen.error, dict):
        return str(gen.error.get("message") or gen.error)
    return gen.error


def failure(gen: VideoGeneration, raw: Any) -> JobError:
    """Why a job ended ``failed``: ``error`` is free text (``"Content policy violation"``...)."""
    text = _error_text(gen)
    if text:
        return classify_failure(text, raw=raw)
    return JobError(
        code=ErrorCode.provider_error,
        message="OpenRouter reported failed without an error message",
        retryable=True,
        raw=raw,
    )
