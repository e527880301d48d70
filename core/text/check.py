"""Text-fidelity check: did the generated poster spell the requested strings right?

The flow is: OCR the image (rapidocr, PP-OCRv6 models shipped inside the
wheel, onnxruntime on CPU), normalize what was read and what was asked for,
then match each expected string against the OCR lines.

Each expected string gets one of three statuses:

* ``exact``   - the normalized expected text appears in the image, either as a
                whole OCR line, inside a line with sensible word boundaries, or
                spread over two or three neighbouring lines (multi-line
                headline).
* ``near``    - something similar was read (rapidfuzz ratio >=
                NEAR_THRESHOLD on normalized text). A typo on the poster lands
                here.
* ``missing`` - nothing similar enough was found.

A planted typo must never come out as ``exact``. Exactness is therefore a
plain string comparison on normalized text, never a fuzzy score, and the
normalization keeps every digit, every letter and the currency symbol (only
thousands separators, case, width, quote/dash style and whitespace are folded).

Nothing in this module imports Streamlit; the OCR engine is imported lazily so
that the pure matching code can be used (and tested) without loading models.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

# --------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------

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

STATUS_EXACT = "exact"
STATUS_NEAR = "near"
STATUS_MISSING = "missing"


# --------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedString:
    """A string the user asked to appear on the poster."""

    role: str  # "offer", "price", "cta", "benefit", "name"
    text: str


@dataclass(frozen=True)
class OcrLine:
    """One line of text as read by the OCR engine."""

    text: str
    box: list  # 4 points [[x, y], ...] clockwise from top-left, in image pixels
    confidence: float


@dataclass
class StringCheck:
    role: str
    expected: str
    status: str  # "exact" | "near" | "missing"
    read: str | None  # what OCR read for it (pieces of several lines joined by a space)
    similarity: float  # 0..100 rapidfuzz ratio on normalized text
    boxes: list  # 4-point boxes of the OCR lines used

    def to_json(self) -> dict:
        return {
            "role": self.role,
            "expected": self.expected,
            "status": self.status,
            "read": self.read,
            "similarity": self.similarity,
            "boxes": self.boxes,
        }

    @classmethod
    def from_json(cls, data: dict) -> "StringCheck":
        return cls(
            role=data["role"],
            expected=data["expected"],
            status=data["status"],
            read=data.get("read"),
            similarity=float(data.get("similarity", 0.0)),
            boxes=[[list(point) for point in box] for box in data.get("boxes", [])],
        )


@dataclass
class TextCheckResult:
    strings: list[StringCheck]
    extra_text: list[str]  # OCR text not used by any expected string
    # Fraction of expected strings with status "exact". With no expected
    # strings there is nothing that can be wrong, so the score is 1.0 and
    # ``total`` is 0; callers that want to hide the badge check ``total``.
    score: float
    seconds: float
    engine: str
    error: str | None = None

    @property
    def total(self) -> int:
        return len(self.strings)

    @property
    def exact_count(self) -> int:
        return sum(1 for s in self.strings if s.status == STATUS_EXACT)

    def to_json(self) -> dict:
        return {
            "strings": [s.to_json() for s in self.strings],
            "extra_text": list(self.extra_text),
            "score": self.score,
            "total": self.total,
            "seconds": self.seconds,
            "engine": self.engine,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict) -> "TextCheckResult":
        return cls(
            strings=[StringCheck.from_json(s) for s in data.get("strings", [])],
            extra_text=list(data.get("extra_text", [])),
            score=float(data.get("score", 1.0)),
            seconds=float(data.get("seconds", 0.0)),
            engine=str(data.get("engine", "")),
            error=data.get("error"),
        )


# --------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------

# Curly quotes, primes and backticks all become the straight quote.
_QUOTE_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u2032": "'", "\u0060": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
}

# Every dash-like character (hyphen, non-breaking hyphen, figure dash, en and
# em dash, horizontal bar, minus sign, small/full-width hyphen-minus) becomes
# ASCII "-". A poster writing "–30%" with an en dash says the same as "-30%",
# and OCR does not reliably tell these glyphs apart.
_DASH_MAP = {
    c: "-"
    for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2e3a\u2e3b"
}

# Separators that may sit between digit groups ("1,299", "1.299", "1'299").
_NUMBER_SEPARATORS = {",", ".", "'"}

# Replaces characters already claimed by another expected string, so that
# neither exact search nor fuzzy search can use them again.
_CLAIMED = "\x00"


def _is_cjk(char: str) -> bool:
    """CJK ideographs, kana and hangul: scripts written without spaces."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x2FA1F  # extensions B.. and compatibility supplement
        or 0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
    )


def _is_word_char(char: str) -> bool:
    """Letters and digits of space-separated scripts (Latin, Greek, Cyrillic...).

    Two word characters side by side without a space belong to the same word,
    so an expected string may not start or end between them. CJK characters
    are not word characters here: CJK text has no spaces, so any position
    between two CJK characters is a valid boundary.
    """
    return char.isalnum() and not _is_cjk(char)


