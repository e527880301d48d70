"""One poster on several devices: the guidance split (CFG-parallel), and Ulysses on top.

QwenImagePipeline runs the two guidance branches of a step one after the other: the prompt
(about 400 text tokens) and then the negative prompt (8 tokens), on the same latents. They do
not depend on each other, so with two devices each runs one branch at the same time:

1. Every rank runs the pipeline's own call with the same inputs and seed.
2. In each step the first transformer call (the prompt's) runs on every rank, but a rank of
   the negative branch feeds it the negative prompt instead (`CfgSplit`).
3. The two predictions are all-gathered, so every rank holds both; the pipeline then makes
   its own second call, which gets the gathered negative half, and combines them with its
   own code (true_cfg_scale, then the norm rescale): nothing of the formula is copied here.
4. At the end of each step rank 0 broadcasts its latents and its cancel decision
   (`share_step`), so every rank steps from rank 0's latents and all stop together.

Rank 0 decodes and returns the image; the others return nothing. The predictions are the
single-process ones (the same forward on the same inputs), so the image is too: on CPU the
PNG is bitwise equal (tests/test_parallel.py).

`cfg+ulysses` (4 or more CUDA devices) splits each branch's sequence over `ulysses` ranks
with diffusers' own context-parallel plan for QwenImageTransformer2DModel, in its uneven mode
(`ulysses_anything`: 1328x1328 gives 6,889 image tokens, which no even split divides).
Ranks [0, u) draw the prompt's branch, [u, 2u) the negative one; rank r exchanges its
prediction with rank r +- u. It runs on CUDA only, for three reasons found on CPU with
diffusers 0.42.1 (tests/test_parallel.py keeps the first two as facts):
  - `enable_parallelism` computes `rank % torch.accelerator.device_count()`, which is a
    ZeroDivisionError where there is no accelerator;
  - with a plain "gloo" group, its size exchange (`gather_size_by_comm`) allocates on the
    accelerator of a CUDA build ("Found no NVIDIA driver"); "cpu:gloo" avoids that;
  - gloo's all_gather needs equal sizes, so the uneven split of the output fails there
    ("invalid tensor size"); NCCL gathers uneven pieces.

A process group is built by `join_group` in each rank's process; the job worker starts them
(core/queue/parallel_worker.py). Rank 0 talks to the queue and sends each job's request to
the others (`send_job`), which wait for it in `follow`.
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from core.render.guidance_calls import GuidanceCalls

logger = logging.getLogger(__name__)

PARALLEL_MODES = ("cfg", "cfg+ulysses")
# The two guidance branches: the prompt's and the negative prompt's.
CFG_DEGREE = 2
# A collective that waits longer than this means a rank died or hung mid-poster; the group
# then fails instead of waiting for ever. A 1328x1328 step takes under a second on a GPU.
STEP_TIMEOUT = datetime.timedelta(minutes=10)
# Followers wait for rank 0's next job on their own group, for as long as the worker idles.
# A follower whose rank 0 dies still stops at once: its socket closes.
IDLE_TIMEOUT = datetime.timedelta(days=30)


class PeerFailed(RuntimeError):
    """Another rank of the group failed this poster; its own log says why."""


@dataclass(frozen=True)
class ParallelLayout:
    """Which devices draw one poster, and how the work is split over them."""

    mode: str
    devices: tuple[str, ...]  # "cuda:0", "cuda:1", ... or "cpu", "cpu"

    def __post_init__(self):
        if self.mode not in PARALLEL_MODES:
            raise ValueError(f"--parallel must be one of {', '.join(PARALLEL_MODES)}, not {self.mode!r}")
        kinds = {device.split(":")[0] for device in self.devices}
        if len(kinds) != 1 or not kinds <= {"cuda", "cpu"}:
            raise ValueError(f"the devices must be all CUDA GPUs or all cpu, not {', '.join(self.devices)}")
        if self.mode == "cfg" and len(self.devices) != CFG_DEGREE:
            raise ValueError(f"--parallel cfg draws the two guidance branches on 2 devices, not {len(self.devices)}")
        if self.mode == "cfg+ulysses":
            if len(self.devices) < 4 or len(self.devices) % CFG_DEGREE:
                raise ValueError(f"--parallel cfg+ulysses needs an even number of at least 4 devices, "
                                 f"not {len(self.devices)}")
            if self.device_type != "cuda":
                raise ValueError(
                    "--parallel cfg+ulysses runs on CUDA GPUs only: diffusers 0.42.1's context parallelism "
                    "cannot run on CPU (core/render/parallel.py says why)"
                )

    @property
    def world_size(self) -> int:
        return len(self.devices)

    @property
    def device_type(self) -> str:
        return self.devices[0].split(":")[0]

    @property
    def ulysses_degree(self) -> int:
        return self.world_size // CFG_DEGREE if self.mode == "cfg+ulysses" else 1

    def branch(self, rank: int) -> int:
        """0: the prompt's branch; 1: the negative prompt's."""
        return rank // self.ulysses_degree


def parse_devices(gpus: str | None = None, devices: str | None = None) -> tuple[str, ...]:
    """`--gpus 0,1` (CUDA indices) or `--devices cpu,cpu` (device names) as device names."""
    if gpus:
        return tuple(f"cuda:{int(index)}" for index in gpus.split(","))
    if devices:
        return tuple(name.strip() for name in devices.split(","))
    raise ValueError("name the devices with --gpus 0,1 or --devices cpu,cpu")


@dataclass
class ParallelGroup:
    """This process's place in the group that draws each poster."""

    layout: ParallelLayout
    rank: int
    # The ranks this one exchanges its guidance branch with (2 ranks: the other branch).
    cfg_group: object
    # Jobs and stop messages from rank 0; a long timeout, since followers idle in it.
    control_group: object
    # diffusers' context-parallel mesh ("cfg", "ring", "ulysses"), with Ulysses only.
    mesh: object = None

    @property
    def is_leader(self) -> bool:
        return self.rank == 0

    @property
    def branch(self) -> int:
        return self.layout.branch(self.rank)

    @property
    def device(self) -> str:
        """What the loader is given: "cuda" (this rank's card is the current device) or "cpu"."""
        return self.layout.device_type

    def agree(self, ok: bool) -> bool:
        """Whether every rank got here without an error. A host-side exchange (gloo), so it
        never waits on the GPU."""
        flag = torch.tensor([0 if ok else 1], dtype=torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) == 0


