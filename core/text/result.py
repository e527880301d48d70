"""The text check's data: what was asked for, what OCR read, and the verdict per string.

Pure data (no OCR, no fuzzy matching), so core.prompt can use ExpectedString
without loading anything. Stored JSON keeps the plain status strings
"exact" / "near" / "missing" (CheckStatus is a StrEnum).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class CheckStatus(StrEnum):
    EXACT = "exact"  # the normalized text was read character for character
    NEAR = "near"  # something similar was read (a typo on the poster lands here)
    MISSING = "missing"  # nothing similar enough was read


@dataclass(frozen=True)
class ExpectedString:
    """A string the user asked to appear on the poster."""

    role: str  # "offer", "price", "cta", "benefit", "name"
    text: str


@dataclass(frozen=True)
class OcrLine:
    """One line of text as read by the OCR engine."""

    text: str
    box: list  # 4 points [[x, y], ...] clockwise from top-left, in poster pixels
    confidence: float


def _boxes(data: list) -> list:
    return [[[float(x), float(y)] for x, y in box] for box in data]


@dataclass
class StringCheck:
    role: str
    expected: str
    status: CheckStatus
    read: str | None  # what OCR read for it (pieces of several lines joined by a space)
    similarity: float  # 0..100 rapidfuzz ratio on normalized text
    boxes: list  # 4-point boxes (poster pixels) of the OCR lines used, for exact and near
    # Regions (4-point boxes, poster pixels) the closer look searched for a string
    # that was not exact after the first pass; empty when it was not needed.
    looked_in: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "role": self.role,
            "expected": self.expected,
            "status": str(self.status),
            "read": self.read,
            "similarity": self.similarity,
            "boxes": self.boxes,
            "looked_in": self.looked_in,
        }

    @classmethod
    def from_json(cls, data: dict) -> "StringCheck":
        return cls(
            role=data["role"],
            expected=data["expected"],
            status=CheckStatus(data["status"]),
            read=data.get("read"),
            similarity=float(data.get("similarity", 0.0)),
            boxes=_boxes(data.get("boxes", [])),
            looked_in=_boxes(data.get("looked_in", [])),
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
    # Seconds per pass: "full" (the whole poster), "closer" (regions read
    # again for strings not exact after the full pass) and "smaller" (the same
    # regions read from the shrunk poster for strings still not exact) and
    # "tighter" (those regions trimmed, read smaller still, twice); a pass
    # that was not needed is absent.
    pass_seconds: dict[str, float] = field(default_factory=dict)
    # Every OCR line read (all passes), for debugging and benchmarks; not stored.
    lines: list[OcrLine] = field(default_factory=list, compare=False, repr=False)

    @property
    def total(self) -> int:
        return len(self.strings)

    @property
    def exact_count(self) -> int:
        return sum(1 for s in self.strings if s.status == CheckStatus.EXACT)

    def to_json(self) -> dict:
        return {
            "strings": [s.to_json() for s in self.strings],
            "extra_text": list(self.extra_text),
            "score": self.score,
            "total": self.total,
            "seconds": self.seconds,
            "pass_seconds": dict(self.pass_seconds),
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
            pass_seconds={k: float(v) for k, v in (data.get("pass_seconds") or {}).items()},
        )
