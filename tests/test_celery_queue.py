"""The Celery queue for real: Redis as the broker, `celery worker` processes on the demo
models, the jobs table as the record of truth (core/queue/celery_queue.py)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.queue.celery_app import DRAW_POSTER, make_celery_app
from core.queue.liveness import new_worker_id
from core.services.studio import Studio
from core.settings import load_settings
from core.services.briefs import brief_job_state, request_brief
from core.states import FINISHED_STATUSES, JobStatus
from storage import jobs as job_rows
from storage.db import open_database
from storage.models import Job, Poster, utcnow
from tests.celery_helpers import (
    CeleryWorker,
    OwnRedis,
    flush,
    machine_redis_url,
    wait_for_ready_workers,
    wait_until,
)
from pages.ui.shared import get_studio
from tests.helpers import small_recipe, wait_for_jobs
from tests.test_app_pages import fill_compose, new_app


def always_alive(_worker_id):
    return True


def never_alive(_worker_id):
    return False


# -- claim_job: what makes a redelivered task harmless (no broker needed) ----------------------


def test_a_task_delivered_twice_claims_its_job_once(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'studio.db'}")
    _prompt, (job_id,), _group = job_rows.enqueue(db, small_recipe(), [1])
    first = job_rows.claim_job(db, job_id, new_worker_id(), always_alive, max_attempts=3)
    second = job_rows.claim_job(db, job_id, new_worker_id(), always_alive, max_attempts=3)
    assert first is not None and first.id == job_id and first.recipe.seed == 1
    assert second is None  # running under a live worker: nothing to do
    (state,) = job_rows.job_states(db, [job_id])
    assert state.status == JobStatus.RUNNING and state.worker_id
    job_rows.fail(db, job_id, "stop")
    assert job_rows.claim_job(db, job_id, new_worker_id(), never_alive, max_attempts=3) is None  # finished


def test_a_job_whose_worker_died_is_claimed_again_until_its_attempts_run_out(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'studio.db'}")
    _prompt, (job_id,), _group = job_rows.enqueue(db, small_recipe(), [1])
    assert job_rows.claim_job(db, job_id, "gone:1:a", never_alive, max_attempts=2) is not None
    again = job_rows.claim_job(db, job_id, "gone:2:b", never_alive, max_attempts=2)
    assert again is not None  # the first worker is dead: the redelivered task takes it
    assert job_rows.claim_job(db, job_id, "gone:3:c", never_alive, max_attempts=2) is None
    (state,) = job_rows.job_states(db, [job_id])
    assert state.status == JobStatus.FAILED
    assert "stopped 2 times" in state.error and "retry it" in state.error


def test_a_live_worker_with_a_stale_heartbeat_loses_its_job(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'studio.db'}")
    _prompt, (job_id,), _group = job_rows.enqueue(db, small_recipe(), [1])
    assert job_rows.claim_job(db, job_id, "other-host:1:a", always_alive, max_attempts=3)
    with db.session() as session:
        session.get(Job, job_id).heartbeat_at = utcnow() - timedelta(minutes=30)
    assert job_rows.claim_job(db, job_id, "other-host:2:b", always_alive, max_attempts=3) is not None


# -- real workers ------------------------------------------------------------------------------


@pytest.fixture
def celery_env(studio_env, tmp_path, monkeypatch):
    url = machine_redis_url()
    env = {**studio_env, "STUDIO_QUEUE": "celery", "STUDIO_BROKER_URL": url, "STUDIO_TEXT_CHECK": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    flush(url)


def start_workers(env, tmp_path, names):
    return [CeleryWorker(env, name, tmp_path / f"{name}.log") for name in names]


def stop_all(workers):
    for worker in workers:
        worker.stop()


def test_two_workers_draw_eight_jobs_each_once_and_a_redelivered_task_draws_nothing(celery_env, tmp_path):
    studio = Studio(load_settings(celery_env))
    workers = start_workers(celery_env, tmp_path, ["gpu0", "gpu1"])
    try:
        wait_for_ready_workers(studio.db, 2)
        queued = [studio.queue.enqueue(small_recipe(steps=3, seed=s), [s, s + 100]) for s in range(4)]
        job_ids = [job_id for q in queued for job_id in q.job_ids]
        states = wait_for_jobs(studio.db, job_ids, timeout=300)
        assert [s.status for s in states] == [JobStatus.DONE] * 8, [s.error for s in states]
        # Both workers drew, each job once, and the worker is on the row.
        assert len({s.worker_id for s in states}) == 2
        with studio.db.reader() as session:
            assert session.scalar(select(func.count()).select_from(Poster)) == 8
            assert set(session.scalars(select(Job.attempts))) == {1}
            assert all(session.scalars(select(Job.dispatched_at)))

        # At-least-once delivery: the same tasks again draw nothing more.
        for job_id in job_ids[:3]:
            studio.queue.app.send_task(DRAW_POSTER, args=[job_id])
        (last,) = studio.queue.enqueue(small_recipe(steps=2, seed=77), [77]).job_ids
        wait_for_jobs(studio.db, [last], timeout=120)
        wait_until(lambda: all(w.model_state == "loaded" and w.current_job_id is None
                               for w in wait_for_ready_workers(studio.db, 2)), 60, "the workers to go idle")
        with studio.db.reader() as session:
            assert session.scalar(select(func.count()).select_from(Poster)) == 9

        # Briefs are tasks on the same GPU queue; the app here never loads the VL model.
        draft = Image.new("RGB", (320, 240), "#2a6f97")
        brief_jobs = [request_brief(studio, draft, f"draft-{i}.png", "en", "", max_new_tokens=8) for i in range(2)]
        briefs = wait_until(
            lambda: (lambda states: states if all(s.status in FINISHED_STATUSES for s in states) else None)(
                [brief_job_state(studio.db, b) for b in brief_jobs]
            ),
            240, "the two briefs",
        )
        assert [b.status for b in briefs] == [JobStatus.DONE] * 2, [b.error for b in briefs]
        assert len({b.brief_id for b in briefs}) == 2
        assert all("Loading" in " ".join(b.stages) for b in briefs), [b.stages for b in briefs]
    except Exception:
        print("\n".join(w.log_tail() for w in workers))
        raise
    finally:
        stop_all(workers)
        studio.close()


def test_a_worker_killed_mid_job_gets_its_task_back_and_the_job_finishes_once(celery_env, tmp_path):
    studio = Studio(load_settings(celery_env))
    (worker,) = start_workers(celery_env, tmp_path, ["gpu0"])
    try:
        wait_for_ready_workers(studio.db, 1)
        (job_id,) = studio.queue.enqueue(small_recipe(steps=60, seed=5), [5]).job_ids
        first = wait_until(
            lambda: (lambda s: s if s.status == JobStatus.RUNNING and s.progress_step >= 2 else None)(
                job_rows.job_states(studio.db, [job_id])[0]
            ),
            180, "the job to be a few steps in",
        )
        pool_pid = int(first.worker_id.split(":")[1])
        assert pool_pid in worker.pool_pids()
        os.kill(pool_pid, signal.SIGKILL)  # the process holding the model dies mid-job

        (state,) = wait_for_jobs(studio.db, [job_id], timeout=300)
        assert state.status == JobStatus.DONE, state.error
        assert state.worker_id != first.worker_id  # a new pool process took it over
        with studio.db.reader() as session:
            assert session.scalar(select(func.count()).select_from(Poster).where(Poster.job_id == job_id)) == 1
            assert session.get(Job, job_id).attempts == 2
    except Exception:
        print(worker.log_tail())
        raise
    finally:
        worker.stop()
        studio.close()


def test_with_redis_down_a_generate_stays_queued_and_says_why_then_runs_when_it_is_back(studio_env, tmp_path, monkeypatch):
    import streamlit as st

    redis = OwnRedis(tmp_path / "redis")  # ours to stop: the machine's Redis stays up
    redis.start()
    env = {**studio_env, "STUDIO_QUEUE": "celery", "STUDIO_BROKER_URL": redis.url, "STUDIO_TEXT_CHECK": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    st.cache_resource.clear()
    (worker,) = start_workers(env, tmp_path, ["gpu0"])
    at = new_app()  # the app's Studio, built from the environment above
    studio = get_studio()
    studio.queue.dispatcher.interval_s = 0.5
    try:
        wait_for_ready_workers(studio.db, 1)
        redis.stop()
        at.switch_page("pages/compose.py").run()
        fill_compose(at, compose_seed="9")
        at.number_input(key="compose_variants").set_value(2).run()
        at.button(key="btn_generate").click().run()
        assert not at.exception, at.exception
        job_ids = at.session_state["compose_batch"]
        states = job_rows.job_states(studio.db, job_ids)
        assert [s.status for s in states] == [JobStatus.QUEUED] * 2
        shown = " ".join(w.value for w in at.warning)
        assert "is unavailable: this job is kept and will be sent to the workers when it is back" in shown

        redis.start()  # same port: the outbox and the worker reconnect
        states = wait_for_jobs(studio.db, job_ids, timeout=300)
        assert [s.status for s in states] == [JobStatus.DONE] * 2, [s.error for s in states]
        assert all(s.dispatch_error is None for s in states)
        at.run()
        assert "this job is kept" not in " ".join(w.value for w in at.warning)  # the tiles
        assert any(c.value.startswith("drawn by gpu0") for c in at.caption), [c.value for c in at.caption]
    except Exception:
        print(worker.log_tail())
        raise
    finally:
        worker.stop()
        studio.close()
        st.cache_resource.clear()
        redis.stop()
