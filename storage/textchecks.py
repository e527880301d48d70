"""Text-check results on poster rows, and the best-of-N follow-up jobs they trigger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.text.result import CheckStatus
from storage.db import Database
from storage.models import QUEUED, Job, Poster, Prompt, utcnow

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


def record_text_check(db: Database, poster_id: int, result: dict, score: float | None) -> None:
    """Store a check on the poster. A new check replaces the old result; the replaced one is
    summarised in the new result's `history`, so the replacement is on record."""
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


def enqueue_best_of_follow_up(db: Database, job_id: int) -> int | None:
    """After a poster of a best-of-N set was checked: queue the next seed unless a poster
    of the set already has all its text right or the set reached its maximum. Returns the
    new job's id, or None when the set is finished."""
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not job.best_of_max:
            return None
        in_set = session.scalars(select(Job).where(Job.variant_group == job.variant_group)).all()
        perfect = session.scalar(
            select(func.count(Poster.id))
            .join(Job, Poster.job_id == Job.id)
            .where(Job.variant_group == job.variant_group, Poster.text_score >= 1.0)
        )
        still_queued = any(other.status == QUEUED for other in in_set)
        if perfect or still_queued or len(in_set) >= job.best_of_max:
            return None
        last = max(in_set, key=lambda other: other.variant_index)
        follow_up = Job(
            prompt_id=job.prompt_id,
            preset_key=job.preset_key,
            draft_size=job.draft_size,
            width=job.width,
            height=job.height,
            steps=job.steps,
            true_cfg_scale=job.true_cfg_scale,
            seed=(last.seed + 1) % (2**31),
            model_id=job.model_id,
            demo_models=job.demo_models,
            strategy=job.strategy,
            parent_job_id=job.parent_job_id,
            best_of_max=job.best_of_max,
            variant_group=job.variant_group,
            variant_index=last.variant_index + 1,
            status=QUEUED,
            progress_total=job.steps,
            timings={},
        )
        session.add(follow_up)
        session.flush()
        return follow_up.id


def set_job_ids(db: Database, variant_group: str) -> list[int]:
    """Every job of a variant set, in order: a best-of-N set grows while it runs."""
    with db.reader() as session:
        return list(
            session.scalars(select(Job.id).where(Job.variant_group == variant_group).order_by(Job.variant_index)).all()
        )
