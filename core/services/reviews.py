"""Team review: what a review is, and checking one before it is stored.

A review is one reviewer's rating (1-5), verdict and comment on one poster. Reviews are
only ever added; a reviewer who changes their mind adds a new one, and their newest review
is their standing verdict (see storage/reviews.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.prompt.builder import clean_text
from storage.reviews import (
    PosterGone,
    ReviewRecord,
    ReviewSummary,
    add_review,
    reviewer_names,
    reviews_for,
    summaries,
    summarize,
)

__all__ = [
    "MAX_COMMENT",
    "MAX_REVIEWER",
    "VERDICTS",
    "VERDICT_ICONS",
    "PosterGone",
    "ReviewError",
    "ReviewInput",
    "ReviewRecord",
    "ReviewSummary",
    "clean_reviewer",
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


class ReviewError(ValueError):
    """A review the user must fix before it is saved; the message says how."""


@dataclass(frozen=True)
class ReviewInput:
    poster_id: int
    reviewer: str
    rating: int
    verdict: str
    comment: str = ""


def clean_reviewer(name: str | None) -> str:
    return clean_text(name or "")[:MAX_REVIEWER]


def validate_review(poster_id: int, reviewer: str | None, rating, verdict: str | None, comment: str | None) -> ReviewInput:
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
    return ReviewInput(poster_id=poster_id, reviewer=reviewer, rating=rating, verdict=verdict, comment=comment)



def save_review(db, poster_id: int, reviewer: str | None, rating, verdict: str | None, comment: str | None) -> ReviewInput:
    """Check a review, then add it. Raises ReviewError (the user must fix it) or PosterGone
    (the poster was deleted meanwhile); nothing is stored then."""
    review = validate_review(poster_id, reviewer, rating, verdict, comment)
    add_review(db, review)
    return review
