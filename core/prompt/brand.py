"""Brand kits: validating what a user typed, and the brand block a kit adds to the prompt.

A kit is plain data (name, named hex colours, a fonts description, the wordmark, a default
tagline, tone and style keywords). Applying it in Compose fills the form's defaults and
adds one "Brand:" line to the prompt ("品牌：" in Chinese); that line is built here,
deterministically, so the same kit always gives the same prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.prompt.builder import TONES, clean_text
from core.prompt.limits import MAX_NAME_CHARS, MAX_SHORT_CHARS, MAX_STYLE_CHARS, TextTooLongError, check_length

MAX_NAME = 80
MAX_COLORS = 12
# The colour lines as typed: twelve names of MAX_NAME characters, each with its hex.
MAX_COLORS_TEXT = MAX_COLORS * (MAX_NAME + 10)
# The same limits as Compose (core/prompt/limits.py): the tagline fills the offer headline,
# the wordmark names the brand, fonts and style keywords are one prompt line each.
FIELD_LIMITS = {
    "Fonts": MAX_STYLE_CHARS,
    "Wordmark": MAX_NAME_CHARS,
    "Tagline": MAX_SHORT_CHARS,
    "Style keywords": MAX_STYLE_CHARS,
}

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class BrandKitError(ValueError):
    """A kit the user must fix before it is saved; the message says how."""


@dataclass(frozen=True)
class BrandColor:
    name: str
    hex: str  # always "#RRGGBB", upper case

    def as_dict(self) -> dict:
        return {"name": self.name, "hex": self.hex}


@dataclass(frozen=True)
class BrandKitSpec:
    """A validated kit, ready to store or to apply."""

    name: str
    colors: list[BrandColor] = field(default_factory=list)
    fonts: str = ""
    wordmark: str = ""
    tagline: str = ""
    tone: str = ""  # "" = keep whatever tone Compose has
    style_keywords: str = ""


def normalize_hex(text: str) -> str:
    """'#0a4d8c', '0A4D8C' and '#08c' all become '#0A4D8C'-style; anything else raises."""
    match = _HEX.match(text.strip())
    if not match:
        raise BrandKitError(
            f"{text.strip()!r} is not a hex colour. Write # and six hex digits (0-9, A-F), like #0A4D8C."
        )
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits.upper()


def parse_colors(text: str) -> list[BrandColor]:
    """One colour a line, its name then its hex: 'Ocean blue #0A4D8C'. Blank lines are skipped.
    Errors name the line, so a user with twelve colours knows which one to fix."""
    colors: list[BrandColor] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = clean_text(raw)
        if not line:
            continue
        parts = line.rsplit(" ", 1)
        if len(parts) != 2 or not parts[0].strip():
            raise BrandKitError(
                f"Colour line {number} ({line!r}): write a name, a space, then the hex, like 'Ocean blue #0A4D8C'."
            )
        name, hex_text = parts[0].strip(" :-,"), parts[1]
        try:
            hex_value = normalize_hex(hex_text)
        except BrandKitError as error:
            raise BrandKitError(f"Colour line {number} ({line!r}): {error}") from None
        if not name:
            raise BrandKitError(f"Colour line {number} ({line!r}): give the colour a name before its hex.")
        colors.append(BrandColor(name=name[:MAX_NAME], hex=hex_value))
    if len(colors) > MAX_COLORS:
        raise BrandKitError(f"A kit holds at most {MAX_COLORS} colours; this one has {len(colors)}.")
    names = [c.name.lower() for c in colors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BrandKitError(f"Each colour needs its own name; {', '.join(duplicates)} appears twice.")
    return colors


def colors_to_text(colors: list[dict]) -> str:
    """The stored colours back as the editable 'name #hex' lines."""
    return "\n".join(f"{c.get('name', '')} {c.get('hex', '')}".strip() for c in colors or [])


def validate_kit(
    name: str,
    colors_text: str,
    fonts: str = "",
    wordmark: str = "",
    tagline: str = "",
    tone: str = "",
    style_keywords: str = "",
) -> BrandKitSpec:
    fields = {"Fonts": fonts, "Wordmark": wordmark, "Tagline": tagline, "Style keywords": style_keywords}
    # Lengths as typed, before any cleaning or parsing walks the text (as Compose does).
    try:
        check_length("Kit name", name, MAX_NAME)
        check_length("Colours", colors_text, MAX_COLORS_TEXT)
        for label, value in fields.items():
            check_length(label, value, FIELD_LIMITS[label])
    except TextTooLongError as error:
        raise BrandKitError(str(error)) from None
    name = clean_text(name)
    if not name:
        raise BrandKitError("Give the kit a name, like 'Aurora Audio'.")
    colors = parse_colors(colors_text)
    if tone and tone not in TONES:
        raise BrandKitError(f"Tone must be one of {', '.join(TONES)}, or none.")
    cleaned = {label: clean_text(value) for label, value in fields.items()}
    return BrandKitSpec(
        name=name,
        colors=colors,
        fonts=cleaned["Fonts"],
        wordmark=cleaned["Wordmark"],
        tagline=cleaned["Tagline"],
        tone=tone or "",
        style_keywords=cleaned["Style keywords"],
    )


def brand_block(name: str, colors: list[dict], fonts: str = "", wordmark: str = "", language: str = "en") -> str:
    """The text a kit adds to the prompt, after 'Brand:' ('品牌：' in a Chinese prompt).

    The wordmark is named as the brand, not quoted: the prompt builder quotes only strings
    that must be drawn (and checked by OCR), and it forbids logos, so an unquoted name sets
    the brand's voice without asking the model to paint a logo it would misspell.
    The default tagline is not here: applying a kit puts it in the offer headline, where it
    is rendered exactly and checked like any other exact string.
    The block is written in the prompt's language; what the kit holds (its names, colours and
    fonts) stays as the user typed it.
    """
    brand = clean_text(wordmark) or clean_text(name)
    palette = [(clean_text(c.get("name", "")), c.get("hex", "")) for c in colors or [] if c.get("hex")]
    fonts = clean_text(fonts)
    if language == "zh":
        parts = [f"沿用{brand}的品牌视觉风格"]
        if palette:
            parts.append("品牌色：" + "、".join(f"{color}（{hex_value}）" for color, hex_value in palette))
        if fonts:
            parts.append("字体：" + fonts)
        return "；".join(parts) + "。"
    parts = [f"{brand} house style"]
    if palette:
        parts.append("colour palette " + ", ".join(f"{color} ({hex_value})" for color, hex_value in palette))
    if fonts:
        parts.append("typography " + fonts)
    return "; ".join(parts) + "."
