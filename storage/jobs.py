"""Job rows through their life: queued -> running -> done | failed | cancelled.

The job table is the source of truth. Pages only read it; the worker claims jobs
atomically, so two workers (or two browser tabs) never run the same job twice.
A polling worker takes the oldest queued job (`claim_next`); a broker's task names its job
(`claim_job`), and a redelivered task finds the job done or running under a live worker and
does nothing. With a broker, `dispatched_at` says the task was sent (`mark_dispatched`).
While it runs, `preview_step` says which step its live preview shows (`record_preview`);
every way out of `running` clears it, and the worker then deletes the image.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func, select, update

from core.recipe import Recipe
from storage.db import Database, retry_on_disconnect
from storage.files import StoredImage
from core.states import ACTIVE_STATUSES, JobStatus
from storage.models import Job, Poster, Prompt, utcnow
from storage.recipes import job_row, prompt_row, recipe_of


@dataclass(frozen=True)
class ClaimedJob:
    """A job the worker took: its id and the recipe to draw, detached from the session."""

    id: int
    recipe: Recipe


@dataclass(frozen=True)
class JobState:
    id: int
    status: JobStatus
    progress_step: int
    progress_total: int
    seed: int
    error: str | None
    timings: dict
    poster_id: int | None
    variant_index: int
    cancel_requested: bool
    # Which worker drew it (host:pid:token, as it claimed it) and, with a broker, why its task
    # is not sent yet (None once it is, and always with the SQL queue).
    worker_id: str | None = None
    dispatch_error: str | None = None
    # The step the job's live preview shows (ImageStore.preview_path); None: no preview.
    preview_step: int | None = None


def enqueue(
    db: Database,
    recipe: Recipe,
    seeds: list[int],
    parent_job_id: int | None = None,
    best_of_max: int | None = None,
) -> tuple[int, list[int], str]:
    """Write the recipe's prompt row and one job per seed as `queued`, in one transaction,
    before anything runs. Returns (prompt id, job ids, variant group)."""
    if not seeds:
        raise ValueError("At least one job is needed.")
    group = uuid.uuid4().hex[:12]
    with db.session() as session:
        prompt = prompt_row(recipe)
        session.add(prompt)
        session.flush()
        jobs = [
            job_row(
                replace(recipe, seed=seed),
                prompt.id,
                parent_job_id=parent_job_id,
                best_of_max=best_of_max,
                variant_group=group,
                variant_index=index,
            )
            for index, seed in enumerate(seeds)
        ]
        session.add_all(jobs)
        session.flush()
        return prompt.id, [job.id for job in jobs], group


def claim_next(db: Database, worker_id: str) -> ClaimedJob | None:
    """Take the oldest queued job. The conditional UPDATE makes the claim atomic across
    threads and processes: whoever flips queued->running first owns the job.

    On SQLite the transaction holds the database's write lock (BEGIN IMMEDIATE), so claims
    already run one at a time. On PostgreSQL the read also locks the row it picks and skips
    rows other workers have locked, so N workers take N different jobs at once instead of all
    queueing on the oldest row's lock."""
    oldest_queued = select(Job).where(Job.status == JobStatus.QUEUED).order_by(Job.created_at, Job.id).limit(1)
    if db.engine.dialect.name == "postgresql":
        oldest_queued = oldest_queued.with_for_update(skip_locked=True)
    while True:
        with db.session() as session:
            job = session.scalars(oldest_queued).first()
            if job is None:
                return None
            now = utcnow()
            claimed = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.QUEUED)
                .values(status=JobStatus.RUNNING, worker_id=worker_id, started_at=now, heartbeat_at=now, progress_step=0)
            ).rowcount
            if claimed != 1:
                continue  # someone else took it between our read and write; try the next one
            return ClaimedJob(id=job.id, recipe=recipe_of(session.get(Prompt, job.prompt_id), job))


