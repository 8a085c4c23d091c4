"""The relay's unified video format: ``POST /v2/videos/generations`` and ``GET .../{task_id}``.

Source: shared/reference/seed-relay-api.md (the docs the user pasted) and relay-platforms.md §2, §4.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidgate.catalog.schema import ModelSpec
from vidgate.characters import CharacterRequest
from vidgate.errors import ProtocolError, ProviderHTTPError
from vidgate.media import LoadedImage, encode_for_json
from vidgate.problems import Problem
from vidgate.providers import relay_characters
from vidgate.providers._base import (
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    error_details,
    json_body,
    raise_for_status,
    read_shape,
    unix_time,
)
from vidgate.providers._failure_text import classify_failure
from vidgate.providers._relay_status import relay_status
from vidgate.types import Asset, Character, ErrorCode, ImageRole, JobError, JobStatus, Shot, VideoRequest

CREATE_PATH = "/v2/videos/generations"

# The documented status table of this family. None = not definite: keep polling until the deadline.
# parse_status reads it through _relay_status.relay_status: any case, plus the family's other words.
STATUS_MAP: dict[str, JobStatus | None] = {
    "NOT_START": JobStatus.queued,
    "SUBMITTED": JobStatus.queued,
    "QUEUED": JobStatus.queued,
    "IN_PROGRESS": JobStatus.running,
    "SUCCESS": JobStatus.succeeded,
    "FAILURE": JobStatus.failed,
    "UNKNOWN": None,  # new-api's catch-all: the task exists but its state is not known yet
}


class RelayOptions(BaseModel):
    """Extra fields of the relay's unified format (which ones a model takes is in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    watermark: bool | None = Field(None, description="Add the relay's watermark (default false)")
    private: bool | None = Field(None, description="Do not publish the video; a private video cannot be remixed")
    character_url: str | None = Field(
        None, description="Video URL to create a character from inline (it must not show a real person)"
    )
    character_timestamps: str | None = Field(
        None, description='"start,end" seconds where the character appears; end - start in 1..3'
    )
    enhance_prompt: bool | None = Field(None, description="Veo: translate/enhance the prompt (Veo is English-only)")
    enable_upsample: bool | None = Field(None, description="Veo: return a 1080p video")

    @field_validator("character_timestamps")
    @classmethod
    def _timestamps(cls, v: str | None) -> str | None:
        if v is None:
            return v
        check_timestamps(v)
        return v

    @field_validator("character_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not _HTTP_URL.match(v):
            raise ValueError(f"must be an http(s) URL of a video (the relay fetches it), got {v!r}")
        return v


_HTTP_URL = re.compile(r"^https?://[^\s/?#]+\S*$", re.I)


def character_pair_problems(options: dict[str, Any]) -> list[Problem]:
    """``character_url`` and ``character_timestamps`` make one inline character: neither goes alone."""
    url, stamps = options.get("character_url"), options.get("character_timestamps")
    if url is not None and stamps is None:
        return [
            Problem(
                "options.character_timestamps",
                None,
                "character_url needs character_timestamps: the seconds of the video where the character appears",
                allowed='"start,end" in seconds with end - start from 1 to 3, e.g. "1,3"',
                suggestion="add options.character_timestamps, or drop character_url",
            )
        ]
    if stamps is not None and url is None:
        return [
            Problem(
                "options.character_url",
                None,
                "character_timestamps needs character_url: the http(s) URL of the video to take the character from",
                allowed="an http(s) video URL",
                suggestion="add options.character_url, or drop character_timestamps",
            )
        ]
    return []


def check_timestamps(value: str) -> tuple[float, float]:
    """``"start,end"`` in seconds with a span of 1 to 3 s (the relay's rule for characters)."""
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError(f'timestamps must be "start,end" in seconds, e.g. "1,3"; got {value!r}')
    try:
        start, end = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"timestamps must be numbers of seconds; got {value!r}") from None
    if start < 0 or not 1 <= end - start <= 3:
        raise ValueError(f"the span end - start must be 1 to 3 seconds (got {end - start:g}) and start >= 0")
    return start, end


def render_storyboard(shots: list[Shot]) -> str:
    """The relay's storyboard grammar: ``Shot N:\\nduration: Xsec\\nScene: ...`` blocks, blank-line separated."""

    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:g}"

    return "\n\n".join(
        f"Shot {i}:\nduration: {fmt(s.duration)}sec\nScene: {s.scene.strip()}" for i, s in enumerate(shots, 1)
    )


_ROLE_RANK = {ImageRole.first_frame: 0, ImageRole.reference: 1, ImageRole.last_frame: 2}


def frame_order(prepared: Prepared) -> list[LoadedImage]:
    """The images by role: the first frame first, the last frame last, reference images in between in the
    order given. ``images[]`` is positional on the ``*-frames`` models (first frame, then last frame), so
    ``--image last_frame=b --image first_frame=a`` must still go as ``[a, b]`` (as the Zhipu and Google
    dialects order them)."""
    pairs = sorted(zip(prepared.roles, prepared.images, strict=True), key=lambda p: _ROLE_RANK[p[0]])
    return [img for _, img in pairs]


class _TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    output: str | None = None
    outputs: list[Any] | None = None


