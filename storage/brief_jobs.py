"""Brief jobs through their life: queued -> running -> done | failed.

What storage/jobs.py is for posters, this is for briefs written on a GPU worker (queue mode,
where the app may have no GPU). The app writes the job `queued`, with its draft, before
anything runs; a worker claims it by id with a conditional UPDATE, writes each stage as it
happens, and ends it `done` with its brief (written and linked in one transaction) or
`failed` with a message the user can act on. A redelivered task finds the row done, or
running under a live worker, and does nothing. Every write after the claim names the worker,
so a worker that was given up for dead cannot finish a job another one has taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from PIL import Image
from sqlalchemy import select, update

from core.states import JobStatus
from storage.briefs import BriefRecord, add_brief, find_or_add_draft
from storage.db import Database
from storage.files import ImageStore
from storage.models import BriefJob, Draft, utcnow

# A brief whose worker died this many times (killed for memory, say) fails instead of being
# taken again: a draft that kills every worker must not go round the queue for ever.
MAX_BRIEF_ATTEMPTS = 3
# A worker writes a heartbeat with every stage; the longest stage (writing 1024 tokens with
# the 4-bit model) takes well under a minute on a GPU, so ten minutes of silence means dead
# even where `is_worker_alive` cannot tell (a worker on another host). As in storage/jobs.py.
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class ClaimedBriefJob:
    """What a worker needs to write the brief, detached from the session."""

    id: int
    draft_id: int
    draft_path: str  # in the image store: read it with ImageStore.read_bytes
    language: str
    notes: str
    max_new_tokens: int | None  # None: the studio's default for its models
    attempts: int  # counting this claim


@dataclass(frozen=True)
class BriefJobState:
    """What a page shows of a brief job."""

    id: int
    status: JobStatus
    stage: str
    stages: tuple[str, ...]
    error: str | None
    brief_id: int | None
    attempts: int
    dispatch_error: str | None


def request_brief_job(
    db: Database,
    store: ImageStore,
    draft_image: Image.Image,
    original_name: str,
    language: str,
    notes: str,
    max_new_tokens: int | None = None,
) -> int:
    """Store the draft (once per content hash, as save_draft does) and write the brief job
    `queued`. The draft row and the job row are one transaction: when it fails, neither is
    written. The draft's file may stay in the store then, under its own hash, where a retry
    writes the same bytes to the same place. Returns the brief job id."""
    stored = store.put_png(draft_image, kind="drafts")
    with db.session() as session:
        draft = find_or_add_draft(session, stored, original_name)
        job = BriefJob(
            draft_id=draft.id,
            language=language,
            notes=notes,
            max_new_tokens=max_new_tokens,
            status=JobStatus.QUEUED,
            stage="",
            stages=[],
        )
        session.add(job)
        session.flush()
        return job.id


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite drops the zone
    return moment


def _orphaned(job: BriefJob, is_worker_alive: Callable[[str], bool], cutoff: datetime) -> bool:
    heartbeat = _as_utc(job.heartbeat_at)
    stale = heartbeat is None or heartbeat < cutoff
    return stale or not is_worker_alive(job.worker_id or "")


def claim_brief_job(
    db: Database,
    brief_job_id: int,
    worker_id: str,
    is_worker_alive: Callable[[str], bool],
    stale_after: timedelta = STALE_AFTER,
    max_attempts: int = MAX_BRIEF_ATTEMPTS,
) -> ClaimedBriefJob | None:
    """Take this brief job for `worker_id`, or None when there is nothing to do: the job is
    done, failed or cancelled, or running under a live worker (this one included).

    A queued job is taken with a conditional UPDATE (queued -> running), so of two workers
    given the same task only one gets it. A job left running by a dead worker is taken over
    the same way, conditioned on that worker's id; after `max_attempts` claims it fails
    instead. Each claim starts the stage list afresh and counts one more attempt."""
    now = utcnow()
    with db.session() as session:
        job = session.get(BriefJob, brief_job_id)
        if job is None:
            return None
        if job.status == JobStatus.QUEUED:
            still_as_read = BriefJob.status == JobStatus.QUEUED
        elif (
            job.status == JobStatus.RUNNING
            and job.worker_id != worker_id
            and _orphaned(job, is_worker_alive, now - stale_after)
        ):
            still_as_read = (BriefJob.status == JobStatus.RUNNING) & (BriefJob.worker_id == job.worker_id)
            if job.attempts >= max_attempts:
                session.execute(
                    update(BriefJob)
                    .where(BriefJob.id == brief_job_id, still_as_read)
                    .values(
                        status=JobStatus.FAILED,
                        error=(
                            f"The worker stopped in the middle of this brief {job.attempts} times "
                            "(killed, perhaps for memory), so it was not tried again. "
                            "See the workers' logs, then write the brief again."
                        ),
                        finished_at=now,
                    )
                )
                return None
        else:
            return None
        claimed = session.execute(
            update(BriefJob)
            .where(BriefJob.id == brief_job_id, still_as_read)
            .values(
                status=JobStatus.RUNNING,
                worker_id=worker_id,
                attempts=BriefJob.attempts + 1,
                stage="",
                stages=[],
                error=None,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
            )
        ).rowcount
        if claimed != 1:
            return None  # another worker took it between our read and our write
        row = session.execute(
            select(BriefJob.draft_id, BriefJob.language, BriefJob.notes, BriefJob.max_new_tokens, BriefJob.attempts)
            .where(BriefJob.id == brief_job_id)
        ).one()
        draft = session.get(Draft, row.draft_id)
        return ClaimedBriefJob(
            id=brief_job_id,
            draft_id=row.draft_id,
            draft_path=draft.path,
            language=row.language,
            notes=row.notes,
            max_new_tokens=row.max_new_tokens,
            attempts=row.attempts,
        )


def _owned_row(session, brief_job_id: int, worker_id: str) -> BriefJob | None:
    """The job's row, locked, if it is still running under this worker."""
    job = session.get(BriefJob, brief_job_id, with_for_update=True)
    if job is None or job.status != JobStatus.RUNNING or job.worker_id != worker_id:
        return None
    return job


