"""The emulator's memory: configuration, jobs, rendered files and per-endpoint request counts."""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from vidgate.emulator.fault_plan import FaultPlan, WrongVideo
from vidgate.emulator.faults import FaultBook, request_fingerprint
from vidgate.emulator.file_tokens import FileIndex
from vidgate.emulator.render import OutputVideo

DEFAULT_KEY = "emulator-key"
POLICY_FAIL_REASON = "输入的提示词或视频的输出内容违反了OpenAI的相关服务政策，请调整提示词后进行重试"


@dataclass
class EmulatorConfig:
    """How the emulated providers behave. Times are seconds on ``clock``."""

    api_keys: set[str] = field(default_factory=lambda: {DEFAULT_KEY})
    queue_seconds: float = 1.0  # NOT_START before IN_PROGRESS
    render_seconds: float = 5.0  # IN_PROGRESS, progress rising, then SUCCESS
    fail_trigger: str = "FAIL_POLICY"  # a prompt containing this (case-insensitive) fails with a policy reason
    # When set, a job takes the model's typical latency from the catalog times this factor (10% queued)
    # instead of queue_seconds + render_seconds: pair it with PollPolicy(time_scale=...) on the client.
    time_scale: float | None = None
    # With time_scale: each job's time is the typical latency times a factor drawn uniformly from
    # [1 - latency_spread, 1 + latency_spread] (seeded by latency_seed, in the order jobs are created).
    latency_spread: float = 0.0
    latency_seed: int = 0
    # OpenAI-format videos: send the openai-poll-after-ms hint while a job runs (as OpenAI does)
    poll_after_hint: bool = True
    clock: Callable[[], float] = time.monotonic
    # Faults to inject from the start (emulator/fault_plan.py); change at runtime with POST /_emulator/faults.
    faults: FaultPlan | None = None
    # Zhipu's two documented error bodies: "bigmodel" {"error": {"code": "1301", ...}} or "zai" {"code": 1301, ...}
    zhipu_error_shape: str = "bigmodel"
    # GET /v1/models on the relay: ids to leave out / to add, so tests can show missing and unknown models
    # (change at runtime with POST /_emulator/models)
    models_hidden: set[str] = field(default_factory=set)
    models_extra: list[str] = field(default_factory=list)
    # Videos at the provider's real frame size and frame rate (1280x720, 1920x1080, 4k...) or, by default,
    # scaled down to a 144-pixel short side at 8 fps with the same aspect ratio, duration and audio: tests stay
    # fast (a render per distinct prompt costs ~10-20 ms instead of ~0.5 s at 720p).
    # `vidgate emulate` and the built-in --emulator serve real sizes unless told --small.
    real_sizes: bool = False


@dataclass
class EmuJob:
    task_id: str
    dialect: str
    model: str
    body: dict[str, Any]
    created: float
    duration: float
    aspect_ratio: str | None
    fail_reason: str | None = None
    queue_s: float = 1.0
    render_s: float = 5.0
    file_id: str = field(default_factory=lambda: secrets.token_hex(12))
    meta: dict[str, Any] = field(default_factory=dict)  # dialect-specific state (cancelled, delivery, ...)
    fail_at: float = 1.0  # running fraction at which a failing job reports its failure (late failures: 0.9+)
    fingerprint: str = ""  # the create request's identity (set by EmulatorState.add; counted in state.creates)
    minter: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    # The finished video's frame size, frame rate and audio, as the provider would return them for this
    # request (the dialect's own facts); None: ``aspect_ratio`` at 720p, 24 fps, silent (files.job_shape).
    output: OutputVideo | None = None
    wrong_video: WrongVideo | None = None  # the wrong_video fault that hit this job (kept if the plan changes)
    owner: EmulatorState | None = field(default=None, repr=False, compare=False)  # set by EmulatorState.add

    @property
    def file_token(self) -> str:
        """The token to put in this job's file URL (``/cdn/{token}.mp4``): the plain ``file_id``, or — when
        the fault plan sets ``url_ttl_s`` — a freshly signed token that expires that many seconds from now."""
        return self.minter(self.file_id) if self.minter else self.file_id


