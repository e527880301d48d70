"""AppTest: who the pages think the user is. Without sign-in, a typed name marked unverified
and a warning before a second browser takes a name already in use; with sign-in (st.user
seeded through AppTest.user), the navigation and the review form follow the role."""

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from storage.models import Review
from tests.gallery_helpers import HOME, add_poster, open_detail

ROLES = """
[roles]
default = "viewer"
approver = ["ann@example.com"]
designer = ["group:design"]
"""


def shown(elements) -> list[str]:
    """What the user reads: without the invisible word joiner that keeps an address from
    becoming a link (pages/ui/markdown_text.py)."""
    return [e.value.replace("\u2060", "") for e in elements]


def app(user: dict | None = None) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def review(at: AppTest, poster_id: int, rating: int, verdict: str) -> None:
    at.radio(key=f"detail_rating_{poster_id}").set_value(rating)
    at.radio(key=f"detail_verdict_{poster_id}").set_value(verdict)
    at.button(key=f"FormSubmitter:detail_form_{poster_id}-Save review").click().run()
    assert not at.exception, at.exception


def type_name(at: AppTest, name: str) -> None:
    at.text_input(key="detail_reviewer_input").set_value(name)
    at.button(key="detail_reviewer_ok").click().run()
    assert not at.exception, at.exception


def test_a_second_browser_is_warned_before_it_reviews_under_a_name_in_use(app_studio):
    poster_id, _ = add_poster(app_studio.db, app_studio.store, seed=1)
    first = app()
    open_detail(first, poster_id)
    type_name(first, "Ann")
    assert any("Reviewing as **Ann** (unverified" in c.value for c in first.caption)
    review(first, poster_id, 5, "approve")
    assert any("**Ann** (unverified) · ★★★★★" in m.value for m in first.markdown)

    second = app()  # another browser: another browser id
    open_detail(second, poster_id)
    type_name(second, "Ann")
    warning = next(w.value for w in second.warning if "from another browser" in w.value)
    assert "**Ann** has reviewed 1 time(s) from another browser" in warning
    # Not taken yet: the form cannot be sent.
    assert second.button(key=f"FormSubmitter:detail_form_{poster_id}-Save review").disabled
    second.button(key="detail_name_other").click().run()
    type_name(second, "Annie")  # a name nobody used: no question asked
    assert any("Reviewing as **Annie** (unverified" in c.value for c in second.caption)

    second.button(key="detail_change_reviewer").click().run()
    type_name(second, "Ann")
    second.button(key="detail_name_mine").click().run()  # "It's me"
    review(second, poster_id, 2, "reject")
    with app_studio.db.reader() as session:
        rows = session.execute(select(Review.reviewer, Review.reviewer_verified, Review.session_id)).all()
    assert [(name, verified) for name, verified, _ in rows] == [("Ann", False), ("Ann", False)]
    assert rows[0].session_id != rows[1].session_id  # the two browsers stay told apart


@pytest.fixture
def roles_file(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text(ROLES)
    monkeypatch.setenv("STUDIO_ROLES_FILE", str(path))
    return path


def in_navigation(at: AppTest, page: str) -> bool:
    """Whether this session's navigation has the page (AppTest only switches to registered
    pages, as the browser only shows and serves those)."""
    try:
        at.switch_page(page)
    except ValueError as error:
        assert "Could not find a navigation page" in str(error)
        return False
    at.run()
    assert not at.exception, at.exception
    return True


def test_the_navigation_lists_only_what_the_role_can_use(roles_file, app_studio):
    viewer = app({"is_logged_in": True, "email": "vera@example.com"})
    assert any("Signed in as **vera@example.com** · viewer" in c for c in shown(viewer.sidebar.caption))
    assert in_navigation(viewer, "pages/gallery.py") and viewer.title[0].value == "Gallery"
    assert in_navigation(viewer, "pages/compare.py")
    for page in ("pages/compose.py", "pages/brief.py", "pages/brand_kits.py", "pages/settings.py"):
        assert not in_navigation(viewer, page), page

    designer = app({"is_logged_in": True, "email": "dan@elsewhere.example", "groups": ["design"]})
    assert any("· designer" in c for c in shown(designer.sidebar.caption))
    for page, title in (("pages/compose.py", "Compose a poster"), ("pages/brand_kits.py", "Brand kits")):
        assert in_navigation(designer, page) and designer.title[0].value == title


def test_the_review_form_offers_what_the_role_may_give(roles_file, app_studio):
    poster_id, _ = add_poster(app_studio.db, app_studio.store, seed=1)

    viewer = app({"is_logged_in": True, "email": "vera@example.com"})
    open_detail(viewer, poster_id)
    assert any("a viewer: you can read the reviews but not add one" in i.value for i in viewer.info)
    assert not [f for f in viewer.get("form")]  # no review form at all
    assert not any(b.key in ("btn_rerun_exact", "detail_delete") for b in viewer.button)
    assert not [t for t in viewer.text_input if t.key == "detail_reviewer_input"]  # no typed names

    designer = app({"is_logged_in": True, "email": "dan@elsewhere.example", "groups": ["design"]})
    open_detail(designer, poster_id)
    assert designer.radio(key=f"detail_verdict_{poster_id}").options == ["Needs changes", "Reject"]
    assert any("Approving needs the approver role" in c.value for c in designer.caption)

    ann = app({"is_logged_in": True, "email": "Ann@Example.com", "name": "Ann"})
    open_detail(ann, poster_id)
    assert any("Reviewing as **ann@example.com** (signed in, approver)" in c for c in shown(ann.caption))
    review(ann, poster_id, 5, "approve")
    assert any("Review saved: ★★★★★ · Approve." in s.value for s in ann.success)
    assert any("**ann@example.com** ✓ · ★★★★★" in m for m in shown(ann.markdown))
    with app_studio.db.reader() as session:
        assert session.execute(select(Review.reviewer, Review.reviewer_verified)).all() == [("ann@example.com", True)]


def test_with_sign_in_configured_nobody_gets_in_without_signing_in(app_studio):
    at = app({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.text_input  # no name to type
    assert not in_navigation(at, "pages/gallery.py")


@pytest.fixture
def closed_roles_file(tmp_path, monkeypatch):
    """Only Ada has a role; nobody else gets in. (Set before the studio reads its settings.)"""
    path = tmp_path / "closed_roles.toml"
    path.write_text('[roles]\ndefault = "none"\nadmin = ["ada@example.com"]\n')
    monkeypatch.setenv("STUDIO_ROLES_FILE", str(path))
    return path


def test_an_account_the_roles_config_leaves_out_is_told_so(closed_roles_file, app_studio):
    at = app({"is_logged_in": True, "email": "eve@example.com"})
    assert any("gives this account no role" in w.value for w in at.warning)
    assert not in_navigation(at, "pages/gallery.py")
