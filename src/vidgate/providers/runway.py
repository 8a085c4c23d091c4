"""Runway's developer API: ``POST /v1/image_to_video`` or ``/v1/text_to_video`` (camelCase bodies, one
discriminated union per ``model``), polled with ``GET /v1/tasks/{id}``, cancelled with ``DELETE /v1/tasks/{id}``.

Every request carries ``X-Runway-Version: 2024-11-06`` (required, exact value) besides the Bearer key.
``ratio`` is the output size written ``"W:H"`` in pixels (``"1280:720"``), duration an integer. A task is
``PENDING``, ``THROTTLED`` (waiting behind the project's other tasks: queued, not failed), ``RUNNING``
(``progress`` 0-1), ``SUCCEEDED`` (``output[]`` URLs that expire within 24-48 h), ``FAILED`` (``failure`` text,
``failureCode`` such as ``SAFETY.INPUT.TEXT``) or ``CANCELLED``. No webhooks: polling only. No caller-supplied
id: a create whose answer was lost is left for a person (``dedups_creates`` stays False).
Source: shared/reference/providers-2026.md §8 (runwayml/sdk-python c604e0e) and more-providers.md §3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError, ProviderHTTPError
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers._base import Connection, Dialect, Flow, JobUpdate, Prepared, http_error, json_body, read_shape
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, ImageRole, JobError, JobStatus, VideoRequest

API_VERSION = "2024-11-06"  # X-Runway-Version: required, this exact value (docs.dev.runwayml.com/api)
OUTPUT_LIFETIME = timedelta(hours=24)  # "URLs expire within 24-48 h": the short end, so vidgate downloads in time
TEXT_ONLY_RATIOS = {"gen4.5": ("1280:720", "720:1280")}  # text_to_video takes fewer ratios than image_to_video
LAST_ONLY_REFUSED = frozenset({"veo3.1", "veo3.1_fast", "gemini_omni_flash", "veo3"})

# Every documented status, explicitly. Anything else: None = keep polling until the deadline.
STATUS_MAP: dict[str, JobStatus | None] = {
    "PENDING": JobStatus.queued,
    "THROTTLED": JobStatus.queued,  # over the tier's concurrency: waits to be enqueued, not a failure
    "RUNNING": JobStatus.running,
    "SUCCEEDED": JobStatus.succeeded,
    "FAILED": JobStatus.failed,
    "CANCELLED": JobStatus.cancelled,  # also what a deleted task reads
}

# failureCode families (docs.dev.runwayml.com/errors/task-failures): generic -> specific, dot-separated.
FAILURE_FAMILIES: list[tuple[str, ErrorCode, bool]] = [
    ("SAFETY.INPUT", ErrorCode.content_policy_input, False),  # moderation of an input: do not retry
    ("SAFETY.OUTPUT", ErrorCode.content_policy_output, False),  # moderation of the output: do not retry
    ("SAFETY", ErrorCode.content_policy_input, False),
    ("INTERNAL.BAD_OUTPUT", ErrorCode.provider_error, True),  # quality/system rejection; a new try may pass
    ("INTERNAL", ErrorCode.provider_error, True),
]


class RunwayOptions(BaseModel):
    """Extra fields of Runway's create bodies (which ones a model takes is in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, ge=0, le=4294967295, description="Random seed (0-4294967295)")
    audio: bool | None = Field(None, description="Veo 3.1 / Seedance 2: generate audio (affects the price)")
    negative_prompt: str | None = Field(None, description="Veo: what to avoid (sent as negativePrompt)")
    public_figure_threshold: Literal["auto", "low"] | None = Field(
        None, description="contentModeration.publicFigureThreshold: auto or low"
    )


class Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    status: str | None = None
    createdAt: str | None = None
    progress: float | None = None
    output: list[Any] | None = None
    failure: str | None = None
    failureCode: str | None = None


