"""Status words of the relay family, read case-insensitively by every relay dialect.

The seed documents ``NOT_START``, ``IN_PROGRESS``, ``SUCCESS`` and ``FAILURE`` on ``/v2`` and ``queued``,
``in_progress``, ``completed``, ``failed`` on ``/v1/videos``; relays of the same family also answer
``SUBMITTED``, ``QUEUED``, ``UNKNOWN`` and lowercase ``queued/pending/processing/completed/done/expired/
unknown`` (relay-platforms.md §2.1 and §9). A word outside the table stays ``None`` (keep polling until the
deadline) unless the answer already carries a video, which is a finished job whatever it is called.
"""

from __future__ import annotations

from vidgate.types import JobStatus

RELAY_WORDS: dict[str, JobStatus | None] = {
    # waiting
    "not_start": JobStatus.queued,
    "submitted": JobStatus.queued,
    "queued": JobStatus.queued,
    "pending": JobStatus.queued,
    # working
    "in_progress": JobStatus.running,
    "processing": JobStatus.running,
    "running": JobStatus.running,
    # finished
    "success": JobStatus.succeeded,
    "succeeded": JobStatus.succeeded,
    "completed": JobStatus.succeeded,
    "done": JobStatus.succeeded,
    # failed (expired: the task or its result is past the relay's retention; nothing can be fetched any more)
    "failure": JobStatus.failed,
    "failed": JobStatus.failed,
    "fail": JobStatus.failed,
    "error": JobStatus.failed,
    "expired": JobStatus.failed,
    "cancelled": JobStatus.cancelled,
    "canceled": JobStatus.cancelled,
    # new-api's catch-all: the task exists but its state is not known yet
    "unknown": None,
}


def _key(word: str) -> str:
    return word.strip().lower().replace("-", "_").replace(" ", "_")


def relay_status(word: str | None, *, has_video: bool = False) -> JobStatus | None:
    """The job status a relay status word stands for (any case). A word that says nothing definite (unknown,
    empty, never seen) while the answer already carries a video URL is success: the video exists."""
    status = RELAY_WORDS.get(_key(word or ""))
    if status is None and has_video:
        return JobStatus.succeeded
    return status


def is_known(word: str | None) -> bool:
    return _key(word or "") in RELAY_WORDS
