"""Export: PNGs that carry their recipe, JPEG and WebP, exact platform sizes, zips.

A PNG is a list of chunks. The recipe goes in as an iTXt chunk (UTF-8 JSON, compressed)
and an A1111-style `parameters` text chunk goes beside it, so tools that read Stable
Diffusion PNGs show the prompt, seed and steps too. At the original size the chunks are
spliced into the stored file's bytes: the pixels (IDAT) are untouched and nothing is
re-encoded. Reading walks the chunks itself so a damaged file gets a clear message rather
than a decoder traceback.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

from PIL import Image, ImageOps

from core.access import Actor, Right, require
from core.prompt.brand import BrandKitError, normalize_hex
from core.recipe import Provenance, Recipe, RecipeError, recipe_from_dict, recipe_to_dict

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RECIPE_KEYWORD = "qwen-poster-studio.recipe"
PARAMETERS_KEYWORD = "parameters"  # what A1111, ComfyUI readers and civitai look for
MANIFEST_FORMAT = "qwen-poster-studio/export-manifest"
MAX_ZIP_POSTERS = 200  # a zip is built in memory; narrow the filters for more
# A recipe is a few kilobytes. A compressed text chunk may expand to at most this much:
# a crafted one (2 GiB of spaces in 2 MB) would otherwise fill the server's memory.
MAX_TEXT_CHUNK_BYTES = 256 * 1024

FORMATS = {"png": ("PNG (recipe embedded)", "png", "image/png"), "jpeg": ("JPEG", "jpg", "image/jpeg"), "webp": ("WebP", "webp", "image/webp")}
SIZE_MODES = {
    "original": "Original size",
    "crop": "Exact platform size: resize and centre-crop",
    "pad": "Exact platform size: resize and pad",
}


class ExportError(ValueError):
    """Export settings the user must fix; the message says how."""


class RecipeImportError(ValueError):
    """A file that does not give back a recipe; the message says why and what to do."""


# -- PNG chunks ---------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _itxt(keyword: str, text: str, compress: bool = True) -> bytes:
    body = text.encode("utf-8")
    if compress:
        body = zlib.compress(body, 9)
    # keyword, NUL, compression flag, method, language tag + NUL, translated keyword + NUL
    data = keyword.encode("latin-1") + b"\x00" + (b"\x01" if compress else b"\x00") + b"\x00" + b"\x00" + b"\x00" + body
    return _chunk(b"iTXt", data)


def _text(keyword: str, text: str) -> bytes:
    """tEXt when the text is Latin-1 (the widest support), else an uncompressed iTXt, as
    A1111 itself does for prompts in other scripts."""
    try:
        return _chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return _itxt(keyword, text, compress=False)


def _chunks(data: bytes):
    """(type, data, crc_ok) for each chunk; raises RecipeImportError on a cut-off file."""
    if not data.startswith(PNG_SIGNATURE):
        raise RecipeImportError("This file is not a PNG, so it carries no recipe.")
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise RecipeImportError("This PNG is damaged (it ends in the middle of a chunk). Export it again.")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise RecipeImportError("This PNG is damaged (it is cut off). Export it again.")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : end])
        yield kind, body, crc == (zlib.crc32(kind + body) & 0xFFFFFFFF), pos, end
        pos = end
        if kind == b"IEND":
            break


def _inflate(data: bytes) -> bytes:
    """zlib data, expanded to at most MAX_TEXT_CHUNK_BYTES; never more is held in memory."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_TEXT_CHUNK_BYTES + 1)
    if len(out) > MAX_TEXT_CHUNK_BYTES:
        raise RecipeImportError(
            f"This PNG has a compressed text chunk that expands to more than {MAX_TEXT_CHUNK_BYTES // 1024} KB; "
            "a studio recipe is a few KB, so it was not read. Export the poster from the gallery again."
        )
    if not inflater.eof:
        raise zlib.error("incomplete compressed data")
    return out


