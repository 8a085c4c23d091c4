"""Gemini API video generation on the Interactions API (Gemini Omni): ``POST /v1beta/interactions``.

Create with ``background: true``, poll ``GET /v1beta/interactions/{id}``, cancel with
``POST /v1beta/interactions/{id}/cancel``. The video comes back in ``steps[].content[]`` of the
``model_output`` step: inline base64 (decoded to the file while streaming a second GET of the
interaction, so memory stays bounded) or a Files API URI (downloaded with the key).
Facts: shared/reference/google-2026.md §2 (SDK 3.6.1 types, examples A and B).
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidgate.catalog.schema import ModelSpec
from vidgate.catalog.validate import assign_roles
from vidgate.errors import ProtocolError
from vidgate.media import LoadedImage
from vidgate.problems import Problem
from vidgate.providers._base import (
    ChunkTransform,
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    raise_for_status,
    read_shape,
)
from vidgate.providers._google import (
    RpcStatus,
    files_download_url,
    inline_asset,
    inline_transform,
    job_error,
    keyed_get,
    lean_json,
    split_inline,
)
from vidgate.providers._json_stream import is_elided, pointer
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

API_VERSION = "v1beta"  # Google's docs and every example; SDK 3.x defaults to v1 (unverified in production)
CREATE_PATH = f"/{API_VERSION}/interactions"
Task = Literal["text_to_video", "image_to_video", "reference_to_video", "extend", "edit"]

# The whole status enum of the Interaction resource (SDK 3.6.1 interaction.py). None = keep polling.
STATUS_MAP: dict[str, JobStatus | None] = {
    "queued": JobStatus.queued,  # flex / deferred service tiers
    "in_progress": JobStatus.running,
    "completed": JobStatus.succeeded,
    "failed": JobStatus.failed,
    "cancelled": JobStatus.cancelled,
    "incomplete": JobStatus.failed,
    "budget_exceeded": JobStatus.failed,
    "requires_action": None,  # waits for tool results: a video model never asks; keep polling to the deadline
    "idle": None,  # not running and not finished: keep polling to the deadline
    "requires_continuation": None,  # a continuation_token is needed to go on; not for background video
}
_VIDEO_MIME = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mpeg": "video/mpeg", ".mpg": "video/mpg", ".mov": "video/mov",
    ".avi": "video/avi", ".flv": "video/x-flv", ".webm": "video/webm", ".wmv": "video/wmv", ".3gp": "video/3gpp",
}  # fmt: skip


class InteractionsOptions(BaseModel):
    """Per-request options of the Interactions API video path."""

    model_config = ConfigDict(extra="forbid")

    task: Task | None = Field(
        None,
        description="generation_config.video_config.task; derived from the images when omitted "
        "(extend and edit must be named)",
    )
    previous_interaction_id: str | None = Field(
        None, min_length=1, description="Extend or edit the video of this earlier interaction (needs store=true)"
    )
    videos: list[str] = Field(
        default_factory=list,
        description="Input videos: a Files API / https / gs:// URI, or a local file sent inline (base64)",
    )
    delivery: Literal["inline", "uri"] | None = Field(
        None, description="response_format.delivery: inline base64 (the server's default) or a Files API URI"
    )
    background: bool = Field(True, description="Return at once and poll (true) or hold the request open (false)")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="generation_config.seed")
    store: bool | None = Field(None, description="Keep the interaction server-side (default true)")
    service_tier: Literal["flex", "standard", "priority", "deferred"] | None = None
    webhook_metadata: dict[str, Any] | None = Field(
        None, description="webhook_config.user_metadata, sent with webhook_url"
    )


# ---------------------------------------------------------------- response models


class _Block(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str | None = None
    mime_type: str | None = None
    data: str | None = None
    uri: str | None = None


class _Step(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str | None = None
    content: list[_Block] | None = None
    error: RpcStatus | None = None


class _Error(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str | int | None = None
    message: str | None = None


class Interaction(BaseModel):
    """The Interaction resource, as much of it as video needs (SDK 3.6.1 ``interaction.py``)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    status: str | None = None
    model: str | None = None
    steps: list[_Step] | None = None
    errors: list[_Error] | None = None
    created: str | None = None
    updated: str | None = None


# ---------------------------------------------------------------- request building