@dataclass
class _Key:
    """Normalized comparison key of one text, with a map back to the source.

    ``chars[i]`` came from ``source[src[i]]``; ``gap[i]`` is True when
    whitespace (or a line break, for joined lines) stood right before it.
    """

    source: str
    chars: list[str] = field(default_factory=list)
    src: list[int] = field(default_factory=list)
    gap: list[bool] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.chars)


def _build_key(text: str) -> _Key:
    # NFC first, on the whole string, so that a letter followed by a combining
    # accent becomes one character before the per-character steps below.
    source = unicodedata.normalize("NFC", text)
    key = _Key(source=source)

    pending_gap = False
    for index, char in enumerate(source):
        # NFKC folds full-width forms ("ＳＡＬＥ", "５０％", "￥") to their
        # half-width equivalents and ideographic space to a plain space;
        # casefold handles case (more thoroughly than lower()).
        for out in unicodedata.normalize("NFKC", char).casefold():
            out = _QUOTE_MAP.get(out, out)
            out = _DASH_MAP.get(out, out)
            if out.isspace():
                # Whitespace is dropped from the key altogether: OCR inserts
                # and drops spaces unpredictably in large display type
                # ("SHOPNOW", "$ 19.99"), and CJK text has none. We only
                # remember that a gap was there, for word boundaries.
                pending_gap = True
                continue
            key.chars.append(out)
            key.src.append(index)
            key.gap.append(pending_gap)
            pending_gap = False

    _fold_spaced_dashes(key)
    _fold_number_separators(key)
    return key


def _fold_spaced_dashes(key: _Key) -> None:
    """A dash with whitespace on both sides is punctuation, not part of a word.

    "Free returns – 30 days": OCR often splits the line at such a dash and
    drops it ("Free returns" / "30 days"), so it is treated like whitespace.
    A dash touching a word or number ("-30%", "2-year") is kept.
    """
    n = len(key.chars)
    drop = {
        i for i in range(1, n - 1)
        if key.chars[i] == "-" and key.gap[i] and key.gap[i + 1]
    }
    if drop:
        _remove_chars(key, drop)


def _remove_chars(key: _Key, drop: set[int]) -> None:
    """Remove key characters, moving their gap flag onto the next character."""
    new_chars, new_src, new_gap = [], [], []
    carry_gap = False
    for i in range(len(key.chars)):
        if i in drop:
            carry_gap = carry_gap or key.gap[i]
            continue
        new_chars.append(key.chars[i])
        new_src.append(key.src[i])
        new_gap.append(key.gap[i] or carry_gap)
        carry_gap = False
    key.chars, key.src, key.gap = new_chars, new_src, new_gap


def _fold_number_separators(key: _Key) -> None:
    """Drop thousands separators; turn decimal commas into decimal points.

    A separator between two digits is a thousands separator when exactly
    three digits follow it ("1,299", "1.299.000", "1'299"): it is removed, so
    "¥1,299" == "¥1299" == "¥1.299". Otherwise a "," or "." between digits is
    a decimal separator and becomes ".": "€24,90" == "€24.90" (same amount,
    the comma is only a locale convention and OCR confuses the two marks),
    but "€24,90" != "€2490" and "$19.99" != "$19.90" because every digit is
    kept. Digits are never removed, so a price with a different digit can
    never compare equal.
    """
    chars = key.chars
    drop: set[int] = set()
    for i, char in enumerate(chars):
        between_digits = (
            char in _NUMBER_SEPARATORS
            and 0 < i < len(chars) - 1
            and chars[i - 1].isdigit()
            and chars[i + 1].isdigit()
        )
        if not between_digits:
            continue
        digits_after = 0
        j = i + 1
        while j < len(chars) and chars[j].isdigit():
            digits_after += 1
            j += 1
        if digits_after == 3:
            drop.add(i)  # thousands separator
        elif char != "'":  # an apostrophe is never a decimal mark
            chars[i] = "."
    if drop:
        _remove_chars(key, drop)


def normalize(text: str) -> str:
    """Comparison key for ``text``.

    Folds: case, width (NFKC: "ＳＡＬＥ" -> "sale", "￥" -> "¥"), curly
    quotes, dash variants, thousands separators and decimal commas (see
    ``_fold_number_separators``), and removes all whitespace, so CJK is
    compared character by character. Letters, digits, accents, punctuation
    and currency symbols are kept as they are.
    """
    return _build_key(text).text


# --------------------------------------------------------------------------
# OCR engine
# --------------------------------------------------------------------------

_ENGINE_LOCK = threading.Lock()  # guards creation of the cached engine
_INFER_LOCK = threading.Lock()  # one inference at a time per process
_ENGINE: Any = None
_ENGINE_NAME: str | None = None

