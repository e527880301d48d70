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
from core.services.export import RecipeImportError, recall_recipe
from core.prompt import limits
from core.prompt.builder import LANGUAGES, TONES
from core.recipe import Recipe
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
    state.compose_brand_block = brand_block(kit.name, kit.colors, kit.fonts, kit.wordmark, state.compose_language)
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


def kit_block_follows_language(studio) -> None:
    """After the language changed: the applied kit's block, if it is still the kit's own
    (in any language), is written again in the new one. A block the user edited is theirs
    and stays as typed."""
    state = st.session_state
    kit = get_kit(studio.db, state.compose_brand_kit) if state.get("compose_brand_kit") is not None else None
    if kit is None:
        return
    written = {brand_block(kit.name, kit.colors, kit.fonts, kit.wordmark, language) for language in LANGUAGES}
    if state.get("compose_brand_block") in written:
        state.compose_brand_block = brand_block(kit.name, kit.colors, kit.fonts, kit.wordmark, state.compose_language)


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
            max_chars=limits.MAX_BRAND_BLOCK_CHARS,
            height=68,
        )


# Compose's widget key for each recipe field (pages/compose.py DEFAULTS). Width, height, the
# built prompt and the model are not widgets: Compose derives them again.
RECIPE_WIDGETS = {
    "compose_name": lambda r: r.product.get("name", ""),
    "compose_description": lambda r: r.product.get("description", ""),
    "compose_offer": lambda r: r.product.get("offer", ""),
    "compose_price": lambda r: r.product.get("price", ""),
    "compose_cta": lambda r: r.product.get("cta", ""),
    "compose_benefits": lambda r: "\n".join(r.product.get("benefits") or []),
    "compose_show_name": lambda r: bool(r.product.get("show_name", True)),
    "compose_tone": lambda r: r.tone,
    "compose_style": lambda r: r.style_keywords,
    "compose_language": lambda r: r.language,
    "compose_brief": lambda r: r.brief_text,
    # A brief or kit this studio lacks is dropped by the page itself (its text is kept).
    "compose_brief_id": lambda r: r.brief_id,
    "compose_brand_kit": lambda r: r.brand_kit_id,
    "compose_brand_block": lambda r: r.brand_block,
    "compose_preset": lambda r: r.preset_key,
    "compose_draft_size": lambda r: r.draft_size,
    "compose_steps": lambda r: r.steps,
    "compose_cfg": lambda r: float(r.true_cfg_scale),
    "compose_seed": lambda r: str(r.seed),
    "compose_variants": lambda r: 1,
    "compose_negative": lambda r: r.negative_prompt,
    "compose_negative_preset": lambda r: r.negative_preset,
}


def fill_compose(recipe: Recipe, notes: list[str], parent_job_id: int | None, parent_poster_id: int | None) -> None:
    """Set Compose's widgets from a recipe (a callback, or before switching to Compose)."""
    state = st.session_state
    for key, value_of in RECIPE_WIDGETS.items():
        state[key] = value_of(recipe)
    if parent_job_id is not None:
        state.compose_parent_job_id = parent_job_id
        state.compose_parent_poster_id = parent_poster_id
    else:
        state.pop("compose_parent_job_id", None)
        state.pop("compose_parent_poster_id", None)
    state.compose_notes = notes


def _import_png(studio) -> None:
    state = st.session_state
    upload = state.get("compose_import")
    if upload is None:
        return
    try:
        recall = recall_recipe(studio.db, upload.getvalue())
    except RecipeImportError as problem:
        state.compose_import_message = ("error", f"{plain(upload.name)}: {plain(problem)}")
        return
    except Exception:
        logger.exception("could not read an uploaded PNG")
        state.compose_import_message = ("error", f"{plain(upload.name)} could not be read as an image. Is it a PNG exported from the gallery?")
        return
    recipe = recall.recipe
    fill_compose(recipe, recall.notes, recall.parent_job_id, recall.parent_poster_id)
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
    if parent is not None:
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
