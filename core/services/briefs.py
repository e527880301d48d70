"""Saved briefs for the pages: list, fetch and save the user's edits to the seven sections.

Writing a new brief runs the VL model and lives on the Studio (core/services/studio.py).
"""

from __future__ import annotations

from core.brief.runtime import STAGE_FREEING
from storage.briefs import BriefRecord, get_brief, list_briefs, update_brief_sections

__all__ = ["STAGE_FREEING", "BriefRecord", "get_brief", "list_briefs", "save_edits"]


def save_edits(db, brief_id: int, edited_sections: dict) -> BriefRecord:
    """Store the user's text for each section next to what the model wrote (kept as is)."""
    return update_brief_sections(db, brief_id, edited_sections)
