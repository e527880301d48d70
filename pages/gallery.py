"""Gallery: every poster ever made, newest first. Filters (including team review), paging,
variant sets, a shortlist, compare picks, zips; and a detail view with the recipe, reruns
with lineage, export and the team's reviews."""

from __future__ import annotations

import json
import logging
import math

import streamlit as st

from core.services.compose import MAX_VARIANTS
from core.services.deployment import drawn_by
from core.services.textcheck import backfill, check_overlay, recheck_poster
from core.services.export import FORMATS, MAX_ZIP_POSTERS, SIZE_MODES, ExportOptions, export_file_name, export_poster, zip_posters
from core.prompt.presets import PRESETS
from core.prompt.builder import LANGUAGES
from core.recipe import describe
from core.services.reruns import RerunError, compose_notes, rerun_exact, rerun_new_seeds
from core.services.gallery import (
    GalleryFilter,
    LineageNode,
    PosterCard,
    count_posters,
    delete,
    describe_selection,
    get_poster,
    get_variant_set,
    lineage,
    list_posters,
    list_variant_sets,
    poster_ids_matching,
    unchecked_poster_ids,
    zip_file_name,
)
from core.access import AccessDenied, Right
from core.states import ACTIVE_STATUSES, JobStatus
from core.services.reviews import VERDICTS, ReviewSummary, reviewer_names, reviews_for, summaries, summarize
from pages.ui.compose_addons import fill_compose
from pages.ui.identity import acting
from pages.ui.compare_tray import MAX_COMPARE, compare_checkbox, tray
from pages.ui.review import current_reviewer, review_form, review_history, reviewer_box, summary_line
from pages.ui.markdown_text import plain
from pages.ui.retry import retry_button
from pages.ui.shared import get_studio, image_bytes, require_app_shell, thumb_bytes
from pages.ui.text_badges import misread_note, overlay_caption, render_text_check

require_app_shell()
logger = logging.getLogger(__name__)
studio = get_studio()
PAGE_SIZE = 12
SETS_PAGE_SIZE = 4
VIEWS = {"posters": "All posters", "sets": "Variant sets", "shortlist": "Shortlist (approved)"}


def preset_label(key: str) -> str:
    return PRESETS[key].label if key in PRESETS else key


def open_poster(poster_id: int) -> None:
    st.query_params.clear()
    st.query_params["poster"] = str(poster_id)


def open_set(group: str) -> None:
    st.query_params.clear()
    st.query_params["set"] = group


def back_to_grid() -> None:
    st.query_params.clear()


def zip_button(poster_ids: list[int], selection: str, label: str, key: str) -> None:
    """A zip download, built only when clicked (it reads every image)."""
    st.download_button(
        label,
        data=lambda: zip_posters(studio.db, studio.store, poster_ids, selection, actor=acting()),
        file_name=zip_file_name(selection),
        mime="application/zip",
        key=key,
        on_click="ignore",
        disabled=not poster_ids,
    )


# -- tiles --------------------------------------------------------------------------------


def tile(card: PosterCard, summary: ReviewSummary | None, title: str | None = None) -> None:
    """One poster (or failed job) with its seed, time, status, text score and reviews."""
    with st.container(border=True):
        if card.thumb_path:
            st.image(thumb_bytes(studio, card.thumb_path))
        else:
            st.markdown(f"*{card.status}*")
            if card.error:
                st.caption(plain(card.error))
        seconds = f" · {card.seconds:.1f} s" if card.seconds else ""
        # The text score slot: filled once the OCR text check has scored the poster.
        text_score = f"{card.text_score:.0%}" if card.text_score is not None else "—"
        st.caption(
            f"**{plain(title or card.product_name or 'Untitled')}** · {preset_label(card.preset_key)}"
            f" · seed {card.seed}{seconds} · {card.status} · text {text_score} · {card.created_at:%Y-%m-%d %H:%M}"
        )
        if card.id is not None:
            st.caption(summary_line(summary or ReviewSummary()))
            c1, c2 = st.columns(2)
            if c1.button("Open", key=f"open_{card.id}"):
                open_poster(card.id)
                st.rerun()
            with c2:
                compare_checkbox(card.id)
        elif card.status in (JobStatus.FAILED, JobStatus.CANCELLED) and acting().can(Right.COMPOSE):
            retried = retry_button(studio, card.job_id)
            if retried is not None:
                st.success(f"Queued again as job {retried.job_ids[0]} (seed {retried.seeds[0]}).")


