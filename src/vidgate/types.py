"""The unified request and job types every provider dialect reads and writes."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    """The closed set of job states. Every provider vocabulary maps onto these explicitly."""

    pending = "pending"  # persisted, not yet accepted by the provider
    unknown = "unknown"  # a submit whose outcome is not known (crash or timeout mid-flight)
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    expired = "expired"  # vidgate's deadline passed before the provider finished

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.expired})


class ErrorCode(StrEnum):
    content_policy_input = "content_policy_input"
    content_policy_output = "content_policy_output"
    invalid_request = "invalid_request"
    quota_exceeded = "quota_exceeded"
    rate_limited = "rate_limited"
    auth = "auth"
    provider_error = "provider_error"
    timeout = "timeout"
    cancelled = "cancelled"


class JobError(BaseModel):
    """Why a job failed. ``raw`` keeps the provider's own words verbatim."""

    code: ErrorCode
    message: str
    retryable: bool = False
    raw: Any = None

    @property
    def meaning(self) -> str:
        """vidgate's own one-line English reading of ``code``; ``message`` stays the provider's words verbatim
        (in whatever language it answered)."""
        return ERROR_MEANINGS.get(self.code, "")


ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.content_policy_input: "the provider's content policy refused the prompt or an input image; "
    "change them and try again",
    ErrorCode.content_policy_output: "the provider's content policy refused the prompt or the video it made; "
    "change the prompt and try again",
    ErrorCode.invalid_request: "the provider refused the request as invalid",
    ErrorCode.quota_exceeded: "the account's quota or balance is used up; top it up or wait for it to reset",
    ErrorCode.rate_limited: "the provider is rate limiting this account; try again later",
    ErrorCode.auth: "the provider refused the API key",
    ErrorCode.provider_error: "the provider failed to make the video (its own error, not the request)",
    ErrorCode.timeout: "vidgate stopped waiting: the job passed its deadline before the provider finished",
    ErrorCode.cancelled: "the job was cancelled",
}


class ImageRole(StrEnum):
    first_frame = "first_frame"
    last_frame = "last_frame"
    reference = "reference"


class ImageInput(BaseModel):
    """One image: a local path, bytes, an http(s) URL, a data URI or raw base64, with an optional role."""

    model_config = ConfigDict(frozen=True)

    source: str | bytes
    role: ImageRole | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _path_to_str(cls, v: Any) -> Any:
        return os.fspath(v) if isinstance(v, os.PathLike) else v

    def describe(self) -> str:
        """A short, secret-free description for error messages (never dumps base64)."""
        if isinstance(self.source, bytes):
            return f"<{len(self.source)} bytes>"
        s = self.source
        if s.startswith("data:"):
            return f"<data URI, {len(s)} chars>"
        if len(s) > 80:
            return f"{s[:40]}...<{len(s)} chars>"
        return s


class Shot(BaseModel):
    """One storyboard shot: how long it lasts and what happens in it."""

    model_config = ConfigDict(extra="forbid")

    duration: float = Field(gt=0, description="Seconds")
    scene: str = Field(min_length=1)


ImageLike = ImageInput | str | bytes | Path


class VideoRequest(BaseModel):
    """What the caller wants, independent of any provider's wire format."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: str
    duration: float | None = Field(default=None, description="Seconds")
    aspect_ratio: str | None = Field(default=None, description='e.g. "16:9"')
    resolution: str | None = Field(default=None, description='e.g. "720p", "1080p"')
    size: str | None = Field(default=None, description='Explicit "WIDTHxHEIGHT" where a provider uses sizes')
    hd: bool | None = None
    images: list[ImageInput] = Field(default_factory=list)
    shots: list[Shot] = Field(default_factory=list, description="Storyboard shots")
    characters: list[str] = Field(default_factory=list, description="Character usernames mentioned")
    webhook_url: str | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="Per-provider options, typed per dialect")

    @field_validator("images", mode="before")
    @classmethod
    def _coerce_images(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str | bytes | os.PathLike | ImageInput):
            v = [v]
        return [x if isinstance(x, ImageInput | dict) else ImageInput(source=x) for x in v]

    @field_validator("options", mode="before")
    @classmethod
    def _coerce_options(cls, v: Any) -> Any:
        if isinstance(v, BaseModel):
            return v.model_dump(exclude_none=True)
        return v or {}

    @field_validator("characters", mode="before")
    @classmethod
    def _coerce_characters(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str | Character):
            v = [v]
        return [x.username if isinstance(x, Character) else x for x in v]


class VideoProbe(BaseModel):
    """What a downloaded file really is, read from its container."""

    duration: float
    width: int
    height: int
    codec: str
    fps: float | None = None


class Asset(BaseModel):
    kind: Literal["video", "thumbnail", "spritesheet", "cover"] = "video"
    url: str | None = None
    path: str | None = Field(
        default=None, description="Where the saved bytes live: a local file, or s3://bucket/key in result storage"
    )
    mime_type: str | None = None
    expires_at: datetime | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    probe: VideoProbe | None = None
    mismatch: list[str] = Field(default_factory=list, description="Differences between the request and probe")
    removed_at: datetime | None = Field(
        default=None,
        description="When retention or a DELETE removed the saved bytes from result storage (path still says "
        "where they were kept: a file, or s3://bucket/key)",
    )


class VerdictIssue(BaseModel):
    """One thing a reviewing model found off in a video, and where (seconds from the start, when it says)."""

    what: str
    start_s: float | None = None
    end_s: float | None = None


class Verdict(BaseModel):
    """A chat model's structured answer to "does this video match its prompt?" (``Client.review``)."""

    matches: bool
    summary: str = ""
    issues: list[VerdictIssue] = Field(default_factory=list)
    prompt: str = Field("", description="What the video was checked against")
    chat_model: str = Field("", description="The chat model (catalog key) that reviewed it")
    at: datetime = Field(default_factory=utcnow)


