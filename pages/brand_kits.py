"""Brand kits: create, edit and delete a brand's colours, fonts, wordmark, tagline, tone and
style keywords. Compose applies a kit to fill its defaults and add a brand block."""

from __future__ import annotations

import html
import logging

import streamlit as st

from core.access import AccessDenied, Right
from core.prompt.brand import BrandKitError, brand_block, colors_to_text, validate_kit
from core.prompt.builder import TONES
from core.services.brand_kits import DuplicateKitName, create_kit, delete_kit, get_kit, list_kits, prompts_using, update_kit
from pages.ui.identity import acting
from pages.ui.markdown_text import plain
from pages.ui.shared import get_studio, require_app_shell

require_app_shell()
logger = logging.getLogger(__name__)
studio = get_studio()

FIELDS = {
    "kit_name": "",
    "kit_colors": "",
    "kit_fonts": "",
    "kit_wordmark": "",
    "kit_tagline": "",
    "kit_tone": "",
    "kit_style": "",
}


def start_new() -> None:
    st.session_state.kit_editing = None
    for key, default in FIELDS.items():
        st.session_state[key] = default


def start_edit(kit_id: int) -> None:
    kit = get_kit(studio.db, kit_id)
    if kit is None:
        st.session_state.kit_flash_error = "That kit was deleted by someone else."
        return
    st.session_state.kit_editing = kit.id
    st.session_state.kit_name = kit.name
    st.session_state.kit_colors = colors_to_text(kit.colors)
    st.session_state.kit_fonts = kit.fonts
    st.session_state.kit_wordmark = kit.wordmark
    st.session_state.kit_tagline = kit.tagline
    st.session_state.kit_tone = kit.tone if kit.tone in TONES else ""
    st.session_state.kit_style = kit.style_keywords


def swatches(colors: list[dict]) -> str:
    chips = "".join(
        f'<span style="display:inline-flex;align-items:center;margin:0 10px 4px 0;font-size:0.85rem">'
        f'<span style="width:18px;height:18px;border-radius:4px;border:1px solid #0003;background:{html.escape(c["hex"])};'
        f'display:inline-block;margin-right:5px"></span>{html.escape(c["name"])} <code>{html.escape(c["hex"])}</code></span>'
        for c in colors
    )
    return f"<div>{chips or '<em>no colours</em>'}</div>"


if st.session_state.pop("kit_reset", False):
    start_new()
for key, default in FIELDS.items():
    st.session_state.setdefault(key, default)
st.session_state.setdefault("kit_editing", None)

st.title("Brand kits")
st.caption(
    "A kit keeps a brand consistent across posters. On Compose, pick a kit: it fills the tone, style keywords "
    "and (when empty) the offer headline with the tagline, and adds a brand block with the colours and fonts to the prompt."
)
flash = st.session_state.pop("kit_flash", None)
if flash:
    st.success(flash)
flash_error = st.session_state.pop("kit_flash_error", None)
if flash_error:
    st.error(plain(flash_error))

kits = list_kits(studio.db)
left, right = st.columns([3, 2], gap="large")

