"""How a stored ``Job`` looks on the wire: OpenAI's video object and the relay's task object.

A job is ``completed`` / ``SUCCESS`` only once its video is saved by the gateway (the content endpoint can
serve it); a provider-side success still downloading shows as in progress at 99%.
"""

from __future__ import annotations

from typing import Any

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


def public_status(job: Job) -> tuple[str, int]:
    """(OpenAI status word, progress 0..100)."""
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


def size_of(job: Job) -> str:
    video = job.video
    if video is not None and video.probe is not None:
        return f"{video.probe.width}x{video.probe.height}"
    req = job.request
    if req is None:
        return ""
    if req.size:
        return req.size
    return _FRAMES.get(req.aspect_ratio or "", req.aspect_ratio or "")


def seconds_of(job: Job) -> str:
    video = job.video
    if video is not None and video.probe is not None:
        return str(round(video.probe.duration))
    if job.request is not None and job.request.duration is not None:
        d = job.request.duration
        return str(int(d)) if float(d).is_integer() else str(d)
    return ""


def error_of(job: Job) -> dict[str, str] | None:
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


def video_object(job: Job, *, links: dict[str, str] | None = None) -> dict[str, Any]:
    """OpenAI's ``Video`` (every field the SDK reads) plus a ``vidgate`` object with what the console shows."""
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
        "size": size_of(job),
        "seconds": seconds_of(job),
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
        },
    }


def relay_task(job: Job, output_url: str | None) -> dict[str, Any]:
    """The relay's ``GET /v2/videos/generations/{task_id}`` answer for ``job``."""
    status, progress = public_status(job)
    word = RELAY_STATUS[status]
    error = error_of(job)
    return {
        "task_id": job.id,
        "platform": job.provider,
        "action": "video-generation",
        "status": word,
        "fail_reason": error["message"] if error else "",
        "submit_time": _unix(job.submitted_at or job.created_at),
        "start_time": _unix(job.started_at),
        "finish_time": _unix(job.completed_at) if word in ("SUCCESS", "FAILURE") else None,
        "progress": f"{progress}%",
        "data": {"output": output_url} if word == "SUCCESS" and output_url else None,
        "search_item": "",
    }
