"""A brief as a job for a GPU worker: the app writes the row, a worker claims it by id, runs
the demo Qwen2.5-VL on CPU (4-bit, as in the app) and stores the brief linked to the job."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import time

import psutil
from alembic import command
from alembic.config import Config
from sqlalchemy import func, inspect, select

from core.brief.sections import SECTION_KEYS
from core.services.briefs import brief_job_state, request_brief, run_brief_job
from core.states import JobStatus
from storage import brief_jobs
from storage.db import MIGRATIONS_DIR, make_engine
from storage.models import Brief, BriefJob, Draft
from tests.test_brief_integration import draft_image

WORKER = f"{socket.gethostname()}:{psutil.Process().pid}:brief-test"
TOKENS = 8  # enough for every stage; the demo model writes random tokens until the limit


def live_worker_id() -> str:
    return f"{socket.gethostname()}:1:other"  # pid 1 always runs: a live worker on this host


def dead_worker_id() -> str:
    """A worker id on this host whose process has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    assert not psutil.pid_exists(process.pid)
    return f"{socket.gethostname()}:{process.pid}:gone"


def wait_for_brief_job(db, brief_job_id: int, done, timeout: float = 120.0):
    """Poll the job's row until `done(state)`; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = brief_job_state(db, brief_job_id)
        if done(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"brief job {brief_job_id} did not get there in {timeout} s: {brief_job_state(db, brief_job_id)}")


def brief_count(studio) -> int:
    with studio.db.reader() as session:
        return session.scalar(select(func.count(Brief.id)))


def queue_one(studio, notes: str = 'Make the "price" bigger') -> int:
    return request_brief(studio, draft_image(), "draft.png", "en", notes, max_new_tokens=TOKENS)


def test_requested_brief_is_written_by_the_worker_and_linked_to_its_job(studio):
    brief_job_id = queue_one(studio)
    queued = brief_job_state(studio.db, brief_job_id)
    assert queued.status == JobStatus.QUEUED and queued.stages == () and queued.brief_id is None
    assert brief_count(studio) == 0

    record = run_brief_job(studio, brief_job_id, WORKER)

    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.DONE and state.error is None and state.attempts == 1
    assert state.brief_id == record.id
    assert state.stages[0].startswith("Loading")
    for stage in ("Reading the draft", "Writing the brief", "Freeing memory", "Parsing the seven sections"):
        assert stage in state.stages
    with studio.db.reader() as session:
        brief = session.get(Brief, record.id)
        assert set(brief.sections) == set(SECTION_KEYS)
        assert brief.notes == 'Make the "price" bigger' and brief.language == "en"
        assert brief.timings["new_tokens"] == TOKENS and brief.truncated is True
        assert brief.model_id.startswith("demo/qwen-vl-demo")
        draft = session.get(Draft, brief.draft_id)
        assert studio.store.read_bytes(draft.path)  # the draft the worker read is stored

    # The same stages as the app's own brief: both run Studio.run_vl_brief.
    stages_here = []
    studio.write_brief(draft_image(), "draft.png", "en", "", on_stage=stages_here.append, max_new_tokens=TOKENS)
    assert tuple(stages_here) == state.stages


def test_a_redelivered_task_does_nothing(studio):
    brief_job_id = queue_one(studio)
    first = run_brief_job(studio, brief_job_id, WORKER)
    assert first is not None

    assert run_brief_job(studio, brief_job_id, WORKER) is None
    assert run_brief_job(studio, brief_job_id, "another-host:1:x") is None
    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.DONE and state.brief_id == first.id and state.attempts == 1
    assert brief_count(studio) == 1


def test_a_job_running_under_a_live_worker_is_left_alone(studio):
    brief_job_id = queue_one(studio)
    other = live_worker_id()
    assert brief_jobs.claim_brief_job(studio.db, brief_job_id, other, is_worker_alive=lambda worker: True)

    assert run_brief_job(studio, brief_job_id, WORKER) is None
    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.RUNNING and state.attempts == 1
    assert brief_count(studio) == 0
    # and what this worker would have written is refused: the job is the other worker's
    assert brief_jobs.record_stage(studio.db, brief_job_id, WORKER, "Reading the draft") is False
    assert brief_jobs.fail_brief_job(studio.db, brief_job_id, WORKER, "no") is False
    assert brief_job_state(studio.db, brief_job_id).status == JobStatus.RUNNING


def test_a_job_a_dead_worker_left_running_is_taken_over_and_finishes(studio):
    brief_job_id = queue_one(studio)
    dead = dead_worker_id()
    assert brief_jobs.claim_brief_job(studio.db, brief_job_id, dead, is_worker_alive=lambda worker: True)
    assert brief_jobs.record_stage(studio.db, brief_job_id, dead, "Loading the model (4-bit)")

    record = run_brief_job(studio, brief_job_id, WORKER)  # the real liveness check: the pid is gone

    assert record is not None
    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.DONE and state.brief_id == record.id and state.attempts == 2
    assert state.stages.count("Loading the model (4-bit)") == 1  # this attempt's stages only
    assert brief_count(studio) == 1
    # the dead worker, had it come back, could not finish the job a second time
    assert brief_jobs.complete_brief_job(
        studio.db, brief_job_id, dead, model_id="x", raw_text="", sections={}, missing=[], truncated=False,
        timings={}, memory={},
    ) is None
    assert brief_count(studio) == 1


def test_a_job_whose_workers_keep_dying_fails_instead_of_running_again(studio):
    brief_job_id = queue_one(studio)
    for _ in range(brief_jobs.MAX_BRIEF_ATTEMPTS):
        assert brief_jobs.claim_brief_job(studio.db, brief_job_id, dead_worker_id(), is_worker_alive=lambda worker: False)

    assert run_brief_job(studio, brief_job_id, WORKER) is None
    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.FAILED
    assert f"stopped in the middle of this brief {brief_jobs.MAX_BRIEF_ATTEMPTS} times" in state.error
    assert brief_count(studio) == 0


def test_a_brief_model_that_cannot_load_fails_the_job_with_advice_and_stores_no_brief(studio, tmp_path):
    studio.models = dataclasses.replace(studio.models, vl_model=str(tmp_path / "no-such-vl-model"))
    brief_job_id = queue_one(studio)

    assert run_brief_job(studio, brief_job_id, WORKER) is None

    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.FAILED and state.brief_id is None
    assert state.error.startswith("The brief model could not run (")
    assert "Nothing was stored." in state.error and "STUDIO_DEMO_MODELS_DIR" in state.error
    assert "Traceback" not in state.error and "\n" not in state.error
    assert state.stages and state.stages[0].startswith("Loading")  # where it stopped
    assert brief_count(studio) == 0


def test_a_draft_missing_from_the_store_fails_the_job_with_a_message(studio):
    brief_job_id = queue_one(studio)
    with studio.db.reader() as session:
        draft_path = session.get(Draft, session.get(BriefJob, brief_job_id).draft_id).path
    studio.store.delete(draft_path)

    assert run_brief_job(studio, brief_job_id, WORKER) is None
    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.FAILED
    assert state.error.startswith("The draft could not be read from the image store (FileNotFoundError")
    assert state.stages == ()  # the model never loaded
    assert brief_count(studio) == 0


class BrokerQueue:
    """Stands in for the Celery queue's one brief method; the rows stay the real ones."""

    def __init__(self, fail: bool = False):
        self.sent: list[int] = []
        self.fail = fail

    def send_brief(self, brief_job_id: int) -> None:
        if self.fail:
            raise ConnectionError("Error 111 connecting to localhost:6379. Connection refused.")
        self.sent.append(brief_job_id)


