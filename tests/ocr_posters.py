"""Synthetic posters with known text, for measuring the OCR text check.

``build_cases()`` returns a deterministic list of poster descriptions (same
seed, same posters) and ``render_poster()`` paints one with PIL. Each poster
knows which strings were asked for (``expected``) and what was actually
painted (``rendered``): where the two differ by one character we planted a
typo, and the checker must report it as "near" or "missing", never "exact".

Posters are tagged:

* ``clean`` - solid or gradient background, high contrast, upright, sharp.
* ``hard``  - busy photographic-like background (multi-scale noise, blurred
              blobs), smaller type, per-element rotation of a few degrees,
              blur and JPEG artefacts, sometimes regular-weight or mono fonts.

``evaluate()`` and ``summarize()`` turn OCR results into the numbers used by
bench/ocr_accuracy.py and tests/test_textcheck_accuracy.py.
"""

from __future__ import annotations

import io
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from core.text.check import check_text
from core.text.match import match_strings
from core.text.normalize import normalize
from core.text.ocr import read_text
from core.text.result import CheckStatus, ExpectedString, OcrLine

DEFAULT_SEED = 20261126
FONT_INSTALL_HINT = "apt-get install fonts-noto-cjk fonts-dejavu-core fonts-liberation"

# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------

# Font key -> (file name, face index inside a .ttc collection). Only files of
# the Debian packages fonts-dejavu-core and fonts-noto-cjk. Index 2 of the
# Noto Sans CJK collections is the Simplified Chinese (SC) face.
FONT_FILES: dict[str, tuple[str, int]] = {
    "sans": ("DejaVuSans.ttf", 0),
    "sans-bold": ("DejaVuSans-Bold.ttf", 0),
    "serif": ("DejaVuSerif.ttf", 0),
    "serif-bold": ("DejaVuSerif-Bold.ttf", 0),
    "mono": ("DejaVuSansMono.ttf", 0),
    "mono-bold": ("DejaVuSansMono-Bold.ttf", 0),
    "cjk": ("NotoSansCJK-Regular.ttc", 2),
    "cjk-bold": ("NotoSansCJK-Bold.ttc", 2),
    # fonts-liberation: metric clones of Arial / Times / Arial Narrow, the
    # shapes most poster type resembles (used by tests/ocr_real_posters.py).
    "lib-sans": ("LiberationSans-Regular.ttf", 0),
    "lib-sans-bold": ("LiberationSans-Bold.ttf", 0),
    "lib-serif-bold": ("LiberationSerif-Bold.ttf", 0),
    "lib-narrow-bold": ("LiberationSansNarrow-Bold.ttf", 0),
}

FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]


class FontsMissingError(RuntimeError):
    pass


@lru_cache(maxsize=1)
def find_fonts() -> dict[str, tuple[str, int]]:
    """Absolute path and face index of every font the posters use.

    Raises FontsMissingError naming the missing files and the apt command.
    """
    found: dict[str, tuple[str, int]] = {}
    missing: list[str] = []
    for key, (filename, index) in FONT_FILES.items():
        path = None
        for folder in FONT_DIRS:
            if folder.is_dir():
                path = next(iter(sorted(folder.rglob(filename))), None)
                if path is not None:
                    break
        if path is None:
            missing.append(filename)
        else:
            found[key] = (str(path), index)
    if missing:
        raise FontsMissingError(
            f"Fonts needed for the OCR accuracy posters are missing: {', '.join(missing)}. "
            f"Install them with: {FONT_INSTALL_HINT}"
        )
    return found


@lru_cache(maxsize=256)
def load_font(key: str, size: int) -> ImageFont.FreeTypeFont:
    path, index = find_fonts()[key]
    return ImageFont.truetype(path, size=size, index=index)


# --------------------------------------------------------------------------
# Poster descriptions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedText:
    role: str  # "offer", "price", "cta", "benefit", "name"; "extra" = not asked for
    expected: str  # what the user asked for
    rendered: str  # what is painted; differs from expected for a planted typo
    lines: tuple[str, ...]  # rendered text split into painted lines
    font: str
    size: int
    color: tuple[int, int, int]
    button: tuple[int, int, int] | None = None  # CTA button fill colour
    stroke: tuple[int, int, int] | None = None  # outline colour for busy backgrounds
    angle: float = 0.0

    @property
    def is_typo(self) -> bool:
        return self.rendered != self.expected


