"""Real Celery workers and a Redis of the test's own, for the queue tests.

The machine's Redis (127.0.0.1:6379) is used through a database number of the test's own,
emptied after it; a test that must stop Redis starts its own redis-server on a free port.
Workers are real `celery -A core.queue.celery_worker worker` processes on the demo models.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MACHINE_REDIS = ("127.0.0.1", 6379)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_reachable(host: str, port: int) -> str | None:
    """None when a Redis answers PING there, else what went wrong."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as conn:
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError as error:
        return str(error)
    return None if reply.startswith(b"+PONG") else f"unexpected reply {reply!r}"


def machine_redis_url() -> str:
    """A database number of the machine's Redis for one test (emptied by `flush`)."""
    problem = redis_reachable(*MACHINE_REDIS)
    if problem:
        pytest.skip(f"Redis not reachable at {MACHINE_REDIS[0]}:{MACHINE_REDIS[1]} ({problem}): the queue tests need it")
    return f"redis://{MACHINE_REDIS[0]}:{MACHINE_REDIS[1]}/{random.randint(1, 15)}"


def flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


class OwnRedis:
    """A redis-server of the test's own on a free port, which the test may stop and start."""

    def __init__(self, workdir: Path):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed: the broker-outage test starts its own")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_reachable("127.0.0.1", self.port) is None, 20, "own redis-server to start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        wait_until(lambda: redis_reachable("127.0.0.1", self.port) is not None, 20, "own redis-server to stop")


def wait_until(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class CeleryWorker:
    """`celery -A core.queue.celery_worker worker -Q gpu -P prefork -c 1 -n NAME@%h`."""

    def __init__(self, env: dict[str, str], name: str, log_path: Path):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "core.queue.celery_worker", "worker", "-Q", "gpu",
             "-P", "prefork", "-c", "1", "-n", f"{name}@%h", "--loglevel", "INFO", "--without-gossip",
             "--without-mingle"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def log_tail(self, chars: int = 4000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def pool_pids(self) -> list[int]:
        import psutil

        try:
            return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def stop(self) -> None:
        import psutil

        pool = self.pool_pids()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: the current task ends first
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for pid in pool:  # a pool process must not outlive its parent
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
        self.log.close()


def wait_for_ready_workers(db, count: int, timeout: float = 240.0) -> list:
    """Until `count` workers have reported their model loaded (storage/workers.py)."""
    from storage.workers import fresh_workers

    return wait_until(
        lambda: (lambda ready: ready if len(ready) >= count else None)(
            [w for w in fresh_workers(db) if w.model_state.startswith("loaded")]
        ),
        timeout,
        f"{count} Celery worker(s) to load the demo pipeline",
        interval=0.5,
    )
