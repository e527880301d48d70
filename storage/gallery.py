"""Read and delete finished posters: the gallery's queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, or_, select

from core.recipe import Provenance, Recipe
from storage.db import Database
from storage.files import ImageStore
from storage.models import BrandKit, Brief, Job, Poster, Prompt, Review
from storage.recipes import provenance_of, recipe_of
from storage.reviews import standing_review_ids

# Verdicts that keep a poster off the shortlist while any reviewer's standing review says so.
BLOCKING_VERDICTS = ("changes", "reject")


@dataclass(frozen=True)
class GalleryFilter:
    preset_key: str | None = None
    language: str | None = None
    status: str | None = "done"  # a job status; None = every job, drawn or not
    text: str = ""  # searched in the product name and the prompt
    variant_group: str | None = None
    # Review filters. They match posters only (a failed job has nothing to review), and they
    # read each reviewer's standing (newest) review.
    verdict: str | None = None  # some reviewer's standing verdict is this
    min_rating: float | None = None  # average standing rating at least this
    reviewer: str | None = None  # reviewed by this person
    not_reviewed_by: str | None = None  # no review yet from this person ("not yet reviewed by me")
    shortlist: bool = False  # approved by someone, and nobody's standing verdict is changes/reject
    all_text_correct: bool = False  # the OCR check found every exact string exactly
    sort: str = "newest"  # "newest", or "text" (best text score first)


@dataclass(frozen=True)
class PosterCard:
    """One gallery tile: a job and, when it finished, its poster."""

    id: int | None  # the poster's id; None for failed, cancelled or unfinished jobs
    job_id: int
    thumb_path: str | None
    product_name: str
    preset_key: str
    language: str
    seed: int
    status: str
    seconds: float | None
    width: int
    height: int
    variant_group: str
    created_at: datetime
    text_score: float | None
    error: str | None = None


@dataclass(frozen=True)
class PosterDetail:
    """A drawn poster: its file, its recipe, and where it came from."""

    id: int
    path: str
    thumb_path: str
    sha256: str
    width: int  # of the stored PNG
    height: int
    created_at: datetime
    text_check: dict | None
    text_score: float | None
    recipe: Recipe
    provenance: Provenance
    brief_sections: dict | None = None  # the saved brief as it reads now (it may be edited since)
    prompt_id: int = 0  # the prompts row (shared by the jobs of one variant set)


def _review_stats():
    """Per poster, over each reviewer's standing review: the average rating and how many
    standing verdicts of each kind. A derived table the gallery joins when it filters by
    review: one pass over the reviews, however many posters there are.

    (Filtering with `posters.id IN (subquery)` instead let SQLite drive an index search per
    list element for every job: seconds at 10,000 posters. bench/gallery_perf.py measures it.)"""
    standing = (
        select(Review.poster_id, Review.rating, Review.verdict).where(Review.id.in_(standing_review_ids())).subquery()
    )
    return (
        select(
            standing.c.poster_id,
            func.avg(standing.c.rating).label("avg_rating"),
            *[
                func.sum(case((standing.c.verdict == verdict, 1), else_=0)).label(verdict)
                for verdict in ("approve", *BLOCKING_VERDICTS)
            ],
        )
        .group_by(standing.c.poster_id)
        .subquery("review_stats")
    )


def _review_filtered(query, filters: GalleryFilter):
    if filters.verdict or filters.min_rating or filters.shortlist:
        stats = _review_stats()
        query = query.join(stats, stats.c.poster_id == Poster.id)
        if filters.verdict:
            if filters.verdict not in stats.c:
                raise ValueError(f"Unknown verdict {filters.verdict!r}.")
            query = query.where(stats.c[filters.verdict] > 0)
        if filters.min_rating:
            query = query.where(stats.c.avg_rating >= filters.min_rating)
        if filters.shortlist:
            query = query.where(stats.c.approve > 0, stats.c.changes == 0, stats.c.reject == 0)
    if filters.reviewer:
        query = query.where(
            exists().where(Review.poster_id == Poster.id, Review.reviewer == filters.reviewer)
        )
    if filters.not_reviewed_by:
        query = query.where(
            Poster.id.is_not(None),
            ~exists().where(Review.poster_id == Poster.id, Review.reviewer == filters.not_reviewed_by),
        )
    return query


def _filtered(query, filters: GalleryFilter):
    if filters.preset_key:
        query = query.where(Job.preset_key == filters.preset_key)
    if filters.language:
        query = query.where(Prompt.language == filters.language)
    if filters.status:
        query = query.where(Job.status == filters.status)
    if filters.variant_group:
        query = query.where(Job.variant_group == filters.variant_group)
    text = filters.text.strip()
    if text:
        # The search is literal: '%' and '_' typed by the user are characters, not LIKE wildcards.
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                func.lower(Prompt.product_name).like(pattern, escape="\\"),
                func.lower(Prompt.prompt).like(pattern, escape="\\"),
            )
        )
    if filters.all_text_correct:
        query = query.where(Poster.text_score >= 1.0)
    return _review_filtered(query, filters)


def _ordering(filters: GalleryFilter) -> list:
    newest = [Job.created_at.desc(), Job.id.desc()]
    if filters.sort == "text":
        # Unchecked posters (and jobs without a poster) after every checked one.
        return [Poster.text_score.desc().nulls_last(), *newest]
    return newest


def list_posters(
    db: Database, filters: GalleryFilter = GalleryFilter(), page: int = 1, page_size: int = 24
) -> tuple[list[PosterCard], int]:
    """One page of gallery tiles, newest first, and how many match in all."""
    page = max(page, 1)
    base = select(Job, Poster, Prompt).outerjoin(Poster, Poster.job_id == Job.id).join(Prompt, Job.prompt_id == Prompt.id)
    count_query = select(func.count(Job.id)).outerjoin(Poster, Poster.job_id == Job.id).join(
        Prompt, Job.prompt_id == Prompt.id
    )
    with db.reader() as session:
        total = session.scalar(_filtered(count_query, filters)) or 0
        rows = session.execute(
            _filtered(base, filters)
            .order_by(*_ordering(filters))
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        cards = [_card(job, poster, prompt) for job, poster, prompt in rows]
    return cards, total


def get_poster(db: Database, poster_id: int) -> PosterDetail | None:
    with db.reader() as session:
        row = session.execute(
            select(Poster, Job, Prompt)
            .join(Job, Poster.job_id == Job.id)
            .join(Prompt, Job.prompt_id == Prompt.id)
            .where(Poster.id == poster_id)
        ).first()
        if row is None:
            return None
        poster, job, prompt = row
        return _detail(session, poster, job, prompt)


def poster_of_job(db: Database, job_id: int) -> PosterDetail | None:
    """The poster a job drew, if it drew one and it still exists."""
    with db.reader() as session:
        row = session.execute(
            select(Poster, Job, Prompt)
            .join(Job, Poster.job_id == Job.id)
            .join(Prompt, Job.prompt_id == Prompt.id)
            .where(Job.id == job_id)
        ).first()
        return _detail(session, *row) if row is not None else None


def _detail(session, poster: Poster, job: Job, prompt: Prompt) -> PosterDetail:
    brief_sections = None
    if prompt.brief_id is not None:
        brief = session.get(Brief, prompt.brief_id)
        if brief is not None:
            brief_sections = dict(brief.edited_sections or brief.sections or {})
    kit_name = None
    if prompt.brand_kit_id is not None:
        kit = session.get(BrandKit, prompt.brand_kit_id)
        kit_name = kit.name if kit is not None else None
    return PosterDetail(
        id=poster.id,
        path=poster.path,
        thumb_path=poster.thumb_path,
        sha256=poster.sha256,
        width=poster.width,
        height=poster.height,
        created_at=poster.created_at,
        text_check=poster.text_check,
        text_score=poster.text_score,
        recipe=recipe_of(prompt, job),
        provenance=provenance_of(job, poster, kit_name),
        brief_sections=brief_sections,
        prompt_id=prompt.id,
    )


def get_posters(db: Database, poster_ids: list[int]) -> list[PosterDetail]:
    """Several posters' details in the order asked; ids that no longer exist are left out."""
    if not poster_ids:
        return []
    with db.reader() as session:
        rows = session.execute(
            select(Poster, Job, Prompt)
            .join(Job, Poster.job_id == Job.id)
            .join(Prompt, Job.prompt_id == Prompt.id)
            .where(Poster.id.in_(poster_ids))
        ).all()
        details = {poster.id: _detail(session, poster, job, prompt) for poster, job, prompt in rows}
    return [details[i] for i in poster_ids if i in details]


