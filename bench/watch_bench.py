"""Does watching a job slow it down? Seconds per step of demo-model jobs while 0, 1 and 4
Streamlit sessions poll the Compose page, with Streamlit's post-script GC on and off.

    .venv/bin/python bench/watch_bench.py                        # the default worker process, 2 jobs a case
    .venv/bin/python bench/watch_bench.py --worker embedded --jobs 3 --steps 5 --watchers 0 1 4 --gc off on
    .venv/bin/python bench/watch_bench.py --worker external --gc on --watchers 0 4   # a worker started by hand

Issue 11 item 1: two tabs on Compose took a demo job from 3.5 s to 522 s. Every script or
fragment rerun ended in `gc.collect(2)` (`runner.postScriptGC`, on by default) over a heap
holding torch and diffusers, and each collection holds the GIL the worker thread needs.

The app runs in this one process, as in the server: the app's Studio is the one in
st.cache_resource, and each watcher is an AppTest session on
pages/compose.py showing the batch. A watcher reruns the whole page once a second (AppTest
cannot run a fragment alone), which is more work per poll than the page's 1 s fragment, so
the slowdown measured here is an upper bound. The watchers take turns in one thread, so the
polls add up as they would from several browser tabs served by one Python process.

`--worker process` (the default, STUDIO_WORKER=process): the app's Studio starts its own
worker process (core/queue/worker_child.py). `--worker embedded`: the worker is a thread of
this process, as it was before. `--worker external`: the app starts no worker and a
`python -m core.queue.worker` subprocess on the same data directory draws the posters.

The figure is the worker's own `step_mean_s` (the mean seconds of the denoising steps,
recorded with every job); the pipeline is loaded and one job run before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HOME = str(ROOT / "Home.py")


def queue_jobs(studio, count: int, steps: int, seed: int):
    from core.prompt.builder import ProductFields
    from core.services.compose import ComposeRequest, prepare, submit
    from core.access import unverified_actor

    product = ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now")
    request = ComposeRequest(product=product, draft_size=True, steps=steps, seed=seed, variants=count)
    recipe = prepare(request, studio.tokenizer)
    submission = submit(
        studio.queue, request, recipe, studio.models.image_model_id, studio.models.demo, actor=unverified_actor("bench")
    )
    studio.queue.notify(submission.job_ids)
    return submission


def wait_finished(studio, job_ids, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = studio.queue.job_states(job_ids)
        if states and all(state.status.finished for state in states):
            return states
        time.sleep(0.2)
    for job_id in job_ids:  # over budget: stop the rest, report what finished
        studio.queue.request_cancel(job_id)
    return wait_finished(studio, job_ids, 600)


def run_case(watchers: int, post_script_gc: bool, jobs: int, steps: int, timeout: float, worker_mode: str,
             pin: bool = False) -> dict:
    import streamlit as st
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    config.set_option("runner.postScriptGC", post_script_gc)
    st.cache_resource.clear()
    os.environ["STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="watch_bench_")
    os.environ["STUDIO_WORKER"] = worker_mode
    worker = None
    if pin:
        # One core for the app and its watchers, one for the worker; in one process (embedded)
        # both cores, so the worker thread never waits for a core, only for the GIL.
        os.sched_setaffinity(0, {0, 1} if worker_mode == "embedded" else {0})
    if worker_mode == "external":
        worker = subprocess.Popen([sys.executable, "-m", "core.queue.worker", "--poll-seconds", "0.2"], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
        if pin:
            os.sched_setaffinity(worker.pid, {1})
    home = AppTest.from_file(HOME, default_timeout=600)
    home.run()  # builds the app's Studio (and starts its worker process or thread)
    from pages.ui.shared import get_studio

    studio = get_studio()
    if pin and studio.worker_child is not None:
        os.sched_setaffinity(studio.worker_child.process.pid, {1})  # while it still imports torch
    try:
        wait_finished(studio, queue_jobs(studio, 1, steps, seed=1).job_ids, timeout)  # load + first run

        submission = queue_jobs(studio, jobs, steps, seed=100)
        sessions = []
        for _ in range(watchers):
            at = AppTest.from_file(HOME, default_timeout=600)
            at.run()
            at.switch_page("pages/compose.py")
            at.session_state["compose_batch"] = submission.job_ids
            at.session_state["compose_group"] = submission.variant_group
            sessions.append(at)
        stop = threading.Event()
        polls = [0]

        def watch() -> None:
            while not stop.is_set():
                tick = time.monotonic()
                for at in sessions:
                    at.run()
                    polls[0] += 1
                stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

        watcher = threading.Thread(target=watch, daemon=True)
        started = time.monotonic()
        if sessions:
            watcher.start()
        states = wait_finished(studio, submission.job_ids, timeout)
        wall = time.monotonic() - started
        stop.set()
        if sessions:
            watcher.join(60)
        done = [s for s in states if s.status == "done"]
        step_means = [s.timings["step_mean_s"] for s in done]
        return {
            "watchers": watchers,
            "post_script_gc": post_script_gc,
            "jobs_done": f"{len(done)}/{len(states)}",
            "step_mean_s": round(statistics.mean(step_means), 3) if step_means else None,
            "wall_s": round(wall, 1),
            "polls": polls[0],
        }
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(300)
        studio.close()
        st.cache_resource.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--watchers", type=int, nargs="+", default=[0, 1, 4])
    parser.add_argument("--gc", nargs="+", choices=["off", "on"], default=["off", "on"],
                        help="runner.postScriptGC values to measure (the config now says off)")
    parser.add_argument("--worker", choices=["process", "embedded", "external"], default="process")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a case may take before it is cut")
    parser.add_argument("--pin", action="store_true",
                        help="torch on 1 thread; the worker on core 1, the app and watchers on core 0 (2 cores and "
                             "one process: both cores). Separates waiting for the GIL from waiting for a core")
    args = parser.parse_args()
    if args.pin:
        os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported, here and in any worker process
        import torch

        torch.set_num_threads(1)

    from core.render.demo_models import ensure_demo_models

    os.environ.update({"STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu", "STUDIO_TEXT_CHECK": "0", "HF_HUB_OFFLINE": "1"})
    os.environ.pop("DATABASE_URL", None)
    models = Path(tempfile.mkdtemp(prefix="watch_bench_models_"))
    ensure_demo_models(models)
    os.environ["STUDIO_DEMO_MODELS_DIR"] = str(models)

    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.processor() or platform.machine()} · "
          f"{os.cpu_count()} CPUs · load average {os.getloadavg()[0]:.1f} · {args.jobs} jobs x {args.steps} steps, "
          f"draft size, demo models, {args.worker} worker{', pinned' if args.pin else ''}", flush=True)
    print("postScriptGC | watchers | s/step | vs 0 watchers | jobs | wall s | page runs", flush=True)
    for gc_value in args.gc:
        baseline = None
        for watchers in args.watchers:
            row = run_case(watchers, gc_value == "on", args.jobs, args.steps, args.timeout, args.worker, args.pin)
            if baseline is None and row["step_mean_s"]:
                baseline = row["step_mean_s"]
            ratio = f"{row['step_mean_s'] / baseline:.2f}x" if baseline and row["step_mean_s"] else "-"
            print(f"{gc_value:12} | {watchers:8} | {row['step_mean_s']} | {ratio} | {row['jobs_done']} | "
                  f"{row['wall_s']} | {row['polls']}", flush=True)


if __name__ == "__main__":
    main()
