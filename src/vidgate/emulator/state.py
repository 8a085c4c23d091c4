"""The emulator's memory: configuration, jobs, rendered files and per-endpoint request counts."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    clock: Callable[[], float] = time.monotonic
    # Zhipu's two documented error bodies: "bigmodel" {"error": {"code": "1301", ...}} or "zai" {"code": 1301, ...}
    zhipu_error_shape: str = "bigmodel"


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
    file_token: str = field(default_factory=lambda: secrets.token_hex(12))


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.jobs: dict[str, EmuJob] = {}
        self.files: dict[str, EmuJob] = {}
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.counts[endpoint] += 1

    def add(self, job: EmuJob) -> EmuJob:
        with self._lock:
            self.jobs[job.task_id] = job
            self.files[job.file_token] = job
        return job

    def timing(self, typical_latency_s: float) -> tuple[float, float]:
        """Queue and render seconds for a new job of a model with this typical latency."""
        if self.config.time_scale is None:
            return self.config.queue_seconds, self.config.render_seconds
        total = typical_latency_s * self.config.time_scale
        return 0.1 * total, 0.9 * total

    def phase(self, job: EmuJob) -> tuple[str, float]:
        """``queued`` / ``running`` / ``done`` and the running fraction 0..1, from the clock."""
        elapsed = self.config.clock() - job.created
        if elapsed < job.queue_s:
            return "queued", 0.0
        running = elapsed - job.queue_s
        if running < job.render_s:
            return "running", running / job.render_s
        return "done", 1.0

    def reset(self) -> None:
        with self._lock:
            self.jobs.clear()
            self.files.clear()
            self.counts.clear()
