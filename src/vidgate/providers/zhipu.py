"""Zhipu's video API: ``POST {prefix}/videos/generations`` and ``GET {prefix}/async-result/{id}``.

One dialect for BigModel (open.bigmodel.cn), Z.ai (api.z.ai) and the relay's pass-through: they differ
only in host and path prefix (``ProviderSpec.path_prefix``: ``api/paas/v4`` or ``cogvideox/v4``).
CogVideoX and the Vidu models share the endpoint; how ``image_url`` is shaped (one string or an array)
follows the model's modes in the catalog. Source: shared/reference/core-providers.md §3,
relay-platforms.md §6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import (
    AuthenticationError,
    ContentPolicyError,
    ProtocolError,
    ProviderHTTPError,
    QuotaExceededError,
    RateLimitError,
)
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import (
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    error_details,
    http_error,
    json_body,
)
from vidgate.providers._failure_text import classify_failure
from vidgate.providers._relay_status import relay_status
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

CREATE_PATH = "videos/generations"
RESULT_PATH = "async-result"
# Vidu first+last frame: the two images' aspect ratios must be within this factor of each other (BigModel, Z.ai).
PAIR_RATIO = (0.8, 1.25)

# Every documented status, explicitly. Anything else: None = keep polling until the deadline.
STATUS_MAP: dict[str, JobStatus | None] = {
    "SUBMITTED": JobStatus.queued,  # seen only in the SDK's example loop (z-ai-sdk-python examples)
    "PROCESSING": JobStatus.running,
    "SUCCESS": JobStatus.succeeded,
    "FAIL": JobStatus.failed,
}


@dataclass(frozen=True)
class BusinessCode:
    """What one of Zhipu's business codes means (https://docs.bigmodel.cn/cn/api/api-code)."""

    error_code: ErrorCode
    retryable: bool
    meaning: str
    advice: str


def business_code(code: str | int | None) -> BusinessCode | None:
    """Zhipu's business code (``"1301"`` or ``1301``) -> vidgate's error code, or None when unknown."""
    try:
        n = int(str(code).strip())
    except (TypeError, ValueError):
        return None
    if n == 1301:
        return BusinessCode(
            ErrorCode.content_policy_input, False, "unsafe or sensitive content", "change the prompt or images"
        )
    if n == 1261:
        return BusinessCode(
            ErrorCode.invalid_request, False, "prompt too long", "shorten the prompt to at most 512 characters"
        )
    if n in (1302, 1303, 1305):
        return BusinessCode(
            ErrorCode.rate_limited, True, "rate or concurrency limit", "wait and retry, or run fewer jobs at once"
        )
    if n == 1304:
        return BusinessCode(ErrorCode.quota_exceeded, False, "daily call quota reached", "retry tomorrow")
    if n == 1113:
        return BusinessCode(ErrorCode.quota_exceeded, False, "account in arrears", "top up the account balance")
    if 1000 <= n <= 1004:
        return BusinessCode(
            ErrorCode.auth, False, "authentication failed", "check the API key (VIDGATE_ZHIPU_API_KEY / _ZAI_)"
        )
    if 1110 <= n <= 1121:
        return BusinessCode(ErrorCode.auth, False, "account problem", "check the account in Zhipu's console")
    if 1210 <= n <= 1215:
        return BusinessCode(ErrorCode.invalid_request, False, "invalid request", "fix the named parameter")
    if n == 1231:
        return BusinessCode(
            ErrorCode.invalid_request, False, "duplicate request_id", "this request was already submitted"
        )
    return None


_EXCEPTION: dict[ErrorCode, type[ProviderHTTPError]] = {
    ErrorCode.content_policy_input: ContentPolicyError,
    ErrorCode.rate_limited: RateLimitError,
    ErrorCode.quota_exceeded: QuotaExceededError,
    ErrorCode.auth: AuthenticationError,
}


