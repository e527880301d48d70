"""Where the check read each string, and where it looked for the ones it did not find:
boxes drawn over the poster, and a legend naming the strings behind each colour."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from core.text.result import CheckStatus, TextCheckResult

EXACT_COLOUR = (40, 200, 80)
NEAR_COLOUR = (255, 150, 0)
LOOKED_COLOUR = (160, 160, 160)  # where a missing string was looked for


def draw_check_overlay(image: Image.Image, result: TextCheckResult, show_searched: bool = False) -> Image.Image:
    """A copy of ``image`` with every exact string's boxes in green and every
    near string's in orange. With ``show_searched`` the regions the closer
    look searched for missing strings are outlined in grey, drawn first so a
    box that was read stays on top."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 300))
    if show_searched:
        for check in result.strings:
            if check.status == CheckStatus.MISSING:
                for box in check.looked_in:
                    draw.polygon([tuple(p) for p in box], outline=LOOKED_COLOUR, width=width)
    for check in result.strings:
        if check.status == CheckStatus.MISSING:
            continue
        colour = EXACT_COLOUR if check.status == CheckStatus.EXACT else NEAR_COLOUR
        for box in check.boxes:
            draw.polygon([tuple(p) for p in box], outline=colour, width=width)
    return out


@dataclass(frozen=True)
class OverlayLegend:
    """The expected strings behind each colour of ``draw_check_overlay(show_searched=True)``,
    as typed by the user (a page escapes them before showing them)."""

    exact: list[str] = field(default_factory=list)  # green boxes
    near: list[str] = field(default_factory=list)  # orange boxes
    searched: list[str] = field(default_factory=list)  # missing, grey boxes where it was looked for
    # Missing with no box to show: the closer look found nothing text-like to read
    # again (or the check predates it), so only the whole-poster reading looked.
    whole_poster: list[str] = field(default_factory=list)
    # Missing because the OCR could not run at all: nothing was read anywhere.
    unread: list[str] = field(default_factory=list)


def overlay_legend(result: TextCheckResult) -> OverlayLegend:
    legend = OverlayLegend()
    for check in result.strings:
        if check.status == CheckStatus.EXACT:
            legend.exact.append(check.expected)
        elif check.status == CheckStatus.NEAR:
            legend.near.append(check.expected)
        elif result.error:
            legend.unread.append(check.expected)
        elif check.looked_in:
            legend.searched.append(check.expected)
        else:
            legend.whole_poster.append(check.expected)
    return legend
