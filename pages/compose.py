"""Compose: product facts and creative controls -> the exact prompt -> queued variants."""

from __future__ import annotations

import logging

import streamlit as st

from core.access import AccessDenied
from pages.ui.identity import acting
from core.services.compose import MAX_BEST_OF, MAX_VARIANTS, ComposeError, ComposeRequest, prepare, submit
from core.prompt.presets import DEFAULT_PRESET, PRESETS
from core.prompt import limits
from core.prompt.builder import (
    CUSTOM_NEGATIVE,
    DEFAULT_NEGATIVE_PROMPT,
    LANGUAGES,
    NEGATIVE_PROMPTS,
    TONES,
    ProductFields,
    PromptTooLongError,
    negative_prompt_text,
    split_benefits,
)
from core.brief.sections import compact_brief
from core.recipe import CFG_RANGE, STEPS_RANGE
from core.states import ACTIVE_STATUSES, FINISHED_STATUSES, JobStatus
from core.services import jobs
from core.services.deployment import drawn_by, model_states
from core.services.briefs import get_brief, list_briefs
from core.services.gallery import get_poster
from pages.ui.compose_addons import brand_kit_section, kit_block_follows_language, recipe_import_section, rerun_notice
from pages.ui.markdown_text import plain
from pages.ui.retry import retry_button
from pages.ui.shared import display_bytes, get_studio, persistent_form, thumb_bytes, require_app_shell
from pages.ui.text_badges import render_text_check

logger = logging.getLogger(__name__)
require_app_shell()
studio = get_studio()

# Widget defaults live in session_state so other pages (a saved brief, "edit and rerun")
# can prefill the form by setting these keys before switching here.
DEFAULTS = {
    "compose_name": "",
    "compose_description": "",
    "compose_offer": "",
    "compose_price": "",
    "compose_cta": "",
    "compose_benefits": "",
    "compose_show_name": True,
    "compose_tone": "Premium",
    "compose_style": "",
    "compose_language": "en",
    "compose_brief": "",
    "compose_brief_id": None,  # a saved brief from the Brief page; None = free text
    "compose_preset": DEFAULT_PRESET,
    "compose_draft_size": False,
    "compose_steps": 40,
    "compose_cfg": 4.0,
    "compose_seed": "",
    "compose_variants": 1,
    "compose_until_correct": False,
    "compose_best_of": 4,
    "compose_negative": DEFAULT_NEGATIVE_PROMPT,
    "compose_negative_preset": "default",
    "compose_brand_kit": None,  # a brand kit id; applying one fills defaults and the block below
    "compose_brand_block": "",
}
persistent_form("compose", DEFAULTS)

st.title("Compose a poster")
rerun_notice()
recipe_import_section(studio)



def _use_negative_preset() -> None:
    preset = st.session_state.compose_negative_preset
    if preset in NEGATIVE_PROMPTS:
        st.session_state.compose_negative = negative_prompt_text(preset, st.session_state.compose_language)


def _use_language() -> None:
    # A named negative prompt and an untouched kit block follow the prompt into its language.
    _use_negative_preset()
    kit_block_follows_language(studio)


def _negative_typed() -> None:
    # Edited text is no longer the named prompt, so the recipe must not claim it is.
    st.session_state.compose_negative_preset = CUSTOM_NEGATIVE


left, right = st.columns([3, 2], gap="large")

