"""One typed settings object, read from environment variables.

| variable              | default                          | meaning                                              |
|-----------------------|----------------------------------|------------------------------------------------------|
| STUDIO_DATA_DIR       | ./data                           | database, images, demo checkpoints                   |
| DATABASE_URL          | sqlite:///<data dir>/studio.db   | any SQLAlchemy URL (e.g. postgresql+psycopg://...)   |
| STUDIO_IMAGE_MODEL    | Qwen/Qwen-Image-2512             | hub id or local folder of a QwenImagePipeline        |
| STUDIO_VL_MODEL       | Qwen/Qwen2.5-VL-3B-Instruct      | hub id or local folder of a Qwen2.5-VL model         |
| STUDIO_DEMO           | auto                             | 1: demo models, 0: real models, auto: demo w/o a GPU |
| STUDIO_DEVICE         | auto                             | cuda, cpu or auto                                    |
| STUDIO_KEEP_VL_WARM   | 0                                | keep the brief model loaded between briefs           |
| STUDIO_TEXT_CHECK     | 1                                | OCR-check every new poster's exact strings           |
| STUDIO_DEMO_MODELS_DIR| <data dir>/demo_models           | where the demo checkpoints are built                 |

Speed and memory (STUDIO_STRATEGY, STUDIO_COMPILE, STUDIO_FAST_MODE, STUDIO_LIGHTNING_LORA,
STUDIO_BRIEF_MODE) are read into `performance`; core/performance.py lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.performance import PerformanceSettings

DEFAULT_IMAGE_MODEL = "Qwen/Qwen-Image-2512"
DEFAULT_VL_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    image_model: str
    vl_model: str
    demo_mode: bool
    device: str
    keep_vl_warm: bool
    text_check: bool
    demo_models_dir: Path
    performance: "PerformanceSettings | None" = None  # None: the defaults (core/performance.py)

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # a broken torch install must not stop the app from starting
        return False


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("STUDIO_DATA_DIR", "data")).expanduser().resolve()

    device = env.get("STUDIO_DEVICE", "auto").strip().lower() or "auto"
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    if device not in ("cuda", "cpu"):
        raise ValueError(f"STUDIO_DEVICE must be cuda, cpu or auto, not {device!r}")

    # The real 20B model cannot run usefully without a GPU, so "auto" means demo models there.
    demo_raw = env.get("STUDIO_DEMO", "auto").strip().lower()
    if demo_raw in ("", "auto"):
        demo_mode = device != "cuda"
    else:
        demo_mode = _flag(demo_raw, default=False)

    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'studio.db'}"

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        image_model=env.get("STUDIO_IMAGE_MODEL") or DEFAULT_IMAGE_MODEL,
        vl_model=env.get("STUDIO_VL_MODEL") or DEFAULT_VL_MODEL,
        demo_mode=demo_mode,
        device=device,
        keep_vl_warm=_flag(env.get("STUDIO_KEEP_VL_WARM"), default=False),
        text_check=_flag(env.get("STUDIO_TEXT_CHECK"), default=True),
        demo_models_dir=Path(env.get("STUDIO_DEMO_MODELS_DIR") or data_dir / "demo_models").expanduser().resolve(),
        performance=_performance(env),
    )


def _performance(env):
    # Imported here: core.performance pulls in torch, which plain settings reads do not need.
    from core.performance import load_performance_settings

    return load_performance_settings(env)