def claim_job(
    db: Database,
    job_id: int,
    worker_id: str,
    is_worker_alive: Callable[[str], bool],
    max_attempts: int,
    stale_after: timedelta = timedelta(minutes=10),
) -> ClaimedJob | None:
    """Take the job a broker's task names, or None when there is nothing to do.

    At-least-once delivery means a task can arrive twice. Queued: claim it. Done, failed or
    cancelled: nothing to do. Running under a live worker (a fresh heartbeat and, on this
    host, its process): nothing to do. Running under a dead worker (the task came back after
    its worker was killed): claim it again, unless it has been claimed `max_attempts` times
    already; then it is failed with a message, so a job that kills its worker is not
    redelivered for ever. Every claim is a conditional UPDATE on the status and worker seen,
    so two deliveries racing never both win."""
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.status not in ACTIVE_STATUSES:
            return None
        if job.status == JobStatus.RUNNING:
            heartbeat = job.heartbeat_at
            if heartbeat is not None and heartbeat.tzinfo is None:
                heartbeat = heartbeat.replace(tzinfo=timezone.utc)  # SQLite drops the zone
            fresh = heartbeat is not None and heartbeat >= datetime.now(timezone.utc) - stale_after
            if fresh and is_worker_alive(job.worker_id or ""):
                return None
            if job.attempts >= max_attempts:
                job.status = JobStatus.FAILED
                job.error = (
                    f"The worker drawing this job stopped {job.attempts} times (killed or out of memory) "
                    f"before it finished, so it was not tried again. See the worker logs; then retry it."
                )
                job.preview_step = None
                job.finished_at = utcnow()
                return None
        now = utcnow()
        claimed = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
            .values(
                status=JobStatus.RUNNING, worker_id=worker_id, started_at=now, heartbeat_at=now,
                progress_step=0, attempts=job.attempts + 1, preview_step=None,
            )
        ).rowcount
        if claimed != 1:
            return None  # another delivery of the same task won the race
        return ClaimedJob(id=job.id, recipe=recipe_of(session.get(Prompt, job.prompt_id), job))


def mark_dispatched(db: Database, job_ids: list[int]) -> None:
    """The broker accepted these jobs' tasks."""
    if not job_ids:
        return
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id.in_(job_ids)).values(dispatched_at=utcnow(), dispatch_error=None)
        )


def mark_dispatch_failed(db: Database, job_ids: list[int], message: str) -> None:
    """The broker could not be reached: the jobs stay queued and say why."""
    if not job_ids:
        return
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id.in_(job_ids), Job.dispatched_at.is_(None)).values(dispatch_error=message)
        )


def jobs_to_dispatch(db: Database, resend_before: datetime, stale_before: datetime) -> list[int]:
    """Jobs whose task must be sent (again), oldest first: queued and never sent; queued and
    sent before `resend_before` (a broker that lost its messages, say a Redis restart without
    persistence, would otherwise leave them waiting for ever); running with a heartbeat older
    than `stale_before` (its worker died and its task did not come back). A task sent twice
    is harmless: `claim_job` makes the second one do nothing."""
    with db.reader() as session:
        rows = session.scalars(
            select(Job.id)
            .where(
                ((Job.status == JobStatus.QUEUED) & (Job.dispatched_at.is_(None)))
                | ((Job.status == JobStatus.QUEUED) & (Job.dispatched_at < resend_before))
                | ((Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < stale_before))
            )
            .order_by(Job.created_at, Job.id)
        ).all()
    return list(rows)


def queue_depth(db: Database) -> tuple[int, int]:
    """(queued, running) jobs: what the sidebar shows as the queue."""
    with db.reader() as session:
        queued = session.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED))
        running = session.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING))
    return int(queued or 0), int(running or 0)


def job_recipe(db: Database, job_id: int) -> tuple[Recipe, JobStatus] | None:
    """The recipe a job was queued with, and its status; None when the job does not exist."""
    with db.reader() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        return recipe_of(session.get(Prompt, job.prompt_id), job), JobStatus(job.status)


@retry_on_disconnect
def record_progress(db: Database, job_id: int, step: int, total: int) -> bool:
    """Store progress (and a heartbeat); return whether the user asked to cancel."""
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(progress_step=step, progress_total=total, heartbeat_at=utcnow())
        )
        return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


@retry_on_disconnect
def record_preview(db: Database, job_id: int, step: int) -> None:
    """The job's preview image now shows `step`; written after the image, so a page that
    sees the step finds the image. Only a running job takes it: a preview written while the
    job was being cancelled or failed must not bring its step back."""
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(preview_step=step)
        )


