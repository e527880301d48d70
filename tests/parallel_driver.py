"""One rank of a process group drawing one poster on the demo models, for tests/test_parallel.py.

    python -m tests.parallel_driver --rank R --devices cpu,cpu --mode cfg --port P --model DIR --out DIR

Every rank loads the pipeline through `core.render.pipeline.load_pipeline(..., parallel=group)`,
as the worker does; rank 0 draws the request and writes the poster's PNG (and its pixels as
.npy) to --out, the others follow (`core.render.parallel.follow`) until rank 0 says stop.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--devices", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--request", required=True, help="the GenerationRequest's fields as JSON")
    parser.add_argument(
        "--cpu-context-parallel", action="store_true",
        help="let diffusers' context parallelism run on CPU (see core/render/parallel.py for why it cannot as is)",
    )
    args = parser.parse_args()

    import torch

    from core.render.generate import GenerationRequest, generate
    from core.render.parallel import ParallelLayout, follow, join_group, leave_group, send_job
    from core.render.pipeline import load_pipeline
    from storage.files import png_bytes

    devices = tuple(args.devices.split(","))
    if args.cpu_context_parallel:
        # diffusers 0.42.1 `_resolve_parallel_config` takes `rank % torch.accelerator.device_count()`,
        # 0 without an accelerator; the device it computes is only recorded, never used. The
        # layout's CUDA-only check is skipped the same way, by building it for "cuda" first.
        torch.accelerator.device_count = lambda: 1
        layout = object.__new__(ParallelLayout)
        object.__setattr__(layout, "mode", args.mode)
        object.__setattr__(layout, "devices", devices)
    else:
        layout = ParallelLayout(args.mode, devices)
    group = join_group(layout, args.rank, "127.0.0.1", args.port)
    try:
        pipe = load_pipeline(args.model, group.device, parallel=group)
        if not group.is_leader:
            follow(pipe, group, generate)
            return
        request = GenerationRequest(**json.loads(args.request))
        result = generate(pipe, request)
        send_job(group, None)
        out = Path(args.out)
        (out / "poster.png").write_bytes(png_bytes(result.image))
        np.save(out / "pixels.npy", np.asarray(result.image))
    finally:
        leave_group()


if __name__ == "__main__":
    main()
