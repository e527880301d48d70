"""Read and delete finished posters: the gallery's queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select

from storage.db import Database
from storage.files import ImageStore
from storage.models import Brief, Job, Poster, Prompt


@dataclass(frozen=True)
class GalleryFilter:
    preset_key: str | None = None
    language: str | None = None
    status: str | None = "done"  # a job status; None = every job, drawn or not
    text: str = ""  # searched in the product name and the prompt
    variant_group: str | None = None


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
    id: int
    job_id: int
    path: str
    thumb_path: str
    sha256: str
    width: int
    height: int
    created_at: datetime
    text_check: dict | None
    # the whole recipe
    product: dict
    tone: str
    style_keywords: str
    language: str
    prompt: str
    negative_prompt: str
    exact_strings: list
    token_count: int
    max_sequence_length: int
    builder_version: str
    brief_id: int | None
    brief_text: str
    brand_kit_id: int | None
    preset_key: str
    draft_size: bool
    steps: int
    true_cfg_scale: float
    seed: int
    model_id: str
    demo_models: bool
    strategy: str
    timings: dict = field(default_factory=dict)
    parent_job_id: int | None = None
    variant_group: str = ""
    variant_index: int = 0
    brief_sections: dict | None = None


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
        pattern = f"%{text.lower()}%"
        query = query.where(or_(func.lower(Prompt.product_name).like(pattern), func.lower(Prompt.prompt).like(pattern)))
    return query


def list_posters(
    db: Database, filters: GalleryFilter = GalleryFilter(), page: int = 1, page_size: int = 24
) -> tuple[list[PosterCard], int]:
    """One page of gallery tiles, newest first, and how many match in all."""
    page = max(page, 1)
    base = select(Job, Poster, Prompt).outerjoin(Poster, Poster.job_id == Job.id).join(Prompt, Job.prompt_id == Prompt.id)
    count_query = select(func.count(Job.id)).outerjoin(Poster, Poster.job_id == Job.id).join(
        Prompt, Job.prompt_id == Prompt.id
    )
    with db.session() as session:
        total = session.scalar(_filtered(count_query, filters)) or 0
        rows = session.execute(
            _filtered(base, filters)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        cards = [
            PosterCard(
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
            for job, poster, prompt in rows
        ]
    return cards, total


def get_poster(db: Database, poster_id: int) -> PosterDetail | None:
    with db.session() as session:
        row = session.execute(
            select(Poster, Job, Prompt)
            .join(Job, Poster.job_id == Job.id)
            .join(Prompt, Job.prompt_id == Prompt.id)
            .where(Poster.id == poster_id)
        ).first()
        if row is None:
            return None
        poster, job, prompt = row
        brief_sections = None
        if prompt.brief_id is not None:
            brief = session.get(Brief, prompt.brief_id)
            if brief is not None:
                brief_sections = dict(brief.edited_sections or brief.sections or {})
        return PosterDetail(
            id=poster.id,
            job_id=job.id,
            path=poster.path,
            thumb_path=poster.thumb_path,
            sha256=poster.sha256,
            width=poster.width,
            height=poster.height,
            created_at=poster.created_at,
            text_check=poster.text_check,
            product=dict(prompt.product or {}),
            tone=prompt.tone,
            style_keywords=prompt.style_keywords,
            language=prompt.language,
            prompt=prompt.prompt,
            negative_prompt=prompt.negative_prompt,
            exact_strings=list(prompt.exact_strings or []),
            token_count=prompt.token_count,
            max_sequence_length=prompt.max_sequence_length,
            builder_version=prompt.builder_version,
            brief_id=prompt.brief_id,
            brief_text=prompt.brief_text,
            brand_kit_id=prompt.brand_kit_id,
            preset_key=job.preset_key,
            draft_size=job.draft_size,
            steps=job.steps,
            true_cfg_scale=job.true_cfg_scale,
            seed=job.seed,
            model_id=job.model_id,
            demo_models=job.demo_models,
            strategy=job.strategy,
            timings=dict(job.timings or {}),
            parent_job_id=job.parent_job_id,
            variant_group=job.variant_group,
            variant_index=job.variant_index,
            brief_sections=brief_sections,
        )


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
    return True


def count_posters(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count(Poster.id))) or 0
