"""The OCR text check over several draws of the real-size poster set, pooled.

Usage (from the repository root):

    .venv/bin/python bench/ocr_pooled.py                       # the four draws of BENCHMARKS.md
    .venv/bin/python bench/ocr_pooled.py --seeds 20261201,20261225

One draw (62 posters, ~310 hard strings) moves a point or two with its luck,
and a draw that a change was chosen on flatters that change. The draws
together are the better estimate of the check's recall on this kind of
poster. For each draw and pooled: exact recall per kind before (one OCR pass,
the detector at full resolution) and after (the check as the app runs it),
planted typos and omissions reported exact, and the median seconds per
1328x1328 poster. Then where the hard misses are: by text height (the font
size times the poster's own shrink-and-enlarge factor), blur and JPEG quality.
Writes bench/results/ocr_pooled.md. Per-draw details and every miss:
bench/ocr_accuracy.py --seed N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ocr_accuracy import (  # noqa: E402
    TimedCheck,
    cpu_description,
    frac,
    recall,
    typo_counts,
    versions,
    write_report,
)
from core.text.ocr import engine_name  # noqa: E402
from core.text.result import CheckStatus  # noqa: E402
from tests.ocr_posters import CaseOutcome, evaluate, find_fonts, single_pass_check  # noqa: E402
from tests.ocr_real_posters import KINDS, build_real_cases, render_real_poster  # noqa: E402

# The benchmark's draw, a second draw, and two held-out draws (BENCHMARKS.md, "OCR text check").
DEFAULT_SEEDS = (20261201, 20261207, 20261213, 20261219)
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "ocr_pooled.md"


def hard_strings(outcomes: list[CaseOutcome]) -> list[dict]:
    """Every correctly painted string of the hard posters, with how it was degraded."""
    rows = []
    for o in outcomes:
        if o.case.tag != "hard":
            continue
        painted = [t for t in o.case.texts if t.role != "extra"]
        for text, s in zip(painted, o.strings):
            if s.is_typo:
                continue
            rows.append({
                "height": text.size * o.case.downscale, "blur": o.case.blur, "jpeg": o.case.jpeg_quality or 100,
                "exact": s.status == CheckStatus.EXACT,
            })
    return rows


def share(rows: list[dict]) -> str:
    exact = sum(r["exact"] for r in rows)
    return f"{exact}/{len(rows)} = {100 * exact / len(rows):.1f}%" if rows else "–"


def kinds_cell(outcomes: list[CaseOutcome]) -> str:
    return " / ".join(f"{100 * done / total:.1f}" for done, total in (recall(outcomes, k) for k in KINDS)) + "%"


def hard_recall(outcomes: list[CaseOutcome]) -> tuple[int, int]:
    pairs = [recall(outcomes, k) for k in KINDS]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)), help="comma-separated draws")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    find_fonts()  # fail early with the apt-get hint
    loads = [os.getloadavg()[0]]
    started = time.perf_counter()
    draws: dict[int, tuple[list[CaseOutcome], list[CaseOutcome], TimedCheck]] = {}
    for seed in seeds:
        cases = build_real_cases(clean=12, hard_per_kind=10, seed=seed)
        before = evaluate(cases, render=render_real_poster, check=single_pass_check)
        timed = TimedCheck()
        after = evaluate(cases, render=render_real_poster, check=timed)
        draws[seed] = (before, after, timed)
        loads.append(os.getloadavg()[0])
        print(f"seed {seed}: hard {frac(hard_recall(after))}", flush=True)
    wall = time.perf_counter() - started

    def square_median(outcomes: list[CaseOutcome]) -> str:
        seconds = [o.seconds for o in outcomes if (o.case.width, o.case.height) == (1328, 1328)]
        return f"{statistics.median(seconds):.2f}" if seconds else "–"

    all_before = [o for b, _, _ in draws.values() for o in b]
    all_after = [o for _, a, _ in draws.values() for o in a]
    rows = [
        f"| {seed} | {frac(recall(b, 'clean'))} → **{frac(recall(a, 'clean'))}** | {frac(hard_recall(b))} → "
        f"**{frac(hard_recall(a))}** | {kinds_cell(b)} → {kinds_cell(a)} | {typo_counts(b)[0]}/{typo_counts(b)[3]} → "
        f"**{typo_counts(a)[0]}/{typo_counts(a)[3]}** | {square_median(b)} → **{square_median(a)}** |"
        for seed, (b, a, _) in draws.items()
    ]
    rows.append(
        f"| **pooled** | {frac(recall(all_before, 'clean'))} → **{frac(recall(all_after, 'clean'))}** | "
        f"{frac(hard_recall(all_before))} → **{frac(hard_recall(all_after))}** | {kinds_cell(all_before)} → "
        f"{kinds_cell(all_after)} | {typo_counts(all_before)[0]}/{typo_counts(all_before)[3]} → "
        f"**{typo_counts(all_after)[0]}/{typo_counts(all_after)[3]}** | {square_median(all_before)} → "
        f"**{square_median(all_after)}** |"
    )

    # Time per 1328x1328 poster, after: the spread, and each pass where it ran. TimedCheck
    # keeps one row of pass seconds per poster, in the order evaluate() checked them.
    square = [
        (o, passes) for _, a, timed in draws.values() for o, passes in zip(a, timed.passes)
        if (o.case.width, o.case.height) == (1328, 1328)
    ]
    totals = sorted(o.seconds for o, _ in square)

    def spread(values: list[float]) -> str:
        if not values:
            return "– | – | –"
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        return f"{statistics.median(ordered):.2f} | {p90:.2f} | {ordered[-1]:.2f}"

    pass_labels = {
        "full": "first pass (every poster)", "closer": "closer look", "smaller": "smaller re-read",
        "tighter": "tighter re-reads", "extended": "stretched re-read", "fitted": "fitted boxes (fitting and reading)",
    }
    time_rows = [f"| whole check | {len(totals)}/{len(square)} | {spread(totals)} |"]
    for label, name in pass_labels.items():
        ran = [passes[label] for _, passes in square if label in passes]
        time_rows.append(f"| {name} | {len(ran)}/{len(square)} | {spread(ran)} |")

    hard = hard_strings(all_after)
    heavy = [r for r in hard if r["blur"] >= 1.8 or r["jpeg"] <= 20 or r["height"] < 13]
    by_height = [
        ("20 px and taller", [r for r in hard if r["height"] >= 20]),
        ("16-20 px", [r for r in hard if 16 <= r["height"] < 20]),
        ("13-16 px", [r for r in hard if 13 <= r["height"] < 16]),
        ("under 13 px", [r for r in hard if r["height"] < 13]),
        ("blurred 1.8 px or more, or JPEG quality 20, or under 13 px", heavy),
        ("everything else", [r for r in hard if r not in heavy]),
    ]
    small = [r for r in hard if 13 <= r["height"] < 20]
    blur_bins = [("none", 0.0, 0.0), ("1.0-1.2 px", 1.0, 1.2), ("1.4-1.5 px", 1.4, 1.5), ("1.6 px", 1.6, 1.6),
                 ("1.8-2.0 px", 1.8, 2.0), ("2.5 px", 2.5, 2.5)]
    jpeg_bins = [("20", 20, 20), ("30", 30, 30), ("40-50", 40, 50), ("60-85", 60, 85), ("none", 100, 100)]

    lines = [
        "# OCR text check: several draws of the real-size set, pooled",
        "",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC",
        f"- Machine: {cpu_description()} (CPU only, no GPU)",
        f"- Load average (1 min) at the start and after each draw: {' / '.join(f'{x:.2f}' for x in loads)}",
        f"- Versions: {versions()}",
        f"- Engine: {engine_name()}",
        f"- Command: `.venv/bin/python bench/ocr_pooled.py"
        f"{'' if tuple(seeds) == DEFAULT_SEEDS else ' --seeds ' + ','.join(map(str, seeds))}` "
        f"({len(seeds)} draws of tests/ocr_real_posters.py, 12 clean + 10 per hard kind each; {wall:.0f} s)",
        "",
        "Before = one OCR pass, the detector at full resolution; after = the check as the app runs it.",
        "Kinds: small / busy / tilt / cjk / large.",
        "",
        "| draw | clean | hard | hard by kind | typos and omissions exact | median s per 1328×1328 poster |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "## Seconds per 1328×1328 poster (after, pooled)",
        "",
        "Each pass only where it ran (it runs only for strings not exact yet).",
        "",
        "| | posters | median | 90th percentile | slowest |",
        "|---|---|---|---|---|",
        *time_rows,
        "",
        "## Where the hard misses are (after, pooled)",
        "",
        "Height = the font size times the poster's own shrink-and-enlarge factor (the \"large\" kind paints some",
        "posters at 0.5-0.6x and enlarges them again).",
        "",
        "| correctly painted hard strings | exact |",
        "|---|---|",
        *[f"| {label} | {share(picked)} |" for label, picked in by_height],
        "",
        "13-20 px strings by blur and by JPEG quality:",
        "",
        "| blur | exact |",
        "|---|---|",
        *[f"| {label} | {share([r for r in small if lo <= r['blur'] <= hi])} |" for label, lo, hi in blur_bins],
        "",
        "| JPEG quality | exact |",
        "|---|---|",
        *[f"| {label} | {share([r for r in small if lo <= r['jpeg'] <= hi])} |" for label, lo, hi in jpeg_bins],
        "",
    ]
    write_report(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
