"""Showing user text inside Streamlit elements that render Markdown."""

from __future__ import annotations

import re

# What Markdown (and Streamlit's additions) acts on: emphasis, code, maths, HTML and entities,
# links and images, tables, headings, quotes, and `:colour[...]` directives.
_MARKDOWN = re.compile(r"([\\`*_~$<>\[\]|#&])")
# The bare addresses GitHub-flavoured Markdown turns into links: http(s)://, www. and e-mail.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=\bwww)(\.)|(@)")


def plain(text: str) -> str:
    """Captions, labels, alerts, tables and st.markdown render Markdown: a price like "$5 or $9"
    would become maths, a '*' italics, and a product named `![x](http://host/pixel.png)` would
    make every viewer's browser fetch that address. A backslash before each such character
    makes Markdown show it as typed (the backslash itself is not shown)."""
    escaped = _MARKDOWN.sub(r"\\\1", str(text))
    return _AUTOLINK.sub(lambda match: "\\" + match.group(0), escaped)
