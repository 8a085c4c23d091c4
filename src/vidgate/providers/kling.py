"""Kling's official video API (``api-singapore.klingai.com``), and the relays that forward it unchanged under
``/kling/v1`` (``ProviderSpec.path_prefix = "kling"``, Bearer relay key).

Facts: shared/reference/providers-2026.md §4 (newer) and more-providers.md §1 (older; the newer wins).

* Auth: a JWT (HS256) minted from the access key (``iss``) and signed with the secret key, valid 30 min from
  5 s ago, sent as ``Authorization: Bearer <jwt>`` and minted again before it lapses (``KlingTokens``). The
  access key is the provider's API key; the secret key is the setting ``secret_key``. Relays take their own
  Bearer key instead (``ProviderSpec.auth``).
* Create: ``POST /v1/videos/text2video`` (no image), ``image2video`` (``image`` / ``image_tail``: a URL or raw
  base64 *without* a ``data:`` prefix) or ``omni-video`` (the Omni models); ``duration`` is a string.
* Every create carries ``external_task_id`` = vidgate's idempotency key (unique per account), so a create
  whose answer was lost is found again by that id (``find_by_key``) instead of being paid twice.
* Poll: ``GET /v1/videos/{endpoint}/{task_id}``. ``provider_task_id`` is ``{endpoint}/{task_id}``, the path
  under ``/v1/videos``, because the query path depends on the endpoint the create used.
* Answers: ``{code, message, request_id, data}``; ``code`` 0 is success, the others are mapped by
  ``service_error``. Statuses ``submitted | processing | succeed | failed``. Media is cleared after 30 days.
* ``callback_url``: Kling POSTs the task on every status change, **unsigned**; vidgate sends a per-job URL with
  an unguessable token and treats a delivery only as a reason to poll (``per_job_callback``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.catalog.validate import assign_roles
from vidgate.errors import (
    AuthenticationError,
    ConfigurationError,
    ContentPolicyError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    QuotaExceededError,
    RateLimitError,
)
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, unix_time
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

AUTH_JWT = "kling-jwt"  # ProviderSpec.auth of the official host
SECRET_SETTING = "secret_key"
JWT_LIFETIME_S = 1800  # the official sample: exp = now + 1800
JWT_NOT_BEFORE_S = 5  # nbf = now - 5 (clock skew)
JWT_REFRESH_MARGIN_S = 300  # mint a new token when the cached one has less than this left
MEDIA_LIFETIME = timedelta(days=30)  # "generated images/videos will be cleared after 30 days"
CONCURRENCY_BACKOFF_S = 1.0  # 1303: "back off (>= 1 s, exponential)"
MAX_SHOTS = 6
MAX_SHOT_PROMPT = 512
MAX_PROMPT = 2500
ENDPOINTS = ("text2video", "image2video", "omni-video")

STATUS_MAP: dict[str, JobStatus | None] = {
    "submitted": JobStatus.queued,
    "processing": JobStatus.running,
    "succeed": JobStatus.succeeded,
    "failed": JobStatus.failed,
}


class KlingOptions(BaseModel):
    """Kling's own create fields (which ones a model takes is in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["std", "pro"] | None = Field(None, description="std (standard) or pro (higher quality)")
    sound: Literal["on", "off"] | None = Field(None, description="Generate sound (v2.6 and later)")
    negative_prompt: str | None = Field(None, max_length=MAX_PROMPT, description="What to avoid (<= 2500 chars)")
    cfg_scale: float | None = Field(None, ge=0, le=1, description="Prompt adherence 0-1 (not on v2.x and later)")
    watermark: bool | None = Field(None, description="watermark_info.enabled")
    camera_control: dict[str, Any] | None = Field(
        None, description='{"type": "simple"|..., "config": {horizontal|vertical|pan|tilt|roll|zoom: -10..10}}'
    )


# ---------------------------------------------------------------- auth