def poster_ids_matching(db: Database, filters: GalleryFilter, limit: int) -> tuple[list[int], int]:
    """Ids of the posters the filters match, newest first (at most `limit`), and how many
    match in all. The zip of 'the current selection' uses it."""
    filters = GalleryFilter(**{**filters.__dict__, "status": "done"})  # only drawn posters export
    with db.reader() as session:
        base = select(Poster.id).join(Job, Poster.job_id == Job.id).join(Prompt, Job.prompt_id == Prompt.id)
        count_query = select(func.count(Poster.id)).join(Job, Poster.job_id == Job.id).join(Prompt, Job.prompt_id == Prompt.id)
        total = session.scalar(_filtered(count_query, filters)) or 0
        ids = session.scalars(
            _filtered(base, filters).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        ).all()
    return list(ids), total


@dataclass(frozen=True)
class VariantSet:
    """One batch of variants: the jobs one Generate (or one rerun) queued together."""

    variant_group: str
    product_name: str
    preset_key: str
    prompt_id: int
    created_at: datetime
    cards: list[PosterCard]  # every job of the set, drawn or not, in variant order


def _card(job: Job, poster: Poster | None, prompt: Prompt) -> PosterCard:
    return PosterCard(
        id=poster.id if poster else None,
        job_id=job.id,
        thumb_path=poster.thumb_path if poster else None,
        product_name=prompt.product_name,
        preset_key=job.preset_key,
        language=prompt.language,
        seed=job.seed,
        status=job.status,
        seconds=(job.timings or {}).get("total_s"),
        width=job.width,
        height=job.height,
        variant_group=job.variant_group,
        created_at=job.created_at,
        text_score=poster.text_score if poster else None,
        error=job.error,
    )


