"""Review rows: add (never update), read, and summarise for the gallery.

Every review is its own row. A reviewer's *standing* review of a poster is their newest row
(the highest id: rows are only ever appended), so a reviewer who changes their mind counts
once in the averages and verdict counts, while the full history stays readable. A reviewer is
a name *and* whether it was signed in: a typed "ann@example.com" never stands for the account.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Poster, Review


class PosterGone(ValueError):
    """The poster was deleted before the review was saved."""


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    poster_id: int
    reviewer: str
    rating: int
    verdict: str
    comment: str
    created_at: datetime
    verified: bool = False  # signed in (reviewer is the e-mail address) or a typed name

    @property
    def who(self) -> tuple[str, bool]:
        return (self.reviewer, self.verified)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "reviewer": self.reviewer,
            "reviewer_verified": self.verified,
            "rating": self.rating,
            "verdict": self.verdict,
            "comment": self.comment,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ReviewSummary:
    reviews: int = 0  # every row, history included
    average_rating: float | None = None  # over standing reviews
    verdicts: dict[str, int] = field(default_factory=dict)  # standing verdict -> count
    latest_comment: str = ""
    latest_comment_by: str = ""
    reviewers: tuple[str, ...] = ()


def standing_review_ids():
    """The newest review id per (poster, reviewer): a subquery for filters."""
    return select(func.max(Review.id)).group_by(Review.poster_id, Review.reviewer, Review.reviewer_verified)


def add_review(db: Database, review) -> int:
    """Store one review (a validated core.services.reviews.ReviewInput). One short INSERT in a
    BEGIN IMMEDIATE transaction, so two reviewers saving at once both land, in turn."""
    with db.session() as session:
        if session.get(Poster, review.poster_id) is None:
            raise PosterGone(f"Poster {review.poster_id} was deleted; the review was not saved.")
        row = Review(
            poster_id=review.poster_id,
            reviewer=review.reviewer,
            rating=review.rating,
            verdict=review.verdict,
            comment=review.comment,
            reviewer_verified=review.verified,
            session_id=review.session_id or None,
        )
        session.add(row)
        session.flush()
        return row.id


def _record(row: Review) -> ReviewRecord:
    return ReviewRecord(
        row.id, row.poster_id, row.reviewer, row.rating, row.verdict, row.comment, row.created_at, row.reviewer_verified
    )


def reviews_for(db: Database, poster_ids: list[int]) -> dict[int, list[ReviewRecord]]:
    """Every review of these posters, newest first."""
    result: dict[int, list[ReviewRecord]] = {pid: [] for pid in poster_ids}
    if not poster_ids:
        return result
    with db.reader() as session:
        rows = session.scalars(
            select(Review).where(Review.poster_id.in_(poster_ids)).order_by(Review.id.desc())
        ).all()
        for row in rows:
            result[row.poster_id].append(_record(row))
    return result


def summarize(reviews: list[ReviewRecord]) -> ReviewSummary:
    """Summary of one poster's reviews (given newest first)."""
    if not reviews:
        return ReviewSummary()
    standing: dict[tuple[str, bool], ReviewRecord] = {}
    for review in reviews:  # newest first: the first row seen per reviewer is their standing one
        standing.setdefault(review.who, review)
    ratings = [r.rating for r in standing.values()]
    latest = next((r for r in reviews if r.comment), None)
    return ReviewSummary(
        reviews=len(reviews),
        average_rating=sum(ratings) / len(ratings),
        verdicts=dict(Counter(r.verdict for r in standing.values())),
        latest_comment=latest.comment if latest else "",
        latest_comment_by=latest.reviewer if latest else "",
        reviewers=tuple(sorted({name for name, _verified in standing})),
    )


def summaries(db: Database, poster_ids: list[int]) -> dict[int, ReviewSummary]:
    return {pid: summarize(rows) for pid, rows in reviews_for(db, poster_ids).items()}


def reviewer_names(db: Database) -> list[str]:
    with db.reader() as session:
        return list(session.scalars(select(Review.reviewer).distinct().order_by(Review.reviewer)).all())


@dataclass(frozen=True)
class NameInUse:
    """Reviews signed with a typed name from other browsers than the one asking."""

    reviews: int
    latest: datetime


def typed_name_used_elsewhere(db: Database, name: str, session_id: str, days: int) -> NameInUse | None:
    """Reviews under this typed (unverified) name in the last `days` days from any other
    browser, or from before browsers were recorded; None when there are none."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    with db.reader() as session:
        count, latest = session.execute(
            select(func.count(Review.id), func.max(Review.created_at)).where(
                Review.reviewer == name,
                Review.reviewer_verified.is_(False),
                Review.created_at >= since,
                (Review.session_id.is_(None)) | (Review.session_id != session_id),
            )
        ).one()
    return NameInUse(count, latest) if count else None
