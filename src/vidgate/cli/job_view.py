"""How one job reads in the terminal: ``vidgate jobs show`` (and the one-line summaries of the other commands).

``job_sections`` turns a stored job and its timeline into titled sections of plain lines (status, what to do,
timeline, file, probe, error...); ``render_job`` prints them. Both are data first, so other features add
their own section by appending a function to ``SECTIONS`` (it gets the ``JobView`` and returns a ``Section``
or ``None`` when it has nothing to say) instead of editing the printer. ``show_json`` is what ``--json``
prints, for machines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from vidgate.cli.assist_common import verdict_lines
from vidgate.engine.endpoints import describe_endpoint
from vidgate.store import JobTimings, TimelineEntry
from vidgate.types import ErrorCode, Job, JobStatus


@dataclass(frozen=True)
class JobView:
    """Everything ``jobs show`` knows about one job: the stored job, its timeline and the phase durations."""

    job: Job
    timeline: Sequence[TimelineEntry] = ()
    timings: JobTimings | None = None


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)


def summary_json(job: Job) -> dict[str, Any]:
    """The short machine-readable form of a job (``jobs list --json``, ``watch``, ``cancel``, ``retry``)."""
    video = job.video
    return {
        "id": job.id,
        "model": job.model,
        "status": job.status.value,
        "raw_status": job.raw_status,
        "progress": job.progress,
        "provider_task_id": job.provider_task_id,
        "endpoint": describe_endpoint(job.provider, job.base_url, job.credentials_ref),
        "created_at": job.created_at.isoformat(),
        "video": video.path if video else None,
        "out": job.out,
        "error": error_json(job),
    }


def error_json(job: Job) -> dict[str, Any] | None:
    if job.error is None:
        return None
    meaning = UNKNOWN_MEANING if job.status is JobStatus.unknown else job.error.meaning
    return {**job.error.model_dump(mode="json", exclude={"raw"}), "meaning": meaning}


def show_json(view: JobView) -> dict[str, Any]:
    """``jobs show --json``: the whole job, its timeline and phase durations, and what to do next."""
    t = view.timings
    return {
        "job": view.job.model_dump(mode="json"),
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind, "status": e.status, "detail": e.detail} for e in view.timeline
        ],
        "timings": {
            "queued_s": t.queued_s if t else None,
            "render_s": t.render_s if t else None,
            "download_s": t.download_s if t else None,
            "total_s": t.total_s if t else None,
        },
        "error_meaning": (error_json(view.job) or {}).get("meaning"),
        "next_steps": next_steps(view.job),
    }


def next_steps(job: Job) -> list[str]:
    """What the user can do with the job now, as commands to copy."""
    jid = job.id
    status = job.status
    video = job.video
    if status is JobStatus.pending:
        return [
            f"nothing was sent yet: a running `vidgate worker` sends it, or `vidgate jobs watch {jid} --drive` "
            "sends and follows it from this terminal",
            f"`vidgate jobs cancel {jid}` drops it (nothing is paid)",
        ]
    if status is JobStatus.unknown:
        return [
            "the create may have reached the provider (its answer never came): check the provider's console first",
            f"`vidgate jobs retry {jid} --yes` sends it again (may pay twice), or `vidgate jobs cancel {jid}`",
        ]
    if status in (JobStatus.queued, JobStatus.running):
        return [
            f"`vidgate jobs watch {jid}` follows it while a `vidgate worker` runs it; "
            f"`vidgate jobs watch {jid} --drive` does the work in this terminal instead",
            f"`vidgate jobs cancel {jid}` stops it (where the provider can cancel; the render may still be billed)",
        ]
    if status is JobStatus.succeeded:
        if video is not None and video.path and Path(video.path).exists():
            return [f"the video is at {video.path}; `vidgate jobs download {jid} --out FILE` copies it elsewhere"]
        where = f" (to {job.out})" if job.out else ""
        return [f"`vidgate jobs download {jid}` saves the video{where}"]
    if status is JobStatus.failed:
        steps = []
        if job.error is not None and job.error.code in (
            ErrorCode.content_policy_input,
            ErrorCode.content_policy_output,
        ):
            steps.append("change the prompt (or the images), then generate again: a retry of the same request "
                         "is likely refused again")  # fmt: skip
        steps.append(f"`vidgate jobs retry {jid} --yes` sends the same request again as a new (paid) job")
        return steps
    if status is JobStatus.expired:
        return [
            "vidgate stopped waiting before the provider finished (its deadline or --timeout passed)",
            f"`vidgate jobs retry {jid} --yes` sends the request again as a new (paid) job",
        ]
    return []  # cancelled: nothing left to do


def _ago(at: datetime, origin: datetime) -> str:
    return f"+{max(0.0, (at - origin).total_seconds()):.1f} s"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _status_section(view: JobView) -> Section:
    job = view.job
    raw = f" (provider says {job.raw_status})" if job.raw_status else ""
    lines = [
        f"status: {job.status.value}{raw}, {job.progress}%",
        f"model: {job.model}",
        f"endpoint: {describe_endpoint(job.provider, job.base_url, job.credentials_ref)}",
    ]
    if job.provider_task_id:
        lines.append(f"provider task: {job.provider_task_id}")
    if job.request is not None:
        r = job.request
        asked = [f"{r.duration:g} s" if r.duration else "", r.aspect_ratio or "", r.resolution or "", r.size or ""]
        lines.append(f"prompt: {r.prompt!r}" + (f" ({', '.join(a for a in asked if a)})" if any(asked) else ""))
    if job.out:
        lines.append(f"save to: {job.out}")
    if job.cost_usd is not None:
        lines.append(f"cost: ${job.cost_usd:g}")
    lines += [f"warning: {w}" for w in job.warnings]
    return Section(f"Job {job.id}", lines)


def _error_section(view: JobView) -> Section | None:
    err = view.job.error
    if err is None:
        return None
    if view.job.status is JobStatus.unknown:  # vidgate's own words: the provider said nothing
        return Section(
            "Error", [f"code: {err.code.value}", f"what happened: {err.message}", f"meaning: {UNKNOWN_MEANING}"]
        )
    lines = [f"code: {err.code.value}", f"provider said: {err.message}"]
    if err.meaning:
        lines.append(f"meaning: {err.meaning}")
    return Section("Error", lines)


UNKNOWN_MEANING = (
    "the create's answer never came back, so whether the provider has the job is not known; vidgate does not "
    "send it again on its own unless the provider lets it check or deduplicate"
)


def _file_section(view: JobView) -> Section | None:
    job = view.job
    if not job.assets:
        return None
    lines = []
    for a in job.assets:
        if a.path:
            state = "" if Path(a.path).exists() else " (missing: it was moved or deleted)"
            size = f", {a.size_bytes} bytes" if a.size_bytes is not None else ""
            lines.append(f"{a.kind}: {a.path}{size}{state}")
            if a.sha256:
                lines.append(f"  sha256 {a.sha256}")
        elif a.url:
            expires = f" (link expires {a.expires_at:%Y-%m-%d %H:%M} UTC)" if a.expires_at else ""
            lines.append(f"{a.kind}: not downloaded yet{expires}")
    return Section("Files", lines) if lines else None


def _probe_section(view: JobView) -> Section | None:
    video = view.job.video
    if video is None or video.probe is None:
        return None
    p = video.probe
    fps = f", {p.fps:g} fps" if p.fps else ""
    lines = [f"{p.duration:g} s, {p.width}x{p.height}, {p.codec}{fps}"]
    lines += [f"mismatch: {m}" for m in video.mismatch]
    return Section("Probe", lines)


def _timeline_section(view: JobView) -> Section | None:
    if not view.timeline:
        return None
    origin = view.timeline[0].at
    lines = [f"{view.timeline[0].at:%Y-%m-%d %H:%M:%S} UTC"]
    last_status = max((i for i, e in enumerate(view.timeline) if e.status is not None), default=-1)
    for i, e in enumerate(view.timeline):
        what = e.kind if e.status is None else f"{e.kind} {e.status}"
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items() if v not in (None, "", [], {}))
        if e.status == JobStatus.unknown:  # the record written just before a create leaves (``Core.sending``)
            what, detail = _sending(view.job, still_unknown=i == last_status), ""
        lines.append(f"{_ago(e.at, origin):>9}  {what}" + (f" ({detail})" if detail else ""))
    t = view.timings
    if t is not None:
        lines.append(f"queued {_seconds(t.queued_s)} · render {_seconds(t.render_s)} · "
                     f"download {_seconds(t.download_s)} · total {_seconds(t.total_s)}")  # fmt: skip
    return Section("Timeline", lines)


def _sending(job: Job, *, still_unknown: bool) -> str:
    """A ``status unknown`` entry: every create is recorded so just before it leaves (a crash then is never
    resent blindly). Followed by the provider's answer it was only that moment; as the last word, the answer
    never came and the job waits for a decision (What to do)."""
    if still_unknown and job.status is JobStatus.unknown:
        return "sending the create (status unknown: no answer came back)"
    return "sending the create"


def _next_section(view: JobView) -> Section | None:
    steps = next_steps(view.job)
    return Section("What to do", steps) if steps else None


def _review_section(view: JobView) -> Section | None:
    """The last review of the video (`vidgate review`, `generate --review`) and what the assists cost."""
    job = view.job
    if job.review is None and not job.assists:
        return None
    lines = verdict_lines(job.review) if job.review is not None else []
    for a in job.assists:
        tokens = f", {a.prompt_tokens or 0}+{a.completion_tokens or 0} tokens" if a.prompt_tokens is not None else ""
        cost = f", ${a.cost_usd:g}" if a.cost_usd is not None else ""
        lines.append(f"{a.kind} by {a.chat_model}: {a.requests} request(s){tokens}{cost}")
    return Section("Review" if job.review is not None else "Assists", lines)


# The sections of ``jobs show``, in order. Append your own (a ``JobView`` -> ``Section | None`` function).
SECTIONS: list[Callable[[JobView], Section | None]] = [
    _status_section,
    _error_section,
    _next_section,
    _file_section,
    _probe_section,
    _timeline_section,
    _review_section,
]


def job_sections(view: JobView) -> list[Section]:
    return [s for make in SECTIONS if (s := make(view)) is not None]


def render_job(console: Console, view: JobView) -> None:
    """Print the sections: a bold title, then each line as written (never read as markup or emoji)."""
    for i, section in enumerate(job_sections(view)):
        if i:
            console.print()
        console.print(f"[bold]{escape(section.title)}[/]")
        for line in section.lines:
            console.print(f"  {line}", markup=False, emoji=False)


def one_line(job: Job) -> str:
    """``job_… succeeded 100% relay/sora-2 -> /abs/path.mp4``: what cancel, retry and watch print."""
    video = job.video
    where = f" -> {video.path}" if video is not None and video.path else ""
    raw = f" ({job.raw_status})" if job.raw_status else ""
    return f"{job.id} {job.status.value}{raw} {job.progress}% {job.model}{where}"
