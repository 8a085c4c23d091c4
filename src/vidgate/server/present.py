"""How a stored ``Job`` looks on the wire: OpenAI's video object and the relay's task object.

A job is ``completed`` / ``SUCCESS`` only once its video is saved by the gateway (the content endpoint can
serve it); a provider-side success still downloading shows as in progress at 99%.

A job whose create outcome is ``unknown`` shows as ``queued`` while its create is being sent or vidgate will
ask the provider again on its own; once it waits for a person (``vidgate jobs retry`` or ``jobs cancel``) it
shows as ``failed`` with ``error.code`` ``outcome_unknown`` to OpenAI clients (so an SDK's ``poll`` stops) and
as ``UNKNOWN`` on ``/v2``. Whatever the operator decides shows on the next read.
"""

from __future__ import annotations

from typing import Any

from vidgate.catalog import ModelSpec
from vidgate.types import Job, JobStatus

OPENAI_STATUS = {
    JobStatus.pending: "queued",
    JobStatus.unknown: "queued",
    JobStatus.queued: "queued",
    JobStatus.running: "in_progress",
    JobStatus.succeeded: "completed",
    JobStatus.failed: "failed",
    JobStatus.cancelled: "failed",
    JobStatus.expired: "failed",
}
RELAY_STATUS = {
    "queued": "NOT_START",
    "in_progress": "IN_PROGRESS",
    "completed": "SUCCESS",
    "failed": "FAILURE",
}
# When the request named no size: the usual 720p frame for an aspect ratio (only for display).
_FRAMES = {"16:9": "1280x720", "9:16": "720x1280", "1:1": "720x720", "4:3": "960x720", "3:4": "720x960"}
FINAL_WORDS = {
    JobStatus.failed: "The generation failed",
    JobStatus.cancelled: "The job was cancelled",
    JobStatus.expired: "No result before the deadline",
}


OUTCOME_UNKNOWN = "outcome_unknown"
# What an operator does with a job that waits for a person (said in the error a client sees).
OPERATOR_ADVICE = (
    "The gateway cannot tell whether the provider received this request. The operator checks the provider's "
    "console, then runs `vidgate jobs retry {id}` (it may be paid twice) or `vidgate jobs cancel {id}`."
)


def awaits_person(job: Job) -> bool:
    """An ``unknown`` create that nothing will resolve on its own: a person decides (retry or cancel)."""
    return job.status is JobStatus.unknown and job.next_poll_at is None and job.error is not None


def public_status(job: Job) -> tuple[str, int]:
    """(OpenAI status word, progress 0..100)."""
    if awaits_person(job):
        return "failed", 0
    status = OPENAI_STATUS[job.status]
    if job.status is JobStatus.succeeded and not job.done:
        return "in_progress", min(job.progress or 99, 99)
    if status == "completed":
        return status, 100
    if status == "failed":
        return status, job.progress
    return status, min(job.progress, 99)


def _unix(dt: Any) -> int | None:
    return None if dt is None else int(dt.timestamp())


_HEIGHTS = {"480p": 480, "720p": 720, "1080p": 1080, "4k": 2160}


def size_of(job: Job, spec: ModelSpec | None = None) -> str:
    """The video's frame: probed once made, else as asked, else the model's defaults ("" if none is known)."""
    video = job.video
    if video is not None and video.probe is not None:
        return f"{video.probe.width}x{video.probe.height}"
    req = job.request
    size = (req.size if req else None) or (spec.size.default if spec else None)
    if size:
        return size
    aspect = (req.aspect_ratio if req else None) or (spec.aspect_ratio.default if spec else None)
    resolution = (req.resolution if req else None) or (spec.resolution.default if spec else None)
    frame = _FRAMES.get(aspect or "")
    if frame is None:
        return aspect or ""
    height = _HEIGHTS.get((resolution or "").lower())
    if height is None or height == 720:
        return frame
    w, h = (int(n) for n in frame.split("x"))
    scale = height / 720
    return f"{round(w * scale)}x{round(h * scale)}"


