"""Qwen Poster Studio: the entry point. `streamlit run Home.py`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import streamlit as st

if __name__ != "__main__":
    # `streamlit run` imports this file once, before its runtime exists (see the end of the
    # file). st.cache_data then warns "No runtime found" for each cached function the imports
    # below define; their caches are made later, at first call, in the runtime.
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

# Pages import `core` and `pages.ui.shared` from the app root, also under AppTest.
ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pages.ui.markdown_text import plain  # noqa: E402
from pages.ui.identity import auth_providers, current_actor, flush_cookies  # noqa: E402
from pages.ui.shared import demo_banner, get_studio, sidebar_panel, thumb_bytes  # noqa: E402
from core.access import NO_ACCESS, Right, RolesConfigError  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.services.gallery import GalleryFilter, list_posters  # noqa: E402
from core.services.studio import DatabaseUnavailable  # noqa: E402

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


def sign_in() -> None:
    st.title("Qwen Poster Studio")
    st.write("Sign in to use the studio: reviews, reruns, exports and brand-kit edits are signed with your account.")
    providers = auth_providers()
    if not providers:
        st.button("Sign in", type="primary", key="btn_sign_in", on_click=st.login)
    for provider in providers:
        st.button(f"Sign in with {provider}", key=f"btn_sign_in_{provider}", on_click=st.login, args=(provider,))


def no_access() -> None:
    st.title("Qwen Poster Studio")
    st.warning(
        f"You are signed in as **{plain(actor.name)}**, but the studio's roles config gives this account no role. "
        "Ask a studio admin to add you (README: Sign-in and roles).",
        icon=":material/lock:",
    )
    st.button("Sign out", key="btn_sign_out_no_access", on_click=st.logout)


def identity_panel() -> None:
    with st.sidebar:
        if actor.verified:
            st.caption(f"Signed in as **{plain(actor.name)}** · {actor.role}")
            st.button("Sign out", key="btn_sign_out", on_click=st.logout)
        elif actor.name:
            st.caption(f"Reviewing as **{plain(actor.name)}** (unverified: no sign-in is configured)")
        flush_cookies()


def navigation_pages(actor) -> list:
    """The pages this session's role can use; a URL of any other page is not served to it
    (Streamlit falls back to Home)."""
    pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    if actor.can(Right.COMPOSE):
        pages += [
            st.Page("pages/brief.py", title="Brief", icon=":material/description:"),
            st.Page("pages/compose.py", title="Compose", icon=":material/palette:"),
        ]
    pages += [
        st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    ]
    if actor.can(Right.EDIT_KITS):
        pages.append(st.Page("pages/brand_kits.py", title="Brand kits", icon=":material/style:"))
    if actor.can(Right.COMPOSE):
        pages.append(st.Page("pages/settings.py", title="Settings", icon=":material/speed:"))
    return pages


if __name__ == "__main__":
    # Streamlit runs this file as `__main__` for every page view of every session.
    st.set_page_config(page_title="Qwen Poster Studio", page_icon="🖼️", layout="wide")

    # The navigation is declared before the studio is built (the demo checkpoints, the database,
    # the worker: seconds on a first start). Streamlit's own list of pages/*.py, which it shows
    # until st.navigation runs, is switched off (client.showSidebarNavigation = false in
    # .streamlit/config.toml), so the sidebar never shows file names such as "brand kits"; the
    # links are drawn here instead. Who acts needs only the settings, not the studio.
    try:
        actor = current_actor(load_settings())
    except RolesConfigError as error:
        st.error(f"**The roles config cannot be used.** {plain(str(error))}", icon=":material/lock:")
        st.stop()
    if actor is None or actor.role == NO_ACCESS:
        # Only the sign-in (or no-access) page exists for this session: every other URL lands here.
        page = st.navigation([st.Page(sign_in if actor is None else no_access, title="Sign in", default=True)], position="hidden")
    else:
        pages = navigation_pages(actor)
        page = st.navigation(pages, position="hidden")
        with st.sidebar:
            for nav_page in pages:
                st.page_link(nav_page)

    try:
        studio = get_studio()
    except DatabaseUnavailable as error:
        # No page works without the history: say what to fix instead of a traceback. A failed
        # start is not cached, so the next reload tries again.
        st.error(f"**The studio cannot open its database.** {plain(str(error))}", icon=":material/database:")
        st.stop()
    if actor is not None and actor.role != NO_ACCESS:
        demo_banner(studio)
        identity_panel()
        sidebar_panel(studio)
    page.run()
else:
    # `streamlit run Home.py` finds this `app` and imports the file once, as a module, to serve
    # it. That import is the server's start: the lifespan builds the studio there, and with it
    # the worker and the recovery of jobs a dead worker left running, before anyone opens a
    # page (pages/ui/server_start.py).
    from pages.ui.server_start import studio_lifespan

    app = st.App("Home.py", lifespan=studio_lifespan)
