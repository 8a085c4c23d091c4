"""The OpenAI-format Videos API: ``POST /v1/videos``, ``GET /v1/videos/{id}``, ``/content``, remix, list, delete.

Spoken by OpenAI itself (Sora 2; its API shut down on 2026-09-24, the dialect stays for endpoints that still
serve it) and by new-api-family relays that expose the same routes ("Sora2官方格式"). Sources:
shared/reference/core-providers.md §1, seed-relay-api.md ("OpenAI-official format on the relay"),
relay-platforms.md §2.5 and §7-8.

Choices (each also written into the catalog entries' notes):

- **Transport.** multipart/form-data with ``input_reference`` as a file part carrying its content type (what
  the relay documents and what the official SDK always sends), unless the option ``transport="json"`` is
  given or the image is a URL: a URL cannot travel as a file part (OpenAI answers "Invalid type for
  'input_reference': expected a file, but got a string instead."), so it goes as JSON
  ``input_reference: {"image_url": ...}``. Which transports a model takes is catalog data.
- **Size.** An explicit ``size`` is sent as is. Otherwise ``aspect_ratio`` picks the orientation and
  ``resolution`` (or ``hd=True`` for the largest) picks among that orientation's sizes, smallest first;
  with none of them no size is sent and the provider's default (720x1280) applies.
- **Seconds.** Always sent, as a string: the provider default (4 s) is billed on relays whose "reverse"
  group only makes 10/15/25 s clips.
- **Characters.** The relays' ``POST /sora/v1/characters`` on the same host and key (``relay_characters``),
  so a ``relay-openai`` character is mentioned as ``@username`` in a ``/v1/videos`` prompt. OpenAI's own
  ``/v1/videos/characters`` is a different API, not wired: its entries say ``characters.supported = false``.
- **Download.** When the video object carries a ``video_url`` / ``url`` (relay drift), that CDN link is
  used: it is what the relays' own content proxy serves and it needs no key (new-api's ``/content`` has
  lost artifacts, relay-platforms.md §5 #6). Otherwise, and always for the thumbnail and spritesheet
  variants, the authenticated ``GET /v1/videos/{id}/content?variant=...``. The API key is only ever sent
  to the API's own origin.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidgate.catalog.schema import ModelSpec
from vidgate.catalog.validate import effective_duration
from vidgate.characters import CharacterRequest
from vidgate.errors import ProtocolError
from vidgate.errors import ValidationError as RequestValidationError
from vidgate.media import LoadedImage, fitted, needs_fetch
from vidgate.problems import Problem
from vidgate.providers import relay_characters
from vidgate.providers._base import (
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    VideoPage,
    json_body,
    raise_for_status,
    unix_time,
)
from vidgate.providers._failure_text import classify_failure
from vidgate.providers._openai_wire import (
    DeletedBody,
    VideoListBody,
    VideoObject,
    encode_multipart,
    form_value,
    parse_size,
    target_size,
)
from vidgate.providers._relay_status import relay_status
from vidgate.providers.relay_unified import character_pair_problems, check_timestamps, parse_progress
from vidgate.types import Asset, Character, ErrorCode, JobError, JobStatus, VideoRequest

VIDEOS_PATH = "/v1/videos"
POLL_AFTER_HEADER = "openai-poll-after-ms"
IMAGE_URL_MAX_CHARS = 20971520  # OpenAPI ImageRefParam image_url maxLength (20 MiB)
PROMPT_MAX_CHARS = 32000
LIST_LIMIT_MAX = 100
Variant = Literal["video", "thumbnail", "spritesheet"]
VARIANTS: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}

# Every status word seen on /v1/videos, explicitly. None = nothing definite: keep polling until the deadline.
STATUS_MAP: dict[str, JobStatus | None] = {
    # OpenAI's VideoStatus enum (OpenAPI spec, openai-python types/video.py)
    "queued": JobStatus.queued,
    "in_progress": JobStatus.running,
    "completed": JobStatus.succeeded,
    "failed": JobStatus.failed,
    # Sora reports "expired" once a finished video is past its retention (github ArcReel/ArcReel#651):
    # a final state whose assets cannot be downloaded any more.
    "expired": JobStatus.failed,
    # new-api's task vocabulary leaking through its /v1/videos (QuantumNous/new-api#5045, ArcReel#410)
    "not_start": JobStatus.queued,
    "submitted": JobStatus.queued,
    "success": JobStatus.succeeded,
    "failure": JobStatus.failed,
    "unknown": None,
}


class OpenAIVideosOptions(BaseModel):
    """Per-request options of the OpenAI-format dialect (which ones a model takes is in the catalog)."""

    model_config = ConfigDict(extra="forbid")

    transport: Literal["multipart", "json"] | None = Field(
        None,
        description="multipart: the image as a file part (default); json: input_reference {image_url} "
        "(a URL, or a local image as a data URI). A URL image always goes as JSON.",
    )
    fit_image: Literal["crop", "pad"] | None = Field(
        None,
        description="Resize the reference image locally to exactly the video size: crop (fill, cut the "
        "overflow) or pad (fit, add bars). Without it a mismatching image is refused before sending.",
    )
    group: Literal["reverse", "official"] | None = Field(
        None,
        description="Relay: the channel group your key belongs to, which decides the lengths: reverse (the "
        "default) makes 10, 15 or 25 s (25 sora-2-pro only); official makes 4, 8 or 12 s, billed per second. "
        "Not sent: the relay picks the group from the key.",
    )
    watermark: bool | None = Field(None, description="Relay: add the relay's watermark (default false)")
    private: bool | None = Field(None, description="Relay: do not publish the video; a private video cannot be remixed")
    character_url: str | None = Field(
        None, description="Relay: video URL to create a character from inline (it must not show a real person)"
    )
    character_timestamps: str | None = Field(
        None, description='Relay: "start,end" seconds where the character appears; end - start in 1..3'
    )

    @field_validator("character_timestamps")
    @classmethod
    def _timestamps(cls, v: str | None) -> str | None:
        if v is not None:
            check_timestamps(v)
        return v

    @field_validator("character_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"must be an http(s) URL of a video, got {v!r}")
        return v


# ---------------------------------------------------------------- the dialect


class OpenAIVideos(Dialect):
    name = "openai-videos"
    Options = OpenAIVideosOptions
    # characters: the relays' POST /sora/v1/characters on the same host and key (seed-relay-api.md "Character
    # cameo"); OpenAI's own /v1/videos/characters is not wired, so openai/* entries say characters.supported=false
    # and the engine refuses them before any I/O.
    operations = frozenset({"remix", "list", "delete", "variants", "characters"})

    # -------------------------------------------------------------- checks before any I/O

    def options(self, request: VideoRequest, spec: ModelSpec) -> OpenAIVideosOptions | None:
        known = {k: v for k, v in request.options.items() if k in spec.options}
        try:
            return OpenAIVideosOptions.model_validate(known)
        except ValidationError:
            return None  # catalog.check reports it

    def transport(self, opts: OpenAIVideosOptions, image: LoadedImage | None, spec: ModelSpec) -> str:
        if opts.transport is not None:
            return opts.transport
        if image is not None and image.url is not None and not needs_fetch(image, spec.images):
            return "json"  # a URL the model takes as a URL (a URL it does not is downloaded first)
        return "multipart" if "multipart" in spec.images.transports or not spec.images.transports else "json"

    def preflight(self, request: VideoRequest, spec: ModelSpec, images: list[LoadedImage]) -> list[Problem]:
        problems: list[Problem] = character_pair_problems(request.options)
        if request.webhook_url is not None:
            problems.append(
                Problem(
                    "webhook_url",
                    request.webhook_url,
                    f"{spec.key} has no per-request callback (OpenAI's video webhooks are set per project in "
                    "its dashboard; the relay documents none on /v1/videos)",
                    allowed="none",
                    suggestion="drop webhook_url: vidgate polls the job",
                )
            )
        size, size_problems = target_size(request, spec)
        problems += size_problems
        opts = self.options(request, spec)
        if opts is None or len(request.images) != 1 or len(images) != 1:
            return problems
        image = images[0]
        transport = self.transport(opts, image, spec)
        passed_as_url = image.url is not None and not needs_fetch(image, spec.images)
        if passed_as_url and transport == "multipart":
            problems.append(
                Problem(
                    "options.transport",
                    "multipart",
                    f"images[0] is a URL ({image.description}), which cannot be sent as a multipart file part "
                    "(OpenAI: \"Invalid type for 'input_reference': expected a file, but got a string instead.\")",
                    allowed="transport=json for a URL image",
                    suggestion="drop --option transport=multipart, or pass a local file instead of the URL",
                )
            )
        if passed_as_url and opts.fit_image and spec.images.must_match_size:
            problems.append(
                Problem(
                    "options.fit_image",
                    opts.fit_image,
                    f"images[0] is a URL ({image.description}): vidgate can only resize local images",
                    allowed="a local path, bytes, data URI or base64 image",
                    suggestion="download the image and pass the file, or drop fit_image",
                )
            )
        problems += size_mismatch(image, size, spec, opts)
        if transport == "json" and image.data is not None:
            chars = len(image.as_data_uri())
            if chars > IMAGE_URL_MAX_CHARS:
                problems.append(
                    Problem(
                        "images[0]",
                        image.description,
                        f"as a data URI it is {chars} characters, over the {IMAGE_URL_MAX_CHARS}-character "
                        "image_url limit",
                        allowed=f"<= {IMAGE_URL_MAX_CHARS} characters (about 15 MB of image)",
                        suggestion="use transport=multipart, or compress the image",
                    )
                )
        return problems

    # -------------------------------------------------------------- create

    def create_fields(self, prepared: Prepared) -> tuple[dict[str, Any], LoadedImage | None]:
        """The create fields in wire order and the (resized, when asked) reference image."""
        req, spec = prepared.request, prepared.spec
        opts = OpenAIVideosOptions.model_validate(req.options)
        fields: dict[str, Any] = {"model": spec.model, "prompt": req.prompt}
        duration = effective_duration(req, spec)
        if duration is not None and spec.duration.field:
            fields[spec.duration.field] = spec.duration.encode(duration)
        size, _ = target_size(req, spec)
        if size is not None:
            fields[spec.size.field or "size"] = size
        for key, value in opts.model_dump(exclude_none=True, exclude={"transport", "fit_image", "group"}).items():
            fields[key] = value
        image = prepared.images[0] if prepared.images else None
        if image is not None and opts.fit_image and image.data is not None:
            target = parse_size(size or spec.size.default)
            if target is not None and (image.width, image.height) != target:
                image = fitted(image, target[0], target[1], opts.fit_image)
        return fields, image

    def create_request(self, prepared: Prepared, conn: Connection) -> httpx.Request:
        opts = OpenAIVideosOptions.model_validate(prepared.request.options)
        if prepared.images:  # an image URL downloaded after preflight is checked now, still before sending
            size, _ = target_size(prepared.request, prepared.spec)
            problems = size_mismatch(prepared.images[0], size, prepared.spec, opts)
            if problems:
                raise RequestValidationError(problems, prepared.spec.key)
        fields, image = self.create_fields(prepared)
        field = prepared.spec.images.field or "input_reference"
        headers = {**self.auth_headers(conn), "Accept": "application/json"}
        if self.transport(opts, image, prepared.spec) == "json":
            body = dict(fields)
            if image is not None:
                body[field] = {"image_url": image.url if image.url is not None else image.as_data_uri()}
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            return httpx.Request("POST", conn.url(VIDEOS_PATH), headers=headers, content=content)
        files: dict[str, tuple[str, bytes, str]] = {}
        if image is not None:
            assert image.data is not None  # a URL image goes as JSON (preflight refuses multipart)
            files[field] = (image.filename, image.data, image.mime_type)
        boundary = f"vidgate-{prepared.idempotency_key}"
        content, ctype = encode_multipart({k: form_value(v) for k, v in fields.items()}, files, boundary)
        headers["Content-Type"] = ctype
        return httpx.Request("POST", conn.url(VIDEOS_PATH), headers=headers, content=content)

    def submit(self, prepared: Prepared, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.create_request(prepared, conn)
        return self.parse_video(conn, response, created=True)

    # -------------------------------------------------------------- retrieve

    def video_path(self, task_id: str, suffix: str = "") -> str:
        return f"{VIDEOS_PATH}/{quote(task_id, safe='')}{suffix}"

    def content_url(self, conn: Connection, task_id: str, variant: str) -> str:
        return conn.url(self.video_path(task_id, "/content")) + "?" + urlencode({"variant": variant})

    def status_request(self, task_id: str, conn: Connection) -> httpx.Request:
        return self.json_request("GET", conn, self.video_path(task_id))

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        response = yield self.status_request(task_id, conn)
        return self.parse_video(conn, response)

    def parse_video(self, conn: Connection, response: httpx.Response, *, created: bool = False) -> JobUpdate:
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = json_body(provider, response)
        update = self.update_from(conn, VideoObject.parse(provider, body), body)
        update.poll_after = poll_after(response.headers)
        if created and update.status is None:
            update.status = JobStatus.queued  # accepted, whatever word the relay used for it
        return update

    def update_from(self, conn: Connection, video: VideoObject, raw: Any) -> JobUpdate:
        raw_status = (video.status or "").strip()
        status = STATUS_MAP.get(raw_status.lower())
        if status is None:  # the relay family's other words (PROCESSING, DONE, succeeded...) or a video already there
            status = relay_status(raw_status, has_video=video.result_url is not None)
        update = JobUpdate(
            status=status,
            raw_status=raw_status or None,
            progress=parse_progress(video.progress),
            provider_task_id=video.id,
            finished_at=unix_time(video.completed_at),
            raw=raw,
        )
        if status is JobStatus.succeeded:
            expires = unix_time(video.expires_at)
            video_url = video.result_url or self.content_url(conn, video.id, "video")
            update.assets = [Asset(kind="video", url=video_url, mime_type="video/mp4", expires_at=expires)]
            update.assets += [
                Asset(
                    kind=kind, url=self.content_url(conn, video.id, kind), mime_type=VARIANTS[kind], expires_at=expires
                )  # type: ignore[arg-type]
                for kind in ("thumbnail", "spritesheet")
            ]
            update.progress = 100
        elif status is JobStatus.failed:
            update.error = job_error(video, raw_status, raw)
        return update

    # -------------------------------------------------------------- characters

    def character_problems(self, request: CharacterRequest) -> list[Problem]:
        return relay_characters.problems(request)

    def create_character(self, request: CharacterRequest, conn: Connection) -> Flow[Character]:
        return relay_characters.create_character(self, request, conn)

    # -------------------------------------------------------------- downloads

    def download_request(self, asset: Asset, conn: Connection) -> httpx.Request:
        """The key goes only to the API's own origin (``/content``); CDN links are fetched without it."""
        if asset.url is None:
            raise ValueError("asset has no URL")
        if same_origin(asset.url, conn.base_url):
            return httpx.Request("GET", asset.url, headers={**self.auth_headers(conn), "Accept": "application/binary"})
        return httpx.Request("GET", asset.url)

    # -------------------------------------------------------------- remix, list, delete

    def remix(
        self, task_id: str, prompt: str, source: VideoRequest | None, spec: ModelSpec, conn: Connection
    ) -> Flow[JobUpdate]:
        problems = remix_problems(prompt, source, spec)
        if problems:
            raise RequestValidationError(problems, spec.key)
        request = self.json_request("POST", conn, self.video_path(task_id, "/remix"), {"prompt": prompt})
        response = yield request
        return self.parse_video(conn, response, created=True)

    def list_videos(
        self, spec: ModelSpec, conn: Connection, *, after: str | None, limit: int | None, order: str | None
    ) -> Flow[VideoPage]:
        problems: list[Problem] = []
        if limit is not None and not 1 <= limit <= LIST_LIMIT_MAX:
            problems.append(Problem("limit", limit, "out of range", allowed=f"1 to {LIST_LIMIT_MAX}"))
        if order is not None and order not in ("asc", "desc"):
            problems.append(Problem("order", order, "not a sort order", allowed="asc, desc"))
        if problems:
            raise RequestValidationError(problems, spec.key)
        query = {k: v for k, v in (("after", after), ("limit", limit), ("order", order)) if v is not None}
        path = VIDEOS_PATH + ("?" + urlencode(query) if query else "")
        response = yield self.json_request("GET", conn, path)
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = json_body(provider, response)
        try:
            page = VideoListBody.model_validate(body)
        except ValidationError as exc:
            raise ProtocolError(provider, f"unexpected video list: {exc.errors()[0]['msg']}", body) from None
        items = [self.update_from(conn, VideoObject.parse(provider, item), item) for item in page.data]
        return VideoPage(
            items=items,
            first_id=page.first_id or (items[0].provider_task_id if items else None),
            last_id=page.last_id or (items[-1].provider_task_id if items else None),
            has_more=bool(page.has_more),
            raw=body,
        )

    def delete(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[bool]:
        response = yield self.json_request("DELETE", conn, self.video_path(task_id))
        provider = conn.provider.name
        raise_for_status(provider, response)
        body = json_body(provider, response)
        try:
            return DeletedBody.model_validate(body).deleted
        except ValidationError:
            raise ProtocolError(provider, f"unexpected delete answer: {str(body)[:200]}", body) from None


# ---------------------------------------------------------------- helpers


def poll_after(headers: httpx.Headers) -> float | None:
    """OpenAI's ``openai-poll-after-ms`` hint in seconds (the SDK's poll helper sleeps that long)."""
    value = headers.get(POLL_AFTER_HEADER)
    if not value:
        return None
    try:
        return max(0.0, float(value) / 1000)
    except ValueError:
        return None


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port) and a.path.startswith(
        b.path.rstrip("/") + "/"
    )


