"""The OCR text check wired into the job worker, on demo models."""

import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from core.services.compose import ComposeError, ComposeRequest, prepare, submit
from core.services.textcheck import backfill, next_best_of_seed, recheck_poster
from core.states import JobStatus
from core.prompt.builder import ProductFields
from storage import jobs as job_rows
from storage import textchecks
from storage.gallery import get_poster
from storage.models import Job, Poster
from storage.textchecks import BestOfSet, set_job_ids
from tests.helpers import wait_for_jobs, TEST_ACTOR
from tests.text_doubles import RenderedPosterStandIn


def queue(studio, best_of_max=None, variants=1, seed=1):
    product = ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now", show_name=False)
    request = ComposeRequest(product=product, draft_size=True, steps=2, seed=seed, variants=variants, best_of_max=best_of_max)
    recipe = prepare(request, studio.tokenizer)
    submission = submit(studio.queue, request, recipe, studio.models.image_model_id, True, actor=TEST_ACTOR)
    studio.runner.wake()
    return submission


def wait_for_checks(studio, group, timeout=900):
    """Wait until every job of the set has finished and every poster has its check. A
    best-of-N follow-up is written in the check's own transaction, so a set seen in this
    state cannot grow any more. The timeout is only a bound: a demo job takes seconds on an
    idle 2-core box and minutes on a busy one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Checks first, then the set: a check read here as stored brings its follow-up job
        # into the set read after it.
        with studio.db.reader() as s:
            checks = s.scalars(select(Poster.text_check).join(Job).where(Job.variant_group == group)).all()
        ids = set_job_ids(studio.db, group)
        states = job_rows.job_states(studio.db, ids)
        posters = [state for state in states if state.poster_id is not None]
        if all(state.status.finished for state in states) and len(checks) == len(posters):
            if all(check is not None for check in checks):
                return states
        time.sleep(0.2)
    raise AssertionError(f"the set's jobs and checks did not finish in {timeout} s: {job_rows.job_states(studio.db, ids)}")


def test_noise_poster_gets_a_stored_check_with_every_string_missing(studio):
    submission = queue(studio)
    (state,) = wait_for_checks(studio, submission.variant_group)
    detail = get_poster(studio.db, state.poster_id)
    check = detail.text_check
    assert check is not None and check["error"] is None
    assert [(s["expected"], s["status"]) for s in check["strings"]] == [
        ("SUMMER SALE", "missing"), ("$19.99", "missing"), ("Shop now", "missing")
    ]
    with studio.db.session() as s:
        assert s.get(Poster, state.poster_id).text_score == 0.0


def test_recheck_replaces_the_result_and_records_the_replacement(studio):
    submission = queue(studio)
    (state,) = wait_for_checks(studio, submission.variant_group)
    recheck_poster(studio.db, studio.store, state.poster_id)
    check = get_poster(studio.db, state.poster_id).text_check
    assert len(check["history"]) == 1 and check["history"][0]["score"] == 0.0


def test_backfill_checks_posters_made_before_the_feature(studio):
    studio.runner.after_poster = None  # as before the text check existed
    submission = queue(studio)
    (state,) = wait_for_jobs(studio.db, submission.job_ids)
    assert get_poster(studio.db, state.poster_id).text_check is None
    assert backfill(studio.db, studio.store) == 1
    assert get_poster(studio.db, state.poster_id).text_check["total"] == 3
    assert backfill(studio.db, studio.store) == 0


def test_best_of_n_stops_at_the_first_fully_correct_poster(studio):
    studio.runner.image_hook = RenderedPosterStandIn(perfect_from=2)
    submission = queue(studio, best_of_max=5, seed=40)
    states = wait_for_checks(studio, submission.variant_group)
    assert [s.seed for s in states] == [40, 41]  # stopped after the second, well before 5
    scores = [get_poster(studio.db, s.poster_id).text_score for s in states]
    assert scores[0] == 0.0 and scores[1] == 1.0


def test_best_of_n_stops_at_its_maximum(studio):
    submission = queue(studio, best_of_max=3, seed=7)
    states = wait_for_checks(studio, submission.variant_group)
    assert [s.seed for s in states] == [7, 8, 9]


def test_best_of_n_without_text_is_refused(studio):
    request = ComposeRequest(product=ProductFields(name="Aurora", show_name=False, description="x"), best_of_max=3)
    recipe = prepare(request, studio.tokenizer)
    with pytest.raises(ComposeError, match="needs text to check"):
        submit(studio.queue, request, recipe, studio.models.image_model_id, True, actor=TEST_ACTOR)


def test_best_of_n_policy_stops_on_a_perfect_poster_a_queued_job_or_the_maximum():
    unfinished = BestOfSet(best_of_max=3, size=2, still_queued=False, any_perfect=False, last_seed=2**31 - 1,
                           last_variant_index=1)
    assert next_best_of_seed(unfinished) == 0  # the seed wraps like every other seed
    assert next_best_of_seed(replace(unfinished, any_perfect=True)) is None
    assert next_best_of_seed(replace(unfinished, still_queued=True)) is None
    assert next_best_of_seed(replace(unfinished, size=3)) is None


def test_a_check_and_its_follow_up_job_are_written_in_one_transaction(studio_env):
    from core.settings import load_settings
    from storage.db import open_database
    from storage.files import ImageStore
    from tests.gallery_helpers import add_poster

    settings = load_settings(studio_env)
    db = open_database(settings.database_url)
    try:
        poster_id, job_id = add_poster(db, ImageStore(settings.storage_url), seed=7, group="set-a")
        with db.session() as s:
            s.get(Job, job_id).best_of_max = 3
        result = {"score": 0.0, "strings": [], "engine": "test", "error": None}

        def broken_policy(best_of):
            raise RuntimeError("policy failed")

        with pytest.raises(RuntimeError):
            textchecks.record_text_check(db, poster_id, result, 0.0, follow_up=broken_policy)
        # nothing half-written: neither the check nor a follow-up
        assert get_poster(db, poster_id).text_check is None and set_job_ids(db, "set-a") == [job_id]

        follow_up = textchecks.record_text_check(db, poster_id, result, 0.0, follow_up=next_best_of_seed)
        assert get_poster(db, poster_id).text_check["score"] == 0.0
        assert set_job_ids(db, "set-a") == [job_id, follow_up]
        (state,) = job_rows.job_states(db, [follow_up])
        assert state.status == JobStatus.QUEUED and state.seed == 8 and state.variant_index == 1
    finally:
        db.dispose()
