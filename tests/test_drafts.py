import io

import pytest
from PIL import Image

from core.brief.drafts import DRAFT_MAX_SIDE, MAX_PIXELS, DraftError, prepare_draft


def encode(image, fmt="PNG", **kw):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def bomb_png(width, height):
    """A small PNG that declares a huge canvas (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


def test_png_jpeg_webp_are_accepted_and_fit_1024():
    for fmt in ("PNG", "JPEG", "WEBP"):
        prepared = prepare_draft(encode(Image.new("RGB", (3000, 1500), (10, 200, 30)), fmt), f"draft.{fmt.lower()}")
        assert prepared.image.mode == "RGB"
        assert max(prepared.image.size) == DRAFT_MAX_SIDE and prepared.image.size == (1024, 512)
        assert (prepared.original_width, prepared.original_height) == (3000, 1500)


def test_small_drafts_are_not_upscaled():
    assert prepare_draft(encode(Image.new("RGB", (300, 200))), "a.png").image.size == (300, 200)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty (0 bytes)"),
        (b"this is a text file, not a poster", "not an image"),
        (encode(Image.new("RGB", (64, 64)), "GIF"), "GIF image"),
    ],
)
def test_bad_uploads_get_clear_messages(data, message):
    with pytest.raises(DraftError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare_draft(data, "upload.bin")


def test_truncated_file_is_refused():
    data = encode(Image.effect_noise((800, 800), 60).convert("RGB"), "PNG")
    with pytest.raises(DraftError, match="damaged or truncated"):
        prepare_draft(data[: len(data) // 2], "half.png")


def test_decompression_bomb_is_refused_before_decoding():
    side = int(MAX_PIXELS**0.5) + 100
    with pytest.raises(DraftError, match="megapixels"):
        prepare_draft(bomb_png(side, side), "bomb.png")


def test_cmyk_rgba_and_palette_become_rgb():
    cmyk = prepare_draft(encode(Image.new("CMYK", (50, 50), (0, 255, 255, 0)), "JPEG"), "c.jpg").image
    assert cmyk.mode == "RGB" and cmyk.getpixel((25, 25))[0] > 200 and cmyk.getpixel((25, 25))[1] < 60  # red
    rgba = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    assert prepare_draft(encode(rgba), "t.png").image.getpixel((10, 10)) == (255, 255, 255)  # transparent -> white
    palette = Image.new("P", (50, 50), 3)
    palette.putpalette([0, 0, 0, 10, 10, 10, 20, 20, 20, 0, 0, 255] + [0] * (252 * 3))
    assert prepare_draft(encode(palette), "p.png").image.getpixel((0, 0)) == (0, 0, 255)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    prepared = prepare_draft(encode(image, "JPEG", exif=exif), "phone.jpg")
    assert prepared.image.size == (100, 200)
