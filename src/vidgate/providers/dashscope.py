"""Alibaba Wan on DashScope / Model Studio: the asynchronous video-synthesis task API.

``POST {base}/api/v1/services/aigc/video-generation/video-synthesis`` with ``X-DashScope-Async: enable`` (HTTP
calls must be asynchronous) and ``{model, input, parameters}`` answers ``{"output": {"task_id", "task_status":
"PENDING"}, "request_id"}``; ``GET {base}/api/v1/tasks/{id}`` is the truth; ``POST .../tasks/{id}/cancel``
cancels a PENDING task ([MEMORY] in the reference, so cancel reads the status first and asks only then).

The create body differs by model generation, and the catalog says which form a model takes: images in
``input.img_url`` (2.x image-to-video), ``input.first_frame_url`` + ``last_frame_url`` (keyframe models) or
``input.media[]`` (wan2.7, wan3.0); the shape in ``parameters.size`` (``"1280*720"``, text-to-video up to 2.6) or
``parameters.resolution`` (``"720P"``) + ``ratio``.

``UNKNOWN`` answered with HTTP 200 means the task id is unknown to this host or has expired (task ids and
``video_url`` live 24 h): a *final* state here, ``expired`` with a message saying so, never "keep polling".
No callbacks and no caller id exist: an ``unknown`` create is left for a person, never resent.
Facts: shared/reference/providers-2026.md §7 (newer) and more-providers.md §6.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
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
    QuotaExceededError,
    RateLimitError,
)
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, json_body, read_shape
from vidgate.providers._failure_text import classify_failure
from vidgate.providers.zhipu import api_path
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

CREATE_PATH = "services/aigc/video-generation/video-synthesis"
TASKS = "tasks"
URL_LIFETIME = timedelta(hours=24)  # task_id and video_url are valid 24 h
# DashScope writes times as "2025-09-25 14:32:05.123" without a zone. Read as China time (UTC+8) they are never
# later than the truth when the host writes UTC instead, so the video's expiry is never overestimated.
PROVIDER_TZ = timezone(timedelta(hours=8))

# The whole TaskStatus enum (SDK constants). UNKNOWN is final: an expired or unknown task id. SUSPENDED (also in
# the SDK) and any other word: None = keep polling until the deadline.
STATUS_MAP: dict[str, JobStatus | None] = {
    "PENDING": JobStatus.queued,
    "RUNNING": JobStatus.running,
    "SUCCEEDED": JobStatus.succeeded,
    "FAILED": JobStatus.failed,
    "CANCELED": JobStatus.cancelled,
    "UNKNOWN": JobStatus.expired,
}
MEDIA_TYPE = {ImageRole.first_frame: "first_frame", ImageRole.last_frame: "last_frame",
              ImageRole.reference: "reference_image"}  # fmt: skip
# Error codes seen in DashScope's docs (the reference transcribes only the envelope and InvalidParameter; the
# rest are [MEMORY], see the catalog's unconfirmed): codes beat status for policy, quota and throttling.
POLICY_CODES = ("DataInspectionFailed", "DataInspection", "IPInfringementSuspect")
QUOTA_CODES = ("Arrearage", "AllocationQuota", "QuotaExhausted", "FreeTierOnly")
AUTH_CODES = ("InvalidApiKey", "AccessDenied", "Unauthorized")


class DashScopeOptions(BaseModel):
    """``input`` and ``parameters`` fields of Wan video synthesis besides prompt, images, duration and shape."""

    model_config = ConfigDict(extra="forbid")

    negative_prompt: str | None = Field(None, max_length=500, description="What to avoid (at most 500 characters)")
    prompt_extend: bool | None = Field(None, description="Let DashScope rewrite the prompt (default true; slower)")
    watermark: bool | None = Field(None, description="Add the 'AI generated' watermark (default false)")
    seed: int | None = Field(None, ge=0, le=2147483647, description="Random seed, 0 to 2147483647")
    audio: bool | None = Field(None, description="Generate audio (wan2.5+; wan3.0 defaults to true)")
    audio_url: str | None = Field(
        None, description="Driving audio URL (mp3/wav): input.audio_url or media driving_audio"
    )
    shot_type: Literal["single", "multi"] | None = Field(None, description="wan2.6: one shot or several")
    reference_videos: list[str] | None = Field(None, description="wan3.0: reference video URLs (media reference_video)")
    reference_audios: list[str] | None = Field(None, description="wan3.0: reference audio URLs (media reference_audio)")


class _Output(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_id: str | None = None
    task_status: str | None = None
    video_url: str | None = None
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    code: str | None = None
    message: str | None = None


class TaskAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")

    request_id: str | None = None
    output: _Output | None = None
    usage: dict[str, Any] | None = None


def provider_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=PROVIDER_TZ)


def _has(code: str, names: tuple[str, ...]) -> bool:
    return any(code.startswith(n) for n in names)


def dashscope_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """``{"request_id", "code", "message"}``: the request id from the body, the class from the code where it
    says more than the HTTP status (a policy refusal, an unpaid account, throttling)."""
    base = http_error(provider, response)
    body = base.body if isinstance(base.body, dict) else {}
    code = str(body.get("code") or base.code or "")
    kwargs: dict[str, Any] = {"code": code or None, "retry_after": base.retry_after, "body": base.body,
                              "request_id": body.get("request_id") or base.request_id}  # fmt: skip
    status = response.status_code
    if _has(code, POLICY_CODES):
        return ContentPolicyError(provider, status, base.message, error_code=ErrorCode.content_policy_input, **kwargs)
    if _has(code, QUOTA_CODES):
        return QuotaExceededError(provider, status, base.message, error_code=ErrorCode.quota_exceeded, **kwargs)
    if code.startswith("Throttling") or status == 429:
        return RateLimitError(provider, status, base.message, error_code=ErrorCode.rate_limited, **kwargs)
    if _has(code, AUTH_CODES) and status < 500:
        return AuthenticationError(provider, status, base.message, error_code=ErrorCode.auth, **kwargs)
    return type(base)(provider, status, base.message, **kwargs)


def _urls(body: dict[str, Any]) -> list[str]:
    inputs = body.get("input", {})
    urls = [v for k, v in inputs.items() if isinstance(v, str) and k.endswith("_url")]
    urls += [m.get("url", "") for m in inputs.get("media", [])]
    return urls


class DashScope(Dialect):
    name = "dashscope"
    Options = DashScopeOptions
    operations = frozenset({"cancel"})

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        out: list[Problem] = []
        try:
            opts = DashScopeOptions.model_validate(request.options)
        except ValidationError:
            return out  # catalog.check reports the option errors
        roles = assign_roles(images, spec) if len(images) == len(request.images) else []
        frames = {ImageRole.first_frame, ImageRole.last_frame} & set(roles)
        refs = ImageRole.reference in roles or opts.reference_videos or opts.reference_audios
        if frames and refs:
            out.append(
                Problem(
                    "images",
                    ", ".join(r.value for r in roles) or "reference clips",
                    "reference media cannot be combined with first/last frames (wan3.0 media rules)",
                    allowed="first_frame (+ last_frame), or reference images, videos and audios",
                    suggestion="send the frames and the references as two jobs",
                )
            )
        for name, values, limit in (
            ("reference_videos", opts.reference_videos or [], spec.video_inputs.max_count),
            ("reference_audios", opts.reference_audios or [], spec.audio_inputs.max_count),
        ):
            if len(values) > limit:
                out.append(Problem(f"options.{name}", f"{len(values)} items", f"too many for {spec.key}",
                                   allowed=f"at most {limit}" if limit else "none on this model"))  # fmt: skip
        sources = [opts.audio_url] if opts.audio_url else []
        for url in [*sources, *(opts.reference_videos or []), *(opts.reference_audios or [])]:
            if not url.lower().startswith(("https://", "http://", "oss://")):
                out.append(
                    Problem(
                        "options",
                        url[:80],
                        "DashScope fetches audio and video inputs by URL",
                        allowed="an https:// URL or an oss:// temporary URL from DashScope's upload",
                        suggestion="upload the file and pass its URL",
                    )
                )
        return out

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        opts = DashScopeOptions.model_validate(req.options).model_dump(exclude_none=True)
        inputs: dict[str, Any] = {}
        if req.prompt.strip():
            inputs["prompt"] = req.prompt
        if "negative_prompt" in opts:
            inputs["negative_prompt"] = opts.pop("negative_prompt")
        field = (spec.images.field or "input.img_url").removeprefix("input.")
        media: list[dict[str, str]] = []
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            url = encode_for_json(img, spec.images)
            if field == "media":
                media.append({"type": MEDIA_TYPE[role], "url": url})
            elif field == "first_frame_url":  # keyframe models
                inputs["last_frame_url" if role is ImageRole.last_frame else "first_frame_url"] = url
            else:
                inputs[field] = url
        audio_url = opts.pop("audio_url", None)
        if audio_url and field == "media":
            media.append({"type": "driving_audio", "url": audio_url})
        elif audio_url:
            inputs["audio_url"] = audio_url
        media += [{"type": "reference_video", "url": u} for u in opts.pop("reference_videos", [])]
        media += [{"type": "reference_audio", "url": u} for u in opts.pop("reference_audios", [])]
        if media:
            inputs["media"] = media
        parameters: dict[str, Any] = {}
        if req.size is not None and spec.size.field:
            parameters[spec.size.field.removeprefix("parameters.")] = req.size.replace("x", "*")
        if req.resolution is not None and spec.resolution.field:
            parameters[spec.resolution.field.removeprefix("parameters.")] = req.resolution.upper()
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            parameters[spec.aspect_ratio.field.removeprefix("parameters.")] = req.aspect_ratio
        if req.duration is not None and spec.duration.field:
            parameters[spec.duration.field.removeprefix("parameters.")] = spec.duration.encode(req.duration)
        parameters.update(opts)
        body: dict[str, Any] = {"model": spec.model, "input": inputs}
        if parameters:
            body["parameters"] = parameters
        return body

    def create_request(self, prepared: Prepared, conn: Connection) -> httpx.Request:
        body = self.create_body(prepared)
        request = self.json_request("POST", conn, api_path(conn, CREATE_PATH), body)
        request.headers["X-DashScope-Async"] = "enable"  # HTTP calls must be asynchronous
        if any(u.startswith("oss://") for u in _urls(body)):
            request.headers["X-DashScope-OssResourceResolve"] = "enable"  # temporary oss:// URLs from upload
        return request

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.create_request(prepared, conn)
        return parse_task(conn.provider.name, self.answer(conn.provider.name, response))

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, api_path(conn, f"{TASKS}/{quote(task_id, safe='')}"))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return parse_task(conn.provider.name, self.answer(conn.provider.name, response), task_id)

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        """Only a PENDING task can be cancelled: ask only then, and report what the task then is."""
        provider = conn.provider.name
        current = parse_task(provider, self.answer(provider, (yield self.status_request(task_id, conn))), task_id)
        if current.raw_status != "PENDING":
            return current
        path = api_path(conn, f"{TASKS}/{quote(task_id, safe='')}/cancel")
        self.answer(provider, (yield self.json_request("POST", conn, path)))
        return parse_task(provider, self.answer(provider, (yield self.status_request(task_id, conn))), task_id)

    def answer(self, provider: str, response: httpx.Response) -> Any:
        if not response.is_success:
            raise dashscope_http_error(provider, response)
        return json_body(provider, response)


def _failure(out: _Output, body: Any) -> JobError:
    code, message = out.code or "", out.message or ""
    text = ": ".join(x for x in (code, message) if x) or "DashScope reported FAILED without a code"
    if _has(code, POLICY_CODES):
        low = message.lower()
        policy = ErrorCode.content_policy_output if "output" in low and "input" not in low else None
        return JobError(code=policy or ErrorCode.content_policy_input, message=text, raw=body)
    if _has(code, QUOTA_CODES):
        return JobError(code=ErrorCode.quota_exceeded, message=text, raw=body)
    if code.startswith("InvalidParameter"):
        return JobError(code=ErrorCode.invalid_request, message=text, raw=body)
    return classify_failure(text, raw=body)


def parse_task(provider: str, body: Any, task_id: str | None = None) -> JobUpdate:
    """A create or task answer -> update. ``task_id``: the id asked for (an UNKNOWN answer may not echo it)."""
    answer = read_shape(provider, TaskAnswer, body, "task")
    out = answer.output
    tid = (out.task_id if out else None) or task_id
    if out is None or not tid:
        raise ProtocolError(provider, f"answer without output.task_id: {str(body)[:200]}", body)
    raw_status = (out.task_status or "").strip()
    status = STATUS_MAP.get(raw_status.upper())
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=tid, raw=body)
    update.started_at = provider_time(out.scheduled_time)
    if status is not None and status.terminal:
        update.finished_at = provider_time(out.end_time)
    if status is JobStatus.succeeded:
        if not out.video_url:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="DashScope reported SUCCEEDED without output.video_url")  # fmt: skip
            return update
        now = datetime.now(UTC)
        ended = min(update.finished_at or now, now)
        update.assets = [Asset(kind="video", url=out.video_url, mime_type="video/mp4", expires_at=ended + URL_LIFETIME)]
        update.progress = 100
    elif status is JobStatus.failed:
        update.error = _failure(out, body)
    elif status is JobStatus.cancelled:
        update.error = JobError(code=ErrorCode.cancelled, message="the task was canceled while PENDING", raw=body)
    elif status is JobStatus.expired:
        update.error = JobError(
            code=ErrorCode.provider_error,
            message=f"DashScope answered UNKNOWN for task {tid}: this host does not know the task id, or it "
            "expired (task ids and video URLs live 24 h). Nothing more will come from it: check the region "
            "(model, host and key must match) or submit again.",
            raw=body,
        )
    return update
