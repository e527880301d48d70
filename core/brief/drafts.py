"""Uploaded drafts: validate, EXIF-rotate, convert to RGB and thumbnail to fit 1024x1024.

Everything here happens in memory, before anything is stored, so a bad upload leaves no
row and no file behind.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "MPO": "JPEG"}  # MPO: phone JPEGs
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Decompression-bomb guard: a tiny file can declare a gigantic canvas. 40 MP covers any
# real draft (an 8K screen is 33 MP) while refusing files that would eat gigabytes of RAM.
MAX_PIXELS = 40_000_000
DRAFT_MAX_SIDE = 1024


class DraftError(ValueError):
    """An upload the user must replace; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class PreparedDraft:
    image: Image.Image  # RGB, fits DRAFT_MAX_SIDE x DRAFT_MAX_SIDE
    original_width: int
    original_height: int
    original_format: str


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa"):
        # Transparent areas become white, as they look on the page, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit and float greyscale: scale to 8 bits before converting.
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def prepare_draft(data: bytes, filename: str = "") -> PreparedDraft:
    name = filename or "the file"
    if not data:
        raise DraftError(f"{name} is empty (0 bytes). Upload a PNG, JPEG or WebP image of your draft.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DraftError(
            f"{name} is {len(data) / 1e6:.0f} MB; drafts are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
            "Export it smaller (the brief reads it at 1024 px anyway)."
        )
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise DraftError(f"{name} is not an image we can read. Upload a PNG, JPEG or WebP file.") from None
    except Image.DecompressionBombError:
        raise DraftError(f"{name} declares a gigantic canvas; upload an image of at most {MAX_PIXELS // 1_000_000} megapixels.") from None

    source_format = image.format
    if source_format not in ACCEPTED_FORMATS:
        raise DraftError(f"{name} is a {image.format} image. Upload the draft as PNG, JPEG or WebP.")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise DraftError(
            f"{name} is {width}×{height} ({width * height / 1e6:.0f} megapixels), over the {MAX_PIXELS // 1_000_000} MP limit. "
            "Export it smaller and upload again."
        )
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise DraftError(f"{name} is damaged or truncated ({error}). Export it again and re-upload.") from None

    image = ImageOps.exif_transpose(image)
    rgb = _to_rgb(image)
    rgb.thumbnail((DRAFT_MAX_SIDE, DRAFT_MAX_SIDE), Image.Resampling.LANCZOS)
    return PreparedDraft(
        image=rgb,
        original_width=width,
        original_height=height,
        original_format=ACCEPTED_FORMATS[source_format],
    )
