"""Comparison keys: what "the same text" means for the text check.

Folds case, width, quote and dash style, thousands separators, decimal commas
and whitespace; keeps every letter, digit, accent and currency symbol, so a
changed character can never compare equal. "exact" in core/text/match.py is a
plain string comparison of these keys.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

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

def is_cjk(char: str) -> bool:
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


def is_word_char(char: str) -> bool:
    """Letters and digits of space-separated scripts (Latin, Greek, Cyrillic...).

    Two word characters side by side without a space belong to the same word,
    so an expected string may not start or end between them. CJK characters
    are not word characters here: CJK text has no spaces, so any position
    between two CJK characters is a valid boundary.
    """
    return char.isalnum() and not is_cjk(char)


@dataclass
class Key:
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


def build_key(text: str) -> Key:
    # NFC first, on the whole string, so that a letter followed by a combining
    # accent becomes one character before the per-character steps below.
    source = unicodedata.normalize("NFC", text)
    key = Key(source=source)

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


def _fold_spaced_dashes(key: Key) -> None:
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


def _remove_chars(key: Key, drop: set[int]) -> None:
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


def _fold_number_separators(key: Key) -> None:
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
    return build_key(text).text
