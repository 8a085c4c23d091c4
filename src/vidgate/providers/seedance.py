"""ByteDance Seedance on Volcengine Ark (China) and BytePlus ModelArk (international): one protocol, two hosts.

``POST {base}/api/v3/contents/generations/tasks`` with ``{model, content[], resolution, ratio, duration, ...}``
answers ``{"id": "cgt-..."}``; ``GET .../tasks/{id}`` is the truth. ``content[]`` holds the prompt (``text``),
images (``image_url`` with role ``first_frame`` / ``last_frame`` / ``reference_image``) and reference clips
(``video_url`` / ``audio_url``, roles ``reference_video`` / ``reference_audio``, passed as options).

``DELETE .../tasks/{id}`` cancels a *queued* task but **deletes the record of a finished one** (and refuses a
running one), so ``cancel`` reads the status first and sends DELETE only while the task is ``queued``: a
result is never deleted by a cancel that raced the end of the job.

``callback_url`` (vidgate's per-job URL) only wakes the job: it is unsigned, so the body is never trusted.
``content.video_url`` is a presigned TOS URL valid 24 h: the asset carries ``expires_at``.
The create takes no caller id, so an ``unknown`` create is never resent (a person decides, or the per-job
callback names the task). Facts: shared/reference/providers-2026.md §5 (newer) and more-providers.md §5.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidgate.catalog.schema import ModelSpec
from vidgate.catalog.validate import assign_roles
from vidgate.errors import ContentPolicyError, ProtocolError, ProviderHTTPError, QuotaExceededError
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import (
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    http_error,
    json_body,
    read_shape,
    unix_time,
)
from vidgate.providers._failure_text import classify_failure
from vidgate.providers.zhipu import api_path
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

TASKS = "contents/generations/tasks"
URL_LIFETIME = timedelta(hours=24)  # content.video_url / last_frame_url are cleared after 24 h
MEDIA_SCHEMES = ("https://", "http://", "asset://")  # asset:// = the Seedance 2 asset library

# Every status the reference lists (expired: S1 official mirror; "some docs" per providers-2026 §5).
# Anything else: None = keep polling until the deadline.
STATUS_MAP: dict[str, JobStatus | None] = {
    "queued": JobStatus.queued,
    "running": JobStatus.running,
    "succeeded": JobStatus.succeeded,
    "failed": JobStatus.failed,
    "cancelled": JobStatus.cancelled,
    "expired": JobStatus.expired,  # execution_expires_after passed before the task finished
}
WIRE_ROLE = {ImageRole.first_frame: "first_frame", ImageRole.last_frame: "last_frame",
             ImageRole.reference: "reference_image"}  # fmt: skip
# HTTP error codes of Ark's error page that say more than the status does (the page is not transcribed in the
# reference: these names are vidgate's choice, matched on the code's wording, see the catalog's unconfirmed).
_POLICY_WORDS = ("sensitive", "risk")
_QUOTA_WORDS = ("quota", "balance", "overdue", "arrear")


class SeedanceOptions(BaseModel):
    """Top-level create fields of Seedance besides prompt, images, resolution, ratio and duration."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, ge=-1, le=4294967295, description="Random seed; -1 = random")
    watermark: bool | None = Field(None, description="Add the Seedance watermark (default false)")
    generate_audio: bool | None = Field(None, description="Generate audio with the video (1.5 Pro and 2.x)")
    return_last_frame: bool | None = Field(None, description="Also return the last frame as a PNG (thumbnail)")
    camera_fixed: bool | None = Field(None, description="Keep the camera still (not with reference images)")
    service_tier: Literal["default", "flex"] | None = Field(
        None, description="default (online) or flex (offline, half price, slower)"
    )
    execution_expires_after: int | None = Field(
        None, ge=3600, le=259200, description="Seconds before an unfinished task becomes expired (default 172800)"
    )
    reference_videos: list[str] | None = Field(
        None, description="Reference video URLs (https or asset://), sent as content video_url / reference_video"
    )
    reference_audios: list[str] | None = Field(
        None, description="Reference audio URLs (https or asset://), sent as content audio_url / reference_audio"
    )


