"""Which memory strategy the Qwen-Image pipeline runs with, chosen from the card it finds.

Qwen-Image-2512 is a 20.4B-parameter MMDiT (38 GiB in bf16) with a 7B text encoder
(15 GiB). On an 80 GiB card everything stays resident; on smaller cards parts of it must
live in host memory and cross the PCIe link while the GPU works. `choose_strategy` is a pure
function of the free and total GPU memory, the largest size the process will draw and the
free host memory, so it is tested on CPU (tests/test_memory_strategy.py) and the UI can show
its reasons. `core/render/pipeline.py` applies the result.

The strategies, fastest first:

| name           | on the GPU                                  | peak at 1328x1328 (measured, BENCHMARKS.md) |
|----------------|---------------------------------------------|---------------------------------------------|
| resident       | everything                                  | about 54 GiB                                |
| te_offload     | transformer + VAE; the text encoder streams | about 40 GiB                                |
| group_offload  | the first N transformer blocks + VAE; the   | whatever the card has: N is sized to fit    |
|                | other blocks and the text encoder stream    |                                             |
| model_offload  | one whole model at a time (diffusers)       | about 40 GiB, but slower than te_offload    |
| nf4            | a 4-bit transformer + VAE (changes output)  | about 14 GiB                                |

`group_offload` runs the two classifier-free-guidance passes as one batch of 2, so each
streamed block crosses the link once per step instead of twice: the link, not the GPU, is
what bounds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GIB = 1024**3

STRATEGIES = ("resident", "te_offload", "group_offload", "model_offload", "nf4")
# Strategies that give the same pixels as `resident` (up to kernel-order rounding).
LOSSLESS = ("resident", "te_offload", "group_offload", "model_offload")

# The largest generation size any preset draws (core/prompt/presets.py): 1328x1328 = 1.76 MP.
LARGEST_PRESET_SIZE = (1328, 1328)


@dataclass(frozen=True)
class MemoryModel:
    """Sizes in GiB that decide what fits. The defaults are the real Qwen-Image-2512 with
    the Qwen2.5-VL-7B text encoder, as measured on the lent H100 (BENCHMARKS.md,
    "Memory strategies"); tests pass their own numbers."""

    transformer_blocks: int = 60
    block_gib: float = 0.633  # one QwenImageTransformerBlock in bf16 (20.4B params / 60, 2 bytes)
    transformer_other_gib: float = 0.08  # embedders, final norm and projection
    text_encoder_gib: float = 15.45  # Qwen2.5-VL-7B in bf16, vision tower included
    vae_gib: float = 0.47  # AutoencoderKLQwenImage in fp32
    nf4_transformer_gib: float = 11.2  # bitsandbytes NF4 weights + their scales
    # Activations of one transformer forward per megapixel drawn (batch 1), and the extra
    # an untiled VAE decode needs per megapixel (13.9 GiB at 1328x1328 on the H200).
    activation_gib_per_mp: float = 0.45
    untiled_decode_gib_per_mp: float = 7.9
    # Peak while the text encoder streams through the GPU (two leaf groups in flight).
    text_encoder_stream_gib: float = 1.6
    # Streamed blocks in flight at once: the one computing, the one arriving, and one
    # whose memory the allocator holds until the compute stream is done with it.
    blocks_in_flight: int = 3
    # Kept free for the CUDA context's growth, cuBLAS/cuDNN workspaces and fragmentation.
    headroom_gib: float = 1.5

    @property
    def transformer_gib(self) -> float:
        return self.transformer_blocks * self.block_gib + self.transformer_other_gib


DEFAULT_MEMORY_MODEL = MemoryModel()


@dataclass(frozen=True)
class Strategy:
    name: str
    fits: bool
    estimated_peak_gib: float
    vae_tiling: bool
    batched_cfg: bool = False
    resident_blocks: int | None = None  # group_offload only: blocks kept on the GPU
    host_gib: float = 0.0  # pinned host memory the streamed weights need
    changes_output: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """What is recorded with each job and shown in the UI."""
        if self.name == "group_offload" and self.resident_blocks is not None:
            return f"group_offload({self.resident_blocks} resident)"
        return self.name


def resident_block_indices(total_blocks: int, resident_blocks: int) -> list[int]:
    """Which transformer blocks stay on the GPU under group_offload: spread evenly, so each
    streamed block's copy (one block ahead) overlaps the compute of the resident blocks
    around it. Keeping the first N instead left the link idle while they ran and then made
    the streamed tail wait on it: 0.68 s/step against 0.52 resident at a 24 GiB cap."""
    resident_blocks = max(0, min(resident_blocks, total_blocks))
    if resident_blocks == 0:
        return []
    streamed = total_blocks - resident_blocks
    # Streamed blocks at even spacing, never block 0: the first streamed block's copy then
    # overlaps the compute of the resident block(s) before it. (This spacing is the one
    # measured in BENCHMARKS.md.)
    streamed_at = {int((i + 1) * total_blocks / (streamed + 1)) for i in range(streamed)}
    return [index for index in range(total_blocks) if index not in streamed_at]

def megapixels(width: int, height: int) -> float:
    return width * height / 1e6


def estimate_peak_gib(
    name: str,
    width: int,
    height: int,
    model: MemoryModel = DEFAULT_MEMORY_MODEL,
    resident_blocks: int = 0,
    vae_tiling: bool = True,
) -> float:
    """Estimated peak GPU memory of one generation with `name`, without the headroom."""
    mp = megapixels(width, height)
    activations = model.activation_gib_per_mp * mp
    decode = 0.0 if vae_tiling else model.untiled_decode_gib_per_mp * mp
    if name == "resident":
        weights = model.transformer_gib + model.text_encoder_gib + model.vae_gib
        return weights + max(activations, decode)
    if name == "te_offload":
        weights = model.transformer_gib + model.vae_gib
        return weights + max(activations, decode, model.text_encoder_stream_gib)
    if name == "model_offload":
        # One model at a time; the transformer is the largest.
        return max(model.transformer_gib, model.text_encoder_gib) + model.vae_gib + max(activations, decode)
    if name == "group_offload":
        streamed = model.transformer_blocks - resident_blocks
        in_flight = min(model.blocks_in_flight, streamed) * model.block_gib
        weights = resident_blocks * model.block_gib + model.transformer_other_gib + model.vae_gib
        # The two CFG passes run as one batch of 2: twice the activations of one pass.
        return weights + max(2 * activations + in_flight, decode, model.text_encoder_stream_gib)
    if name == "nf4":
        weights = model.nf4_transformer_gib + model.vae_gib
        return weights + max(activations, decode, model.text_encoder_stream_gib)
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")


def _pick_tiling(name, width, height, budget, model, resident_blocks=0) -> bool:
    """Untiled decode is about 3x faster (0.21 s against 0.60 s at 1328x1328) but needs
    several GiB more; tile only when that extra does not fit."""
    untiled = estimate_peak_gib(name, width, height, model, resident_blocks, vae_tiling=False)
    return untiled > budget


def choose_strategy(
    free_bytes: int,
    total_bytes: int,
    width: int = LARGEST_PRESET_SIZE[0],
    height: int = LARGEST_PRESET_SIZE[1],
    host_free_bytes: int | None = None,
    requested: str = "auto",
    allow_nf4: bool = True,
    model: MemoryModel = DEFAULT_MEMORY_MODEL,
) -> Strategy:
    """The fastest strategy whose estimated peak fits in `free_bytes`.

    `width` x `height` is the largest size this process will draw (the pipeline is loaded
    once and serves every preset). `requested` is a strategy name to force (the user's
    override) or "auto". A forced strategy is returned even when it is not expected to fit,
    with `fits=False` and a reason saying so, so the UI can warn before the first OOM."""
    budget = free_bytes / GIB - model.headroom_gib
    total_gib = total_bytes / GIB
    free_gib = free_bytes / GIB
    host_gib = None if host_free_bytes is None else host_free_bytes / GIB
    card = f"{free_gib:.1f} GiB free of {total_gib:.1f} GiB"
    size = f"{width}x{height}"

    if requested not in ("auto", *STRATEGIES):
        raise ValueError(f"unknown strategy {requested!r}; expected auto or one of {', '.join(STRATEGIES)}")

    def build(name: str, reasons: list[str], resident_blocks: int | None = None) -> Strategy:
        blocks = resident_blocks or 0
        tiling = _pick_tiling(name, width, height, budget, model, blocks)
        peak = estimate_peak_gib(name, width, height, model, blocks, vae_tiling=tiling)
        reasons = list(reasons)
        reasons.append(
            "VAE tiling on: an untiled decode would not fit."
            if tiling
            else "VAE tiling off: the untiled decode fits and is about 3x faster."
        )
        host_needed = 0.0
        if name in ("te_offload", "group_offload", "nf4"):
            host_needed += model.text_encoder_gib
        if name == "group_offload":
            host_needed += (model.transformer_blocks - blocks) * model.block_gib
        if name == "model_offload":
            host_needed = model.transformer_gib + model.text_encoder_gib
        if host_gib is not None and host_needed > host_gib:
            reasons.append(
                f"Warning: it needs about {host_needed:.0f} GiB of host memory for the offloaded weights "
                f"and only {host_gib:.0f} GiB is free."
            )
        return Strategy(
            name=name,
            fits=peak <= budget,
            estimated_peak_gib=round(peak, 2),
            vae_tiling=tiling,
            batched_cfg=name == "group_offload",
            resident_blocks=resident_blocks,
            host_gib=round(host_needed, 1),
            changes_output=name == "nf4",
            reasons=tuple(reasons),
        )

    def group_blocks() -> int:
        """As many transformer blocks as fit beside the streaming buffers."""
        fixed = estimate_peak_gib("group_offload", width, height, model, resident_blocks=0)
        # The in-flight buffers shrink when almost nothing streams; stay conservative.
        room = budget - fixed
        return max(0, min(model.transformer_blocks - 1, math.floor(room / model.block_gib)))

    if requested != "auto":
        blocks = group_blocks() if requested == "group_offload" else None
        strategy = build(requested, [f"Chosen by the STUDIO_STRATEGY setting ({card})."], blocks)
        if not strategy.fits:
            strategy = _with_reason(
                strategy,
                f"Warning: its estimated peak, {strategy.estimated_peak_gib:.1f} GiB at {size}, is more than the "
                f"{budget:.1f} GiB this card can give; expect out-of-memory errors.",
            )
        return strategy

    resident_peak = estimate_peak_gib("resident", width, height, model)
    if resident_peak <= budget:
        return build("resident", [f"Everything fits on the GPU ({card}; about {resident_peak:.0f} GiB needed at {size})."])

    te_peak = estimate_peak_gib("te_offload", width, height, model)
    if te_peak <= budget:
        return build(
            "te_offload",
            [
                f"The text encoder does not fit beside the transformer ({card}; {resident_peak:.0f} GiB needed).",
                f"It streams from host memory for the prompt encoding only; the rest stays resident "
                f"(about {te_peak:.0f} GiB).",
            ],
        )

    blocks = group_blocks()
    group_peak = estimate_peak_gib("group_offload", width, height, model, resident_blocks=blocks)
    streamed_gib = (model.transformer_blocks - blocks) * model.block_gib + model.text_encoder_gib
    short_of_host = host_gib is not None and streamed_gib > host_gib
    if allow_nf4 and short_of_host:
        nf4 = build(
            "nf4",
            [
                f"The transformer does not fit on the GPU ({card}), and streaming it needs about "
                f"{streamed_gib:.0f} GiB of host memory where {host_gib:.0f} GiB is free.",
                "The transformer is loaded 4-bit (NF4, bitsandbytes) and stays resident: this changes the output.",
            ],
        )
        if nf4.fits:
            return nf4
    if group_peak <= budget and (blocks >= 1 or not allow_nf4):
        streamed = model.transformer_blocks - blocks
        return build(
            "group_offload",
            [
                f"The transformer does not fit ({card}; {te_peak:.0f} GiB needed with the text encoder offloaded).",
                f"{blocks} of its {model.transformer_blocks} blocks stay on the GPU; the other {streamed} stream "
                "from pinned host memory one block ahead of the compute.",
                "The two guidance passes run as one batch of 2, so each streamed block crosses the link once a step.",
            ],
            resident_blocks=blocks,
        )

    if allow_nf4:
        nf4 = build(
            "nf4",
            [
                f"Even streaming the transformer does not leave room for one block on the GPU ({card}).",
                "The transformer is loaded 4-bit (NF4, bitsandbytes): this changes the output.",
            ],
        )
        if nf4.fits:
            return nf4

    return _with_reason(
        build("group_offload", [f"Nothing is expected to fit ({card}) at {size}."], resident_blocks=0),
        "Close other GPU programs or use a preset's draft size.",
    )


def _with_reason(strategy: Strategy, reason: str) -> Strategy:
    from dataclasses import replace

    return replace(strategy, reasons=(*strategy.reasons, reason))


def describe(strategy: Strategy) -> str:
    """One line for logs and the sidebar."""
    note = " (changes output)" if strategy.changes_output else ""
    fits = "" if strategy.fits else ", NOT expected to fit"
    return f"{strategy.label}{note}: ~{strategy.estimated_peak_gib:.1f} GiB peak{fits}"
