"""Queued jobs as the pages see them: their states, which are still active, and cancelling one."""

from __future__ import annotations

from storage.db import Database
from storage.jobs import JobState, active_job_ids, job_states, request_cancel
from storage.models import FINISHED_STATUSES, JOB_STATUSES
from storage.textchecks import set_job_ids

__all__ = [
    "FINISHED_STATUSES",
    "JOB_STATUSES",
    "JobState",
    "active_job_ids",
    "batch_job_ids",
    "cancel",
    "job_states",
]


def batch_job_ids(db: Database, variant_group: str) -> list[int]:
    """Every job of a variant set; a best-of-N set grows while it runs, so read it each time."""
    return set_job_ids(db, variant_group)


def cancel(db: Database, job_id: int) -> str:
    """Ask the worker to stop a queued or running job; returns the job's status after asking."""
    return request_cancel(db, job_id)
