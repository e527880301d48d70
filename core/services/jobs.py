"""Job reads the pages need beyond the queue itself (core/queue/base.py: states, active jobs,
cancel): the jobs of one variant set, and a running job's live preview."""

from __future__ import annotations

from core.states import JobStatus
from storage.db import Database
from storage.files import ImageStore
from storage.jobs import JobState
from storage.textchecks import set_job_ids


def batch_job_ids(db: Database, variant_group: str) -> list[int]:
    """Every job of a variant set; a best-of-N set grows while it runs, so read it each time."""
    return set_job_ids(db, variant_group)


def live_preview(store: ImageStore, state: JobState) -> bytes | None:
    """A running job's latest preview (a small WebP), or None. The row says whether there is
    one, so the store is only asked for previews that exist; one that the job's end took away
    meanwhile reads as None too."""
    if state.status != JobStatus.RUNNING or state.preview_step is None:
        return None
    return store.read_preview(state.id)
