"""Showing user text inside Streamlit elements that render Markdown."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_~$<>\[\]|#])")


def plain(text: str) -> str:
    """st.table cells, captions and markdown render Markdown: a price like "$5 or $9" would
    become maths and a '*' italics. Escape what Markdown acts on, so the text shows as typed."""
    return _MARKDOWN.sub(r"\\\1", str(text))
