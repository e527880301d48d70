"""The job queue over Celery: the jobs table is the record of truth, a task carries a job id.

Enqueueing writes the rows exactly as the SQL queue does (core/queue/sql.py), then sends
one task per job. A send that fails leaves the rows queued with the reason, and the
outbox (core/queue/dispatch.py) sends them when the broker is back. Workers claim the job a
task names (`claim_job`); progress, cancel and results go through the rows as before, so a
cancel is a flag the worker reads every step, never a `revoke(terminate=True)` that would
kill the process holding the model.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from celery import Celery

from core.queue.celery_app import DRAW_POSTER, GPU_QUEUE, WRITE_BRIEF
from core.queue.dispatch import Dispatcher
from core.queue.sql import SqlJobQueue
from storage import brief_jobs as brief_rows
from storage import jobs as job_rows
from storage.db import Database

logger = logging.getLogger(__name__)

# A Generate click waits at most this long for the broker before the jobs are left to the
# outbox; kombu's retry inside one send is bounded the same way.
FIRST_SEND_RETRY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.5}
# The outbox may wait longer: it runs in its own thread.
OUTBOX_RETRY = {"max_retries": 3, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 2.0}
PING_CACHE_S = 10.0
# After a failed ping, ask again sooner: the sidebar should see the broker come back.
PING_RETRY_S = 2.0


def redacted(url: str) -> str:
    """The broker URL without its password, for messages and the UI."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = f"{parts.username}:***@" if parts.username else ":***@"
        return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))
    return url


class CeleryJobQueue(SqlJobQueue):
    def __init__(self, db: Database, app: Celery, max_attempts: int = 3):
        super().__init__(db, max_attempts=max_attempts)
        self.app = app
        self.broker_label = redacted(app.conf.broker_url)
        self.unavailable_message = (
            f"The queue ({self.broker_label}) is unavailable: this job is kept and will be sent "
            "to the workers when it is back."
        )
        self.dispatcher = Dispatcher(
            db,
            lambda job_id: self._send(DRAW_POSTER, job_id, OUTBOX_RETRY),
            self.unavailable_message,
            send_brief=lambda brief_job_id: self._send(WRITE_BRIEF, brief_job_id, OUTBOX_RETRY),
        )
        self._ping: tuple[float, list[str], str | None] | None = None
        self._ping_lock = threading.Lock()
        self._pinging = False

    def _send(self, task: str, job_id: int, retry_policy: dict) -> None:
        self.app.send_task(task, args=[job_id], queue=GPU_QUEUE, retry=True, retry_policy=retry_policy)

    def start_dispatcher(self) -> None:
        """The app's process runs the outbox; a worker process needs none."""
        self.dispatcher.start()

    def notify(self, job_ids: list[int]) -> None:
        """Send the jobs' tasks now; whatever cannot be sent waits in the outbox, with the
        reason on its rows. Never raises: the rows are already safely queued."""
        for index, job_id in enumerate(job_ids):
            try:
                self._send(DRAW_POSTER, job_id, FIRST_SEND_RETRY)
            except Exception as error:
                logger.warning("broker %s unavailable (%s): job(s) %s wait in the outbox",
                               self.broker_label, error, job_ids[index:])
                job_rows.mark_dispatch_failed(self.db, job_ids[index:], self.unavailable_message)
                self.dispatcher.wake()
                return
            job_rows.mark_dispatched(self.db, [job_id])

    def send_brief(self, brief_job_id: int) -> None:
        """A brief is a task on the GPU queue too. Raises when the broker cannot be reached
        (the brief page then shows why); the outbox sends it when the broker is back."""
        try:
            self._send(WRITE_BRIEF, brief_job_id, FIRST_SEND_RETRY)
        except Exception:
            self.dispatcher.wake()
            raise
        brief_rows.mark_brief_dispatched(self.db, brief_job_id)

    def workers_online(self, timeout: float = 0.5) -> tuple[list[str], str | None]:
        """Node names of the workers that answered the last ping, and the broker error if it
        could not be sent. A page never waits for the broker: the ping runs in a thread of its
        own at most every PING_CACHE_S (PING_RETRY_S after a failure), and this returns what it last found (nothing, before
        the first answer)."""
        with self._ping_lock:
            max_age = PING_RETRY_S if self._ping is not None and self._ping[2] else PING_CACHE_S
            stale = self._ping is None or time.monotonic() - self._ping[0] >= max_age
            if stale and not self._pinging:
                self._pinging = True
                threading.Thread(target=self._refresh_ping, args=(timeout,), name="celery-ping", daemon=True).start()
            if self._ping is None:
                return [], None
            return self._ping[1], self._ping[2]

    def check_broker(self, timeout: float = 2.0) -> str | None:
        """At start: None when the broker answers, else what to do about it. The app starts
        either way; jobs wait in the outbox until the broker is back."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=timeout)
        except Exception as error:
            return (
                f"The broker {self.broker_label} is unreachable ({type(error).__name__}: {error}). Check "
                "STUDIO_BROKER_URL and that Redis runs; jobs are kept and sent to the workers when it is back."
            )
        return None

    def _refresh_ping(self, timeout: float) -> None:
        try:
            replies = self.app.control.ping(timeout=timeout) or []
            names, error = sorted(name for reply in replies for name in reply), None
        except Exception as problem:
            names, error = [], f"{type(problem).__name__}: {problem}"
        with self._ping_lock:
            self._ping = (time.monotonic(), names, error)
            self._pinging = False

    def close(self) -> None:
        self.dispatcher.stop()
