"""How a poster's OCR text check is shown: a score line, and a badge per exact string."""

from __future__ import annotations

import streamlit as st

from core.text.overlay import OverlayLegend
from core.text.result import CheckStatus
from pages.ui.markdown_text import plain

ROLE_LABELS = {"name": "Name", "offer": "Headline", "price": "Price", "cta": "CTA", "benefit": "Benefit"}


def score_label(text_check: dict | None, checking: bool = False) -> str:
    if not text_check:
        return "text check running…" if checking else "text not checked"
    if text_check.get("error"):
        return "text check failed"
    total = text_check.get("total", len(text_check.get("strings", [])))
    if not total:
        return "no text to check"
    exact = sum(1 for s in text_check.get("strings", []) if s.get("status") == CheckStatus.EXACT)
    mark = "✓" if exact == total else "✗"
    return f"text {mark} {exact}/{total} exact"


# Said where a reviewer decides (the gallery's detail view) whenever a string is not exact:
# the check's misses are small lines under heavy blur or JPEG (BENCHMARKS.md, "OCR text check").
MISREAD_NOTE = (
    "✓ means the check read the string letter for letter. ✗ and ≈ can also be the check misreading a small, "
    "blurred or heavily compressed line: look at the poster (Show what the check read) before you reject it."
)


def misread_note(text_check: dict | None) -> str | None:
    """MISREAD_NOTE when a string of a check that ran is not exact, else None."""
    if not text_check or text_check.get("error"):
        return None
    if any(s.get("status") != CheckStatus.EXACT for s in text_check.get("strings", [])):
        return MISREAD_NOTE
    return None


def overlay_caption(legend: OverlayLegend) -> str:
    """The legend under the check's overlay: each colour with the strings it marks (user
    text escaped: image captions render Markdown)."""

    def named(strings: list[str]) -> str:
        return ", ".join(f"“{plain(s)}”" for s in strings)

    parts = [
        f"{label}: {named(strings)}"
        for label, strings in (
            ("green = read exactly", legend.exact),
            ("orange = read nearly", legend.near),
            ("grey = searched for a missing string", legend.searched),
            ("missing, no box: searched the whole poster", legend.whole_poster),
            ("missing, not read: the OCR check could not run", legend.unread),
        )
        if strings
    ]
    return " · ".join(parts)


def render_text_check(text_check: dict | None, checking: bool = False) -> None:
    """The per-string badges: ✓ exact, ≈ near (with what was read), ✗ missing."""
    st.caption(score_label(text_check, checking))
    if not text_check:
        return
    if text_check.get("error"):
        st.warning(f"The OCR check could not run: {plain(text_check['error'])}. The poster itself is fine; try 'Check text again'.")
        return
    for item in text_check.get("strings", []):
        role = ROLE_LABELS.get(item.get("role"), item.get("role", ""))
        expected = plain(item.get("expected", ""))
        status = item.get("status")
        if status == CheckStatus.EXACT:
            st.markdown(f":green-badge[✓ exact] **{role}** “{expected}”")
        elif status == CheckStatus.NEAR:
            st.markdown(f":orange-badge[≈ near] **{role}** “{expected}” — read “{plain(item.get('read') or '')}”")
        else:
            st.markdown(f":red-badge[✗ missing] **{role}** “{expected}”")
    extra = text_check.get("extra_text") or []
    if extra:
        st.markdown(":gray-badge[extra text] " + ", ".join(f"“{plain(t)}”" for t in extra[:12]))
