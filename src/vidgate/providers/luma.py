"""Luma's two video APIs.

**Luma Agents** (``luma-agents``, current): ``POST /v1/generations`` with ``model: ray-3.2`` and ``type``
``video`` / ``video_edit`` / ``video_reframe``; output settings nested under ``video`` (``resolution``,
``duration`` ``"5s"|"10s"``, ``hdr``, ``loop``, ``start_frame`` / ``end_frame`` as ``{url}`` or
``{data, media_type}``); edit and reframe take one ``source`` video (``{url, media_type}`` or
``{generation_id}``). ``GET /v1/generations/{id}``: ``state`` queued / processing / completed / failed, a
``failure_code`` and ``output[{type, url}]``. The URLs are presigned for one hour: each asset's ``expires_at``
comes from the URL's ``X-Amz-Date`` + ``X-Amz-Expires`` (else one hour from now), so the engine downloads at
once. No webhooks and no cancel are documented.

**Dream Machine** (``luma-dream-machine``, legacy): ``POST /dream-machine/v1/generations/video`` with
``model`` ray-2 / ray-flash-2, ``duration`` ``"5s"|"9s"``, ``keyframes.frame0/frame1`` as image URLs (URLs only),
``callback_url``; ``GET /generations/{id}``: ``state`` queued / dreaming / completed / failed,
``failure_reason``, ``assets.video``. The callback is unsigned: vidgate sends a per-job URL and treats a delivery
only as a hint to poll.

Neither API takes a caller-supplied id, so a create whose answer was lost is left for a person
(``dedups_creates`` stays False). Sources: shared/reference/providers-2026.md §9, more-providers.md §4.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError, ProviderHTTPError, QuotaExceededError
from vidgate.errors import ValidationError as RequestProblems
from vidgate.media import LoadedImage
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, json_body, read_shape
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

PRESIGNED_LIFETIME = timedelta(hours=1)  # Agents output URLs: presigned, 1 h [OFFICIAL docs.agents.lumalabs.ai]
LEGACY_URL_LIFETIME = timedelta(hours=1)  # Dream Machine: not documented; assumed as short as the Agents URLs
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

AGENTS_STATUS: dict[str, JobStatus | None] = {
    "queued": JobStatus.queued,
    "processing": JobStatus.running,
    "completed": JobStatus.succeeded,
    "failed": JobStatus.failed,
}
LEGACY_STATUS: dict[str, JobStatus | None] = {
    "queued": JobStatus.queued,
    "dreaming": JobStatus.running,
    "completed": JobStatus.succeeded,
    "failed": JobStatus.failed,
}

INPUT_WORDS = ("prompt", "input", "image", "source", "frame")  # content_moderated naming what was flagged
# Agents failure_code -> (vidgate code, worth retrying). content_moderated does not say which side was flagged:
# the reason's wording decides (see agents_failure), output when it says nothing.
FAILURE_CODES: dict[str, tuple[ErrorCode, bool]] = {
    "content_moderated": (ErrorCode.content_policy_output, False),
    "generation_failed": (ErrorCode.provider_error, True),
    "budget_exhausted": (ErrorCode.quota_exceeded, False),
    "output_not_found": (ErrorCode.provider_error, True),
    "image_too_large": (ErrorCode.invalid_request, False),
    "unsupported_format": (ErrorCode.invalid_request, False),
    "corrupt_input": (ErrorCode.invalid_request, False),
    "invalid_request": (ErrorCode.invalid_request, False),
    "rate_limited": (ErrorCode.rate_limited, True),
}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def presigned_expiry(url: str, now: datetime | None = None) -> datetime:
    """When a presigned URL stops working: ``X-Amz-Date`` + ``X-Amz-Expires`` when the URL carries them,
    else one hour from ``now`` (the documented lifetime)."""
    now = now or datetime.now(UTC)
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
    try:
        seconds = int(query["x-amz-expires"])
        signed = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (KeyError, ValueError):
        return now + PRESIGNED_LIFETIME
    return signed + timedelta(seconds=seconds)


def luma_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """Typed errors from ``{"detail": "..."}`` (a string, or FastAPI-style ``[{loc, msg}]``); 402 = no credit."""
    error = http_error(provider, response)
    body = error.body
    message = error.message
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts = [f"{'.'.join(str(x) for x in d.get('loc') or [])}: {d.get('msg', '')}" for d in detail
                 if isinstance(d, dict)]  # fmt: skip
        message = "; ".join(parts) or message
    cls = QuotaExceededError if response.status_code == 402 else type(error)
    extra = {"error_code": ErrorCode.quota_exceeded.value} if response.status_code == 402 else {}
    return cls(provider, error.status_code, message, code=error.code, request_id=error.request_id,
               retry_after=error.retry_after, body=body, **extra)  # fmt: skip


# ---------------------------------------------------------------------------------------------- Luma Agents


class LumaAgentsOptions(BaseModel):
    """Extra fields of a Luma Agents ray-3.2 request."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["video", "video_edit", "video_reframe"] = Field(
        "video",
        description="video (text/image to video), video_edit (restyle a video) or video_reframe (outpaint "
        "a video to a new aspect ratio); edit and reframe need `source`",
    )
    source: str | None = Field(
        None,
        description="The source video of video_edit / video_reframe: an https URL of an MP4, or the id "
        "of a completed Luma generation",
    )
    hdr: bool | None = Field(None, description="HDR output (720p/1080p, 5 s only)")
    loop: bool | None = Field(None, description="Loop the clip (5 s only)")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(("https://", "http://")) or _UUID.match(value):
            return value
        raise ValueError("give an https URL of a video or the id (a UUID) of a completed Luma generation")


