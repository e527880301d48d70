"""Content-addressed image store with WebP thumbnails.

Files are named by the sha256 of their bytes, so the same image twice is one file, and a
path in the database can always be checked against its content. Every write goes to a temp
name in the same folder and is renamed into place, so a crash never leaves half a PNG.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

THUMB_SIZE = (384, 384)


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: str  # relative to the store root
    thumb_path: str  # relative to the store root
    width: int
    height: int


def png_bytes(image: Image.Image, pnginfo=None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=pnginfo)
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ImageStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def absolute(self, relative: str) -> Path:
        return self.root / relative

    def _relative_for(self, kind: str, sha: str, suffix: str) -> str:
        # Two levels of fan-out keep any one folder small with 10,000s of posters.
        return f"{kind}/{sha[:2]}/{sha}{suffix}"

    def put_png(self, image: Image.Image, kind: str = "posters") -> StoredImage:
        """Store an image as PNG plus a WebP thumbnail; returns where they went."""
        data = png_bytes(image)
        sha = hashlib.sha256(data).hexdigest()
        relative = self._relative_for(kind, sha, ".png")
        thumb_relative = self._relative_for(f"{kind}-thumbs", sha, ".webp")

        target = self.absolute(relative)
        if not target.exists():
            atomic_write(target, data)
        thumb_target = self.absolute(thumb_relative)
        if not thumb_target.exists():
            atomic_write(thumb_target, make_thumbnail(image))
        return StoredImage(sha, relative, thumb_relative, image.width, image.height)

    def read_bytes(self, relative: str) -> bytes:
        return self.absolute(relative).read_bytes()

    def delete(self, relative: str) -> None:
        try:
            self.absolute(relative).unlink()
        except FileNotFoundError:
            pass


def make_thumbnail(image: Image.Image, size: tuple[int, int] = THUMB_SIZE) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    thumb.save(buffer, format="WEBP", quality=82, method=4)
    return buffer.getvalue()