with left:
    st.subheader(f"Kits ({len(kits)})")
    if not kits:
        st.info("No brand kits yet. Create the first one with the form.")
    for kit in kits:
        with st.container(border=True):
            st.markdown(f"**{plain(kit.name)}**" + (f" · wordmark “{plain(kit.wordmark)}”" if kit.wordmark else ""))
            st.html(swatches(kit.colors))
            details = [
                f"Fonts: {plain(kit.fonts)}" if kit.fonts else "",
                f"Tagline: “{plain(kit.tagline)}”" if kit.tagline else "",
                f"Tone: {plain(kit.tone)}" if kit.tone else "",
                f"Style: {plain(kit.style_keywords)}" if kit.style_keywords else "",
            ]
            st.caption(" · ".join(d for d in details if d) or "No defaults set.")
            c1, c2, _ = st.columns([1, 1, 3])
            c1.button("Edit", key=f"kit_edit_{kit.id}", on_click=start_edit, args=(kit.id,))
            # Only admins delete kits (delete_kit refuses anyone else too).
            if acting().can(Right.DELETE) and c2.button("Delete", key=f"kit_delete_{kit.id}"):
                st.session_state.kit_confirm_delete = kit.id
            if st.session_state.get("kit_confirm_delete") == kit.id:
                used = prompts_using(studio.db, kit.id)
                st.warning(
                    f"Delete **{plain(kit.name)}**? "
                    + (
                        f"{used} prompt(s) used it: they keep their brand block (so reruns are unchanged) but lose the link to the kit."
                        if used
                        else "No poster used it yet."
                    )
                )
                d1, d2, _ = st.columns([1, 1, 3])
                if d1.button("Yes, delete", key=f"kit_delete_yes_{kit.id}", type="primary"):
                    st.session_state.pop("kit_confirm_delete", None)
                    try:
                        if delete_kit(studio.db, kit.id, actor=acting()):
                            st.session_state.kit_flash = f"Deleted the kit {plain(kit.name)}."
                    except AccessDenied as problem:
                        st.session_state.kit_flash_error = str(problem)
                    if st.session_state.get("kit_editing") == kit.id:
                        st.session_state.kit_reset = True
                    st.rerun()
                if d2.button("Cancel", key=f"kit_delete_no_{kit.id}"):
                    st.session_state.pop("kit_confirm_delete", None)
                    st.rerun()

with right:
    editing = st.session_state.kit_editing
    st.subheader("New kit" if editing is None else f"Edit kit #{editing}")
    st.text_input("Name", key="kit_name", placeholder="e.g. Aurora Audio")
    st.text_area(
        "Colours (one a line: name, then hex)",
        key="kit_colors",
        height=110,
        placeholder="e.g.\nMidnight #101828\nAurora teal #14B8A6\nWarm white #FAF7F2",
    )
    st.text_input("Fonts", key="kit_fonts", placeholder="e.g. geometric sans, bold headlines, light body text")
    st.text_input("Logo wordmark text", key="kit_wordmark", placeholder="e.g. AURORA")
    st.text_input("Default tagline", key="kit_tagline", placeholder="e.g. Hear everything")
    c1, c2 = st.columns(2)
    c1.selectbox("Default tone", ["", *TONES], format_func=lambda t: t or "(keep Compose's)", key="kit_tone")
    c2.text_input("Default style keywords", key="kit_style", placeholder="e.g. soft gradient, studio lighting")

    spec = None
    try:
        spec = validate_kit(
            st.session_state.kit_name,
            st.session_state.kit_colors,
            st.session_state.kit_fonts,
            st.session_state.kit_wordmark,
            st.session_state.kit_tagline,
            st.session_state.kit_tone,
            st.session_state.kit_style,
        )
    except BrandKitError as problem:
        if any(str(st.session_state[k]).strip() for k in FIELDS):
            st.error(plain(problem))
    if spec is not None:
        colors = [c.as_dict() for c in spec.colors]
        st.caption("Brand block it adds to the prompt (English prompt, then 中文 prompt):")
        for language in ("en", "zh"):
            st.code(brand_block(spec.name, colors, spec.fonts, spec.wordmark, language=language), language=None,
                    wrap_lines=True)

    b1, b2 = st.columns(2)
    if b1.button("Save kit" if editing is None else "Save changes", type="primary", key="kit_save", disabled=spec is None):
        try:
            if editing is None:
                create_kit(studio.db, spec, actor=acting())
                st.session_state.kit_flash = f"Created the kit {plain(spec.name)}."
            elif update_kit(studio.db, editing, spec, actor=acting()):
                st.session_state.kit_flash = f"Saved the kit {plain(spec.name)}."
            else:
                st.session_state.kit_flash_error = "That kit was deleted meanwhile; save it again as a new kit."
                st.session_state.kit_editing = None
                st.rerun()
        except AccessDenied as problem:
            st.error(plain(str(problem)))
        except DuplicateKitName:
            st.error(f"A kit named {plain(repr(spec.name))} already exists. Pick another name, or edit that kit.")
        except Exception:
            logger.exception("could not save a brand kit")
            st.error("The kit could not be saved (database error). Nothing was stored; try again.")
        else:
            st.session_state.kit_reset = True
            st.rerun()
    if editing is not None:
        b2.button("Cancel editing", key="kit_cancel", on_click=start_new)
