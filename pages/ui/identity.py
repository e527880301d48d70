"""Who is using the studio: the account signed in through Streamlit's OpenID Connect sign-in
(`st.login`, configured by an [auth] section in secrets.toml), or, without sign-in, a typed
name that is marked unverified and kept in this browser.

The rules of who may do what are in core/access.py; this module only reads who it is.
"""

from __future__ import annotations

import json
import secrets as random_tokens
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote

import streamlit as st

from core.access import NO_ACCESS, Actor, RoleConfig, load_roles_file, parse_roles, unverified_actor
from core.services.reviews import clean_reviewer
from core.settings import Settings

# Cookies of this studio's origin: a random id per browser (tells two browsers using one typed
# name apart) and the typed name (so a reload does not ask for it again). A year, like a
# "remember me"; they hold nothing secret.
BROWSER_COOKIE = "studio_browser"
NAME_COOKIE = "studio_reviewer"
COOKIE_MAX_AGE_S = 365 * 24 * 3600


# -- sign-in --------------------------------------------------------------------------------


def auth_configured() -> bool:
    """Streamlit sets `is_logged_in` on st.user only when secrets.toml has an [auth] section."""
    try:
        return "is_logged_in" in st.user
    except Exception:  # some hosts fill st.user their own way: then there is no sign-in here
        return False


def signed_in() -> bool:
    return auth_configured() and bool(st.user.get("is_logged_in"))


def auth_providers() -> list[str]:
    """The named providers of [auth] ([auth.google], ...); empty for the one unnamed provider."""
    try:
        section = st.secrets.get("auth", {})
    except Exception:
        return []
    return [name for name, value in section.items() if isinstance(value, Mapping)]


_ROLES_CACHE: dict[tuple, RoleConfig] = {}


def roles_config(settings: Settings) -> RoleConfig | None:
    """STUDIO_ROLES_FILE's [roles] table (read again when the file changes), else [roles] in
    secrets.toml, else None. Raises RolesConfigError with what to fix."""
    if settings.roles_file is not None:
        path = Path(settings.roles_file)
        key = (str(path), path.stat().st_mtime_ns if path.exists() else None)
        if key not in _ROLES_CACHE:
            _ROLES_CACHE.clear()
            _ROLES_CACHE[key] = load_roles_file(path)
        return _ROLES_CACHE[key]
    try:
        table = st.secrets.get("roles") if st.secrets.load_if_toml_exists() else None
    except Exception:
        table = None
    return parse_roles(table) if table else None


def signed_in_actor(settings: Settings) -> Actor:
    """The signed-in account as an Actor: its e-mail address (the `sub` claim where the
    provider sends none) and the role the config gives it (NO_ACCESS where none)."""
    user = st.user
    email = str(user.get("email") or user.get("sub") or "").strip().lower()
    groups = user.get("groups") or []
    if isinstance(groups, str):
        groups = [groups]
    config = roles_config(settings)
    role = "admin" if config is None else (config.role_for(email, groups) or NO_ACCESS)
    return Actor(name=email, role=role, verified=True, session_id=browser_id())


# -- this browser -------------------------------------------------------------------------


def _cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # no browser (a script run outside a server)
        return None
    # Under AppTest there is no browser and the context hands back a stand-in object.
    return unquote(value) if isinstance(value, str) and value else None


def _queue_cookie(name: str, value: str | None) -> None:
    """Set (or, with None, clear) a cookie; written by flush_cookies() on this run."""
    st.session_state.setdefault("_cookie_writes", {})[name] = value


def flush_cookies() -> None:
    """Write queued cookies from the browser: Streamlit sends cookies to the server but has no
    call to set one, so a tiny script does it. st.context.cookies reads them on the next
    page load."""
    writes = st.session_state.pop("_cookie_writes", None)
    if not writes:
        return
    lines = []
    for name, value in writes.items():
        if value is None:
            lines.append(f"document.cookie = {json.dumps(name + '=; path=/; max-age=0; SameSite=Lax')};")
        else:
            # json.dumps quotes the value as a JS string; "<" escaped so a name cannot close the tag.
            quoted = json.dumps(value).replace("<", "\\u003c")
            lines.append(
                f"document.cookie = {json.dumps(name + '=')} + encodeURIComponent({quoted}) + "
                f"{json.dumps(f'; path=/; max-age={COOKIE_MAX_AGE_S}; SameSite=Lax')};"
            )
    st.html("<script>" + "\n".join(lines) + "</script>", unsafe_allow_javascript=True)


def browser_id() -> str:
    """A random id for this browser, kept in a cookie (a new one per session where the browser
    keeps no cookies, as under AppTest)."""
    if "_browser_id" not in st.session_state:
        existing = _cookie(BROWSER_COOKIE)
        if existing and len(existing) <= 64:
            st.session_state._browser_id = existing
        else:
            st.session_state._browser_id = random_tokens.token_hex(12)
            _queue_cookie(BROWSER_COOKIE, st.session_state._browser_id)
    return st.session_state._browser_id


def typed_name() -> str | None:
    """The name this browser reviews under without sign-in: chosen in this session, or kept
    from an earlier one in a cookie."""
    if "reviewer_name" not in st.session_state and not st.session_state.get("_name_cookie_read"):
        st.session_state._name_cookie_read = True  # once: "Change name" must not bring it back
        remembered = clean_reviewer(_cookie(NAME_COOKIE))
        if remembered:
            st.session_state.reviewer_name = remembered
    return st.session_state.get("reviewer_name")


def remember_typed_name(name: str) -> None:
    st.session_state.reviewer_name = name
    _queue_cookie(NAME_COOKIE, name)


def forget_typed_name() -> None:
    st.session_state.pop("reviewer_name", None)
    _queue_cookie(NAME_COOKIE, None)


# -- the actor ------------------------------------------------------------------------------


def current_actor(settings: Settings) -> Actor | None:
    """Who acts in this run: the signed-in account, None when sign-in is on and nobody is
    signed in, or (no sign-in) an admin under the typed name, "" before one is typed."""
    if auth_configured():
        return signed_in_actor(settings) if signed_in() else None
    return unverified_actor(typed_name() or "", browser_id())


def acting() -> Actor:
    """The actor of this run, for pages. Home.py shows only the sign-in page to someone not
    signed in, so a page never runs without one; if it somehow does, it stops."""
    from pages.ui.shared import get_studio

    actor = current_actor(get_studio().settings)
    if actor is None:
        st.info("Sign in to use the studio.")
        st.stop()
    return actor
