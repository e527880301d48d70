"""How legible are the hard strings the OCR check misses? A blind reading of a random sample.

Usage (from the repository root):

    .venv/bin/python bench/ocr_legibility.py sheets            # draw the sample, write numbered crops
    .venv/bin/python bench/ocr_legibility.py score             # the check on the same strings, against the readings

``sheets`` draws SAMPLE correctly painted strings of the hard posters of the
four draws of bench/ocr_pooled.py (hits and misses alike, seeded), cuts each
out where the painter put it (tests/ocr_real_posters.py ``paint_real_poster``)
with a 12 px margin, enlarges it at most 2x, and tiles them ten to a sheet,
numbered, with no text beside them: bench/results/ocr_legibility/sheet*.png.
A reader writes what each crop says, without the expected strings in view, in
bench/results/ocr_legibility/reads.tsv: "N<TAB>text", the text followed by "?"
where it is a guess among phrases the reader knows could be there, empty
where nothing could be read.

``score`` runs the check (as the app runs it) on the sampled posters and
writes bench/results/ocr_legibility.md: per string, the reader's reading and
the check's result, and the counts of each pair.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from bench.ocr_accuracy import cpu_description, write_report  # noqa: E402
from bench.ocr_pooled import DEFAULT_SEEDS  # noqa: E402
from core.text.check import check_text  # noqa: E402
from core.text.result import CheckStatus  # noqa: E402
from tests.ocr_real_posters import build_real_cases, paint_real_poster  # noqa: E402

FOLDER = ROOT / "bench" / "results" / "ocr_legibility"
REPORT = ROOT / "bench" / "results" / "ocr_legibility.md"
SAMPLE = 60
SAMPLE_SEED = 7
PER_SHEET = 10
MARGIN = 12


def sample_strings() -> list[dict]:
    """SAMPLE correctly painted hard strings of the four draws, with where they were painted."""
    rows = []
    for seed in DEFAULT_SEEDS:
        for case in build_real_cases(clean=12, hard_per_kind=10, seed=seed):
            if case.tag != "hard":
                continue
            for index, text in enumerate(case.texts):
                if text.role != "extra" and not text.is_typo:
                    rows.append({"seed": seed, "poster": case.name, "kind": case.kind, "index": index,
                                 "expected": text.expected})
    return random.Random(SAMPLE_SEED).sample(rows, SAMPLE)


def posters_of(sample: list[dict]) -> dict[tuple[int, str], tuple]:
    """(case, image, places) of every poster the sample takes a string from."""
    wanted = {(row["seed"], row["poster"]) for row in sample}
    found = {}
    for seed in sorted({seed for seed, _ in wanted}):
        for case in build_real_cases(clean=12, hard_per_kind=10, seed=seed):
            if (seed, case.name) in wanted:
                image, places = paint_real_poster(case)
                found[(seed, case.name)] = (case, image, places)
    return found


def write_sheets(sample: list[dict], posters: dict) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    crops = []
    for row in sample:
        _, image, places = posters[(row["seed"], row["poster"])]
        left, top, width, height = places[row["index"]]
        crop = image.crop((left - MARGIN, top - MARGIN, left + width + MARGIN, top + height + MARGIN))
        zoom = min(2.0, 560 / crop.width, 110 / crop.height)
        crops.append(crop.resize((max(1, int(crop.width * zoom)), max(1, int(crop.height * zoom))), Image.LANCZOS))
    for first in range(0, len(crops), PER_SHEET):
        tiles = crops[first:first + PER_SHEET]
        sheet = Image.new("RGB", (max(t.width for t in tiles) + 40, sum(t.height + 24 for t in tiles)), "white")
        draw = ImageDraw.Draw(sheet)
        y = 0
        for number, tile in enumerate(tiles, start=first):
            draw.text((2, y + 4), str(number), fill="black")
            sheet.paste(tile, (36, y + 12))
            y += tile.height + 24
        sheet.save(FOLDER / f"sheet{first // PER_SHEET}.png")
    (FOLDER / "sample.json").write_text(json.dumps(sample, ensure_ascii=False, indent=1), encoding="utf-8")


def read_readings(path: Path) -> dict[int, str]:
    readings = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        number, _, text = line.partition("\t")
        if number.strip():
            readings[int(number)] = text
    return readings


def reader_verdict(reading: str, expected: str) -> str:
    """"sure" (read right, no doubt), "guess" (read right only as a guess), "wrong" or "unreadable"."""
    guess = reading.endswith("?")
    text = reading.rstrip("?")
    if not text:
        return "unreadable"
    if text != expected:
        return "wrong"
    return "guess" if guess else "sure"


def score(sample: list[dict], posters: dict, readings: dict[int, str]) -> None:
    results = {}
    for key, (case, image, _) in posters.items():
        results[key] = check_text(image, case.expected)
    rows, pairs = [], Counter()
    for number, row in enumerate(sample):
        case = posters[(row["seed"], row["poster"])][0]
        painted = [t for t in case.texts if t.role != "extra"]
        position = painted.index(case.texts[row["index"]])
        check = results[(row["seed"], row["poster"])].strings[position]
        verdict = reader_verdict(readings.get(number, ""), row["expected"])
        pairs[(verdict, check.status == CheckStatus.EXACT)] += 1
        rows.append(f"| {number} | {row['seed']} {row['poster']} | {row['kind']} | {row['expected']} | "
                    f"{readings.get(number, '') or '(nothing)'} ({verdict}) | {check.status.value}"
                    f"{'' if check.status == CheckStatus.EXACT else ': ' + repr(check.read or '')} |")
    verdicts = ("sure", "guess", "wrong", "unreadable")
    lines = [
        "# How legible are the hard strings? A blind reading of a random sample",
        "",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC",
        f"- Machine: {cpu_description()} (CPU only)",
        "- Command: `.venv/bin/python bench/ocr_legibility.py sheets`, then `... score` (module docstring)",
        f"- Sample: {len(sample)} correctly painted strings of the hard posters of the draws "
        f"{', '.join(map(str, DEFAULT_SEEDS))} (random, seed {SAMPLE_SEED}); crops in "
        "[ocr_legibility/](ocr_legibility/), readings in [ocr_legibility/reads.tsv](ocr_legibility/reads.tsv)",
        "",
        "| reader \\ check | exact | not exact |",
        "|---|---|---|",
        *[f"| {v} | {pairs[(v, True)]} | {pairs[(v, False)]} |" for v in verdicts],
        "",
        "| # | poster | kind | expected | reading | check |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    write_report(lines, REPORT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("sheets", "score"))
    parser.add_argument("--reads", type=Path, default=FOLDER / "reads.tsv")
    args = parser.parse_args()
    sample = sample_strings()
    posters = posters_of(sample)
    if args.step == "sheets":
        write_sheets(sample, posters)
    else:
        score(sample, posters, read_readings(args.reads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
