"""Where the text check reads again: the boxes of its closer look and re-reads.

core/text/check.py runs the passes; this module only picks places, in poster
pixels (4 points clockwise from top-left, reading direction left to right):
the neighbourhood of every "near" reading, text-like lines the OCR detector
skipped (core/text/ocr.py ``line_boxes``), the boxes where something like a
pending string was read, those boxes trimmed, stretched toward a string's
missing part, or fitted to the line's ink (core/text/fitting.py). Picking a place never
decides a result: a string is exact only when a reading there equals it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image
from rapidfuzz import fuzz

from core.text.fitting import ink_fitted_box
from core.text.normalize import normalize
from core.text.ocr import (
    FAINT_THRESHOLD_FACTOR,
    MAX_FAINT_REGIONS,
    equalized_grey,
    line_boxes,
    local_contrast,
    oriented_box,
)
from core.text.result import CheckStatus, OcrLine, StringCheck

# A "near" reading is read again in a box around it, padded sideways by this
# many text heights (lines found in pieces, "AUTUMN CL", lose their ends) and
# up and down a little (the recognizer wants some background around glyphs).
NEAR_PAD_X = 1.5
NEAR_PAD_Y = 0.25
# A text-like blob (core/text/ocr.py ``line_boxes``) is padded the same way:
# it often covers only part of its line ("Water res"). Padding wider than a
# character also keeps a crop from cutting a word short.
REGION_PAD_X = 2.0
REGION_PAD_Y = 0.25
# The smaller re-read reads only the boxes whose closer-look reading already
# resembles a string still pending (rapidfuzz ``partial_ratio`` of the
# normalized texts at least this much): it mends readings that were nearly
# right (a letter lost to blur), and boxes read as nothing or as unrelated text
# never gained a string there. tests/ocr_real_posters.py, seeds 20261201 and
# 20261207: the 10 strings the re-read made exact had closer-look readings at
# 57-96 ("买-送-" for 买一送一 is the lowest); 634 of the 829 boxes the re-read
# took (96 posters) had read as nothing (476) or below 50. It only picks where
# to look: exact still needs one reading equal to the string.
RE_READ_MIN_SIMILARITY = 50.0


def box_bounds(box: list) -> tuple[float, float, float, float]:
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def centre_inside(box: list, other: list) -> bool:
    x0, y0, x1, y1 = box_bounds(other)
    cx = sum(p[0] for p in box) / len(box)
    cy = sum(p[1] for p in box) / len(box)
    return x0 <= cx <= x1 and y0 <= cy <= y1


@dataclass
class LookPlaces:
    """Where the closer look reads: boxes in poster pixels (4 points each).

    ``near`` holds the padded box around each pending string's near reading
    (by string index), ``searched`` the text-like lines found without the
    detector; ``boxes`` is both, in reading order for the recognizer.
    """

    boxes: list[list]
    near: dict[int, list]
    searched: list[list]


def look_places(image: Image.Image, first: list[StringCheck]) -> LookPlaces:
    """The boxes to read again for the strings of ``first`` that are not exact."""
    exact_boxes = [b for c in first if c.status == CheckStatus.EXACT for b in c.boxes]
    boxes: list[list] = []
    near: dict[int, list] = {}
    for i, check in enumerate(first):
        if check.status == CheckStatus.NEAR and check.boxes:
            points = [p for b in check.boxes for p in b]
            near[i], _ = oriented_box(points, NEAR_PAD_X, NEAR_PAD_Y)
            boxes.append(near[i])
    searched = []
    contrast = local_contrast(equalized_grey(image))
    for box, _ in line_boxes(contrast, REGION_PAD_X, REGION_PAD_Y):
        if any(centre_inside(box, b) for b in exact_boxes + list(near.values())):
            continue
        boxes.append(box)
        searched.append(box)
    # Pale lines the search above misses (core/text/ocr.py FAINT_THRESHOLD_FACTOR):
    # only blobs that neither sit in nor hold a box already read, so the lines
    # found above are not read twice.
    taken = exact_boxes + list(near.values()) + searched
    faint = []
    for box, _ in line_boxes(contrast, REGION_PAD_X, REGION_PAD_Y, FAINT_THRESHOLD_FACTOR, max_regions=None):
        if len(faint) == MAX_FAINT_REGIONS:
            break
        if any(centre_inside(box, b) or centre_inside(b, box) for b in taken + faint):
            continue
        faint.append(box)
    boxes += faint
    searched += faint
    return LookPlaces(boxes=boxes, near=near, searched=searched)


def re_read_places(places: LookPlaces, strings: list[StringCheck], readings: list[OcrLine]) -> LookPlaces:
    """The boxes of ``places`` worth reading again for the strings not exact yet:
    those holding a closer-look reading (``readings``) similar to one of them
    (RE_READ_MIN_SIMILARITY). ``near`` and ``searched`` stay as they were
    (they say where the check looked)."""
    pending = [normalize(s.expected) for s in strings if s.status != CheckStatus.EXACT]
    similar = [
        ln for ln in readings
        if any(fuzz.partial_ratio(key, normalize(ln.text)) >= RE_READ_MIN_SIMILARITY for key in pending)
    ]
    boxes = [box for box in places.boxes if any(centre_inside(ln.box, box) for ln in similar)]
    return LookPlaces(boxes=boxes, near=places.near, searched=places.searched)


def trimmed(box: list, keep_width: float, keep_height: float) -> list:
    """``box`` (4 points clockwise from top-left) shrunk about its centre to
    ``keep_width`` of its length and ``keep_height`` of its height."""
    cx = sum(p[0] for p in box) / 4
    cy = sum(p[1] for p in box) / 4
    ux, uy = (box[1][0] - box[0][0]) * keep_width / 2, (box[1][1] - box[0][1]) * keep_width / 2
    vx, vy = (box[3][0] - box[0][0]) * keep_height / 2, (box[3][1] - box[0][1]) * keep_height / 2
    return [
        [cx - ux - vx, cy - uy - vy], [cx + ux - vx, cy + uy - vy],
        [cx + ux + vx, cy + uy + vy], [cx - ux + vx, cy - uy + vy],
    ]


# A reading that holds only part of a pending string ("While stocks l": the
# box ended inside the line) is read again in its box stretched toward the
# part it lacks. (Not every such line comes out whole: seed 20261219's
# "dmade in Portugal" reads the same stretched.) It counts as a part when it lines up
# with a stretch of the string at least this well (rapidfuzz
# ``partial_ratio_alignment`` of the normalized texts) and the string runs on
# beyond that stretch; the box grows by one character more than the part
# lacks on that side, a character being the box's length over the reading's
# length.
EXTEND_MIN_SIMILARITY = 75.0


def extended_places(places: LookPlaces, strings: list[StringCheck], readings: list[OcrLine]) -> LookPlaces:
    """Boxes of ``readings`` that hold part of a string of ``strings`` not exact
    yet, stretched toward the rest of it (EXTEND_MIN_SIMILARITY). ``near`` and
    ``searched`` stay as in ``places``."""
    pending = [normalize(s.expected) for s in strings if s.status != CheckStatus.EXACT]
    boxes = []
    for line in readings:
        read = normalize(line.text)
        if len(read) < 2:
            continue
        for key in pending:
            part = fuzz.partial_ratio_alignment(read, key)
            if part is None or part.score < EXTEND_MIN_SIMILARITY:
                continue
            lacks_before, lacks_after = part.dest_start, len(key) - part.dest_end
            # The whole reading (give or take a character at either end) must
            # line up inside the string, and the string must run on beyond it.
            if lacks_before + lacks_after == 0 or part.src_start > 1 or part.src_end < len(read) - 1:
                continue
            # Every such reading is stretched, also where the same line was read at
            # several scales and trims: keeping one box per place made 2 of the
            # 5 strings exact, not 5 (same draws).
            boxes.append(_stretched(line.box, len(read), lacks_before + 1, lacks_after + 1))
    return LookPlaces(boxes=boxes, near=places.near, searched=places.searched)


def _stretched(box: list, characters: int, before: int, after: int) -> list:
    """``box`` (4 points clockwise from top-left) lengthened by ``before``
    characters at its start and ``after`` at its end, a character being its
    length over ``characters``."""
    (x0, y0), (x1, y1), _, (x3, y3) = box
    length = max(1e-6, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    step = length / max(1, characters)
    vx, vy = x3 - x0, y3 - y0
    sx, sy = x0 - ux * step * before, y0 - uy * step * before
    ex, ey = x1 + ux * step * after, y1 + uy * step * after
    return [[sx, sy], [ex, ey], [ex + vx, ey + vy], [sx + vx, sy + vy]]


def fitted_places(image: Image.Image, places: LookPlaces) -> LookPlaces:
    """The boxes of ``places`` fitted to the ink of the line inside each
    (core/text/fitting.py ``ink_fitted_box``); boxes with no line-like ink are
    left out. ``near`` and ``searched`` stay as in ``places``."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"))
    fitted = [ink_fitted_box(rgb, box) for box in places.boxes]
    return LookPlaces(boxes=[b for b in fitted if b is not None], near=places.near, searched=places.searched)