class AgentsOutput(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str | None = None
    url: str | None = None


class AgentsGeneration(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    state: str | None = None
    type: str | None = None
    model: str | None = None
    created_at: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    output: list[AgentsOutput] | None = None


def image_ref(img: LoadedImage) -> dict[str, str]:
    """An ImageRef: ``{url}`` for a URL, else ``{data, media_type}`` (raw base64 and the image's MIME type)."""
    if img.url is not None:
        return {"url": img.url}
    return {"data": img.as_base64(), "media_type": img.mime_type}


def agents_failure(code: str | None, reason: str | None, raw: Any) -> JobError:
    message = " ".join(p for p in (f"[{code}]" if code else "", reason or "Luma reported failed") if p)
    known = FAILURE_CODES.get((code or "").lower())
    if known is None:
        guess = classify_failure(reason, raw=raw)
        return JobError(code=guess.code, message=message, retryable=guess.retryable, raw=raw)
    error_code, retryable = known
    if error_code is ErrorCode.content_policy_output and any(w in (reason or "").lower() for w in INPUT_WORDS):
        error_code = ErrorCode.content_policy_input
    return JobError(code=error_code, message=message, retryable=retryable, raw=raw)


class LumaAgents(Dialect):
    name = "luma-agents"
    Options = LumaAgentsOptions

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        try:
            opts = LumaAgentsOptions.model_validate(request.options)
        except ValidationError:
            return []  # check() reports bad options with their field names
        problems: list[Problem] = []
        if opts.type != "video" and opts.source is None:
            problems.append(
                Problem(
                    "options.source",
                    None,
                    f"{opts.type} needs the source video",
                    allowed="an https URL of an MP4, or a completed generation's id",
                    suggestion="pass --option source=<url or generation id>",
                )
            )
        if opts.type == "video" and opts.source is not None:
            problems.append(
                Problem(
                    "options.source",
                    opts.source,
                    "a source video is only read by video_edit and video_reframe",
                    allowed="type=video_edit or type=video_reframe",
                    suggestion="set --option type=video_edit (or video_reframe), or drop source",
                )
            )
        if opts.type != "video" and images:
            problems.append(
                Problem(
                    "images",
                    f"{len(images)} image(s)",
                    f"{opts.type} takes a source video, not anchor frames",
                    allowed="0 images",
                    suggestion="drop the images",
                )
            )
        if request.duration is not None and request.duration > 5:
            for name, on in (("hdr", opts.hdr), ("loop", opts.loop)):
                if on:
                    problems.append(
                        Problem(
                            f"options.{name}",
                            True,
                            f"{name} is not available at 10 s",
                            allowed="5 s",
                            suggestion="use duration 5, or drop it",
                        )
                    )
            if images:
                problems.append(
                    Problem(
                        "images",
                        f"{len(images)} image(s)",
                        "anchor frames are not available at 10 s",
                        allowed="5 s",
                        suggestion="use duration 5 with frames",
                    )
                )
        if opts.hdr and (request.resolution or spec.resolution.default) not in ("720p", "1080p"):
            problems.append(
                Problem(
                    "options.hdr",
                    True,
                    "HDR needs 720p or 1080p",
                    allowed="720p, 1080p",
                    suggestion="pass --resolution 720p or 1080p",
                )
            )
        return problems

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        opts = LumaAgentsOptions.model_validate(req.options)
        body: dict[str, Any] = {"model": spec.model, "type": opts.type, "prompt": req.prompt}
        if req.aspect_ratio and spec.aspect_ratio.field:
            body["aspect_ratio"] = req.aspect_ratio
        video: dict[str, Any] = {}
        if req.resolution and spec.resolution.field:
            video["resolution"] = req.resolution
        if req.duration is not None and spec.duration.field and opts.type == "video":
            video["duration"] = spec.duration.encode(req.duration)
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            video["end_frame" if role is ImageRole.last_frame else "start_frame"] = image_ref(img)
        if opts.hdr is not None:
            video["hdr"] = opts.hdr
        if opts.loop is not None:
            video["loop"] = opts.loop
        if video:
            body["video"] = video
        if opts.source is not None:
            is_url = opts.source.startswith(("https://", "http://"))
            body["source"] = {"url": opts.source, "media_type": "video/mp4"} if is_url else {
                "generation_id": opts.source}  # fmt: skip
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, "v1/generations", self.create_body(prepared))
        return self.parse(conn.provider.name, response)

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("GET", conn, f"v1/generations/{quote(task_id, safe='')}")
        return self.parse(conn.provider.name, response)

    def parse(self, provider: str, response: httpx.Response) -> JobUpdate:
        if not response.is_success:
            raise luma_http_error(provider, response)
        return parse_agents_generation(provider, json_body(provider, response))


def parse_agents_generation(provider: str, body: Any) -> JobUpdate:
    gen = read_shape(provider, AgentsGeneration, body, "generation")
    if not gen.id:
        raise ProtocolError(provider, f"generation without an id: {str(body)[:200]}", body)
    raw_status = (gen.state or "").strip()
    status = AGENTS_STATUS.get(raw_status.lower())
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=gen.id, raw=body)
    if status is JobStatus.succeeded:
        now = datetime.now(UTC)
        videos = [o.url for o in gen.output or [] if o.url and (o.type or "video") == "video"]
        update.assets = [Asset(kind="video", url=u, mime_type="video/mp4", expires_at=presigned_expiry(u, now))
                         for u in videos]  # fmt: skip
        update.progress = 100
        if not videos:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="Luma reported completed but output has no video URL")  # fmt: skip
    elif status is JobStatus.failed:
        update.error = agents_failure(gen.failure_code, gen.failure_reason, body)
    return update


