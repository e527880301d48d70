"""Regenerate the README's GPU figures table from the benchmark's raw rows.

    .venv/bin/python -m bench.readme_table          # rewrite README.md between the markers
    .venv/bin/python -m bench.readme_table --check  # exit 1 when README.md is out of date

The rows are the ones the Settings page's estimates read (core/render/estimates.py,
`SOURCES`), so the README and the app cannot tell different numbers.
tests/test_readme_figures.py fails when the README and bench/results/ disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.render.estimates import SOURCES, compile_figures, estimate_poster_seconds, measurement, result  # noqa: E402
from core.settings import LIGHTNING_STEPS  # noqa: E402

README = ROOT / "README.md"
START = "<!-- figures:start -->"
END = "<!-- figures:end -->"


def setup_label(strategy: str, compiled: bool, fast_mode: str) -> str:
    parts = [strategy] + (["compiled"] if compiled else []) + ([fast_mode] if fast_mode != "off" else [])
    return "+".join(parts)


def render_table() -> str:
    lines = [
        "| card | setup | 1328x1328 poster | s/step | fixed part | peak | measured in |",
        "|---|---|---|---|---|---|---|",
    ]
    for (card, strategy, compiled, fast_mode), source in SOURCES.items():
        measured = measurement((card, strategy, compiled, fast_mode))
        steps, cfg = (LIGHTNING_STEPS, 1.0) if fast_mode == "lightning" else (50, 4.0)
        step_s = measured.step_s[(1328, 1328, cfg > 1)]
        estimate = estimate_poster_seconds(card, strategy, compiled, 1328, 1328, steps, cfg, fast_mode=fast_mode)
        peak = f"{measured.peak_gib:.1f} GiB" if measured.peak_gib is not None else "—"
        note = f" ({source.note})" if source.note else ""
        lines.append(
            f"| {card} | {setup_label(strategy, compiled, fast_mode)}{note} | **{estimate.seconds:.1f} s** "
            f"({steps} steps, CFG {cfg:g}) | {step_s:.3f} | {measured.fixed_s:.2f} s | {peak} | "
            f"`{source.file}` `{source.poster_row}` |"
        )
    figures = compile_figures()
    lines += [
        "",
        "The poster time is what the Settings page estimates; the fixed part is a poster's time outside its "
        "denoising steps (prompt encoding, VAE decode, and for model offload the weights' trips).",
        "",
        f"Compile's first calls cost {figures.first_call_s:.1f} s once per process (H100), "
        f"{figures.new_size_s:.1f} s more for a new size; the worker pays them in a warm-up at start "
        f"({figures.warm_up_s:.1f} s on the H200), after which the first poster took "
        f"{figures.first_poster_after_warm_up_s:.1f} s. FP8's compile takes {figures.fp8_first_call_s:.0f} s.",
        "",
        brief_line(),
    ]
    return "\n".join(lines)


def brief_line() -> str:
    nf4 = result("gpu_brief_h100_session2.jsonl", "brief_nf4_own_loop_transient")
    startup = "gpu_brief_startup_h200.jsonl"
    fast, warm = result(startup, "brief_fast_transient"), result(startup, "brief_fast_warm")
    compile_at_start = result(startup, "brief_fast_warm_up_at_start")
    return (
        f"Design brief (Qwen2.5-VL-3B, 400 new tokens): `STUDIO_BRIEF_MODE=nf4` {nf4['wall_s']:.1f} s a brief at "
        f"{nf4['peak_gib']:.1f} GiB (H100); `fast` {fast['wall_s']:.1f} s, {warm['wall_s']:.1f} s with "
        f"`STUDIO_KEEP_VL_WARM=1`, at {fast['peak_gib']:.1f} GiB, after a {compile_at_start['wall_s']:.0f} s "
        "compile at start (H200)."
    )


def update(text: str) -> str:
    """`text` with everything between the markers replaced by the table."""
    try:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"README.md needs the markers {START} and {END}") from None
    return f"{head}{START}\n{render_table()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether README.md is up to date")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = update(text)
    if args.check:
        if new != text:
            print("README.md's figures table differs from bench/results/; run: python -m bench.readme_table")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
