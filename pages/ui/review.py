"""Team review widgets shared by the gallery detail view and the compare page."""

from __future__ import annotations

import logging

import streamlit as st

from core.access import AccessDenied, Actor, Right
from core.services.reviews import (
    VERDICT_ICONS,
    VERDICTS,
    NameInUse,
    PosterGone,
    ReviewError,
    ReviewRecord,
    ReviewSummary,
    allowed_verdicts,
    clean_reviewer,
    name_used_elsewhere,
    save_review,
)
from pages.ui.identity import acting, forget_typed_name, remember_typed_name
from pages.ui.markdown_text import plain
from pages.ui.shared import get_studio

logger = logging.getLogger(__name__)


def current_reviewer() -> str | None:
    """The name this session's reviews carry, or None before there is one."""
    return acting().name or None


def _use_typed_name(input_key: str) -> None:
    name = clean_reviewer(st.session_state.get(input_key, ""))
    if not name:
        st.session_state.reviewer_name_error = "Type your name first: reviews are signed with it."
        return
    st.session_state.pop("reviewer_name_error", None)
    # Another browser reviewing under this name recently: it may be someone else, and this
    # browser's verdicts would then stand as theirs. Ask before taking the name.
    in_use = name_used_elsewhere(get_studio().db, name, acting().session_id)
    if in_use is not None:
        st.session_state.reviewer_name_pending = (name, in_use)
        return
    remember_typed_name(name)


def _take_pending_name() -> None:
    name, _ = st.session_state.pop("reviewer_name_pending")
    remember_typed_name(name)


def _drop_pending_name() -> None:
    st.session_state.pop("reviewer_name_pending", None)


def _name_in_use_warning(key_prefix: str, name: str, in_use: NameInUse) -> None:
    st.warning(
        f"**{plain(name)}** has reviewed {in_use.reviews} time(s) from another browser in the last "
        f"30 days (latest {in_use.latest:%Y-%m-%d %H:%M} UTC). Names are not checked: if that is someone "
        "else, pick another name, or your verdicts will stand as theirs.",
        icon=":material/group:",
    )
    c1, c2 = st.columns(2)
    c1.button(f"It's me: review as {plain(name)}", key=f"{key_prefix}_name_mine", on_click=_take_pending_name)
    c2.button("Pick another name", key=f"{key_prefix}_name_other", on_click=_drop_pending_name)


def reviewer_box(key_prefix: str) -> Actor | None:
    """Who is reviewing: the signed-in account, or a typed name kept in this browser (marked
    unverified). None while there is nobody who may review."""
    actor = acting()
    if actor.verified:
        if not actor.can(Right.REVIEW):
            st.info(
                f"Signed in as **{plain(actor.name)}**, a {actor.role}: you can read the reviews but not add one. "
                "Ask a studio admin for the designer role to review."
            )
            return None
        st.caption(f"Reviewing as **{plain(actor.name)}** (signed in, {actor.role}).")
        return actor
    if actor.name:
        c1, c2 = st.columns([5, 1])
        c1.caption(
            f"Reviewing as **{plain(actor.name)}** (unverified: a typed name, remembered in this browser)."
        )
        c2.button("Change name", key=f"{key_prefix}_change_reviewer", on_click=forget_typed_name)
        return actor
    pending = st.session_state.get("reviewer_name_pending")
    if pending:
        _name_in_use_warning(key_prefix, *pending)
        return None
    input_key = f"{key_prefix}_reviewer_input"
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    c1.text_input("Your name (kept in this browser; your reviews are signed with it)", key=input_key)
    c2.button("Start reviewing", key=f"{key_prefix}_reviewer_ok", on_click=_use_typed_name, args=(input_key,))
    if st.session_state.get("reviewer_name_error"):
        st.error(st.session_state.pop("reviewer_name_error"))
    return None


def reviewer_label(name: str, verified: bool) -> str:
    """A reviewer as Markdown: a signed-in account gets a tick, a typed name says so."""
    return f"**{plain(name)}** ✓" if verified else f"**{plain(name)}** (unverified)"


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


def review_form(db, poster_id: int, reviewer: Actor | None, key_prefix: str) -> None:
    """Rating, verdict and comment; each save adds a new row and never changes an old one.
    Only the verdicts the reviewer's role allows are offered (save_review checks again)."""
    if reviewer is None and acting().verified:
        return  # signed in without the review right: reviewer_box said so
    verdicts = allowed_verdicts(reviewer) if reviewer is not None else VERDICTS
    keys = {name: f"{key_prefix}_{name}_{poster_id}" for name in ("rating", "verdict", "comment")}
    if st.session_state.pop(f"{key_prefix}_reset_{poster_id}", False):
        for key in keys.values():  # a saved review empties the form (before its widgets exist)
            st.session_state.pop(key, None)
    with st.form(f"{key_prefix}_form_{poster_id}", border=True):
        rating = st.radio("Rating", [1, 2, 3, 4, 5], index=None, horizontal=True, format_func=lambda n: "★" * n, key=keys["rating"])
        verdict = st.radio("Verdict", list(verdicts), index=None, horizontal=True, format_func=VERDICTS.get, key=keys["verdict"])
        comment = st.text_area("Comment", key=keys["comment"], height=80, placeholder="What works, what to change")
        submitted = st.form_submit_button("Save review", type="primary", disabled=reviewer is None)
    if reviewer is None:
        st.caption("Enter your name above to review.")
    elif "approve" not in verdicts:
        st.caption(f"Approving needs the approver role; you are a {reviewer.role}.")
    if not submitted:
        flash = st.session_state.pop(f"{key_prefix}_saved_{poster_id}", None)
        if flash:
            st.success(flash)
        return
    try:
        review = save_review(db, poster_id, reviewer, rating, verdict, comment)
    except (ReviewError, PosterGone, AccessDenied) as problem:
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
            f"{VERDICT_ICONS[review.verdict]} {reviewer_label(review.reviewer, review.verified)} · {stars(review.rating)} · "
            f"{VERDICTS[review.verdict]} · {review.created_at:%Y-%m-%d %H:%M}"
        )
        if review.comment:
            st.text(review.comment)