def utf16_units(text: str) -> int:
    """Runway counts promptText in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def runway_http_error(provider: str, response: httpx.Response) -> ProviderHTTPError:
    """Typed errors from ``{"error": "...", "issues": [...]}``: the issues (field paths) join the message."""
    error = http_error(provider, response)
    body = error.body
    issues = body.get("issues") if isinstance(body, dict) else None
    if not isinstance(issues, list) or not issues:
        return error
    parts = []
    for issue in issues[:5]:
        if isinstance(issue, dict):
            path = ".".join(str(p) for p in issue.get("path") or [])
            parts.append(f"{path}: {issue.get('message', '')}" if path else str(issue.get("message", "")))
        else:
            parts.append(str(issue))
    return type(error)(provider, error.status_code, f"{error.message} ({'; '.join(parts)})", code=error.code,
                       request_id=error.request_id, retry_after=error.retry_after, body=body)  # fmt: skip


def failure_error(code: str | None, text: str | None, raw: Any) -> JobError:
    """A FAILED task's ``failureCode`` (and ``failure`` text) as a vidgate error."""
    message = " ".join(p for p in (f"[{code}]" if code else "", text or "Runway reported FAILED") if p)
    upper = (code or "").upper()
    for prefix, error_code, retryable in FAILURE_FAMILIES:
        if upper == prefix or upper.startswith(prefix + "."):
            return JobError(code=error_code, message=message, retryable=retryable, raw=raw)
    guess = classify_failure(text, raw=raw)
    return JobError(code=guess.code, message=message, retryable=guess.retryable, raw=raw)


def prompt_image(prepared: Prepared) -> str | list[dict[str, str]] | None:
    """``promptImage``: a lone first frame as a string; frames as ``[{uri, position}]``; references (Seedance 2)
    as ``[{uri}]`` without a position."""
    pairs = list(zip(prepared.roles, prepared.images, strict=True))
    if not pairs:
        return None
    spec = prepared.spec.images
    if len(pairs) == 1 and pairs[0][0] is ImageRole.first_frame:
        return encode_for_json(pairs[0][1], spec)
    rank = {ImageRole.first_frame: 0, ImageRole.reference: 1, ImageRole.last_frame: 2}
    out: list[dict[str, str]] = []
    for role, img in sorted(pairs, key=lambda p: rank[p[0]]):
        item = {"uri": encode_for_json(img, spec)}
        if role is not ImageRole.reference:
            item["position"] = "first" if role is ImageRole.first_frame else "last"
        out.append(item)
    return out


