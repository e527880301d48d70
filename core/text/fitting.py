"""Boxes fitted to a line's own ink: its tilt and its tight extent.

The closer look reads padded boxes (core/text/places.py): around a detector
box, or around a blob of local contrast. The recognizer reads a line best when
the crop is level with it and the letters fill most of its height; a box a
few degrees off or twice the text's height reads a letter or two wrong
("Git wrap included" in a padded box, "Gift wrap included" in a tight one).
``ink_fitted_box`` finds, inside a box, the tilt at which the line's ink
rows are sharpest (a projection profile), the band of rows the line fills
at that tilt and the columns its ink spans, and returns that band as a box.

Image arithmetic only (OpenCV, numpy, imported on use); it never reads text.
"""

from __future__ import annotations

from typing import Any

# Tilts tried, in degrees: whole degrees over the range, then half a degree
# either side of the best (the posters' lines tilt up to 8 degrees).
MAX_TILT = 10
# The crop is shrunk to at most this many pixels high to find the tilt (a
# profile of 48 rows places the line's band as well as one of 200 does).
TILT_SEARCH_HEIGHT = 48
# The line's band: the rows around the fullest one with at least this share of
# its ink (the x-height rows are full; ascenders and descenders are padded for
# by FIT_PAD_Y).
BAND_SHARE = 0.2
# The fitted box is padded by these shares of the band's height, up and down
# and at each end (the recognizer wants some background around the glyphs).
FIT_PAD_Y = 0.35
FIT_PAD_X = 0.3
# A fitted box longer than this many times its height is not a line (about 40
# characters): inside a headline's box the sharpest band can be the thin
# stripe along the letters' tops, 8 px high and 1100 px long, and reading that
# took the recognizer 5 s (it pads a batch to its widest crop).
MAX_ASPECT = 25


def _ink(crop: Any) -> Any:
    """Stroke edges of ``crop`` (RGB array) as a 0/1 float mask: its local
    contrast (core/text/ocr.py ``local_contrast``) over the crop's own Otsu threshold."""
    import cv2
    import numpy as np

    from core.text.ocr import local_contrast

    gradient, otsu = local_contrast(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))
    return (gradient > otsu).astype(np.float32)


def _level(mask: Any, degrees: float) -> Any:
    """``mask`` turned by ``degrees`` about its centre, same size."""
    import cv2

    height, width = mask.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(mask, turn, (width, height), flags=cv2.INTER_LINEAR)


def _sharpness(mask: Any, degrees: float) -> float:
    """How sharply the rows of ``mask`` turned by ``degrees`` change: highest
    when the line is level (its rows go from empty to full at once)."""
    import numpy as np

    return float(np.sum(np.diff(_level(mask, degrees).sum(axis=1)) ** 2))


def _tilt(mask: Any) -> float:
    """The turn, in degrees, that levels the line in ``mask``."""
    import cv2
    import numpy as np

    height, width = mask.shape
    if height > TILT_SEARCH_HEIGHT:
        shrink = TILT_SEARCH_HEIGHT / height
        mask = cv2.resize(mask, (max(1, round(width * shrink)), TILT_SEARCH_HEIGHT), interpolation=cv2.INTER_AREA)
    coarse = max(np.arange(-MAX_TILT, MAX_TILT + 1, 1.0), key=lambda d: _sharpness(mask, d))
    return float(max((coarse - 0.5, coarse, coarse + 0.5), key=lambda d: _sharpness(mask, d)))


def ink_fitted_box(rgb: Any, box: list) -> list | None:
    """The line inside ``box`` (4 points, poster pixels) of the poster ``rgb``
    (H x W x 3 array), as a box level with it and fitted to its ink, padded by
    FIT_PAD_X / FIT_PAD_Y; None when no line-like band of ink is found."""
    import cv2
    import numpy as np

    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    height, width = rgb.shape[:2]
    left, top = max(0, int(min(xs))), max(0, int(min(ys)))
    right, bottom = min(width, int(max(xs)) + 1), min(height, int(max(ys)) + 1)
    if right - left < 8 or bottom - top < 6:
        return None
    mask = _ink(np.ascontiguousarray(rgb[top:bottom, left:right]))
    degrees = _tilt(mask)
    level = _level(mask, degrees)

    rows = level.sum(axis=1)
    if rows.max() <= 0:
        return None
    fullest = int(np.argmax(rows))
    first = last = fullest
    while first > 0 and rows[first - 1] > BAND_SHARE * rows.max():
        first -= 1
    while last < len(rows) - 1 and rows[last + 1] > BAND_SHARE * rows.max():
        last += 1
    band = last - first + 1
    if band < 4:
        return None
    columns = np.nonzero(level[first:last + 1].sum(axis=0) > 0.05 * band)[0]
    if len(columns) < 4:
        return None
    # The 1st and 99th percentile of the ink's columns: a speck of grain at
    # the crop's edge does not stretch the box.
    start, end = np.percentile(columns, 1) - FIT_PAD_X * band, np.percentile(columns, 99) + FIT_PAD_X * band
    upper, lower = first - FIT_PAD_Y * band, last + 1 + FIT_PAD_Y * band
    if end - start > MAX_ASPECT * (lower - upper):
        return None
    corners = np.array([[start, upper], [end, upper], [end, lower], [start, lower]], np.float32)
    crop_height, crop_width = mask.shape
    back = cv2.invertAffineTransform(cv2.getRotationMatrix2D((crop_width / 2, crop_height / 2), degrees, 1.0))
    points = corners @ back[:, :2].T + back[:, 2]
    return [[float(x + left), float(y + top)] for x, y in points]
