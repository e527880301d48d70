"""Text-check results on poster rows, and the best-of-N follow-up jobs written with them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from sqlalchemy import func, select

from core.text.result import CheckStatus
from storage.db import Database
from core.states import JobStatus
from storage.models import Job, Poster, Prompt, utcnow
from storage.recipes import job_row, recipe_of

# How many earlier checks a poster row remembers when a new one replaces its result.
HISTORY_LIMIT = 10


@dataclass(frozen=True)
class PosterToCheck:
    poster_id: int
    path: str
    exact_strings: list[dict]


def poster_to_check(db: Database, poster_id: int) -> PosterToCheck | None:
    with db.reader() as session:
        row = session.execute(
            select(Poster.id, Poster.path, Prompt.exact_strings)
            .join(Job, Poster.job_id == Job.id)
            .join(Prompt, Job.prompt_id == Prompt.id)
            .where(Poster.id == poster_id)
        ).first()
        return PosterToCheck(row[0], row[1], list(row[2] or [])) if row else None


def unchecked_poster_ids(db: Database) -> list[int]:
    """Posters made before the text check existed, or whose check never ran."""
    with db.reader() as session:
        return list(session.scalars(select(Poster.id).where(Poster.text_check.is_(None)).order_by(Poster.id)).all())


@dataclass(frozen=True)
class BestOfSet:
    """A best-of-N set as it stands once a new poster's check is recorded (the decision on
    it is the text-check service's: core/services/textcheck.py)."""

    best_of_max: int
    size: int  # jobs in the set, whatever their status
    still_queued: bool
    any_perfect: bool  # a poster of the set has all its text right, the new one included
    last_seed: int
    last_variant_index: int


# Given the set, the seed of the follow-up job to queue, or None when the set is finished.
FollowUpPolicy = Callable[[BestOfSet], int | None]


def record_text_check(
    db: Database, poster_id: int, result: dict, score: float | None, follow_up: FollowUpPolicy | None = None
) -> int | None:
    """Store a check on the poster. A new check replaces the old result; the replaced one is
    summarised in the new result's `history`, so the replacement is on record.

    Given `follow_up` and a poster of a best-of-N set, the policy sees the set with this check
    counted and may ask for the next seed: that job is inserted in the same transaction, so
    no reader ever sees a checked set that looks finished before its follow-up exists.
    Returns the follow-up job's id, or None."""
    with db.session() as session:
        poster = session.get(Poster, poster_id)
        if poster is None:
            raise ValueError(f"Poster {poster_id} does not exist.")
        history = []
        if poster.text_check:
            previous = dict(poster.text_check)
            history = list(previous.pop("history", []))
            history.insert(
                0,
                {
                    "checked_at": previous.get("checked_at"),
                    "score": previous.get("score"),
                    "engine": previous.get("engine"),
                    "error": previous.get("error"),
                    "exact": sum(1 for s in previous.get("strings", []) if s.get("status") == CheckStatus.EXACT),
                },
            )
        poster.text_check = {**result, "checked_at": utcnow().isoformat(), "history": history[:HISTORY_LIMIT]}
        poster.text_score = score
        if follow_up is None:
            return None
        job = session.get(Job, poster.job_id)
        if not job.best_of_max:
            return None
        session.flush()  # the new score counts in the set below
        # Locking the set's rows (PostgreSQL) keeps two workers checking posters of one set
        # from both queuing a follow-up.
        in_set = session.scalars(select(Job).where(Job.variant_group == job.variant_group).with_for_update()).all()
        perfect = session.scalar(
            select(func.count(Poster.id))
            .join(Job, Poster.job_id == Job.id)
            .where(Job.variant_group == job.variant_group, Poster.text_score >= 1.0)
        )
        last = max(in_set, key=lambda other: other.variant_index)
        seed = follow_up(
            BestOfSet(
                best_of_max=job.best_of_max,
                size=len(in_set),
                still_queued=any(other.status == JobStatus.QUEUED for other in in_set),
                any_perfect=bool(perfect),
                last_seed=last.seed,
                last_variant_index=last.variant_index,
            )
        )
        if seed is None:
            return None
        row = follow_up_job(session, job, seed, last.variant_index + 1)
        session.add(row)
        session.flush()
        return row.id


def follow_up_job(session, job: Job, seed: int, variant_index: int) -> Job:
    """The next job of a best-of-N set: the same stored recipe as `job` with the next seed,
    built by the same mapping as every other job, so no recipe field is left to a column default."""
    recipe = recipe_of(session.get(Prompt, job.prompt_id), job)
    return job_row(
        replace(recipe, seed=seed),
        job.prompt_id,
        parent_job_id=job.parent_job_id,
        best_of_max=job.best_of_max,
        variant_group=job.variant_group,
        variant_index=variant_index,
    )


def set_job_ids(db: Database, variant_group: str) -> list[int]:
    """Every job of a variant set, in order: a best-of-N set grows while it runs."""
    with db.reader() as session:
        return list(
            session.scalars(select(Job.id).where(Job.variant_group == variant_group).order_by(Job.variant_index)).all()
        )