def derive_task(roles: list[ImageRole], opts: InteractionsOptions) -> Task:
    if opts.task is not None:
        return opts.task
    if ImageRole.reference in roles:
        return "reference_to_video"
    if roles:
        return "image_to_video"
    if opts.videos:
        return "reference_to_video"
    return "text_to_video"


def image_block(img: LoadedImage) -> dict[str, Any]:
    if img.data is None and img.url is not None:
        block: dict[str, Any] = {"type": "image", "uri": img.url}
        guessed = mimetypes.guess_type(img.url.split("?")[0])[0]
        if guessed and guessed.startswith("image/"):
            block["mime_type"] = guessed
        return block
    return {"type": "image", "mime_type": img.mime_type, "data": img.as_base64()}


def is_uri(value: str) -> bool:
    return value.startswith(("http://", "https://", "gs://"))


def video_mime(source: str) -> str:
    return _VIDEO_MIME.get(Path(source.split("?")[0]).suffix.lower(), "video/mp4")


def video_block(source: str) -> dict[str, Any]:
    if is_uri(source):
        return {"type": "video", "uri": source, "mime_type": video_mime(source)}
    data = Path(source).expanduser().read_bytes()
    return {"type": "video", "mime_type": video_mime(source), "data": base64.b64encode(data).decode("ascii")}


def create_body(prepared: Prepared) -> dict[str, Any]:
    req, spec = prepared.request, prepared.spec
    opts = InteractionsOptions.model_validate(req.options)
    task = derive_task(prepared.roles, opts)
    body: dict[str, Any] = {"model": spec.model}
    if opts.background:
        body["background"] = True
    if prepared.images or opts.videos:
        order = {ImageRole.first_frame: 0, ImageRole.last_frame: 1, ImageRole.reference: 2}
        pairs = sorted(zip(prepared.roles, prepared.images, strict=True), key=lambda p: order[p[0]])
        content = [image_block(img) for _, img in pairs]
        content += [video_block(v) for v in opts.videos]
        if req.prompt.strip():
            content.append({"type": "text", "text": req.prompt})
        body["input"] = [{"type": "user_input", "content": content}]
    else:
        body["input"] = req.prompt
    generation: dict[str, Any] = {}
    if opts.seed is not None:
        generation["seed"] = opts.seed
    generation["video_config"] = {"task": task}
    body["generation_config"] = generation
    fmt: dict[str, Any] = {"type": "video"}
    if req.aspect_ratio is not None:
        fmt["aspect_ratio"] = req.aspect_ratio
    if req.resolution is not None:
        fmt["resolution"] = req.resolution
    if req.duration is not None:
        fmt["duration"] = spec.duration.encode(req.duration)
    if opts.delivery is not None:
        fmt["delivery"] = opts.delivery
    body["response_format"] = fmt
    body["response_modalities"] = ["video"]
    if opts.previous_interaction_id:
        body["previous_interaction_id"] = opts.previous_interaction_id
    if opts.store is not None:
        body["store"] = opts.store
    if opts.service_tier is not None:
        body["service_tier"] = opts.service_tier
    if req.webhook_url:
        hook: dict[str, Any] = {"uris": [req.webhook_url]}
        if opts.webhook_metadata:
            hook["user_metadata"] = opts.webhook_metadata
        body["webhook_config"] = hook
    return body


# ---------------------------------------------------------------- checks before any I/O


