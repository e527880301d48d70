"""The app's own worker process (STUDIO_WORKER=process, the default).

The app starts `python -m core.queue.worker --parent-pid <its pid>` when its Studio is built,
which under `streamlit run Home.py` is when the server starts (Home.py's st.App lifespan),
not at the first page view. Posters are then drawn outside the Streamlit server: a page
rerun (every watching tab reruns its job tiles once a second) never holds the interpreter
lock a denoising step needs (BENCHMARKS.md, "Watching a job").

The child runs on the app's settings, passed in its environment. It
stops when the app stops it, and on its own when the app's process is gone
(core/queue/worker.py `--parent-pid`), so a killed server never leaves a second worker
holding the GPU. If it exits by itself it is started again, after a pause that grows while
it keeps failing fast.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
# Pauses before starting a child that exited by itself again; one that ran this long was
# healthy, and its next failure starts the pauses from the first again.
RESTART_PAUSES_S = (1.0, 5.0, 30.0, 60.0)
HEALTHY_AFTER_S = 120.0


class WorkerChild:
    def __init__(self, env: dict[str, str], poll_seconds: float = 0.5, stop_timeout: float = 10.0):
        """`env`: the child's environment, which holds the app's settings
        (core/settings.py `settings_environ`). `poll_seconds`: how often the idle child looks
        for queued jobs (nothing wakes it across processes). `stop_timeout`: how long a
        running job may take to finish when the app stops; a job still running then is
        failed by the next worker's recovery."""
        self.poll_seconds = poll_seconds
        self.stop_timeout = stop_timeout
        self.env = dict(env)
        # `-m core.queue.worker` must import the project from any working directory.
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), self.env.get("PYTHONPATH", "")) if p)
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.last_exit: int | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "core.queue.worker",
            "--parent-pid", str(os.getpid()),
            "--poll-seconds", str(self.poll_seconds),
            "--stop-timeout", str(self.stop_timeout),
        ]

    def start(self) -> "WorkerChild":
        self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="worker-child", daemon=True)
        self._supervisor.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self.process = subprocess.Popen(self.command(), env=self.env)
            self.starts += 1
        logger.info("worker process started (pid %d)", self.process.pid)

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            process = self.process
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            self.last_exit = code
            failures = 1 if time.monotonic() - started > HEALTHY_AFTER_S else failures + 1
            pause = RESTART_PAUSES_S[min(failures, len(RESTART_PAUSES_S)) - 1]
            logger.warning("worker process %d exited with %s; starting another in %.0f s", process.pid, code, pause)
            if self._stopping.wait(pause):
                return
            self._spawn()

    @property
    def state(self) -> str:
        """A few words for the sidebar."""
        process = self.process
        if process is None:
            return "not started"
        if process.poll() is None:
            return f"starting (pid {process.pid})"
        return f"exited with code {process.returncode}; starting again shortly (see the server log)"

    def stop(self) -> None:
        """SIGTERM the child and wait for it: it finishes a running job if that takes at most
        `stop_timeout` s, then exits."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(self.stop_timeout + 15)
        except subprocess.TimeoutExpired:
            logger.warning("worker process %d did not stop; killing it", process.pid)
            process.kill()
            process.wait()