def tiles(cards: list[PosterCard], columns: int = 4, titles: dict[int, str] | None = None) -> None:
    review_summaries = summaries(studio.db, [c.id for c in cards if c.id is not None])
    grid = st.columns(columns)
    for index, card in enumerate(cards):
        with grid[index % columns]:
            tile(card, review_summaries.get(card.id), (titles or {}).get(card.job_id))


# -- the grid -----------------------------------------------------------------------------


def _keep_valid(key: str, options: list) -> None:
    # A stored choice that vanished (a reviewer list changes) falls back to "any".
    if key in st.session_state and st.session_state[key] not in options:
        st.session_state[key] = options[0]


def filter_bar(view: str) -> GalleryFilter:
    c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
    preset = c1.selectbox(
        "Preset", [None, *PRESETS], format_func=lambda k: "All presets" if k is None else PRESETS[k].label, key="gallery_preset",
        placeholder="All presets",  # shown while the value is None
    )
    language = c2.selectbox(
        "Language", [None, *LANGUAGES], format_func=lambda k: "All" if k is None else LANGUAGES[k], key="gallery_language",
        placeholder="All",
    )
    status = c3.selectbox(
        "Status", [JobStatus.DONE, *[s for s in JobStatus if s != JobStatus.DONE], None],
        format_func=lambda s: "All" if s is None else s, key="gallery_status", placeholder="All", disabled=view == "shortlist",
    )
    text = c4.text_input("Search product name and prompt", key="gallery_text")

    r1, r2, r3, r4 = st.columns([1, 1, 2, 2], vertical_alignment="bottom")
    verdict = r1.selectbox(
        "Verdict", [None, *VERDICTS], format_func=lambda v: "Any verdict" if v is None else VERDICTS[v], key="gallery_verdict",
        placeholder="Any verdict",
        help="A reviewer's newest review is their standing verdict.",
    )
    min_rating = r2.selectbox(
        "Rating", [0, 1, 2, 3, 4, 5], format_func=lambda n: "Any rating" if n == 0 else f"{n}★ and up", key="gallery_min_rating",
        help="Average of each reviewer's newest rating.",
    )
    reviewers = [None, *reviewer_names(studio.db)]
    _keep_valid("gallery_reviewer", reviewers)
    reviewer = r3.selectbox("Reviewed by", reviewers, format_func=lambda r: "Anyone" if r is None else r, key="gallery_reviewer",
                            placeholder="Anyone")
    me = current_reviewer()
    t1, t2, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    all_text_correct = t1.checkbox(
        "All text correct", key="gallery_text_correct", help="Posters whose OCR check found every exact string exactly."
    )
    sort = t2.selectbox(
        "Sort", ["newest", "text"], format_func=lambda s: "Newest first" if s == "newest" else "Best text first",
        key="gallery_sort",
    )
    not_mine = r4.checkbox(
        "Not yet reviewed by me",
        key="gallery_not_mine",
        disabled=me is None,
        help="Open any poster and enter your name in its review section first." if me is None else f"Hide what {plain(me)} has reviewed.",
    )
    return GalleryFilter(
        preset_key=preset,
        language=language,
        status=JobStatus.DONE if view == "shortlist" else status,
        text=text,
        verdict=verdict,
        min_rating=float(min_rating) if min_rating else None,
        reviewer=reviewer,
        not_reviewed_by=me if (not_mine and me) else None,
        shortlist=view == "shortlist",
        all_text_correct=all_text_correct,
        sort=sort,
    )


def pager(page: int, pages: int) -> None:
    prev_col, _, next_col = st.columns([1, 4, 1])
    if prev_col.button("← Newer", disabled=page <= 1, key="btn_gallery_prev"):
        st.session_state.gallery_page = page - 1
        st.rerun()
    if next_col.button("Older →", disabled=page >= pages, key="btn_gallery_next"):
        st.session_state.gallery_page = page + 1
        st.rerun()


