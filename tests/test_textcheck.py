"""Unit tests for core/text/: normalization, matching, result shape, the two passes.

Most tests feed hand-made OCR lines to the pure matcher, so they need no
model. The last tests run the real OCR engine: once to check it is shared and
thread-safe, and once in a subprocess with the network blocked to prove that
it never downloads anything.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from core.text import ocr
from core.text.check import TIGHTER_RE_READS, check_text
from core.text.match import NEAR_THRESHOLD, match_strings
from core.text.normalize import normalize
from core.text.result import CheckStatus, ExpectedString, OcrLine, StringCheck, TextCheckResult

REPO_ROOT = Path(__file__).resolve().parents[1]


def line(text: str, x: float, y: float, height: float = 50.0, width: float | None = None) -> OcrLine:
    """An OCR line with an axis-aligned box; width defaults to 0.6 * height per character."""
    if width is None:
        width = 0.6 * height * max(1, len(text))
    box = [[x, y], [x + width, y], [x + width, y + height], [x, y + height]]
    return OcrLine(text=text, box=box, confidence=0.99)


def statuses(expected: list[ExpectedString], lines: list[OcrLine]) -> dict[str, str]:
    checks, _ = match_strings(expected, lines)
    return {c.expected: c.status for c in checks}


# --------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------


def test_normalize_folds_case_and_whitespace() -> None:
    assert normalize("  Summer   SALE\n") == normalize("summer sale")
    # OCR drops and inserts spaces in display type; spacing is not compared.
    assert normalize("SHOPNOW") == normalize("Shop now")


def test_normalize_folds_full_width_forms() -> None:
    assert normalize("ＳＡＬＥ　５０％") == normalize("SALE 50%")
    assert normalize("￥1299") == normalize("¥1299")


def test_normalize_folds_quotes_and_dashes() -> None:
    assert normalize("“Mom’s favorite”") == normalize('"Mom\'s favorite"')
    for dash in ["—", "–", "−", "‐", "-"]:
        assert normalize(f"{dash}30%") == "-30%"
    # A dash standing between spaces is punctuation that OCR often drops.
    assert normalize("Free returns – 30 days") == normalize("Free returns 30 days")
    # A dash attached to a word stays: "2-year" is not "2year".
    assert normalize("2-year warranty") != normalize("2year warranty")


def test_normalize_thousands_separators_keep_currency_symbol() -> None:
    assert normalize("¥1,299") == normalize("¥1299") == normalize("¥1.299")
    assert normalize("$1,499.00") == normalize("$1499.00")
    assert normalize("1.299,00") == normalize("1,299.00")
    # The currency symbol is part of the meaning.
    assert normalize("$19.99") != normalize("19.99")
    assert normalize("$19.99") != normalize("€19.99")


def test_normalize_keeps_decimal_meaning() -> None:
    assert normalize("$19.99") != normalize("$19.90")
    assert normalize("$19.99") != normalize("$1999")
    # A decimal comma is the same amount as a decimal point...
    assert normalize("€24,90") == normalize("€24.90")
    # ...but not the same as no separator at all.
    assert normalize("€24,90") != normalize("€2490")


def test_normalize_compares_cjk_character_by_character() -> None:
    assert normalize("限时 特惠") == normalize("限时特惠")
    assert normalize("立即　购买") == normalize("立即购买")  # ideographic space
    assert normalize("限时特惠") != normalize("限时特慧")


def test_normalize_keeps_accents() -> None:
    assert normalize("Café") != normalize("Cafe")


# --------------------------------------------------------------------------
# match_strings
# --------------------------------------------------------------------------


def test_exact_match_on_whole_lines() -> None:
    expected = [ExpectedString("offer", "SUMMER SALE"), ExpectedString("price", "$19.99")]
    lines = [line("Summer Sale", 50, 50), line("$ 19.99", 50, 300)]
    checks, extra = match_strings(expected, lines)
    assert [c.status for c in checks] == [CheckStatus.EXACT, CheckStatus.EXACT]
    assert [c.similarity for c in checks] == [100.0, 100.0]
    assert checks[0].read == "Summer Sale"
    assert checks[1].boxes == [lines[1].box]
    assert extra == []


def test_two_line_headline_is_exact() -> None:
    expected = [ExpectedString("offer", "SUMMER SALE")]
    lines = [line("SUMMER", 50, 100, height=80), line("SALE", 70, 190, height=80)]
    checks, extra = match_strings(expected, lines)
    assert checks[0].status == CheckStatus.EXACT
    assert checks[0].read == "SUMMER SALE"
    assert len(checks[0].boxes) == 2
    assert extra == []


def test_split_headline_found_regardless_of_input_order() -> None:
    expected = [ExpectedString("offer", "Black Friday Deals"), ExpectedString("cta", "Shop now")]
    lines = [
        line("Black Friday", 40, 60, height=70),
        line("Deals", 40, 140, height=70),
        line("Shop now", 40, 700),
        line("Free shipping", 40, 500),
    ]
    rng = random.Random(7)
    for _ in range(5):
        shuffled = lines[:]
        rng.shuffle(shuffled)
        assert statuses(expected, shuffled) == {"Black Friday Deals": CheckStatus.EXACT, "Shop now": CheckStatus.EXACT}


def test_lines_far_apart_are_not_joined() -> None:
    # "SUMMER" at the top and "SALE" at the bottom do not read as "SUMMER SALE".
    expected = [ExpectedString("offer", "SUMMER SALE")]
    lines = [line("SUMMER", 50, 50, height=80), line("SALE", 50, 900, height=80)]
    checks, _ = match_strings(expected, lines)
    assert checks[0].status != CheckStatus.EXACT


def test_one_line_holding_two_expected_strings() -> None:
    expected = [ExpectedString("benefit", "限时特惠"), ExpectedString("cta", "立即购买"),
                ExpectedString("offer", "Mega Deal"), ExpectedString("price", "-30%")]
    lines = [line("限时特惠立即购买", 40, 40), line("MEGA DEAL -30%", 40, 400)]
    checks, extra = match_strings(expected, lines)
    assert [c.status for c in checks] == [CheckStatus.EXACT] * 4
    assert [c.read for c in checks] == ["限时特惠", "立即购买", "MEGA DEAL", "-30%"]
    assert extra == []


def test_headline_spanning_into_a_line_with_a_price() -> None:
    expected = [ExpectedString("offer", "SUMMER SALE"), ExpectedString("price", "-30%")]
    lines = [line("SUMMER", 50, 100, height=80), line("SALE -30%", 50, 190, height=80)]
    assert statuses(expected, lines) == {"SUMMER SALE": CheckStatus.EXACT, "-30%": CheckStatus.EXACT}


@pytest.mark.parametrize(
    "expected_text, painted",
    [
        ("SUMMER SALE", "SUMER SALE"),
        ("$19.99", "$19.90"),
        ("Shop now", "Shop nwo"),
        ("¥1,299", "¥1,289"),
        ("€24,90", "€24,99"),
        ("-30%", "-80%"),
        ("限时特惠", "限时特慧"),
        ("立即购买", "立即购卖"),
        ("Free shipping", "Free shiping"),
        ("满200减50", "满200减60"),
    ],
)
def test_planted_typo_is_near_never_exact(expected_text: str, painted: str) -> None:
    checks, _ = match_strings([ExpectedString("x", expected_text)], [line(painted, 40, 40)])
    assert checks[0].status == CheckStatus.NEAR
    assert checks[0].similarity < 100
    assert checks[0].read == painted


def test_typo_inside_a_longer_line_is_not_exact() -> None:
    expected = [ExpectedString("price", "$19.99")]
    for painted in ["Now only $19.90!", "$19.999", "$119.99", "Now $19.98 each"]:
        checks, _ = match_strings(expected, [line(painted, 10, 10)])
        assert checks[0].status != CheckStatus.EXACT, painted


def test_expected_string_must_sit_on_word_boundaries() -> None:
    expected = [ExpectedString("offer", "SALE")]
    checks, _ = match_strings(expected, [line("WHOLESALE PRICES", 10, 10)])
    assert checks[0].status != CheckStatus.EXACT
    checks, _ = match_strings(expected, [line("BIG SALE TODAY", 10, 10)])
    assert checks[0].status == CheckStatus.EXACT


def test_missing_string() -> None:
    expected = [ExpectedString("cta", "Order today")]
    checks, extra = match_strings(expected, [line("-50%", 10, 10)])
    assert checks[0].status == CheckStatus.MISSING
    assert checks[0].read is None
    assert checks[0].boxes == []
    assert checks[0].similarity < NEAR_THRESHOLD
    assert extra == ["-50%"]


def test_each_piece_of_ocr_text_serves_one_expected_string() -> None:
    # Only one price is painted; the other expected price must not reuse it.
    expected = [ExpectedString("price", "$19.99"), ExpectedString("price", "$19.99")]
    checks, _ = match_strings(expected, [line("$19.99", 10, 10)])
    assert sorted(c.status for c in checks) == [CheckStatus.EXACT, CheckStatus.MISSING]


def test_near_match_prefers_the_closest_text() -> None:
    # Both prices are one digit away; each expected string takes its own.
    expected = [ExpectedString("price", "$19.99"), ExpectedString("price", "$24.50")]
    lines = [line("$24.59", 10, 10), line("$19.98", 10, 300)]
    checks, _ = match_strings(expected, lines)
    assert [(c.status, c.read) for c in checks] == [(CheckStatus.NEAR, "$19.98"), (CheckStatus.NEAR, "$24.59")]


def test_extra_text_lists_text_nobody_asked_for() -> None:
    expected = [ExpectedString("offer", "Flash Sale"), ExpectedString("price", "$5.49")]
    lines = [line("Flash Sale ends soon", 10, 10), line("$5.49", 10, 200), line("Terms apply", 10, 600)]
    checks, extra = match_strings(expected, lines)
    assert [c.status for c in checks] == [CheckStatus.EXACT, CheckStatus.EXACT]
    assert extra == ["ends soon", "Terms apply"]


def test_single_stray_characters_are_not_extra_text() -> None:
    _, extra = match_strings([ExpectedString("cta", "Buy now")], [line("Buy now", 10, 10), line("_", 10, 300)])
    assert extra == []


def test_empty_expected_strings_are_skipped() -> None:
    checks, _ = match_strings([ExpectedString("cta", "  "), ExpectedString("offer", "Sale")], [line("SALE", 0, 0)])
    assert [(c.role, c.status) for c in checks] == [("offer", CheckStatus.EXACT)]


# --------------------------------------------------------------------------
# check_text with a stand-in engine, and the JSON shape
# --------------------------------------------------------------------------


class FakeOutput:
    def __init__(self, lines: list[OcrLine]) -> None:
        self.txts = tuple(ln.text for ln in lines)
        self.boxes = [ln.box for ln in lines]
        self.scores = tuple(ln.confidence for ln in lines)


class FakeEngine:
    """Callable like RapidOCR: returns fixed lines for any image."""

    name = "fake-ocr"

    def __init__(self, lines: list[OcrLine]) -> None:
        self.lines = lines
        self.calls = 0

    def __call__(self, image) -> FakeOutput:
        self.calls += 1
        return FakeOutput(self.lines)


class BrokenEngine:
    name = "broken"

    def __call__(self, image):
        raise RuntimeError("model file corrupt")


def blank_image():
    from PIL import Image

    return Image.new("RGB", (64, 64), "white")


def test_check_text_scores_fraction_of_exact_strings() -> None:
    engine = FakeEngine([line("SUMMER SALE", 0, 0), line("$19.90", 0, 200)])
    expected = [ExpectedString("offer", "Summer Sale"), ExpectedString("price", "$19.99"),
                ExpectedString("cta", "Shop now")]
    result = check_text(blank_image(), expected, engine=engine, look_closer=False)
    assert engine.calls == 1
    assert result.error is None
    assert [s.status for s in result.strings] == [CheckStatus.EXACT, CheckStatus.NEAR, CheckStatus.MISSING]
    assert result.score == pytest.approx(1 / 3)
    assert result.total == 3 and result.exact_count == 1
    assert result.engine == "fake-ocr"
    assert result.seconds >= 0


class RereadingEngine(FakeEngine):
    """A first pass that returns fixed lines, and a recognizer that reads every
    box it is given as ``reread`` (the closer look's second reading)."""

    def __init__(self, lines: list[OcrLine], reread: str) -> None:
        super().__init__(lines)
        self.reread = reread
        self.recognized = 0

    def recognize_txt(self, crops):
        self.recognized += len(crops)
        return type("Rec", (), {"txts": tuple(self.reread for _ in crops), "scores": tuple(0.9 for _ in crops)})()


def lined_poster():
    """A 600x400 poster with a thin dark line on it, which the closer look takes for text."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 400), (200, 200, 200))
    ImageDraw.Draw(image).text((200, 300), "Free shipping on every order", fill=(120, 120, 120))
    return image


def test_closer_look_runs_only_when_a_string_is_not_exact() -> None:
    engine = RereadingEngine([line("SUMMER SALE", 0, 0)], reread="SUMMER SALE")
    result = check_text(lined_poster(), [ExpectedString("offer", "Summer Sale")], engine=engine)
    assert [s.status for s in result.strings] == [CheckStatus.EXACT]
    assert engine.calls == 1 and engine.recognized == 0
    assert "closer" not in result.pass_seconds


def test_closer_look_turns_a_missed_line_exact_with_its_box_in_poster_pixels() -> None:
    engine = RereadingEngine([line("SUMMER SALE", 0, 0)], reread="Free shipping")
    expected = [ExpectedString("offer", "Summer Sale"), ExpectedString("benefit", "Free shipping")]
    result = check_text(lined_poster(), expected, engine=engine)
    assert [s.status for s in result.strings] == [CheckStatus.EXACT, CheckStatus.EXACT]
    assert engine.recognized >= 1 and set(result.pass_seconds) == {"full", "closer"}
    (box,) = result.strings[1].boxes
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    assert min(xs) < 200 + 30 and max(ys) > 300 and min(ys) < 315  # around the painted line
    assert result.strings[1].looked_in  # where it was looked for
    assert result.strings[0].looked_in == []  # exact in the first pass: not searched again


def test_closer_look_never_makes_a_typo_exact() -> None:
    # The poster says "Free shiping"; a second reading of it stays a typo: near, never exact.
    engine = RereadingEngine([line("SUMMER SALE", 0, 0)], reread="Free shiping")
    expected = [ExpectedString("offer", "Summer Sale"), ExpectedString("benefit", "Free shipping")]
    result = check_text(lined_poster(), expected, engine=engine)
    assert [s.status for s in result.strings] == [CheckStatus.EXACT, CheckStatus.NEAR]
    assert result.strings[1].read == "Free shiping"


def test_closer_look_reports_where_a_missing_string_was_searched() -> None:
    engine = RereadingEngine([line("SUMMER SALE", 0, 0)], reread="zzz")
    result = check_text(lined_poster(), [ExpectedString("cta", "Order today")], engine=engine)
    (check,) = result.strings
    assert check.status == CheckStatus.MISSING and check.boxes == []
    assert check.looked_in and all(len(box) == 4 for box in check.looked_in)
    # Nothing read resembles "Order today", so there is nothing to read again smaller.
    assert set(result.pass_seconds) == {"full", "closer"}


def test_smaller_re_read_reads_again_only_where_something_like_the_string_was_read() -> None:
    expected = [ExpectedString("cta", "Order today")]
    unlike = RereadingEngine([line("SUMMER SALE", 0, 0)], reread="zzz")
    check_text(lined_poster(), expected, engine=unlike)
    like = RereadingEngine([line("SUMMER SALE", 0, 0)], reread="Order tday")
    result = check_text(lined_poster(), expected, engine=like)
    # Still not exact after the closer look: the boxes read as "Order tday" are read again, smaller,
    # then twice more trimmed (TIGHTER_RE_READS); "zzz" is read once. "Order tday" lines up with
    # all but one letter of the string, so its boxes are also read stretched (EXTENDED_SCALES), and
    # fitted to the line's ink (FITTED_SCALES).
    assert set(result.pass_seconds) == {"full", "closer", "smaller", "tighter", "extended", "fitted"}
    assert "extended" not in check_text(lined_poster(), expected, engine=unlike).pass_seconds
    assert like.recognized > (2 + len(TIGHTER_RE_READS)) * unlike.recognized > 0
    assert result.strings[0].status == CheckStatus.NEAR


def test_a_reading_holding_part_of_a_string_is_read_again_stretched_toward_the_rest() -> None:
    from core.text.places import LookPlaces, extended_places

    places = LookPlaces(boxes=[], near={}, searched=[])
    pending = [StringCheck(role="benefit", expected="While stocks last", status=CheckStatus.NEAR,
                           read="While stocks l", similarity=90.0, boxes=[])]
    # A 120 px box read as "While stocks l": 12 characters once normalization drops the spaces, 10 px each.
    part = OcrLine(text="While stocks l", box=[[100, 50], [220, 50], [220, 70], [100, 70]], confidence=0.9)
    (box,) = extended_places(places, pending, [part]).boxes
    step = 120 / 12
    # One character more than it lacks on each side: none before (+1), "ast" after (+4).
    assert box[0] == pytest.approx([100 - step, 50]) and box[1] == pytest.approx([220 + 4 * step, 50])
    assert box[3] == pytest.approx([100 - step, 70])
    # A reading of the whole string, an unrelated one, or a string already exact: nothing to stretch.
    whole = OcrLine(text="While stocks last", box=part.box, confidence=0.9)
    other = OcrLine(text="Free returns", box=part.box, confidence=0.9)
    assert extended_places(places, pending, [whole, other]).boxes == []
    done = [StringCheck(role="benefit", expected="While stocks last", status=CheckStatus.EXACT,
                        read="While stocks last", similarity=100.0, boxes=[part.box])]
    assert extended_places(places, done, [part]).boxes == []


def test_a_tilted_line_in_a_loose_box_is_fitted_level_and_tight() -> None:
    import math

    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from core.text.fitting import ink_fitted_box
    from core.text.places import centre_inside

    # "Gift wrap included" at 18 px, turned 6 degrees counterclockwise (rising to the right).
    font = ImageFont.load_default(size=18)
    length = font.getlength("Gift wrap included")
    layer = Image.new("RGBA", (200, 30), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((4, 4), "Gift wrap included", font=font, fill=(40, 40, 40, 255))
    layer = layer.rotate(6, resample=Image.BICUBIC, expand=True)
    poster = Image.new("RGBA", (600, 400), (200, 200, 200, 255))
    poster.alpha_composite(layer, (200, 150))
    ink = np.nonzero(np.asarray(layer)[:, :, 3] > 128)
    centre = [200 + ink[1].mean(), 150 + ink[0].mean()]
    # A level box twice as tall as the tilted line and 40 px longer at each end.
    loose = [[160, 130], [200 + layer.width + 40, 130], [200 + layer.width + 40, 170 + layer.height],
             [160, 170 + layer.height]]

    box = ink_fitted_box(np.asarray(poster.convert("RGB")), loose)

    (x0, y0), (x1, y1), _, (x3, y3) = box
    assert math.degrees(math.atan2(y1 - y0, x1 - x0)) == pytest.approx(-6, abs=1)
    assert 12 <= math.hypot(x3 - x0, y3 - y0) <= 30  # the line's height and a little, not the loose box's 90 px
    assert length - 4 <= math.hypot(x1 - x0, y1 - y0) <= length + 24  # the line's length and a little
    assert centre_inside([centre] * 4, box)
    # Nothing line-like inside: no box. Nor for a striped band 8 px high and 540 px long, over
    # MAX_ASPECT times its height (the stripe along a headline's letter tops looks like that).
    assert ink_fitted_box(np.full((400, 600, 3), 200, np.uint8), loose) is None
    striped = np.full((400, 600, 3), 200, np.uint8)
    striped[160:168, 40:580:4] = striped[160:168, 41:580:4] = 40
    assert ink_fitted_box(striped, [[20, 130], [590, 130], [590, 200], [20, 200]]) is None


def test_overlay_draws_exact_green_and_near_orange() -> None:
    from core.text.overlay import EXACT_COLOUR, NEAR_COLOUR, draw_check_overlay

    engine = FakeEngine([line("SUMMER SALE", 20, 20), line("$19.90", 20, 200)])
    expected = [ExpectedString("offer", "Summer Sale"), ExpectedString("price", "$19.99")]
    result = check_text(lined_poster(), expected, engine=engine, look_closer=False)
    image = lined_poster()
    drawn = draw_check_overlay(image, result)
    assert drawn.size == image.size and image.getpixel((20, 20)) == (200, 200, 200)  # input untouched
    assert drawn.getpixel((20, 40)) == EXACT_COLOUR  # left edge of the "SUMMER SALE" box
    assert drawn.getpixel((20, 220)) == NEAR_COLOUR  # left edge of the "$19.90" box


def test_overlay_draws_where_a_missing_string_was_searched_in_grey() -> None:
    from core.text.overlay import LOOKED_COLOUR, draw_check_overlay

    engine = RereadingEngine([line("SUMMER SALE", 20, 20)], reread="zzz")
    expected = [ExpectedString("offer", "Summer Sale"), ExpectedString("cta", "Order today")]
    result = check_text(lined_poster(), expected, engine=engine)
    missing = result.strings[1]
    assert missing.status == CheckStatus.MISSING and missing.looked_in
    drawn = draw_check_overlay(lined_poster(), result, show_searched=True)
    for box in missing.looked_in:
        # the middle of each edge of the searched region (slightly tilted: a pixel or two
        # either side) is grey
        for a, b in zip(box, box[1:] + box[:1]):
            x, y = round((a[0] + b[0]) / 2), round((a[1] + b[1]) / 2)
            near = {drawn.getpixel((x + dx, y + dy)) for dx in range(-2, 3) for dy in range(-2, 3)}
            assert LOOKED_COLOUR in near, (box, (x, y))
    # without show_searched (and for strings that were read) nothing grey is drawn
    plain_overlay = draw_check_overlay(lined_poster(), result)
    assert LOOKED_COLOUR not in {colour for _, colour in plain_overlay.getcolors(1 << 20)}


def test_overlay_legend_names_each_colours_strings_and_missing_ones_without_a_box() -> None:
    from core.text.overlay import overlay_legend
    from core.text.result import StringCheck

    box = [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]]
    result = TextCheckResult(
        strings=[
            StringCheck("offer", "SUMMER SALE", CheckStatus.EXACT, "SUMMER SALE", 100.0, [box]),
            StringCheck("price", "$19.99", CheckStatus.NEAR, "$19.90", 83.0, [box], looked_in=[box]),
            StringCheck("cta", "Shop now", CheckStatus.MISSING, None, 0.0, [], looked_in=[box]),
            StringCheck("benefit", "Free shipping", CheckStatus.MISSING, None, 0.0, []),
        ],
        extra_text=[], score=0.25, seconds=0.1, engine="test",
    )
    legend = overlay_legend(result)
    assert (legend.exact, legend.near, legend.searched, legend.whole_poster, legend.unread) == (
        ["SUMMER SALE"], ["$19.99"], ["Shop now"], ["Free shipping"], []
    )
    result.error = "RuntimeError: model file corrupt"
    assert overlay_legend(result).unread == ["Shop now", "Free shipping"]


def test_check_text_with_nothing_expected_scores_one() -> None:
    result = check_text(blank_image(), [], engine=FakeEngine([line("Hello there", 0, 0)]))
    assert result.strings == []
    assert result.score == 1.0
    assert result.total == 0
    assert result.extra_text == ["Hello there"]


def test_check_text_reports_engine_errors_instead_of_raising() -> None:
    result = check_text(blank_image(), [ExpectedString("cta", "Buy now")], engine=BrokenEngine())
    assert result.error is not None and "model file corrupt" in result.error
    assert [s.status for s in result.strings] == [CheckStatus.MISSING]
    assert result.score == 0.0


def test_result_json_round_trip() -> None:
    engine = FakeEngine([line("SUMMER", 0, 0, height=80), line("SALE", 0, 90, height=80), line("www.shop.com", 0, 600)])
    result = check_text(blank_image(), [ExpectedString("offer", "SUMMER SALE")], engine=engine)
    data = json.loads(json.dumps(result.to_json()))  # must be plain JSON
    assert data["total"] == 1
    restored = TextCheckResult.from_json(data)
    assert restored == result
    assert restored.strings[0].boxes == [engine.lines[0].box, engine.lines[1].box]


# --------------------------------------------------------------------------
# The real OCR engine
# --------------------------------------------------------------------------


def test_ocr_engine_is_created_once_and_shared_between_threads() -> None:
    engines = []

    def grab() -> None:
        engines.append(ocr.get_ocr_engine())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(engines) == 8
    assert all(e is engines[0] for e in engines)
    assert ocr.get_ocr_engine() is engines[0]


OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    attempts = []

    def blocked(*args, **kwargs):
        attempts.append(repr(args)[:200])
        raise OSError("network access blocked by test_ocr_runs_offline")

    socket.socket.connect = blocked
    socket.socket.connect_ex = blocked
    socket.getaddrinfo = blocked
    socket.create_connection = blocked

    # The block itself must work, or the test proves nothing.
    try:
        socket.getaddrinfo("www.modelscope.cn", 443)
    except OSError:
        pass
    else:
        sys.exit("network block is not effective")
    attempts.clear()

    from PIL import Image, ImageDraw, ImageFont
    from core.text.check import check_text
    from core.text.result import ExpectedString

    font = ImageFont.truetype(sys.argv[1], 72)
    image = Image.new("RGB", (800, 500), (20, 20, 60))
    draw = ImageDraw.Draw(image)
    draw.text((60, 80), "SUMMER SALE", font=font, fill="white")
    draw.text((60, 260), "$19.99", font=font, fill=(255, 220, 80))
    result = check_text(image, [ExpectedString("offer", "SUMMER SALE"), ExpectedString("price", "$19.99")])
    print(json.dumps({
        "attempts": attempts,
        "result": result.to_json(),
        "streamlit_loaded": "streamlit" in sys.modules,
    }))
    """
)


