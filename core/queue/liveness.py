"""Whether the worker that claimed a job still runs, from the id it wrote on the job row.

A worker id is `host:pid:token`. On this host the process table answers; a runner of this
very process is alive while it is registered here (an earlier runner, before a cache clear
or a restart of the studio, is not). Another host's worker can only be judged by its
heartbeat, which the callers check (storage/jobs.py).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid

import psutil

_LIVE_WORKERS: set[str] = set()
_LIVE_LOCK = threading.Lock()


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def register(worker_id: str) -> None:
    with _LIVE_LOCK:
        _LIVE_WORKERS.add(worker_id)


def unregister(worker_id: str) -> None:
    with _LIVE_LOCK:
        _LIVE_WORKERS.discard(worker_id)


def is_worker_alive(worker_id: str) -> bool:
    """Best knowledge of whether the worker that claimed a job still runs."""
    try:
        host, pid_text, _token = worker_id.split(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine's worker: only its heartbeat can tell
    if pid == os.getpid():
        with _LIVE_LOCK:
            return worker_id in _LIVE_WORKERS
    return psutil.pid_exists(pid)
