"""The team deployment end to end: two app sessions (AppTest) on PostgreSQL, two real Celery
worker processes over Redis, images in an S3-compatible bucket. Every job and brief is done
exactly once, the rows are in PostgreSQL, the posters and thumbnails are in the bucket."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import func, select

from core.services.briefs import brief_job_state
from core.states import FINISHED_STATUSES, JobStatus
from pages.ui.shared import get_studio
from storage.models import Brief, BriefJob, Job, Poster
from tests.celery_helpers import CeleryWorker, flush, machine_redis_url, wait_for_ready_workers, wait_until
from tests.helpers import wait_for_jobs
from tests.test_app_brief import brief_page, png
from tests.test_app_pages import fill_compose, new_app


@pytest.fixture
def team_env(studio_env, s3_bucket, monkeypatch):
    from tests import pg

    reason = pg.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    broker = machine_redis_url()
    with pg.fresh_database() as database_url:
        env = {
            **studio_env,
            "DATABASE_URL": database_url,
            "STUDIO_QUEUE": "celery",
            "STUDIO_BROKER_URL": broker,
            "STUDIO_STORAGE_URL": s3_bucket.url("studio"),
            "STUDIO_TEXT_CHECK": "0",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        st.cache_resource.clear()
        st.cache_data.clear()
        yield env, s3_bucket
        st.cache_resource.clear()
        flush(broker)


def test_two_sessions_two_workers_postgres_s3_eight_posters_and_two_briefs_each_once(team_env, tmp_path):
    env, bucket = team_env
    workers = [CeleryWorker(env, name, tmp_path / f"{name}.log") for name in ("gpu0", "gpu1")]
    sessions = [new_app(), new_app()]  # two browser sessions of one app process
    studio = get_studio()
    try:
        assert studio.db.engine.dialect.name == "postgresql"
        wait_for_ready_workers(studio.db, 2)

        # Each session queues a set of four variants.
        batches = []
        for index, at in enumerate(sessions):
            at.switch_page("pages/compose.py").run()
            fill_compose(at, compose_seed=str(100 * (index + 1)), compose_name=f"Aurora {index}")
            at.number_input(key="compose_variants").set_value(4).run()
            at.button(key="btn_generate").click().run()
            assert not at.exception, at.exception
            batches.append(at.session_state["compose_batch"])
        job_ids = [job_id for batch in batches for job_id in batch]
        assert len(set(job_ids)) == 8

        # Each session asks for a brief; they are tasks on the same GPU queue.
        brief_jobs = []
        for at in (brief_page(), brief_page()):
            at.file_uploader(key="draft_upload").set_value(("draft.png", png(color=(20 * len(brief_jobs), 90, 60)), "image/png")).run()
            at.button(key="btn_write_brief").click().run()
            assert not at.exception, at.exception
            brief_jobs.append(at.session_state["brief_job_id"])

        states = wait_for_jobs(studio.db, job_ids, timeout=600)
        assert [s.status for s in states] == [JobStatus.DONE] * 8, [s.error for s in states]
        briefs = wait_until(
            lambda: (lambda found: found if all(b.status in FINISHED_STATUSES for b in found) else None)(
                [brief_job_state(studio.db, b) for b in brief_jobs]
            ),
            600, "the two briefs",
        )
        assert [b.status for b in briefs] == [JobStatus.DONE] * 2, [b.error for b in briefs]

        with studio.db.reader() as session:
            posters = [(p.job_id, p.path, p.thumb_path) for p in session.scalars(select(Poster))]
            assert sorted(job_id for job_id, _path, _thumb in posters) == sorted(job_ids)  # one poster per job
            assert set(session.scalars(select(Job.attempts))) == {1}
            assert len(set(session.scalars(select(Job.worker_id)))) == 2  # both workers drew
            assert session.scalar(select(func.count()).select_from(Brief)) == 2
            assert session.scalar(select(func.count()).select_from(BriefJob).where(BriefJob.status == "done")) == 2
        keys = bucket.keys("studio")
        for _job_id, path, thumb in posters:
            assert path in keys and thumb in keys

        # The first session sees its posters, drawn by the workers, from the bucket.
        at = sessions[0]
        at.run()
        assert not at.exception, at.exception
        assert sum(c.value.startswith("drawn by gpu") for c in at.caption) == 4
    except Exception:
        print("\n".join(w.log_tail() for w in workers))
        raise
    finally:
        for worker in workers:
            worker.stop()
        studio.close()