_MODEL_FILES = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def _engine_params() -> dict[str, Any]:
    """RapidOCR parameters that pin every model to a file inside the wheel.

    rapidocr only downloads when a model path is *not* given: with
    ``model_path`` unset it looks the model up in default_models.yaml and calls
    DownloadFile (which fetches when the file is missing or its checksum
    differs). Passing explicit paths for det, cls and rec skips that branch
    entirely. The rec model carries its character dictionary inside the ONNX
    metadata, so the dictionary download branch is not reached either.
    """
    import rapidocr

    model_dir = Path(rapidocr.__file__).resolve().parent / "models"
    params: dict[str, Any] = {
        "Global.log_level": "warning",
        # The 0/180 degree classifier is off: poster text is upright, and on
        # the accuracy set the classifier turned a correctly painted "€9,99"
        # upside down (read as "66'63"). It also saves ~10% of the time.
        "Global.use_cls": False,
    }
    for param, filename in _MODEL_FILES.items():
        path = model_dir / filename
        if not path.is_file():
            raise FileNotFoundError(
                f"rapidocr model {path} is missing; reinstall the rapidocr wheel "
                "(it ships the PP-OCRv6 models; this project never downloads models)"
            )
        params[param] = str(path)
    return params


def _describe_engine() -> str:
    import onnxruntime
    from rapidocr._version import __version__ as rapidocr_version

    return f"rapidocr {rapidocr_version} PP-OCRv6 small (onnxruntime {onnxruntime.__version__}, CPU)"


def get_ocr_engine() -> Any:
    """The process-wide RapidOCR instance, created on first use.

    Creating it is cheap but the ONNX sessions are loaded on the first call
    and hold ~100 MB, so every caller (Streamlit sessions are threads) shares
    one instance.
    """
    global _ENGINE, _ENGINE_NAME
    if _ENGINE is not None:
        return _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            from rapidocr import RapidOCR

            _ENGINE_NAME = _describe_engine()
            _ENGINE = RapidOCR(params=_engine_params())
    return _ENGINE


def engine_name() -> str:
    global _ENGINE_NAME
    if _ENGINE_NAME is None:
        _ENGINE_NAME = _describe_engine()
    return _ENGINE_NAME


def read_text(image: Image.Image, engine: Any = None) -> list[OcrLine]:
    """Run OCR on ``image`` and return its text lines (unordered)."""
    if engine is None:
        engine = get_ocr_engine()
    # rapidocr converts a PIL RGB image to the BGR array its models expect.
    rgb = image.convert("RGB")
    # onnxruntime already uses every core for one image; running two images
    # at once only makes both slower, and it keeps the engine state simple.
    with _INFER_LOCK:
        output = engine(rgb)

    texts = getattr(output, "txts", None)
    boxes = getattr(output, "boxes", None)
    scores = getattr(output, "scores", None)
    if not texts or boxes is None:
        return []
    lines = []
    for text, box, confidence in zip(texts, boxes, scores):
        points = [[float(x), float(y)] for x, y in box]
        lines.append(OcrLine(text=str(text), box=points, confidence=float(confidence)))
    return lines


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------


@dataclass
class _Line:
    ocr: OcrLine
    key: _Key
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
    key = _build_key(ocr.text)
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
            boundary.append(claimed or not _is_word_char(char))
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
        has_cjk = any(_is_cjk(c) for c in run)
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
                role=item.role, expected=item.text, status=STATUS_EXACT,
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
            role=item.role, expected=item.text, status=STATUS_NEAR,
            read=read, similarity=round(float(score), 1), boxes=boxes,
        )
        remaining.remove(index)

    for index in remaining:
        item = checkable[index]
        results[index] = StringCheck(
            role=item.role, expected=item.text, status=STATUS_MISSING,
            read=None, similarity=round(float(best_scores.get(index, 0.0)), 1), boxes=[],
        )

    extra: list[str] = []
    for line in ordered_lines:
        extra.extend(_leftover_text(line))

    return [results[i] for i in range(len(checkable))], extra


def _score(strings: list[StringCheck]) -> float:
    if not strings:
        return 1.0
    return sum(1 for s in strings if s.status == STATUS_EXACT) / len(strings)


def check_text(
    image: Image.Image, expected: list[ExpectedString], engine: Any = None
) -> TextCheckResult:
    """OCR ``image`` and check every expected string.

    Never raises for OCR failures: the result then has ``error`` set, every
    string "missing" and score 0.0 (or 1.0 when nothing was expected), so a
    caller can still store and display it.
    """
    started = time.perf_counter()
    try:
        if engine is None or type(engine).__name__ == "RapidOCR":
            name = engine_name()
        else:
            name = str(getattr(engine, "name", type(engine).__name__))
    except Exception:  # describing the engine must not break the check
        name = "rapidocr"
    try:
        lines = read_text(image, engine)
        strings, extra = match_strings(expected, lines)
        error = None
    except Exception as exc:  # OCR/model problems are reported, not raised
        strings = [
            StringCheck(role=e.role, expected=e.text, status=STATUS_MISSING,
                        read=None, similarity=0.0, boxes=[])
            for e in expected if normalize(e.text)
        ]
        extra = []
        error = f"{type(exc).__name__}: {exc}"
    return TextCheckResult(
        strings=strings,
        extra_text=extra,
        score=_score(strings),
        seconds=round(time.perf_counter() - started, 3),
        engine=name,
        error=error,
    )
