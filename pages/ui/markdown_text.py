"""Showing user text inside Streamlit elements that render Markdown."""

from __future__ import annotations

import re

# What Markdown (and Streamlit's additions) acts on: emphasis, code, maths, HTML and entities,
# links and images, tables, headings, quotes, and `:colour[...]` directives.
_MARKDOWN = re.compile(r"([\\`*_~$<>\[\]|#&])")
# The bare addresses GitHub-flavoured Markdown turns into links (http://, www., e-mail). It
# finds them in the text after escapes are resolved, so a backslash cannot stop it; an
# invisible word joiner inside the address does.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    """Captions, labels, alerts, tables and st.markdown render Markdown: a price like "$5 or $9"
    would become maths, a '*' italics, and a product named `![x](http://host/pixel.png)` would
    make every viewer's browser fetch that address. A backslash before each such character
    makes Markdown show it as typed (the backslash itself is not shown), and a word joiner
    (invisible) keeps a bare address from becoming a link."""
    return _AUTOLINK.sub(WORD_JOINER, _MARKDOWN.sub(r"\\\1", str(text)))