class _Media(BaseModel):
    model_config = ConfigDict(extra="allow")

    video_url: str | None = None
    last_frame_url: str | None = None


class _Error(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str | int | None = None
    message: str | None = None


class Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    model: str | None = None
    status: str | None = None
    error: _Error | None = None
    content: _Media | None = None
    usage: dict[str, Any] | None = None
    created_at: float | None = None
    updated_at: float | None = None


def _media_problems(name: str, values: list[str], limit: int, key: str) -> list[Problem]:
    out: list[Problem] = []
    if len(values) > limit:
        out.append(
            Problem(
                f"options.{name}",
                f"{len(values)} items",
                f"too many {name.replace('_', ' ')} for {key}",
                allowed=f"at most {limit}" if limit else "none: this model takes no such references",
            )
        )
    for i, value in enumerate(values):
        if not value.lower().startswith(MEDIA_SCHEMES) or not urlsplit(value).netloc:
            out.append(
                Problem(
                    f"options.{name}[{i}]",
                    value[:80],
                    "not a URL Seedance can fetch",
                    allowed="an https:// URL or an asset:// id from the Seedance asset library",
                    suggestion="upload the file somewhere reachable and pass its URL",
                )
            )
    return out


def seedance_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """``{"error": {"code", "message"}}``: typed by status, and by code wording for policy and quota refusals."""
    base = http_error(provider, response)
    if type(base) is not ProviderHTTPError:  # 401/403, 429 and 5xx are already typed
        return base
    words = (base.code or "").lower()
    kind: type[ProviderHTTPError] | None = None
    error_code = None
    if any(w in words for w in _POLICY_WORDS):
        kind, error_code = ContentPolicyError, ErrorCode.content_policy_input.value
    elif any(w in words for w in _QUOTA_WORDS):
        kind, error_code = QuotaExceededError, ErrorCode.quota_exceeded.value
    if kind is None:
        return base
    return kind(
        provider,
        base.status_code,
        base.message,
        code=base.code,
        request_id=base.request_id,
        retry_after=base.retry_after,
        body=base.body,
        error_code=error_code,
    )


class Seedance(Dialect):
    name = "seedance"
    Options = SeedanceOptions
    operations = frozenset({"cancel"})
    per_job_callback = True  # callback_url: a URL per create, POSTed to without a signature

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        out: list[Problem] = []
        roles = assign_roles(images, spec) if len(images) == len(request.images) else []
        frames = {ImageRole.first_frame, ImageRole.last_frame} & set(roles)
        if frames and ImageRole.reference in roles:
            out.append(
                Problem(
                    "images",
                    ", ".join(r.value for r in roles),
                    "first/last frames and reference images are separate modes and cannot be mixed",
                    allowed="first_frame (+ last_frame), or only reference images",
                    suggestion="drop the reference images, or give every image role=reference",
                )
            )
        try:
            opts = SeedanceOptions.model_validate(request.options)
        except ValidationError:
            return out  # catalog.check reports the option errors
        out += _media_problems("reference_videos", opts.reference_videos or [], spec.video_inputs.max_count, spec.key)
        out += _media_problems("reference_audios", opts.reference_audios or [], spec.audio_inputs.max_count, spec.key)
        if opts.camera_fixed and ImageRole.reference in roles:
            out.append(
                Problem(
                    "options.camera_fixed",
                    True,
                    "camera_fixed does not work with reference images (S1)",
                    allowed="camera_fixed with text or first/last frames only",
                    suggestion="drop camera_fixed, or describe a still camera in the prompt",
                )
            )
        if (opts.reference_videos or opts.reference_audios) and frames:
            out.append(
                Problem(
                    "options",
                    "reference clips with frame images",
                    "reference videos and audios belong to the reference mode, not to first/last frames",
                    allowed="reference images, videos and audios together",
                )
            )
        return out

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        content: list[dict[str, Any]] = []
        if req.prompt.strip():
            content.append({"type": "text", "text": req.prompt})
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            url = encode_for_json(img, spec.images)
            content.append({"type": "image_url", "image_url": {"url": url}, "role": WIRE_ROLE[role]})
        opts = SeedanceOptions.model_validate(req.options).model_dump(exclude_none=True)
        for url in opts.pop("reference_videos", []):
            content.append({"type": "video_url", "video_url": {"url": url}, "role": "reference_video"})
        for url in opts.pop("reference_audios", []):
            content.append({"type": "audio_url", "audio_url": {"url": url}, "role": "reference_audio"})
        body: dict[str, Any] = {"model": spec.model, "content": content}
        if req.resolution is not None and spec.resolution.field:
            body[spec.resolution.field] = req.resolution
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        if req.duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(req.duration)
        body.update(opts)
        if req.webhook_url:
            body["callback_url"] = req.webhook_url
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        body = self.create_body(prepared)
        response = yield self.json_request("POST", conn, api_path(conn, TASKS), body)
        answer = self.answer(conn.provider.name, response)
        task_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ProtocolError(conn.provider.name, f"create answered without an id: {str(answer)[:200]}", answer)
        return JobUpdate(status=JobStatus.queued, provider_task_id=task_id, raw=answer)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, api_path(conn, f"{TASKS}/{quote(task_id, safe='')}"))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return parse_task(conn.provider.name, self.answer(conn.provider.name, response))

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        """DELETE only a queued task (a finished one would lose its record, a running one is refused)."""
        provider = conn.provider.name
        current = parse_task(provider, self.answer(provider, (yield self.status_request(task_id, conn))))
        if current.raw_status != "queued":
            return current  # running: Seedance cannot stop it; final: nothing to cancel
        path = api_path(conn, f"{TASKS}/{quote(task_id, safe='')}")
        deleted = yield self.json_request("DELETE", conn, path)
        if not deleted.is_success:
            raise seedance_http_error(provider, deleted)
        return parse_task(provider, self.answer(provider, (yield self.status_request(task_id, conn))))

    def answer(self, provider: str, response: httpx.Response) -> Any:
        if not response.is_success:
            raise seedance_http_error(provider, response)
        return json_body(provider, response)