class KlingTokens:
    """Mints the Bearer JWT from (access key, secret key) and reuses it until it is close to lapsing.

    ``clock`` is the seam for time (seconds since the epoch). Thread-safe; secrets are kept only as the key
    of the cache (hashed) and never logged.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    def bearer(self, access_key: str, secret_key: str) -> str:
        now = self.clock()
        key = (access_key, hashlib.sha256(secret_key.encode("utf-8")).hexdigest())
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[1] - now > JWT_REFRESH_MARGIN_S:
                return cached[0]
            expires = int(now) + JWT_LIFETIME_S
            claims = {"iss": access_key, "exp": expires, "nbf": int(now) - JWT_NOT_BEFORE_S}
            token = jwt.encode(claims, secret_key, algorithm="HS256", headers={"typ": "JWT"})
            self._cache[key] = (token, float(expires))
            return token

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


TOKENS = KlingTokens()


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class ServiceCode:
    cls: type[ProviderHTTPError]
    error_code: ErrorCode
    meaning: str


def service_code(code: int | None) -> ServiceCode | None:
    """Kling's service codes (providers-2026.md §4 "Error codes") as vidgate's typed errors."""
    if code is None or code == 0:
        return None
    if 1000 <= code <= 1004:
        return ServiceCode(AuthenticationError, ErrorCode.auth, "authentication failed (check the access/secret key)")
    if 1100 <= code <= 1102:
        return ServiceCode(
            QuotaExceededError, ErrorCode.quota_exceeded, "account exception, arrears or no resource pack"
        )
    if code == 1103:
        return ServiceCode(AuthenticationError, ErrorCode.auth, "no permission for this resource or model")
    if code in (1200, 1201):
        return ServiceCode(ProviderHTTPError, ErrorCode.invalid_request, "invalid parameters")
    if code in (1202, 1203):
        return ServiceCode(ProviderHTTPError, ErrorCode.invalid_request, "wrong method or resource (model) not found")
    if code == 1300:
        return ServiceCode(ContentPolicyError, ErrorCode.content_policy_input, "platform policy triggered")
    if code == 1301:
        return ServiceCode(ContentPolicyError, ErrorCode.content_policy_input, "content safety policy")
    if code == 1302:
        return ServiceCode(RateLimitError, ErrorCode.rate_limited, "request rate too high")
    if code == 1303:
        return ServiceCode(RateLimitError, ErrorCode.rate_limited, "parallel tasks over the resource pack limit")
    if code == 1304:
        return ServiceCode(AuthenticationError, ErrorCode.auth, "this IP is not on the account's whitelist")
    if 5000 <= code <= 5002:
        return ServiceCode(ProviderServerError, ErrorCode.provider_error, "server error, maintenance or timeout")
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def kling_http_error(provider: str, response: httpx.Response, body: Any = None) -> ProviderHTTPError:
    """The typed exception for a non-zero ``code`` (any HTTP status), chosen by the service code."""
    base = http_error(provider, response)
    if body is None:
        body = base.body
    code = _int(body.get("code")) if isinstance(body, dict) else None
    request_id = (body.get("request_id") if isinstance(body, dict) else None) or base.request_id
    mapped = service_code(code)
    status = response.status_code if response.status_code >= 400 else 400
    if mapped is None:
        cls: type[ProviderHTTPError] = type(base) if response.status_code >= 400 else ProviderHTTPError
        return cls(provider, status, base.message, code=base.code, request_id=request_id,
                   retry_after=base.retry_after, body=body)  # fmt: skip
    retry_after = base.retry_after
    if code == 1303 and retry_after is None:
        retry_after = CONCURRENCY_BACKOFF_S
    return mapped.cls(
        provider,
        status,
        f"{base.message} ({mapped.meaning})",
        code=str(code),
        request_id=str(request_id) if request_id else None,
        retry_after=retry_after,
        body=body,
        error_code=mapped.error_code.value,
    )


# ---------------------------------------------------------------- answers


class KlingVideo(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    url: str | None = None
    watermark_url: str | None = None
    duration: str | float | None = None


class KlingResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    videos: list[KlingVideo] = Field(default_factory=list)


class KlingTask(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_id: str | int | None = None
    task_status: str | None = None
    task_status_msg: str | None = None
    task_info: dict[str, Any] | None = None
    task_result: KlingResult | None = None
    created_at: int | float | None = None
    updated_at: int | float | None = None
    final_unit_deduction: str | float | None = None


class KlingEnvelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    data: KlingTask | None = None


# ---------------------------------------------------------------- the dialect


def api_path(conn: Connection, path: str) -> str:
    """``path`` under the provider's prefix (``kling`` on relays), unless the base URL already ends with it."""
    prefix = conn.provider.path_prefix.strip("/")
    base_path = urlsplit(conn.base_url).path.rstrip("/")
    if not prefix or base_path.endswith("/" + prefix):
        return path
    return f"{prefix}/{path}"


def is_omni(spec: ModelSpec) -> bool:
    return spec.family == "kling-omni"


def endpoint_for(prepared: Prepared) -> str:
    if is_omni(prepared.spec):
        return "omni-video"
    return "image2video" if prepared.images else "text2video"


def split_task_id(task_id: str) -> tuple[str | None, str]:
    """``image2video/8672…`` -> (``image2video``, ``8672…``); a bare id (from a callback) -> (None, id)."""
    endpoint, sep, rest = task_id.partition("/")
    if sep and endpoint in ENDPOINTS and rest:
        return endpoint, rest
    return None, task_id


