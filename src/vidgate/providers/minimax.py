"""MiniMax (Hailuo) video generation: the V1 API (Hailuo 02 / 2.3 / 2.3-Fast, S2V-01) and the V2 API (H3).

Facts: shared/reference/providers-2026.md §6 (newer) and more-providers.md §2 (older; where they disagree the
newer wins and the catalog entry says so). Both APIs take ``Authorization: Bearer <key>``; the catalog entry's
``dialect`` picks the one a model speaks (``minimax`` or ``minimax-v2``), so ``-m MiniMax-H3`` and
``-m MiniMax-Hailuo-2.3`` are both just model names of provider ``minimax``.

V1 (``MiniMax``)
  * ``POST /v1/video_generation`` -> ``{"task_id", "base_resp": {"status_code": 0, "status_msg"}}``.
  * ``GET /v1/query/video_generation?task_id=`` -> ``{task_id, status, file_id, video_width, video_height,
    base_resp}``, status ``Preparing | Queueing | Processing | Success | Fail``.
  * A second request turns the ``file_id`` into a link: ``GET /v1/files/retrieve?file_id=`` ->
    ``{"file": {"download_url", "backup_download_url", ...}, "base_resp"}``. The link lives about 9 hours; each
    status check of a finished task asks again, so an expired link is replaced by polling once more.
  * Errors arrive in ``base_resp.status_code`` (commonly with HTTP 200): ``BASE_CODES`` maps them to vidgate's
    typed errors; a ``Fail`` task carries its reason there too (1027 = the generated video was refused).
  * ``callback_url``: MiniMax POSTs the query body on status changes, unsigned; vidgate sends a per-job URL with
    an unguessable token and only polls when it is called (``per_job_callback``). The URL-ownership handshake
    (echo ``{"challenge"}`` within 3 s) is answered by vidgate's receiver.
  * No caller-supplied id exists: a create whose answer was lost stays ``unknown`` for a person (never resent).

V2 (``MiniMaxV2``)
  * ``POST /v2/video_generation`` with ``content[]`` (one ``text`` item, ``image_url`` items with roles
    ``first_frame | last_frame | reference_image``, ``video_url`` / ``audio_url`` references), ``resolution``,
    ``duration``, ``ratio``; media as a URL, ``mm_file://{file_id}`` or a data URI.
  * ``GET /v2/query/video_generation/{task_id}`` -> ``{"task": {id, status, content: {url, duration}, error}}``,
    status ``queued | running | succeeded | failed | cancelled | expired``; query again for a fresh URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidgate.catalog.schema import ModelSpec
from vidgate.catalog.validate import assign_roles
from vidgate.errors import (
    AuthenticationError,
    ContentPolicyError,
    ProtocolError,
    ProviderHTTPError,
    ProviderServerError,
    QuotaExceededError,
    RateLimitError,
)
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, read_shape
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

V1_CREATE = "v1/video_generation"
V1_QUERY = "v1/query/video_generation"
V1_RETRIEVE = "v1/files/retrieve"
V2_CREATE = "v2/video_generation"
V2_QUERY = "v2/query/video_generation"
DOWNLOAD_LIFETIME = timedelta(hours=9)  # "download URLs are temporary, about 9 h" (§6, [3P]; older: 32400 s)
MEDIA_PREFIXES = ("http://", "https://", "mm_file://", "data:")
MAX_V2_VIDEOS = 3
MAX_V2_AUDIOS = 3

# Every documented status word, explicitly; anything else means "keep polling until the deadline".
STATUS_MAP: dict[str, JobStatus | None] = {
    "Preparing": JobStatus.queued,
    "Queueing": JobStatus.queued,
    "Processing": JobStatus.running,
    "Success": JobStatus.succeeded,
    "Fail": JobStatus.failed,
}
V2_STATUS_MAP: dict[str, JobStatus | None] = {
    "queued": JobStatus.queued,
    "running": JobStatus.running,
    "succeeded": JobStatus.succeeded,
    "failed": JobStatus.failed,
    "cancelled": JobStatus.cancelled,
    "expired": JobStatus.expired,
}


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class BaseCode:
    """What one ``base_resp.status_code`` means to vidgate; ``status`` is reported when the answer was HTTP 200."""

    cls: type[ProviderHTTPError]
    error_code: ErrorCode
    status: int
    meaning: str


_RATE = (RateLimitError, ErrorCode.rate_limited, 429)
_AUTH = (AuthenticationError, ErrorCode.auth, 401)
_QUOTA = (QuotaExceededError, ErrorCode.quota_exceeded, 402)
_INVALID = (ProviderHTTPError, ErrorCode.invalid_request, 400)
_SERVER = (ProviderServerError, ErrorCode.provider_error, 500)
# more-providers.md §2 "Errors" (a mirror of MiniMax's error-code page); providers-2026.md §6 tags 1026/1027
# [3P] and 1002/1004/1008/2013 [MEMORY]: the catalog lists them as unconfirmed.
BASE_CODES: dict[int, BaseCode] = {
    1000: BaseCode(*_SERVER, "unknown error"),
    1001: BaseCode(ProviderServerError, ErrorCode.provider_error, 504, "timeout"),
    1002: BaseCode(*_RATE, "rate limit: back off and retry"),
    1004: BaseCode(*_AUTH, "not authorized (check the API key, and that its region matches the host)"),
    1008: BaseCode(*_QUOTA, "insufficient balance"),
    1024: BaseCode(*_SERVER, "internal error"),
    1026: BaseCode(ContentPolicyError, ErrorCode.content_policy_input, 400, "the input is sensitive"),
    1027: BaseCode(ContentPolicyError, ErrorCode.content_policy_output, 400, "the generated video is sensitive"),
    1033: BaseCode(*_SERVER, "system error"),
    1039: BaseCode(*_RATE, "token limit: back off and retry"),
    1041: BaseCode(*_RATE, "connection limit: back off and retry"),
    1042: BaseCode(*_INVALID, "too many invisible characters in the input"),
    2013: BaseCode(*_INVALID, "invalid parameters"),
    2045: BaseCode(*_RATE, "rate growth limit: back off and retry"),
    2049: BaseCode(*_AUTH, "invalid API key"),
    2056: BaseCode(*_QUOTA, "usage limit exceeded"),
}


class BaseResp(BaseModel):
    model_config = ConfigDict(extra="allow")

    status_code: int | None = None
    status_msg: str | None = None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def base_resp_of(body: Any) -> BaseResp | None:
    raw = body.get("base_resp") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        return None
    return BaseResp(status_code=_int(raw.get("status_code")), status_msg=raw.get("status_msg"))


def minimax_http_error(provider: str, response: httpx.Response, body: Any = None) -> ProviderHTTPError:
    """The typed exception for an HTTP error or a non-zero ``base_resp.status_code`` (any HTTP status)."""
    base = http_error(provider, response)
    body = base.body if body is None else body
    resp = base_resp_of(body)
    code = resp.status_code if resp is not None else None
    message = (resp.status_msg if resp is not None and resp.status_msg else None) or base.message
    mapped = BASE_CODES.get(code) if code is not None else None
    if mapped is None:
        if response.status_code >= 400 and code is None:
            return base  # an HTTP error without MiniMax's envelope: typed by its HTTP status
        cls: type[ProviderHTTPError] = type(base) if response.status_code >= 400 else ProviderHTTPError
        status = response.status_code if response.status_code >= 400 else 400
        return cls(provider, status, f"{message} (base_resp.status_code {code})", code=str(code),
                   request_id=base.request_id, retry_after=base.retry_after, body=body)  # fmt: skip
    status = response.status_code if response.status_code >= 400 else mapped.status
    return mapped.cls(
        provider,
        status,
        f"{message} (base_resp.status_code {code}: {mapped.meaning})",
        code=str(code),
        request_id=base.request_id,
        retry_after=base.retry_after,
        body=body,
        error_code=mapped.error_code.value,
    )


def failure(code: int | None, message: str | None, raw: Any) -> JobError:
    """A failed task's error: by MiniMax's code when it is a known one, else read from its words."""
    mapped = BASE_CODES.get(code) if code is not None else None
    text = message or "MiniMax reported the task failed without a reason"
    if mapped is None:
        return classify_failure(f"{text} (code {code})" if code else text, raw=raw)
    retryable = mapped.error_code in (ErrorCode.rate_limited, ErrorCode.provider_error)
    return JobError(code=mapped.error_code, message=f"{text} (code {code}: {mapped.meaning})", retryable=retryable,
                    raw=raw)  # fmt: skip


def _answer(provider: str, response: httpx.Response, *, task: bool = False) -> Any:
    """The JSON body of a 2xx answer whose ``base_resp`` (when present) says success; else the typed error.
    With ``task``, an answer naming a task's status is the task even when ``base_resp`` carries its failure."""
    try:
        body: Any = response.json()
    except ValueError:
        if not response.is_success:
            raise http_error(provider, response) from None
        raise ProtocolError(provider, f"expected JSON, got {response.text[:200]!r}", response.text) from None
    resp = base_resp_of(body)
    if task and response.is_success and isinstance(body, dict) and body.get("status"):
        return body  # a Fail task: its reason is in base_resp (e.g. 1027), a job state, not an exception
    if not response.is_success or (resp is not None and resp.status_code not in (None, 0)):
        raise minimax_http_error(provider, response, body)
    return body


