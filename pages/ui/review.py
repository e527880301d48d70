"""Team review widgets shared by the gallery detail view and the compare page."""

from __future__ import annotations

import logging

import streamlit as st

from core.services.reviews import (
    VERDICT_ICONS,
    VERDICTS,
    PosterGone,
    ReviewError,
    ReviewRecord,
    ReviewSummary,
    clean_reviewer,
    save_review,
)
from pages.ui.markdown_text import plain

logger = logging.getLogger(__name__)


def auth_identity() -> tuple[bool, str | None]:
    """(is Streamlit auth configured, the signed-in user's name or None).

    `st.user.is_logged_in` only exists when an [auth] section is configured in secrets.toml;
    without one, reading it raises, and some hosts fill st.user differently. Any failure
    means "no auth", and the reviewer types a name instead."""
    try:
        user = st.user
        if "is_logged_in" not in user:
            return False, None
        if not user.get("is_logged_in"):
            return True, None
        name = user.get("name") or user.get("email") or user.get("sub")
        return True, clean_reviewer(str(name)) or None
    except Exception:
        return False, None


def current_reviewer() -> str | None:
    configured, name = auth_identity()
    if configured:
        return name
    return st.session_state.get("reviewer_name")


def _use_typed_name(input_key: str) -> None:
    name = clean_reviewer(st.session_state.get(input_key, ""))
    if name:
        st.session_state.reviewer_name = name
        st.session_state.pop("reviewer_name_error", None)
    else:
        st.session_state.reviewer_name_error = "Type your name first: reviews are signed with it."


def _forget_name() -> None:
    st.session_state.pop("reviewer_name", None)


def reviewer_box(key_prefix: str) -> str | None:
    """Who is reviewing: the signed-in user, or a name asked once per browser session."""
    configured, name = auth_identity()
    if configured:
        if name:
            st.caption(f"Reviewing as **{plain(name)}** (signed in).")
            return name
        st.info("Sign in to review: the studio signs each review with your account.")
        st.button("Sign in", key=f"{key_prefix}_login", on_click=st.login)
        return None
    name = st.session_state.get("reviewer_name")
    if name:
        c1, c2 = st.columns([5, 1])
        c1.caption(f"Reviewing as **{plain(name)}** (remembered for this session).")
        c2.button("Change name", key=f"{key_prefix}_change_reviewer", on_click=_forget_name)
        return name
    input_key = f"{key_prefix}_reviewer_input"
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    c1.text_input("Your name (asked once per session; your reviews are signed with it)", key=input_key)
    c2.button("Start reviewing", key=f"{key_prefix}_reviewer_ok", on_click=_use_typed_name, args=(input_key,))
    if st.session_state.get("reviewer_name_error"):
        st.error(st.session_state.pop("reviewer_name_error"))
    return None


def stars(rating: float | int) -> str:
    whole = int(round(rating))
    return "★" * whole + "☆" * (5 - whole)


def summary_line(summary: ReviewSummary) -> str:
    if not summary.reviews:
        return "Not reviewed yet"
    parts = [f"★ {summary.average_rating:.1f} ({len(summary.reviewers)} reviewer{'s' if len(summary.reviewers) != 1 else ''})"]
    parts += [f"{VERDICT_ICONS[v]} {VERDICTS[v]} {summary.verdicts[v]}" for v in VERDICTS if summary.verdicts.get(v)]
    if summary.latest_comment:
        comment = summary.latest_comment if len(summary.latest_comment) <= 90 else summary.latest_comment[:89] + "…"
        parts.append(f"“{plain(comment)}” — {plain(summary.latest_comment_by)}")
    return " · ".join(parts)


def review_form(db, poster_id: int, reviewer: str | None, key_prefix: str) -> None:
    """Rating, verdict and comment; each save adds a new row and never changes an old one."""
    keys = {name: f"{key_prefix}_{name}_{poster_id}" for name in ("rating", "verdict", "comment")}
    if st.session_state.pop(f"{key_prefix}_reset_{poster_id}", False):
        for key in keys.values():  # a saved review empties the form (before its widgets exist)
            st.session_state.pop(key, None)
    with st.form(f"{key_prefix}_form_{poster_id}", border=True):
        rating = st.radio("Rating", [1, 2, 3, 4, 5], index=None, horizontal=True, format_func=lambda n: "★" * n, key=keys["rating"])
        verdict = st.radio("Verdict", list(VERDICTS), index=None, horizontal=True, format_func=VERDICTS.get, key=keys["verdict"])
        comment = st.text_area("Comment", key=keys["comment"], height=80, placeholder="What works, what to change")
        submitted = st.form_submit_button("Save review", type="primary", disabled=reviewer is None)
    if reviewer is None:
        st.caption("Enter your name above to review.")
    if not submitted:
        flash = st.session_state.pop(f"{key_prefix}_saved_{poster_id}", None)
        if flash:
            st.success(flash)
        return
    try:
        review = save_review(db, poster_id, reviewer, rating, verdict, comment)
    except (ReviewError, PosterGone) as problem:
        st.error(plain(problem))
        return
    except Exception:
        logger.exception("could not save a review")
        st.error("The review could not be saved (database error). Nothing was stored; try again.")
        return
    st.session_state[f"{key_prefix}_reset_{poster_id}"] = True
    st.session_state[f"{key_prefix}_saved_{poster_id}"] = f"Review saved: {stars(review.rating)} · {VERDICTS[review.verdict]}."
    st.rerun()


def review_history(reviews: list[ReviewRecord]) -> None:
    if not reviews:
        st.caption("No reviews yet.")
        return
    for review in reviews:
        st.markdown(
            f"{VERDICT_ICONS[review.verdict]} **{plain(review.reviewer)}** · {stars(review.rating)} · "
            f"{VERDICTS[review.verdict]} · {review.created_at:%Y-%m-%d %H:%M}"
        )
        if review.comment:
            st.text(review.comment)
