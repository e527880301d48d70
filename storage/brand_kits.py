"""Brand kit rows: list, read, create, update, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import BrandKit, Prompt


class DuplicateKitName(ValueError):
    pass


@dataclass(frozen=True)
class BrandKitRecord:
    id: int
    name: str
    colors: list[dict]  # [{"name": ..., "hex": "#RRGGBB"}]
    fonts: str
    wordmark: str
    tagline: str
    tone: str
    style_keywords: str
    created_at: datetime
    updated_at: datetime


def _record(kit: BrandKit) -> BrandKitRecord:
    return BrandKitRecord(
        id=kit.id,
        name=kit.name,
        colors=[dict(c) for c in kit.colors or []],
        fonts=kit.fonts,
        wordmark=kit.wordmark,
        tagline=kit.tagline,
        tone=kit.tone,
        style_keywords=kit.style_keywords,
        created_at=kit.created_at,
        updated_at=kit.updated_at,
    )


def _values(spec) -> dict:
    """The columns of a validated core.prompt.brand.BrandKitSpec (duck-typed: storage knows no core)."""
    return {
        "name": spec.name,
        "colors": [{"name": c.name, "hex": c.hex} for c in spec.colors],
        "fonts": spec.fonts,
        "wordmark": spec.wordmark,
        "tagline": spec.tagline,
        "tone": spec.tone,
        "style_keywords": spec.style_keywords,
    }


def _name_taken(session, name: str, except_id: int | None = None) -> bool:
    query = select(func.count(BrandKit.id)).where(func.lower(BrandKit.name) == name.lower())
    if except_id is not None:
        query = query.where(BrandKit.id != except_id)
    return bool(session.scalar(query))


def list_kits(db: Database) -> list[BrandKitRecord]:
    with db.reader() as session:
        return [_record(kit) for kit in session.scalars(select(BrandKit).order_by(func.lower(BrandKit.name))).all()]


def get_kit(db: Database, kit_id: int) -> BrandKitRecord | None:
    with db.reader() as session:
        kit = session.get(BrandKit, kit_id)
        return _record(kit) if kit is not None else None


def create_kit(db: Database, spec) -> int:
    try:
        with db.session() as session:
            # Names are unique regardless of case: "Aurora" and "aurora" would be one brand.
            if _name_taken(session, spec.name):
                raise DuplicateKitName(spec.name)
            kit = BrandKit(**_values(spec))
            session.add(kit)
            session.flush()
            return kit.id
    except IntegrityError:  # the same name saved by someone else a moment ago
        raise DuplicateKitName(spec.name) from None


def update_kit(db: Database, kit_id: int, spec) -> bool:
    """Returns False when the kit no longer exists."""
    try:
        with db.session() as session:
            kit = session.get(BrandKit, kit_id)
            if kit is None:
                return False
            if _name_taken(session, spec.name, except_id=kit_id):
                raise DuplicateKitName(spec.name)
            for key, value in _values(spec).items():
                setattr(kit, key, value)
            return True
    except IntegrityError:
        raise DuplicateKitName(spec.name) from None


def prompts_using(db: Database, kit_id: int) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(Prompt.id)).where(Prompt.brand_kit_id == kit_id)) or 0


def delete_kit(db: Database, kit_id: int) -> bool:
    """Delete a kit. Prompts made with it keep their brand block text (all a rerun needs)
    and lose only the link, in the same transaction."""
    with db.session() as session:
        kit = session.get(BrandKit, kit_id)
        if kit is None:
            return False
        session.execute(update(Prompt).where(Prompt.brand_kit_id == kit_id).values(brand_kit_id=None))
        session.delete(kit)
        return True
