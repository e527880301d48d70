"""Showing user text inside Streamlit elements that render Markdown."""

from __future__ import annotations

import re

# Everything Markdown (and Streamlit's additions) acts on: emphasis, code, maths, HTML, links
# and images, tables, headings, lists, quotes, `:colour[...]` and `:icon:` directives, and
# the bare `www.`, `http://` and e-mail addresses GitHub-flavoured Markdown turns into links.
_MARKDOWN = re.compile(r"([\\`*_~$<>\[\]()|#!:.@+\-=&])")


def plain(text: str) -> str:
    """Captions, labels, tables and st.markdown render Markdown: a price like "$5 or $9" would
    become maths, a '*' italics, and a product named `![x](http://host/pixel.png)` would make
    every viewer's browser fetch that address. A backslash before each such character makes
    Markdown show it as typed (the backslash itself is not shown)."""
    return _MARKDOWN.sub(r"\\\1", str(text))
