"""The job worker apart from the app: its own process, and its model load.

The external-worker test runs the real pages (AppTest) with STUDIO_WORKER=external beside a
`python -m core.queue.worker` subprocess on the demo models, both on one data directory."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.services.compose import ComposeRequest, prepare, submit
from core.prompt.builder import ProductFields
from core.services.studio import Studio, load_failure_advice
from core.settings import load_settings
from core.states import JobStatus
from storage.db import open_database
from storage.models import Job, Poster
from tests.helpers import TEST_ACTOR

ROOT = Path(__file__).resolve().parents[1]
HOME = str(ROOT / "Home.py")


def queue_one(studio, seed=1):
    product = ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now")
    request = ComposeRequest(product=product, draft_size=True, steps=2, seed=seed)
    recipe = prepare(request, studio.tokenizer)
    return submit(studio.queue, request, recipe, studio.models.image_model_id, studio.models.demo, actor=TEST_ACTOR)


def test_a_load_that_fails_twice_is_retried_and_the_job_runs(studio_env):
    settings = load_settings(studio_env)
    calls = []

    def flaky_load():
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ImportError("cannot import name 'Qwen2_5_VLForConditionalGeneration' from 'transformers'")
        return studio._load_pipeline()

    studio = Studio(settings, start_worker=False, load_pipeline=flaky_load, load_backoff_s=(0.01, 0.01))
    try:
        submission = queue_one(studio, seed=3)
        assert studio.runner.run_next()
        (state,) = studio.queue.job_states(submission.job_ids)
        assert state.status == JobStatus.DONE, state.error
        assert len(calls) == 3 and studio.runner.model_state == "loaded"
    finally:
        studio.close()


def test_a_load_that_keeps_failing_fails_the_job_with_advice_for_demo_mode(studio_env):
    settings = load_settings(studio_env)
    calls = []

    def broken_load():
        calls.append(1)
        raise ImportError("cannot import name 'Qwen2_5_VLForConditionalGeneration' from 'transformers'")

    studio = Studio(settings, start_worker=False, load_pipeline=broken_load, load_backoff_s=(0.01, 0.01))
    try:
        submission = queue_one(studio)
        assert studio.runner.run_next()
        (state,) = studio.queue.job_states(submission.job_ids)
        assert state.status == JobStatus.FAILED and len(calls) == 3
        assert "Qwen2_5_VLForConditionalGeneration" in state.error
        assert "STUDIO_DEMO_MODELS_DIR" in state.error and "STUDIO_DEMO=1" not in state.error
        # the sidebar's words: short, no traceback text
        assert studio.runner.model_state == "failed to load (ImportError); see the server log"
    finally:
        studio.close()
    real_models = load_settings({**studio_env, "STUDIO_DEMO": "0"})
    assert "STUDIO_DEMO=1" in load_failure_advice(real_models)


def test_studio_worker_setting_is_checked(studio_env):
    assert load_settings({**studio_env, "STUDIO_WORKER": ""}).worker == "process"  # the default
    assert load_settings(studio_env).worker == "embedded"  # the tests' fixture
    assert load_settings({**studio_env, "STUDIO_WORKER": "External"}).worker == "external"
    with pytest.raises(ValueError, match="STUDIO_WORKER must be process, embedded or external"):
        load_settings({**studio_env, "STUDIO_WORKER": "celery"})


def wait_until_finished(db, timeout: float):
    """Every job in the database finished, read from the rows; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.reader() as session:
            statuses = session.scalars(select(Job.status)).all()
        if statuses and all(JobStatus(status).finished for status in statuses):
            return
        time.sleep(0.25)
    raise AssertionError(f"jobs did not finish in {timeout} s")


def test_an_external_worker_process_draws_a_batch_from_the_app_each_poster_once(studio_env, monkeypatch, tmp_path):
    import streamlit as st

    monkeypatch.setenv("STUDIO_WORKER", "external")
    monkeypatch.setenv("STUDIO_TEXT_CHECK", "0")  # the check in the worker is covered in-process
    st.cache_resource.clear()
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.queue.worker", "--poll-seconds", "0.2"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT,
    )
    db = open_database(load_settings().database_url)
    try:
        at = AppTest.from_file(HOME, default_timeout=120)
        at.run()
        assert not at.exception, at.exception
        assert any("in the worker process" in c.value for c in at.sidebar.caption)
        at.switch_page("pages/compose.py").run()
        for key, value in {"compose_name": "Aurora", "compose_offer": "SUMMER SALE", "compose_seed": "11"}.items():
            at.text_input(key=key).set_value(value)
        at.checkbox(key="compose_draft_size").check()
        at.number_input(key="compose_steps").set_value(1)
        at.number_input(key="compose_variants").set_value(4)
        at.run()
        at.button(key="btn_generate").click().run()
        assert not at.exception, at.exception

        # A bound, not a wait: a demo job takes seconds on an idle 2-core box, minutes on a busy one.
        wait_until_finished(db, timeout=1800)
        with db.reader() as session:
            jobs = session.scalars(select(Job).order_by(Job.id)).all()
            posters = session.scalars(select(Poster)).all()
            assert [job.status for job in jobs] == [JobStatus.DONE] * 4
            assert [job.seed for job in jobs] == [11, 12, 13, 14]
            # every job was claimed by the worker process, not by the app
            assert {job.worker_id.split(":")[1] for job in jobs} == {str(worker.pid)}
            assert len(posters) == 4 and len({poster.job_id for poster in posters}) == 4
            files = [Path(load_settings().storage_url) / poster.path for poster in posters]
            assert all(path.is_file() for path in files) and len(set(files)) == 4

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=120) == 0
        log.seek(0)
        assert "worker stopped" in log.read()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
        db.dispose()
        from pages.ui.shared import get_studio

        get_studio().close()
        st.cache_resource.clear()