# -------------------------------------------------------------------------------------- Dream Machine (legacy)


class LumaDreamMachineOptions(BaseModel):
    """Extra fields of a Dream Machine (legacy) request."""

    model_config = ConfigDict(extra="forbid")

    loop: bool | None = Field(None, description="Loop the video")
    concepts: list[str] | None = Field(None, description="Camera-motion concept keys (sent as [{key}])")


class LegacyAssets(BaseModel):
    model_config = ConfigDict(extra="allow")

    video: str | None = None
    image: str | None = None
    progress_video: str | None = None


class LegacyGeneration(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    state: str | None = None
    failure_reason: str | None = None
    created_at: str | None = None
    model: str | None = None
    assets: LegacyAssets | None = None


class LumaDreamMachine(Dialect):
    name = "luma-dream-machine"
    Options = LumaDreamMachineOptions
    per_job_callback = True  # callback_url: POSTed the generation on dreaming/completed/failed, unsigned
    operations = frozenset({"delete"})  # DELETE /generations/{id} removes a generation (documented as delete)

    def _path(self, conn: Connection, path: str) -> str:
        prefix = conn.provider.path_prefix.strip("/")
        if not prefix or urlsplit(conn.base_url).path.rstrip("/").endswith("/" + prefix):
            return path
        return f"{prefix}/{path}"

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        return [
            Problem(f"images[{img.index}]", img.description, "Dream Machine keyframes are image URLs only",
                    allowed="a public http(s) URL", suggestion="upload the image and pass its URL")
            for img in images
            if img.url is None
        ]  # fmt: skip

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"generation_type": "video", "model": spec.model, "prompt": req.prompt}
        if req.aspect_ratio and spec.aspect_ratio.field:
            body["aspect_ratio"] = req.aspect_ratio
        if req.resolution and spec.resolution.field:
            body["resolution"] = req.resolution
        if req.duration is not None and spec.duration.field:
            body["duration"] = spec.duration.encode(req.duration)
        keyframes: dict[str, Any] = {}
        for role, img in zip(prepared.roles, prepared.images, strict=True):
            if img.url is None:  # preflight refuses these; never send a keyframe without its URL
                raise RequestProblems(self.preflight(prepared.request, prepared.spec, prepared.images), spec.key)
            keyframes["frame1" if role is ImageRole.last_frame else "frame0"] = {"type": "image", "url": img.url}
        if keyframes:
            body["keyframes"] = keyframes
        opts = LumaDreamMachineOptions.model_validate(req.options)
        if opts.loop is not None:
            body["loop"] = opts.loop
        if opts.concepts:
            body["concepts"] = [{"key": k} for k in opts.concepts]
        if req.webhook_url:
            body["callback_url"] = req.webhook_url
        return body

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        path = self._path(conn, "generations/video")
        response = yield self.json_request("POST", conn, path, self.create_body(prepared))
        return self.parse(conn.provider.name, response)

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        path = self._path(conn, f"generations/{quote(task_id, safe='')}")
        response = yield self.json_request("GET", conn, path)
        return self.parse(conn.provider.name, response)

    def delete(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[bool]:
        response = yield self.json_request("DELETE", conn, self._path(conn, f"generations/{quote(task_id, safe='')}"))
        if not response.is_success:
            raise luma_http_error(conn.provider.name, response)
        return True

    def parse(self, provider: str, response: httpx.Response) -> JobUpdate:
        """A create or poll answer, or a callback body (the same Generation object) -> update."""
        if not response.is_success:
            raise luma_http_error(provider, response)
        return parse_legacy_generation(provider, json_body(provider, response))


def parse_legacy_generation(provider: str, body: Any) -> JobUpdate:
    gen = read_shape(provider, LegacyGeneration, body, "generation")
    if not gen.id:
        raise ProtocolError(provider, f"generation without an id: {str(body)[:200]}", body)
    raw_status = (gen.state or "").strip()
    status = LEGACY_STATUS.get(raw_status.lower())
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=gen.id, raw=body)
    if status is JobStatus.succeeded:
        url = gen.assets.video if gen.assets else None
        update.progress = 100
        if url:
            expires = datetime.now(UTC) + LEGACY_URL_LIFETIME
            update.assets = [Asset(kind="video", url=url, mime_type="video/mp4", expires_at=expires)]
        else:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="Luma reported completed but assets.video is empty")  # fmt: skip
    elif status is JobStatus.failed:
        error = classify_failure(gen.failure_reason or "Luma reported failed without a reason", raw=body)
        update.error = error
    return update
