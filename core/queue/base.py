"""The JobQueue seam: what pages, services and the worker may ask of a job queue.

The jobs table is the record of truth whichever queue carries the work. The default queue is
the table itself (core/queue/sql.py): workers poll it and claim rows atomically. The Celery
queue (core/queue/celery_queue.py) keeps the same rows and sends only a job id per task:
`notify` is where it sends them, and its worker claims that id (`claim_job`) instead of the
oldest row.

What a job draws is a `Recipe` (core/recipe.py): a set is enqueued as one recipe and its
seeds, and a claimed job is its id and its recipe (`ClaimedJob`, storage/jobs.py). A new
recipe field therefore never changes this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from storage.files import StoredImage
from core.recipe import Recipe
from storage.jobs import ClaimedJob, JobState

__all__ = ["ClaimedJob", "Enqueued", "JobQueue", "JobState", "WorkerAlive"]

# Whether the worker with this id (written on the job row when it claimed it) still runs.
WorkerAlive = Callable[[str], bool]


@dataclass(frozen=True)
class Enqueued:
    prompt_id: int
    job_ids: list[int]
    variant_group: str


class JobQueue(Protocol):
    # -- the app's side ----------------------------------------------------------------------
    def enqueue(
        self, recipe: Recipe, seeds: list[int], parent_job_id: int | None = None, best_of_max: int | None = None
    ) -> Enqueued:
        """Write the recipe and one job per seed as queued, in one transaction, and notify
        workers. A job is the recipe with its own seed; the set shares one variant group."""

    def notify(self, job_ids: list[int]) -> None:
        """Jobs were written as queued (by enqueue, a rerun or a best-of-N follow-up): tell
        the workers. The SQL queue wakes this process's worker; a broker sends the ids."""

    def request_cancel(self, job_id: int) -> str:
        """A queued job is cancelled at once, a running one at its next step. Returns the
        job's status after the request."""

    def job_states(self, job_ids: list[int]) -> list[JobState]: ...

    def active_job_ids(self) -> list[int]:
        """Queued and running jobs, oldest first."""

    def depth(self) -> tuple[int, int]:
        """(queued, running) jobs, as the jobs table says."""

    # -- the worker's side -------------------------------------------------------------------
    def claim_next(self, worker_id: str) -> ClaimedJob | None:
        """Take one queued job for this worker (atomically: no job runs twice), or None."""

    def claim_job(self, job_id: int, worker_id: str) -> ClaimedJob | None:
        """Take the job a delivered task names, or None when there is nothing to do (done,
        or running under a live worker): a task delivered twice draws one poster."""

    def record_progress(self, job_id: int, step: int, total: int) -> bool:
        """Store progress and a heartbeat. Returns whether the user asked to cancel."""

    def record_preview(self, job_id: int, step: int) -> None:
        """The job's live preview image (written to the image store first) shows `step`."""

    def is_cancel_requested(self, job_id: int) -> bool: ...

    def complete(self, job_id: int, stored: StoredImage, timings: dict) -> int:
        """Mark the job done with its poster row, in one transaction. Returns the poster id."""

    def fail(self, job_id: int, error: str, timings: dict | None = None) -> None: ...

    def mark_cancelled(self, job_id: int, timings: dict | None = None) -> None: ...

    def recover_interrupted(self, is_worker_alive: WorkerAlive) -> int:
        """Fail jobs left running by a dead worker. Returns how many."""