def _decode_text_chunk(kind: bytes, body: bytes) -> tuple[str, str]:
    keyword, _, rest = body.partition(b"\x00")
    name = keyword.decode("latin-1")
    if kind == b"tEXt":
        return name, rest.decode("latin-1")
    if kind == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    # iTXt
    compressed, _method = rest[0], rest[1]
    rest = rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        text = _inflate(text)
    return name, text.decode("utf-8")


def read_text_chunks(data: bytes) -> dict[str, str]:
    """Every text chunk of a PNG by keyword. A chunk whose checksum or compression is broken
    maps to None, so the caller can say 'damaged' instead of 'missing'."""
    found: dict[str, str] = {}
    for kind, body, crc_ok, _start, _end in _chunks(data):
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        keyword = body.partition(b"\x00")[0].decode("latin-1", errors="replace")
        if not crc_ok:
            found[keyword] = None
            continue
        try:
            name, text = _decode_text_chunk(kind, body)
        except (zlib.error, UnicodeDecodeError, IndexError):
            found[keyword] = None
            continue
        found[name] = text
    return found


def embed_chunks(png: bytes, texts: list[bytes], replace: tuple[str, ...]) -> bytes:
    """Splice text chunks in right after IHDR, dropping older text chunks with the same
    keywords. The image data chunks are copied byte for byte."""
    out = [PNG_SIGNATURE]
    for kind, body, _crc_ok, start, end in _chunks(png):
        if kind in (b"tEXt", b"zTXt", b"iTXt") and body.partition(b"\x00")[0].decode("latin-1", "replace") in replace:
            continue
        out.append(png[start:end])
        if kind == b"IHDR":
            out.extend(texts)
    return b"".join(out)


# -- the recipe in a PNG ------------------------------------------------------------------


def a1111_parameters(recipe: Recipe) -> str:
    """The `parameters` text Stable Diffusion tools read: prompt, negative prompt, settings."""
    settings = [
        f"Steps: {recipe.steps}",
        "Sampler: FlowMatchEulerDiscrete",
        f"CFG scale: {recipe.true_cfg_scale}",
        f"Seed: {recipe.seed}",
        f"Size: {recipe.width}x{recipe.height}",
        f"Model: {recipe.model_id}",
        f"Max sequence length: {recipe.max_sequence_length}",
        f"Prompt builder: {recipe.builder_version}",
        "Version: Qwen Poster Studio",
    ]
    return f"{recipe.prompt}\nNegative prompt: {recipe.negative_prompt}\n" + ", ".join(settings)


def embed_recipe(png: bytes, recipe: Recipe, provenance: Provenance | None = None) -> bytes:
    recipe_json = json.dumps(recipe_to_dict(recipe, provenance), ensure_ascii=False, sort_keys=True)
    return embed_chunks(
        png,
        [_itxt(RECIPE_KEYWORD, recipe_json), _text(PARAMETERS_KEYWORD, a1111_parameters(recipe))],
        replace=(RECIPE_KEYWORD, PARAMETERS_KEYWORD),
    )


def read_recipe(data: bytes) -> tuple[Recipe, Provenance]:
    """The recipe a studio PNG carries. Every failure is a RecipeImportError that says
    what is wrong with the file and what to do instead."""
    if data[:3] == b"\xff\xd8\xff" or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise RecipeImportError(
            "This is a JPEG or WebP export; only PNG exports carry the recipe. Download the PNG from the gallery."
        )
    texts = read_text_chunks(data)
    if RECIPE_KEYWORD not in texts:
        if texts.get(PARAMETERS_KEYWORD):
            raise RecipeImportError(
                "This PNG has generation settings from another tool (a 'parameters' text) but no Qwen Poster "
                "Studio recipe. Only PNGs exported from this studio's gallery can be recalled."
            )
        raise RecipeImportError(
            "This PNG has no Qwen Poster Studio recipe. Only PNGs downloaded from the gallery carry one."
        )
    text = texts[RECIPE_KEYWORD]
    if text is None:
        raise RecipeImportError("The recipe in this PNG is damaged (its checksum or compression is broken). Export it again.")
    try:
        data_json = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecipeImportError(f"The recipe in this PNG is damaged (not valid JSON: {error.msg} at character {error.pos}).") from None
    try:
        return recipe_from_dict(data_json)
    except RecipeError as error:
        raise RecipeImportError(f"The recipe in this PNG can't be used: {error}") from None


