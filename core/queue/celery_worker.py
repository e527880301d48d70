"""The GPU worker over Celery: `celery -A core.queue.celery_worker worker -Q gpu -P prefork -c 1`.

One worker process per GPU, e.g.

    CUDA_VISIBLE_DEVICES=0 celery -A core.queue.celery_worker worker -Q gpu -P prefork -c 1 -n gpu0@%h

It reads the same settings as the app (DATABASE_URL, STUDIO_STORAGE_URL, STUDIO_BROKER_URL,
STUDIO_DEMO, ...). The parent process imports no torch: the pool process builds its Studio
after the fork (CUDA cannot cross a fork), in a thread, so it answers Celery's start-up
check (`worker_proc_alive_timeout`) while the model loads and compiles. Each task then waits
for that load, so the first job never pays it; every task carries only an id and the row
says the rest (core/queue/celery_queue.py).
"""

from __future__ import annotations

import logging
import threading

from celery import signals

from core.queue.celery_app import DRAW_POSTER, WRITE_BRIEF, make_celery_app
from core.settings import load_settings

logger = logging.getLogger(__name__)

settings = load_settings()
app = make_celery_app(settings)

_node_name = ""
_studio = None
_reporter = None
_ready = threading.Event()
_load_error: BaseException | None = None


@signals.celeryd_init.connect
def _remember_node_name(sender=None, **_kwargs) -> None:
    # Runs in the parent before the fork; the pool process inherits the name.
    global _node_name
    _node_name = str(sender or "")


@signals.worker_process_init.connect
def _start_loading(**_kwargs) -> None:
    threading.Thread(target=_build_studio, name="studio-load", daemon=True).start()


def _build_studio() -> None:
    global _studio, _reporter, _load_error
    try:
        from core.queue.report import WorkerReporter, gpu_label
        from core.services.studio import Studio

        studio = Studio(settings, start_worker=False)
        _reporter = WorkerReporter(studio.db, studio.runner, _node_name, gpu_label(settings.device)).start()
        studio.runner.prepare()  # load + compile warm-up, before the first task is taken
        _reporter.report_now()
        _studio = studio
        logger.info("worker %s (%s) ready: %s", _node_name, studio.runner.worker_id, studio.runner.model_state)
    except BaseException as error:  # the tasks report it on their jobs
        logger.exception("the worker could not start its studio")
        _load_error = error
    finally:
        _ready.set()


def _wait_for_studio():
    _ready.wait()
    if _studio is None:
        raise RuntimeError(f"the worker could not start: {type(_load_error).__name__}: {_load_error}")
    return _studio


@signals.worker_process_shutdown.connect
def _shut_down(**_kwargs) -> None:
    if _reporter is not None:
        _reporter.stop()
    if _studio is not None:
        _studio.close()


def _fail_without_studio(job_id: int) -> None:
    """The worker could not start (a bad setting, a database or bucket it cannot reach):
    say so on the job, where the user looks, if the database can be reached at all."""
    message = (
        f"The worker {_node_name or 'that took this job'} could not start "
        f"({type(_load_error).__name__}: {_load_error}). Fix its settings (see its log), then retry the job."
    )
    try:
        from storage import jobs as job_rows
        from storage.db import Database

        db = Database(settings.database_url)
        try:
            job_rows.fail(db, job_id, message[:2000])
        finally:
            db.dispose()
    except Exception:
        logger.exception("could not record the start failure on job %s", job_id)


@app.task(name=DRAW_POSTER, ignore_result=True)
def draw_poster(job_id: int) -> bool:
    """Draw one job's poster; a redelivered task for a finished or live job does nothing."""
    _ready.wait()
    if _studio is None:
        _fail_without_studio(int(job_id))
        return False
    studio = _studio
    _reporter.report_now()
    try:
        return studio.runner.run_job(int(job_id))
    finally:
        _reporter.report_now()


@app.task(name=WRITE_BRIEF, ignore_result=True)
def write_brief(brief_job_id: int) -> bool:
    """Write one brief: the VL model is loaded for it and freed after, as in the app."""
    studio = _wait_for_studio()
    from core.services.briefs import run_brief_job

    return bool(run_brief_job(studio, int(brief_job_id), studio.runner.worker_id))
