"""Measured generation speed per GPU, for the estimates the settings page shows.

The figures live once, in the benchmark's raw rows (bench/results/*.jsonl, written by
bench/gpu_bench.py; BENCHMARKS.md says how each was taken). This module only names which
rows stand for which setup and reads the numbers from them, and the README's figures table
is generated from the same rows (bench/readme_table.py). A card with no entry gets no
estimate: the UI says "no measurement for this card" rather than guess.

The real architectures ran with random weights, so these are times, not quality.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"

# Image tokens of the two measured sizes (16 px per token after the VAE and patching).
SIZE_TOKENS = {(1328, 1328): 83 * 83, (1664, 928): 104 * 58}

H100 = "NVIDIA H100 80GB HBM3"
H200 = "NVIDIA H200"


@dataclass(frozen=True)
class Source:
    """Which rows of one results file measure one setup. `step_rows` give seconds per
    denoising step (their median) at their size and guidance; `poster_row` gives the fixed
    part of a poster: its wall time minus its steps (prompt encoding, the VAE decode, and
    for model offload the transformer's trips on and off the GPU)."""

    file: str
    step_rows: tuple[str, ...]
    poster_row: str
    note: str = ""


@dataclass(frozen=True)
class Measurement:
    step_s: dict  # (width, height, cfg_on) -> seconds per step
    fixed_s: float
    peak_gib: float | None
    source: str
    note: str = ""


@dataclass(frozen=True)
class Estimate:
    seconds: float
    basis: str


# Keyed by (GPU name as torch reports it, strategy name, compiled, fast mode).
SOURCES: dict[tuple[str, str, bool, str], Source] = {
    (H100, "resident", False, "off"): Source(
        "gpu_speed_h100.jsonl",
        ("eager_1328_cfg4_50steps_full", "eager_1328x1328_cfg1", "eager_1664x928_cfg4", "eager_1664x928_cfg1"),
        "eager_1328_cfg4_50steps_full",
    ),
    (H100, "resident", True, "off"): Source(
        "gpu_speed_h100.jsonl",
        ("compiled_1328_cfg4_50steps_full", "compiled_1328x1328_cfg1", "compiled_1664x928_cfg4_50steps_full",
         "compiled_1664x928_cfg1"),
        "compiled_1328_cfg4_50steps_full",
    ),
    (H100, "te_offload", False, "off"): Source(
        "gpu_memory_h100.jsonl", ("mem_te_offload_cap48_1328_cfg4",), "mem_te_offload_cap48_1328_cfg4"
    ),
    (H100, "group_offload", True, "off"): Source(
        "gpu_full_posters_brief_h100.jsonl",
        ("mem_group_offload(16 resident)_cap16_compiled_1328_cfg4_50steps_full",),
        "mem_group_offload(16 resident)_cap16_compiled_1328_cfg4_50steps_full",
        note="measured with 16 resident blocks under a 16 GiB cap; more resident blocks are not slower",
    ),
    (H100, "resident", True, "fp8"): Source(
        "gpu_fp8_h100.jsonl", ("fp8_compiled",), "fp8_compiled", note="FP8 changes the output"
    ),
    (H100, "resident", True, "lightning"): Source(
        "gpu_speed_h100.jsonl", ("lightning_8steps",), "lightning_8steps", note="few-step mode changes the output"
    ),
    (H200, "resident", True, "off"): Source(
        "gpu_brief_startup_h200.jsonl",
        ("second_poster_1328_cfg4_50steps", "first_wide_poster_after_warm_up_1664x928_cfg4_20steps"),
        "second_poster_1328_cfg4_50steps",
    ),
    (H200, "group_offload", True, "off"): Source(
        "gpu_profile_cap16_h200.jsonl",
        ("mem_group_offload(16 resident)_cap16_compiled_1328_cfg4_50steps_full",),
        "mem_group_offload(16 resident)_cap16_compiled_1328_cfg4_50steps_full",
        note="the 16 GiB cap figure; more resident blocks are faster",
    ),
    (H200, "nf4", False, "off"): Source(
        "gpu_nf4_model_offload_h200.jsonl", ("nf4_cap16_1328_cfg4",), "nf4_cap16_1328_cfg4",
        note="NF4 changes the output",
    ),
    (H200, "model_offload", False, "off"): Source(
        "gpu_nf4_model_offload_h200.jsonl", ("mem_model_offload_cap48_1328_cfg4",), "mem_model_offload_cap48_1328_cfg4",
    ),
}


@functools.cache
def results_rows(file: str) -> dict[str, dict]:
    """The rows of one results file by name (a later row of the same name wins, as a rerun)."""
    rows = [json.loads(line) for line in (RESULTS_DIR / file).read_text().splitlines() if line.strip()]
    return {row["name"]: row for row in rows}


def result(file: str, name: str) -> dict:
    try:
        return results_rows(file)[name]
    except KeyError:
        raise KeyError(f"bench/results/{file} has no row named {name!r}") from None


def measurement(key: tuple[str, str, bool, str]) -> Measurement | None:
    source = SOURCES.get(key)
    if source is None:
        return None
    step_s = {}
    for name in source.step_rows:
        row = result(source.file, name)
        step_s[(row["width"], row["height"], row["cfg"] > 1)] = row["step_median_s"]
    poster = result(source.file, source.poster_row)
    fixed_s = poster["wall_s"] - poster["steps"] * poster["step_median_s"]
    return Measurement(
        step_s=step_s,
        fixed_s=fixed_s,
        peak_gib=poster.get("peak_gib"),
        source=f"bench/results/{source.file} ({source.poster_row}: {poster['steps']} steps in {poster['wall_s']:.1f} s)",
        note=source.note,
    )


def _card_key(gpu_name: str | None) -> str | None:
    if not gpu_name:
        return None
    for known in (H100, H200):
        if gpu_name.strip().startswith(known):
            return known
    return None


def _step_seconds(measured: Measurement, width: int, height: int, cfg_on: bool) -> tuple[float, str] | None:
    exact = measured.step_s.get((width, height, cfg_on))
    if exact is not None:
        return exact, "measured at this size"
    points = sorted(
        (SIZE_TOKENS[(w, h)], seconds) for (w, h, cfg), seconds in measured.step_s.items() if cfg == cfg_on
    )
    if not points:
        return None
    tokens = (width // 16) * (height // 16)
    if len(points) == 1:
        # Step time grows about linearly with tokens in this range (the two measured
        # sizes: 6032 and 6889 image tokens, 0.454 and 0.524 s compiled).
        base_tokens, base_seconds = points[0]
        return base_seconds * tokens / base_tokens, "scaled by image tokens from 1328x1328"
    (t0, s0), (t1, s1) = points[0], points[-1]
    return s0 + (s1 - s0) * (tokens - t0) / (t1 - t0), "interpolated by image tokens"


def estimate_poster_seconds(
    gpu_name: str | None,
    strategy: str,
    compiled: bool,
    width: int,
    height: int,
    steps: int,
    true_cfg_scale: float,
    fast_mode: str = "off",
) -> Estimate | None:
    """Seconds for one poster on this card with this setup, from the measurements; None
    when this card, strategy or guidance setting was not measured."""
    card = _card_key(gpu_name)
    if card is None:
        return None
    measured = measurement((card, strategy, compiled, fast_mode))
    if measured is None:
        return None
    step = _step_seconds(measured, width, height, true_cfg_scale > 1)
    if step is None:
        return None
    step_s, how = step
    seconds = measured.fixed_s + steps * step_s
    basis = f"{card}, {how}; {measured.source}"
    if measured.note:
        basis += f"; {measured.note}"
    return Estimate(seconds=round(seconds, 1), basis=basis)


@dataclass(frozen=True)
class CompileFigures:
    """What compile costs and saves, as the Settings page and the README say it."""

    eager_poster_s: float  # a whole 50-step 1328x1328 poster, H100, eager
    compiled_poster_s: float  # the same, compiled
    first_call_s: float  # the compile's first-call cost, H100
    new_size_s: float  # a recompile for a new size, H100
    warm_up_s: float  # the worker's warm-up at start, H200
    first_poster_after_warm_up_s: float  # H200
    fp8_first_call_s: float  # FP8's compile, H100
    fp8_step_saving: float  # 1 - fp8 s/step over compiled bf16 s/step, H100


def compile_figures() -> CompileFigures:
    speed, startup, fp8 = "gpu_speed_h100.jsonl", "gpu_brief_startup_h200.jsonl", "gpu_fp8_h100.jsonl"
    compiled = result(speed, "compiled_1328_cfg4_50steps_full")
    return CompileFigures(
        eager_poster_s=result(speed, "eager_1328_cfg4_50steps_full")["wall_s"],
        compiled_poster_s=compiled["wall_s"],
        first_call_s=result(speed, "compile_first_call_cost")["seconds"],
        new_size_s=result(speed, "compile_new_size_cost")["seconds"],
        warm_up_s=result(startup, "warm_up_at_start")["seconds"],
        first_poster_after_warm_up_s=result(startup, "first_poster_after_warm_up_1328_cfg4_50steps")["wall_s"],
        fp8_first_call_s=result(fp8, "fp8_compiled_first_call")["wall_s"],
        fp8_step_saving=1 - result(fp8, "fp8_compiled")["step_median_s"] / compiled["step_median_s"],
    )
