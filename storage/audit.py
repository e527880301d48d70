"""The audit rows: who reran, exported, composed or edited what. Only ever added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEvent


@dataclass(frozen=True)
class AuditRecord:
    id: int
    actor: str
    actor_verified: bool
    action: str
    subject: str
    detail: dict
    created_at: datetime


def record_event(db: Database, actor: str, actor_verified: bool, action: str, subject: str, detail: dict | None = None) -> int:
    with db.session() as session:
        row = AuditEvent(actor=actor, actor_verified=actor_verified, action=action, subject=subject, detail=detail or {})
        session.add(row)
        session.flush()
        return row.id


def recent_events(db: Database, limit: int = 50, action: str | None = None) -> list[AuditRecord]:
    """The newest events first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    with db.reader() as session:
        return [
            AuditRecord(r.id, r.actor, r.actor_verified, r.action, r.subject, dict(r.detail or {}), r.created_at)
            for r in session.scalars(query).all()
        ]