ANY_REQUEST = "* any request"  # the counter of every HTTP request to the emulated providers


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.jobs: dict[str, EmuJob] = {}
        self.counts: Counter[str] = Counter()
        self.faults = FaultBook(config.faults)
        self.files: FileIndex[EmuJob] = FileIndex(lambda: self.config.clock(), lambda: self.faults.plan.url_ttl_s)
        self.creates: Counter[str] = Counter()  # accepted creates per request fingerprint (money safety)
        self._lock = threading.Lock()
        self._spread = random.Random(config.latency_seed)
        self._renderer: ThreadPoolExecutor | None = None  # one thread pre-rendering real-size videos
        self.prerender: Callable[[EmuJob], object] | None = None  # files.job_bytes, set by create_app

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.counts[endpoint] += 1

    def add(self, job: EmuJob) -> EmuJob:
        """Record an accepted create: count it by fingerprint and apply job-level faults (late failure)."""
        job.fingerprint = job.fingerprint or request_fingerprint(job.dialect, job.model, job.body)
        spread = self.config.latency_spread
        if spread and self.config.time_scale is not None:
            with self._lock:
                factor = 1.0 + spread * (2.0 * self._spread.random() - 1.0)
            job.queue_s *= factor
            job.render_s *= factor
        job.minter = self.files.mint
        job.owner = self
        fail_at = self.faults.late_fail_at(job.fingerprint, json.dumps(job.body, ensure_ascii=False, default=str))
        late = self.faults.plan.late_failure
        if fail_at is not None and late is not None and job.fail_reason is None:
            job.fail_reason = late.reason or POLICY_FAIL_REASON
            job.fail_at = fail_at
            self.faults.record("late_failure")
        if self.faults.wrong_video(job.fingerprint, json.dumps(job.body, ensure_ascii=False, default=str)):
            job.wrong_video = self.faults.plan.wrong_video
            self.faults.record("wrong_video")
        with self._lock:
            self.jobs[job.task_id] = job
            self.files[job.file_id] = job
            self.creates[job.fingerprint] += 1
        if self.config.real_sizes and job.fail_reason is None and self.prerender is not None:
            # render a real-size video while the job is queued (0.4 s at 720p, seconds at 4k), so neither the
            # download nor an inline (base64) status answer waits for it; renders are cached per shape
            with self._lock:
                if self._renderer is None:
                    self._renderer = ThreadPoolExecutor(1, thread_name_prefix="emulator-render")
                self._renderer.submit(self.prerender, job)
        return job

    def timing(self, typical_latency_s: float) -> tuple[float, float]:
        """Queue and render seconds for a new job of a model with this typical latency."""
        if self.config.time_scale is None:
            return self.config.queue_seconds, self.config.render_seconds
        total = typical_latency_s * self.config.time_scale
        return 0.1 * total, 0.9 * total

    def done_at(self, job: EmuJob) -> float:
        """When (on ``config.clock``) the job reaches its final state: its last render moment, or the moment
        a late failure is reported."""
        render = job.render_s * (job.fail_at if job.fail_reason else 1.0)
        return job.created + job.queue_s + render

    def phase(self, job: EmuJob) -> tuple[str, float]:
        """``queued`` / ``running`` / ``done`` and the running fraction 0..1, from the clock."""
        elapsed = self.config.clock() - job.created
        if elapsed < job.queue_s:
            return "queued", 0.0
        running = elapsed - job.queue_s
        if running < job.render_s:
            fraction = running / job.render_s
            if job.fail_reason and fraction >= job.fail_at:  # a late failure: reported from here on
                return "done", 1.0
            return "running", fraction
        return "done", 1.0

    def reset(self) -> None:
        with self._lock:
            self.jobs.clear()
            self.files.clear()
            self.counts.clear()
            self.creates.clear()
            self._spread = random.Random(self.config.latency_seed)  # the same job times again
        self.faults.restore()
