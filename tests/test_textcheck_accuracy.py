"""Accuracy floors of the OCR text check on the synthetic poster sets.

The older set (72 posters, see tests/ocr_posters.py) and a fixed subset of
the real-size hard set (18 posters of tests/ocr_real_posters.py: 3 clean and
3 of every hard kind; the whole set takes too long for CI on 2 cores) are
rendered and read once per module; the tests below only look at the
outcome. Floors sit a little under what was measured (see
bench/results/ocr_accuracy.md), so a regression in normalization, matching,
the closer look or the OCR setup fails here. Planted typos and omissions
must never be reported exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.text.normalize import normalize
from core.text.result import CheckStatus
from tests.ocr_posters import (
    CaseOutcome,
    FontsMissingError,
    PosterCase,
    build_cases,
    evaluate,
    find_fonts,
    render_poster,
    summarize,
)
from tests.ocr_real_posters import KINDS, build_real_cases, render_real_poster

# Measured on the 2-core CPU machine (bench/results/ocr_accuracy.md, 2026-12-01, with the
# closer look): clean 100% (166/166), hard 100% (160/160); 47/48 typos near, none exact.
CLEAN_RECALL_FLOOR = 0.97
HARD_RECALL_FLOOR = 0.97
TYPO_NEAR_FLOOR = 0.85  # measured 47/48: only a 3-character price typo fell to "missing"
# Time per poster is a benchmark figure (bench/ocr_accuracy.py, BENCHMARKS.md), not a test: on a
# shared 2-core box it swings several-fold with the load.


@pytest.fixture(scope="module")
def cases() -> list[PosterCase]:
    try:
        find_fonts()
    except FontsMissingError as exc:
        pytest.fail(str(exc))
    return build_cases()


@pytest.fixture(scope="module")
def outcomes(cases: list[PosterCase]) -> list[CaseOutcome]:
    return evaluate(cases)


@pytest.fixture(scope="module")
def summary(outcomes: list[CaseOutcome]) -> dict[str, Any]:
    return summarize(outcomes)


def _misses(outcomes: list[CaseOutcome], tag: str) -> list[str]:
    return [
        f"{o.case.name}: {s.expected!r} -> {s.status} {s.read!r}"
        for o in outcomes if o.case.tag == tag
        for s in o.strings if not s.is_typo and s.status != CheckStatus.EXACT
    ]


def test_poster_set_covers_the_required_variety(cases: list[PosterCase]) -> None:
    assert len(cases) >= 60
    assert {c.tag for c in cases} == {"clean", "hard"}
    texts = [t for c in cases for t in c.texts]
    fonts = {t.font for t in texts}
    assert {"sans", "sans-bold", "serif", "serif-bold", "mono", "mono-bold", "cjk-bold"} <= fonts
    assert any(len(t.lines) == 2 for t in texts), "no two-line headline"
    assert any(t.angle for t in texts), "no rotated text"
    assert {c.dark for c in cases} == {True, False}
    assert {"solid", "gradient", "busy", "photo"} == {c.background for c in cases}
    assert any(c.blur for c in cases) and any(c.jpeg_quality for c in cases)
    painted = {t.expected for t in texts}
    for needed in ["$19.99", "€24,90", "¥1,299", "-30%", "限时特惠", "立即购买"]:
        assert needed in painted, needed
    typos = [t for t in texts if t.is_typo]
    assert len(typos) >= 30
    assert all(normalize(t.rendered) != normalize(t.expected) for t in typos)


def test_posters_are_deterministic(cases: list[PosterCase]) -> None:
    again = build_cases()
    assert again == cases
    first = cases[len(cases) // 2 + 1]  # a hard poster: noise, blur and JPEG
    assert render_poster(first).tobytes() == render_poster(first).tobytes()


def test_clean_exact_recall_floor(summary: dict[str, Any], outcomes: list[CaseOutcome]) -> None:
    assert summary["clean_recall"] >= CLEAN_RECALL_FLOOR, _misses(outcomes, "clean")


def test_hard_exact_recall_floor(summary: dict[str, Any], outcomes: list[CaseOutcome]) -> None:
    assert summary["hard_recall"] >= HARD_RECALL_FLOOR, _misses(outcomes, "hard")


def test_planted_typos_are_never_exact(summary: dict[str, Any], outcomes: list[CaseOutcome]) -> None:
    false_exact = [
        f"{o.case.name}: asked {s.expected!r}, painted {s.rendered!r}, read {s.read!r}"
        for o in outcomes for s in o.strings if s.is_typo and s.status == CheckStatus.EXACT
    ]
    assert summary["typos"] >= 30
    assert false_exact == []


def test_planted_typos_are_mostly_reported_near(summary: dict[str, Any]) -> None:
    assert summary["typo_near"] / summary["typos"] >= TYPO_NEAR_FLOOR


def test_unrequested_text_is_reported_as_extra(summary: dict[str, Any]) -> None:
    assert summary["decoys"] > 0
    assert summary["decoys_found"] / summary["decoys"] >= 0.9


# --------------------------------------------------------------------------
# Real-size hard posters (issue 14), fixed subset
# --------------------------------------------------------------------------

# Measured on this subset, 2 busy cores: before (one OCR pass) clean 19/19, hard
# 70/96 = 72.9%; with the closer look clean 19/19, hard 86/96 = 89.6% (2026-12-01);
# with the smaller re-read too clean 19/19, hard 87/96 = 90.6% (2026-12-06); after
# the speed work (the detector on the poster shrunk to 0.64 MP, core/text/ocr.py)
# clean 19/19, hard 88/96 = 91.7% (2026-12-06); with the tighter re-reads
# (TIGHTER_RE_READS, core/text/check.py) clean 19/19, hard 89/96 = 92.7%
# (2026-12-06); with the fainter line search (FAINT_THRESHOLD_FACTOR, core/text/ocr.py)
# clean 19/19, hard 89/96 (2026-12-07); with the boxes fitted to the ink (FITTED_SCALES,
# core/text/check.py) clean 19/19, hard 90/96 = 93.8% (2026-12-07); no typo or omission exact in any.
# The hard floor sits two strings under the measured value (88/96 = 0.917) and
# far above the one-pass recall, so losing the closer look fails here.
REAL_CLEAN_FLOOR = 0.95
REAL_HARD_FLOOR = 0.91


@pytest.fixture(scope="module")
def real_cases() -> list[PosterCase]:
    try:
        find_fonts()
    except FontsMissingError as exc:
        pytest.fail(str(exc))
    return build_real_cases(clean=3, hard_per_kind=3)


@pytest.fixture(scope="module")
def real_outcomes(real_cases: list[PosterCase]) -> list[CaseOutcome]:
    return evaluate(real_cases, render=render_real_poster)


def _recall(outcomes: list[CaseOutcome], tag: str) -> float:
    picked = [s for o in outcomes if o.case.tag == tag for s in o.strings if not s.is_typo]
    return sum(1 for s in picked if s.status == CheckStatus.EXACT) / len(picked)


def test_real_set_covers_every_kind_size_and_font(real_cases: list[PosterCase]) -> None:
    assert {c.kind for c in real_cases} == {"clean", *KINDS}
    assert {(c.width, c.height) for c in real_cases} == {(1328, 1328), (928, 1664), (1664, 928)}
    fonts = {t.font for c in real_cases for t in c.texts}
    assert any(f.startswith("lib-") for f in fonts) and any(f.startswith("cjk") for f in fonts)
    small = [t for c in real_cases if c.tag == "hard" for t in c.texts if t.role == "benefit"]
    assert min(t.size for t in small) <= 15
    assert any(abs(t.angle) >= 5 for c in real_cases for t in c.texts)
    assert any(c.blur >= 1.5 for c in real_cases) and any((c.jpeg_quality or 100) <= 30 for c in real_cases)
    assert any(t.is_typo and not t.rendered for c in build_real_cases() for t in c.texts), "no omitted string"
    assert sum(t.is_typo for c in real_cases for t in c.texts) >= 8


def test_real_set_recall_floors(real_outcomes: list[CaseOutcome]) -> None:
    assert _recall(real_outcomes, "clean") >= REAL_CLEAN_FLOOR, _misses(real_outcomes, "clean")
    assert _recall(real_outcomes, "hard") >= REAL_HARD_FLOOR, _misses(real_outcomes, "hard")


def test_real_set_typos_and_omissions_are_never_exact(real_outcomes: list[CaseOutcome]) -> None:
    false_exact = [
        f"{o.case.name}: asked {s.expected!r}, painted {s.rendered!r}, read {s.read!r}"
        for o in real_outcomes for s in o.strings if s.is_typo and s.status == CheckStatus.EXACT
    ]
    assert false_exact == []


# Pale text on a pale ground: the clean posters of seed 20261213 hold four
# strings 10-19 luminance levels off their background (white on a pastel
# gradient; tests/ocr_real_posters.py ``_against`` clamps at 255). The line
# finder's first search skips them (its threshold follows the poster's strong
# lines) and so did the check until the fainter search (core/text/ocr.py
# FAINT_THRESHOLD_FACTOR).
PALE_STRINGS = {
    "real-clean-plain-02": "Members save more",
    "real-clean-plain-03-zh": "特价",
    "real-clean-plain-05": "Members save more",
    "real-clean-plain-10": "No code needed",
}


@pytest.fixture(scope="module")
def pale_posters() -> list[tuple[PosterCase, Any]]:
    try:
        find_fonts()
    except FontsMissingError as exc:
        pytest.fail(str(exc))
    cases = [c for c in build_real_cases(clean=12, hard_per_kind=0, seed=20261213) if c.name in PALE_STRINGS]
    return [(case, render_real_poster(case)) for case in cases]


def _status_of_pale_string(case: PosterCase, image: Any) -> CheckStatus:
    from core.text.check import check_text

    result = check_text(image, case.expected)
    (check,) = [s for s in result.strings if s.expected == PALE_STRINGS[case.name]]
    return check.status


def test_pale_text_on_a_pale_ground_is_found_exact(pale_posters: list[tuple[PosterCase, Any]]) -> None:
    assert len(pale_posters) == len(PALE_STRINGS)
    for case, image in pale_posters:
        text = next(t for t in case.texts if t.expected == PALE_STRINGS[case.name])
        assert text.rendered == text.expected  # painted right: a check that misses it is wrong
        assert _status_of_pale_string(case, image) == CheckStatus.EXACT, case.name


def test_without_the_faint_search_the_pale_text_is_missed(
    pale_posters: list[tuple[PosterCase, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import core.text.places as places

    monkeypatch.setattr(places, "MAX_FAINT_REGIONS", 0)
    statuses = {case.name: _status_of_pale_string(case, image) for case, image in pale_posters}
    assert CheckStatus.EXACT not in statuses.values(), statuses


# A line read with its end cut off: on seed 20261201's real-hard-small-04
# "While stocks last" (17 px, 2 px blur) reads "While stocks l" in every box
# of the closer look and the re-reads; only the box stretched toward the
# missing letters (core/text/places.py ``extended_places``) reads it whole.
def _benchmark_poster(name: str) -> tuple[PosterCase, Any]:
    """A poster of the benchmark's draw (seed 20261201, as bench/ocr_accuracy.py draws it), painted."""
    try:
        find_fonts()
    except FontsMissingError as exc:
        pytest.fail(str(exc))
    (case,) = [c for c in build_real_cases(clean=12, hard_per_kind=10, seed=20261201) if c.name == name]
    return case, render_real_poster(case)