def test_ocr_runs_offline_without_any_network_access(tmp_path: Path) -> None:
    from tests.ocr_posters import FontsMissingError, find_fonts

    try:
        font_path = find_fonts()["sans-bold"][0]
    except FontsMissingError as exc:
        pytest.fail(str(exc))

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),  # no user caches or configs
        "PYTHONPATH": str(REPO_ROOT),
        "HF_HUB_OFFLINE": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, font_path],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["attempts"] == [], "OCR tried to reach the network"
    result = report["result"]
    assert result["error"] is None
    assert [s["status"] for s in result["strings"]] == ["exact", "exact"]
    assert "PP-OCRv6" in result["engine"]
    assert report["streamlit_loaded"] is False


def test_smaller_re_read_shrinks_only_around_its_boxes_to_the_whole_resize_pixels() -> None:
    import numpy as np
    from PIL import Image

    from core.text.check import _shrunk_around

    poster = lined_poster()  # its line sits at (200, 300), i.e. (120, 180) at 0.6x
    size = (360, 240)
    box = [[110.0, 172.0], [250.0, 174.0], [249.0, 192.0], [109.0, 190.0]]
    whole = np.asarray(poster.resize(size, Image.LANCZOS)).astype(int)
    part = np.asarray(_shrunk_around(poster, size, [box])).astype(int)
    assert np.abs(whole[172:192, 109:250] - part[172:192, 109:250]).max() <= 2
    assert part[:100, :100].max() == 0  # far from the box nothing was resized
