"""The job queue as the jobs table itself: workers poll it and claim rows atomically
(storage/jobs.py). Every method is a thin call into storage; the one thing this class adds
is waking the worker of this process when jobs are queued here."""

from __future__ import annotations

from typing import Callable

from core.queue.base import ClaimedJob, Enqueued, JobState, WorkerAlive
from core.queue.liveness import is_worker_alive
from core.recipe import Recipe
from storage import jobs as job_rows
from storage.db import Database
from storage.files import StoredImage


class SqlJobQueue:
    def __init__(self, db: Database, max_attempts: int = 3):
        self.db = db
        self.max_attempts = max_attempts
        self._listeners: list[Callable[[], None]] = []

    def on_notify(self, listener: Callable[[], None]) -> None:
        """A worker in this process registers its wake-up here. Workers in other processes
        need none: they poll the table."""
        self._listeners.append(listener)

    def enqueue(
        self, recipe: Recipe, seeds: list[int], parent_job_id: int | None = None, best_of_max: int | None = None
    ) -> Enqueued:
        prompt_id, job_ids, group = job_rows.enqueue(self.db, recipe, seeds, parent_job_id, best_of_max)
        self.notify(job_ids)
        return Enqueued(prompt_id, job_ids, group)

    def notify(self, job_ids: list[int]) -> None:
        for listener in self._listeners:
            listener()

    def request_cancel(self, job_id: int) -> str:
        return job_rows.request_cancel(self.db, job_id)

    def job_states(self, job_ids: list[int]) -> list[JobState]:
        return job_rows.job_states(self.db, job_ids)

    def active_job_ids(self) -> list[int]:
        return job_rows.active_job_ids(self.db)

    def claim_next(self, worker_id: str) -> ClaimedJob | None:
        return job_rows.claim_next(self.db, worker_id)

    def claim_job(self, job_id: int, worker_id: str) -> ClaimedJob | None:
        return job_rows.claim_job(self.db, job_id, worker_id, is_worker_alive, self.max_attempts)

    def depth(self) -> tuple[int, int]:
        return job_rows.queue_depth(self.db)

    def record_progress(self, job_id: int, step: int, total: int) -> bool:
        return job_rows.record_progress(self.db, job_id, step, total)

    def record_preview(self, job_id: int, step: int) -> None:
        job_rows.record_preview(self.db, job_id, step)

    def is_cancel_requested(self, job_id: int) -> bool:
        return job_rows.is_cancel_requested(self.db, job_id)

    def complete(self, job_id: int, stored: StoredImage, timings: dict) -> int:
        return job_rows.complete(self.db, job_id, stored, timings)

    def fail(self, job_id: int, error: str, timings: dict | None = None) -> None:
        job_rows.fail(self.db, job_id, error, timings)

    def mark_cancelled(self, job_id: int, timings: dict | None = None) -> None:
        job_rows.mark_cancelled(self.db, job_id, timings)

    def recover_interrupted(self, is_worker_alive: WorkerAlive) -> int:
        return job_rows.recover_interrupted(self.db, is_worker_alive)