@dataclass(frozen=True)
class PosterCase:
    name: str
    tag: str  # "clean" | "hard"
    seed: int
    width: int
    height: int
    background: str  # "solid" | "gradient" | "busy" | "photo"
    dark: bool  # dark background with light text
    align: str  # "center" | "left"
    texts: tuple[PlacedText, ...]
    blur: float = 0.0
    jpeg_quality: int | None = None
    downscale: float = 1.0  # <1: rendered, shrunk by this factor and enlarged again
    kind: str = ""  # degradation kind of tests/ocr_real_posters.py ("" for this set)
    base_color: tuple[int, int, int] | None = None  # background tone the real set's text is set against

    @property
    def expected(self) -> list[ExpectedString]:
        return [ExpectedString(t.role, t.expected) for t in self.texts if t.role != "extra"]

    @property
    def decoys(self) -> list[str]:
        return [t.rendered for t in self.texts if t.role == "extra"]


# Content pools. Prices cover the formats the normalizer must handle.
OFFERS_EN = [
    "SUMMER SALE", "MEGA DEAL", "Flash Sale", "New Arrivals", "Black Friday Deals",
    "Grand Opening", "Spring Collection", "Weekend Special", "Clearance Event",
    "Holiday Gift Guide", "Back to School", "Fresh Picks Daily",
]
NAMES_EN = [
    "AeroRun X2", "Nordic Wool Scarf", "Café Crème Blend", "Smart Watch Pro",
    "Linen Summer Shirt", "Organic Honey", "Trail Backpack 30L", "Ceramic Mug Set",
    "Noise-Cancelling Headphones", "Bamboo Toothbrush", "Cold Brew Coffee", "Desk Lamp Mini",
]
PRICES = [
    "$19.99", "€24,90", "¥1,299", "-30%", "$249", "€9,99", "$1,499.00", "-50%",
    "£35.00", "¥88", "$5.49", "€129", "-15%", "$74.95",
]
CTAS_EN = ["Shop now", "Buy now", "Order today", "Learn more", "Get yours", "Book a table", "Sign up free"]
BENEFITS_EN = [
    "Free shipping", "2-year warranty", "Limited time only", "100% cotton",
    "Mom’s favorite", "Ends Sunday", "Members save more", "Handmade in Portugal",
    "Free returns – 30 days",
]
OFFERS_ZH = ["限时特惠", "夏季大促", "新品上市", "年终盛典", "双十一狂欢", "周末特卖"]
NAMES_ZH = ["无线耳机", "智能手表", "有机绿茶", "真丝围巾", "运动跑鞋", "保温水杯"]
CTAS_ZH = ["立即购买", "马上抢购", "立即预订", "点击了解"]
BENEFITS_ZH = ["全场包邮", "满200减50", "七天无理由退换", "正品保证", "买一送一"]
PRICES_ZH = ["¥1,299", "¥88", "-30%", "¥199", "¥2,499", "-50%"]
DECOYS = ["www.example-shop.com", "Terms apply", "While stocks last", "See store for details"]

# Replacement characters for CJK typos: common characters, none of which
# looks like a character of the pools above.
CJK_SUBSTITUTES = "天山水月日口田中人大"

DARK_BACKGROUNDS = [(18, 24, 48), (40, 10, 30), (10, 40, 30), (30, 30, 30), (60, 20, 90), (5, 50, 80)]
LIGHT_BACKGROUNDS = [(245, 240, 225), (230, 245, 250), (250, 228, 220), (240, 240, 240), (255, 248, 200)]
LIGHT_TEXT = [(255, 255, 255), (255, 230, 90), (200, 255, 255), (255, 210, 220)]
DARK_TEXT = [(10, 10, 10), (20, 30, 90), (120, 10, 20), (20, 70, 30)]
BUTTON_COLORS = [(220, 40, 60), (20, 110, 220), (250, 140, 0), (30, 150, 80), (0, 0, 0), (120, 40, 160)]