class AssistRecord(BaseModel):
    """One chat-model call made for a job (plan, frame, review): what it used and cost, like the video's."""

    kind: Literal["plan", "frame", "review"]
    chat_model: str = Field(description="Catalog key of the chat model")
    provider: str
    requests: int = Field(1, ge=0, description="HTTP requests sent for it")
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = Field(None, description="What the provider reported it cost; None = not reported")
    at: datetime = Field(default_factory=utcnow)


class Job(BaseModel):
    """One generation, from submission to a final state. ``raw_status`` keeps the provider's own word."""

    id: str
    provider: str
    model: str
    provider_task_id: str | None = None
    status: JobStatus = JobStatus.pending
    raw_status: str | None = None
    progress: int = Field(default=0, ge=0, le=100)
    assets: list[Asset] = Field(default_factory=list)
    error: JobError | None = None
    request: VideoRequest | None = None
    idempotency_key: str | None = None
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    # Durable-job bookkeeping (see vidgate.store). Never a secret: only *where* the key comes from.
    base_url: str | None = Field(
        default=None,
        description="The provider host the job was created for; it is only ever sent there (None: created "
        "before vidgate recorded endpoints)",
    )
    credentials_ref: str | None = Field(
        default=None,
        pattern=r"^(?:[A-Z_][A-Z0-9_]{0,127}|ambient:[a-z0-9][a-z0-9-]{0,39}|key:[0-9a-f]{12})$",
        description="Which credential the job was created with: an environment variable name (e.g. "
        "VIDGATE_RELAY_API_KEY), ambient:<kind> (e.g. ambient:google-adc), or key:<fingerprint> for a key "
        "given as an argument (the first 12 hex digits of its SHA-256); never the key itself",
    )
    resubmit_if_unknown: bool = Field(
        default=False,
        description="Opt-in per job: resubmit automatically when a submit's outcome is unknown (may pay twice)",
    )
    next_poll_at: datetime | None = Field(
        default=None, description="When a worker should next look at this job (poll, reconcile, download); None = idle"
    )
    owner: str | None = Field(
        default=None, description="The gateway API key (its id, never the key) the job belongs to; None outside it"
    )
    route: str | None = Field(default=None, description="The gateway route (host + credentials) that serves the job")
    out: str | None = Field(
        default=None,
        description="Where the caller asked the video to be saved (an absolute path): resuming commands save there",
    )
    request_fingerprint: str | None = Field(
        default=None,
        description="A hash of the request as the gateway received it: a retry with the same Idempotency-Key and "
        "a different request is refused (422)",
    )
    # Managed by the store: set by claim/heartbeat/release and save; ignored when passed in.
    lease_owner: str | None = None
    lease_until: datetime | None = None
    version: int = Field(default=0, ge=0, description="Optimistic-concurrency version; 0 = never stored")
    polls: int = Field(default=0, ge=0, description="Status checks made so far (drives the polling policy)")
    submit_attempts: int = Field(default=0, ge=0, description="Creates sent to the provider for this job")
    cost_usd: float | None = Field(
        default=None, description="What the provider reports the job cost, in USD; None = not reported"
    )
    cancel_unconfirmed: bool = Field(
        default=False,
        description="Cancelled in vidgate only: the create had left (or may have), and the provider did not "
        "confirm a cancel, so it may still make and bill the video (a gateway keeps the charge)",
    )
    review: Verdict | None = Field(default=None, description="The last review of the video (vidgate review)")
    assists: list[AssistRecord] = Field(
        default_factory=list, description="Chat-model calls made for this job (plan, frame, review) and their cost"
    )

    @property
    def video(self) -> Asset | None:
        return next((a for a in self.assets if a.kind == "video"), None)

    @property
    def endpoint(self) -> str:
        """Where the job belongs (``provider base_url credentials_ref``): only a process configured for exactly
        this endpoint drives it. Jobs from before endpoints were recorded belong to their provider."""
        return endpoint_key(self.provider, self.base_url, self.credentials_ref)

    @property
    def done(self) -> bool:
        """Final, and for a success the video is saved: nothing left for vidgate to do."""
        if not self.status.terminal:
            return False
        video = self.video
        return self.status is not JobStatus.succeeded or video is None or video.path is not None


def endpoint_key(provider: str, base_url: str | None, credentials_ref: str | None) -> str:
    """The identity of an endpoint as the store filters on it: ``provider base_url credentials_ref``."""
    if base_url is None:
        return provider
    return f"{provider} {base_url} {credentials_ref or '-'}"


class JobEvent(BaseModel):
    """What the engine tells listeners. ``created`` fires when the job row exists (before anything is sent),
    ``completed`` and ``failed`` exactly once per job."""

    kind: Literal["created", "progress", "completed", "failed", "downloaded", "unknown"]
    job: Job
    at: datetime = Field(default_factory=utcnow)


class Character(BaseModel):
    """A reusable character (cameo) created on a provider; mentioned in prompts as ``@username``."""

    id: str
    username: str
    provider: str
    permalink: str | None = None
    profile_picture_url: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    name: str | None = Field(default=None, description="Local name for prompt templates ({name}); never sent")
    raw: Any = Field(default=None, description="The provider's answer, verbatim")