with left:
    st.subheader("Product")
    st.text_input("Product name", key="compose_name", max_chars=limits.MAX_NAME_CHARS, placeholder="e.g. Aurora wireless headphones")
    st.checkbox("Show the product name on the poster", key="compose_show_name")
    st.text_area("Description", key="compose_description", max_chars=limits.MAX_DESCRIPTION_CHARS, height=80, placeholder="e.g. Over-ear, noise cancelling, matte black")
    c1, c2, c3 = st.columns(3)
    c1.text_input("Offer headline (exact)", key="compose_offer", max_chars=limits.MAX_SHORT_CHARS, placeholder="e.g. SUMMER SALE")
    c2.text_input("Price (exact)", key="compose_price", max_chars=limits.MAX_SHORT_CHARS, placeholder="e.g. $199")
    c3.text_input("CTA text (exact)", key="compose_cta", max_chars=limits.MAX_SHORT_CHARS, placeholder="e.g. Shop now")
    st.text_area("Benefits (exact, one phrase a line)", key="compose_benefits", max_chars=limits.MAX_BENEFITS_TEXT_CHARS, height=90, placeholder="e.g.\n40-hour battery\nHi-Res audio")

    st.subheader("Creative")
    c1, c2 = st.columns(2)
    c1.selectbox("Tone", list(TONES), key="compose_tone")
    c2.radio("Language", list(LANGUAGES), format_func=LANGUAGES.get, key="compose_language", horizontal=True,
             on_change=_use_language)
    st.text_input("Style keywords", key="compose_style", max_chars=limits.MAX_STYLE_CHARS, placeholder="e.g. soft gradient, studio lighting, glassmorphism")
    brand_kit_section(studio)
    saved_briefs = {record.id: record for record in list_briefs(studio.db)}
    if st.session_state.compose_brief_id is not None and st.session_state.compose_brief_id not in saved_briefs:
        # A brief picked from the Brief page may be older than the 50 listed; fetch it too.
        picked = get_brief(studio.db, st.session_state.compose_brief_id)
        if picked is not None:
            saved_briefs[picked.id] = picked
        else:
            st.session_state.compose_brief_id = None
    st.selectbox(
        "Brief",
        [None, *saved_briefs],
        format_func=lambda i: "Free text (or none)"
        if i is None
        else f"Brief #{i} · {saved_briefs[i].created_at:%Y-%m-%d %H:%M} · {compact_brief(saved_briefs[i].current_sections, 60)}",
        key="compose_brief_id",
        placeholder="Free text (or none)",  # Streamlit shows the placeholder while the value is None
        help="Saved briefs come from the Brief page; pick one, or write free text.",
    )
    chosen_brief = saved_briefs.get(st.session_state.compose_brief_id)
    if chosen_brief is None:
        st.text_area("Brief text (optional)", key="compose_brief", max_chars=limits.MAX_BRIEF_CHARS, height=100)
    else:
        c1, c2 = st.columns([1, 3])
        c1.image(thumb_bytes(studio, chosen_brief.draft_thumb_path))
        c2.caption("Folded into the prompt as:")
        c2.text(compact_brief(chosen_brief.current_sections, language=chosen_brief.language) or "(this brief is empty)")

    st.subheader("Format")
    c1, c2 = st.columns([2, 1])
    c1.selectbox(
        "Platform preset",
        list(PRESETS),
        format_func=lambda k: f"{PRESETS[k].label} ({PRESETS[k].aspect})",
        key="compose_preset",
    )
    c2.checkbox("Draft size", key="compose_draft_size", help="About 0.6 MP: faster, and needs far less GPU memory.")
    preset = PRESETS[st.session_state.compose_preset]
    width, height = preset.size(draft=st.session_state.compose_draft_size)
    st.caption(f"Draws at {width}×{height}; exports at {preset.export[0]}×{preset.export[1]}.")

    with st.expander("Advanced"):
        # Each number input also gets the studio's default as its own `value` (session state
        # still wins). The browser shows a widget's own default when it misses the one-time
        # value set from session state; with the range's minimum as that default, the browser
        # test saw true_cfg_scale at 1.00 in full runs on slow boxes (5 s once, 30 s once).
        c1.number_input("Steps", min_value=STEPS_RANGE[0], max_value=STEPS_RANGE[1], step=1, key="compose_steps",
                        value=DEFAULTS["compose_steps"])
        c2.number_input("true_cfg_scale", min_value=CFG_RANGE[0], max_value=CFG_RANGE[1], step=0.5, key="compose_cfg",
                        value=DEFAULTS["compose_cfg"])
        c1.text_input("Seed (blank = random)", key="compose_seed", help="The seed used is always recorded and shown.")
        c2.number_input("Variants (one seed each)", min_value=1, max_value=MAX_VARIANTS, step=1, key="compose_variants",
                        value=DEFAULTS["compose_variants"], disabled=st.session_state.compose_until_correct,
                        help="Off while 'Generate until all text is correct' is on: that draws one seed at a time.")
        c1.checkbox(
            "Generate until all text is correct",
            key="compose_until_correct",
            help="Draws one seed at a time and checks its text with OCR; stops at the first poster "
            "with every exact string right, or after the maximum.",
        )
        c2.number_input("…up to this many tries", min_value=2, max_value=MAX_BEST_OF, step=1, key="compose_best_of",
                        value=DEFAULTS["compose_best_of"], disabled=not st.session_state.compose_until_correct)
        st.selectbox(
            "Negative prompt preset",
            [*NEGATIVE_PROMPTS, CUSTOM_NEGATIVE],
            format_func=lambda k: NEGATIVE_PROMPTS[k][0] if k in NEGATIVE_PROMPTS else "Custom (typed below)",
            key="compose_negative_preset",
            on_change=_use_negative_preset,
        )
        st.text_area("Negative prompt", key="compose_negative", max_chars=limits.MAX_NEGATIVE_CHARS, height=80, on_change=_negative_typed)
        if studio.models.demo:
            st.caption("Demo models on CPU take about 0.5 s a step at draft size; the output is noise either way.")


