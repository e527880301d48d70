"""Brief: upload a rough draft, let Qwen2.5-VL write a seven-section design brief, edit it,
and send it to Compose."""

from __future__ import annotations

import logging

import streamlit as st

from core.brief.sections import SECTION_KEYS, SECTION_TITLES, compact_brief
from core.brief.drafts import DraftError, prepare_draft
from core.brief.prompt import NOTES_LABEL
from core.prompt import limits
from core.prompt.builder import LANGUAGES
from core.services.briefs import (
    STAGE_FREEING,
    BriefJobState,
    brief_failure_message,
    brief_job_state,
    get_brief,
    list_briefs,
    request_brief,
    save_edits,
)
from core.states import JobStatus
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
        st.text_area(
            label,
            value=sections.get(key, ""),
            key=f"brief_edit_{record.id}_{key}",
            max_chars=limits.MAX_BRIEF_SECTION_CHARS,
            height=110,
        )

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


def freed_line(memory: dict) -> str:
    freed = memory.get("freed", {})
    freed_text = ", ".join(f"{k.replace('_gib', '')} {v:+.2f} GiB" for k, v in freed.items())
    return f"{STAGE_FREEING}: freed {freed_text or 'n/a'}"


def write_brief_here(image, original_name: str) -> None:
    """This process has the GPU (or is the demo): run the brief now and show its stages."""
    with st.status("Writing the brief…", expanded=True) as status:
        try:
            record = studio.write_brief(
                image,
                original_name,
                st.session_state.brief_form_language,
                st.session_state.brief_form_notes,
                on_stage=lambda stage: st.write(f"{stage}…"),
            )
        except Exception as error:
            logger.exception("brief failed")
            status.update(label="The brief failed", state="error")
            st.error(plain(brief_failure_message(error, studio.models.demo)))
        else:
            st.write(freed_line(record.memory) if not studio.vl_holder else "Model kept warm.")
            status.update(label=f"Brief #{record.id} written in {record.timings.get('total_s', 0):.1f} s", state="complete")
            st.session_state.brief_current_id = record.id


def queue_brief(image, original_name: str) -> None:
    """The GPU is on the workers: write the brief job; the panel below follows its row."""
    try:
        st.session_state.brief_job_id = request_brief(
            studio, image, original_name, st.session_state.brief_form_language, st.session_state.brief_form_notes
        )
    except Exception:
        logger.exception("brief job could not be queued")
        st.error("The brief could not be queued (database error). Nothing was stored; see the server log and try again.")


def brief_job_panel(brief_job_id: int) -> None:
    state = brief_job_state(studio.db, brief_job_id)
    if state is None:
        st.error(f"Brief job {brief_job_id} does not exist.")
        return
    if state.status.active:
        follow_brief_job(brief_job_id)
    else:
        show_finished_brief_job(state)


@st.fragment(run_every=1.0)
def follow_brief_job(brief_job_id: int) -> None:
    """Redrawn every second from the job's row while a worker has it, or none has yet."""
    state = brief_job_state(studio.db, brief_job_id)
    if state is None or not state.status.active:
        st.rerun()  # the whole page: the finished job and its brief beside it
    if state.status == JobStatus.QUEUED:
        with st.status("Waiting for a GPU worker…", expanded=True):
            st.write("Queued: waiting for a GPU worker. The brief starts as soon as one is free.")
            if state.dispatch_error:
                st.warning(f"{plain(state.dispatch_error)} The brief is kept and sent again when the queue is back.")
        return
    with st.status("Writing the brief on a GPU worker…", expanded=True):
        if state.attempts > 1:
            st.caption(f"Attempt {state.attempts}: the worker that had this brief before stopped.")
        for stage in state.stages:
            st.write(f"{stage}…")


def show_finished_brief_job(state: BriefJobState) -> None:
    if state.status == JobStatus.DONE:
        if st.session_state.get("brief_job_opened") != state.id:
            # Open the new brief once; a saved brief opened after it stays open.
            st.session_state.brief_job_opened = state.id
            st.session_state.brief_current_id = state.brief_id
        record = get_brief(studio.db, state.brief_id)
        seconds = record.timings.get("total_s", 0) if record else 0
        with st.status(f"Brief #{state.brief_id} written in {seconds:.1f} s", state="complete"):
            for stage in state.stages:
                st.write(f"{stage}…")
            if record is not None:
                st.write(freed_line(record.memory) if STAGE_FREEING in state.stages else "Model kept warm.")
    elif state.status == JobStatus.FAILED:
        with st.status("The brief failed", state="error", expanded=True):
            st.error(plain(state.error or "The worker gave no reason; see its log."))
    else:
        st.info("This brief was cancelled. Write it again to get one.")


st.title("Brief")
st.write(
    "Upload a rough draft. Qwen2.5-VL reads it and writes a design brief in seven sections: "
    "Layout, Style, Color palette, Typography, Keep, Improve, Notes. Edit it, save it, and use it in Compose."
)

left, right = st.columns([2, 3], gap="large")
with left:
    # No `type=` filter: Streamlit's runs in the browser only, and a file it rejected stayed
    # listed while the server kept the previous file, so the page showed that file's error
    # or preview (and an enabled Write button). Every file reaches prepare_draft instead,
    # which names the file in its one message (a GIF: "anim.gif is a GIF image").
    upload = st.file_uploader("Draft (PNG, JPEG or WebP)", key="draft_upload")
    st.radio("Brief language", list(LANGUAGES), format_func=LANGUAGES.get, key="brief_form_language", horizontal=True)
    # The box stops typing at the limit (its counter says so); the services refuse longer
    # notes from any other caller rather than cut them (core/brief/prompt.py, check_notes).
    st.text_area(
        f"{NOTES_LABEL} (optional)",
        key="brief_form_notes",
        max_chars=limits.MAX_NOTES_CHARS,
        placeholder="e.g. Make the price more prominent",
    )

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
        if studio.briefs_on_workers:
            queue_brief(prepared.image, upload.name)
        else:
            write_brief_here(prepared.image, upload.name)
    if studio.briefs_on_workers and st.session_state.get("brief_job_id"):
        brief_job_panel(st.session_state.brief_job_id)

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