def shot_problems(request: VideoRequest, spec: ModelSpec) -> list[Problem]:
    """multi_prompt: 1-6 shots, each <= 512 characters and whole seconds, adding up to the clip's length."""
    shots = request.shots
    out: list[Problem] = []
    if len(shots) > MAX_SHOTS:
        out.append(Problem("shots", f"{len(shots)} shots", f"Kling takes at most {MAX_SHOTS} shots (multi_prompt)",
                           allowed=f"1-{MAX_SHOTS} shots", suggestion="merge shots"))  # fmt: skip
    for i, shot in enumerate(shots):
        if len(shot.scene) > MAX_SHOT_PROMPT:
            out.append(Problem(f"shots[{i}].scene", f"{len(shot.scene)} characters",
                               f"a shot's prompt is at most {MAX_SHOT_PROMPT} characters",
                               allowed=f"<= {MAX_SHOT_PROMPT} characters", suggestion="shorten the scene"))  # fmt: skip
        if not float(shot.duration).is_integer() or shot.duration < 1:
            out.append(Problem(f"shots[{i}].duration", shot.duration, "Kling's shot durations are whole seconds",
                               allowed="1, 2, 3, ... seconds", suggestion="round the shot's duration"))  # fmt: skip
    total = sum(s.duration for s in shots)
    if request.duration is not None and abs(total - request.duration) > 1e-6:
        out.append(Problem("shots", f"{len(shots)} shots totalling {total:g} s",
                           f"Kling requires the shot durations to add up to the duration ({request.duration:g} s)",
                           allowed=f"shots adding up to {request.duration:g} s",
                           suggestion="leave duration unset (vidgate sends the total) or fix the shots"))  # fmt: skip
    return out


class Kling(Dialect):
    name = "kling"
    Options = KlingOptions
    per_job_callback = True  # callback_url per create, POSTed unsigned: an unguessable per-job URL, a hint only

    def __init__(self, tokens: KlingTokens = TOKENS) -> None:
        self.tokens = tokens

    def finds_by_key(self, provider: ProviderSpec) -> bool:
        """Kling's own host queries a task by ``external_task_id`` (= our idempotency key). A relay keeps its own
        task ids and does not document that lookup: an unknown create there waits for a person."""
        return provider.auth == AUTH_JWT

    # ------------------------------------------------------------ requests

    def auth_headers(self, conn: Connection) -> dict[str, str]:
        if conn.provider.auth != AUTH_JWT:
            return super().auth_headers(conn)
        secret = conn.settings.get(SECRET_SETTING, "")
        if not secret:
            raise ConfigurationError(
                f"Provider {conn.provider.name!r} signs a JWT with the secret key: set the setting {SECRET_SETTING!r} "
                "(environment variable VIDGATE_KLING_SECRET_KEY) next to the access key. Nothing was sent."
            )
        return {"Authorization": f"Bearer {self.tokens.bearer(conn.api_key, secret)}"}

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        out = shot_problems(request, spec) if request.shots else []
        has_tail = ImageRole.last_frame in assign_roles(images, spec) if images else False
        if has_tail and request.options.get("camera_control") is not None:
            out.append(Problem("options.camera_control", "set", "image_tail (a last frame) and camera_control exclude "
                               "each other on Kling", allowed="one of them", suggestion="drop one"))  # fmt: skip
        if images and request.aspect_ratio is not None and not is_omni(spec):
            out.append(Problem("aspect_ratio", request.aspect_ratio,
                               "image2video has no aspect_ratio: the clip follows the image's shape",
                               allowed="no aspect_ratio with an image", suggestion="drop aspect_ratio"))  # fmt: skip
        return out

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"model_name": spec.model}
        if req.prompt.strip():
            body["prompt"] = req.prompt
        refs: list[dict[str, str]] = []
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            encoded = encode_for_json(img, spec.images)  # URL, or raw base64 (catalog: base64_form = "raw")
            if is_omni(spec):
                refs.append({"image_url": encoded})
            elif role is ImageRole.last_frame:
                body["image_tail"] = encoded
            else:
                body["image"] = encoded
        if refs:
            body["image_list"] = refs
        if req.shots:
            body["multi_shot"] = True
            body["shot_type"] = "customize"
            body["multi_prompt"] = [
                {"index": i + 1, "prompt": s.scene, "duration": spec.duration.encode(s.duration)}
                for i, s in enumerate(req.shots)
            ]
        duration = req.duration if req.duration is not None else (sum(s.duration for s in req.shots) or None)
        if duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(duration)
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        opts = KlingOptions.model_validate(req.options).model_dump(exclude_none=True)
        watermark = opts.pop("watermark", None)
        if watermark is not None:
            body["watermark_info"] = {"enabled": watermark}
        body.update(opts)
        if req.webhook_url:
            body["callback_url"] = req.webhook_url
        body["external_task_id"] = prepared.idempotency_key
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        endpoint = endpoint_for(prepared)
        response = yield self.json_request("POST", conn, api_path(conn, f"v1/videos/{endpoint}"),
                                           self.create_body(prepared))  # fmt: skip
        return self.parse(conn.provider.name, response, endpoint)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        endpoint, tid = split_task_id(task_id)
        return self.json_request("GET", conn, api_path(conn, f"v1/videos/{endpoint}/{quote(tid, safe='')}"))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        endpoint, tid = split_task_id(task_id)
        if endpoint is not None:
            response = yield self.status_request(task_id, conn)
            return self.parse(conn.provider.name, response, endpoint)
        # A bare id (adopted from a callback): the endpoint it was created on is not known; try each.
        candidates = ["omni-video"] if is_omni(spec) else ["text2video", "image2video"]
        for endpoint in candidates:
            response = yield self.status_request(f"{endpoint}/{tid}", conn)
            if not is_not_found(response) or endpoint == candidates[-1]:
                return self.parse(conn.provider.name, response, endpoint)
        raise AssertionError("unreachable")

    def find_by_key(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate | None]:
        """The task created with ``external_task_id`` = our idempotency key, or None when Kling has none.

        The query path takes the external id in place of the task id (more-providers.md §1 "Status", K1).
        """
        endpoint = endpoint_for(prepared)
        key = quote(prepared.idempotency_key, safe="")
        response = yield self.json_request("GET", conn, api_path(conn, f"v1/videos/{endpoint}/{key}"))
        if is_not_found(response, strict=True):
            return None  # Kling itself says it has no such task: the create never landed, send it
        return self.parse(conn.provider.name, response, endpoint)

    # ------------------------------------------------------------ answers

    def parse(self, provider: str, response: httpx.Response, endpoint: str) -> JobUpdate:
        try:
            body: Any = response.json()
        except ValueError:
            if not response.is_success:
                raise http_error(provider, response) from None
            raise ProtocolError(provider, f"expected JSON, got {response.text[:200]!r}", response.text) from None
        code = _int(body.get("code")) if isinstance(body, dict) else None
        if code in (1003, 1004):  # token not yet valid / expired (clock skew): the next request mints a new one
            self.tokens.forget()
        if not response.is_success or (code is not None and code != 0):
            raise kling_http_error(provider, response, body)
        return parse_task(provider, body, endpoint)


