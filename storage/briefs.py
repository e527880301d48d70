"""Drafts and briefs: store, list, edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.files import ImageStore, StoredImage
from storage.models import Brief, Draft


@dataclass(frozen=True)
class DraftRecord:
    id: int
    sha256: str
    path: str
    thumb_path: str
    width: int
    height: int
    original_name: str


@dataclass(frozen=True)
class BriefRecord:
    id: int
    draft_id: int
    draft_thumb_path: str
    draft_path: str
    model_id: str
    language: str
    notes: str
    raw_text: str
    sections: dict
    missing: list
    edited_sections: dict | None
    truncated: bool
    timings: dict
    memory: dict
    created_at: datetime

    @property
    def current_sections(self) -> dict:
        """What Compose uses: the user's edit when there is one, else the parsed brief."""
        return dict(self.edited_sections or self.sections)


def _draft_record(draft: Draft) -> DraftRecord:
    return DraftRecord(draft.id, draft.sha256, draft.path, draft.thumb_path, draft.width, draft.height, draft.original_name)


def _brief_record(brief: Brief, draft: Draft) -> BriefRecord:
    return BriefRecord(
        id=brief.id,
        draft_id=draft.id,
        draft_thumb_path=draft.thumb_path,
        draft_path=draft.path,
        model_id=brief.model_id,
        language=brief.language,
        notes=brief.notes,
        raw_text=brief.raw_text,
        sections=dict(brief.sections or {}),
        missing=list(brief.missing or []),
        edited_sections=dict(brief.edited_sections) if brief.edited_sections else None,
        truncated=brief.truncated,
        timings=dict(brief.timings or {}),
        memory=dict(brief.memory or {}),
        created_at=brief.created_at,
    )


def save_draft(db: Database, store: ImageStore, image: Image.Image, original_name: str) -> DraftRecord:
    """Store a prepared draft once per content hash: the same draft twice is one row."""
    stored = store.put_png(image, kind="drafts")
    with db.session() as session:
        return _draft_record(find_or_add_draft(session, stored, original_name))


def find_or_add_draft(session: Session, stored: StoredImage, original_name: str) -> Draft:
    """The draft row for a stored draft file, added in the caller's transaction when new."""
    existing = session.scalars(select(Draft).where(Draft.sha256 == stored.sha256)).first()
    if existing is not None:
        return existing
    draft = Draft(
        sha256=stored.sha256,
        path=stored.path,
        thumb_path=stored.thumb_path,
        width=stored.width,
        height=stored.height,
        original_name=original_name[:255],
    )
    session.add(draft)
    session.flush()
    return draft


def save_brief(
    db: Database,
    draft_id: int,
    model_id: str,
    language: str,
    notes: str,
    raw_text: str,
    sections: dict,
    missing: list,
    truncated: bool,
    timings: dict,
    memory: dict,
    edited_sections: dict | None = None,
) -> BriefRecord:
    with db.session() as session:
        return add_brief(
            session,
            draft_id=draft_id,
            model_id=model_id,
            language=language,
            notes=notes,
            raw_text=raw_text,
            sections=sections,
            missing=missing,
            truncated=truncated,
            timings=timings,
            memory=memory,
            edited_sections=edited_sections,
        )


def add_brief(
    session: Session,
    draft_id: int,
    model_id: str,
    language: str,
    notes: str,
    raw_text: str,
    sections: dict,
    missing: list,
    truncated: bool,
    timings: dict,
    memory: dict,
    edited_sections: dict | None = None,
) -> BriefRecord:
    """The brief row, in the caller's transaction: one way to write a brief, whether the app
    wrote it (save_brief) or a worker did (storage/brief_jobs.py, complete_brief_job)."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise ValueError(f"Draft {draft_id} does not exist.")
    brief = Brief(
        draft_id=draft_id,
        model_id=model_id,
        language=language,
        notes=notes,
        raw_text=raw_text,
        sections=sections,
        missing=missing,
        edited_sections=edited_sections,
        truncated=truncated,
        timings=timings,
        memory=memory,
    )
    session.add(brief)
    session.flush()
    return _brief_record(brief, draft)


def update_brief_sections(db: Database, brief_id: int, edited_sections: dict) -> BriefRecord:
    with db.session() as session:
        brief = session.get(Brief, brief_id)
        if brief is None:
            raise ValueError(f"Brief {brief_id} does not exist.")
        brief.edited_sections = edited_sections
        session.flush()
        return _brief_record(brief, brief.draft)


def get_brief(db: Database, brief_id: int) -> BriefRecord | None:
    with db.reader() as session:
        brief = session.get(Brief, brief_id)
        return _brief_record(brief, brief.draft) if brief is not None else None


def list_briefs(db: Database, limit: int = 50) -> list[BriefRecord]:
    with db.reader() as session:
        rows = session.execute(
            select(Brief, Draft).join(Draft, Brief.draft_id == Draft.id).order_by(Brief.created_at.desc(), Brief.id.desc()).limit(limit)
        ).all()
        return [_brief_record(brief, draft) for brief, draft in rows]


def brief_exists(db: Database, brief_id: int) -> bool:
    with db.reader() as session:
        return session.get(Brief, brief_id) is not None