class Runway(Dialect):
    name = "runway"
    Options = RunwayOptions
    operations = frozenset({"cancel", "delete"})

    def auth_headers(self, conn: Connection) -> dict[str, str]:
        return {"Authorization": f"Bearer {conn.api_key}", "X-Runway-Version": API_VERSION}

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        problems: list[Problem] = []
        limit = spec.prompt.max_chars
        if limit is not None and utf16_units(request.prompt) > limit:
            units = utf16_units(request.prompt)
            problems.append(
                Problem(
                    "prompt",
                    f"{units} UTF-16 units",
                    f"Runway counts promptText in UTF-16 units; {spec.model} takes at most {limit}",
                    allowed=f"<= {limit} UTF-16 units",
                    suggestion="shorten the prompt (emoji and rare characters count twice)",
                )
            )
        text_ratios = TEXT_ONLY_RATIOS.get(spec.model)
        if text_ratios and not images and request.aspect_ratio and request.aspect_ratio not in text_ratios:
            problems.append(
                Problem(
                    "aspect_ratio",
                    request.aspect_ratio,
                    f"text_to_video on {spec.model} takes fewer ratios than image_to_video",
                    allowed=", ".join(text_ratios),
                    suggestion="pick one of those, or add a first-frame image",
                )
            )
        roles = [img.role for img in images]
        if ImageRole.last_frame in roles and ImageRole.first_frame not in roles and spec.model in LAST_ONLY_REFUSED:
            problems.append(
                Problem(
                    "images",
                    "last frame only",
                    f"{spec.model} takes a last frame only together with a first frame",
                    allowed="a first frame, or first + last",
                    suggestion="add the first frame",
                )
            )
        if ImageRole.reference in roles and (ImageRole.first_frame in roles or ImageRole.last_frame in roles):
            problems.append(
                Problem(
                    "images",
                    "frames and references",
                    "keyframes (first/last) and reference images cannot be mixed in one Runway task",
                    allowed="frames or references",
                    suggestion="send either first/last frames or reference images",
                )
            )
        return problems

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        body: dict[str, Any] = {"model": spec.model}
        if req.prompt.strip():
            body["promptText"] = req.prompt
        image = prompt_image(prepared)
        if image is not None:
            body["promptImage"] = image
        ratio = req.aspect_ratio or spec.aspect_ratio.default
        if spec.aspect_ratio.field and ratio:
            body[spec.aspect_ratio.field] = ratio
        resolution = req.resolution or spec.resolution.default
        if spec.resolution.field and resolution:
            body[spec.resolution.field] = resolution
        duration = req.duration if req.duration is not None else spec.duration.default
        if spec.duration.field and duration is not None:
            body[spec.duration.field] = spec.duration.encode(duration)
        opts = RunwayOptions.model_validate(req.options)
        if opts.seed is not None:
            body["seed"] = opts.seed
        if opts.audio is not None:
            body["audio"] = opts.audio
        if opts.negative_prompt is not None:
            body["negativePrompt"] = opts.negative_prompt
        if opts.public_figure_threshold is not None:
            body["contentModeration"] = {"publicFigureThreshold": opts.public_figure_threshold}
        return body

    def create_request(self, prepared: Prepared, conn: Connection) -> httpx.Request:
        path = "v1/image_to_video" if prepared.images else "v1/text_to_video"
        return self.json_request("POST", conn, path, self.create_body(prepared))

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.create_request(prepared, conn)
        if not response.is_success:
            raise runway_http_error(conn.provider.name, response)
        body = json_body(conn.provider.name, response)
        task_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ProtocolError(conn.provider.name, f"create answered without an id: {str(body)[:200]}", body)
        # The create answers only {"id"} (no status word): accepted, so queued until the first poll says more.
        return JobUpdate(status=JobStatus.queued, provider_task_id=task_id, raw=body)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"v1/tasks/{quote(task_id, safe='')}")

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return self.parse(conn.provider.name, response)

    def cancel(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        """``DELETE /v1/tasks/{id}`` cancels a PENDING/THROTTLED/RUNNING task but *deletes* a finished one with its
        output, so the task is read first: one that already finished is returned as it is, never deleted."""
        current = self.parse(conn.provider.name, (yield self.status_request(task_id, conn)))
        if current.status is not None and current.status.terminal:
            return current
        response = yield self.json_request("DELETE", conn, f"v1/tasks/{quote(task_id, safe='')}")
        if not response.is_success:
            raise runway_http_error(conn.provider.name, response)
        error = JobError(code=ErrorCode.cancelled, message="the task was cancelled (DELETE /v1/tasks/{id})")
        return JobUpdate(status=JobStatus.cancelled, raw_status="CANCELLED", provider_task_id=task_id, error=error)

    def delete(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[bool]:
        """``DELETE /v1/tasks/{id}`` on a finished task deletes it and purges its output (204, no body)."""
        response = yield self.json_request("DELETE", conn, f"v1/tasks/{quote(task_id, safe='')}")
        if not response.is_success:
            raise runway_http_error(conn.provider.name, response)
        return True

    def parse(self, provider: str, response: httpx.Response) -> JobUpdate:
        if not response.is_success:
            raise runway_http_error(provider, response)
        return parse_task(provider, json_body(provider, response))


def parse_task(provider: str, body: Any) -> JobUpdate:
    task = read_shape(provider, Task, body, "task")
    if not task.id:
        raise ProtocolError(provider, f"task without an id: {str(body)[:200]}", body)
    raw_status = (task.status or "").strip()
    status = STATUS_MAP.get(raw_status.upper())
    update = JobUpdate(status=status, raw_status=raw_status or None, provider_task_id=task.id, raw=body)
    if status is JobStatus.running and task.progress is not None:
        update.progress = max(0, min(99, round(task.progress * 100)))  # a 0-1 fraction; 100 only when done
    elif status is JobStatus.succeeded:
        urls = [u for u in task.output or [] if isinstance(u, str) and u]
        expires = datetime.now(UTC) + OUTPUT_LIFETIME
        update.assets = [Asset(kind="video", url=u, mime_type="video/mp4", expires_at=expires) for u in urls]
        update.progress = 100
        if not urls:
            update.status = JobStatus.failed
            update.error = JobError(code=ErrorCode.provider_error, retryable=True, raw=body,
                                    message="Runway reported SUCCEEDED but output has no URL")  # fmt: skip
    elif status is JobStatus.failed:
        update.error = failure_error(task.failureCode, task.failure, body)
    elif status is JobStatus.cancelled:
        update.error = JobError(code=ErrorCode.cancelled, message="the task was cancelled or deleted", raw=body)
    return update