def list_variant_sets(
    db: Database, filters: GalleryFilter = GalleryFilter(), page: int = 1, page_size: int = 5
) -> tuple[list[VariantSet], int]:
    """One page of variant sets, newest first: a set matches when any of its jobs matches
    the filters, and then shows all of its jobs (its failed variants too)."""
    page = max(page, 1)
    matching = _filtered(
        select(Job.variant_group, func.max(Job.created_at).label("newest"))
        .outerjoin(Poster, Poster.job_id == Job.id)
        .join(Prompt, Job.prompt_id == Prompt.id),
        filters,
    ).group_by(Job.variant_group)
    with db.reader() as session:
        total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        groups = [
            row.variant_group
            for row in session.execute(
                # Sets queued in the same instant (one clock tick) keep one order on every
                # backend and every page: the later-written set first.
                matching.order_by(func.max(Job.created_at).desc(), func.max(Job.id).desc())
                .offset((page - 1) * page_size)
                .limit(page_size)
            ).all()
        ]
        sets = [_variant_set(session, group) for group in groups]
    return [s for s in sets if s is not None], total


def _variant_set(session, group: str) -> VariantSet | None:
    rows = session.execute(
        select(Job, Poster, Prompt)
        .outerjoin(Poster, Poster.job_id == Job.id)
        .join(Prompt, Job.prompt_id == Prompt.id)
        .where(Job.variant_group == group)
        .order_by(Job.variant_index, Job.id)
    ).all()
    if not rows:
        return None
    first_job, _, first_prompt = rows[0]
    return VariantSet(
        variant_group=group,
        product_name=first_prompt.product_name,
        preset_key=first_job.preset_key,
        prompt_id=first_prompt.id,
        created_at=min(job.created_at for job, _, _ in rows),
        cards=[_card(job, poster, prompt) for job, poster, prompt in rows],
    )


def get_variant_set(db: Database, group: str) -> VariantSet | None:
    with db.reader() as session:
        return _variant_set(session, group)


def delete_poster(db: Database, store: ImageStore, poster_id: int) -> bool:
    """Delete a poster's rows (poster, reviews, job, and its prompt when no other job uses
    it) and then its files. Files go last and only when no other poster shares their bytes:
    an exact rerun stores the same content-addressed PNG."""
    with db.session() as session:
        poster = session.get(Poster, poster_id)
        if poster is None:
            return False
        job = session.get(Job, poster.job_id)
        sha, path, thumb = poster.sha256, poster.path, poster.thumb_path
        session.delete(poster)  # reviews go with it (cascade)
        session.flush()
        if job is not None:
            # Keep the lineage walkable: children of the deleted job hang on its parent.
            for child in session.scalars(select(Job).where(Job.parent_job_id == job.id)).all():
                child.parent_job_id = job.parent_job_id
            prompt_id = job.prompt_id
            session.delete(job)
            session.flush()
            if session.scalar(select(func.count(Job.id)).where(Job.prompt_id == prompt_id)) == 0:
                session.delete(session.get(Prompt, prompt_id))
        still_used = session.scalar(select(func.count(Poster.id)).where(Poster.sha256 == sha))
    if not still_used:
        store.delete(path)
        store.delete(thumb)
        store.delete(store.display_path(path))
    return True


def count_posters(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(Poster.id))) or 0