def _expires(task: Task) -> datetime:
    """24 h from when the task finished (its ``updated_at``), or from now when the task does not say."""
    done = unix_time(task.updated_at) or datetime.now(UTC)
    return min(done, datetime.now(UTC)) + URL_LIFETIME


def parse_task(provider: str, body: Any) -> JobUpdate:
    """A GET answer or a callback body (the same task object) -> update."""
    task = read_shape(provider, Task, body, "task")
    if not task.id:
        raise ProtocolError(provider, f"task without an id: {str(body)[:200]}", body)
    raw_status = (task.status or "").strip()
    status = STATUS_MAP.get(raw_status.lower())
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=task.id, raw=body)
    if status is JobStatus.running:
        update.started_at = unix_time(task.created_at)
    if status is not None and status.terminal:
        update.finished_at = unix_time(task.updated_at)
    if status is JobStatus.succeeded:
        media = task.content or _Media()
        if not media.video_url:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="Seedance reported succeeded but content.video_url is empty "
                                    "(the URL is cleared 24 h after the task)")  # fmt: skip
            return update
        expires = _expires(task)
        update.assets = [Asset(kind="video", url=media.video_url, mime_type="video/mp4", expires_at=expires)]
        if media.last_frame_url:
            update.assets.append(
                Asset(kind="thumbnail", url=media.last_frame_url, mime_type="image/png", expires_at=expires)
            )
        update.progress = 100
    elif status is JobStatus.failed:
        err = task.error or _Error()
        text = ": ".join(str(x) for x in (err.code, err.message) if x) or "Seedance reported failed without an error"
        update.error = classify_failure(text, raw=body)
    elif status is JobStatus.cancelled:
        update.error = JobError(code=ErrorCode.cancelled, message="the task was cancelled while queued", raw=body)
    elif status is JobStatus.expired:
        update.error = JobError(
            code=ErrorCode.timeout,
            message="Seedance expired the task: it did not finish within execution_expires_after (default 48 h)",
            retryable=True,
            raw=body,
        )
    return update
