"""The poster worker as its own process: `python -m core.queue.worker`.

It reads the same settings as the app (STUDIO_DATA_DIR, DATABASE_URL, STUDIO_DEMO, ...),
claims jobs from the same database, loads the pipeline once and runs every job and its text
check, until SIGTERM or SIGINT. Run the app with STUDIO_WORKER=external so it starts no
worker of its own; the GPU work then stays out of the Streamlit server entirely.

At its start it marks jobs that a dead worker left `running` as failed; jobs of live
workers (same host: their process exists; other hosts: a fresh heartbeat) are left alone.
A job running when the signal comes is finished first, if it finishes within
`--stop-timeout` seconds; otherwise it is left for the next start's recovery.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading

from core.queue.report import WorkerReporter, gpu_label
from core.services.studio import Studio
from core.settings import load_settings
from storage.db import DatabaseUnavailable, safe_url

logger = logging.getLogger("core.queue.worker")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the poster worker in its own process.")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="how often the queue is polled when idle")
    parser.add_argument("--stop-timeout", type=float, default=120.0, help="seconds to let a running job finish on stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        logger.info("%s received: stopping after the current job", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # Briefs are written by the app, so this process never compiles the brief model.
    try:
        studio = Studio(load_settings(), start_worker=False, serves_briefs=False, poll_seconds=args.poll_seconds)
    except DatabaseUnavailable as error:
        logger.error("%s", error)  # what to fix, without a traceback
        raise SystemExit(2) from None
    if studio.settings.queue == "celery":
        parser.error("STUDIO_QUEUE=celery: start the workers with `celery -A core.queue.celery_worker worker` (README).")
    reporter = WorkerReporter(studio.db, studio.runner, socket.gethostname(), gpu_label(studio.settings.device)).start()
    studio.start_worker()  # recovers interrupted jobs first
    logger.info("worker %s started on %s", studio.runner.worker_id, safe_url(studio.settings.database_url))
    try:
        stop.wait()
    finally:
        studio.runner.stop(timeout=args.stop_timeout)
        reporter.stop()
        studio.close()
        logger.info("worker stopped")


if __name__ == "__main__":
    main()
