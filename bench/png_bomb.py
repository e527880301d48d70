"""Peak memory and time of "Recall a recipe" on a PNG decompression bomb (issue 11 item 2).

    .venv/bin/python bench/png_bomb.py                 # 2 GiB of spaces in one iTXt chunk
    .venv/bin/python bench/png_bomb.py --gib 8

Builds a valid 64x64 PNG whose recipe chunk (iTXt, zlib) expands to --gib GiB of spaces (a
few MB on disk; it is compressed in pieces, so building it never holds the expanded text),
then, in a fresh Python process, hands its bytes to core.services.export.read_recipe (what
Compose's "Recall a recipe" box calls) and reports the message, the seconds, the peak of
Python's allocations during the call (tracemalloc) and the growth of the process's peak RSS.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(gib: float) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, format="PNG")
    png = buffer.getvalue()
    compressor = zlib.compressobj(9)
    piece = b" " * (64 * 1024 * 1024)
    parts = [compressor.compress(piece) for _ in range(int(gib * 16))]
    parts.append(compressor.flush())
    # iTXt: keyword, NUL, compressed flag 1, method 0, language NUL, translated keyword NUL, text
    body = b"qwen-poster-studio.recipe\x00\x01\x00\x00\x00" + b"".join(parts)
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + chunk(b"iTXt", body) + png[iend:]


MEASURE = r"""
import json, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from core.services.export import RecipeImportError, read_recipe
data = open(sys.argv[2], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
start = time.perf_counter()
try:
    read_recipe(data)
    message = "accepted"
except RecipeImportError as error:
    message = str(error)
seconds = time.perf_counter() - start
_current, traced_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"message": message, "seconds": seconds, "peak_growth_mib": (after - before) / 1024,
                  "traced_peak_kib": traced_peak / 1024,
                  "peak_rss_mib": after / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=2.0)
    args = parser.parse_args()
    data = bomb_png(args.gib)
    path = Path("/tmp/studio-png-bomb.png")
    path.write_bytes(data)
    result = json.loads(subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), str(path)],
                                       check=True, capture_output=True, text=True).stdout)
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, {platform.processor() or 'cpu'}")
    print(f"bomb: {len(data) / 1e6:.2f} MB file, expands to {args.gib:g} GiB")
    print(f"message: {result['message']}")
    print(f"read_recipe: {result['seconds'] * 1000:.1f} ms; Python allocations peaked at "
          f"{result['traced_peak_kib']:.0f} KiB during the call; the process's peak RSS grew "
          f"{result['peak_growth_mib']:.1f} MiB (process peak {result['peak_rss_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