def read_request() -> ComposeRequest:
    state = st.session_state
    seed_text = str(state.compose_seed).strip()
    if seed_text == "":
        seed = None
    else:
        try:
            seed = int(seed_text)
        except ValueError:
            raise ComposeError(f"The seed must be a whole number (or blank for a random one), not {seed_text!r}.") from None
    return ComposeRequest(
        product=ProductFields(
            name=state.compose_name,
            description=state.compose_description,
            offer=state.compose_offer,
            price=state.compose_price,
            cta=state.compose_cta,
            benefits=split_benefits(state.compose_benefits),
            show_name=state.compose_show_name,
        ),
        tone=state.compose_tone,
        style_keywords=state.compose_style,
        language=state.compose_language,
        preset_key=state.compose_preset,
        draft_size=state.compose_draft_size,
        brief_text=(
            compact_brief(chosen_brief.current_sections, language=chosen_brief.language)
            if chosen_brief is not None
            else state.compose_brief
        ),
        brief_id=chosen_brief.id if chosen_brief is not None else None,
        steps=int(state.compose_steps),
        true_cfg_scale=float(state.compose_cfg),
        seed=seed,
        variants=int(state.compose_variants),
        best_of_max=int(state.compose_best_of) if state.compose_until_correct else None,
        negative_prompt=state.compose_negative,
        negative_preset=state.compose_negative_preset,
        parent_job_id=state.get("compose_parent_job_id"),
        brand_block=state.compose_brand_block,
        brand_kit_id=state.compose_brand_kit,
    )


with right:
    st.subheader("Prompt")
    recipe = None
    error = None
    try:
        request = read_request()
        recipe = prepare(request, studio.tokenizer)
    except (ComposeError, PromptTooLongError) as problem:
        error = str(problem)
    if error and not any(str(st.session_state[k]).strip() for k in ("compose_name", "compose_description", "compose_offer")):
        st.info("Fill in the product fields: the exact prompt appears here before anything runs.")
    elif error:
        st.error(plain(error), icon="✋")
    if recipe is not None:
        st.code(recipe.built.prompt, language=None, wrap_lines=True)
        st.caption(
            f"{recipe.tokens} tokens (pipeline tokenizer) · max_sequence_length {recipe.plan.max_sequence_length} · "
            f"builder {recipe.built.builder_version}"
        )
        for warning in recipe.warnings:
            st.warning(plain(warning))

    if st.button("Generate", type="primary", disabled=recipe is None, key="btn_generate"):
        try:
            submission = submit(
                studio.queue, request, recipe, studio.models.image_model_id, studio.models.demo, actor=acting()
            )
        except (ComposeError, AccessDenied) as problem:
            st.error(plain(str(problem)), icon="✋")
        except Exception:
            logger.exception("could not queue the jobs")
            st.error("The jobs could not be queued (database error). Nothing was stored; see the server log and try again.")
        else:
            st.session_state.compose_batch = submission.job_ids
            st.session_state.compose_group = submission.variant_group
            st.session_state.pop("compose_parent_job_id", None)
            st.session_state.pop("compose_notes", None)
            st.toast(f"Queued {len(submission.job_ids)} variant(s): seeds {', '.join(map(str, submission.seeds))}")