def zhipu_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """The typed exception for an HTTP error, chosen by Zhipu's business code when there is one.

    Both documented bodies are read: BigModel ``{"error": {"code": "1301", "message"}}`` and Z.ai
    ``{"code": 1301, "message"}``.
    """
    base = http_error(provider, response)
    mapped = business_code(base.code)
    if mapped is None:
        return base
    cls = _EXCEPTION.get(mapped.error_code)
    if cls is None:
        cls = type(base) if mapped.error_code is not ErrorCode.invalid_request else ProviderHTTPError
    return cls(
        provider,
        base.status_code,
        f"{base.message} ({mapped.meaning}; {mapped.advice})",
        code=base.code,
        request_id=base.request_id,
        retry_after=base.retry_after,
        body=base.body,
        error_code=mapped.error_code.value,
    )


class ZhipuOptions(BaseModel):
    """Extra fields of Zhipu's video API (which ones a model takes is in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    quality: Literal["speed", "quality"] | None = Field(
        None, description="CogVideoX: speed (default) or quality; first+last frames need speed"
    )
    with_audio: bool | None = Field(None, description="CogVideoX: AI sound effects; Vidu: background music")
    fps: Literal[30, 60] | None = Field(None, description="CogVideoX frame rate: 30 (default) or 60")
    watermark_enabled: bool | None = Field(
        None, description="Default true; false only for accounts that signed Zhipu's disclaimer"
    )
    movement_amplitude: Literal["auto", "small", "medium", "large"] | None = Field(
        None, description="Vidu: how much things move (auto by default)"
    )
    style: Literal["general", "anime"] | None = Field(None, description="viduq1-text: general (default) or anime")
    user_id: str | None = Field(None, min_length=6, max_length=128, description="Your end user's id (6-128 chars)")


class _VideoResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str | None = None
    cover_image_url: str | None = None


class ZhipuTask(BaseModel):
    """Create and ``async-result`` answers: ``{id, model, request_id, task_status, video_result[]}``."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    model: str | None = None
    request_id: str | None = None
    task_status: str | None = None
    video_result: list[_VideoResult] | None = None


def api_path(conn: Connection, path: str) -> str:
    """``path`` under the provider's prefix, unless the configured base URL already ends with the prefix."""
    prefix = conn.provider.path_prefix.strip("/")
    base_path = urlsplit(conn.base_url).path.rstrip("/")
    if not prefix or base_path.endswith("/" + prefix):
        return path
    return f"{prefix}/{path}"


def _ordered(prepared: Prepared) -> list[Any]:
    """Images with the first frame first and the last frame last (reference images keep their order)."""
    rank = {ImageRole.first_frame: 0, ImageRole.reference: 1, ImageRole.last_frame: 2}
    pairs = sorted(zip(prepared.roles, prepared.images, strict=True), key=lambda p: rank[p[0]])
    return [encode_for_json(img, prepared.spec.images) for _, img in pairs]


