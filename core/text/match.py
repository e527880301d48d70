"""Matching expected strings against OCR lines. Pure: no OCR, no I/O.

Each expected string gets a CheckStatus:

* ``exact``   - the normalized expected text (core/text/normalize.py) appears
                in the OCR text, either as a whole line, inside a line with
                sensible word boundaries, or spread over two or three
                neighbouring lines (multi-line headline).
* ``near``    - something similar was read (rapidfuzz ratio >=
                NEAR_THRESHOLD on normalized text). A typo on the poster lands
                here.
* ``missing`` - nothing similar enough was found.

A planted typo must never come out as ``exact``. Exactness is therefore a
plain string comparison on normalized text, never a fuzzy score.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from core.text.normalize import Key, build_key, is_cjk, is_word_char, normalize
from core.text.result import CheckStatus, ExpectedString, OcrLine, StringCheck

# A string whose best fuzzy similarity (rapidfuzz ``fuzz.ratio`` on normalized
# text, 0..100) reaches this value is reported as "near", below it "missing".
# It only separates "near" from "missing"; "exact" never depends on it, so it
# cannot produce a false "exact".
#
# Why 70 (data in bench/results/ocr_accuracy.md):
# * One edit in a string of n normalized characters scores at least 1 - 1/n:
#   66.7 for n = 3, 75 for n = 4, 80 for n = 5. With 70 every one-character
#   typo of a string of 4+ characters is "near"; on the accuracy set the 48
#   planted typos scored 66.7-94.7 and only the 3-character "¥80" (for "¥88")
#   fell to "missing".
# * Expected strings matched against another poster's OCR text that does not
#   contain them score about 34 at the median and about 62 at the 95th
#   percentile; the few at 70+ are other prices/discounts one or two
#   characters away ("-50%" for "-30%"), which is what "near" is meant to
#   flag. At 65, unrelated text at 66.7 would become "near" too ("now" for
#   "Buy now", "Summer Shirt" for "SUMMER SALE", "€9" for "€129").
NEAR_THRESHOLD: float = 70.0

# Leftover OCR text that was not used by any expected string is reported in
# ``extra_text`` when it holds at least this many letters/digits (or any CJK
# character). Single stray letters are usually OCR noise at the edge of a
# fuzzy match, not text somebody painted on the poster.
EXTRA_TEXT_MIN_ALNUM: int = 2

# Lines are joined into multi-line candidates of at most this many lines
# (two- and three-line headlines).
MAX_LINES_PER_STRING: int = 3

# Replaces characters already claimed by another expected string, so that
# neither exact search nor fuzzy search can use them again.
_CLAIMED = "\x00"


@dataclass
class _Line:
    ocr: OcrLine
    key: Key
    claimed: list[bool]
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)


@dataclass
class _Candidate:
    """One OCR line or several neighbouring lines joined in reading order."""

    line_ids: list[int]
    text: str  # joined keys, claimed characters replaced by _CLAIMED
    origin: list[tuple[int, int]]  # (line id, index in that line's key) per char
    gap: list[bool]
    boundary: list[bool]  # True where the char is a boundary (claimed / non-word)


def _make_line(ocr: OcrLine) -> _Line:
    xs = [p[0] for p in ocr.box]
    ys = [p[1] for p in ocr.box]
    key = build_key(ocr.text)
    return _Line(
        ocr=ocr, key=key, claimed=[False] * len(key.chars),
        x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys),
    )


def _reading_order(lines: list[_Line]) -> list[_Line]:
    """Top-to-bottom rows, left-to-right inside a row.

    Two lines are in the same row when their vertical centres are closer than
    half the smaller line height (OCR boxes of one row wobble a little,
    especially on rotated text).
    """
    by_centre = sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2)
    rows: list[list[_Line]] = []
    for line in by_centre:
        centre = (line.y0 + line.y1) / 2
        if rows:
            last = rows[-1]
            row_centre = sum((ln.y0 + ln.y1) / 2 for ln in last) / len(last)
            row_height = min(ln.height for ln in last)
            if abs(centre - row_centre) < 0.5 * min(row_height, line.height):
                last.append(line)
                continue
        rows.append([line])
    ordered: list[_Line] = []
    for row in rows:
        ordered.extend(sorted(row, key=lambda ln: ln.x0))
    return ordered


def _follows(a: _Line, b: _Line) -> bool:
    """Can ``b`` continue the text of ``a`` (next word in a row, or next line)?"""
    small = min(a.height, b.height)
    large = max(a.height, b.height)
    vertical_overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    if vertical_overlap >= 0.5 * small:
        # Same row: b starts to the right of a, within a few letter widths
        # (OCR sometimes splits a widely spaced headline into words).
        gap = b.x0 - a.x1
        return b.x0 > a.x0 and -0.5 * small <= gap <= 2.5 * small
    # Next line: directly below, at most about one line height of leading,
    # and horizontally overlapping (left-aligned, centred or right-aligned).
    vertical_gap = b.y0 - a.y1
    horizontal_overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    return (
        b.y0 > a.y0
        and -0.5 * small <= vertical_gap <= 1.2 * large
        and horizontal_overlap > -0.5 * small
    )


def _line_sequences(lines: list[_Line]) -> list[list[int]]:
    """Single lines, then chains of 2..MAX_LINES_PER_STRING neighbouring lines.

    Shorter sequences come first so that, for equal matches, the one using
    fewer lines wins.
    """
    count = len(lines)
    sequences: list[list[int]] = [[i] for i in range(count)]
    frontier = [[i] for i in range(count)]
    for _ in range(MAX_LINES_PER_STRING - 1):
        longer = []
        for seq in frontier:
            last = lines[seq[-1]]
            for j in range(count):
                if j not in seq and j > seq[-1] and _follows(last, lines[j]):
                    longer.append(seq + [j])
        sequences.extend(longer)
        frontier = longer
    return sequences


def _candidate(lines: list[_Line], line_ids: list[int]) -> _Candidate:
    chars: list[str] = []
    origin: list[tuple[int, int]] = []
    gap: list[bool] = []
    boundary: list[bool] = []
    for position, line_id in enumerate(line_ids):
        line = lines[line_id]
        for k, char in enumerate(line.key.chars):
            claimed = line.claimed[k]
            chars.append(_CLAIMED if claimed else char)
            origin.append((line_id, k))
            # A line break is a gap between words.
            gap.append(line.key.gap[k] or (k == 0 and position > 0))
            boundary.append(claimed or not is_word_char(char))
    return _Candidate(line_ids=line_ids, text="".join(chars), origin=origin, gap=gap, boundary=boundary)


def _clean_boundaries(cand: _Candidate, start: int, end: int) -> bool:
    """Does [start, end) start and end at word boundaries of the candidate?

    "$19.99" inside "$19.999" or "sale" inside "wholesale" is not a match;
    "-30%" inside "sale -30%" or "立即购买" inside "限时特惠立即购买" is.
    """
    n = len(cand.text)
    if start > 0 and not cand.gap[start]:
        if not cand.boundary[start - 1] and not cand.boundary[start]:
            return False
    if end < n and not cand.gap[end]:
        if not cand.boundary[end - 1] and not cand.boundary[end]:
            return False
    return True


def _find_exact(expected_key: str, cand: _Candidate) -> tuple[int, int] | None:
    start = cand.text.find(expected_key)
    while start != -1:
        end = start + len(expected_key)
        lines_touched = {cand.origin[i][0] for i in range(start, end)}
        # A multi-line candidate only counts when the match really spans all
        # of its lines; matches inside one line are found on that line alone.
        if len(lines_touched) == len(cand.line_ids) and _clean_boundaries(cand, start, end):
            return start, end
        start = cand.text.find(expected_key, start + 1)
    return None


def _boundary_positions(cand: _Candidate) -> list[int]:
    """Positions between characters where a word may start or end."""
    n = len(cand.text)
    positions = [0]
    for p in range(1, n):
        if cand.gap[p] or cand.boundary[p - 1] or cand.boundary[p]:
            positions.append(p)
    positions.append(n)
    return positions


def _best_window(expected_key: str, cand: _Candidate) -> tuple[float, int, int]:
    """Best fuzzy match of ``expected_key`` against whole words of the candidate.

    Windows start and end only at word boundaries (every position between
    CJK characters is one) and never contain text already claimed by another
    string. Free character windows would let "Get yours" match the "eturns"
    of "Free returns" or "SUMMER SALE" match "Summer Sh(irt)"; whole-word
    windows compare it with "returns" / "Summer Shirt" and score lower.
    When OCR merged words ("SUMERSALEOFF") the whole run is compared, which
    still scores high for a one-letter typo.
    """
    text = cand.text
    m = len(expected_key)
    positions = _boundary_positions(cand)
    best_rank: tuple[int, int] | None = None
    best = (0.0, 0, 0)
    for a, start in enumerate(positions):
        for end in positions[a + 1:]:
            length = end - start
            if length > 2 * m + 2:
                break
            if 2 * length < m:
                continue
            window = text[start:end]
            if _CLAIMED in window:
                continue
            # The window is chosen by fewest edits, then by length closest to
            # the expected text. Choosing by fuzz.ratio would prefer dropping
            # a wrong character at the edge: for "立即购买" it rates "立即购"
            # (85.7) above what is really painted, "立即购大" (75.0).
            rank = (Levenshtein.distance(expected_key, window), abs(length - m))
            if best_rank is None or rank < best_rank:
                best_rank = rank
                best = (fuzz.ratio(expected_key, window), start, end)
    return best


def _claim(lines: list[_Line], cand: _Candidate, start: int, end: int) -> tuple[str, list]:
    """Mark [start, end) of the candidate as used; return (read text, boxes)."""
    per_line: dict[int, list[int]] = {}
    for i in range(start, end):
        line_id, k = cand.origin[i]
        lines[line_id].claimed[k] = True
        per_line.setdefault(line_id, []).append(k)

    pieces = []
    boxes = []
    for line_id in cand.line_ids:
        if line_id not in per_line:
            continue
        line = lines[line_id]
        ks = per_line[line_id]
        first = line.key.src[min(ks)]
        last = line.key.src[max(ks)]
        pieces.append(line.key.source[first:last + 1].strip())
        boxes.append([list(point) for point in line.ocr.box])
    return " ".join(pieces), boxes


def _leftover_text(line: _Line) -> list[str]:
    """Pieces of a line that no expected string used."""
    pieces = []
    k = 0
    n = len(line.key.chars)
    while k < n:
        if line.claimed[k]:
            k += 1
            continue
        run_start = k
        while k < n and not line.claimed[k]:
            k += 1
        run = line.key.chars[run_start:k]
        alnum = sum(1 for c in run if c.isalnum())
        has_cjk = any(is_cjk(c) for c in run)
        if alnum >= EXTRA_TEXT_MIN_ALNUM or has_cjk:
            first = line.key.src[run_start]
            last = line.key.src[k - 1]
            pieces.append(line.key.source[first:last + 1].strip())
    return pieces


def match_strings(
    expected: list[ExpectedString], lines: list[OcrLine]
) -> tuple[list[StringCheck], list[str]]:
    """Match expected strings to OCR lines. Pure: no OCR, no I/O.

    Returns one StringCheck per expected string (same order; strings whose
    normalized text is empty are skipped, there is nothing to check) and the
    OCR text that no expected string used.

    Every OCR character can serve only one expected string, so two expected
    strings cannot both be "found" in the same piece of text:

    1. Exact pass, longest expected string first (so "SUMMER SALE" takes its
       text before "SALE" could take part of it): look for the normalized
       expected text in single lines, then in chains of 2-3 neighbouring
       lines, with clean word boundaries.
    2. Near pass on what is left: compute each remaining string's best fuzzy
       window, accept the globally best one if it reaches NEAR_THRESHOLD,
       claim its characters, repeat. Greedy best-first keeps a typo'd
       string from taking the text of a better-matching one.
    """
    checkable = [e for e in expected if normalize(e.text)]
    ordered_lines = _reading_order([_make_line(line) for line in lines])
    sequences = _line_sequences(ordered_lines)

    results: dict[int, StringCheck] = {}

    # Pass 1: exact.
    by_length = sorted(range(len(checkable)), key=lambda i: -len(normalize(checkable[i].text)))
    for index in by_length:
        item = checkable[index]
        key = normalize(item.text)
        for line_ids in sequences:
            cand = _candidate(ordered_lines, line_ids)
            span = _find_exact(key, cand)
            if span is None:
                continue
            read, boxes = _claim(ordered_lines, cand, *span)
            results[index] = StringCheck(
                role=item.role, expected=item.text, status=CheckStatus.EXACT,
                read=read, similarity=100.0, boxes=boxes,
            )
            break

    # Pass 2: near, best match first.
    remaining = [i for i in range(len(checkable)) if i not in results]
    best_scores: dict[int, float] = {}
    while remaining:
        # Scores are recomputed on what is still unclaimed, so a "missing"
        # string reports its best similarity against the text left for it.
        best_scores = {}
        best: tuple[float, int, _Candidate, int, int] | None = None
        for index in remaining:
            key = normalize(checkable[index].text)
            for line_ids in sequences:
                cand = _candidate(ordered_lines, line_ids)
                if not cand.text.strip(_CLAIMED):
                    continue
                score, start, end = _best_window(key, cand)
                best_scores[index] = max(best_scores.get(index, 0.0), score)
                if best is None or score > best[0]:
                    best = (score, index, cand, start, end)
        if best is None or best[0] < NEAR_THRESHOLD:
            break
        score, index, cand, start, end = best
        read, boxes = _claim(ordered_lines, cand, start, end)
        item = checkable[index]
        results[index] = StringCheck(
            role=item.role, expected=item.text, status=CheckStatus.NEAR,
            read=read, similarity=round(float(score), 1), boxes=boxes,
        )
        remaining.remove(index)

    for index in remaining:
        item = checkable[index]
        results[index] = StringCheck(
            role=item.role, expected=item.text, status=CheckStatus.MISSING,
            read=None, similarity=round(float(best_scores.get(index, 0.0)), 1), boxes=[],
        )

    extra: list[str] = []
    for line in ordered_lines:
        extra.extend(_leftover_text(line))

    return [results[i] for i in range(len(checkable))], extra


def exact_fraction(strings: list[StringCheck]) -> float:
    if not strings:
        return 1.0
    return sum(1 for s in strings if s.status == CheckStatus.EXACT) / len(strings)
