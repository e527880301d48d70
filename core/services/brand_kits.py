"""Brand kits for the pages: list, fetch, create, update and delete.

Checking a kit (core/prompt/brand.py validate_kit) happens before any of these is called.
"""

from __future__ import annotations

from storage.brand_kits import (
    BrandKitRecord,
    DuplicateKitName,
    create_kit,
    delete_kit,
    get_kit,
    list_kits,
    prompts_using,
    update_kit,
)

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
