"""Where the check read each string: its boxes drawn over the poster."""

from __future__ import annotations

from PIL import Image, ImageDraw

from core.text.result import CheckStatus, TextCheckResult

EXACT_COLOUR = (40, 200, 80)
NEAR_COLOUR = (255, 150, 0)
LOOKED_COLOUR = (160, 160, 160)  # where a missing string was looked for


def draw_check_overlay(image: Image.Image, result: TextCheckResult, show_searched: bool = False) -> Image.Image:
    """A copy of ``image`` with every exact string's boxes in green and every
    near string's in orange. With ``show_searched`` the regions the closer
    look searched for missing strings are outlined in grey."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 300))
    for check in result.strings:
        if check.status == CheckStatus.MISSING:
            if show_searched:
                for box in check.looked_in:
                    draw.polygon([tuple(p) for p in box], outline=LOOKED_COLOUR, width=1)
            continue
        colour = EXACT_COLOUR if check.status == CheckStatus.EXACT else NEAR_COLOUR
        for box in check.boxes:
            draw.polygon([tuple(p) for p in box], outline=colour, width=width)
    return out