class Zhipu(Dialect):
    name = "zhipu"
    Options = ZhipuOptions
    # request_id carries vidgate's idempotency key and a repeated request_id is refused (1231), so a create
    # whose outcome is unknown can be sent again: accepted = the first never landed; 1231 = it did.
    dedups_creates = True

    def is_duplicate_create(self, exc: Exception) -> bool:
        return isinstance(exc, ProviderHTTPError) and exc.code == "1231"

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"model": spec.model}
        if req.prompt.strip():
            body["prompt"] = req.prompt
        if prepared.images:
            images = _ordered(prepared)
            # Models that only take frame pairs or references always get an array; the others take one
            # string, or [first, last] for two images (cogvideox-3).
            always_list = "reference" in spec.modes or ("first_last" in spec.modes and "image" not in spec.modes)
            body[spec.images.field or "image_url"] = images if always_list or len(images) > 1 else images[0]
        if req.duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(req.duration)
        if req.size is not None and spec.size.field:
            body[spec.size.field] = req.size
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        body.update(ZhipuOptions.model_validate(req.options).model_dump(exclude_none=True))
        body["request_id"] = prepared.idempotency_key
        return body

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        """Vidu's first/last frames must have similar shapes; other checks are catalog data."""
        if spec.family != "vidu" or "first_last" not in spec.modes or len(images) != 2:
            return []
        a, b = images
        if not (a.width and a.height and b.width and b.height):
            return []  # URLs: the provider checks them
        ratio = (a.width / a.height) / (b.width / b.height)
        if PAIR_RATIO[0] <= ratio <= PAIR_RATIO[1]:
            return []
        return [
            Problem(
                "images",
                f"{a.width}x{a.height} and {b.width}x{b.height}",
                f"the first and last frames' aspect ratios differ by a factor of {ratio:.2f}",
                allowed=f"a factor from {PAIR_RATIO[0]} to {PAIR_RATIO[1]}",
                suggestion="crop both frames to the same aspect ratio",
            )
        ]

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        request = self.json_request("POST", conn, api_path(conn, CREATE_PATH), self.create_body(prepared))
        response = yield request
        return self.parse_create(conn.provider.name, response)

    def parse_create(self, provider: str, response: httpx.Response) -> JobUpdate:
        if not response.is_success:
            raise zhipu_http_error(provider, response)
        body = json_body(provider, response)
        task = _task(provider, body)
        if not task.id:
            _raise_error_body(provider, response, body)
            raise ProtocolError(provider, f"create answered without an id: {str(body)[:200]}", body)
        return JobUpdate(status=JobStatus.queued, raw_status=task.task_status, provider_task_id=task.id, raw=body)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, api_path(conn, f"{RESULT_PATH}/{quote(task_id, safe='')}"))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return self.parse_status(conn.provider.name, response)

    def parse_status(self, provider: str, response: httpx.Response) -> JobUpdate:
        if not response.is_success:
            raise zhipu_http_error(provider, response)
        body = json_body(provider, response)
        task = _task(provider, body)
        raw_status = (task.task_status or "").strip()
        if not raw_status:
            _raise_error_body(provider, response, body)
        status = STATUS_MAP.get(raw_status.upper())
        if status is None:  # the relay's pass-through may answer in its own words (COMPLETED, failed, ...)
            status = relay_status(raw_status, has_video=any(r.url for r in task.video_result or []))
        update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=task.id, raw=body)
        if status is JobStatus.succeeded:
            results = task.video_result or []
            videos = [Asset(kind="video", url=r.url, mime_type="video/mp4") for r in results if r.url]
            covers = [Asset(kind="cover", url=r.cover_image_url) for r in results if r.cover_image_url]
            if not videos:
                update.status = JobStatus.failed
                update.error = JobError(
                    code=ErrorCode.provider_error,
                    message=f"Zhipu reported {raw_status} but video_result[] has no url",
                    retryable=True,
                    raw=body,
                )
            update.assets = videos + covers
            update.progress = 100
        elif status is JobStatus.failed:
            update.error = failure(body)
        return update


def _task(provider: str, body: Any) -> ZhipuTask:
    try:
        return ZhipuTask.model_validate(body)
    except ValidationError as exc:
        raise ProtocolError(provider, f"unexpected task shape: {exc.errors()[0]['msg']}", body) from None


def _raise_error_body(provider: str, response: httpx.Response, body: Any) -> None:
    """A 2xx answer that carries one of the error bodies instead of a task."""
    if isinstance(body, dict) and (isinstance(body.get("error"), dict) or "code" in body):
        raise zhipu_http_error(provider, httpx.Response(400, json=body, headers=response.headers))


def failure(body: Any) -> JobError:
    """Why a task ended FAIL. Zhipu documents no reason; use a business code or message when one is there."""
    message: str | None = None
    code: str | None = None
    if isinstance(body, dict) and (isinstance(body.get("error"), dict) or body.get("code") is not None):
        message, code = error_details(body)
    mapped = business_code(code)
    if mapped is not None:
        # 1301 on a task that was accepted: the input passed, so it was the generated video that was refused.
        policy = mapped.error_code is ErrorCode.content_policy_input
        return JobError(
            code=ErrorCode.content_policy_output if policy else mapped.error_code,
            message=f"{message} ({mapped.meaning}, business code {code})",
            retryable=mapped.retryable,
            raw=body,
        )
    if message:
        return classify_failure(message, raw=body)
    return JobError(
        code=ErrorCode.provider_error,
        message="Zhipu reported task_status FAIL without a reason (the API documents none); content moderation "
        "of the output and unreachable image URLs are common causes",
        retryable=True,
        raw=body,
    )
