"""The outbox: jobs written while the broker was down are sent when it is back.

Compose writes the job rows first and then sends one task per job. If the broker cannot be
reached the rows stay `queued`, with `dispatch_error` saying so (the Compose tile shows it),
and this thread sends them later (brief jobs too, storage/brief_jobs.py). It leans on the engine's own retry: each send is Celery's
`send_task` with kombu's retry policy, and a failed round is simply tried again after
`interval_s`. It also sends again the task of a job that waits too long (a broker that lost
its messages) or runs with a stale heartbeat (a worker died and its task did not come
back); a task delivered twice is harmless (storage/jobs.py `claim_job`).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

from storage import brief_jobs as brief_rows
from storage import jobs as job_rows
from storage.db import Database

logger = logging.getLogger(__name__)

# Sends the task of one job id; raises when the broker cannot be reached.
SendTask = Callable[[int], None]


class Dispatcher:
    def __init__(
        self,
        db: Database,
        send: SendTask,
        unavailable_message: str,
        send_brief: SendTask | None = None,
        interval_s: float = 3.0,
        resend_after: timedelta = timedelta(hours=2),
        stale_after: timedelta = timedelta(minutes=10),
    ):
        self.db = db
        self.send = send
        self.send_brief = send_brief
        self.unavailable_message = unavailable_message
        self.interval_s = interval_s
        self.resend_after = resend_after
        self.stale_after = stale_after
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Dispatcher":
        self._thread = threading.Thread(target=self._loop, name="job-dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatch_once()
            except Exception:  # a database hiccup must not end the outbox
                logger.exception("dispatch round failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def dispatch_once(self) -> int:
        """Send every job that needs its task; returns how many were sent. Stops at the first
        failure: the broker is down, and the rest would fail the same way."""
        now = datetime.now(timezone.utc)
        due = job_rows.jobs_to_dispatch(self.db, now - self.resend_after, now - self.stale_after)
        sent = 0
        for job_id in due:
            if self._stop.is_set():
                break
            try:
                self.send(job_id)
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                logger.warning("broker unavailable, %d job(s) wait to be sent: %s", len(due) - sent, self.last_error)
                job_rows.mark_dispatch_failed(self.db, due[sent:], self.unavailable_message)
                return sent
            job_rows.mark_dispatched(self.db, [job_id])
            sent += 1
        if self.send_brief is not None:
            for brief_job_id in brief_rows.undispatched_brief_job_ids(self.db):
                try:
                    self.send_brief(brief_job_id)
                except Exception as error:
                    self.last_error = f"{type(error).__name__}: {error}"
                    brief_rows.mark_brief_dispatch_failed(self.db, brief_job_id, self.unavailable_message)
                    return sent
                brief_rows.mark_brief_dispatched(self.db, brief_job_id)
                sent += 1
        if sent:
            logger.info("sent %d job(s) to the broker", sent)
        self.last_error = None
        return sent
