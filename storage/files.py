"""Content-addressed image store with WebP thumbnails and display renditions, in a local
folder or an S3 bucket.

Files are named by the sha256 of their bytes, so the same image twice is one file, and a
path in the database can always be checked against its content.

The store is a storage URL (STUDIO_STORAGE_URL): a folder, or `s3://bucket/prefix` through
fsspec/s3fs, which reads the endpoint, keys and region from the usual AWS variables
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION). Callers get
bytes and paths relative to the store, never a file on disk, so every page works on S3 too.

Nothing is ever half-written:
- in a folder, a write goes to a temp name in the same folder and is renamed into place;
- on S3, an object is one PUT of its complete bytes, and S3 keeps an object only once its
  upload has completed: an interrupted upload leaves no object;
- an image is its PNG and its thumbnail: when the thumbnail cannot be written, the PNG this
  call wrote is taken back, so a failed `put_png` leaves neither.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem
from fsspec.utils import get_protocol
from PIL import Image

THUMB_SIZE = (384, 384)
# Compare draws 2-4 posters side by side in the wide layout: a column is about 700 CSS px with
# 2 posters on a full-HD screen and 200-350 px with 4 (bench/compare_page.py, 1600-px window).
# A JPEG this wide is sharp there and weighs 30-130 kB where the PNG weighs 2.5-3 MB; st.image
# sends a JPEG under 1460 px as it is (a PNG it decodes and re-encodes on every run).
# BENCHMARKS.md, "Compare page", has the figures.
DISPLAY_WIDTH = 768
DISPLAY_JPEG_QUALITY = 85
# A live preview (core/render/preview.py) is about 166x166 at 1328x1328: at this quality its
# WebP is a few kB, one small object replaced every few steps, on S3 too.
PREVIEW_WEBP_QUALITY = 80


class StorageError(RuntimeError):
    """The image store cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: str  # relative to the store
    thumb_path: str  # relative to the store
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
    def __init__(self, url: str | os.PathLike):
        self.url = str(url)
        protocol = get_protocol(self.url)
        if protocol in ("file", "local"):
            self.fs = LocalFileSystem()
            self.base = LocalFileSystem._strip_protocol(os.path.expanduser(self.url)).rstrip("/")
            self.bucket = None
        elif protocol == "s3":
            from s3fs import S3FileSystem

            # No listings cache: the worker process writes and deletes objects too, and a stale
            # listing saying a deleted image is still there would make put_png skip its upload.
            self.fs = S3FileSystem(skip_instance_cache=True, use_listings_cache=False)
            self.base = S3FileSystem._strip_protocol(self.url).rstrip("/")
            self.bucket = self.base.split("/", 1)[0]
        else:
            raise StorageError(f"STUDIO_STORAGE_URL must be a folder or s3://bucket/prefix, not {self.url!r}.")

    @property
    def is_local(self) -> bool:
        return self.bucket is None

    def _full(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def _relative_for(self, kind: str, sha: str, suffix: str) -> str:
        # Two levels of fan-out keep any one folder small with 10,000s of posters.
        return f"{kind}/{sha[:2]}/{sha}{suffix}"

    def check(self) -> None:
        """Raise a StorageError saying what to fix when the store cannot be used. Called at start."""
        if self.is_local:
            try:
                os.makedirs(self.base, exist_ok=True)
            except OSError as error:
                raise StorageError(
                    f"The image folder {self.base} cannot be created ({error.strerror}). "
                    "Set STUDIO_STORAGE_URL to a folder the studio may write."
                ) from error
            if not os.access(self.base, os.W_OK):
                raise StorageError(f"The image folder {self.base} is not writable. Set STUDIO_STORAGE_URL to a folder the studio may write.")
            return

        from botocore.exceptions import EndpointConnectionError

        try:
            self.fs.call_s3("head_bucket", Bucket=self.bucket)
        except FileNotFoundError as error:
            raise StorageError(
                f"The bucket {self.bucket!r} of STUDIO_STORAGE_URL={self.url} does not exist. "
                f"Create it (e.g. `aws s3 mb s3://{self.bucket}`), or set STUDIO_STORAGE_URL to an existing bucket."
            ) from error
        except PermissionError as error:
            raise StorageError(
                f"Access to the bucket {self.bucket!r} was denied. Check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, and that these keys may read and write the bucket."
            ) from error
        except EndpointConnectionError as error:
            raise StorageError(
                f"The S3 endpoint {self.fs.s3.meta.endpoint_url} cannot be reached. "
                "Check AWS_ENDPOINT_URL (and AWS_DEFAULT_REGION), and that the server is running."
            ) from error
        except Exception as error:
            raise StorageError(
                f"The image store {self.url} cannot be used ({type(error).__name__}: {error}). "
                "Check AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION."
            ) from error

    def put_png(self, image: Image.Image, kind: str = "posters") -> StoredImage:
        """Store an image as PNG plus a WebP thumbnail; returns where they went."""
        data = png_bytes(image)
        sha = hashlib.sha256(data).hexdigest()
        relative = self._relative_for(kind, sha, ".png")
        thumb_relative = self._relative_for(f"{kind}-thumbs", sha, ".webp")

        wrote_png = self._put_new(relative, data)
        try:
            self._put_new(thumb_relative, make_thumbnail(image))
        except BaseException:
            # Only a PNG this call wrote goes: one already there belongs to another poster.
            if wrote_png:
                self.delete(relative)
            raise
        return StoredImage(sha, relative, thumb_relative, image.width, image.height)

    def _put_new(self, relative: str, data: bytes) -> bool:
        """Write `data` unless its content-addressed name is there already; True if written."""
        path = self._full(relative)
        if self.fs.exists(path):
            return False
        self._write(path, data)
        return True

    def _write(self, path: str, data: bytes) -> None:
        if self.is_local:
            atomic_write(Path(path), data)
        else:
            # One PUT of the complete bytes (s3fs sends a single put_object below 100 MB), so an
            # interrupted upload leaves no object. Not fs.open(path, "wb"): that file uploads
            # what it has buffered when it is closed, also when closed by an error.
            self.fs.pipe_file(path, data)

    # -- live previews: one small WebP per running job, replaced in place, removed at the end --

    @staticmethod
    def preview_path(job_id: int) -> str:
        """A running job's preview lives at a name made from its id alone, so any process
        (the app, a worker on another host) finds it with the job row and nothing else."""
        return f"previews/job-{job_id}.webp"

    def put_preview(self, job_id: int, image: Image.Image) -> str:
        """Write (or replace) a job's preview. The write is whole or nothing, as every write
        here, so a page reading it meanwhile gets the old preview or the new one."""
        relative = self.preview_path(job_id)
        self._write(self._full(relative), preview_webp(image))
        return relative

    def read_preview(self, job_id: int) -> bytes | None:
        """The preview's bytes, or None when there is none (never written, or the job just
        finished and took it away between the row read and this one)."""
        try:
            return self.read_bytes(self.preview_path(job_id))
        except FileNotFoundError:
            return None

    def delete_preview(self, job_id: int) -> None:
        self.delete(self.preview_path(job_id))

    # -- display renditions: a poster as a page draws it, made once from the PNG --

    @staticmethod
    def display_path(relative_png: str) -> str:
        """posters/ab/<sha>.png -> posters-display/ab/<sha>.jpg: named by the PNG's sha256,
        so it never goes stale and two posters with the same bytes share it."""
        kind, rest = relative_png.split("/", 1)
        return f"{kind}-display/{rest.rsplit('.', 1)[0]}.jpg"

    def display_bytes(self, relative_png: str) -> bytes:
        """The display rendition of a stored PNG (make_display), made and stored the first
        time it is asked for, read back after that."""
        relative = self.display_path(relative_png)
        try:
            return self.read_bytes(relative)
        except FileNotFoundError:
            pass
        with Image.open(io.BytesIO(self.read_bytes(relative_png))) as image:
            data = make_display(image)
        self._put_new(relative, data)
        return data

    def read_bytes(self, relative: str) -> bytes:
        return self.fs.cat_file(self._full(relative))

    def exists(self, relative: str) -> bool:
        return self.fs.exists(self._full(relative))

    def delete(self, relative: str) -> None:
        try:
            self.fs.rm_file(self._full(relative))
        except FileNotFoundError:
            pass


def open_image_store(url: str | os.PathLike) -> ImageStore:
    """The store at `url`, checked: a StorageError says what to fix (e.g. a missing bucket)."""
    store = ImageStore(url)
    store.check()
    return store


def preview_webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # method 2 of 6: a fast encoder setting; at this size quality barely differs.
    image.convert("RGB").save(buffer, format="WEBP", quality=PREVIEW_WEBP_QUALITY, method=2)
    return buffer.getvalue()


def make_display(image: Image.Image, width: int = DISPLAY_WIDTH) -> bytes:
    """A JPEG at most `width` wide with the image's own aspect ratio (never enlarged),
    progressive, so a slow link shows the whole poster coarse first."""
    rgb = image.convert("RGB")
    if rgb.width > width:
        rgb = rgb.resize((width, max(1, round(rgb.height * width / rgb.width))), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=DISPLAY_JPEG_QUALITY, progressive=True)
    return buffer.getvalue()


def make_thumbnail(image: Image.Image, size: tuple[int, int] = THUMB_SIZE) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    thumb.save(buffer, format="WEBP", quality=82, method=4)
    return buffer.getvalue()
