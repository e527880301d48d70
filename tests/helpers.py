"""Small helpers shared by tests."""

from __future__ import annotations

import hashlib
import time

from storage import jobs as job_rows
from core.states import FINISHED_STATUSES


def wait_for_jobs(db, job_ids, timeout: float = 120.0):
    """Poll job rows until every job has finished; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = job_rows.job_states(db, job_ids)
        if states and all(state.status in FINISHED_STATUSES for state in states):
            return states
        time.sleep(0.2)
    raise AssertionError(f"jobs {job_ids} did not finish in {timeout} s: {job_rows.job_states(db, job_ids)}")


def sha256_file(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
