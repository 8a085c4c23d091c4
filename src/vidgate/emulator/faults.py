"""Fault injection for the emulator: which request gets which fault, decided from a ``FaultPlan``.

``FaultBook`` holds the active plan and its counters (thread-safe; the server's event loop and a test thread
may both touch it). ``faults_asgi.EmulatorApp`` asks it about every request except ``/_emulator/*`` and
carries the fault out on the wire, for every dialect the app serves, including ones added later. Job-level
faults (late failures, wrong videos) are decided here too, when a dialect records a job (``EmulatorState.add``).

Decisions are deterministic: the coin for the k-th request matching rule i is ``sha256(seed:i:k)``, and the
late-failure coin of a job is ``sha256(seed:late:<request fingerprint>)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from fnmatch import fnmatchcase
from typing import Any

from vidgate.emulator.fault_plan import KIND_HELP, FaultPlan, FaultRule

CONTROL_PREFIX = "/_emulator/"
_CONVERTOR = re.compile(r"\{(\w+):[^}]*\}")

__all__ = ["CONTROL_PREFIX", "KIND_HELP", "FaultBook", "coin", "endpoint_matches", "request_fingerprint"]


def coin(*parts: object) -> float:
    """A uniform number in [0, 1) that depends only on ``parts``."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def plain_template(template: str) -> str:
    """``/v2/x/{task_id:path}`` -> ``/v2/x/{task_id}``."""
    return _CONVERTOR.sub(r"{\1}", template)


def endpoint_matches(pattern: str, method: str, path: str, template: str | None) -> bool:
    """Does ``pattern`` (``*``, ``METHOD *``, ``METHOD /template`` or ``METHOD /glob*``) cover this request?"""
    pattern = pattern.strip()
    if pattern in ("", "*"):
        return True
    head, sep, rest = pattern.partition(" ")
    want, target = (head.upper(), rest.strip()) if sep and not head.startswith("/") else ("*", pattern)
    if want not in ("*", method) and not (method == "HEAD" and want == "GET"):
        return False
    if target in ("", "*"):
        return True
    target = plain_template(target)
    if template is not None:
        plain = plain_template(template)
        if plain == target or fnmatchcase(plain, target):
            return True
    return fnmatchcase(path, target)


def request_fingerprint(dialect: str, model: str, body: Any) -> str:
    """A stable identity for a create request: the same body for the same model gives the same id."""

    def default(value: object) -> str:
        if isinstance(value, bytes | bytearray):
            return "sha256:" + hashlib.sha256(value).hexdigest()
        return f"<{type(value).__name__}>"

    text = json.dumps([dialect, model, body], sort_keys=True, ensure_ascii=False, default=default)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class FaultBook:
    """The active plan, what each rule has seen and done, and how many faults of each kind took effect."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._startup = plan or FaultPlan()
        self.plan = self._startup
        self._seen: list[int] = []
        self._fired: list[int] = []
        self.injected: Counter[str] = Counter()
        self.set(self._startup)

    def set(self, plan: FaultPlan) -> None:
        """Replace the plan; rule counters start again (injected totals are kept until ``restore``)."""
        with self._lock:
            self.plan = plan
            self._seen = [0] * len(plan.rules)
            self._fired = [0] * len(plan.rules)

    def clear(self) -> None:
        self.set(FaultPlan())

    def restore(self) -> None:
        """Back to the plan the emulator started with, every counter at zero (``/_emulator/reset``)."""
        self.set(self._startup)
        with self._lock:
            self.injected.clear()

    def record(self, what: str) -> None:
        with self._lock:
            self.injected[what] += 1

    # -- per-request rules --------------------------------------------------------------------------------
    def wants_body(self, method: str, path: str, template: str | None) -> bool:
        """Does a rule need the request body to decide (``body_contains``)?"""
        return any(
            r.body_contains is not None and endpoint_matches(r.endpoint, method, path, template)
            for r in self.plan.rules
        )

    def pick(self, method: str, path: str, template: str | None, body: bytes | None = None) -> FaultRule | None:
        """The first rule that fires for this request, counting it; None lets the request through."""
        if path.startswith(CONTROL_PREFIX):
            return None
        with self._lock:
            plan = self.plan
            for i, rule in enumerate(plan.rules):
                if not endpoint_matches(rule.endpoint, method, path, template):
                    continue
                if rule.body_contains is not None and (
                    body is None or rule.body_contains.lower().encode() not in body.lower()
                ):
                    continue
                k = self._seen[i]
                self._seen[i] += 1
                if k < rule.skip or (rule.count is not None and self._fired[i] >= rule.count):
                    continue
                if rule.probability < 1.0 and coin(plan.seed, i, k) >= rule.probability:
                    continue
                self._fired[i] += 1
                return rule
        return None

    # -- job-level faults -----------------------------------------------------------------------------------
    def late_fail_at(self, fingerprint: str, body_text: str) -> float | None:
        """The running fraction (0.90..0.99 by default) at which this new job fails, or None if it does not."""
        plan = self.plan
        late = plan.late_failure
        if late is None:
            return None
        hit = bool(late.trigger) and late.trigger is not None and late.trigger.lower() in body_text.lower()
        if not hit and late.probability > 0:
            hit = coin(plan.seed, "late", fingerprint) < late.probability
        if not hit:
            return None
        span = late.max_progress - late.min_progress
        return late.min_progress + span * coin(plan.seed, "late-at", fingerprint)

    def wrong_video(self, fingerprint: str, body_text: str) -> bool:
        """Does this new job get a video unlike its request (``FaultPlan.wrong_video``)?"""
        plan = self.plan
        wrong = plan.wrong_video
        if wrong is None:
            return False
        if wrong.trigger and wrong.trigger.lower() in body_text.lower():
            return True
        return wrong.probability > 0 and coin(plan.seed, "wrong", fingerprint) < wrong.probability

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rules = [
                {"endpoint": r.endpoint, "kind": r.kind, "seen": s, "fired": f}
                for r, s, f in zip(self.plan.rules, self._seen, self._fired, strict=True)
            ]
            return {
                "plan": self.plan.model_dump(mode="json"),
                "rules": rules,
                "injected": dict(self.injected),
                "kinds": KIND_HELP,
            }