def test_a_queue_with_send_brief_is_handed_the_job_id(studio):
    queue, studio.queue = studio.queue, BrokerQueue()
    try:
        brief_job_id = queue_one(studio)
        assert studio.queue.sent == [brief_job_id]
    finally:
        studio.queue = queue


def test_a_queue_that_is_down_leaves_the_job_queued_undispatched_with_the_reason(studio):
    queue, studio.queue = studio.queue, BrokerQueue(fail=True)
    try:
        brief_job_id = queue_one(studio)
    finally:
        studio.queue = queue
    state = brief_job_state(studio.db, brief_job_id)
    assert state.status == JobStatus.QUEUED
    assert state.dispatch_error.startswith("The queue could not be reached (ConnectionError: Error 111")
    assert brief_jobs.undispatched_brief_job_ids(studio.db) == [brief_job_id]

    brief_jobs.mark_brief_dispatched(studio.db, brief_job_id)
    assert brief_jobs.undispatched_brief_job_ids(studio.db) == []
    assert brief_job_state(studio.db, brief_job_id).dispatch_error is None


def test_migration_0007_adds_and_removes_the_brief_jobs_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'studio.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    engine = make_engine(url)
    try:
        command.upgrade(config, "0007_brief_jobs")
        assert "brief_jobs" in inspect(engine).get_table_names()
        columns = {column["name"] for column in inspect(engine).get_columns("brief_jobs")}
        assert columns == {column.name for column in BriefJob.__table__.columns}
        command.downgrade(config, "0006_queue_dispatch")
        assert "brief_jobs" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

