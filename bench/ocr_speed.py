"""Speed of the OCR text check against an earlier revision, timed interleaved.

Usage (from the repository root):

    .venv/bin/python bench/ocr_speed.py --baseline 738d8f7

On a shared machine the load changes from minute to minute, so the two
checks are timed poster by poster in one process, in alternating order
(A B, B A, ...), and the load average is recorded with every timing.

* ``before``: core/text/check.py as it was at ``--baseline`` (read with
  ``git show``; it uses today's core/text/ocr.py helpers), with the detector
  at the poster's full resolution and onnxruntime as rapidocr sets it up
  (memory arena off, threads on every core), as at 738d8f7.
  With ``--same-engine`` the before check gets today's detector size and
  onnxruntime set-up, so only check.py differs (``--baseline 73df090``: the
  check before the tighter re-reads).
* ``after``: the check as the app runs it now.

Prints exact recall per kind, typos and omissions reported exact, and the
median seconds per poster and per pass, for 1328x1328 posters and all sizes.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core.text import check as current_check  # noqa: E402
from core.text.ocr import _engine_params, read_text  # noqa: E402
from core.text.result import CheckStatus  # noqa: E402
from tests.ocr_real_posters import KINDS, REAL_SEED, build_real_cases, render_real_poster  # noqa: E402


def baseline_check(revision: str, full_resolution: bool = True) -> types.ModuleType:
    """core/text/check.py of ``revision``, loaded as a module of its own (with
    the detector at full resolution unless ``full_resolution`` is False)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:core/text/check.py"], cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    module = types.ModuleType("baseline_check")
    sys.modules[module.__name__] = module  # its dataclasses look their module up
    exec(compile(source, f"{revision}:core/text/check.py", "exec"), module.__dict__)
    if full_resolution:
        module.read_text = functools.partial(read_text, detect_pixels=None)  # the detector at full resolution
    return module


def make_engine(as_before: bool):
    from rapidocr import RapidOCR

    params = _engine_params()
    if as_before:  # onnxruntime as rapidocr sets it up
        params = {key: value for key, value in params.items() if not key.startswith("EngineConfig.")}
    engine = RapidOCR(params=params)
    engine(Image.new("RGB", (320, 120), "white"))  # loads the detector
    engine.recognize_txt([np.full((48, 320, 3), 255, dtype=np.uint8)])  # and the recognizer
    return engine


def summary(label: str, rows: list[dict]) -> list[str]:
    """A row for 1328x1328 posters and one for all sizes: seconds, and recall over those posters."""

    def recall(picked: list[dict], kinds) -> tuple[int, int]:
        strings = [exact for r in picked if r["kind"] in kinds for typo, exact in r["strings"] if not typo]
        return sum(strings), len(strings)

    def frac(pair: tuple[int, int]) -> str:
        return f"{pair[0]}/{pair[1]}"

    def median_of(picked: list[dict], key: str | None) -> str:
        values = [r["seconds"] if key is None else r["passes"][key] for r in picked if key is None or key in r["passes"]]
        return f"{statistics.median(values):.2f} ({len(values)}/{len(picked)})" if values else "–"

    out = []
    for size_label, picked in (("1328×1328", [r for r in rows if r["size"] == (1328, 1328)]), ("all sizes", rows)):
        hard = recall(picked, KINDS)
        typos = [exact for r in picked for typo, exact in r["strings"] if typo]
        out.append(
            f"| {label} | {size_label} | {median_of(picked, None)} | {median_of(picked, 'full')} | "
            f"{median_of(picked, 'closer')} | {median_of(picked, 'smaller')} | {median_of(picked, 'tighter')} | "
            f"{frac(recall(picked, ('clean',)))} | {frac(hard)} = {100 * hard[0] / max(1, hard[1]):.1f}% | "
            f"{' / '.join(frac(recall(picked, (k,))) for k in KINDS)} | {sum(typos)}/{len(typos)} |"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="738d8f7", help="git revision of the 'before' core/text/check.py")
    parser.add_argument("--seed", type=int, default=REAL_SEED, help="random seed of the real-size poster set")
    parser.add_argument("--square-only", action="store_true", help="only the 1328x1328 posters")
    parser.add_argument("--same-engine", action="store_true",
                        help="'before' with today's detector size and onnxruntime set-up: compares check.py alone")
    args = parser.parse_args()

    checks = {
        "before": (baseline_check(args.baseline, full_resolution=not args.same_engine).check_text,
                   make_engine(as_before=not args.same_engine)),
        "after": (current_check.check_text, make_engine(as_before=False)),
    }
    cases = build_real_cases(clean=12, hard_per_kind=10, seed=args.seed)
    rows: dict[str, list[dict]] = {name: [] for name in checks}
    loads = [os.getloadavg()[0]]
    for index, case in enumerate(cases):
        image = render_real_poster(case)
        if args.square_only and image.size != (1328, 1328):
            continue
        order = list(checks) if index % 2 == 0 else list(reversed(checks))
        for name in order:
            check, engine = checks[name]
            started = time.perf_counter()
            result = check(image, case.expected, engine)
            seconds = time.perf_counter() - started
            painted = [t for t in case.texts if t.role != "extra"]
            rows[name].append({
                "kind": case.kind, "size": image.size, "seconds": seconds, "passes": result.pass_seconds,
                "strings": [(t.is_typo, s.status == CheckStatus.EXACT) for t, s in zip(painted, result.strings)],
            })
        loads.append(os.getloadavg()[0])

    print(f"seed {args.seed}, baseline {args.baseline}, {len(rows['after'])} posters; load average (1 min) "
          f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}")
    print()
    print("| check | posters | median s | full pass | closer look | smaller re-read | tighter re-reads | clean | hard "
          "| small / busy / tilt / cjk / large | typos exact |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in checks:
        print("\n".join(summary(name, rows[name])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
