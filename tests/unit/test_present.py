"""How jobs look on the wire: unknown outcomes are never ``queued`` forever; size and seconds before a video."""

from __future__ import annotations

from datetime import timedelta

from vidgate.catalog import load_catalog
from vidgate.server.present import relay_task, video_object
from vidgate.types import ErrorCode, Job, JobError, JobStatus, VideoRequest, utcnow

CATALOG = load_catalog()


def _job(**fields: object) -> Job:
    now = utcnow()
    base = {"id": "job_1", "provider": "relay-openai", "model": "relay-openai/sora-2", "created_at": now,
            "updated_at": now, "request": VideoRequest(prompt="p", model="relay-openai/sora-2")}  # fmt: skip
    return Job.model_validate({**base, **fields})


LOST = JobError(code=ErrorCode.provider_error, message="submit outcome unknown (connection dropped)")


def test_an_unknown_create_waiting_for_a_person_is_failed_to_openai_and_unknown_on_v2() -> None:
    job = _job(status=JobStatus.unknown, error=LOST, next_poll_at=None)
    video = video_object(job)
    assert video["status"] == "failed" and video["error"]["code"] == "outcome_unknown"
    assert "vidgate jobs retry job_1" in video["error"]["message"] and "connection dropped" in video["error"]["message"]
    assert video["vidgate"]["status"] == "unknown"
    task = relay_task(job, None)
    assert task["status"] == "UNKNOWN" and "vidgate jobs cancel job_1" in task["fail_reason"]
    assert task["finish_time"] == 0 and task["data"] is None  # integers as the relay sends them (issue 12)


def test_an_unknown_create_being_sent_or_reconciled_reads_queued() -> None:
    sending = _job(status=JobStatus.unknown, error=None)
    reconciling = _job(status=JobStatus.unknown, error=LOST, next_poll_at=utcnow() + timedelta(seconds=30))
    for job in (sending, reconciling):
        assert video_object(job)["status"] == "queued" and video_object(job)["error"] is None
        assert relay_task(job, None)["status"] == "NOT_START"


def test_size_and_seconds_come_from_the_model_before_the_video_exists() -> None:
    job = _job(status=JobStatus.queued)
    assert (video_object(job)["size"], video_object(job)["seconds"]) == ("", "")  # without the model: not known
    spec = CATALOG.resolve("relay-openai/sora-2")
    video = video_object(job, spec=spec)
    assert (video["size"], video["seconds"]) == (spec.size.default, "10")
    asked = _job(status=JobStatus.queued, request=VideoRequest(prompt="p", model="x", size="1280x720", duration=15))
    assert (video_object(asked, spec=spec)["size"], video_object(asked, spec=spec)["seconds"]) == ("1280x720", "15")
    gemini = CATALOG.resolve("gemini/gemini-omni-1.2-flash")
    ratio = _job(status=JobStatus.queued, request=VideoRequest(prompt="p", model="x", aspect_ratio="9:16"))
    assert video_object(ratio, spec=gemini)["size"] == "720x1280"