def is_not_found(response: httpx.Response, *, strict: bool = False) -> bool:
    """Kling's "resource not found" (404 / service code 1203), as a query for an unknown id answers.
    ``strict``: only Kling's own JSON answer with code 1203 counts — a bare 404 from a proxy or a moved route
    must not make vidgate send a paid create again (it raises instead, and the job waits)."""
    if response.status_code != 404:
        return False
    try:
        body = response.json()
    except ValueError:
        return not strict
    code = _int(body.get("code")) if isinstance(body, dict) else None
    return code == 1203 if strict else code in (None, 1203)


def parse_task(provider: str, body: Any, endpoint: str | None) -> JobUpdate:
    """An answer envelope (``{code, data}``), or the flat task a callback carries, as an update."""
    try:
        if isinstance(body, dict) and "data" in body:
            task = KlingEnvelope.model_validate(body).data
        else:
            task = KlingTask.model_validate(body)
    except ValidationError as exc:
        raise ProtocolError(provider, f"unexpected task shape: {exc.errors()[0]['msg']}", body) from None
    if task is None or task.task_id in (None, ""):
        raise ProtocolError(provider, f"answer without data.task_id: {str(body)[:200]}", body)
    raw_status = (task.task_status or "").strip()
    status = STATUS_MAP.get(raw_status.lower())
    task_id = str(task.task_id)
    update = JobUpdate(
        status=status,
        raw_status=raw_status or None,
        provider_task_id=f"{endpoint}/{task_id}" if endpoint else task_id,
        started_at=None,
        finished_at=unix_time(task.updated_at) if status in (JobStatus.succeeded, JobStatus.failed) else None,
        raw=body,
    )
    if status is JobStatus.succeeded:
        videos = [v for v in (task.task_result.videos if task.task_result else []) if v.url]
        done = update.finished_at or datetime.now(UTC)
        update.assets = [
            Asset(kind="video", url=v.url, mime_type="video/mp4", expires_at=done + MEDIA_LIFETIME) for v in videos
        ]
        update.progress = 100
        if not videos:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="Kling reported succeed but task_result.videos has no URL")  # fmt: skip
    elif status is JobStatus.failed:
        update.error = classify_failure(task.task_status_msg or "Kling reported failed without task_status_msg",
                                        raw=body)  # fmt: skip
    return update