def _plant_typo(text: str, rng: random.Random) -> str:
    """Change ``text`` by one visible character (one edit).

    Digits are changed to a different digit, CJK characters to a different
    CJK character, and Latin words get a dropped doubled letter, swapped
    neighbours or a different letter. Case-only or space-only changes are not
    typos for the checker (it ignores case and spacing), so they are never
    planted.
    """
    chars = list(text)
    digits = [i for i, c in enumerate(chars) if c.isdigit()]
    cjk = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
    if digits and (not cjk or rng.random() < 0.5):
        i = rng.choice(digits)
        chars[i] = rng.choice([d for d in "0123456789" if d != chars[i]])
        return "".join(chars)
    if cjk:
        i = rng.choice(cjk)
        chars[i] = rng.choice([c for c in CJK_SUBSTITUTES if c not in text])
        return "".join(chars)

    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    doubled = [i for i in letters[:-1] if chars[i].lower() == chars[i + 1].lower()]
    kind = rng.choice(["drop_double", "swap", "substitute"]) if doubled else rng.choice(["swap", "substitute"])
    if kind == "drop_double":
        i = rng.choice(doubled)
        del chars[i]
    elif kind == "swap":
        pairs = [i for i in letters[:-1] if chars[i + 1].isalpha() and chars[i].lower() != chars[i + 1].lower()]
        i = rng.choice(pairs)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        i = rng.choice(letters)
        # A letter of a clearly different shape, same case.
        pool = "kbdhwmxzq" if chars[i].lower() in "aeiouy" else "aeiou"
        new = rng.choice([c for c in pool if c != chars[i].lower()])
        chars[i] = new.upper() if chars[i].isupper() else new
    return "".join(chars)


def _split_two_lines(text: str) -> tuple[str, ...]:
    """Break a headline near its middle space into two painted lines."""
    words = text.split(" ")
    if len(words) < 2:
        return (text,)
    best = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - len(" ".join(words[k:]))))
    return (" ".join(words[:best]), " ".join(words[best:]))


# The three typos named in the issue are always part of the set.
FORCED_TYPOS = {
    ("offer", "SUMMER SALE"): "SUMER SALE",
    ("price", "$19.99"): "$19.90",
    ("cta", "Shop now"): "Shop nwo",
}


