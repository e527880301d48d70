"""The poster worker as its own process: `python -m core.queue.worker`.

It reads the same settings as the app (STUDIO_DATA_DIR, DATABASE_URL, STUDIO_DEMO, ...),
claims jobs from the same database, loads the pipeline once and runs every job and its text
check, until SIGTERM or SIGINT. By default the app starts one of these itself and stops it
with itself (STUDIO_WORKER=process, core/queue/worker_child.py). Started by hand, for more
workers or other machines, run the app with STUDIO_WORKER=external so it starts none.

At its start, and every minute while idle, it marks jobs that a dead worker left `running`
as failed; jobs of live workers (same host: their process exists; other hosts: a fresh
heartbeat) are left alone. A job running when the signal comes is finished first, if it
finishes within `--stop-timeout` seconds; otherwise it is left for that recovery.

`--parallel cfg --gpus 0,1` (or `--devices cpu,cpu`) draws each poster on several devices at
once; this process stays the one worker the queue sees (core/queue/parallel_worker.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading

from core.queue.parallel_worker import group_settings, start_group, stop_group
from core.queue.report import WorkerReporter, gpu_label
from core.render.parallel import PARALLEL_MODES, ParallelLayout, parse_devices
from core.services.studio import Studio
from core.settings import load_settings
from storage.db import DatabaseUnavailable, safe_url

logger = logging.getLogger("core.queue.worker")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the poster worker in its own process.")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="how often the queue is polled when idle")
    parser.add_argument("--stop-timeout", type=float, default=120.0, help="seconds to let a running job finish on stop")
    parser.add_argument("--parallel", choices=PARALLEL_MODES, default=None,
                        help="draw each poster on several devices: cfg (the two guidance branches at once, 2 devices) "
                             "or cfg+ulysses (each branch's tokens split too, 4 GPUs)")
    parser.add_argument("--gpus", default=None, help="with --parallel: the CUDA devices, e.g. 0,1")
    parser.add_argument("--devices", default=None, help="with --parallel: device names instead, e.g. cpu,cpu")
    parser.add_argument("--master-port", type=int, default=None, help="the group's rendezvous port (default: a free one)")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="stop when this process is gone (the app that started this worker: core/queue/worker_child.py)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        logger.info("%s received: stopping after the current job", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.parent_pid is not None:
        threading.Thread(target=watch_parent, args=(args.parent_pid, stop), name="parent-watch", daemon=True).start()

    settings = load_settings()
    if settings.queue == "celery":
        parser.error("STUDIO_QUEUE=celery: start the workers with `celery -A core.queue.celery_worker worker` (README).")
    group = None
    if args.parallel:
        # One process group draws each poster; this process is its rank 0 and the only one
        # the queue sees (core/queue/parallel_worker.py).
        try:
            layout = ParallelLayout(args.parallel, parse_devices(args.gpus, args.devices))
        except ValueError as error:
            parser.error(str(error))
        settings = group_settings(settings, layout)
        group = start_group(layout, args.master_port)
    elif args.gpus or args.devices:
        parser.error("--gpus and --devices go with --parallel; for one GPU set CUDA_VISIBLE_DEVICES")

    # Briefs are written by the app, so this process never compiles the brief model.
    try:
        studio = Studio(settings, start_worker=False, serves_briefs=False, poll_seconds=args.poll_seconds,
                        parallel=group.group if group else None)
    except DatabaseUnavailable as error:
        logger.error("%s", error)  # what to fix, without a traceback
        if group is not None:
            stop_group(group)
        raise SystemExit(2) from None
    reporter = WorkerReporter(studio.db, studio.runner, socket.gethostname(), gpu_label(studio.settings.device)).start()
    studio.start_worker()  # recovers interrupted jobs first
    logger.info("worker %s started on %s", studio.runner.worker_id, safe_url(studio.settings.database_url))
    try:
        stop.wait()
    finally:
        studio.runner.stop(timeout=args.stop_timeout)
        if group is not None:
            stop_group(group)  # after the runner: its last job needs every rank
        reporter.stop()
        studio.close()
        logger.info("worker stopped")


def watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """Stop once the app that started this worker is gone: when a process dies, its children
    are handed to another parent. A killed server so never leaves its worker holding the GPU
    beside the next server's."""
    while not stop.wait(1.0):
        if os.getppid() != parent_pid:
            logger.warning("the app (pid %d) that started this worker is gone: stopping", parent_pid)
            stop.set()


if __name__ == "__main__":
    main()
