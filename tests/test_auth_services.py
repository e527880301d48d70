"""The services check the acting user's role whatever the page showed, and sign what they
store with who did it: on SQLite, then on PostgreSQL."""

import pytest
from sqlalchemy import func, select

from core.access import AccessDenied, Actor, unverified_actor
from core.prompt.brand import validate_kit
from core.services import brand_kits
from core.services.audit import recent_events
from core.services.export import ExportOptions, export_poster, zip_posters
from core.services.gallery import delete, get_poster
from core.services.reruns import rerun_exact
from core.services.reviews import ReviewError, name_used_elsewhere, reviews_for, save_review, summarize
from storage.models import Job, Review
from tests.gallery_helpers import add_poster

VERA = Actor("vera@example.com", "viewer", verified=True, session_id="vera-browser")
DIANA = Actor("diana@example.com", "designer", verified=True, session_id="diana-browser")
ANN = Actor("ann@example.com", "approver", verified=True, session_id="ann-browser")
ADA = Actor("ada@example.com", "admin", verified=True, session_id="ada-browser")


@pytest.fixture
def studio_env(studio_env, database_url, monkeypatch):
    """History on SQLite, then PostgreSQL; no worker, so queued reruns stay rows to count."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("STUDIO_WORKER", "external")
    return {**studio_env, "DATABASE_URL": database_url, "STUDIO_WORKER": "external"}


def _count(db, model) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(model.id)))


def test_only_approvers_approve_and_reviews_carry_the_signed_in_address(studio):
    db = studio.db
    poster_id, _ = add_poster(db, studio.store, seed=1)

    with pytest.raises(AccessDenied, match="vera@example.com .* is a viewer; to review posters you need the designer role"):
        save_review(db, poster_id, VERA, 5, "changes", "")
    with pytest.raises(AccessDenied, match="viewer; to review posters you need the designer role"):
        save_review(db, poster_id, VERA, 5, "approve", "")
    with pytest.raises(AccessDenied, match="diana@example.com .* is a designer; to approve posters you need the approver role"):
        save_review(db, poster_id, DIANA, 5, "approve", "Looks done")
    assert _count(db, Review) == 0  # nothing stored for a refusal

    save_review(db, poster_id, DIANA, 3, "changes", "Bigger price")
    save_review(db, poster_id, ANN, 5, "approve", "Ship it")
    reviews = reviews_for(db, [poster_id])[poster_id]
    assert [(r.reviewer, r.verified, r.verdict) for r in reviews] == [
        ("ann@example.com", True, "approve"),
        ("diana@example.com", True, "changes"),
    ]
    with db.reader() as session:
        assert session.scalars(select(Review.session_id).order_by(Review.id)).all() == ["diana-browser", "ann-browser"]


def test_a_typed_name_never_stands_for_the_signed_in_account(studio):
    """Someone typing "ann@example.com" without signing in adds their own review; Ann's
    signed-in approval stays her standing verdict."""
    db = studio.db
    poster_id, _ = add_poster(db, studio.store, seed=1)
    save_review(db, poster_id, ANN, 5, "approve", "")
    save_review(db, poster_id, unverified_actor("ann@example.com", "other-browser"), 1, "reject", "")
    summary = summarize(reviews_for(db, [poster_id])[poster_id])
    assert summary.verdicts == {"approve": 1, "reject": 1}  # two reviewers, not one who changed her mind


def test_a_typed_name_used_from_another_browser_is_reported(studio):
    db = studio.db
    poster_id, _ = add_poster(db, studio.store, seed=1)
    save_review(db, poster_id, unverified_actor("Ann", "browser-a"), 4, "approve", "")
    assert name_used_elsewhere(db, "Ann", "browser-a") is None  # the same browser: it is her
    other = name_used_elsewhere(db, " Ann ", "browser-b")
    assert other is not None and other.reviews == 1
    assert name_used_elsewhere(db, "Bob", "browser-b") is None
    save_review(db, poster_id, ADA, 4, "approve", "")
    assert name_used_elsewhere(db, "ada@example.com", "browser-b") is None  # only typed names clash
    with pytest.raises(ReviewError, match="Enter your name"):
        save_review(db, poster_id, unverified_actor("", "browser-b"), 4, "approve", "")


def test_viewers_cannot_rerun_designers_can_and_it_is_audited(studio):
    db = studio.db
    poster_id, _ = add_poster(db, studio.store, seed=7)
    jobs_before = _count(db, Job)
    with pytest.raises(AccessDenied, match="to brief, compose and rerun posters you need the designer role"):
        rerun_exact(db, studio.queue, poster_id, "demo", True, actor=VERA)
    assert _count(db, Job) == jobs_before and recent_events(db) == []

    result = rerun_exact(db, studio.queue, poster_id, "demo", True, actor=DIANA)
    assert _count(db, Job) == jobs_before + 1
    (event,) = recent_events(db)
    assert (event.actor, event.actor_verified, event.action, event.subject) == (
        "diana@example.com", True, "rerun_exact", f"poster {poster_id}"
    )
    assert event.detail["job_ids"] == result.job_ids


def test_exports_are_signed_by_whoever_downloads(studio):
    db = studio.db
    poster_id, _ = add_poster(db, studio.store, seed=3)
    export_poster(db, studio.store, poster_id, ExportOptions(format="jpeg"), actor=VERA)
    zip_posters(db, studio.store, [poster_id], "gallery all posters", actor=unverified_actor("Bob"))
    zipped, exported = recent_events(db)
    assert (exported.actor, exported.action, exported.detail["format"]) == ("vera@example.com", "export", "jpeg")
    assert (zipped.actor, zipped.actor_verified, zipped.detail["poster_ids"]) == ("Bob", False, [poster_id])


def test_only_admins_delete_posters(studio):
    db = studio.db
    poster_id, _ = add_poster(db, studio.store, seed=5)
    with pytest.raises(AccessDenied, match="to delete posters and brand kits you need the admin role"):
        delete(db, studio.store, poster_id, actor=ANN)
    assert get_poster(db, poster_id) is not None
    assert delete(db, studio.store, poster_id, actor=ADA)
    assert get_poster(db, poster_id) is None
    assert [(e.actor, e.action) for e in recent_events(db)] == [("ada@example.com", "delete_poster")]


def test_designers_edit_brand_kits_only_admins_delete_them(studio):
    db = studio.db
    spec = validate_kit("Aurora Audio", "Midnight #101828")
    with pytest.raises(AccessDenied, match="to edit brand kits you need the designer role"):
        brand_kits.create_kit(db, spec, actor=VERA)
    assert brand_kits.list_kits(db) == []
    kit_id = brand_kits.create_kit(db, spec, actor=DIANA)
    assert brand_kits.update_kit(db, kit_id, validate_kit("Aurora Audio", "Midnight #101828\nTeal #14B8A6"), actor=DIANA)
    with pytest.raises(AccessDenied, match="admin role"):
        brand_kits.delete_kit(db, kit_id, actor=DIANA)
    assert brand_kits.get_kit(db, kit_id) is not None
    assert brand_kits.delete_kit(db, kit_id, actor=ADA)
    assert [(e.actor, e.action) for e in reversed(recent_events(db))] == [
        ("diana@example.com", "kit_create"), ("diana@example.com", "kit_update"), ("ada@example.com", "kit_delete"),
    ]
