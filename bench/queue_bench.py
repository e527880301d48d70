"""What the Celery queue adds to a job, and whether work spreads over worker processes.

    .venv/bin/python bench/queue_bench.py                       # latency: 15 jobs each way; throughput: 12 jobs on 1 and 2 workers
    .venv/bin/python bench/queue_bench.py --latency-jobs 5 --throughput-jobs 4 --workers 1   # a quick check

Latency: a job is queued (the Generate click: the rows are written and the task sent) on an
idle worker, and its rows say when it was written (`created_at`), when a worker claimed it
(`started_at`) and how long after the claim its first denoising step ended (`first_step_s`,
core/queue/runner.py). "Click to first step" is their sum; the added latency of a queue is
its difference to the embedded worker thread's, on the same demo model. One job at a time,
each waiting for the last, so nothing queues behind anything.

Throughput: N jobs queued at once on 1 and on 2 `celery worker` processes; posters per
minute from the first click to the last poster. On a 2-core CPU box the workers share the
cores, so this shows the work spreading, not GPU scaling (that is the multi-GPU issue's).

Uses the machine's Redis (STUDIO_BROKER_URL, default redis://127.0.0.1:6379/<db 14>; the
database is emptied after) and a temporary SQLite data directory; demo models, text check off.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def environment(data_dir: Path, demo_dir: Path, queue: str, broker: str) -> dict[str, str]:
    return {
        "STUDIO_DATA_DIR": str(data_dir),
        "STUDIO_DEMO": "1",
        "STUDIO_DEVICE": "cpu",
        "STUDIO_DEMO_MODELS_DIR": str(demo_dir),
        "STUDIO_TEXT_CHECK": "0",
        "STUDIO_QUEUE": queue,
        # The recorded latency row is the app's own worker thread.
        "STUDIO_WORKER": "embedded",
        "STUDIO_BROKER_URL": broker,
        "HF_HUB_OFFLINE": "1",
    }


def job_timeline(db, job_id: int) -> tuple[float, float]:
    """(click to claim, click to first step) in seconds, from the job's row."""
    from storage.models import Job

    with db.reader() as session:
        job = session.get(Job, job_id)
        created, started = job.created_at, job.started_at
        claim = (started - created).total_seconds()
        return claim, claim + float(job.timings.get("first_step_s", 0.0))


def run_latency(studio, count: int, steps: int) -> list[tuple[float, float]]:
    from tests.helpers import small_recipe, wait_for_jobs

    results = []
    for index in range(count + 1):
        (job_id,) = studio.queue.enqueue(small_recipe(steps=steps, seed=index, width=256, height=256), [index]).job_ids
        (state,) = wait_for_jobs(studio.db, [job_id], timeout=300)
        assert state.status == "done", state.error
        if index:  # the first job pays one-off costs (first forward, allocator); not counted
            results.append(job_timeline(studio.db, job_id))
    return results


def run_throughput(studio, count: int, steps: int) -> float:
    from tests.helpers import small_recipe, wait_for_jobs

    start = time.perf_counter()
    queued = studio.queue.enqueue(small_recipe(steps=steps, seed=1, width=512, height=512), list(range(count)))
    states = wait_for_jobs(studio.db, queued.job_ids, timeout=1800)
    seconds = time.perf_counter() - start
    assert all(s.status == "done" for s in states), [s.error for s in states]
    return count / seconds * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-jobs", type=int, default=15)
    parser.add_argument("--throughput-jobs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads-per-worker", type=int, default=0,
                        help="torch threads per worker process in the throughput runs (0: the cores divided among the workers)")
    parser.add_argument("--broker", default=os.environ.get("STUDIO_BROKER_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()

    from core.render.demo_models import ensure_demo_models
    from core.services.studio import Studio
    from core.settings import load_settings
    from tests.celery_helpers import CeleryWorker, flush, wait_for_ready_workers

    root = Path(tempfile.mkdtemp(prefix="queue-bench-"))
    demo_dir = root / "demo_models"
    ensure_demo_models(demo_dir)
    rows = []
    load_before = os.getloadavg()[0]

    # 1. Latency, embedded worker thread.
    env = environment(root / "embedded", demo_dir, "sql", args.broker)
    os.environ.update(env)
    studio = Studio(load_settings(env))
    embedded = run_latency(studio, args.latency_jobs, args.steps)
    studio.close()

    # 2. Latency, one Celery worker process.
    env = environment(root / "celery", demo_dir, "celery", args.broker)
    os.environ.update(env)
    studio = Studio(load_settings(env))
    workers = [CeleryWorker(env, "gpu0", root / "gpu0.log")]
    try:
        wait_for_ready_workers(studio.db, 1)
        celery = run_latency(studio, args.latency_jobs, args.steps)
    finally:
        for worker in workers:
            worker.stop()
        studio.close()
        flush(args.broker)

    for name, samples in (("embedded worker thread", embedded), ("Celery worker process", celery)):
        claims = [c for c, _ in samples]
        firsts = [f for _, f in samples]
        rows.append(
            f"| {name} | {statistics.median(claims) * 1000:.0f} ms | {statistics.median(firsts) * 1000:.0f} ms "
            f"| {max(firsts) * 1000:.0f} ms | {len(samples)} |"
        )
    added = statistics.median(f for _, f in celery) - statistics.median(f for _, f in embedded)

    # 3. Throughput on 1 and 2 worker processes.
    throughput = []
    cores = os.cpu_count() or 1
    for count in args.workers:
        env = environment(root / f"throughput-{count}", demo_dir, "celery", args.broker)
        # Two torch processes each spinning as many threads as there are cores oversubscribe
        # the box (measured: 2 workers at 0.32x of 1); a CPU host splits its cores instead.
        threads = args.threads_per_worker or max(cores // count, 1)
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
        os.environ.update(env)
        studio = Studio(load_settings(env))
        workers = [CeleryWorker(env, f"gpu{i}", root / f"tp{count}-gpu{i}.log") for i in range(count)]
        try:
            wait_for_ready_workers(studio.db, count)
            throughput.append((count, run_throughput(studio, args.throughput_jobs, args.steps)))
        finally:
            for worker in workers:
                worker.stop()
            studio.close()
            flush(args.broker)

    print(f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, CPU only; "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"- Command: `.venv/bin/python bench/queue_bench.py --latency-jobs {args.latency_jobs} "
          f"--throughput-jobs {args.throughput_jobs} --steps {args.steps}`; demo models, text check off, broker {args.broker}")
    print()
    print("| worker | click to claim (median) | click to first step (median) | worst | jobs |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(f"Added latency of the Celery queue, click to first step, median: **{added * 1000:.0f} ms**")
    print()
    print("| Celery worker processes | torch threads each | posters per minute | vs 1 |")
    print("|---|---|---|---|")
    base = throughput[0][1] if throughput else 1.0
    for count, per_minute in throughput:
        threads = args.threads_per_worker or max(cores // count, 1)
        print(f"| {count} | {threads} | {per_minute:.1f} | {per_minute / base:.2f}x |")


if __name__ == "__main__":
    main()
