"""Brand kits for the pages: list, fetch, create, update and delete.

Checking a kit (core/prompt/brand.py validate_kit) happens before any of these is called.
Creating and editing need the designer role, deleting the admin role; each is audited.
"""

from __future__ import annotations

from core.access import Actor, Right, require
from core.services.audit import record
from storage import brand_kits as kit_rows
from storage.brand_kits import BrandKitRecord, DuplicateKitName, get_kit, list_kits, prompts_using

__all__ = [
    "BrandKitRecord",
    "DuplicateKitName",
    "create_kit",
    "delete_kit",
    "get_kit",
    "list_kits",
    "prompts_using",
    "update_kit",
]


def create_kit(db, spec, *, actor: Actor) -> int:
    require(actor, Right.EDIT_KITS)
    kit_id = kit_rows.create_kit(db, spec)
    record(db, actor, "kit_create", f"brand kit {kit_id}", {"name": spec.name})
    return kit_id


def update_kit(db, kit_id: int, spec, *, actor: Actor) -> bool:
    """False when the kit was deleted meanwhile."""
    require(actor, Right.EDIT_KITS)
    updated = kit_rows.update_kit(db, kit_id, spec)
    if updated:
        record(db, actor, "kit_update", f"brand kit {kit_id}", {"name": spec.name})
    return updated


def delete_kit(db, kit_id: int, *, actor: Actor) -> bool:
    """False when it was already gone."""
    require(actor, Right.DELETE)
    deleted = kit_rows.delete_kit(db, kit_id)
    if deleted:
        record(db, actor, "kit_delete", f"brand kit {kit_id}")
    return deleted
