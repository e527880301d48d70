"""Measured generation speed per GPU, for the estimates the settings page shows.

Every number here comes from bench/gpu_bench.py on the lent GPU (the raw rows are in
bench/results/gpu_*.jsonl and BENCHMARKS.md says how each was taken), except the H200 rows
marked "quoted", which come from the project's shared GPU notes and say so. A card with no entry gets
no estimate: the UI says "no measurement for this card" rather than guess.

The real architectures ran with random weights, so these are times, not quality.
"""

from __future__ import annotations

from dataclasses import dataclass

# Image tokens of the two measured sizes (16 px per token after the VAE and patching).
SIZE_TOKENS = {(1328, 1328): 83 * 83, (1664, 928): 104 * 58}


@dataclass(frozen=True)
class Measurement:
    """Seconds per denoising step at the two measured sizes, plus the fixed parts of a
    poster (prompt encoding, VAE decode)."""

    step_s: dict  # (width, height, cfg_on) -> seconds per step
    encode_s: float
    decode_s: float
    source: str
    note: str = ""


@dataclass(frozen=True)
class Estimate:
    seconds: float
    basis: str


H100 = "NVIDIA H100 80GB HBM3"
H200 = "NVIDIA H200"

# Keyed by (GPU name as torch reports it, strategy name, compiled, fast mode).
MEASURED: dict[tuple[str, str, bool, str], Measurement] = {
    (H100, "resident", False, "off"): Measurement(
        step_s={(1328, 1328, True): 0.658, (1328, 1328, False): 0.334, (1664, 928, True): 0.573, (1664, 928, False): 0.295},
        encode_s=0.06,
        decode_s=0.67,
        source="bench/results/gpu_speed_h100.jsonl (8-step runs; a whole 50-step 1328x1328 poster took 33.6 s)",
    ),
    (H100, "resident", True, "off"): Measurement(
        step_s={(1328, 1328, True): 0.524, (1328, 1328, False): 0.264, (1664, 928, True): 0.454, (1664, 928, False): 0.229},
        encode_s=0.07,
        decode_s=0.68,
        source="bench/results/gpu_speed_h100.jsonl (whole 50-step posters: 27.0 s at 1328x1328, 23.8 s at 1664x928)",
    ),
    (H100, "te_offload", False, "off"): Measurement(
        step_s={(1328, 1328, True): 0.649},
        encode_s=0.69,
        decode_s=0.99,
        source="bench/results/gpu_memory_h100.jsonl (48 GiB cap, eager, 5-step run)",
    ),
    (H100, "group_offload", True, "off"): Measurement(
        step_s={(1328, 1328, True): 0.661},
        encode_s=0.65,
        decode_s=0.67,
        source="bench/results/gpu_full_posters_brief_h100.jsonl (24 GiB cap, 29 of 60 blocks resident: "
        "a whole 50-step poster took 33.8 s; 16 GiB cap, 16 resident: 34.6 s)",
        note="measured with 16-29 resident blocks; more resident blocks are not slower",
    ),
    (H100, "resident", True, "fp8"): Measurement(
        step_s={(1328, 1328, True): 0.413},
        encode_s=0.06,
        decode_s=0.65,
        source="bench/results/gpu_fp8_h100.jsonl (8-step run; first call 152 s for the compile)",
        note="FP8 changes the output",
    ),
    (H100, "resident", True, "lightning"): Measurement(
        step_s={(1328, 1328, False): 0.263},
        encode_s=0.05,
        decode_s=0.76,
        source="bench/results/gpu_speed_h100.jsonl (random rank-16 LoRA fused; 8 steps took 3.16 s)",
        note="few-step mode changes the output",
    ),
    # Measured on an H200 on 2026-11-26 (bench/results/gpu_*_h200.jsonl).
    (H200, "resident", True, "off"): Measurement(
        step_s={(1328, 1328, True): 0.514, (1664, 928, True): 0.445},
        encode_s=0.13,
        decode_s=0.21,
        source="bench/results/gpu_brief_startup_h200.jsonl (after the start-up warm-up: whole 50-step 1328x1328 "
        "posters 26.1 s, a 20-step 1664x928 poster 9.3 s; untiled decode)",
    ),
    (H200, "group_offload", True, "off"): Measurement(
        step_s={(1328, 1328, True): 0.648, (1328, 1328, False): 0.436},
        encode_s=0.66,
        decode_s=0.76,  # a middle value of the streamed runs' decodes (0.61-1.19 s)
        source="bench/results/gpu_profile_cap16_h200.jsonl and gpu_memory_cap40_cap24_h200.jsonl (whole 50-step "
        "posters: 34.2 s under a 16 GiB cap, 28.9 s under 40 GiB; 0.613 s/step under 24 GiB; CFG off 0.436 s/step)",
        note="the 16 GiB figure; more resident blocks are faster",
    ),
    (H200, "nf4", False, "off"): Measurement(
        step_s={(1328, 1328, True): 0.661},
        encode_s=0.62,
        decode_s=0.61,
        source="bench/results/gpu_nf4_model_offload_h200.jsonl (16 GiB cap, 12.5 GiB peak, 5-step run)",
        note="NF4 changes the output",
    ),
    (H200, "model_offload", False, "off"): Measurement(
        step_s={(1328, 1328, True): 0.633},
        # Moving the 38 GiB transformer on (inside the first step) and off again (before
        # the decode) costs more than the 50 steps' difference to resident.
        encode_s=17.4,
        decode_s=26.0,
        source="bench/results/gpu_nf4_model_offload_h200.jsonl (48 GiB cap, 38.7 GiB peak; about 43 s per poster "
        "moving the transformer on and off)",
    ),
    # Quoted from the shared GPU notes (H200, 1328x1328, 400-token prompt, CFG 4); not
    # re-measured in this project.
    (H200, "resident", False, "off"): Measurement(
        step_s={(1328, 1328, True): 0.625}, encode_s=0.03, decode_s=0.60, source="shared GPU notes (H200), quoted"
    ),
    (H200, "resident", True, "fp8"): Measurement(
        step_s={(1328, 1328, True): 0.408}, encode_s=0.03, decode_s=0.60, source="shared GPU notes (H200), quoted",
        note="FP8 changes the output",
    ),
}


def _card_key(gpu_name: str | None) -> str | None:
    if not gpu_name:
        return None
    for known in (H100, H200):
        if gpu_name.strip().startswith(known):
            return known
    return None


def _step_seconds(measurement: Measurement, width: int, height: int, cfg_on: bool) -> tuple[float, str] | None:
    exact = measurement.step_s.get((width, height, cfg_on))
    if exact is not None:
        return exact, "measured at this size"
    points = sorted(
        (SIZE_TOKENS[(w, h)], seconds) for (w, h, cfg), seconds in measurement.step_s.items() if cfg == cfg_on
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
    measurement = MEASURED.get((card, strategy, compiled, fast_mode))
    if measurement is None:
        return None
    step = _step_seconds(measurement, width, height, true_cfg_scale > 1)
    if step is None:
        return None
    step_s, how = step
    seconds = measurement.encode_s + steps * step_s + measurement.decode_s
    basis = f"{card}, {how}; {measurement.source}"
    if measurement.note:
        basis += f"; {measurement.note}"
    return Estimate(seconds=round(seconds, 1), basis=basis)