def preflight_problems(request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
    try:
        opts = InteractionsOptions.model_validate({k: v for k, v in request.options.items() if k in spec.options})
    except ValidationError:
        return []  # catalog.check reports option errors with the field names
    out: list[Problem] = []
    roles = assign_roles(images, spec) if len(images) == len(request.images) else []
    frames = [r for r in roles if r in (ImageRole.first_frame, ImageRole.last_frame)]
    refs = [r for r in roles if r is ImageRole.reference]
    if frames and refs:
        out.append(
            Problem(
                "images",
                f"{len(frames)} frame(s) + {len(refs)} reference(s)",
                f"{spec.key} takes first/last frames (image_to_video) or reference images (reference_to_video), "
                "not both in one request",
                allowed="frames only, or references only",
                suggestion="drop one kind, or mark every image with the same role",
            )
        )
    task = derive_task(roles, opts)
    if opts.previous_interaction_id and opts.task is None:
        out.append(
            Problem(
                "options.task",
                None,
                "previous_interaction_id needs an explicit task",
                allowed="extend, edit",
                suggestion="pass options task='extend' or task='edit'",
            )
        )
    if task in ("extend", "edit"):
        sources = int(bool(opts.previous_interaction_id)) + len(opts.videos)
        if sources != 1:
            out.append(
                Problem(
                    "options.videos",
                    f"{sources} source(s)",
                    f"task {task} needs exactly one source video: previous_interaction_id or one entry in videos",
                    allowed="previous_interaction_id, or videos=[one video]",
                )
            )
        if task == "extend" and spec.extension is None:
            out.append(Problem("options.task", task, f"{spec.key} cannot extend videos", allowed="other tasks"))
        elif task == "extend" and spec.extension is not None and request.duration is not None:
            ext = spec.extension
            if not ext.min_s - 1e-6 <= request.duration <= ext.max_s + 1e-6:
                out.append(
                    Problem(
                        "duration",
                        request.duration,
                        f"an extension by {spec.key} adds {ext.min_s:g} to {ext.max_s:g} s per call",
                        allowed=f"{ext.min_s:g} to {ext.max_s:g} s",
                        suggestion="extend in several calls",
                    )
                )
    elif opts.task == "text_to_video" and (images or opts.videos):
        out.append(Problem("options.task", task, "text_to_video takes no images or videos", allowed="0 inputs"))
    elif opts.task == "image_to_video" and ImageRole.first_frame not in roles:
        out.append(
            Problem("options.task", task, "image_to_video needs a first_frame image", allowed="a first_frame image")
        )
    elif task == "reference_to_video" and not (refs or opts.videos):
        out.append(Problem("options.task", task, "reference_to_video needs reference images or videos", allowed=">= 1"))
    if task == "text_to_video" and opts.videos:
        out.append(Problem("options.videos", len(opts.videos), "input videos need a task", allowed="0"))
    out += _check_videos(request, spec, opts, task)
    if opts.webhook_metadata and not request.webhook_url:
        out.append(Problem("options.webhook_metadata", "set", "needs webhook_url", suggestion="pass webhook_url too"))
    return out


def _check_videos(request: VideoRequest, spec: ModelSpec, opts: InteractionsOptions, task: str) -> list[Problem]:
    from vidgate.media import probe_video

    out: list[Problem] = []
    vspec = spec.video_inputs
    if opts.videos and task == "reference_to_video" and len(opts.videos) > vspec.max_count:
        out.append(
            Problem(
                "options.videos",
                f"{len(opts.videos)} videos",
                f"too many reference videos for {spec.key}",
                allowed=f"at most {vspec.max_count}",
            )
        )
    for i, source in enumerate(opts.videos):
        field = f"options.videos[{i}]"
        if is_uri(source):
            continue
        path = Path(source).expanduser()
        if not path.is_file():
            out.append(
                Problem(field, source, "file not found", allowed="an existing video file, or a https / gs:// URI")
            )
            continue
        size = path.stat().st_size
        if vspec.max_bytes is not None and size > vspec.max_bytes:
            out.append(
                Problem(
                    field,
                    source,
                    f"{size} bytes is over the {vspec.max_bytes}-byte inline limit",
                    allowed=f"<= {vspec.max_bytes} bytes inline",
                    suggestion="upload it with the Files API and pass its URI",
                )
            )
            continue
        try:
            seconds = probe_video(os.fspath(path)).duration
        except Exception as exc:
            out.append(Problem(field, source, f"not a readable video ({exc.__class__.__name__})"))
            continue
        if task == "reference_to_video" and vspec.max_seconds is not None and seconds > vspec.max_seconds + 1e-3:
            out.append(
                Problem(
                    field,
                    source,
                    f"a {seconds:g} s reference video is longer than {spec.key} accepts",
                    allowed=f"<= {vspec.max_seconds:g} s",
                    suggestion="trim it",
                )
            )
        ext = spec.extension
        if task == "extend" and ext is not None and ext.max_total_s is not None:
            added = request.duration if request.duration is not None else ext.min_s
            if seconds + added > ext.max_total_s + 1e-3:
                out.append(
                    Problem(
                        field,
                        source,
                        f"{seconds:g} s + {added:g} s is over the {ext.max_total_s:g} s total {spec.key} can extend to",
                        allowed=f"a result of <= {ext.max_total_s:g} s",
                    )
                )
    return out


# ---------------------------------------------------------------- the dialect


class GoogleInteractions(Dialect):
    name = "google-interactions"
    Options = InteractionsOptions
    operations = frozenset({"cancel"})

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        return preflight_problems(request, spec, images)

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        return create_body(prepared)

    def resource_path(self, interaction_id: str) -> str:
        return f"{CREATE_PATH}/{quote(interaction_id, safe='')}"

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, CREATE_PATH, self.create_body(prepared))
        update = self.parse(conn, response)
        if not update.provider_task_id:
            raise ProtocolError(conn.provider.name, "create answered without an interaction id", update.raw)
        return update

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        request = self.json_request("GET", conn, self.resource_path(task_id))
        response = yield httpx.Request("GET", request.url.copy_add_param("stream", "false"), headers=request.headers)
        return self.parse(conn, response)

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, self.resource_path(task_id) + "/cancel")
        return self.parse(conn, response)

    def parse(self, conn: Connection, response: httpx.Response) -> JobUpdate:
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = lean_json(provider, response)
        ia = read_shape(provider, Interaction, body, "interaction")
        raw_status = (ia.status or "").strip()
        status = STATUS_MAP.get(raw_status.lower())
        update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=ia.id, raw=body)
        if status is JobStatus.succeeded:
            assert ia.id is not None
            update.assets = self.videos(ia, conn.url(self.resource_path(ia.id)))
            update.progress = 100
            if not update.assets:
                update.status = JobStatus.failed
                update.error = failure(ia, body) or JobError(
                    code=ErrorCode.provider_error,
                    message="the interaction completed without a video in its model_output steps",
                    retryable=True,
                    raw=body,
                )
        elif status is JobStatus.failed:
            update.error = failure(ia, body) or _default_failure(raw_status, body)
        elif status is JobStatus.cancelled:
            update.error = JobError(code=ErrorCode.cancelled, message="the interaction was cancelled", raw=body)
        return update

    def videos(self, ia: Interaction, resource_url: str) -> list[Asset]:
        """Video blocks of the model_output steps after the last user_input step (what SDKs call output_video)."""
        steps = ia.steps or []
        last_input = max((i for i, s in enumerate(steps) if s.type == "user_input"), default=-1)
        assets: list[Asset] = []
        for i, step in enumerate(steps):
            if i <= last_input or step.type != "model_output":
                continue
            for j, block in enumerate(step.content or []):
                if block.type != "video":
                    continue
                if block.uri:
                    assets.append(Asset(kind="video", url=block.uri, mime_type=block.mime_type or "video/mp4"))
                elif block.data is not None and (is_elided(block.data) or block.data):
                    assets.append(
                        inline_asset(resource_url, pointer("steps", i, "content", j, "data"), block.mime_type)
                    )
        return assets

    def download_request(self, asset: Asset, conn: Connection) -> httpx.Request:
        inline = split_inline(asset)
        if inline is not None:
            url = httpx.URL(inline[0]).copy_add_param("stream", "false")
            return keyed_get(str(url), conn)
        if asset.url is None:
            raise ValueError("asset has no URL")
        return keyed_get(files_download_url(asset.url), conn)

    def download_transform(self, asset: Asset) -> ChunkTransform | None:
        return inline_transform(asset)


def failure(ia: Interaction, raw: Any) -> JobError | None:
    """Top-level ``errors[]`` first, then the first step-level ``error`` (a google.rpc.Status)."""
    for err in ia.errors or []:
        if err.message or err.code:
            return job_error(err.code, err.message, raw)
    for step in ia.steps or []:
        if step.error is not None and (step.error.message or step.error.code):
            return job_error(step.error.code, step.error.message, raw)
    return None


def _default_failure(raw_status: str, raw: Any) -> JobError:
    if raw_status == "budget_exceeded":
        return JobError(
            code=ErrorCode.quota_exceeded,
            message="the interaction stopped: budget_exceeded (the request's spending limit was reached)",
            raw=raw,
        )
    if raw_status == "incomplete":
        return JobError(
            code=ErrorCode.provider_error,
            message="the interaction ended incomplete without an error message",
            retryable=True,
            raw=raw,
        )
    return JobError(
        code=ErrorCode.provider_error,
        message="the interaction failed without an error message",
        retryable=True,
        raw=raw,
    )
