"""Speed and memory settings, and the plan the image pipeline is loaded with.

| variable               | default | meaning                                                                      |
|------------------------|---------|------------------------------------------------------------------------------|
| STUDIO_STRATEGY        | auto    | auto, resident, te_offload, group_offload, model_offload, nf4 (core/memory.py) |
| STUDIO_COMPILE         | auto    | regional torch.compile of the transformer: auto (= on with CUDA), 1, 0         |
| STUDIO_FAST_MODE       | off     | off, fp8 or lightning: opt-in modes that CHANGE the output                    |
| STUDIO_LIGHTNING_LORA  |         | local folder or .safetensors of a Lightning-style LoRA (fast mode lightning)  |
| STUDIO_BRIEF_MODE      | nf4     | nf4 (4-bit, the product's default), fast (bf16 + compiled static cache), auto |

Compile is on by default on a GPU: measured on an H100 it takes a 1328x1328, 50-step poster
from 33.6 s to 27.0 s, and costs about 14 s once, on the first poster after a start (6 s
more for each new size). It pays for itself by the third poster (BENCHMARKS.md). With compile
on, the job worker loads the pipeline at start and makes those first calls itself
(core.engine.warm_up), so users do not wait for them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from core.brief import BRIEF_MODES
from core.engine import FAST_MODES
from core.memory import STRATEGIES, Strategy, choose_strategy

GIB = 1024**3


@dataclass(frozen=True)
class PerformanceSettings:
    strategy: str = "auto"
    compile: str = "auto"  # auto, on, off
    fast_mode: str = "off"
    lightning_lora: str | None = None
    # The product specifies a 4-bit brief model (2.7 GiB beside the image model). "fast" is
    # measured at 3.2 s a brief (2 s kept warm) on an H200 instead of 17.5 s (NF4, H100), at
    # 7.3 GiB and a 40 s compile paid at start; it stays opt-in until the product owner
    # chooses that trade.
    brief_mode: str = "nf4"


def load_performance_settings(environ: dict[str, str] | None = None) -> PerformanceSettings:
    env = os.environ if environ is None else environ
    strategy = (env.get("STUDIO_STRATEGY") or "auto").strip().lower()
    if strategy not in ("auto", *STRATEGIES):
        raise ValueError(f"STUDIO_STRATEGY must be auto or one of {', '.join(STRATEGIES)}, not {strategy!r}")
    compile_raw = (env.get("STUDIO_COMPILE") or "auto").strip().lower()
    if compile_raw in ("1", "true", "yes", "on"):
        compile_value = "on"
    elif compile_raw in ("0", "false", "no", "off"):
        compile_value = "off"
    elif compile_raw == "auto":
        compile_value = "auto"
    else:
        raise ValueError(f"STUDIO_COMPILE must be auto, 1 or 0, not {compile_raw!r}")
    fast_mode = (env.get("STUDIO_FAST_MODE") or "off").strip().lower()
    if fast_mode not in FAST_MODES:
        raise ValueError(f"STUDIO_FAST_MODE must be one of {', '.join(FAST_MODES)}, not {fast_mode!r}")
    lora = (env.get("STUDIO_LIGHTNING_LORA") or "").strip() or None
    if fast_mode == "lightning" and lora is None:
        raise ValueError("STUDIO_FAST_MODE=lightning needs STUDIO_LIGHTNING_LORA (a local LoRA folder or file)")
    brief_mode = (env.get("STUDIO_BRIEF_MODE") or "nf4").strip().lower()
    if brief_mode not in ("auto", *BRIEF_MODES):
        raise ValueError(f"STUDIO_BRIEF_MODE must be auto or one of {', '.join(BRIEF_MODES)}, not {brief_mode!r}")
    return PerformanceSettings(
        strategy=strategy, compile=compile_value, fast_mode=fast_mode, lightning_lora=lora, brief_mode=brief_mode
    )


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
        """The same label the loaded pipeline reports (core.engine.PipelineSetup.label)."""
        parts = [self.strategy.label if self.strategy is not None else self.device]
        if self.compile:
            parts.append("compiled")
        if self.fast_mode != "off":
            parts.append(self.fast_mode)
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
    (core.memory.choose_strategy) unless STUDIO_STRATEGY names one."""
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
