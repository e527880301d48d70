"""The plan the image pipeline is loaded with in this process: placement, compile, fast mode.

Decided once, before the load, from the settings (core/settings.py, `PerformanceSettings`)
and the GPU memory free now (core/render/memory.py). Compile is on by default on a GPU:
measured on an H100 it takes a 1328x1328, 50-step poster from 33.6 s to 27.0 s and costs
about 14 s once, paid by the worker's warm-up at start (core.render.pipeline.warm_up), so users
do not wait for it (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.render.memory import DEFAULT_MEMORY_MODEL, GIB, Strategy, choose_strategy
from core.settings import PerformanceSettings


@dataclass(frozen=True)
class PipelinePlan:
    """What the image pipeline is loaded with in this process, and why."""

    device: str
    strategy: Strategy | None  # None: no GPU or demo models; everything on `device`
    compile: bool
    fast_mode: str
    lightning_lora: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return pipeline_label(self.device, self.strategy, self.compile, self.fast_mode)


def pipeline_label(device: str, strategy: Strategy | None, compiled: bool, fast_mode: str) -> str:
    """Recorded in jobs.strategy and shown in the UI: the memory strategy (or the device
    without one), then what changes speed or output. The plan and the loaded pipeline
    (core.render.pipeline.PipelineSetup) both name themselves with this."""
    parts = [strategy.label if strategy is not None else device]
    if compiled:
        parts.append("compiled")
    if fast_mode != "off":
        parts.append(fast_mode)
    return "+".join(parts)


def gpu_memory() -> tuple[int, int] | None:
    """(free, total) bytes of GPU 0, or None without CUDA."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.mem_get_info(0)
    except Exception:  # a broken driver must not stop the app from starting
        return None
    return None


def host_free_bytes() -> int:
    import psutil

    return psutil.virtual_memory().available


def brief_room_bytes(plan: PipelinePlan, memory: tuple[int, int] | None) -> int | None:
    """GPU memory left for the brief model while the image pipeline is at its planned peak:
    the free memory before the load, less the strategy's estimated peak and its headroom.
    None where no strategy was planned (no GPU, demo models). The fast brief is chosen only
    where this has room for it (core.brief.runtime.choose_brief_mode)."""
    if memory is None or plan.strategy is None:
        return None
    free, _total = memory
    return int(free - (plan.strategy.estimated_peak_gib + DEFAULT_MEMORY_MODEL.headroom_gib) * GIB)


def plan_pipeline(
    device: str,
    demo: bool,
    performance: PerformanceSettings,
    memory: tuple[int, int] | None = None,
    host_free: int | None = None,
) -> PipelinePlan:
    """Decide placement, compile and fast mode once per process, before the load.

    Demo models are tiny and CPUs have no use for GPU strategies: those keep the old
    single-device load. On a GPU the strategy comes from the free memory
    (core.render.memory.choose_strategy) unless STUDIO_STRATEGY names one."""
    notes: list[str] = []
    if device != "cuda" or demo:
        if demo:
            notes.append("Demo models are tiny: no memory strategy is needed.")
        return PipelinePlan(
            device=device, strategy=None, compile=False, fast_mode="off", lightning_lora=None, notes=tuple(notes)
        )

    strategy = None
    if memory is not None:
        free, total = memory
        strategy = choose_strategy(free, total, host_free_bytes=host_free, requested=performance.strategy)
    compile_on = performance.compile != "off"
    if compile_on and strategy is not None and strategy.name in ("nf4", "model_offload"):
        notes.append(f"Compile is skipped with {strategy.name}: its hooks or 4-bit layers do not compile.")
        compile_on = False
    fast_mode = performance.fast_mode
    if fast_mode == "fp8":
        if strategy is not None and strategy.name not in ("resident", "te_offload"):
            notes.append(f"FP8 needs the transformer resident; it is off with {strategy.name}.")
            fast_mode = "off"
        elif not compile_on:
            notes.append("FP8 runs with compile on: eager FP8 is slower than bf16 (BENCHMARKS.md).")
            compile_on = True
    return PipelinePlan(
        device=device,
        strategy=strategy,
        compile=compile_on,
        fast_mode=fast_mode,
        lightning_lora=performance.lightning_lora if fast_mode == "lightning" else None,
        notes=tuple(notes),
    )
