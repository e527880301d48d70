"""Text fidelity of finished posters: run the OCR check, store it, decide best-of-N.

The OCR itself lives in core/text/ (check.py is the entry point); this module connects it to stored posters. It
runs in the job worker right after a poster is saved, and again on demand (a re-check
button, the backfill command). A failed check never fails the poster: check_text reports
OCR errors inside its result, which is stored like any other.
"""

from __future__ import annotations

import argparse
import io
import logging
from dataclasses import dataclass

from PIL import Image

from core.queue.base import JobQueue
from core.text.check import check_text
from core.text.overlay import OverlayLegend, draw_check_overlay, overlay_legend
from core.text.result import ExpectedString, TextCheckResult
from storage import textchecks
from storage.db import Database
from storage.files import ImageStore, open_image_store
from storage.textchecks import BestOfSet

logger = logging.getLogger(__name__)


# Stored rows keep expected strings as [{"role": ..., "text": ...}]; these two
# functions are the only place that converts between that and ExpectedString.
def expected_strings(exact_strings: list[dict]) -> list[ExpectedString]:
    return [ExpectedString(role=item["role"], text=item["text"]) for item in exact_strings]


def stored_strings(strings: list[ExpectedString]) -> list[dict]:
    return [{"role": s.role, "text": s.text} for s in strings]


def next_best_of_seed(best_of: BestOfSet) -> int | None:
    """Best-of-N: draw the next seed until a poster of the set has all its text right or
    the set reached its maximum. While a job of the set is still queued, that job's check
    decides instead."""
    if best_of.any_perfect or best_of.still_queued or best_of.size >= best_of.best_of_max:
        return None
    return (best_of.last_seed + 1) % (2**31)


def check_and_record(
    db: Database, poster_id: int, image: Image.Image, exact_strings: list[dict], follow_up: bool = False
) -> tuple[TextCheckResult, int | None]:
    """Check a poster and store the result. With `follow_up`, a best-of-N set's next job is
    queued in the same transaction when the set is not finished. Returns the result and the
    follow-up job's id (None when none was queued)."""
    result = check_text(image, expected_strings(exact_strings))
    # With nothing to check the score is meaningless for ranking; store None, keep the result.
    score = result.score if result.total else None
    follow_up_id = textchecks.record_text_check(
        db, poster_id, result.to_json(), score, follow_up=next_best_of_seed if follow_up else None
    )
    return result, follow_up_id


def recheck_poster(db: Database, store: ImageStore, poster_id: int) -> TextCheckResult:
    """Run the check again on a stored poster (also for posters made before the check)."""
    target = textchecks.poster_to_check(db, poster_id)
    if target is None:
        raise ValueError(f"Poster {poster_id} does not exist.")
    with Image.open(io.BytesIO(store.read_bytes(target.path))) as image:
        result, _ = check_and_record(db, poster_id, image.convert("RGB"), target.exact_strings)
        return result


@dataclass(frozen=True)
class CheckOverlay:
    image: Image.Image  # the poster with the check's boxes drawn over it
    legend: OverlayLegend  # the strings behind each colour


def check_overlay(store: ImageStore, path: str, text_check: dict) -> CheckOverlay:
    """The stored poster with its stored check drawn over it: the boxes read (exact
    green, near orange) and, for each missing string, the regions searched (grey)."""
    result = TextCheckResult.from_json(text_check)
    with Image.open(io.BytesIO(store.read_bytes(path))) as image:
        drawn = draw_check_overlay(image, result, show_searched=True)
    return CheckOverlay(image=drawn, legend=overlay_legend(result))


def backfill(db: Database, store: ImageStore, on_progress=None) -> int:
    """Check every poster that has no text check yet. Returns how many were checked."""
    ids = textchecks.unchecked_poster_ids(db)
    for index, poster_id in enumerate(ids, start=1):
        recheck_poster(db, store, poster_id)
        if on_progress is not None:
            on_progress(index, len(ids))
    return len(ids)


def make_after_poster_hook(db: Database, queue: JobQueue):
    """The job runner's `after_poster` hook: check the new poster, and let a best-of-N set
    queue its next seed (in the same transaction) when no poster of it is fully correct yet."""

    def after_poster(poster_id, image, claimed) -> None:
        _, follow_up = check_and_record(db, poster_id, image, claimed.recipe.exact_strings, follow_up=True)
        if follow_up is not None:
            logger.info("best-of-N: job %s queued after job %s", follow_up, claimed.id)
            queue.notify([follow_up])

    return after_poster


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the OCR text check on posters that have none yet.")
    parser.parse_args()
    from core.settings import load_settings
    from storage.db import open_database

    settings = load_settings()
    db = open_database(settings.database_url)
    count = backfill(db, open_image_store(settings.storage_url), on_progress=lambda i, n: print(f"checked {i}/{n}"))
    print(f"{count} poster(s) checked")


if __name__ == "__main__":
    main()