def render_jobs() -> None:
    group = st.session_state.get("compose_group")
    # A best-of-N set grows while it runs, so the set is read from its rows, not remembered.
    batch = jobs.batch_job_ids(studio.db, group) if group else list(st.session_state.get("compose_batch", []))
    # Jobs queued elsewhere (another tab, another user) are shown too, so nothing is hidden.
    others = [job_id for job_id in studio.queue.active_job_ids() if job_id not in batch]
    states = studio.queue.job_states(batch)
    if not states and not others:
        return
    st.subheader("Results")
    if others:
        st.caption(f"{len(others)} other job(s) from other sessions are queued or running; each worker draws one job at a time, oldest first.")
    posters = {s.id: get_poster(studio.db, s.poster_id) for s in states if s.poster_id is not None}
    finished = all(s.status in FINISHED_STATUSES for s in states)
    if finished and len(posters) > 1:
        # The batch is done: best text first (unchecked posters last, then by variant).
        def text_rank(state):
            detail = posters.get(state.id)
            score = detail.text_score if detail is not None and detail.text_score is not None else -1.0
            return (-score, state.variant_index)

        states = sorted(states, key=text_rank)
        st.caption("Ordered by text score, best first.")
    workers = drawn_by(studio, [s.worker_id for s in states if s.worker_id])
    models = model_states(studio, [s.worker_id for s in states if s.status == JobStatus.RUNNING and s.worker_id])
    columns = st.columns(2 if len(states) > 1 else 1)
    for index, state in enumerate(states):
        with columns[index % len(columns)]:
            title = f"Variant {state.variant_index + 1} · seed {state.seed}"
            if state.status == JobStatus.QUEUED:
                st.markdown(f"**{title}** — queued")
                if state.dispatch_error:
                    st.warning(plain(state.dispatch_error), icon=":material/cloud_off:")
                st.progress(0.0, text="waiting for the worker")
            elif state.status == JobStatus.RUNNING:
                st.markdown(f"**{title}** — running")
                total = max(state.progress_total, 1)
                if state.progress_step == 0 and models.get(state.worker_id, "").startswith("loading"):
                    st.progress(0.0, text="loading Qwen-Image (first job after a start)…")
                else:
                    st.progress(min(state.progress_step / total, 1.0), text=f"step {state.progress_step} of {total}")
                preview = jobs.live_preview(studio.store, state)
                if preview is not None:
                    # Not cached: it is replaced every few steps under the same name.
                    st.image(preview, width="stretch",
                             caption=f"live preview · step {state.preview_step} of {total} (approximate colours)")
                if state.worker_id in workers:
                    st.caption(f"drawn by {plain(workers[state.worker_id])}")
            elif state.status == JobStatus.DONE:
                poster = posters[state.id]
                # The display rendition, not the PNG: Compose reruns while it polls, and st.image
                # would re-encode a multi-MB PNG on every run (BENCHMARKS.md, "Compare page").
                st.image(display_bytes(studio, poster.path), caption=f"{title} · {state.timings.get('total_s', 0):.1f} s")
                if state.worker_id in workers:
                    st.caption(f"drawn by {plain(workers[state.worker_id])}")
                render_text_check(poster.text_check, checking=studio.settings.text_check)
                st.page_link("pages/gallery.py", label="Open in gallery", query_params={"poster": str(state.poster_id)})
            elif state.status == JobStatus.CANCELLED:
                st.markdown(f"**{title}** — cancelled")
            else:
                st.markdown(f"**{title}** — failed")
                st.error(plain(state.error or "unknown error"))
            if state.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                if group:  # no poster to open: its set in the gallery keeps the error and the recipe
                    st.page_link("pages/gallery.py", label="Open set in gallery", query_params={"set": group})
                retried = retry_button(studio, state.id)
                if retried is not None:
                    # The retry is its own one-job set: show it here, in place of this batch.
                    st.session_state.compose_group = retried.variant_group
                    st.session_state.compose_batch = retried.job_ids
                    st.rerun()
            if state.status in ACTIVE_STATUSES:
                label = "Cancelling…" if state.cancel_requested else "Cancel"
                if st.button(label, key=f"cancel_{state.id}", disabled=state.cancel_requested):
                    studio.queue.request_cancel(state.id)
                    st.rerun(scope="fragment")
    checks_pending = studio.settings.text_check and any(p.text_check is None for p in posters.values())
    if states and finished and not checks_pending and st.session_state.get("compose_polling"):
        # Everything landed: one full rerun stops the polling below.
        st.session_state.compose_polling = False
        st.rerun()


def batch_checks_pending() -> bool:
    """A finished poster of this batch still waiting for its OCR check (which may also queue
    the next seed of a best-of-N set)."""
    if not studio.settings.text_check or not st.session_state.get("compose_group"):
        return False
    states = studio.queue.job_states(jobs.batch_job_ids(studio.db, st.session_state.compose_group))
    return any(get_poster(studio.db, s.poster_id).text_check is None for s in states if s.poster_id is not None)


# Poll only while something is queued, running or being checked; the fragment reruns alone,
# not the form. Every 2 s, not 1: each poll is Python work in the server that an embedded
# worker waits behind (BENCHMARKS.md, "Watching a job").
active = bool(studio.queue.active_job_ids()) or batch_checks_pending()
st.session_state.compose_polling = active
with right:
    st.fragment(run_every=2.0 if active else None)(render_jobs)()
