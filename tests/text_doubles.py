"""Test doubles for the text check. Named as what they are: the app never uses them.

Demo models draw noise, so no demo poster can ever pass an OCR check. To test what happens
when one does (best-of-N stopping early, the "all text correct" filter), these hooks replace
the generated image with a plainly rendered poster of the exact strings.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from tests.ocr_posters import load_font


def render_exact_strings(strings: list[str], size: tuple[int, int]) -> Image.Image:
    """Black text on white, one string a line, large enough for the OCR to read."""
    width, height = max(size[0], 640), max(size[1], 640)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = load_font("sans-bold", 44)
    y = 40
    for text in strings:
        draw.text((40, y), text, fill=(0, 0, 0), font=font)
        y += 80
    return image


class RenderedPosterStandIn:
    """`JobRunner.image_hook` double: from the `perfect_from`-th job on (1-based, in the order
    jobs run), the noise is replaced by a rendering of the job's exact strings."""

    def __init__(self, perfect_from: int | None = 1):
        self.perfect_from = perfect_from
        self.calls = 0

    def __call__(self, image: Image.Image, claimed) -> Image.Image:
        self.calls += 1
        if self.perfect_from is None or self.calls < self.perfect_from:
            return image
        return render_exact_strings([s["text"] for s in claimed.recipe.exact_strings], image.size)
