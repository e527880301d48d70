"""Gallery: every poster ever made, newest first, with filters, paging and a detail view."""

from __future__ import annotations

import json
import math

import streamlit as st

from core.presets import PRESETS
from core.prompting import LANGUAGES
from pages.shared import get_studio, thumb_path
from storage.gallery import GalleryFilter, delete_poster, get_poster, list_posters
from storage.models import JOB_STATUSES

studio = get_studio()
PAGE_SIZE = 12


def show_detail(poster_id: int) -> None:
    detail = get_poster(studio.db, poster_id)
    if detail is None:
        st.error(f"Poster {poster_id} does not exist (it may have been deleted).")
        if st.button("Back to the gallery"):
            st.query_params.clear()
            st.rerun()
        return
    if st.button("← Back to the gallery", key="detail_back"):
        st.query_params.clear()
        st.rerun()
    name = detail.product.get("name") or "Untitled"
    st.header(f"{name} · seed {detail.seed}")
    if detail.demo_models:
        st.caption("Made with the demo models: the image is noise.")
    image_col, recipe_col = st.columns([3, 2], gap="large")
    with image_col:
        st.image(str(studio.store.absolute(detail.path)), caption=f"{detail.width}×{detail.height} · sha256 {detail.sha256[:12]}")
        st.download_button(
            "Download PNG",
            data=studio.store.read_bytes(detail.path),
            file_name=f"poster-{detail.id}-seed{detail.seed}.png",
            mime="image/png",
            key="detail_download_png",
        )
    with recipe_col:
        st.subheader("Recipe")
        preset = PRESETS.get(detail.preset_key)
        rows = {
            "Preset": f"{preset.label if preset else detail.preset_key}{' (draft size)' if detail.draft_size else ''}",
            "Size": f"{detail.width}×{detail.height}",
            "Steps": detail.steps,
            "true_cfg_scale": detail.true_cfg_scale,
            "Seed": detail.seed,
            "Model": detail.model_id,
            "Tone": detail.tone,
            "Style keywords": detail.style_keywords or "—",
            "Language": LANGUAGES.get(detail.language, detail.language),
            "Tokens": f"{detail.token_count} (max_sequence_length {detail.max_sequence_length})",
            "Prompt builder": detail.builder_version,
            "Variant": f"{detail.variant_index + 1} of set {detail.variant_group}",
        }
        for key, value in detail.timings.items():
            rows[f"Time: {key}"] = value
        st.table({"field": list(rows), "value": [str(v) for v in rows.values()]})
        st.markdown("**Prompt**")
        st.code(detail.prompt, language=None, wrap_lines=True)
        st.markdown("**Negative prompt**")
        st.code(detail.negative_prompt, language=None, wrap_lines=True)
        if detail.brief_sections:
            with st.expander("Brief used", expanded=False):
                for key, text in detail.brief_sections.items():
                    if text:
                        st.markdown(f"**{key.replace('_', ' ').capitalize()}**\n\n{text}")
        elif detail.brief_text:
            with st.expander("Brief used"):
                st.write(detail.brief_text)
        with st.expander("Product fields (JSON)"):
            st.code(json.dumps(detail.product, ensure_ascii=False, indent=2), language="json")

    with st.expander("Delete this poster"):
        st.write("This removes the poster, its recipe rows and its files. It cannot be undone.")
        if st.button("Delete permanently", type="primary", key="detail_delete"):
            delete_poster(studio.db, studio.store, detail.id)
            st.query_params.clear()
            st.toast("Poster deleted.")
            st.rerun()


def show_grid() -> None:
    st.title("Gallery")
    c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
    preset = c1.selectbox(
        "Preset", [None, *PRESETS], format_func=lambda k: "All presets" if k is None else PRESETS[k].label, key="gallery_preset"
    )
    language = c2.selectbox(
        "Language", [None, *LANGUAGES], format_func=lambda k: "All" if k is None else LANGUAGES[k], key="gallery_language"
    )
    status = c3.selectbox(
        "Status", ["done", *[s for s in JOB_STATUSES if s != "done"], None],
        format_func=lambda s: "All" if s is None else s, key="gallery_status",
    )
    text = c4.text_input("Search product name and prompt", key="gallery_text")
    filters = GalleryFilter(preset_key=preset, language=language, status=status, text=text)

    # A new filter starts again at page 1.
    if st.session_state.get("gallery_last_filter") != filters:
        st.session_state.gallery_last_filter = filters
        st.session_state.gallery_page = 1
    page = st.session_state.get("gallery_page", 1)
    cards, total = list_posters(studio.db, filters, page=page, page_size=PAGE_SIZE)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    st.caption(f"{total} match · page {page} of {pages}")
    if not cards:
        st.info("Nothing matches these filters." if total == 0 and studio.db else "No posters yet.")
        return

    columns = st.columns(4)
    for index, card in enumerate(cards):
        with columns[index % 4]:
            with st.container(border=True):
                if card.thumb_path:
                    st.image(thumb_path(studio, card.thumb_path))
                else:
                    st.markdown(f"*{card.status}*")
                    if card.error:
                        st.caption(card.error)
                seconds = f" · {card.seconds:.1f} s" if card.seconds else ""
                st.caption(
                    f"**{card.product_name or 'Untitled'}** · {PRESETS[card.preset_key].label if card.preset_key in PRESETS else card.preset_key}"
                    f" · seed {card.seed}{seconds} · {card.created_at:%Y-%m-%d %H:%M}"
                )
                if card.id is not None and st.button("Open", key=f"open_{card.id}"):
                    st.query_params["poster"] = str(card.id)
                    st.rerun()

    prev_col, _, next_col = st.columns([1, 4, 1])
    if prev_col.button("← Newer", disabled=page <= 1, key="btn_gallery_prev"):
        st.session_state.gallery_page = page - 1
        st.rerun()
    if next_col.button("Older →", disabled=page >= pages, key="btn_gallery_next"):
        st.session_state.gallery_page = page + 1
        st.rerun()


poster_param = st.query_params.get("poster")
if poster_param:
    try:
        show_detail(int(poster_param))
    except ValueError:
        st.error(f"'{poster_param}' is not a poster id.")
else:
    show_grid()
