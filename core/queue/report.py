"""A worker process's report of itself, written to the `workers` table every few seconds
(storage/workers.py), so the app can show which workers run, on which GPU, in what state."""

from __future__ import annotations

import logging
import socket
import threading

from storage import workers as worker_rows
from storage.db import Database

logger = logging.getLogger(__name__)


def gpu_label(device: str) -> str:
    """The card this process draws on ('cpu' without one). Imports torch: call it in the
    worker process only."""
    if device != "cuda":
        return "cpu"
    try:
        import torch

        return torch.cuda.get_device_name(torch.cuda.current_device())
    except Exception:
        return "cuda (unknown card)"


class WorkerReporter:
    def __init__(self, db: Database, runner, name: str, gpu: str, interval_s: float = 5.0):
        self.db = db
        self.runner = runner  # core/queue/runner.py JobRunner: worker_id, model_state, current_job_id
        self.name = name
        self.gpu = gpu
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def report_now(self) -> None:
        worker_rows.report(self.db, self.runner.worker_id, socket.gethostname(), self.name, self.gpu,
                           self.runner.model_state, self.runner.current_job_id)

    def start(self) -> "WorkerReporter":
        self._thread = threading.Thread(target=self._loop, name="worker-report", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.report_now()
            except Exception:  # the report is for people; it must never stop a worker
                logger.exception("worker report failed")
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        try:
            worker_rows.mark_stopped(self.db, self.runner.worker_id)
        except Exception:
            logger.exception("could not mark the worker stopped")
