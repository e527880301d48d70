"""Qwen Poster Studio: the entry point. `streamlit run Home.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# Pages import `core` and `pages.ui.shared` from the app root, also under AppTest.
ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pages.ui.markdown_text import plain  # noqa: E402
from pages.ui.shared import demo_banner, get_studio, sidebar_panel, thumb_bytes  # noqa: E402
from core.services.gallery import GalleryFilter, list_posters  # noqa: E402
from core.services.studio import DatabaseUnavailable  # noqa: E402

st.set_page_config(page_title="Qwen Poster Studio", page_icon="🖼️", layout="wide")


def home() -> None:
    studio = get_studio()
    st.title("Qwen Poster Studio")
    st.write(
        "Turn rough drafts and product facts into finished posters. "
        "**Brief** reads a draft and writes a design brief, **Compose** turns product facts into a "
        "poster prompt and draws variants with Qwen-Image, and **Gallery** keeps every poster with its recipe."
    )
    st.subheader("Latest posters")
    cards, total = list_posters(studio.db, GalleryFilter(), page=1, page_size=8)
    if not cards:
        st.info("No posters yet. Open **Compose** to make the first one.")
        return
    columns = st.columns(4)
    for index, card in enumerate(cards):
        with columns[index % 4]:
            # A click opens the poster in the gallery (in a new tab: st.image links always do).
            st.image(
                thumb_bytes(studio, card.thumb_path),
                caption=f"{plain(card.product_name or 'Untitled')} · seed {card.seed}",
                link=f"gallery?poster={card.id}",
            )
    st.page_link("pages/gallery.py", label=f"All {total} posters in the gallery →")


try:
    studio = get_studio()
except DatabaseUnavailable as error:
    # No page works without the history: say what to fix instead of a traceback. A failed
    # start is not cached, so the next reload tries again.
    st.error(f"**The studio cannot open its database.** {plain(str(error))}", icon=":material/database:")
    st.stop()
demo_banner(studio)
sidebar_panel(studio)

navigation = st.navigation(
    [
        st.Page(home, title="Home", icon=":material/home:", default=True),
        st.Page("pages/brief.py", title="Brief", icon=":material/description:"),
        st.Page("pages/compose.py", title="Compose", icon=":material/palette:"),
        st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("pages/brand_kits.py", title="Brand kits", icon=":material/style:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/speed:"),
    ]
)
navigation.run()