def _make_case(index: int, tag: str, rng: random.Random) -> PosterCase:
    hard = tag == "hard"
    chinese = index % 4 == 3  # every fourth poster is Chinese
    dark = rng.random() < 0.5
    width, height = rng.choice([(768, 1024), (768, 1024), (1024, 1024), (720, 1080)])

    if chinese:
        content = [
            ("offer", rng.choice(OFFERS_ZH)),
            ("name", rng.choice(NAMES_ZH)),
            ("price", rng.choice(PRICES_ZH)),
            ("benefit", rng.choice(BENEFITS_ZH)),
            ("cta", rng.choice(CTAS_ZH)),
        ]
    else:
        content = [
            ("offer", rng.choice(OFFERS_EN)),
            ("name", rng.choice(NAMES_EN)),
            ("price", rng.choice(PRICES)),
            ("benefit", rng.choice(BENEFITS_EN)),
            ("cta", rng.choice(CTAS_EN)),
        ]
        # Some posters carry a second price (old price / discount).
        if rng.random() < 0.3:
            content.insert(3, ("price", rng.choice([p for p in PRICES if p != content[2][1]])))
        if rng.random() < 0.2:
            del content[1]  # no product name
    # Forced examples from the issue go on the first posters of each tag.
    if index in (0, 1):
        content[0] = ("offer", "SUMMER SALE")
    if index in (2, 3) and not chinese:
        first_price = next(k for k, (r, _) in enumerate(content) if r == "price")
        content[first_price] = ("price", "$19.99")
    if index in (4, 5):
        content[-1] = ("cta", "Shop now")

    # About half of the posters get a planted typo, some of them two.
    typo_slots: set[int] = set()
    forced = [k for k, (r, t) in enumerate(content) if (r, t) in FORCED_TYPOS]
    if index < 6 and forced:
        typo_slots.add(forced[0])
    elif rng.random() < 0.5:
        typo_slots.add(rng.randrange(len(content)))
    if typo_slots and rng.random() < 0.25:
        typo_slots.add(rng.randrange(len(content)))

    texts: list[PlacedText] = []
    for slot, (role, expected) in enumerate(content):
        rendered = expected
        if slot in typo_slots:
            rendered = FORCED_TYPOS.get((role, expected)) or _plant_typo(expected, rng)
            assert normalize(rendered) != normalize(expected), (expected, rendered)
        has_cjk = any("\u4e00" <= c <= "\u9fff" for c in rendered)
        if has_cjk:
            font = rng.choice(["cjk", "cjk-bold"]) if hard else "cjk-bold"
        elif hard:
            font = rng.choice(["sans", "sans-bold", "serif", "serif-bold", "mono", "mono-bold"])
        else:
            font = rng.choice(["sans-bold", "serif-bold", "sans", "serif", "mono-bold"])

        if role == "offer":
            size = rng.randint(70, 110) if not hard else rng.randint(52, 96)
            two_lines = " " in rendered and rng.random() < 0.5
            lines = _split_two_lines(rendered) if two_lines else (rendered,)
        else:
            size = rng.randint(40, 72) if not hard else rng.randint(22, 56)
            if role == "price":
                size = int(size * 1.3)
            lines = (rendered,)

        text_color = rng.choice(LIGHT_TEXT if dark else DARK_TEXT)
        if hard and rng.random() < 0.25:
            # Low contrast: grey text, still about 60-100 luminance levels
            # away from the background band.
            text_color = (180, 180, 175) if dark else (95, 95, 100)
        button = None
        if role == "cta" and rng.random() < 0.7:
            button = rng.choice(BUTTON_COLORS)
            # Light text on dark buttons is the case Tesseract missed.
            luminance = 0.299 * button[0] + 0.587 * button[1] + 0.114 * button[2]
            text_color = (255, 255, 255) if luminance < 150 else (15, 15, 15)
        stroke = None
        if hard and button is None and rng.random() < 0.4:
            stroke = (0, 0, 0) if dark else (255, 255, 255)
        angle = rng.uniform(-8.0, 8.0) if hard and rng.random() < 0.6 else 0.0
        texts.append(PlacedText(role, expected, rendered, lines, font, size, text_color, button, stroke, angle))

    if hard and rng.random() < 0.35:
        decoy = rng.choice(DECOYS)
        texts.append(PlacedText("extra", decoy, decoy, (decoy,), "sans", rng.randint(24, 32),
                                rng.choice(LIGHT_TEXT if dark else DARK_TEXT)))

    if hard:
        background = rng.choice(["busy", "photo", "photo"])
        blur = rng.choice([0.0, 0.6, 0.9, 1.2, 1.6])
        jpeg_quality = rng.choice([30, 40, 50, 65])
        # Some hard posters are generated small and upscaled (soft edges).
        downscale = rng.choice([1.0, 1.0, 0.6, 0.5])
    else:
        background = rng.choice(["solid", "gradient"])
        blur = 0.0
        jpeg_quality = rng.choice([None, 92])
        downscale = 1.0

    return PosterCase(
        name=f"{tag}-{index:02d}{'-zh' if chinese else ''}",
        tag=tag, seed=rng.randrange(2**31), width=width, height=height,
        background=background, dark=dark, align=rng.choice(["center", "left"]),
        texts=tuple(texts), blur=blur, jpeg_quality=jpeg_quality, downscale=downscale,
    )