def seconds_of(job: Job, spec: ModelSpec | None = None) -> str:
    """The video's length in seconds: probed once made, else as asked, else the model's default."""
    video = job.video
    if video is not None and video.probe is not None:
        return str(round(video.probe.duration))
    d = job.request.duration if job.request is not None else None
    if d is None and spec is not None:
        d = spec.duration.default
    if d is None:
        return ""
    return str(int(d)) if float(d).is_integer() else str(d)


def error_of(job: Job) -> dict[str, str] | None:
    if awaits_person(job):
        detail = job.error.message if job.error else ""
        return {"code": OUTCOME_UNKNOWN, "message": f"{detail} {OPERATOR_ADVICE.format(id=job.id)}".strip()}
    if job.status in (JobStatus.failed, JobStatus.cancelled, JobStatus.expired):
        if job.error is not None:
            return {"code": job.error.code.value, "message": job.error.message}
        return {"code": job.status.value, "message": FINAL_WORDS[job.status]}
    return None


def remixed_from(job: Job) -> str | None:
    for warning in job.warnings:
        if warning.startswith("remix of job "):
            return warning.split()[3]
    return None


def video_object(job: Job, *, links: dict[str, str] | None = None, spec: ModelSpec | None = None) -> dict[str, Any]:
    """OpenAI's ``Video`` (every field the SDK reads) plus a ``vidgate`` object with what the console shows;
    ``spec`` (the job's model) gives ``size`` and ``seconds`` before the video exists when the request left
    them to the model's defaults."""
    status, progress = public_status(job)
    done = status in ("completed", "failed")
    req = job.request
    video = job.video
    return {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": status,
        "progress": progress,
        "created_at": _unix(job.created_at),
        "completed_at": _unix(job.completed_at or job.updated_at) if done else None,
        "expires_at": None,
        "prompt": req.prompt if req else None,
        "size": size_of(job, spec),
        "seconds": seconds_of(job, spec),
        "remixed_from_video_id": remixed_from(job),
        "error": error_of(job),
        "vidgate": {
            "status": job.status.value,
            "raw_status": job.raw_status,
            "provider": job.provider,
            "route": job.route,
            "progress": job.progress,
            "error": job.error.model_dump(mode="json", exclude={"raw"}) if job.error else None,
            "warnings": job.warnings,
            "request": req.model_dump(mode="json", include={"duration", "aspect_ratio", "resolution", "size", "hd"})
            if req
            else None,
            "video": video.model_dump(mode="json", include={"mime_type", "size_bytes", "sha256", "probe", "mismatch"})
            if video is not None and video.path is not None
            else None,
            "variants": sorted({a.kind for a in job.assets if a.path is not None or a.url is not None}),
            "links": links or {},
            "updated_at": job.updated_at.isoformat(),
            "review": job.review.model_dump(mode="json") if job.review is not None else None,  # issue 15
        },
    }


def relay_task(job: Job, output_url: str | None) -> dict[str, Any]:
    """The relay's ``GET /v2/videos/generations/{task_id}`` answer for ``job``."""
    status, progress = public_status(job)
    word = "UNKNOWN" if awaits_person(job) else RELAY_STATUS[status]
    error = error_of(job)
    finished = word in ("SUCCESS", "FAILURE")
    return {
        "task_id": job.id,
        "platform": job.provider,
        "action": "video-generation",
        "status": word,
        "fail_reason": error["message"] if error else "",
        # unix seconds, always integers as the relay sends them (seed-relay-api.md query examples); 0 while not
        # yet started / finished, the relay's (new-api's int64) zero value. A job seen only queued and then
        # final started at the latest when it finished.
        "submit_time": _unix(job.submitted_at or job.created_at) or 0,
        "start_time": _unix(job.started_at or (job.completed_at if finished else None)) or 0,
        "finish_time": (_unix(job.completed_at or job.updated_at) or 0) if finished else 0,
        "progress": f"{progress}%",
        "data": {"output": output_url} if word == "SUCCESS" and output_url else None,
        "search_item": "",
    }
