"""What runs where: the queue mode, the broker, the workers online and the queue's depth,
for the sidebar and the Settings page.

Workers are known two ways: each worker process writes a report row every few seconds
(storage/workers.py: its GPU, model state, current job), and with Celery the workers that
answer a ping (cached for a few seconds by core/queue/celery_queue.py, so a page rerun does
not wait on the broker). A worker that pings but has not reported yet is still loading.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url

from core.queue.celery_queue import CeleryJobQueue
from storage import workers as worker_rows


@dataclass(frozen=True)
class WorkerView:
    name: str
    gpu: str
    model_state: str
    current_job_id: int | None
    answers_ping: bool | None  # None where there is no broker to ask


@dataclass(frozen=True)
class Deployment:
    mode: str  # a few words: which processes draw posters
    broker: str | None  # the broker URL without its password, with Celery
    broker_error: str | None  # why the broker did not answer, if it did not
    database: str  # the backend and host, never the password
    workers: list[WorkerView]
    queued: int
    running: int


def database_label(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite ({parsed.database})"
    where = parsed.host or "localhost"
    if parsed.port:
        where = f"{where}:{parsed.port}"
    return f"{parsed.get_backend_name()} on {where}/{parsed.database or ''}"


def worker_label(name: str, worker_id: str) -> str:
    """A worker's readable name: its Celery node name, else the host it ran on."""
    return name or worker_id.split(":", 1)[0]


def drawn_by(studio, worker_ids: list[str]) -> dict[str, str]:
    """Readable names for the worker ids written on job rows."""
    names = worker_rows.worker_names(studio.db, worker_ids)
    return {worker_id: worker_label(names.get(worker_id, ""), worker_id) for worker_id in worker_ids if worker_id}


def model_states(studio, worker_ids: list[str]) -> dict[str, str]:
    """What each worker's image model is doing ("loading", "loaded", ...): this process's own
    runner, else the worker's latest report (a worker process, the app's or another's)."""
    if not worker_ids:
        return {}  # nothing running: no query on every poll
    states = {w.worker_id: w.model_state for w in worker_rows.fresh_workers(studio.db) if w.worker_id in worker_ids}
    if studio.runner.worker_id in worker_ids:
        states[studio.runner.worker_id] = studio.runner.model_state
    return states


def deployment(studio) -> Deployment:
    settings = studio.settings
    queued, running = studio.queue.depth()
    reports = worker_rows.fresh_workers(studio.db)
    broker = broker_error = None
    if isinstance(studio.queue, CeleryJobQueue):
        broker = studio.queue.broker_label
        online, broker_error = studio.queue.workers_online()
        mode = f"Celery workers over {broker}"
        workers = [
            WorkerView(worker_label(r.name, r.worker_id), r.gpu, r.model_state, r.current_job_id, r.name in online)
            for r in reports
        ]
        reported = {r.name for r in reports}
        workers += [WorkerView(name, "", "starting (no report yet)", None, True) for name in online if name not in reported]
    elif settings.worker in ("process", "external"):
        if settings.worker == "process":
            mode = "the app's worker process (started and stopped with the app)"
        else:
            mode = "worker processes (python -m core.queue.worker)"
        workers = [WorkerView(worker_label("", r.worker_id), r.gpu, r.model_state, r.current_job_id, None) for r in reports]
        if studio.worker_child is not None and not workers:
            # Not reporting yet (starting: importing, loading) or gone and being restarted.
            workers = [WorkerView("the app's worker process", "", studio.worker_child.state, None, None)]
    else:
        mode = "one process (the app's own worker thread)"
        runner = studio.runner
        workers = [WorkerView("this app", settings.device, runner.model_state, runner.current_job_id, None)]
    return Deployment(mode, broker, broker_error, database_label(settings.database_url), workers, queued, running)