# ---------------------------------------------------------------- V1


class MiniMaxOptions(BaseModel):
    """MiniMax V1 create fields beyond prompt, duration, resolution and images (the catalog lists which)."""

    model_config = ConfigDict(extra="forbid")

    prompt_optimizer: bool | None = Field(None, description="Let MiniMax rewrite the prompt (its default: true)")
    fast_pretreatment: bool | None = Field(None, description="Shorten the prompt optimizer's time (Hailuo 02/2.3)")
    callback_url: str | None = Field(
        None, description='Your URL MiniMax POSTs status changes to; it must echo {"challenge"} within 3 s'
    )


class V1Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_id: str | int | None = None
    status: str | None = None
    file_id: str | int | None = None
    video_width: int | None = None
    video_height: int | None = None


class V1File(BaseModel):
    model_config = ConfigDict(extra="allow")

    file_id: str | int | None = None
    bytes: int | None = None
    created_at: int | None = None
    filename: str | None = None
    purpose: str | None = None
    download_url: str | None = None
    backup_download_url: str | None = None


@dataclass
class V1Update(JobUpdate):
    """A V1 task answer; ``file_id`` is what a ``Success`` names (its link needs ``/v1/files/retrieve``)."""

    file_id: str | None = None


class MiniMax(Dialect):
    """The V1 API: create, query, then retrieve the file's download link."""

    name = "minimax"
    Options = MiniMaxOptions
    per_job_callback = True  # callback_url per create, POSTed unsigned: an unguessable per-job URL, a hint only

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"model": spec.model}
        if req.prompt.strip():
            body["prompt"] = req.prompt
        subjects: list[dict[str, str]] = []
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            encoded = encode_for_json(img, spec.images)  # a URL or a data: URI (catalog base64_form)
            if role is ImageRole.reference:
                subjects.append({"image": encoded})
            elif role is ImageRole.last_frame:
                body["last_frame_image"] = encoded
            else:
                body["first_frame_image"] = encoded
        if subjects:
            body["subject_reference"] = subjects
        if req.duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(req.duration)
        if req.resolution is not None and spec.resolution.field:
            body[spec.resolution.field] = req.resolution
        opts = MiniMaxOptions.model_validate(req.options).model_dump(exclude_none=True)
        if "callback_url" not in opts and req.webhook_url:
            opts["callback_url"] = req.webhook_url
        body.update(opts)
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, V1_CREATE, self.create_body(prepared))
        body = _answer(conn.provider.name, response)
        task_id = body.get("task_id") if isinstance(body, dict) else None
        if task_id in (None, ""):
            raise ProtocolError(conn.provider.name, f"create answered without a task_id: {str(body)[:200]}", body)
        return JobUpdate(status=JobStatus.queued, provider_task_id=str(task_id), raw=body)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"{V1_QUERY}?task_id={quote(task_id, safe='')}")

    def retrieve_request(self, file_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"{V1_RETRIEVE}?file_id={quote(file_id, safe='')}")

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        provider = conn.provider.name
        response = yield self.status_request(task_id, conn)
        update = parse_v1_task(provider, _answer(provider, response, task=True))
        file_id = update.file_id
        if update.status is not JobStatus.succeeded or not file_id:
            return update
        # Success names a file, not a link: one more request turns it into a download URL (valid ~9 h).
        response = yield self.retrieve_request(file_id, conn)
        body = _answer(provider, response)
        return with_file(provider, update, body)


