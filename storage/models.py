"""SQLAlchemy 2 typed ORM: every brief, prompt, job, poster and review.

Everything a rerun needs lives in these rows; nothing lives only in a browser session.
Schema changes go through Alembic (storage/migrations), never `create_all` in the app.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.states import JobStatus


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Draft(Base):
    """An uploaded rough draft, stored once per sha256."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(512))
    thumb_path: Mapped[str] = mapped_column(String(512))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    briefs: Mapped[list[Brief]] = relationship(back_populates="draft")


class Brief(Base):
    __tablename__ = "briefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"))
    model_id: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(8), default="en")
    notes: Mapped[str] = mapped_column(Text, default="")  # the user's notes to the art director
    raw_text: Mapped[str] = mapped_column(Text)  # what the model wrote, untouched
    sections: Mapped[dict] = mapped_column(JSON)  # parsed: key -> text
    missing: Mapped[list] = mapped_column(JSON, default=list)  # section keys the model left out
    edited_sections: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the user's edit
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    memory: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="briefs")


class BriefJob(Base):
    """A brief waiting for, or written by, a GPU worker (queue mode: the app may have no GPU).

    The row is the record of truth, as `jobs` is for posters: the task carries only its id,
    the worker writes each stage here as it happens, and the finished brief is linked by
    `brief_id` in the same transaction that writes it (storage/brief_jobs.py)."""

    __tablename__ = "brief_jobs"
    __table_args__ = (Index("ix_brief_jobs_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"))
    language: Mapped[str] = mapped_column(String(8), default="en")
    notes: Mapped[str] = mapped_column(Text, default="")
    max_new_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: the studio's default

    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)  # a JobStatus value
    stage: Mapped[str] = mapped_column(Text, default="", server_default="")  # the stage running now
    stages: Mapped[list] = mapped_column(JSON, default=list)  # every stage of this attempt, in order
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    brief_id: Mapped[int | None] = mapped_column(ForeignKey("briefs.id"), nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # As on jobs: when the broker accepted the task (NULL: not yet sent), and why a send failed.
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dispatch_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    draft: Mapped[Draft] = relationship()
    brief: Mapped[Brief | None] = relationship()


class BrandKit(Base):
    __tablename__ = "brand_kits"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    colors: Mapped[list] = mapped_column(JSON, default=list)  # [{"name": ..., "hex": "#RRGGBB"}]
    fonts: Mapped[str] = mapped_column(Text, default="")
    wordmark: Mapped[str] = mapped_column(String(255), default="")
    tagline: Mapped[str] = mapped_column(String(255), default="")
    tone: Mapped[str] = mapped_column(String(32), default="")
    style_keywords: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Prompt(Base):
    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[dict] = mapped_column(JSON)  # the product fields as entered
    product_name: Mapped[str] = mapped_column(String(255), default="")  # copied out for search
    tone: Mapped[str] = mapped_column(String(32))
    style_keywords: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8))
    brief_id: Mapped[int | None] = mapped_column(ForeignKey("briefs.id"), nullable=True)
    brief_text: Mapped[str] = mapped_column(Text, default="")
    brand_kit_id: Mapped[int | None] = mapped_column(ForeignKey("brand_kits.id"), nullable=True)
    # The kit's text as it was folded into the prompt. Kept apart from the kit so an edit and
    # rerun (or a PNG import on another install) rebuilds the same prompt after the kit changed.
    brand_block: Mapped[str] = mapped_column(Text, default="")
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text)
    negative_preset: Mapped[str] = mapped_column(String(32), default="custom")  # a named negative prompt, or custom
    exact_strings: Mapped[list] = mapped_column(JSON, default=list)  # [{"role": ..., "text": ...}]
    token_count: Mapped[int] = mapped_column(Integer)
    max_sequence_length: Mapped[int] = mapped_column(Integer)
    builder_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    brief: Mapped[Brief | None] = relationship()
    jobs: Mapped[list[Job]] = relationship(back_populates="prompt")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_variant_group", "variant_group"),
        Index("ix_jobs_created", "created_at"),
        Index("ix_jobs_parent_job_id", "parent_job_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    preset_key: Mapped[str] = mapped_column(String(64))
    draft_size: Mapped[bool] = mapped_column(Boolean, default=False)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    steps: Mapped[int] = mapped_column(Integer)
    true_cfg_scale: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(512))
    demo_models: Mapped[bool] = mapped_column(Boolean, default=False)

    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)  # a JobStatus value
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    # With a broker (STUDIO_QUEUE=celery): when its task was accepted (NULL: not yet sent),
    # why the last send failed, and how many times a worker claimed the job.
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dispatch_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The step the live preview in the image store shows (ImageStore.preview_path); NULL
    # when there is none. Cleared when the job finishes, before the file is deleted.
    preview_step: Mapped[int | None] = mapped_column(Integer, nullable=True)

    parent_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    # "Generate until all text is correct": the most jobs this variant set may grow to.
    # None for an ordinary batch.
    best_of_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    variant_group: Mapped[str] = mapped_column(String(64))
    variant_index: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    prompt: Mapped[Prompt] = relationship(back_populates="jobs")
    poster: Mapped[Poster | None] = relationship(back_populates="job")


class Poster(Base):
    __tablename__ = "posters"
    __table_args__ = (Index("ix_posters_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(512))
    thumb_path: Mapped[str] = mapped_column(String(512))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    text_check: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    text_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    job: Mapped[Job] = relationship(back_populates="poster")
    reviews: Mapped[list[Review]] = relationship(back_populates="poster", cascade="all, delete-orphan")


class Review(Base):
    """One reviewer's verdict. Reviews are only ever added, never overwritten."""

    __tablename__ = "reviews"
    # A reviewer's standing verdict is their newest row per poster (max id per poster and
    # reviewer); this index serves that and the reviewer filters.
    __table_args__ = (Index("ix_reviews_reviewer_poster", "reviewer", "poster_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poster_id: Mapped[int] = mapped_column(ForeignKey("posters.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(255))
    rating: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))  # approve, changes, reject
    comment: Mapped[str] = mapped_column(Text, default="")
    # True when the reviewer signed in (then `reviewer` is their e-mail address); False for a
    # typed name, which anyone could have typed. A typed "Ann" and a signed-in Ann are two
    # reviewers, each with their own standing verdict.
    reviewer_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The browser a typed name was used from (a cookie), to warn a second browser before it
    # reviews under a name someone else already uses. None on rows from before 0009.
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    poster: Mapped[Poster] = relationship(back_populates="reviews")


class AuditEvent(Base):
    """Who did what that is not a review: reruns, retries, composes, exports, brand-kit edits,
    deletions. Only ever added."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(255))  # the e-mail when signed in, else the typed name
    actor_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(32), index=True)  # rerun, export, kit_update, ...
    subject: Mapped[str] = mapped_column(String(255), default="")  # e.g. "poster 12", "brand kit 3"
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Worker(Base):
    """What a worker process last said of itself; the sidebar lists the fresh ones."""

    __tablename__ = "workers"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:token, as on jobs
    hostname: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")  # the Celery node name, e.g. gpu0@host
    gpu: Mapped[str] = mapped_column(String(255), default="")
    model_state: Mapped[str] = mapped_column(String(255), default="")
    current_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
