"""The posters picked for comparison: a list kept for the browser session, the Compare
checkbox on every tile, and the tray that opens the compare page."""

from __future__ import annotations

import streamlit as st

MAX_COMPARE = 4
STATE_KEY = "compare_ids"


def selected() -> list[int]:
    return st.session_state.setdefault(STATE_KEY, [])


def _toggle(poster_id: int, widget_key: str) -> None:
    ids = selected()
    if st.session_state[widget_key]:
        if poster_id in ids:
            return
        if len(ids) >= MAX_COMPARE:
            st.session_state[widget_key] = False
            st.session_state.compare_flash = f"Compare takes at most {MAX_COMPARE} posters: untick one first."
            return
        ids.append(poster_id)
    elif poster_id in ids:
        ids.remove(poster_id)


def compare_checkbox(poster_id: int) -> None:
    key = f"cmp_{poster_id}"
    # The list, not the widget, is the truth: a tile on another gallery page was not drawn
    # in the last run, so its widget state is gone, but the poster is still picked.
    st.session_state[key] = poster_id in selected()
    st.checkbox("Compare", key=key, on_change=_toggle, args=(poster_id, key))


def clear() -> None:
    st.session_state[STATE_KEY] = []


def tray() -> None:
    ids = selected()
    flash = st.session_state.pop("compare_flash", None)
    if flash:
        st.warning(flash)
    if not ids:
        return
    with st.container(border=True):
        c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
        c1.markdown(f"**Picked to compare:** {', '.join(f'#{i}' for i in ids)}")
        if c2.button(
            f"Compare {len(ids)}",
            key="btn_compare_open",
            type="primary",
            disabled=len(ids) < 2,
            help="Pick 2 to 4 posters, from one variant set or several.",
        ):
            st.switch_page("pages/compare.py", query_params={"ids": ",".join(map(str, ids))})
        c3.button("Clear", key="btn_compare_clear", on_click=clear)
