"""The worker starts with the server, not with the first page view (issue 11 item 9), and by
default it is a process of its own, beside the server (item 1: a page rerun in the server
no longer competes with a denoising step for the interpreter lock).

The server tests run the README's `streamlit run Home.py` on a data directory holding a job
a dead worker left `running` and a queued one, and never open a page."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from core.services.compose import ComposeRequest, prepare, submit
from core.prompt.builder import ProductFields
from core.services.studio import Studio
from core.settings import PerformanceSettings, load_settings, settings_environ
from core.states import JobStatus
from storage import jobs as job_rows
from tests.helpers import TEST_ACTOR
from tests.test_browser_e2e import streamlit_server

ROOT = Path(__file__).resolve().parents[1]


def queue_one(studio, seed: int):
    product = ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now")
    request = ComposeRequest(product=product, draft_size=True, steps=2, seed=seed)
    recipe = prepare(request, studio.tokenizer)
    return submit(studio.queue, request, recipe, studio.models.image_model_id, studio.models.demo, actor=TEST_ACTOR)


def dead_worker_id() -> str:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{dead.stdout.strip()}:gone"


def left_by_a_crash(env: dict) -> tuple[Studio, int, int]:
    """A data dir as a killed server leaves it: one job claimed by a worker that no longer
    exists, one still queued. Returns a Studio that runs no worker, and the two job ids."""
    studio = Studio(load_settings({**env, "STUDIO_WORKER": "external"}))
    (interrupted,) = queue_one(studio, seed=1).job_ids
    assert job_rows.claim_next(studio.db, dead_worker_id()).id == interrupted
    (queued,) = queue_one(studio, seed=2).job_ids
    return studio, interrupted, queued


def wait_for_states(studio: Studio, job_ids: list[int], timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while True:
        states = studio.queue.job_states(job_ids)
        if all(state.status.finished for state in states) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def state_of(studio: Studio, job_id: int):
    (state,) = studio.queue.job_states([job_id])
    return state


def worker_pid(worker_id: str) -> int:
    return int(worker_id.split(":")[1])


@pytest.mark.parametrize("worker", ["process", "embedded"])
def test_the_server_recovers_and_runs_jobs_before_anyone_opens_a_page(tmp_path, demo_models_dir, studio_env, worker):
    env = {**studio_env, "STUDIO_TEXT_CHECK": "0"}
    if worker == "process":
        env["STUDIO_WORKER"] = ""  # unset: the default
    studio, interrupted, queued = left_by_a_crash(env)
    try:
        with streamlit_server(tmp_path, demo_models_dir, env=env) as url:
            # Only /_stcore/health was asked for: no browser session, no page script run.
            states = {s.id: s for s in wait_for_states(studio, [interrupted, queued], timeout=120)}
            assert states[interrupted].status == JobStatus.FAILED
            assert states[interrupted].error == "interrupted by restart"
            assert states[queued].status == JobStatus.DONE, states[queued].error
            server_pid = next(p.pid for p in psutil.process_iter(["cmdline"])
                              if url.rsplit(":", 1)[1] in " ".join(p.info["cmdline"] or []))
            drawn_by = worker_pid(state_of(studio, queued).worker_id)
            if worker == "process":
                assert drawn_by != server_pid and psutil.Process(drawn_by).ppid() == server_pid
            else:
                assert drawn_by == server_pid
    finally:
        studio.close()


def test_the_worker_process_stops_with_a_killed_server_and_is_restarted_if_it_dies(tmp_path, demo_models_dir, studio_env):
    env = {**studio_env, "STUDIO_WORKER": "", "STUDIO_TEXT_CHECK": "0"}  # the default worker
    studio = Studio(load_settings({**env, "STUDIO_WORKER": "external"}))
    try:
        with streamlit_server(tmp_path, demo_models_dir, env=env) as url:
            server = next(p for p in psutil.process_iter(["cmdline"])
                          if url.rsplit(":", 1)[1] in " ".join(p.info["cmdline"] or []))
            (first_job,) = queue_one(studio, seed=5).job_ids
            (state,) = wait_for_states(studio, [first_job], timeout=120)
            assert state.status == JobStatus.DONE, state.error
            child = psutil.Process(worker_pid(state.worker_id))

            # The worker process dies: the app starts another, which draws the next job.
            child.kill()
            child.wait(10)
            (second_job,) = queue_one(studio, seed=6).job_ids
            (state,) = wait_for_states(studio, [second_job], timeout=120)
            assert state.status == JobStatus.DONE, state.error
            replacement = psutil.Process(worker_pid(state.worker_id))
            assert replacement.pid != child.pid and replacement.ppid() == server.pid

            # The server is killed outright: its worker process notices and stops by itself.
            server.send_signal(signal.SIGKILL)
            replacement.wait(30)
            assert not replacement.is_running()
    finally:
        studio.close()


def test_the_worker_process_gets_the_apps_settings_even_ones_changed_in_code(tmp_path):
    settings = load_settings({"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
    changed = replace(
        settings,
        preview_every=3,
        text_check=False,
        job_max_attempts=7,
        performance=PerformanceSettings(strategy="group_offload", compile="off", brief_mode="nf4"),
        roles_file=tmp_path / "roles.toml",
    )
    for original in (settings, changed):
        # Over an unrelated base, and in another working directory, it reads back the same.
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            assert load_settings(settings_environ(original, base={"STUDIO_DATA_DIR": "elsewhere"})) == original
        finally:
            os.chdir(cwd)


def test_the_worker_process_keeps_the_memory_strategy_the_app_planned(tmp_path):
    from core.render.plan import plan_pipeline
    from core.services.studio import worker_settings

    gib = 1024**3
    settings = load_settings({"STUDIO_DATA_DIR": str(tmp_path), "STUDIO_DEMO": "0", "STUDIO_DEVICE": "cuda"})
    # The app plans on an idle 80 GiB card; by the time its worker process plans, the app's
    # start-up brief compile holds 30 GiB more.
    app_plan = plan_pipeline("cuda", False, settings.performance, memory=(78 * gib, 80 * gib))
    alone = plan_pipeline("cuda", False, settings.performance, memory=(48 * gib, 80 * gib))
    assert alone.strategy.name != app_plan.strategy.name  # the race this guards against is real
    child = load_settings(settings_environ(worker_settings(settings, app_plan), base={}))
    child_plan = plan_pipeline("cuda", False, child.performance, memory=(48 * gib, 80 * gib))
    assert child_plan.strategy.name == app_plan.strategy.name
