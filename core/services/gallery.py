"""The gallery's reads and its one delete, for the pages: tiles, variant sets, a poster's
detail and lineage, and what a recalled recipe still points at.

Pages reach storage only through core.services; these are storage/gallery.py and
storage/lineage.py's queries under the names the pages use.
"""

from __future__ import annotations

import re

from core.access import Actor, Right, require
from core.services.audit import record
from storage.db import Database
from storage.files import ImageStore
from storage.gallery import (
    GalleryFilter,
    PosterCard,
    PosterDetail,
    VariantSet,
    count_posters,
    delete_poster,
    get_poster,
    get_posters,
    get_variant_set,
    list_posters,
    list_variant_sets,
    poster_ids_matching,
)
from storage.lineage import Lineage, LineageNode, lineage
from storage.textchecks import unchecked_poster_ids

__all__ = [
    "GalleryFilter",
    "Lineage",
    "LineageNode",
    "PosterCard",
    "PosterDetail",
    "VariantSet",
    "count_posters",
    "delete",
    "describe_selection",
    "get_poster",
    "get_posters",
    "get_variant_set",
    "lineage",
    "list_posters",
    "list_variant_sets",
    "poster_ids_matching",
    "unchecked_poster_ids",
    "zip_file_name",
]


def delete(db: Database, store: ImageStore, poster_id: int, *, actor: Actor) -> bool:
    """The poster, its reviews, its recipe rows and its files; False when it was already gone.
    Admins only (AccessDenied otherwise); the deletion is audited."""
    require(actor, Right.DELETE)
    deleted = delete_poster(db, store, poster_id)
    if deleted:
        record(db, actor, "delete_poster", f"poster {poster_id}")
    return deleted


def describe_selection(view: str, filters: GalleryFilter) -> str:
    """The gallery selection in words, for a zip's name and its manifest: the view, then every
    filter that narrows it (a zip of Ann's reviews must not read as "all posters")."""
    parts = [f"gallery {view}"]
    if filters.status != "done" and not filters.shortlist:
        parts.append(f"status {filters.status}" if filters.status else "any status")
    if filters.preset_key:
        parts.append(f"preset {filters.preset_key}")
    if filters.language:
        parts.append(f"language {filters.language}")
    if filters.text.strip():
        parts.append(f"search {filters.text.strip()!r}")
    if filters.verdict:
        parts.append(f"verdict {filters.verdict}")
    if filters.min_rating:
        parts.append(f"rated {filters.min_rating:g}+")
    if filters.reviewer:
        parts.append(f"reviewed by {filters.reviewer}")
    if filters.not_reviewed_by:
        parts.append(f"not reviewed by {filters.not_reviewed_by}")
    if filters.all_text_correct:
        parts.append("all text correct")
    return ", ".join(parts)


def zip_file_name(selection: str) -> str:
    """posters-<the selection in lowercase letters, digits and dashes>.zip, at most 80 long."""
    slug = re.sub(r"[^a-z0-9]+", "-", selection.lower()).strip("-")[:60].rstrip("-")
    return f"posters-{slug or 'selection'}.zip"