def record_stage(db: Database, brief_job_id: int, worker_id: str, stage: str) -> bool:
    """Add the stage now running (and a heartbeat). Returns False when the job is no longer
    this worker's: then nothing is written."""
    with db.session() as session:
        job = _owned_row(session, brief_job_id, worker_id)
        if job is None:
            return False
        job.stages = [*(job.stages or []), stage]  # a new list: JSON columns miss in-place edits
        job.stage = stage
        job.heartbeat_at = utcnow()
        return True


def complete_brief_job(
    db: Database,
    brief_job_id: int,
    worker_id: str,
    model_id: str,
    raw_text: str,
    sections: dict,
    missing: list,
    truncated: bool,
    timings: dict,
    memory: dict,
) -> BriefRecord | None:
    """Write the brief row (as save_brief does, with the job's draft, language and notes) and
    mark the job done and linked to it, in one transaction. Returns None, writing nothing,
    when the job is no longer this worker's."""
    with db.session() as session:
        job = _owned_row(session, brief_job_id, worker_id)
        if job is None:
            return None
        record = add_brief(
            session,
            draft_id=job.draft_id,
            model_id=model_id,
            language=job.language,
            notes=job.notes,
            raw_text=raw_text,
            sections=sections,
            missing=missing,
            truncated=truncated,
            timings=timings,
            memory=memory,
        )
        now = utcnow()
        job.brief_id = record.id
        job.status = JobStatus.DONE
        job.error = None
        job.finished_at = now
        job.heartbeat_at = now
        return record


def fail_brief_job(db: Database, brief_job_id: int, worker_id: str, error: str) -> bool:
    """End the job `failed` with a message for the user. Returns False when the job is no
    longer this worker's: then nothing is written."""
    with db.session() as session:
        job = _owned_row(session, brief_job_id, worker_id)
        if job is None:
            return False
        job.status = JobStatus.FAILED
        job.error = error
        job.finished_at = utcnow()
        return True


def brief_job_state(db: Database, brief_job_id: int) -> BriefJobState | None:
    with db.reader() as session:
        job = session.get(BriefJob, brief_job_id)
        if job is None:
            return None
        return BriefJobState(
            id=job.id,
            status=JobStatus(job.status),
            stage=job.stage or "",
            stages=tuple(job.stages or ()),
            error=job.error,
            brief_id=job.brief_id,
            attempts=job.attempts,
            dispatch_error=job.dispatch_error,
        )


def undispatched_brief_job_ids(db: Database) -> list[int]:
    """Queued brief jobs the broker has not accepted yet, oldest first: what to send."""
    with db.reader() as session:
        return list(
            session.scalars(
                select(BriefJob.id)
                .where(BriefJob.status == JobStatus.QUEUED, BriefJob.dispatched_at.is_(None))
                .order_by(BriefJob.created_at, BriefJob.id)
            ).all()
        )


def mark_brief_dispatched(db: Database, brief_job_id: int) -> None:
    """The broker accepted the job's task."""
    with db.session() as session:
        session.execute(
            update(BriefJob).where(BriefJob.id == brief_job_id).values(dispatched_at=utcnow(), dispatch_error=None)
        )


def mark_brief_dispatch_failed(db: Database, brief_job_id: int, message: str) -> None:
    """The send failed: the job stays undispatched (sent again later) and says why meanwhile."""
    with db.session() as session:
        session.execute(update(BriefJob).where(BriefJob.id == brief_job_id).values(dispatch_error=message))