def selection_zip(filters: GalleryFilter, view_label: str) -> None:
    if filters.status not in (JobStatus.DONE, None):
        return  # failed, queued and cancelled jobs have no images to zip
    ids, total = poster_ids_matching(studio.db, filters, limit=MAX_ZIP_POSTERS)
    if total > MAX_ZIP_POSTERS:
        st.caption(f"A zip holds at most {MAX_ZIP_POSTERS} posters and {total} match: narrow the filters to zip them.")
        return
    zip_button(ids, describe_selection(view_label, filters), f"Download these {len(ids)} posters as a zip (with manifest)", "gallery_zip")


def show_grid() -> None:
    st.title("Gallery")
    view = st.radio("View", list(VIEWS), format_func=VIEWS.get, horizontal=True, key="gallery_view", label_visibility="collapsed")
    filters = filter_bar(view)
    tray()

    # A new filter or view starts again at page 1.
    marker = (view, filters)
    if st.session_state.get("gallery_last_filter") != marker:
        st.session_state.gallery_last_filter = marker
        st.session_state.gallery_page = 1
    page = st.session_state.get("gallery_page", 1)

    if view == "sets":
        sets, total = list_variant_sets(studio.db, filters, page=page, page_size=SETS_PAGE_SIZE)
        pages = max(math.ceil(total / SETS_PAGE_SIZE), 1)
        st.caption(f"{total} variant sets match · page {page} of {pages}")
        if not sets:
            st.info("No variant set matches these filters.")
            return
        for variant_set in sets:
            with st.container(border=True):
                c1, c2 = st.columns([5, 1], vertical_alignment="center")
                drawn = sum(1 for c in variant_set.cards if c.id is not None)
                c1.markdown(
                    f"**{plain(variant_set.product_name or 'Untitled')}** · {preset_label(variant_set.preset_key)} · "
                    f"{len(variant_set.cards)} variant(s), {drawn} drawn · {variant_set.created_at:%Y-%m-%d %H:%M}"
                )
                if c2.button("Open set", key=f"open_set_{variant_set.variant_group}"):
                    open_set(variant_set.variant_group)
                    st.rerun()
                tiles(variant_set.cards, columns=max(min(len(variant_set.cards), 8), 4),
                      titles={c.job_id: f"Variant {i + 1}" for i, c in enumerate(variant_set.cards)})
        pager(page, pages)
        return

    cards, total = list_posters(studio.db, filters, page=page, page_size=PAGE_SIZE)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    st.caption(f"{total} match · page {page} of {pages}")
    if view == "shortlist":
        st.caption("Approved by at least one reviewer, with no standing 'needs changes' or 'reject'.")
    if not cards:
        if count_posters(studio.db) == 0:
            st.info("No posters yet. Open **Compose** to make the first one.")
        else:
            st.info("Nothing matches these filters.")
        return
    tiles(cards)
    pager(page, pages)
    selection_zip(filters, VIEWS[view].lower())
    backfill_section()


def backfill_section() -> None:
    """Posters made before the text check existed (or while it was switched off)."""
    unchecked = unchecked_poster_ids(studio.db)
    if not unchecked:
        return
    with st.expander(f"{len(unchecked)} poster(s) have no text check yet"):
        st.caption("Runs the OCR check on each of them now (about a second a poster on CPU).")
        if st.button(f"Check text on {len(unchecked)} poster(s)", key="btn_backfill_text"):
            bar = st.progress(0.0, text="checking…")
            count = backfill(studio.db, studio.store, on_progress=lambda i, n: bar.progress(i / n, text=f"checked {i} of {n}"))
            st.toast(f"Checked {count} poster(s).")
            st.rerun()


def text_check_section(detail) -> None:
    st.subheader("Text check")
    render_text_check(detail.text_check, checking=studio.settings.text_check)
    note = misread_note(detail.text_check)
    if note:
        st.caption(note)
    if detail.text_check and detail.text_check.get("history"):
        st.caption(f"Replaced {len(detail.text_check['history'])} earlier check(s).")
    if detail.text_check and detail.text_check.get("strings") and st.toggle("Show what the check read", key="tgl_text_overlay"):
        overlay = check_overlay(studio.store, detail.path, detail.text_check)
        st.image(overlay.image, caption=overlay_caption(overlay.legend))
    if st.button("Check text again", key="btn_recheck_text"):
        with st.spinner("Reading the poster…"):
            recheck_poster(studio.db, studio.store, detail.id)
        st.rerun()


