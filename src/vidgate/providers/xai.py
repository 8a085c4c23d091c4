"""xAI's Grok Imagine video API: ``POST /v1/videos/generations`` answers ``{"request_id"}``; the job is read
with ``GET /v1/videos/{request_id}`` until ``status`` is ``done`` (``video.url``).

Facts: shared/reference/providers-2026.md §10 ([OFFICIAL] docs.x.ai video generation; [code] ComfyUI, Vercel
``XaiVideoModel``). The reference gives only ``pending`` and ``done``; other terminal words are NOT VERIFIED
there (§12), so ``failed`` / ``expired`` are read as failures (vidgate's choice) and any other word keeps the job
polling until its deadline. A ``done`` without a URL (a moderation block) is a failure, never a success.
Relays reported xAI answering without a status while the video exists (relay-platforms.md §5 #1): a body with
``video.url`` and no status is a success.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import (
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    json_body,
    raise_for_status,
    read_shape,
)
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

MAX_PROMPT = 4096

STATUS_MAP: dict[str, JobStatus | None] = {
    "pending": JobStatus.queued,
    "done": JobStatus.succeeded,
    "failed": JobStatus.failed,  # NOT VERIFIED in the reference (§12): read as a failure
    "expired": JobStatus.failed,  # NOT VERIFIED: the request expired before a video was made
}


class XaiOptions(BaseModel):
    """Other create fields of ``/v1/videos/generations``."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, description="Random seed")
    user: str | None = Field(None, description="An end-user id for abuse monitoring")


class XaiVideo(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str | None = None
    duration: float | None = None
    upsampled_prompt: str | None = None
    respect_moderation: bool | None = None


class XaiGeneration(BaseModel):
    model_config = ConfigDict(extra="allow")

    request_id: str | None = None
    status: str | None = None
    video: XaiVideo | None = None
    model: str | None = None
    error: Any = None
    usage: dict[str, Any] | None = None


class Xai(Dialect):
    name = "xai"
    Options = XaiOptions

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        roles = {img.role for img in images if img.role is not None}
        if ImageRole.reference in roles and roles - {ImageRole.reference}:
            return [Problem("images", f"{len(images)} images", "a first frame (image) and reference_images exclude "
                            "each other on xAI", allowed="one first-frame image, or reference images only",
                            suggestion="send either the first frame or reference images")]  # fmt: skip
        return []

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"model": spec.model, "prompt": req.prompt}
        refs: list[dict[str, str]] = []
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            encoded = encode_for_json(img, spec.images)  # a public URL or a data URI
            if role is ImageRole.reference:
                refs.append({"url": encoded})
            else:
                body["image"] = {"url": encoded}
        if refs:
            body["reference_images"] = refs
        if req.duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(req.duration)
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        if req.resolution is not None and spec.resolution.field:
            body[spec.resolution.field] = req.resolution
        body.update(XaiOptions.model_validate(req.options).model_dump(exclude_none=True))
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, "v1/videos/generations", self.create_body(prepared))
        raise_for_status(conn.provider.name, response)
        body = json_body(conn.provider.name, response)
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise ProtocolError(conn.provider.name, f"create answer without request_id: {str(body)[:200]}", body)
        return JobUpdate(status=JobStatus.queued, raw_status=None, provider_task_id=request_id, raw=body)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"v1/videos/{quote(task_id, safe='')}")

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        raise_for_status(conn.provider.name, response)
        return parse_generation(conn.provider.name, json_body(conn.provider.name, response), task_id)


def parse_generation(provider: str, body: Any, task_id: str) -> JobUpdate:
    gen = read_shape(provider, XaiGeneration, body, "video")
    raw_status = (gen.status or "").strip()
    url = gen.video.url if gen.video else None
    status = STATUS_MAP.get(raw_status.lower()) if raw_status else (JobStatus.succeeded if url else None)
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=gen.request_id or task_id,
                       raw=body)  # fmt: skip
    if status is JobStatus.succeeded:
        update.progress = 100
        blocked = gen.video is not None and gen.video.respect_moderation is False
        if url and not blocked:
            update.assets = [Asset(kind="video", url=url, mime_type="video/mp4")]
        else:
            update.status = JobStatus.failed
            update.error = JobError(
                code=ErrorCode.content_policy_output,
                retryable=False,
                raw=body,
                message="xAI finished the request without a video (blocked by moderation)",
            )
    elif status is JobStatus.failed:
        reason = _error_text(gen.error) or f"xAI reports the request {raw_status}"
        update.error = classify_failure(reason, raw=body)
        if raw_status.lower() == "expired":
            update.error = JobError(code=ErrorCode.provider_error, message=reason, retryable=True, raw=body)
    return update


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("error") or error.get("code") or "")
    return str(error or "")