# -- sizes and formats --------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    format: str = "png"  # png, jpeg, webp
    quality: int = 92  # JPEG and WebP
    size_mode: str = "original"  # original, crop, pad
    pad_color: str = "#FFFFFF"


def check_options(options: ExportOptions) -> ExportOptions:
    if options.format not in FORMATS:
        raise ExportError(f"Pick PNG, JPEG or WebP, not {options.format!r}.")
    if not 1 <= int(options.quality) <= 100:
        raise ExportError("Quality must be from 1 to 100.")
    if options.size_mode not in SIZE_MODES:
        raise ExportError(f"Pick one of: {', '.join(SIZE_MODES.values())}.")
    try:
        pad = normalize_hex(options.pad_color)
    except BrandKitError as error:
        raise ExportError(f"Pad colour: {error}") from None
    return ExportOptions(options.format, int(options.quality), options.size_mode, pad)


def fit_to_size(image: Image.Image, size: tuple[int, int], mode: str, pad_color: str = "#FFFFFF") -> Image.Image:
    """The exact platform size. `crop` scales to cover the frame (Lanczos) and cuts the
    overflow equally from both sides; `pad` scales to fit inside and fills the bars."""
    image = image.convert("RGB")
    if image.size == tuple(size):
        return image
    if mode == "crop":
        return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    if mode == "pad":
        return ImageOps.pad(image, size, method=Image.Resampling.LANCZOS, color=pad_color, centering=(0.5, 0.5))
    raise ExportError(f"Unknown size mode {mode!r}.")


def export_image(
    png: bytes,
    recipe: Recipe,
    options: ExportOptions,
    export_size: tuple[int, int],
    provenance: Provenance | None = None,
) -> bytes:
    """One poster as the user asked: format, quality, size. PNGs carry the recipe."""
    options = check_options(options)
    if options.size_mode == "original" and options.format == "png":
        return embed_recipe(png, recipe, provenance)
    image = Image.open(io.BytesIO(png))
    image.load()
    if options.size_mode != "original":
        image = fit_to_size(image, export_size, options.size_mode, options.pad_color)
    else:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    if options.format == "png":
        image.save(buffer, format="PNG", optimize=False)
        return embed_recipe(buffer.getvalue(), recipe, provenance)
    if options.format == "jpeg":
        # 4:4:4 chroma keeps thin coloured lettering crisp at high quality.
        image.save(buffer, format="JPEG", quality=options.quality, optimize=True,
                   subsampling=0 if options.quality >= 90 else 2)
    else:
        image.save(buffer, format="WEBP", quality=options.quality, method=4)
    return buffer.getvalue()


def export_file_name(poster_id: int, seed: int, size: tuple[int, int], fmt: str) -> str:
    return f"poster-{poster_id}-seed{seed}-{size[0]}x{size[1]}.{FORMATS[fmt][1]}"


# -- zips ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipEntry:
    file_name: str
    data: bytes
    manifest: dict  # this poster's manifest item: ids, recipe, reviews


