"""What the emulator should break, as data: a ``FaultPlan`` of per-endpoint rules plus job-level faults.

A plan is JSON (``vidgate emulate --faults plan.json``, ``EmulatorConfig(faults=...)`` or at runtime
``POST /_emulator/faults``)::

    {"seed": 7,
     "rules": [
       {"endpoint": "POST /v2/videos/generations", "kind": "error", "status": 429, "retry_after": 1, "count": 2},
       {"endpoint": "GET /v2/videos/generations/*", "kind": "error", "status": 503, "probability": 0.2},
       {"endpoint": "GET /cdn/*", "kind": "reset", "after_bytes": 4096, "count": 1},
       {"endpoint": "POST *", "kind": "accept_then_drop", "body_contains": "DROP_ME"}],
     "url_ttl_s": 30,
     "late_failure": {"trigger": "FAIL_LATE", "probability": 0.1},
     "wrong_video": {"trigger": "WRONG_VIDEO", "duration_s": 3},
     "video_size": 1073741824}

Rules are tried in order and the first that fires handles the request. ``endpoint`` is ``"*"``,
``"METHOD *"``, ``"METHOD /route/{template}"`` (as the app declares it, e.g. ``GET /cdn/{token}.mp4``) or a
shell glob on the real path (``GET /cdn/*``); the method may be left out or ``*``. A rule fires on a matching
request when it is past ``skip``, has fired fewer than ``count`` times and its seeded coin (``probability``)
comes up; the coin for the k-th matching request of rule i depends only on (seed, i, k), so a run with the
same request order injects the same faults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal[
    "error", "delay", "stall", "reset", "truncate", "drop", "accept_then_drop", "accept_then_error"
]  # fmt: skip
Shape = Literal[
    "auto", "openai", "google", "zhipu", "replicate", "openrouter", "fal", "kling", "runway", "luma",
    "dashscope", "minimax", "text"
]  # fmt: skip

KIND_HELP = {
    "error": "answer `status` (429/5xx...) in the dialect's error shape without reaching the handler",
    "delay": "wait `delay_s`, then answer normally",
    "stall": "send headers and `after_bytes` of the body, pause `stall_s`, then finish normally",
    "reset": "send headers and `after_bytes` of the body, then reset the connection (TCP RST)",
    "truncate": "send headers (Content-Length intact) and `after_bytes` of the body, then close (FIN)",
    "drop": "close the connection without answering; the handler never runs (nothing recorded)",
    "accept_then_drop": "run the handler (a create records the job), then close without answering",
    "accept_then_error": "run the handler (a create records the job), then answer `status` instead",
}


class FaultRule(BaseModel):
    """One per-endpoint fault. See ``KIND_HELP`` for what each kind does."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field("*", description="'*', 'METHOD *', 'METHOD /route/{template}' or 'METHOD /glob/*'")
    kind: FaultKind = Field(description="what to do to the request; see KIND_HELP")
    status: int = Field(503, ge=400, le=599, description="HTTP status for error / accept_then_error")
    retry_after: float | None = Field(None, ge=0, description="seconds sent as Retry-After with the error")
    message: str | None = Field(None, description="error message; a default per status when unset")
    shape: Shape = Field("auto", description="error body shape; auto picks the dialect's from the path")
    delay_s: float = Field(0.0, ge=0, description="seconds to wait before acting (any kind)")
    stall_s: float = Field(5.0, ge=0, description="stall: seconds to pause mid-body")
    after_bytes: int | None = Field(None, ge=0, description="stall/reset/truncate: body bytes sent first (half)")
    skip: int = Field(0, ge=0, description="let this many matching requests through first")
    count: int | None = Field(None, ge=0, description="fire at most this many times (unset: no limit)")
    probability: float = Field(1.0, ge=0, le=1, description="chance (seeded) that a matching request is hit")
    body_contains: str | None = Field(None, description="only requests whose body contains this text")


class LateFailure(BaseModel):
    """Jobs that render to 90%+ and then fail, as the relay warns its output review does."""

    model_config = ConfigDict(extra="forbid")

    trigger: str | None = Field("FAIL_LATE", description="a create body containing this (any case) fails late")
    probability: float = Field(0.0, ge=0, le=1, description="chance (seeded by the request) any job fails late")
    reason: str | None = Field(None, description="failure text; default: the relay's content-policy reason")
    min_progress: float = Field(0.90, ge=0, le=1, description="earliest running fraction at which it fails")
    max_progress: float = Field(0.99, ge=0, le=1, description="latest running fraction at which it fails")

    @model_validator(mode="after")
    def _ordered(self) -> LateFailure:
        if self.min_progress > self.max_progress:
            raise ValueError(f"min_progress {self.min_progress} is above max_progress {self.max_progress}; swap them")
        return self


class WrongVideo(BaseModel):
    """Jobs that succeed with a video unlike the request (another duration and frame size), so a client's
    check of the file against the request (probe mismatch) can be tested."""

    model_config = ConfigDict(extra="forbid")

    trigger: str | None = Field("WRONG_VIDEO", description="a create body containing this (any case) gets it")
    probability: float = Field(0.0, ge=0, le=1, description="chance (seeded by the request) any job gets it")
    duration_s: float | None = Field(None, gt=0, description="seconds served instead; default: half the asked")
    size: str | None = Field(
        None, pattern=r"^[1-9][0-9]*x[1-9][0-9]*$", description="WxH served instead; default: the asked turned 90°"
    )


class FaultPlan(BaseModel):
    """Everything the emulator should break. An empty plan (the default) breaks nothing."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="seeds every probability, so runs repeat")
    rules: list[FaultRule] = Field(default_factory=list)
    url_ttl_s: float | None = Field(
        None, gt=0, description="file URLs minted in status responses expire this many seconds later"
    )
    url_expired_status: Literal[403, 404, 410] = Field(403, description="what an expired file URL answers")
    late_failure: LateFailure | None = None
    wrong_video: WrongVideo | None = None
    video_size: int | None = Field(
        None, ge=0, description="pad every served video to this many bytes (a trailing MP4 'free' box)"
    )

    @classmethod
    def load(cls, source: str | Path) -> FaultPlan:
        """A plan from a JSON file path, or from inline JSON text (starting with ``{``)."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        return cls.model_validate(json.loads(text))
