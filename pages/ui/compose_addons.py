"""Compose's gallery-side widgets: applying a brand kit, recalling a recipe from an exported
PNG, and the notice that this compose is an edit of an earlier poster.

They only read and set Compose's widget keys (pages/compose.py DEFAULTS). Values are set in
widget callbacks, which run before the page draws its widgets: Streamlit refuses changes to
a widget's key once the widget exists in the run.
"""

from __future__ import annotations

import logging

import streamlit as st

from core.prompt.brand import brand_block
from core.services.brand_kits import get_kit, list_kits
from core.services.export import RecipeImportError, read_recipe
from core.services.gallery import job_made_poster, recall_links
from core.prompt.builder import BUILDER_VERSION, TONES
from core.recipe import compose_prefill
from pages.ui.markdown_text import plain

logger = logging.getLogger(__name__)


def _apply_kit(studio) -> None:
    state = st.session_state
    kit_id = state.get("compose_brand_kit")
    if kit_id is None:
        state.compose_brand_block = ""
        return
    kit = get_kit(studio.db, kit_id)
    if kit is None:
        state.compose_brand_kit = None
        state.compose_kit_message = ("error", "That brand kit was deleted; pick another.")
        return
    state.compose_brand_block = brand_block(kit.name, kit.colors, kit.fonts, kit.wordmark)
    filled = []
    if kit.tone in TONES:
        state.compose_tone = kit.tone
        filled.append(f"tone {kit.tone}")
    if kit.style_keywords:
        state.compose_style = kit.style_keywords
        filled.append("style keywords")
    # The tagline is a default: it never replaces an offer headline the user already typed.
    if kit.tagline and not str(state.get("compose_offer", "")).strip():
        state.compose_offer = kit.tagline
        filled.append("the offer headline (its tagline)")
    state.compose_kit_message = (
        "success",
        f"Applied {plain(kit.name)}: brand block added" + (f"; filled {', '.join(filled)}." if filled else "."),
    )


def brand_kit_section(studio) -> None:
    kits = {kit.id: kit for kit in list_kits(studio.db)}
    if st.session_state.get("compose_brand_kit") not in (None, *kits):
        st.session_state.compose_brand_kit = None  # deleted since it was picked
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    c1.selectbox(
        "Brand kit",
        [None, *kits],
        format_func=lambda i: "No brand kit" if i is None else kits[i].name,
        key="compose_brand_kit",
        placeholder="No brand kit",  # Streamlit shows the placeholder while the value is None
        on_change=_apply_kit,
        args=(studio,),
        help="Fills the kit's tone, style keywords and tagline, and adds its colours and fonts to the prompt.",
    )
    c2.page_link("pages/brand_kits.py", label="Manage brand kits", icon=":material/style:")
    message = st.session_state.pop("compose_kit_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])
    if st.session_state.get("compose_brand_kit") is not None or st.session_state.get("compose_brand_block"):
        st.text_area(
            "Brand block (added to the prompt; edit freely)",
            key="compose_brand_block",
            height=68,
        )


def _import_png(studio) -> None:
    state = st.session_state
    upload = state.get("compose_import")
    if upload is None:
        return
    try:
        recipe, source = read_recipe(upload.getvalue())
    except RecipeImportError as problem:
        state.compose_import_message = ("error", f"{plain(upload.name)}: {plain(problem)}")
        return
    except Exception:
        logger.exception("could not read an uploaded PNG")
        state.compose_import_message = ("error", f"{plain(upload.name)} could not be read as an image. Is it a PNG exported from the gallery?")
        return
    has_brief, kit_exists = recall_links(studio.db, recipe.brief_id, recipe.brand_kit_id)
    prefill = compose_prefill(recipe, BUILDER_VERSION, has_brief, kit_exists)
    for key, value in prefill.values.items():  # every value checked before any is set
        state[key] = value
    # Lineage only when this very poster was made here; a PNG from elsewhere starts afresh.
    if source.job_id is not None and source.sha256 and job_made_poster(studio.db, source.job_id, source.sha256):
        state.compose_parent_job_id = source.job_id
        state.compose_parent_poster_id = source.poster_id
    else:
        state.pop("compose_parent_job_id", None)
        state.pop("compose_parent_poster_id", None)
    state.compose_notes = prefill.notes
    state.compose_import_message = (
        "success",
        f"Recalled the recipe from {plain(upload.name)}: {plain(recipe.product.get('name') or 'untitled')}, seed {recipe.seed}, "
        f"{recipe.steps} steps. Check the prompt, then Generate.",
    )


def recipe_import_section(studio) -> None:
    with st.expander("Recall a recipe from an exported PNG"):
        st.file_uploader(
            "Drop a PNG downloaded from the gallery",
            type=["png", "jpg", "jpeg", "webp"],
            key="compose_import",
            on_change=_import_png,
            args=(studio,),
            help="Gallery PNGs carry their full recipe; this fills the whole form from it.",
        )
    message = st.session_state.pop("compose_import_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])


def _detach() -> None:
    for key in ("compose_parent_job_id", "compose_parent_poster_id", "compose_notes"):
        st.session_state.pop(key, None)


def rerun_notice() -> None:
    parent = st.session_state.get("compose_parent_job_id")
    if parent is None:
        return
    poster = st.session_state.get("compose_parent_poster_id")
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info(
        f"Editing a rerun of poster #{poster} (job {parent}): posters you generate now record it as their parent."
        if poster
        else f"Editing a rerun of job {parent}: posters you generate now record it as their parent."
    )
    c2.button("Start fresh", key="compose_detach", on_click=_detach, help="Generate without linking to that poster.")
    for note in st.session_state.get("compose_notes") or []:
        st.warning(plain(note))