def build_zip(entries: list[ZipEntry], selection: str) -> bytes:
    """The images plus manifest.json. PNGs are stored, not deflated: they are compressed
    already, and storing keeps a large zip quick to build."""
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "selection": selection,
        "count": len(entries),
        "posters": [{"file": e.file_name, **e.manifest} for e in entries],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in entries:
            archive.writestr(entry.file_name, entry.data, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "manifest.json",
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return buffer.getvalue()


# -- from the database --------------------------------------------------------------------


def _audit(db, actor: Actor | None, subject: str, detail: dict) -> None:
    """Sign a download in the audit trail. Every role may download, so the check at the top
    of each export never refuses today. A call without an actor (a script, the tests)
    records nothing."""
    if actor is None:
        return
    from core.services.audit import record

    record(db, actor, "export", subject, detail)


def export_poster(db, store, poster_id: int, options: ExportOptions, actor: Actor | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of one stored poster exported as asked; audited under `actor`."""
    from core.prompt.presets import get_preset
    from storage.gallery import get_poster

    if actor is not None:
        require(actor, Right.EXPORT)
    detail = get_poster(db, poster_id)
    if detail is None:
        raise ExportError(f"Poster {poster_id} no longer exists.")
    options = check_options(options)
    recipe = detail.recipe
    export_size = get_preset(recipe.preset_key).export if options.size_mode != "original" else (detail.width, detail.height)
    data = export_image(store.read_bytes(detail.path), recipe, options, export_size, detail.provenance)
    _audit(db, actor, f"poster {poster_id}", {"format": options.format, "size": list(export_size)})
    return export_file_name(detail.id, recipe.seed, export_size, options.format), data


def zip_posters(db, store, poster_ids: list[int], selection: str, actor: Actor | None = None) -> bytes:
    """A zip of these posters (PNG, original size, recipe embedded) and a manifest.json with
    every recipe and every review, in the order given; audited under `actor`."""
    from storage.gallery import get_posters
    from storage.reviews import reviews_for, summarize

    if actor is not None:
        require(actor, Right.EXPORT)
    if len(poster_ids) > MAX_ZIP_POSTERS:
        raise ExportError(
            f"A zip holds at most {MAX_ZIP_POSTERS} posters; this selection has {len(poster_ids)}. Narrow the filters."
        )
    details = get_posters(db, poster_ids)
    reviews = reviews_for(db, [d.id for d in details])
    entries = []
    for detail in details:
        summary = summarize(reviews[detail.id])
        entries.append(
            ZipEntry(
                file_name=export_file_name(detail.id, detail.recipe.seed, (detail.width, detail.height), "png"),
                data=embed_recipe(store.read_bytes(detail.path), detail.recipe, detail.provenance),
                manifest={
                    "poster_id": detail.id,
                    "job_id": detail.provenance.job_id,
                    "sha256": detail.sha256,
                    "width": detail.width,
                    "height": detail.height,
                    "text_score": detail.text_score,
                    "recipe": recipe_to_dict(detail.recipe, detail.provenance),
                    "reviews": [r.as_dict() for r in reviews[detail.id]],
                    "review_summary": {
                        "average_rating": summary.average_rating,
                        "verdicts": summary.verdicts,
                        "latest_comment": summary.latest_comment,
                    },
                },
            )
        )
    _audit(db, actor, f"zip of {len(entries)} posters", {"selection": selection, "poster_ids": [d.id for d in details]})
    return build_zip(entries, selection)


# -- back into Compose --------------------------------------------------------------------


@dataclass(frozen=True)
class Recall:
    """A recipe read from a PNG, and the poster it may be a rerun of."""

    recipe: Recipe
    parent_job_id: int | None
    parent_poster_id: int | None
    notes: list[str]


def recall_recipe(db, data: bytes) -> Recall:
    """The recipe a PNG carries, ready for Compose. Its provenance is only a claim: the
    poster it names becomes the parent only when this studio holds that very poster (same
    sha256) with that very recipe; otherwise the recipe is recalled without a parent and a
    note says why. Raises RecipeImportError."""
    from core.services.reruns import compose_notes
    from storage.gallery import poster_of_job

    recipe, provenance = read_recipe(data)
    notes = compose_notes(db, recipe)
    if provenance.job_id is None:
        return Recall(recipe, None, None, notes)
    stored = poster_of_job(db, provenance.job_id)
    if stored is not None and stored.sha256 == provenance.sha256 and stored.recipe == recipe:
        return Recall(recipe, stored.provenance.job_id, stored.id, notes)
    named = f"poster #{provenance.poster_id} (job {provenance.job_id})" if provenance.poster_id else f"job {provenance.job_id}"
    if stored is None:
        why = f"This PNG names {named} as its origin, which is not in this studio"
    else:
        why = f"This PNG names {named} as its origin, but that poster here has other pixels or another recipe"
    notes.append(why + ", so it is recalled as a new poster, not as a rerun of it.")
    return Recall(recipe, None, None, notes)
