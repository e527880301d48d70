"""Brief: upload a rough draft, let Qwen2.5-VL write a seven-section design brief, edit it,
and send it to Compose."""

from __future__ import annotations

import logging

import streamlit as st

from core.brief.sections import SECTION_KEYS, SECTION_TITLES, compact_brief
from core.brief.drafts import DraftError, prepare_draft
from core.prompt.builder import LANGUAGES
from core.services.briefs import STAGE_FREEING, get_brief, list_briefs, save_edits
from pages.ui.markdown_text import plain
from pages.ui.shared import get_studio, persistent_form, thumb_bytes, require_app_shell

logger = logging.getLogger(__name__)
require_app_shell()
studio = get_studio()

persistent_form("brief", {"brief_form_language": "en", "brief_form_notes": ""})


def use_in_compose(brief_id: int) -> None:
    st.session_state.compose_brief_id = brief_id
    st.switch_page("pages/compose.py")


def show_brief(brief_id: int) -> None:
    record = get_brief(studio.db, brief_id)
    if record is None:
        st.error(f"Brief {brief_id} does not exist.")
        return
    titles = SECTION_TITLES.get(record.language, SECTION_TITLES["en"])
    st.subheader(f"Brief #{record.id}")
    if record.truncated:
        st.warning(
            "The model hit its token limit before finishing, so the last section may be cut off. "
            "Edit it below, or run the brief again with shorter notes."
        )
    if studio.models.demo:
        st.caption(
            "Written by the demo VL model (random weights): the text is gibberish by design, so every "
            "section is flagged missing, and demo briefs stop at 256 tokens (real ones get 1024)."
        )
    sections = record.current_sections
    for key in SECTION_KEYS:
        label = titles[key]
        if key in record.missing and not (record.edited_sections or {}).get(key):
            st.markdown(f"**{label}** :orange-badge[missing: the model left this section out]")
        st.text_area(label, value=sections.get(key, ""), key=f"brief_edit_{record.id}_{key}", height=110)

    c1, c2 = st.columns(2)
    if c1.button("Save edits", key=f"btn_save_brief_{record.id}"):
        edited = {key: st.session_state[f"brief_edit_{record.id}_{key}"].strip() for key in SECTION_KEYS}
        save_edits(studio.db, record.id, edited)
        st.toast("Brief saved.")
    if c2.button("Use in Compose →", type="primary", key=f"btn_use_brief_{record.id}"):
        edited = {key: st.session_state[f"brief_edit_{record.id}_{key}"].strip() for key in SECTION_KEYS}
        if edited != sections:
            save_edits(studio.db, record.id, edited)
        use_in_compose(record.id)

    with st.expander("The model's raw text"):
        st.code(record.raw_text or "(empty)", language=None, wrap_lines=True)
    with st.expander("Timings and memory"):
        st.json({"model": record.model_id, "timings": record.timings, "memory": record.memory})


st.title("Brief")
st.write(
    "Upload a rough draft. Qwen2.5-VL reads it and writes a design brief in seven sections: "
    "Layout, Style, Color palette, Typography, Keep, Improve, Notes. Edit it, save it, and use it in Compose."
)

left, right = st.columns([2, 3], gap="large")
with left:
    upload = st.file_uploader("Draft (PNG, JPEG or WebP)", type=["png", "jpg", "jpeg", "webp"], key="draft_upload")
    st.radio("Brief language", list(LANGUAGES), format_func=LANGUAGES.get, key="brief_form_language", horizontal=True)
    st.text_area("Notes to the art director (optional)", key="brief_form_notes", placeholder="e.g. Make the price more prominent")

    prepared = None
    if upload is not None:
        try:
            prepared = prepare_draft(upload.getvalue(), upload.name)
        except DraftError as problem:
            st.error(plain(problem), icon="✋")
        else:
            width, height = prepared.original_width, prepared.original_height
            if (prepared.image.width > prepared.image.height) != (width > height):
                width, height = height, width  # the file's EXIF turned it upright, as it is stored
            st.image(prepared.image, caption=f"{plain(upload.name)} · {width}×{height} {prepared.original_format}")

    if st.button("Write the brief", type="primary", disabled=prepared is None, key="btn_write_brief"):
        with st.status("Writing the brief…", expanded=True) as status:
            try:
                record = studio.write_brief(
                    prepared.image,
                    upload.name,
                    st.session_state.brief_form_language,
                    st.session_state.brief_form_notes,
                    on_stage=lambda stage: st.write(f"{stage}…"),
                )
            except Exception as error:
                logger.exception("brief failed")
                status.update(label="The brief failed", state="error")
                st.error(
                    f"The brief model could not run ({type(error).__name__}: {plain(error)}). Nothing was stored. "
                    "Check STUDIO_VL_MODEL (a hub id with network access, or a local folder) or set STUDIO_DEMO=1."
                )
            else:
                freed = record.memory.get("freed", {})
                freed_text = ", ".join(f"{k.replace('_gib', '')} {v:+.2f} GiB" for k, v in freed.items())
                st.write(f"{STAGE_FREEING}: freed {freed_text or 'n/a'}" if not studio.vl_holder else "Model kept warm.")
                status.update(label=f"Brief #{record.id} written in {record.timings.get('total_s', 0):.1f} s", state="complete")
                st.session_state.brief_current_id = record.id

with right:
    current = st.query_params.get("brief") or st.session_state.get("brief_current_id")
    if current:
        try:
            show_brief(int(current))
        except ValueError:
            st.error(f"'{plain(current)}' is not a brief id.")
    else:
        st.info("Upload a draft and write a brief: its seven sections appear here to edit.")

st.divider()
st.subheader("Saved briefs")
briefs = list_briefs(studio.db)
if not briefs:
    st.caption("No briefs yet.")
columns = st.columns(4)
for index, record in enumerate(briefs):
    with columns[index % 4]:
        with st.container(border=True):
            st.image(thumb_bytes(studio, record.draft_thumb_path))
            summary = compact_brief(record.current_sections, max_chars=120, language=record.language)
            st.caption(f"**#{record.id}** · {record.created_at:%Y-%m-%d %H:%M} · {plain(summary) or '(empty brief)'}")
            c1, c2 = st.columns(2)
            if c1.button("Open", key=f"btn_open_brief_{record.id}"):
                st.session_state.brief_current_id = record.id
                st.query_params.clear()
                st.rerun()
            if c2.button("Use", key=f"btn_use_saved_{record.id}", help="Open Compose with this brief selected"):
                use_in_compose(record.id)
