"""Job reads the pages need beyond the queue itself (core/queue/base.py: states, active jobs,
cancel): the jobs of one variant set."""

from __future__ import annotations

from storage.db import Database
from storage.textchecks import set_job_ids


def batch_job_ids(db: Database, variant_group: str) -> list[int]:
    """Every job of a variant set; a best-of-N set grows while it runs, so read it each time."""
    return set_job_ids(db, variant_group)