def parse_v1_task(provider: str, body: Any) -> V1Update:
    """A query answer or a callback body (the same shape) as an update; a finished task keeps its ``file_id``."""
    task = read_shape(provider, V1Task, body, "task")
    if task.task_id in (None, ""):
        raise ProtocolError(provider, f"answer without a task_id: {str(body)[:200]}", body)
    raw_status = (task.status or "").strip()
    status = STATUS_MAP.get(raw_status)
    update = V1Update(status=status, raw_status=raw_status or None, provider_task_id=str(task.task_id), raw=body)
    if status is JobStatus.succeeded:
        update.file_id = None if task.file_id in (None, "") else str(task.file_id)
        if update.file_id is None:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="MiniMax reported Success but named no file_id")  # fmt: skip
    elif status is JobStatus.failed:
        resp = base_resp_of(body)
        update.error = failure(resp.status_code if resp else None, resp.status_msg if resp else None, body)
    return update


def with_file(provider: str, update: V1Update, body: Any) -> JobUpdate:
    """The finished task with its video: ``file.download_url`` from ``/v1/files/retrieve``."""
    raw_file = body.get("file") if isinstance(body, dict) else None
    try:
        file = V1File.model_validate(raw_file if isinstance(raw_file, dict) else {})
    except ValidationError as exc:
        raise ProtocolError(provider, f"unexpected file shape: {exc.errors()[0]['msg']}", body) from None
    url = file.download_url or file.backup_download_url
    update.raw = {"task": update.raw, "file": body}
    if not url:
        update.status = JobStatus.failed
        update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                message=f"MiniMax's file {update.file_id} has no download_url")  # fmt: skip
        return update
    now = datetime.now(UTC)
    update.assets = [Asset(kind="video", url=url, mime_type="video/mp4", size_bytes=file.bytes or None,
                           expires_at=now + DOWNLOAD_LIFETIME)]  # fmt: skip
    update.progress = 100
    update.finished_at = now
    return update