# -- one variant set ----------------------------------------------------------------------


def show_set(group: str) -> None:
    variant_set = get_variant_set(studio.db, group)
    if st.button("← Back to the gallery", key="set_back"):
        back_to_grid()
        st.rerun()
    if variant_set is None:
        st.error(f"Variant set {plain(repr(group))} does not exist (its posters may have been deleted).")
        return
    drawn = [c for c in variant_set.cards if c.id is not None]
    st.header(f"Variant set · {plain(variant_set.product_name or 'Untitled')}")
    st.caption(
        f"{preset_label(variant_set.preset_key)} · {len(variant_set.cards)} variant(s), {len(drawn)} drawn · "
        f"queued {variant_set.created_at:%Y-%m-%d %H:%M} · set {plain(group)}"
    )
    tray()
    tiles(variant_set.cards, titles={c.job_id: f"Variant {i + 1}" for i, c in enumerate(variant_set.cards)})
    c1, c2 = st.columns(2)
    if 2 <= len(drawn) <= MAX_COMPARE:
        if c1.button(f"Compare these {len(drawn)}", key="btn_compare_set", type="primary"):
            ids = [c.id for c in drawn]
            st.session_state.compare_ids = ids
            st.switch_page("pages/compare.py", query_params={"ids": ",".join(map(str, ids))})
    elif len(drawn) > MAX_COMPARE:
        c1.caption(f"Tick 2 to {MAX_COMPARE} of them to compare.")
    with c2:
        zip_button([c.id for c in drawn], f"set {group}", f"Download the set as a zip ({len(drawn)} posters)", "set_zip")


# -- one poster ---------------------------------------------------------------------------


def recipe_section(detail) -> None:
    st.subheader("Recipe")
    recipe, provenance = detail.recipe, detail.provenance
    rows = dict(describe(recipe, long=False))
    if recipe.brand_kit_id is not None:
        rows["Brand kit"] = f"{provenance.brand_kit_name} (#{recipe.brand_kit_id})" if provenance.brand_kit_name else f"#{recipe.brand_kit_id} (deleted)"
    rows["Variant"] = f"{provenance.variant_index + 1} of set {provenance.variant_group}"
    if provenance.worker_id:
        rows["Drawn by"] = drawn_by(studio, [provenance.worker_id])[provenance.worker_id]
    rows["Text score"] = f"{detail.text_score:.0%}" if detail.text_score is not None else "—"
    for key, value in provenance.timings.items():
        rows[f"Time: {key}" if key != "strategy" else "Ran as"] = value
    st.table({"field": list(rows), "value": [plain(str(v)) for v in rows.values()]})
    st.markdown("**Prompt**")
    st.code(recipe.prompt, language=None, wrap_lines=True)
    st.markdown("**Negative prompt**")
    st.code(recipe.negative_prompt, language=None, wrap_lines=True)
    if recipe.brand_block:
        st.caption(f"Brand block: {plain(recipe.brand_block)}")
    if detail.brief_sections:
        with st.expander(f"Brief #{recipe.brief_id} used", expanded=True):
            for key, text in detail.brief_sections.items():
                if text:
                    st.markdown(f"**{key.replace('_', ' ').capitalize()}**")
                    st.text(text)
            if acting().can(Right.COMPOSE):  # the Brief page is in a designer's navigation only
                st.page_link("pages/brief.py", label=f"Open brief #{recipe.brief_id}", query_params={"brief": str(recipe.brief_id)})
    elif recipe.brief_text:
        with st.expander("Brief used"):
            st.text(recipe.brief_text)
    with st.expander("Product fields (JSON)"):
        st.code(json.dumps(recipe.product, ensure_ascii=False, indent=2), language="json")


