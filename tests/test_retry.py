"""Retry on a failed job's tile (issue 11, item 10): the same recipe and seed queued again,
with the failed job recorded as its parent."""

from __future__ import annotations

import os

import pytest

from core.queue.sql import SqlJobQueue
from core.services.reruns import RerunError, retry_job
from core.states import JobStatus
from pages.ui.markdown_text import plain
from storage import jobs as job_rows
from tests.gallery_helpers import new_app
from tests.helpers import small_recipe, TEST_ACTOR


@pytest.fixture
def no_worker(studio_env, monkeypatch):
    """The app with no worker of its own, so the failed job stays failed until retried and
    the retried one stays queued for the assertions."""
    monkeypatch.setenv("STUDIO_WORKER", "external")
    return studio_env


def _failed_job(db, model_id: str) -> int:
    _, (job_id,), _ = job_rows.enqueue(db, small_recipe(seed=77, steps=3, model_id=model_id), [77])
    claimed = job_rows.claim_next(db, "tests:0:retry")
    assert claimed.id == job_id
    job_rows.fail(db, job_id, "CUDA error: __init__ failed")
    return job_id


def test_a_failed_gallery_tile_retries_the_same_recipe_and_seed(no_worker, app_studio):
    job_id = _failed_job(app_studio.db, app_studio.models.image_model_id)
    at = new_app()
    at.switch_page("pages/gallery.py").run()
    at.selectbox(key="gallery_status").set_value(JobStatus.FAILED).run()
    assert not at.exception, at.exception
    # The error is shown as typed: escaped so Markdown does not turn __init__ into bold "init".
    assert any(plain("CUDA error: __init__ failed") in c.value for c in at.caption), [c.value for c in at.caption]
    at.button(key=f"retry_{job_id}").click().run()
    assert not at.exception, at.exception

    (new_id,) = [i for i in app_studio.queue.active_job_ids() if i != job_id]
    assert any(f"Queued again as job {new_id} (seed 77)" in s.value for s in at.success)
    recipe, status = job_rows.job_recipe(app_studio.db, new_id)
    old_recipe, _ = job_rows.job_recipe(app_studio.db, job_id)
    assert status == JobStatus.QUEUED
    assert recipe == old_recipe  # every field, seed 77 included
    assert _parent(app_studio.db, new_id) == job_id


def _variant_group(db, job_id: int) -> str:
    from storage.models import Job

    with db.reader() as session:
        return session.get(Job, job_id).variant_group


def _parent(db, job_id: int) -> int | None:
    from storage.models import Job

    with db.reader() as session:
        return session.get(Job, job_id).parent_job_id


def test_only_failed_or_cancelled_jobs_can_be_retried(no_worker, studio):
    _, (queued_id,), _ = job_rows.enqueue(studio.db, small_recipe(), [5])
    with pytest.raises(RerunError, match="is queued; only a failed or cancelled job can be retried"):
        retry_job(studio.db, SqlJobQueue(studio.db), queued_id, "demo", True, actor=TEST_ACTOR)
    with pytest.raises(RerunError, match="no longer exists"):
        retry_job(studio.db, SqlJobQueue(studio.db), 9999, "demo", True, actor=TEST_ACTOR)


def test_a_failed_compose_tile_opens_its_set_in_the_gallery(no_worker, app_studio):
    """A failed variant has no poster to open; its tile links to its set in the gallery, where
    the error and the recipe are kept."""
    job_id = _failed_job(app_studio.db, app_studio.models.image_model_id)
    group = _variant_group(app_studio.db, job_id)
    at = new_app()
    at.switch_page("pages/compose.py")
    at.session_state["compose_group"] = group
    at.session_state["compose_batch"] = [job_id]
    at.run()
    assert not at.exception, at.exception
    links = [el for el in at.get("page_link") if el.value == "Open set in gallery"]
    assert len(links) == 1
    assert links[0].proto.query_string == f"set={group}"
    assert not [el for el in at.get("page_link") if el.value == "Open in gallery"]  # no poster to open

    at.switch_page("pages/gallery.py")
    at.query_params["set"] = group
    at.run()
    assert not at.exception, at.exception
    assert any(plain("CUDA error: __init__ failed") in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_running_tile_says_the_worker_process_is_loading_the_model(no_worker, app_studio):
    """The worker that claimed the job is another process (the default): the tile reads that
    worker's report, not the app's own idle runner, to say the model is still loading."""
    import socket

    from storage import workers as worker_rows

    _, (job_id,), group = job_rows.enqueue(app_studio.db, small_recipe(seed=3, steps=3), [3])
    worker_id = f"{socket.gethostname()}:{os.getpid()}:child"
    assert job_rows.claim_next(app_studio.db, worker_id).id == job_id
    worker_rows.report(app_studio.db, worker_id, socket.gethostname(), "", "cpu", "loading", job_id)
    at = new_app()
    at.switch_page("pages/compose.py")
    at.session_state["compose_group"] = group
    at.run()
    assert not at.exception, at.exception
    texts = [el.proto.text for el in at.get("progress")]
    assert texts == ["loading Qwen-Image (first job after a start)…"], texts

    worker_rows.report(app_studio.db, worker_id, socket.gethostname(), "", "cpu", "loaded", job_id)
    at.run()
    assert [el.proto.text for el in at.get("progress")] == ["step 0 of 3"]