def build_cases(count_per_tag: int = 36, seed: int = DEFAULT_SEED) -> list[PosterCase]:
    """``count_per_tag`` clean and as many hard posters, deterministic in ``seed``."""
    rng = random.Random(seed)
    cases = []
    for tag in ("clean", "hard"):
        for index in range(count_per_tag):
            cases.append(_make_case(index, tag, rng))
    return cases


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, width: int, height: int, cells: int) -> np.ndarray:
    """Low-frequency RGB noise in 0..1: a coarse random grid scaled up bicubically."""
    grid = rng.random((max(2, cells * height // width), cells, 3))
    img = Image.fromarray((grid * 255).astype(np.uint8), "RGB").resize((width, height), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.0


def _background(case: PosterCase, rng: np.random.Generator) -> Image.Image:
    w, h = case.width, case.height
    base = np.array((DARK_BACKGROUNDS if case.dark else LIGHT_BACKGROUNDS)[int(rng.integers(0, 5))], np.float32)
    if case.background == "solid":
        return Image.new("RGB", (w, h), tuple(int(v) for v in base))
    if case.background == "gradient":
        other = base + (rng.uniform(-50, 50, 3) if case.dark else rng.uniform(-40, 10, 3))
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        arr = base[None, None, :] * (1 - t) + other[None, None, :] * t
        arr = np.broadcast_to(arr, (h, w, 3))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")

    # Busy / photographic-like: several octaves of coloured noise kept inside a
    # dark or light luminance band (so the text stays readable for a human),
    # blurred colour blobs and fine grain.
    low, high = (15.0, 115.0) if case.dark else (140.0, 245.0)
    octaves = [(3, 0.5), (9, 0.3), (27, 0.2)] if case.background == "photo" else [(12, 0.5), (40, 0.5)]
    noise = sum(weight * _smooth_noise(rng, w, h, cells) for cells, weight in octaves)
    arr = low + noise * (high - low)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")

    blobs = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(blobs)
    for _ in range(int(rng.integers(6, 14))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(30, w / 3), rng.uniform(30, h / 4)
        colour = tuple(int(v) for v in rng.uniform(low, high, 3)) + (int(rng.integers(90, 200)),)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=colour)
    blobs = blobs.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(4, 18))))
    img = Image.alpha_composite(img.convert("RGBA"), blobs).convert("RGB")

    grain = rng.normal(0, 10 if case.background == "busy" else 6, (h, w, 1)).astype(np.float32)
    arr = np.asarray(img, np.float32) + grain
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _text_block(item: PlacedText, size: int) -> Image.Image:
    """One element (all its lines, and its button) on a transparent layer."""
    font = load_font(item.font, size)
    stroke_width = max(1, size // 22) if item.stroke else 0
    boxes = [font.getbbox(line, stroke_width=stroke_width) for line in item.lines]
    line_widths = [b[2] - b[0] for b in boxes]
    ascent, descent = font.getmetrics()
    line_height = int((ascent + descent) * 1.1)
    pad_x, pad_y = (int(size * 0.8), int(size * 0.45)) if item.button else (4, 4)
    width = max(line_widths) + 2 * pad_x
    height = line_height * len(item.lines) + 2 * pad_y

    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if item.button:
        draw.rounded_rectangle([0, 0, width - 1, height - 1], radius=height // 3, fill=item.button + (255,))
    for k, line in enumerate(item.lines):
        x = (width - line_widths[k]) // 2 - boxes[k][0]
        y = pad_y + k * line_height
        draw.text((x, y), line, font=font, fill=item.color + (255,),
                  stroke_width=stroke_width, stroke_fill=(item.stroke + (255,)) if item.stroke else None)
    if item.angle:
        layer = layer.rotate(item.angle, resample=Image.BICUBIC, expand=True)
    return layer


def render_poster(case: PosterCase) -> Image.Image:
    """Paint ``case``; the same case always gives the same pixels."""
    rng = np.random.default_rng(case.seed)
    poster = _background(case, rng).convert("RGBA")
    margin = int(case.width * 0.07)
    max_width = case.width - 2 * margin

    # Shrink elements until they fit the width, then the height.
    scale = 1.0
    while True:
        blocks = []
        for item in case.texts:
            size = max(14, int(item.size * scale))
            block = _text_block(item, size)
            while block.width > max_width and size > 14:
                size = int(size * 0.9)
                block = _text_block(item, size)
            blocks.append(block)
        total = sum(b.height for b in blocks)
        if total <= (case.height - 2 * margin) * 0.85 or scale < 0.4:
            break
        scale *= 0.9

    gap = (case.height - 2 * margin - total) / max(1, len(blocks) - 1)
    y = float(margin)
    for block in blocks:
        x = (case.width - block.width) // 2 if case.align == "center" else margin
        poster.alpha_composite(block, (int(x), int(y)))
        y += block.height + gap

    return degrade(poster.convert("RGB"), case)


def degrade(image: Image.Image, case: PosterCase) -> Image.Image:
    """What generation and export do to a poster: a softening resample, blur, JPEG."""
    if case.downscale < 1.0:
        small = (int(case.width * case.downscale), int(case.height * case.downscale))
        image = image.resize(small, Image.BILINEAR).resize((case.width, case.height), Image.BICUBIC)
    if case.blur:
        image = image.filter(ImageFilter.GaussianBlur(radius=case.blur))
    if case.jpeg_quality:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=case.jpeg_quality)
        buffer.seek(0)
        image = Image.open(buffer).convert("RGB")
    return image


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


@dataclass
class StringOutcome:
    role: str
    expected: str
    rendered: str
    is_typo: bool
    status: CheckStatus
    read: str | None
    similarity: float


@dataclass
class CaseOutcome:
    case: PosterCase
    strings: list[StringOutcome]
    extra_text: list[str]
    lines: list[OcrLine]
    seconds: float
    error: str | None = None
    decoys_found: int = 0


def evaluate(cases: list[PosterCase], engine: Any = None, render: Callable[[PosterCase], Image.Image] | None = None,
             check: Callable[..., Any] | None = None) -> list[CaseOutcome]:
    """Render and check every case. ``seconds`` is OCR + matching time only.

    ``render`` paints a case (default ``render_poster``); ``check`` reads an
    image and returns (string checks, extra text, OCR lines) (default
    ``full_check``: the check as the app runs it).
    """
    render = render or render_poster
    check = check or full_check
    outcomes = []
    for case in cases:
        image = render(case)
        started = time.perf_counter()
        strings, extra, lines = check(image, case.expected, engine)
        seconds = time.perf_counter() - started
        painted = [t for t in case.texts if t.role != "extra"]
        assert len(strings) == len(painted)
        joined_extra = normalize(" ".join(extra))
        decoys_found = sum(1 for d in case.decoys if normalize(d) in joined_extra)
        outcomes.append(CaseOutcome(
            case=case,
            strings=[
                StringOutcome(t.role, t.expected, t.rendered, t.is_typo, s.status, s.read, s.similarity)
                for t, s in zip(painted, strings)
            ],
            extra_text=extra, lines=lines, seconds=seconds, decoys_found=decoys_found,
        ))
    return outcomes


def single_pass_check(image: Image.Image, expected: list[ExpectedString], engine: Any = None):
    """One OCR pass over the whole poster and matching: the check before issue 14
    (the detector at the poster's full resolution)."""
    lines = read_text(image, engine, detect_pixels=None)
    strings, extra = match_strings(expected, lines)
    return strings, extra, lines


def full_check(image: Image.Image, expected: list[ExpectedString], engine: Any = None):
    """The check as the app runs it (``check_text``)."""
    result = check_text(image, expected, engine)
    return result.strings, result.extra_text, result.lines


def check_one(case: PosterCase, engine: Any = None):
    """Convenience for debugging a single case through the public API."""
    return check_text(render_poster(case), case.expected, engine)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def summarize(outcomes: list[CaseOutcome]) -> dict[str, Any]:
    """Exact recall per tag (correctly painted strings), typo outcomes, timing."""
    summary: dict[str, Any] = {}
    for tag in ("clean", "hard"):
        correct = [s for o in outcomes if o.case.tag == tag for s in o.strings if not s.is_typo]
        exact = sum(1 for s in correct if s.status == CheckStatus.EXACT)
        summary[f"{tag}_posters"] = sum(1 for o in outcomes if o.case.tag == tag)
        summary[f"{tag}_strings"] = len(correct)
        summary[f"{tag}_exact"] = exact
        summary[f"{tag}_recall"] = _ratio(exact, len(correct))

    typos = [s for o in outcomes for s in o.strings if s.is_typo]
    summary["typos"] = len(typos)
    summary["typo_false_exact"] = sum(1 for s in typos if s.status == CheckStatus.EXACT)
    summary["typo_near"] = sum(1 for s in typos if s.status == CheckStatus.NEAR)
    summary["typo_missing"] = len(typos) - summary["typo_false_exact"] - summary["typo_near"]
    summary["false_exact_rate"] = _ratio(summary["typo_false_exact"], len(typos)) if typos else 0.0

    decoys = sum(len(o.case.decoys) for o in outcomes)
    summary["decoys"] = decoys
    summary["decoys_found"] = sum(o.decoys_found for o in outcomes)
    summary["mean_seconds"] = sum(o.seconds for o in outcomes) / max(1, len(outcomes))
    summary["max_seconds"] = max((o.seconds for o in outcomes), default=0.0)
    return summary


def impostor_matches(outcomes: list[CaseOutcome]) -> list[tuple[str, str | None, float]]:
    """(expected, read, similarity) for strings matched against a poster that lacks them.

    Each poster's expected strings are matched against the OCR lines of the
    poster four places on (same position in the 4-cycle, so the same script);
    strings that poster also asked for or painted (even with a typo) are
    skipped. This is the score distribution the "near" threshold must stay
    above.
    """
    matches = []
    for i, outcome in enumerate(outcomes):
        other = outcomes[(i + 4) % len(outcomes)]
        painted = {normalize(t.rendered) for t in other.case.texts}
        painted |= {normalize(t.expected) for t in other.case.texts}
        expected = [e for e in outcome.case.expected if normalize(e.text) not in painted]
        strings, _ = match_strings(expected, other.lines)
        matches.extend((s.expected, s.read, s.similarity) for s in strings)
    return matches