def join_group(layout: ParallelLayout, rank: int, address: str, port: int) -> ParallelGroup:
    """Join the group as `rank`; returns when every rank has joined. On CUDA the rank's card
    becomes the current device, so the loader's plain "cuda" means that card."""
    backend = "cpu:gloo"
    if layout.device_type == "cuda":
        torch.cuda.set_device(torch.device(layout.devices[rank]))
        # NCCL for the tensors on the GPUs, gloo for host values (cancel flags, sizes): a host
        # value over NCCL would cost a copy to the GPU and a sync.
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(
        backend=backend, init_method=f"tcp://{address}:{port}", rank=rank, world_size=layout.world_size,
        timeout=STEP_TIMEOUT,
    )
    control_group = dist.new_group(backend="gloo", timeout=IDLE_TIMEOUT)
    mesh = None
    if layout.mode == "cfg+ulysses":
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh(
            layout.device_type, (CFG_DEGREE, 1, layout.ulysses_degree), mesh_dim_names=("cfg", "ring", "ulysses")
        )
        cfg_group = mesh["cfg"].get_group()
    else:
        cfg_group = dist.group.WORLD
    logger.info("rank %d of %d joined on %s (%s)", rank, layout.world_size, layout.devices[rank], layout.mode)
    return ParallelGroup(layout=layout, rank=rank, cfg_group=cfg_group, control_group=control_group, mesh=mesh)


def leave_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def enable_sequence_parallel(transformer, group: ParallelGroup) -> None:
    """diffusers' Ulysses plan for the transformer over this rank's branch ("ring" x
    "ulysses" of the mesh), in the uneven mode 1328x1328's 6,889 tokens need. Before any
    compile: the plan adds hooks to the blocks."""
    from diffusers import ContextParallelConfig

    transformer.enable_parallelism(
        config=ContextParallelConfig(ulysses_degree=group.layout.ulysses_degree, ulysses_anything=True,
                                     mesh=group.mesh)
    )


