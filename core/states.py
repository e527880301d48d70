"""Job statuses: one enum shared by storage, the queue and the pages.

Pure (no storage, Streamlit or torch), so storage/models.py can import it without a cycle.
A StrEnum member is a str, so the stored values stay the plain strings they always were.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    # A job is written `queued` before anything runs; a worker moves it on.
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
