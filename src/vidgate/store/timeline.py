"""Durations derived from a job's timeline: how long it queued, rendered and downloaded. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vidgate.store.base import EventKind, TimelineEntry
from vidgate.types import JobStatus


@dataclass(frozen=True)
class JobTimings:
    """Seconds spent in each phase; None when the timeline does not show that phase (yet)."""

    queued_s: float | None  # accepted by the provider (queued) -> rendering (running) or a final state
    render_s: float | None  # first running -> first final state
    download_s: float | None  # first download_started -> last download_completed
    total_s: float | None  # first entry -> last final state or last completed download


Pred = Callable[[TimelineEntry], bool]


def _first(entries: Iterable[TimelineEntry], pred: Pred) -> datetime | None:
    for e in entries:
        if pred(e):
            return e.at
    return None


def timings(entries: Sequence[TimelineEntry]) -> JobTimings:
    def status_in(*statuses: JobStatus) -> Pred:
        return lambda e: e.kind == EventKind.status and e.status in statuses

    final = tuple(s for s in JobStatus if s.terminal)
    queued = _first(entries, status_in(JobStatus.queued))
    running = _first(entries, status_in(JobStatus.running))
    done = _first(entries, status_in(*final))
    dl_start = _first(entries, lambda e: e.kind == EventKind.download_started)
    dl_done = _first(reversed(entries), lambda e: e.kind == EventKind.download_completed)

    def span(a: datetime | None, b: datetime | None) -> float | None:
        return None if a is None or b is None else max(0.0, (b - a).total_seconds())

    end_candidates = [t for t in (done, dl_done) if t is not None]
    return JobTimings(
        queued_s=span(queued, running or done),
        render_s=span(running, done),
        download_s=span(dl_start, dl_done),
        total_s=span(entries[0].at if entries else None, max(end_candidates) if end_candidates else None),
    )
