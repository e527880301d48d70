"""The OCR engine: rapidocr with the PP-OCRv6 models shipped inside its wheel,
onnxruntime on CPU. Imported lazily, so the matching code loads no model."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from core.text.result import OcrLine

_ENGINE_LOCK = threading.Lock()  # guards creation of the cached engine
_INFER_LOCK = threading.Lock()  # one inference at a time per process
_ENGINE: Any = None
_ENGINE_NAME: str | None = None

# The detector finds lines on a copy of the poster shrunk to about this many
# pixels; the recognizer reads each line it found from the full-size poster.
# That is 0.6x at 1328x1328 (800x800) and 0.65x at 1664x928. The detection at
# full resolution was 60-70% of the check's time. tests/ocr_real_posters.py,
# hard exact recall on seed 20261201 / 20261207 (full resolution 283/311,
# 276/317), clean and typos unchanged unless said: 0.64 MP 285 / 277; a long
# side of 992 px (rapidocr ``Det.limit_type: max``: 0.75x square, 0.6x wide)
# 284 / 277; of 800 px 285 / 280 but 2 clean strings lost on 928x1664 posters
# (0.48x); of 672 px 282 / 278, the same 2 clean strings lost.
DETECT_PIXELS = 800 * 800
# onnxruntime threads per run: every core, at most 4 (the models are small;
# more threads add little). On an idle 2-core box two threads halve the
# detector's time (Intel Xeon, 2026-12-07: 0.27 s against 0.52 s at 800x800),
# and with a busy Python process on each core two threads are no slower than
# one (0.63 against 0.72 s). Two checks at once, each with two spinning
# threads, cost 0.61 s against 0.53 s with one thread each
# (BENCHMARKS.md, "OCR text check", threads).
OCR_THREADS = max(1, min(4, os.cpu_count() or 1))
# Lines the recognizer reads with a lower confidence are dropped (rapidocr's
# default ``Global.text_score``).
MIN_TEXT_SCORE = 0.5

_MODEL_FILES = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def _engine_params() -> dict[str, Any]:
    """RapidOCR parameters that pin every model to a file inside the wheel.

    rapidocr only downloads when a model path is *not* given: with
    ``model_path`` unset it looks the model up in default_models.yaml and calls
    DownloadFile (which fetches when the file is missing or its checksum
    differs). Passing explicit paths for det, cls and rec skips that branch
    entirely. The rec model carries its character dictionary inside the ONNX
    metadata, so the dictionary download branch is not reached either.
    """
    import rapidocr

    model_dir = Path(rapidocr.__file__).resolve().parent / "models"
    params: dict[str, Any] = {
        "Global.log_level": "warning",
        # The 0/180 degree classifier is off: poster text is upright, and on
        # the accuracy set the classifier turned a correctly painted "€9,99"
        # upside down (read as "66'63"). It also saves ~10% of the time.
        "Global.use_cls": False,
        # A call finds lines only; read_text crops them from the full-size
        # poster and recognizes them (``recognize_txt``).
        "Global.use_rec": False,
        "Global.text_score": MIN_TEXT_SCORE,
        # read_text hands the detector an image already shrunk to
        # DETECT_PIXELS: it is only rounded to multiples of 32 (rapidocr's
        # default, ``limit_type: min``, would enlarge a short side under 736).
        "Det.limit_type": "max",
        "Det.limit_side_len": 2000,
        # onnxruntime keeps the memory of a run for the next one (rapidocr
        # turns its arena off): 1328x1328 posters checked 0.99 s against 1.08 s
        # at the median (interleaved, load 2.5-3.5), for ~130 MB more peak RSS.
        "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        "EngineConfig.onnxruntime.intra_op_num_threads": OCR_THREADS,
    }
    for param, filename in _MODEL_FILES.items():
        path = model_dir / filename
        if not path.is_file():
            raise FileNotFoundError(
                f"rapidocr model {path} is missing; reinstall the rapidocr wheel "
                "(it ships the PP-OCRv6 models; this project never downloads models)"
            )
        params[param] = str(path)
    return params


def _describe_engine() -> str:
    import onnxruntime
    from rapidocr._version import __version__ as rapidocr_version

    return (
        f"rapidocr {rapidocr_version} PP-OCRv6 small, detector at {DETECT_PIXELS / 1e6:.2f} MP "
        f"(onnxruntime {onnxruntime.__version__}, CPU)"
    )


def get_ocr_engine() -> Any:
    """The process-wide RapidOCR instance, created on first use.

    Creating it is cheap but the ONNX sessions are loaded on the first call
    and hold ~100 MB, so every caller (Streamlit sessions are threads) shares
    one instance.
    """
    global _ENGINE, _ENGINE_NAME
    if _ENGINE is not None:
        return _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            from rapidocr import RapidOCR

            _ENGINE_NAME = _describe_engine()
            _ENGINE = RapidOCR(params=_engine_params())
    return _ENGINE


def engine_name() -> str:
    global _ENGINE_NAME
    if _ENGINE_NAME is None:
        _ENGINE_NAME = _describe_engine()
    return _ENGINE_NAME


def detect_scale(size: tuple[int, int], detect_pixels: int | None = DETECT_PIXELS) -> float:
    """The factor a poster of ``size`` is shrunk by for the detector (at most 1;
    1 when ``detect_pixels`` is None)."""
    width, height = size
    if detect_pixels is None:
        return 1.0
    return min(1.0, math.sqrt(detect_pixels / max(1, width * height)))


def read_text(image: Image.Image, engine: Any = None, detect_pixels: int | None = DETECT_PIXELS) -> list[OcrLine]:
    """Run OCR on ``image`` and return its text lines (unordered).

    The detector looks at the poster shrunk to ``detect_pixels`` (None: the
    full size, as until the speed work of issue 14); each line it finds is cut
    out of the full-size poster (as rapidocr cuts its own) and the recognizer
    reads them all in one call. Engines that are not RapidOCR (test doubles)
    are called once on the image and return lines and texts.
    """
    import cv2
    import numpy as np

    if engine is None:
        engine = get_ocr_engine()
    rgb = image.convert("RGB")
    if type(engine).__name__ != "RapidOCR":
        return _lines(engine(rgb))
    from rapidocr.utils.process_img import get_rotate_crop_image

    bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    scale = detect_scale(rgb.size, detect_pixels)
    small = cv2.resize(bgr, (round(rgb.width * scale), round(rgb.height * scale))) if scale < 1 else bgr
    # One image at a time: it keeps the engine state simple, and on few cores
    # two runs at once only make both slower.
    with _INFER_LOCK:
        detected = engine(small)
        boxes = getattr(detected, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        boxes = [np.asarray(box, dtype=np.float32) / scale for box in boxes]
        output = engine.recognize_txt([get_rotate_crop_image(bgr, box.copy()) for box in boxes])
    return [
        OcrLine(text=str(text), box=[[float(x), float(y)] for x, y in box], confidence=float(confidence))
        for text, box, confidence in zip(output.txts, boxes, output.scores)
        if str(text).strip() and confidence >= MIN_TEXT_SCORE
    ]


def _lines(output: Any) -> list[OcrLine]:
    """The lines of a one-call OCR output (``txts``, ``boxes``, ``scores``)."""
    texts = getattr(output, "txts", None)
    boxes = getattr(output, "boxes", None)
    scores = getattr(output, "scores", None)
    if not texts or boxes is None:
        return []
    lines = []
    for text, box, confidence in zip(texts, boxes, scores):
        points = [[float(x), float(y)] for x, y in box]
        lines.append(OcrLine(text=str(text), box=points, confidence=float(confidence)))
    return lines


# --------------------------------------------------------------------------
# Closer look: likely text lines found without the OCR detector, read directly
# --------------------------------------------------------------------------

# Local contrast limit of the equalization (OpenCV's default is 40, which
# turns JPEG blocks and grain into texture that looks like text).
CLAHE_CLIP = 3.0

# Text-like blobs (see ``line_boxes``) this high in poster pixels are
# candidates; taller text is found by the first pass, shorter is noise.
REGION_MIN_HEIGHT = 7
REGION_MAX_HEIGHT = 120
# The Otsu threshold on local contrast is scaled by this factor so that faint
# lines still count (chosen on tests/ocr_real_posters.py).
REGION_THRESHOLD_FACTOR = 0.5
# At most this many candidate lines per poster (the largest first).
MAX_REGIONS = 24
# A second, fainter search: pale text on a pale ground (white on a pastel
# gradient, 10-20 levels of luminance apart) has a gradient well under the
# poster's Otsu threshold, set by its strong lines, and is skipped at
# REGION_THRESHOLD_FACTOR. At this factor it is found; the check reads only the
# blobs outside every box it already reads (core/text/places.py ``look_places``),
# at most MAX_FAINT_REGIONS of them, the largest first. tests/ocr_real_posters.py
# seed 20261213, the 4 clean strings missed at 0.5 (10-19 levels of contrast):
# found and read exact at 0.2 and 0.1, 1 of them at 0.3.
FAINT_THRESHOLD_FACTOR = 0.2
MAX_FAINT_REGIONS = 8


def equalized_grey(image: Image.Image):
    """Grey array with local contrast equalized (CLAHE on the luminance).

    Low-contrast lines over soft blobs of colour differ from their
    surroundings mostly in lightness; equalizing contrast per 8x8 cell lifts
    them where a global stretch would not (the blobs span the whole range).
    """
    import cv2
    import numpy as np

    grey = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY)
    return cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(8, 8)).apply(grey)


def oriented_box(points, pad_x: float, pad_y: float) -> tuple[list, float]:
    """The smallest rotated rectangle around ``points``, padded by ``pad_x`` /
    ``pad_y`` text heights, as 4 points clockwise from top-left (reading
    direction left to right) and its text height."""
    import cv2
    import numpy as np

    (cx, cy), (w, h), theta = cv2.minAreaRect(np.asarray(points, dtype=np.float32))
    rad = np.deg2rad(theta)
    u = np.array([np.cos(rad), np.sin(rad)])
    length, thickness = w, h
    if w < h:
        u = np.array([-np.sin(rad), np.cos(rad)])
        length, thickness = h, w
    if u[0] < 0:
        u = -u
    v = np.array([-u[1], u[0]])
    half_l = length / 2 + pad_x * thickness
    half_t = thickness / 2 + pad_y * thickness
    c = np.array([cx, cy])
    corners = [c - u * half_l - v * half_t, c + u * half_l - v * half_t, c + u * half_l + v * half_t, c - u * half_l + v * half_t]
    return [[float(x), float(y)] for x, y in corners], float(thickness)


def local_contrast(grey) -> tuple[Any, float]:
    """The morphological gradient of ``grey`` (lightly smoothed) and its Otsu
    threshold: what ``line_boxes`` thresholds, computed once for its searches."""
    import cv2

    smooth = cv2.GaussianBlur(grey, (3, 3), 0)
    gradient = cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    otsu, _ = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return gradient, float(otsu)


def line_boxes(
    contrast: tuple[Any, float], pad_x: float, pad_y: float,
    threshold_factor: float = REGION_THRESHOLD_FACTOR, max_regions: int | None = MAX_REGIONS,
) -> list[tuple[list, float]]:
    """Boxes (4 points, text height) of blobs that look like a line of text.

    Cheap (tens of ms on 1328x1328): local contrast (``local_contrast``)
    thresholded, characters joined sideways into lines, blobs of line shape
    kept, each boxed by its rotated rectangle so tilted lines come out level.
    Finds small, soft lines that the OCR detector skips. ``threshold_factor``
    scales the Otsu threshold (lower finds fainter lines); at most
    ``max_regions`` boxes come back (None: all), the largest first.
    """
    import cv2
    import numpy as np

    gradient, otsu = contrast
    _, mask = cv2.threshold(gradient, otsu * threshold_factor, 255, cv2.THRESH_BINARY)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 3)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    kept = [
        (k, x, y, w, h) for k, (x, y, w, h, area) in enumerate(stats[1:count], start=1)
        if REGION_MIN_HEIGHT <= min(w, h) and h <= REGION_MAX_HEIGHT and w >= 1.2 * h and area >= 0.3 * w * h
    ]
    kept.sort(key=lambda c: -c[3] * c[4])
    boxes = []
    for k, x, y, w, h in kept[:max_regions]:
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == k)
        boxes.append(oriented_box(np.column_stack([xs + x, ys + y]), pad_x, pad_y))
    return boxes


def recognize(image: Image.Image, boxes: list[list], engine: Any = None) -> list[OcrLine]:
    """Read each 4-point box of ``image`` as one line, without detection.

    Each box is cut out level (perspective warp, so a tilted line is
    straightened) and all of them go to the recognizer in one batch. Engines
    without a separate recognizer (test doubles) get one call per crop.
    """
    import cv2
    import numpy as np

    if not boxes:
        return []
    if engine is None:
        engine = get_ocr_engine()
    rgb = np.asarray(image.convert("RGB"))
    crops = []
    for box in boxes:
        src = np.asarray(box, dtype=np.float32)
        width = max(1, int(round(np.linalg.norm(src[1] - src[0]))))
        height = max(1, int(round(np.linalg.norm(src[3] - src[0]))))
        dst = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        warp = cv2.getPerspectiveTransform(src, dst)
        crop = cv2.warpPerspective(rgb, warp, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        crops.append(np.ascontiguousarray(crop[:, :, ::-1]))  # the recognizer takes BGR

    if hasattr(engine, "recognize_txt"):
        with _INFER_LOCK:
            output = engine.recognize_txt(crops)
        texts, scores = list(output.txts or []), list(output.scores or [])
    else:
        texts, scores = [], []
        for crop in crops:
            read = read_text(Image.fromarray(crop[:, :, ::-1]), engine)
            texts.append(" ".join(ln.text for ln in read))
            scores.append(min((ln.confidence for ln in read), default=0.0))
    return [
        OcrLine(text=str(text), box=[list(p) for p in box], confidence=float(score))
        for text, score, box in zip(texts, scores, boxes)
        if str(text).strip()
    ]