# ---------------------------------------------------------------- V2


class MiniMaxV2Options(BaseModel):
    """Reference media of the V2 API (H3): each a URL, ``mm_file://{file_id}`` or a data URI."""

    model_config = ConfigDict(extra="forbid")

    reference_videos: list[str] | None = Field(
        None, max_length=MAX_V2_VIDEOS, description="Up to 3 reference videos (video_url, role reference_video)"
    )
    reference_audios: list[str] | None = Field(
        None, max_length=MAX_V2_AUDIOS, description="Up to 3 reference audios (audio_url, role reference_audio)"
    )


class V2Content(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str | None = None
    duration: float | None = None


class V2Error(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: int | str | None = None
    message: str | None = None


class V2Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    model: str | None = None
    status: str | None = None
    content: V2Content | None = None
    error: V2Error | None = None


def v2_media_problems(request: VideoRequest, images: list[LoadedImage], roles: list[ImageRole]) -> list[Problem]:
    """V2 rules the catalog cannot express: keyframes and references exclude each other; audio needs a
    visual reference; reference media must be URLs, ``mm_file://`` ids or data URIs."""
    out: list[Problem] = []
    opts = MiniMaxV2Options.model_validate(request.options) if request.options else MiniMaxV2Options()
    videos, audios = opts.reference_videos or [], opts.reference_audios or []
    keyframes = [r for r in roles if r in (ImageRole.first_frame, ImageRole.last_frame)]
    references = [r for r in roles if r is ImageRole.reference]
    if keyframes and (references or videos or audios):
        out.append(Problem("images", "first/last frame with references",
                           "MiniMax V2 takes either keyframes (first/last frame) or references, not both",
                           allowed="first_frame/last_frame images only, or reference images/videos/audios only",
                           suggestion="drop the keyframes or the references"))  # fmt: skip
    if audios and not (references or videos):
        out.append(Problem("options.reference_audios", f"{len(audios)} audio(s)",
                           "a reference audio needs a reference image or video beside it",
                           allowed="reference_audios with reference images or reference_videos",
                           suggestion="add a reference image (role reference) or a reference video"))  # fmt: skip
    for name, items in (("reference_videos", videos), ("reference_audios", audios)):
        for i, item in enumerate(items):
            if not item.startswith(MEDIA_PREFIXES):
                out.append(Problem(f"options.{name}[{i}]", item, "not a URL, mm_file:// id or data URI",
                                   allowed="https://..., mm_file://<file_id>, data:<type>;base64,...",
                                   suggestion="upload the file and pass its URL"))  # fmt: skip
    return out


V2_ROLE = {ImageRole.first_frame: "first_frame", ImageRole.last_frame: "last_frame",
           ImageRole.reference: "reference_image"}  # fmt: skip


class MiniMaxV2(Dialect):
    """The V2 API (H3): typed ``content[]`` with roles, one query returning the video's URL."""

    name = "minimax-v2"
    Options = MiniMaxV2Options

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        return v2_media_problems(request, images, assign_roles(images, spec))

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        content: list[dict[str, Any]] = [{"type": "text", "text": req.prompt}]
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            content.append({"type": "image_url", "image_url": encode_for_json(img, spec.images), "role": V2_ROLE[role]})
        opts = MiniMaxV2Options.model_validate(req.options)
        content += [
            {"type": "video_url", "video_url": v, "role": "reference_video"} for v in opts.reference_videos or []
        ]
        content += [
            {"type": "audio_url", "audio_url": a, "role": "reference_audio"} for a in opts.reference_audios or []
        ]
        body: dict[str, Any] = {"model": spec.model, "content": content}
        # resolution and duration are sent every time (the older notes call them required): the catalog default
        resolution = req.resolution or spec.resolution.default
        if resolution and spec.resolution.field:
            body[spec.resolution.field] = resolution
        duration = req.duration if req.duration is not None else spec.duration.default
        if duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(duration)
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, V2_CREATE, self.create_body(prepared))
        body = _answer(conn.provider.name, response)
        update = parse_v2_task(conn.provider.name, body)
        if update.status is None:
            update.status = JobStatus.queued  # a create answer that names only the id: accepted
        return update

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"{V2_QUERY}/{quote(task_id, safe='')}")

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return parse_v2_task(conn.provider.name, _answer(conn.provider.name, response))