def export_section(detail) -> None:
    original = ExportOptions()
    st.download_button(
        "Download PNG",
        data=lambda: export_poster(studio.db, studio.store, detail.id, original, actor=acting())[1],
        file_name=export_file_name(detail.id, detail.recipe.seed, (detail.width, detail.height), "png"),
        mime="image/png",
        key="detail_download_png",
        on_click="ignore",
        help="The original image, with the full recipe embedded: drop it on Compose to recall it.",
    )
    preset = PRESETS.get(detail.recipe.preset_key)
    with st.expander("Export: format, quality, exact platform size"):
        fmt = st.radio("Format", list(FORMATS), format_func=lambda f: FORMATS[f][0], horizontal=True, key="export_format")
        quality = st.slider("Quality (JPEG, WebP)", 50, 100, 92, key="export_quality", disabled=fmt == "png")
        modes = list(SIZE_MODES) if preset else ["original"]
        size_mode = st.radio(
            "Size",
            modes,
            key="export_size_mode",
            format_func=lambda m: f"{SIZE_MODES[m]} ({detail.width}×{detail.height})" if m == "original"
            else f"{SIZE_MODES[m]} ({preset.export[0]}×{preset.export[1]})",
        )
        pad_color = st.color_picker("Pad colour", "#FFFFFF", key="export_pad_color", disabled=size_mode != "pad")
        options = ExportOptions(format=fmt, quality=int(quality), size_mode=size_mode, pad_color=pad_color)
        size = preset.export if size_mode != "original" else (detail.width, detail.height)
        st.download_button(
            f"Download {FORMATS[fmt][0].split(' ')[0]} {size[0]}×{size[1]}",
            data=lambda: export_poster(studio.db, studio.store, detail.id, options, actor=acting())[1],
            file_name=export_file_name(detail.id, detail.recipe.seed, size, fmt),
            mime=FORMATS[fmt][2],
            key="detail_download_export",
            on_click="ignore",
        )
        if fmt != "png":
            st.caption("Only PNG carries the recipe; JPEG and WebP are for publishing.")


def edit_and_rerun(detail) -> None:
    """Fill Compose's widgets from the recipe and go there; its next queue records the parent."""
    fill_compose(detail.recipe, compose_notes(studio.db, detail.recipe), detail.provenance.job_id, detail.id)
    st.session_state.pop("compose_batch", None)
    st.switch_page("pages/compose.py")


def rerun_section(detail) -> None:
    actor = acting()
    if not actor.can(Right.COMPOSE):
        return  # viewers: the rerun buttons are not theirs (the services refuse them too)
    st.subheader("Rerun")
    model_id, demo = studio.models.image_model_id, studio.models.demo
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    exact = c1.button("Rerun exactly", key="btn_rerun_exact", help="The same recipe and seed: the same image on the same model and hardware.")
    count = c2.number_input("New seeds", min_value=1, max_value=MAX_VARIANTS, value=2, step=1, key="rerun_seed_count")
    seeds = c2.button("Rerun with new seeds", key="btn_rerun_seeds", help="The same recipe, new random seeds, as one new variant set.")
    if c3.button("Edit and rerun", key="btn_edit_rerun", help="Open Compose with this recipe filled in."):
        edit_and_rerun(detail)
    if not (exact or seeds):
        flash = st.session_state.pop("rerun_flash", None)
        if flash:
            st.success(flash)
        return
    try:
        if exact:
            result = rerun_exact(studio.db, studio.queue, detail.id, model_id, demo, actor=actor)
        else:
            result = rerun_new_seeds(studio.db, studio.queue, detail.id, int(count), model_id, demo, actor=actor)
    except (RerunError, AccessDenied) as problem:
        st.error(plain(str(problem)))
        return
    except Exception:
        logger.exception("could not queue a rerun")
        st.error("The rerun could not be queued (database error). Nothing was stored; see the server log and try again.")
        return
    for warning in result.warnings:
        st.warning(plain(warning))
    st.session_state.rerun_flash = (
        f"Queued {len(result.job_ids)} rerun job(s), seed(s) {', '.join(map(str, result.seeds))}. "
        "They show under Lineage below, and in the gallery when drawn."
    )
    st.rerun()


def _node_label(node: LineageNode) -> str:
    state = "" if node.status == JobStatus.DONE else f" · {node.status}"
    return f"#{node.poster_id if node.poster_id else '—'} · seed {node.seed}{state}"