@retry_on_disconnect
def is_cancel_requested(db: Database, job_id: int) -> bool:
    with db.reader() as session:
        return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def request_cancel(db: Database, job_id: int) -> JobStatus:
    """Ask for a job to stop. A queued job is cancelled at once; a running one stops at its
    next step. Returns the job's status after the request."""
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise ValueError(f"Job {job_id} does not exist.")
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.cancel_requested = True
            job.finished_at = utcnow()
        elif job.status == JobStatus.RUNNING:
            job.cancel_requested = True
        return JobStatus(job.status)


@retry_on_disconnect
def complete(db: Database, job_id: int, stored: StoredImage, timings: dict) -> int:
    """Mark the job done and add its poster row in one transaction. Returns the poster id."""
    with db.session() as session:
        job = session.get(Job, job_id)
        existing = session.scalar(select(Poster.id).where(Poster.job_id == job_id))
        if existing is not None:
            # A retry whose first try did commit (the connection dropped while COMMIT's
            # answer was on its way): the job is done already, with this poster.
            return existing
        poster = Poster(
            job_id=job_id,
            sha256=stored.sha256,
            path=stored.path,
            thumb_path=stored.thumb_path,
            width=stored.width,
            height=stored.height,
        )
        session.add(poster)
        job.status = JobStatus.DONE
        job.progress_step = job.progress_total
        job.preview_step = None
        job.timings = timings
        job.finished_at = utcnow()
        session.flush()
        return poster.id


@retry_on_disconnect
def fail(db: Database, job_id: int, error: str, timings: dict | None = None) -> None:
    with db.session() as session:
        job = session.get(Job, job_id)
        job.status = JobStatus.FAILED
        job.error = error
        job.timings = timings or {}
        job.preview_step = None
        job.finished_at = utcnow()


@retry_on_disconnect
def mark_cancelled(db: Database, job_id: int, timings: dict | None = None) -> None:
    with db.session() as session:
        job = session.get(Job, job_id)
        job.status = JobStatus.CANCELLED
        job.timings = timings or {}
        job.preview_step = None
        job.finished_at = utcnow()


def recover_interrupted(
    db: Database,
    is_worker_alive: Callable[[str], bool],
    stale_after: timedelta = timedelta(minutes=10),
) -> int:
    """Jobs left `running` by a dead worker become `failed` with 'interrupted by restart'.

    A job counts as orphaned when its worker is known dead, or when its heartbeat is older
    than `stale_after` (the worker wrote one every step). Returns how many were recovered.
    """
    cutoff = datetime.now(timezone.utc) - stale_after
    recovered = 0
    with db.session() as session:
        running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
        for job in running:
            heartbeat = job.heartbeat_at
            if heartbeat is not None and heartbeat.tzinfo is None:
                heartbeat = heartbeat.replace(tzinfo=timezone.utc)  # SQLite drops the zone
            stale = heartbeat is None or heartbeat < cutoff
            if stale or not is_worker_alive(job.worker_id or ""):
                job.status = JobStatus.FAILED
                job.error = "interrupted by restart"
                job.preview_step = None
                job.finished_at = utcnow()
                recovered += 1
    return recovered


def job_states(db: Database, job_ids: list[int]) -> list[JobState]:
    if not job_ids:
        return []
    with db.reader() as session:
        rows = session.execute(
            select(Job, Poster.id).outerjoin(Poster, Poster.job_id == Job.id).where(Job.id.in_(job_ids))
        ).all()
        states = {
            job.id: JobState(
                id=job.id,
                status=JobStatus(job.status),
                progress_step=job.progress_step,
                progress_total=job.progress_total,
                seed=job.seed,
                error=job.error,
                timings=dict(job.timings or {}),
                poster_id=poster_id,
                variant_index=job.variant_index,
                cancel_requested=job.cancel_requested,
                worker_id=job.worker_id,
                dispatch_error=job.dispatch_error if job.dispatched_at is None else None,
                preview_step=job.preview_step,
            )
            for job, poster_id in rows
        }
    return [states[i] for i in job_ids if i in states]


def active_job_ids(db: Database) -> list[int]:
    """Queued and running jobs, oldest first: what a page shows as 'in progress'."""
    with db.reader() as session:
        return list(
            session.scalars(
                select(Job.id).where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.created_at, Job.id)
            ).all()
        )
