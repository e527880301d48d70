"""Team review: who reviews, the review rows, the gallery's summaries, filters and shortlist."""

import threading

import pytest
from sqlalchemy import func, select

from core.services.reviews import ReviewError, validate_review
from storage.db import Database
from storage.models import Review
from storage.reviews import add_review as store_review
from tests.gallery_helpers import add_poster, new_app, open_detail


@pytest.fixture
def studio_env(studio_env, database_url, monkeypatch):
    """The studio of each test here keeps its history on SQLite, then on PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return {**studio_env, "DATABASE_URL": database_url}


def sign_in_and_review(at, poster_id: int, name: str | None, rating: int, verdict: str, comment: str) -> None:
    open_detail(at, poster_id)
    if name is not None:
        at.text_input(key="detail_reviewer_input").set_value(name)
        at.button(key="detail_reviewer_ok").click().run()
    at.radio(key=f"detail_rating_{poster_id}").set_value(rating)
    at.radio(key=f"detail_verdict_{poster_id}").set_value(verdict)
    at.text_area(key=f"detail_comment_{poster_id}").set_value(comment)
    at.button(key=f"FormSubmitter:detail_form_{poster_id}-Save review").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def match_count(at) -> int:
    caption = next(c.value for c in at.caption if " match · page" in c.value)
    return int(caption.split(" ")[0])


def test_two_reviewers_are_both_shown_and_the_filters_work(app_studio):
    db, store = app_studio.db, app_studio.store
    p1, _ = add_poster(db, store, seed=1)
    p2, _ = add_poster(db, store, seed=2)
    p3, _ = add_poster(db, store, seed=3)

    ann, bob = new_app(), new_app()  # two browser sessions
    sign_in_and_review(ann, p1, "Ann", 5, "approve", "Love the colours")
    assert any("Reviewing as **Ann** (unverified" in c.value for c in ann.caption)
    sign_in_and_review(bob, p1, "Bob", 3, "changes", "Make the price bigger")
    sign_in_and_review(bob, p2, None, 4, "approve", "")  # the name is remembered for the session

    open_detail(ann, p1)
    history = [m.value for m in ann.markdown]
    assert any("**Ann** (unverified) · ★★★★★" in m and "Approve" in m for m in history)
    assert any("**Bob** (unverified) · ★★★☆☆" in m and "Needs changes" in m for m in history)
    assert [t.value for t in ann.text] == ["Make the price bigger", "Love the colours"]  # newest first
    summary = next(m.value for m in ann.markdown if m.value.startswith("★ "))
    assert "★ 4.0 (2 reviewers)" in summary and "Approve 1" in summary and "Needs changes 1" in summary
    assert "“Make the price bigger” — Bob" in summary

    ann.query_params.clear()
    ann.run()
    assert match_count(ann) == 3
    ann.selectbox(key="gallery_verdict").set_value("approve").run()
    assert match_count(ann) == 2
    ann.selectbox(key="gallery_verdict").set_value("changes").run()
    assert match_count(ann) == 1
    ann.selectbox(key="gallery_verdict").set_value(None).run()
    ann.selectbox(key="gallery_min_rating").set_value(4).run()
    assert match_count(ann) == 2  # p1 averages 4.0, p2 has 4
    ann.selectbox(key="gallery_min_rating").set_value(5).run()
    assert match_count(ann) == 0
    ann.selectbox(key="gallery_min_rating").set_value(0).run()
    ann.selectbox(key="gallery_reviewer").set_value("Bob").run()
    assert match_count(ann) == 2
    ann.selectbox(key="gallery_reviewer").set_value(None).run()
    ann.checkbox(key="gallery_not_mine").check().run()
    assert match_count(ann) == 2  # p2 and p3: Ann reviewed only p1
    assert not any(b.key == f"open_{p1}" for b in ann.button)
    ann.checkbox(key="gallery_not_mine").uncheck().run()

    # Shortlist: p2 only, since Bob's standing verdict on p1 is "needs changes" ...
    ann.radio(key="gallery_view").set_value("shortlist").run()
    assert match_count(ann) == 1 and any(b.key == f"open_{p2}" for b in ann.button)
    # ... until Bob changes his mind: a new row, the old one kept.
    sign_in_and_review(bob, p1, None, 4, "approve", "Fixed, thanks")
    ann.query_params.clear()
    ann.run()
    assert match_count(ann) == 2
    with db.session() as s:
        assert s.scalar(select(func.count(Review.id)).where(Review.poster_id == p1)) == 3


def test_a_review_without_rating_or_name_is_refused_and_nothing_is_stored(app_studio):
    p1, _ = add_poster(app_studio.db, app_studio.store, seed=1)
    at = new_app()
    open_detail(at, p1)
    assert at.button(key=f"FormSubmitter:detail_form_{p1}-Save review").disabled  # no name yet
    at.button(key="detail_reviewer_ok").click().run()
    assert any("Type your name first" in e.value for e in at.error)

    at.text_input(key="detail_reviewer_input").set_value("Ann")
    at.button(key="detail_reviewer_ok").click().run()
    at.radio(key=f"detail_verdict_{p1}").set_value("approve")
    at.button(key=f"FormSubmitter:detail_form_{p1}-Save review").click().run()
    assert any("Pick a rating from 1 to 5" in e.value for e in at.error)
    with app_studio.db.session() as s:
        assert s.scalar(select(func.count(Review.id))) == 0


def test_validate_review_messages():
    assert validate_review(1, "  Ann  ", 4, "reject", " meh ").reviewer == "Ann"
    with pytest.raises(ReviewError, match="Pick a verdict"):
        validate_review(1, "Ann", 4, "maybe", "")
    with pytest.raises(ReviewError, match="from 1 to 5, not 6"):
        validate_review(1, "Ann", 6, "approve", "")
    with pytest.raises(ReviewError, match="Enter your name"):
        validate_review(1, " ", 3, "approve", "")


def test_two_reviewers_saving_at_the_same_moment_both_land(studio):
    """Two servers (two engines on one SQLite file), each saving reviews in a tight loop,
    started together: every review lands, none overwrites another."""
    poster_id, _ = add_poster(studio.db, studio.store, seed=1)
    engines = [Database(studio.db.url), Database(studio.db.url)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def reviewer(db: Database, name: str) -> None:
        try:
            barrier.wait()
            for i in range(25):
                store_review(db, validate_review(poster_id, name, 1 + i % 5, "approve", f"{name} {i}"))
        except BaseException as error:  # surfaced below: a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=reviewer, args=(db, name)) for db, name in zip(engines, ("Ann", "Bob"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in engines:
        db.dispose()
    assert not errors, errors
    with studio.db.session() as s:
        rows = s.execute(select(Review.reviewer, Review.comment)).all()
    assert len(rows) == 50
    assert {c for r, c in rows if r == "Ann"} == {f"Ann {i}" for i in range(25)}
    assert {c for r, c in rows if r == "Bob"} == {f"Bob {i}" for i in range(25)}


def test_a_signed_in_user_acts_as_their_e_mail_address_with_the_role_the_config_gives(monkeypatch, tmp_path):
    import streamlit as st

    from core.settings import load_settings
    from pages.ui import identity

    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\ndefault = "viewer"\napprover = ["carol@example.com"]\n')
    settings = load_settings({"STUDIO_ROLES_FILE": str(roles), "STUDIO_DEVICE": "cpu"})

    monkeypatch.setattr(st, "user", {"is_logged_in": True, "name": "Carol Chen", "email": "Carol@Example.com"})
    carol = identity.current_actor(settings)
    assert (carol.name, carol.role, carol.verified) == ("carol@example.com", "approver", True)
    monkeypatch.setattr(st, "user", {"is_logged_in": True, "email": "dan@example.com"})
    assert identity.current_actor(settings).role == "viewer"  # not listed: the default
    monkeypatch.setattr(st, "user", {"is_logged_in": False})
    assert identity.current_actor(settings) is None  # sign-in on, nobody signed in
    monkeypatch.setattr(st, "user", {})  # no [auth] configured: a typed name, unverified, any right
    anyone = identity.current_actor(settings)
    assert (anyone.verified, anyone.role) == (False, "admin")