class CfgSplit(GuidanceCalls):
    """Answers the pipeline's two guidance calls of a step with one forward per rank.

    Use as a context manager around the pipeline call, like core/render/guidance.py's
    BatchedGuidance; it wraps `transformer.forward` and restores it on exit. The first call
    of a step (the prompt's) runs this rank's branch, then the branches are all-gathered and
    the prompt's prediction returned; the second call (the negative) gets the gathered
    negative prediction."""

    def __init__(self, transformer, group: ParallelGroup, negative_embeds: torch.Tensor,
                 negative_mask: torch.Tensor | None):
        super().__init__(transformer)
        self.group = group
        self.negative_embeds = negative_embeds
        self.negative_mask = negative_mask

    def __call__(self, hidden_states, encoder_hidden_states, encoder_hidden_states_mask=None, return_dict=True,
                 **kwargs):
        if self.pending is not None:
            # The negative call of this step: its prediction came with the gather.
            if encoder_hidden_states.shape[1] != self.negative_embeds.shape[1]:
                raise RuntimeError("the guidance split got the pipeline's calls out of order")
            output, self.pending = self.pending, None
            return _output(output, return_dict)

        # 1. This rank's branch: the call as the pipeline made it, or with the negative prompt.
        if self.group.branch == 1:
            encoder_hidden_states, encoder_hidden_states_mask = self.negative_embeds, self.negative_mask
        failure = None
        try:
            mine = self.forward(hidden_states=hidden_states, encoder_hidden_states=encoder_hidden_states,
                                encoder_hidden_states_mask=encoder_hidden_states_mask, return_dict=False,
                                **kwargs)[0]
        except Exception as error:
            failure = error
        # 2. Stop together: a rank that failed (out of memory) tells the others before the
        # gather, which would otherwise wait for it until the group's timeout.
        if not self.group.agree(failure is None):
            raise failure if failure is not None else PeerFailed("another device of the group failed this step")

        # 3. Both predictions on every rank, in branch order (prompt, negative).
        gathered = [torch.empty_like(mine) for _ in range(CFG_DEGREE)]
        dist.all_gather(gathered, mine.contiguous(), group=self.group.cfg_group)
        positive, self.pending = gathered
        return _output(positive, return_dict)


def _output(sample: torch.Tensor, return_dict: bool):
    if not return_dict:
        return (sample,)
    from diffusers.models.modeling_outputs import Transformer2DModelOutput

    return Transformer2DModelOutput(sample=sample)


def share_step(group: ParallelGroup, latents: torch.Tensor, cancel: bool) -> tuple[torch.Tensor, bool]:
    """The end of a step: rank 0's latents and cancel decision, on every rank. Every rank
    computed the same latents from the same gathered predictions; taking rank 0's makes
    that a guarantee rather than an assumption (0.9 MB at 1328x1328 over NVLink)."""
    flag = torch.tensor([1 if cancel else 0], dtype=torch.int32)
    dist.broadcast(flag, src=0)  # a host tensor: gloo, no GPU sync
    latents = latents.contiguous()
    dist.broadcast(latents, src=0)
    return latents, bool(flag.item())


# -- jobs from rank 0 --------------------------------------------------------------------------


def send_job(group: ParallelGroup, request) -> None:
    """Rank 0: tell the others what to draw next (a GenerationRequest), or None to stop."""
    dist.broadcast_object_list([request], src=0, group=group.control_group, device=torch.device("cpu"))


def receive_job(group: ParallelGroup):
    message = [None]
    dist.broadcast_object_list(message, src=0, group=group.control_group, device=torch.device("cpu"))
    return message[0]


def follow(pipe, group: ParallelGroup, generate) -> None:
    """A follower's life: draw its part of every poster rank 0 sends, until rank 0 says stop.
    `generate` is core.render.generate.generate (passed in: that module imports this one)."""
    from core.render.generate import GenerationCancelled

    while True:
        request = receive_job(group)
        if request is None:
            logger.info("rank %d: stop from rank 0", group.rank)
            return
        try:
            generate(pipe, request)
        except GenerationCancelled:
            pass  # rank 0 decided it, every rank stopped at the same step
        except PeerFailed:
            logger.warning("rank %d: another rank failed the poster", group.rank)
        except Exception:
            # Rank 0 fails the job with its own view; this rank waits for the next one.
            logger.exception("rank %d: poster failed", group.rank)


def free_port() -> int:
    """A free TCP port on this host for the group's rendezvous."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_address() -> str:
    return os.environ.get("MASTER_ADDR", "127.0.0.1")
