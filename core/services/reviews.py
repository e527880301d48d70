"""Team review: what a review is, and checking one before it is stored.

A review is one reviewer's rating (1-5), verdict and comment on one poster. Reviews are
only ever added; a reviewer who changes their mind adds a new one, and their newest review
is their standing verdict (see storage/reviews.py).

Who reviews is the acting `Actor` (core/access.py): the signed-in e-mail address, or a typed
name marked unverified. Reviewing needs the designer role, the "approve" verdict the approver
role; `save_review` checks both, whatever the page showed.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.access import Actor, Right, require
from core.prompt.builder import clean_text
from storage.reviews import (
    NameInUse,
    PosterGone,
    ReviewRecord,
    ReviewSummary,
    add_review,
    reviewer_names,
    reviews_for,
    summaries,
    summarize,
    typed_name_used_elsewhere,
)

__all__ = [
    "MAX_COMMENT",
    "MAX_REVIEWER",
    "NAME_CLASH_DAYS",
    "NameInUse",
    "VERDICTS",
    "VERDICT_ICONS",
    "PosterGone",
    "ReviewError",
    "ReviewInput",
    "ReviewRecord",
    "ReviewSummary",
    "allowed_verdicts",
    "clean_reviewer",
    "name_used_elsewhere",
    "reviewer_names",
    "reviews_for",
    "save_review",
    "summaries",
    "summarize",
    "validate_review",
]

# Stored value -> what the UI says.
VERDICTS: dict[str, str] = {"approve": "Approve", "changes": "Needs changes", "reject": "Reject"}
VERDICT_ICONS: dict[str, str] = {"approve": "✅", "changes": "✏️", "reject": "⛔"}
MAX_COMMENT = 4000
MAX_REVIEWER = 120
# A typed name reviewed with from another browser within this many days is "in use": a new
# browser taking it is warned first (it would otherwise silently add to that reviewer's verdicts).
NAME_CLASH_DAYS = 30


class ReviewError(ValueError):
    """A review the user must fix before it is saved; the message says how."""


@dataclass(frozen=True)
class ReviewInput:
    poster_id: int
    reviewer: str
    rating: int
    verdict: str
    comment: str = ""
    verified: bool = False  # signed in; False: a typed name
    session_id: str = ""  # the browser a typed name came from


def clean_reviewer(name: str | None) -> str:
    return clean_text(name or "")[:MAX_REVIEWER]


def validate_review(
    poster_id: int,
    reviewer: str | None,
    rating,
    verdict: str | None,
    comment: str | None,
    verified: bool = False,
    session_id: str = "",
) -> ReviewInput:
    reviewer = clean_reviewer(reviewer)
    if not reviewer:
        raise ReviewError("Enter your name above first, so the team knows who reviewed.")
    if rating is None:
        raise ReviewError("Pick a rating from 1 to 5 stars.")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise ReviewError(f"The rating must be a whole number from 1 to 5, not {rating!r}.") from None
    if not 1 <= rating <= 5:
        raise ReviewError(f"The rating must be from 1 to 5, not {rating}.")
    if verdict not in VERDICTS:
        raise ReviewError("Pick a verdict: Approve, Needs changes or Reject.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ReviewError(f"The comment is {len(comment)} characters; keep it under {MAX_COMMENT}.")
    return ReviewInput(
        poster_id=poster_id, reviewer=reviewer, rating=rating, verdict=verdict, comment=comment,
        verified=verified, session_id=session_id,
    )


def allowed_verdicts(actor: Actor) -> dict[str, str]:
    """The verdicts this actor may give: none without the review right, no approve without
    the approver role."""
    if not actor.can(Right.REVIEW):
        return {}
    return {key: label for key, label in VERDICTS.items() if key != "approve" or actor.can(Right.APPROVE)}


def name_used_elsewhere(db, name: str, session_id: str) -> NameInUse | None:
    """Recent reviews under this typed name from another browser (see NAME_CLASH_DAYS)."""
    return typed_name_used_elsewhere(db, clean_reviewer(name), session_id, NAME_CLASH_DAYS)



def save_review(db, poster_id: int, actor: Actor, rating, verdict: str | None, comment: str | None) -> ReviewInput:
    """Check the actor's rights and the review, then add it, signed with the actor. Raises
    AccessDenied (the role lacks the right), ReviewError (the user must fix it) or PosterGone
    (the poster was deleted meanwhile); nothing is stored then."""
    require(actor, Right.REVIEW)
    if verdict == "approve":
        require(actor, Right.APPROVE)
    review = validate_review(poster_id, actor.name, rating, verdict, comment, actor.verified, actor.session_id)
    add_review(db, review)
    return review