class RelayTask(BaseModel):
    """``GET /v2/videos/generations/{task_id}`` — the Suno-API / new-api task envelope."""

    model_config = ConfigDict(extra="allow")

    task_id: str | None = None
    status: str | None = None
    fail_reason: str | None = None
    progress: str | int | float | None = None
    data: _TaskData | None = None
    submit_time: int | float | None = None
    start_time: int | float | None = None
    finish_time: int | float | None = None
    platform: str | None = None
    action: str | None = None


def parse_progress(value: str | int | float | None) -> int | None:
    """``"37%"`` -> 37; numbers are clamped to 0..100; anything else -> None."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        number = float(value)
    return max(0, min(100, int(number)))


def output_urls(data: _TaskData | None) -> list[str]:
    if data is None:
        return []
    urls: list[str] = []
    if data.output:
        urls.append(data.output)
    for item in data.outputs or []:
        url = item if isinstance(item, str) else (item.get("url") if isinstance(item, dict) else None)
        if url and url not in urls:
            urls.append(url)
    return urls


class RelayUnified(Dialect):
    name = "relay-unified"
    Options = RelayOptions
    operations = frozenset({"characters"})
    per_job_callback = True  # notify_hook: a URL per create, POSTed to without a signature

    def create_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        prompt = render_storyboard(req.shots) if req.shots else req.prompt
        body: dict[str, Any] = {"prompt": prompt, "model": spec.model}
        if prepared.images:
            body[spec.images.field or "images"] = [encode_for_json(img, spec.images) for img in frame_order(prepared)]
        if req.aspect_ratio is not None and spec.aspect_ratio.field:
            body[spec.aspect_ratio.field] = req.aspect_ratio
        if req.hd is not None and (spec.hd.field or (req.hd is False and spec.family == "sora")):
            # hd is a field of the Sora table on /v2 ("hd | boolean | default false; sora-2-pro only"): an
            # explicit false goes to Sora models as in the seed's example; Veo routes have no hd, so none is sent.
            body[spec.hd.field or "hd"] = req.hd
        duration = (
            req.duration
            if req.duration is not None
            else (round(sum(s.duration for s in req.shots), 3) if req.shots else None)
        )
        if duration is not None and spec.duration.field:
            body[spec.duration.field] = spec.duration.encode(duration)
        if req.webhook_url:
            body["notify_hook"] = req.webhook_url
        for key, value in RelayOptions.model_validate(req.options).model_dump(exclude_none=True).items():
            body[key] = value
        return body

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        return character_pair_problems(request.options)

    def character_problems(self, request: CharacterRequest) -> list[Problem]:
        return relay_characters.problems(request)

    def create_character(self, request: CharacterRequest, conn: Connection) -> Flow[Character]:
        return relay_characters.create_character(self, request, conn)

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.json_request("POST", conn, CREATE_PATH, self.create_body(prepared))
        return self.parse_create(conn.provider.name, response)

    def parse_create(self, provider: str, response: httpx.Response) -> JobUpdate:
        raise_for_status(provider, response)
        body = json_body(provider, response)
        task_id = body.get("task_id") or body.get("id") if isinstance(body, dict) else None
        if not isinstance(task_id, str) or not task_id:
            if isinstance(body, dict) and (body.get("error") or body.get("message") or body.get("msg")):
                message, code = error_details(body)
                raise ProviderHTTPError(provider, response.status_code, message, code=code, body=body)
            raise ProtocolError(provider, f"create answered without a task_id: {str(body)[:200]}", body)
        return JobUpdate(status=JobStatus.queued, provider_task_id=task_id, raw=body)

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, f"{CREATE_PATH}/{quote(task_id, safe='')}")

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return self.parse_status(conn.provider.name, response)

    def parse_status(self, provider: str, response: httpx.Response) -> JobUpdate:
        raise_for_status(provider, response)
        body = json_body(provider, response)
        if isinstance(body, dict) and isinstance(body.get("data"), dict) and "status" in body["data"]:
            body = body["data"]  # a new-api style {"code": "success", "data": {task}} wrapper
        task = read_shape(provider, RelayTask, body, "task")
        raw_status = (task.status or "").strip()
        urls = output_urls(task.data)
        # Any case, and the family's other words (COMPLETED, FAILED, DONE, EXPIRED, processing, ...): see
        # _relay_status; a word that says nothing definite while a video URL is there is success.
        status = relay_status(raw_status, has_video=bool(urls))
        update = JobUpdate(
            status=status,
            raw_status=raw_status or None,
            progress=parse_progress(task.progress),
            provider_task_id=task.task_id,
            started_at=unix_time(task.start_time),
            finished_at=unix_time(task.finish_time),
            raw=body,
        )
        if status is JobStatus.succeeded:
            if not urls:
                update.status = JobStatus.failed
                update.error = JobError(
                    code=ErrorCode.provider_error,
                    message=f"the relay reported {raw_status} but returned no video URL in data.output / data.outputs",
                    retryable=True,
                    raw=body,
                )
            update.assets = [Asset(kind="video", url=u, mime_type="video/mp4") for u in urls]
            update.progress = 100
        elif status is JobStatus.failed and not task.fail_reason and raw_status.lower() == "expired":
            update.error = JobError(
                code=ErrorCode.provider_error,
                message=f"the relay reports task {task.task_id or ''} {raw_status}: it is past the relay's "
                "retention and its result can no longer be fetched",
                retryable=False,
                raw=body,
            )
        elif status is JobStatus.failed:
            update.error = classify_failure(task.fail_reason, raw=task.fail_reason)
        return update