def job_error(video: VideoObject, raw_status: str, raw: Any) -> JobError:
    if raw_status.lower() == "expired":
        return JobError(
            code=ErrorCode.provider_error,
            message=f"the provider reports video {video.id} expired: it is past its retention and can no longer "
            "be downloaded",
            retryable=False,
            raw=raw,
        )
    err = video.error
    code = (err.code if err else None) or ""
    message = (err.message if err else None) or code or "the provider reported failed without an error"
    classified = classify_failure(f"{message} {code}".strip(), raw=err.model_dump() if err else raw)
    return classified.model_copy(update={"message": f"{message} ({code})" if code and code not in message else message})


def size_mismatch(image: LoadedImage, size: str | None, spec: ModelSpec, opts: OpenAIVideosOptions) -> list[Problem]:
    """The reference image must be exactly the video size (``ImageSpec.must_match_size``) unless fit_image is set."""
    target_text = size or spec.size.default
    target = parse_size(target_text)
    if not spec.images.must_match_size or target is None or opts.fit_image or not (image.width and image.height):
        return []
    if (image.width, image.height) == target:
        return []
    return [
        Problem(
            f"images[{image.index}]",
            f"{image.description} ({image.width}x{image.height})",
            f"{spec.key} needs the reference image to be exactly the video size {target_text} "
            "(the provider answers 'Inpaint image must match the requested width and height')",
            allowed=f"a {target_text} image",
            suggestion="pass --option fit_image=crop (fill, cut the overflow) or fit_image=pad "
            "(fit, add bars) to resize it locally, resize it yourself, or pick the size that matches",
        )
    ]


def remix_problems(prompt: str, source: VideoRequest | None, spec: ModelSpec) -> list[Problem]:
    problems: list[Problem] = []
    if not prompt.strip():
        problems.append(Problem("prompt", prompt, "the remix prompt is empty", suggestion="describe the change"))
    elif len(prompt) > PROMPT_MAX_CHARS:
        problems.append(
            Problem(
                "prompt",
                prompt,
                f"{len(prompt)} characters is over the {PROMPT_MAX_CHARS}-character limit",
                allowed=f"1 to {PROMPT_MAX_CHARS} characters",
            )
        )
    if source is not None and source.options.get("private") is True:
        problems.append(
            Problem(
                "options.private",
                True,
                "the source video was created with private=true, and a private video cannot be remixed",
                allowed="a video created without private=true",
                suggestion="generate a new video without --option private=true, then remix that one",
            )
        )
    return problems
