"""One job worker driving several devices: the process group behind `--parallel`.

    python -m core.queue.worker --gpus 0,1 --parallel cfg             # guidance split, 2 GPUs
    python -m core.queue.worker --gpus 0,1,2,3 --parallel cfg+ulysses  # + Ulysses, 4 GPUs
    python -m core.queue.worker --devices cpu,cpu --parallel cfg      # the same on CPU (tests)

The worker process is rank 0: it claims jobs, writes progress, reads cancel requests and
stores posters, exactly like a one-device worker, so the app and the queue see one worker.
`start_group` starts the other ranks as processes of this module (`python -m
core.queue.parallel_worker --rank N ...`, with the worker's environment, so the same
settings); each loads the same pipeline on its own device and then follows rank 0: it gets
each job's request, draws its part, and waits for the next (core/render/parallel.py). When
the worker stops, `stop_group` tells them to stop and waits for them.

The followers never touch the database or the image store.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import subprocess
import sys
from dataclasses import dataclass

from core.render.parallel import (
    ParallelGroup,
    ParallelLayout,
    follow,
    free_port,
    group_address,
    join_group,
    leave_group,
    send_job,
)
from core.settings import Settings, load_settings

logger = logging.getLogger(__name__)


@dataclass
class RunningGroup:
    group: ParallelGroup  # rank 0's place in it
    followers: list[subprocess.Popen]


def group_settings(settings: Settings, layout: ParallelLayout) -> Settings:
    """The settings a rank loads with: the layout's device kind ("cuda" means the rank's own card)."""
    return dataclasses.replace(settings, device=layout.device_type)


def start_group(layout: ParallelLayout, port: int | None = None) -> RunningGroup:
    """Start ranks 1..N-1 and join as rank 0; returns once all have joined (they load their
    pipelines after that, while rank 0 loads its own)."""
    port = port or free_port()
    address = group_address()
    followers = []
    for rank in range(1, layout.world_size):
        command = [
            sys.executable, "-m", "core.queue.parallel_worker", "--rank", str(rank),
            "--devices", ",".join(layout.devices), "--parallel", layout.mode,
            "--address", address, "--port", str(port),
        ]
        followers.append(subprocess.Popen(command))
    try:
        group = join_group(layout, 0, address, port)
    except BaseException:
        stop_followers(followers, timeout=5.0)
        raise
    return RunningGroup(group=group, followers=followers)


def stop_group(running: RunningGroup, timeout: float = 60.0) -> None:
    """Tell the followers to stop (after rank 0's last job), then wait for them."""
    try:
        send_job(running.group, None)
    except Exception:
        logger.exception("could not tell the other ranks to stop; ending them")
    stop_followers(running.followers, timeout)
    leave_group()


def stop_followers(followers: list[subprocess.Popen], timeout: float) -> None:
    for process in followers:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("rank process %s did not stop in %.0f s; killing it", process.pid, timeout)
            process.kill()
            process.wait()


def run_follower(rank: int, layout: ParallelLayout, address: str, port: int) -> None:
    """A follower's whole life: join, load the pipeline as rank 0 does, follow until stop."""
    from core.render.generate import generate
    from core.services.studio import device_memory, load_image_pipeline, plan_image_pipeline, resolve_models

    group = join_group(layout, rank, address, port)
    try:
        settings = group_settings(load_settings(), layout)
        models = resolve_models(settings)
        plan = plan_image_pipeline(settings, models, device_memory(settings))
        pipe = load_image_pipeline(settings, models, plan, parallel=group)
        follow(pipe, group, generate)
    finally:
        leave_group()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One follower rank of a parallel poster worker (started by it).")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--devices", required=True)
    parser.add_argument("--parallel", required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s rank{args.rank} %(levelname)s %(name)s: %(message)s")
    # Ctrl-C or a service manager's SIGTERM reaches every process of the group; rank 0 then
    # finishes its job, which needs this rank, and ends it with its stop message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    layout = ParallelLayout(args.parallel, tuple(args.devices.split(",")))
    run_follower(args.rank, layout, args.address, args.port)


if __name__ == "__main__":
    main()
