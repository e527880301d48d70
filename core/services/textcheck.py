"""Text fidelity of finished posters: run the OCR check, store it, drive best-of-N.

The OCR itself lives in core/text/ (check.py is the entry point); this module connects it to stored posters. It
runs in the job worker right after a poster is saved, and again on demand (a re-check
button, the backfill command). A failed check never fails the poster: check_text reports
OCR errors inside its result, which is stored like any other.
"""

from __future__ import annotations

import argparse
import logging

from PIL import Image

from core.text.check import check_text
from core.text.overlay import draw_check_overlay
from core.text.result import ExpectedString, TextCheckResult
from storage import textchecks
from storage.db import Database
from storage.files import ImageStore

logger = logging.getLogger(__name__)


# Stored rows keep expected strings as [{"role": ..., "text": ...}]; these two
# functions are the only place that converts between that and ExpectedString.
def expected_strings(exact_strings: list[dict]) -> list[ExpectedString]:
    return [ExpectedString(role=item["role"], text=item["text"]) for item in exact_strings]


def stored_strings(strings: list[ExpectedString]) -> list[dict]:
    return [{"role": s.role, "text": s.text} for s in strings]


def check_and_record(db: Database, poster_id: int, image: Image.Image, exact_strings: list[dict]) -> TextCheckResult:
    result = check_text(image, expected_strings(exact_strings))
    # With nothing to check the score is meaningless for ranking; store None, keep the result.
    score = result.score if result.total else None
    textchecks.record_text_check(db, poster_id, result.to_json(), score)
    return result


def recheck_poster(db: Database, store: ImageStore, poster_id: int) -> TextCheckResult:
    """Run the check again on a stored poster (also for posters made before the check)."""
    target = textchecks.poster_to_check(db, poster_id)
    if target is None:
        raise ValueError(f"Poster {poster_id} does not exist.")
    with Image.open(store.absolute(target.path)) as image:
        return check_and_record(db, poster_id, image.convert("RGB"), target.exact_strings)


def check_overlay(store: ImageStore, path: str, text_check: dict) -> Image.Image:
    """The stored poster with the boxes its stored check read drawn over it
    (exact green, near orange)."""
    with Image.open(store.absolute(path)) as image:
        return draw_check_overlay(image, TextCheckResult.from_json(text_check))


def backfill(db: Database, store: ImageStore, on_progress=None) -> int:
    """Check every poster that has no text check yet. Returns how many were checked."""
    ids = textchecks.unchecked_poster_ids(db)
    for index, poster_id in enumerate(ids, start=1):
        recheck_poster(db, store, poster_id)
        if on_progress is not None:
            on_progress(index, len(ids))
    return len(ids)


def make_after_poster_hook(db: Database, wake_worker=None):
    """The job runner's `after_poster` hook: check the new poster, then let a best-of-N
    set queue its next seed when no poster of the set is fully correct yet."""

    def after_poster(poster_id, image, claimed) -> None:
        check_and_record(db, poster_id, image, claimed.exact_strings)
        follow_up = textchecks.enqueue_best_of_follow_up(db, claimed.id)
        if follow_up is not None:
            logger.info("best-of-N: job %s queued after job %s", follow_up, claimed.id)
            if wake_worker is not None:
                wake_worker()

    return after_poster


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the OCR text check on posters that have none yet.")
    parser.parse_args()
    from core.settings import load_settings
    from storage.db import open_database

    settings = load_settings()
    db = open_database(settings.database_url)
    count = backfill(db, ImageStore(settings.images_dir), on_progress=lambda i, n: print(f"checked {i}/{n}"))
    print(f"{count} poster(s) checked")


if __name__ == "__main__":
    main()
