"""What the job store raises. All are ``VidgateError``s (one root, see ``vidgate.errors``).

StoreError                    the store refused or could not perform an operation
├── JobNotFoundError          no job with that id
├── JobConflictError          a write lost a race or broke a rule; re-read the job and decide again
│   ├── StaleJobError         someone saved a newer version first (optimistic concurrency)
│   └── FinalStateError       a job in a final state may not change status
└── MigrationError            the database schema cannot be brought to this vidgate's version
"""

from __future__ import annotations

from vidgate.errors import VidgateError


class StoreError(VidgateError):
    pass


class JobNotFoundError(StoreError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"No job with id {job_id!r} in the store. List jobs with `vidgate jobs list`.")


class JobConflictError(StoreError):
    pass


class StaleJobError(JobConflictError):
    def __init__(self, job_id: str, expected: int, actual: int) -> None:
        self.job_id = job_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Job {job_id} was not saved: it was read at version {expected} but the store holds version {actual} "
            f"(another process changed it). Re-read the job with get() and apply the change again."
        )


class FinalStateError(JobConflictError):
    def __init__(self, job_id: str, stored: str, attempted: str) -> None:
        self.job_id = job_id
        self.stored = stored
        self.attempted = attempted
        super().__init__(
            f"Job {job_id} is already {stored!r}, a final state; it cannot become {attempted!r}. "
            f"Only the same final state may be saved again (e.g. to record a download)."
        )


class MigrationError(StoreError):
    pass