def _node(node: LineageNode, key: str) -> None:
    with st.container(border=True):
        if node.thumb_path:
            st.image(thumb_bytes(studio, node.thumb_path), width=120)
        st.caption(f"{_node_label(node)} · {node.created_at:%Y-%m-%d %H:%M}")
        if node.poster_id is not None and st.button("Open", key=key):
            open_poster(node.poster_id)
            st.rerun()


def lineage_section(detail) -> None:
    st.subheader("Lineage")
    tree = lineage(studio.db, detail.provenance.job_id)
    if tree is None:
        return
    if not tree.ancestors and not tree.children:
        st.caption("An original: no parent, and no reruns yet.")
    if tree.ancestors:
        st.markdown("**Made from** (oldest first)")
        cols = st.columns(6)
        for index, node in enumerate(tree.ancestors[-6:]):
            with cols[index % len(cols)]:
                _node(node, f"lineage_up_{node.job_id}")
    if tree.children:
        st.markdown(f"**Reruns of this poster** ({len(tree.children)})")
        cols = st.columns(6)
        for index, node in enumerate(tree.children):
            with cols[index % len(cols)]:
                _node(node, f"lineage_down_{node.job_id}")
    if any(n.status in ACTIVE_STATUSES for n in tree.children):
        st.caption("Reruns are in progress; this section refreshes on its own.")
    elif st.session_state.get("lineage_polling"):
        # Everything landed: one full rerun stops the polling.
        st.session_state.lineage_polling = False
        st.rerun()


def reviews_section(detail) -> None:
    st.subheader("Team review")
    reviews = reviews_for(studio.db, [detail.id])[detail.id]
    st.markdown(summary_line(summarize(reviews)))
    left, right = st.columns(2, gap="large")
    with left:
        reviewer = reviewer_box("detail")
        review_form(studio.db, detail.id, reviewer, "detail")
    with right:
        st.markdown("**All reviews** (newest first; none is ever overwritten)")
        review_history(reviews)


def show_detail(poster_id: int) -> None:
    detail = get_poster(studio.db, poster_id)
    if detail is None:
        st.error(f"Poster {poster_id} does not exist (it may have been deleted).")
        if st.button("Back to the gallery"):
            back_to_grid()
            st.rerun()
        return
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("← Back to the gallery", key="detail_back"):
        back_to_grid()
        st.rerun()
    if c2.button("Open its variant set", key="detail_open_set"):
        open_set(detail.provenance.variant_group)
        st.rerun()
    name = detail.recipe.product.get("name") or "Untitled"
    st.header(f"{plain(name)} · seed {detail.recipe.seed}")
    if detail.recipe.demo_models:
        st.caption("Made with the demo models: the image is noise.")
    tray()
    image_col, recipe_col = st.columns([3, 2], gap="large")
    with image_col:
        st.image(image_bytes(studio, detail.path), caption=f"{detail.width}×{detail.height} · sha256 {detail.sha256[:12]}")
        c1, c2 = st.columns([2, 1])
        with c1:
            export_section(detail)
        with c2:
            compare_checkbox(detail.id)
    with recipe_col:
        text_check_section(detail)
        recipe_section(detail)

    rerun_section(detail)
    tree = lineage(studio.db, detail.provenance.job_id)
    active = tree is not None and any(n.status in ACTIVE_STATUSES for n in tree.children)
    st.session_state.lineage_polling = active
    # Poll only while a rerun is queued or running; the fragment reruns alone, not the page.
    st.fragment(run_every=1.5 if active else None)(lineage_section)(detail)
    reviews_section(detail)

    if not acting().can(Right.DELETE):
        return  # only admins delete
    with st.expander("Delete this poster"):
        st.write("This removes the poster, its reviews, its recipe rows and its files. It cannot be undone.")
        if st.button("Delete permanently", type="primary", key="detail_delete"):
            delete(studio.db, studio.store, detail.id, actor=acting())
            back_to_grid()
            st.toast("Poster deleted.")
            st.rerun()


poster_param = st.query_params.get("poster")
set_param = st.query_params.get("set")
if poster_param:
    try:
        poster_id = int(poster_param)
    except ValueError:
        st.error(f"'{plain(poster_param)}' is not a poster id.")
    else:
        show_detail(poster_id)
elif set_param:
    show_set(set_param)
else:
    show_grid()
