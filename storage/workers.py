"""What each worker process says of itself: its GPU, its model state, the job it draws.

A worker writes its row when it starts and then every few seconds (core/queue/report.py);
a row whose heartbeat is older than `fresh_within` belongs to a worker that stopped. The
sidebar and the Settings page list the fresh ones; with Celery they are matched with the
workers that answer a ping (core/queue/celery_queue.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from storage.db import Database
from storage.models import Worker, utcnow


@dataclass(frozen=True)
class WorkerReport:
    worker_id: str
    hostname: str
    name: str
    gpu: str
    model_state: str
    current_job_id: int | None
    started_at: datetime
    heartbeat_at: datetime


def report(db: Database, worker_id: str, hostname: str, name: str, gpu: str, model_state: str,
           current_job_id: int | None) -> None:
    with db.session() as session:
        row = session.get(Worker, worker_id)
        if row is None:
            row = Worker(worker_id=worker_id, hostname=hostname, started_at=utcnow())
            session.add(row)
        row.name = name[:255]
        row.gpu = gpu[:255]
        row.model_state = model_state[:255]
        row.current_job_id = current_job_id
        row.heartbeat_at = utcnow()


def mark_stopped(db: Database, worker_id: str) -> None:
    """A worker that stops cleanly says so; its row stays, so the jobs it drew keep its name."""
    with db.session() as session:
        row = session.get(Worker, worker_id)
        if row is not None:
            row.model_state = "stopped"
            row.current_job_id = None


def fresh_workers(db: Database, fresh_within: timedelta = timedelta(seconds=30)) -> list[WorkerReport]:
    cutoff = datetime.now(timezone.utc) - fresh_within
    with db.reader() as session:
        rows = session.scalars(
            select(Worker).where(Worker.model_state != "stopped").order_by(Worker.name, Worker.worker_id)
        ).all()
        reports = []
        for row in rows:
            heartbeat = row.heartbeat_at if row.heartbeat_at.tzinfo else row.heartbeat_at.replace(tzinfo=timezone.utc)
            if heartbeat < cutoff:
                continue
            reports.append(
                WorkerReport(row.worker_id, row.hostname, row.name, row.gpu, row.model_state, row.current_job_id,
                             row.started_at, heartbeat)
            )
    return reports


def worker_names(db: Database, worker_ids: list[str]) -> dict[str, str]:
    """Readable names (a Celery node name, or the host) for worker ids written on jobs."""
    wanted = [w for w in set(worker_ids) if w]
    if not wanted:
        return {}
    with db.reader() as session:
        rows = session.execute(select(Worker.worker_id, Worker.name).where(Worker.worker_id.in_(wanted))).all()
    return {worker_id: name for worker_id, name in rows if name}