@pytest.fixture(scope="module")
def cut_line_poster() -> tuple[PosterCase, Any]:
    return _benchmark_poster("real-hard-small-04")


def _checks_of(case: PosterCase, image: Any) -> dict[str, Any]:
    """The check of every expected string of ``case``, by its text (one check of the poster)."""
    from core.text.check import check_text

    return {s.expected: s for s in check_text(image, case.expected).strings}


def _check_of(case: PosterCase, image: Any, text: str):
    return _checks_of(case, image)[text]


def test_a_line_read_with_its_end_cut_off_is_read_whole_in_a_stretched_box(
    cut_line_poster: tuple[PosterCase, Any],
) -> None:
    case, image = cut_line_poster
    text = next(t for t in case.texts if t.expected == "While stocks last")
    assert text.rendered == text.expected
    assert _check_of(case, image, "While stocks last").status == CheckStatus.EXACT


def test_without_the_stretched_re_read_the_cut_line_stays_near(
    cut_line_poster: tuple[PosterCase, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import core.text.check as check

    monkeypatch.setattr(check, "EXTENDED_SCALES", ())
    result = _check_of(*cut_line_poster, "While stocks last")
    # Still cut: "While stocks l" in the padded boxes, "While stocks la" in the boxes fitted to the ink.
    assert result.status == CheckStatus.NEAR and result.read in ("While stocks l", "While stocks la")


# Lines read a letter off in every padded box: on seed 20261201's real-hard-large-02
# (a poster painted at 0.6x and enlarged, blurred 1.5 px) "2-year warranty" reads
# "2-year warrsaty" and "While stocks last" reads "Whille stocks last" in the
# closer look and every re-read; in their boxes fitted to the line's ink
# (core/text/fitting.py, FITTED_SCALES in core/text/check.py) both read right.
@pytest.fixture(scope="module")
def loose_box_poster() -> tuple[PosterCase, Any]:
    return _benchmark_poster("real-hard-large-02")


def test_lines_read_a_letter_off_in_padded_boxes_read_right_fitted_to_their_ink(
    loose_box_poster: tuple[PosterCase, Any],
) -> None:
    case, image = loose_box_poster
    painted = {t.expected: t.rendered for t in case.texts}
    assert painted["2-year warranty"] == "2-year warranty" and painted["While stocks last"] == "While stocks last"
    checks = _checks_of(case, image)
    assert checks["2-year warranty"].status == checks["While stocks last"].status == CheckStatus.EXACT


def test_without_the_fitted_boxes_those_lines_stay_a_letter_off(
    loose_box_poster: tuple[PosterCase, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import core.text.check as check

    monkeypatch.setattr(check, "FITTED_SCALES", ())
    read = {text: (result.status, result.read) for text, result in _checks_of(*loose_box_poster).items()}
    assert read["2-year warranty"] == (CheckStatus.NEAR, "2-year warrsaty")
    assert read["While stocks last"] == (CheckStatus.NEAR, "Whille stocks last")