def parse_v2_task(provider: str, body: Any) -> JobUpdate:
    """``{"task": {...}}`` (or a bare task / ``task_id``, as a create may answer) as an update."""
    raw_task = body.get("task") if isinstance(body, dict) and isinstance(body.get("task"), dict) else body
    try:
        task = V2Task.model_validate(raw_task)
    except ValidationError as exc:
        raise ProtocolError(provider, f"unexpected task shape: {exc.errors()[0]['msg']}", body) from None
    task_id = task.id if task.id not in (None, "") else (raw_task or {}).get("task_id")
    if task_id in (None, ""):
        raise ProtocolError(provider, f"answer without a task id: {str(body)[:200]}", body)
    raw_status = (task.status or "").strip()
    status = V2_STATUS_MAP.get(raw_status)
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=str(task_id), raw=body)
    if status is JobStatus.succeeded:
        url = task.content.url if task.content else None
        if not url:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="MiniMax reported succeeded but task.content.url is empty")  # fmt: skip
        else:
            update.assets = [Asset(kind="video", url=url, mime_type="video/mp4")]
            update.progress = 100
    elif status is JobStatus.failed:
        err = task.error or V2Error()
        update.error = failure(_int(err.code), err.message, body)
    elif status in (JobStatus.cancelled, JobStatus.expired):
        why = "the task was cancelled" if status is JobStatus.cancelled else "the task expired before it ran"
        update.error = JobError(code=ErrorCode.cancelled if status is JobStatus.cancelled else ErrorCode.timeout,
                                message=f"MiniMax: {why}", retryable=status is JobStatus.expired, raw=body)  # fmt: skip
    return update
