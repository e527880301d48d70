"""The audit trail for the pages and services: who reran, exported, composed or edited what.

Reviews carry their reviewer themselves (storage/reviews.py); everything else a user does
that changes or takes something is one row here, signed with the acting `Actor`.
"""

from __future__ import annotations

from core.access import Actor
from storage.audit import AuditRecord, recent_events, record_event

__all__ = ["AuditRecord", "record", "recent_events"]


def record(db, actor: Actor, action: str, subject: str, detail: dict | None = None) -> int:
    return record_event(db, actor.name, actor.verified, action, subject, detail)
