"""What the Settings page and the sidebar say about this machine and the image model:
memory now, the precision it draws in, the loaded setup and the benchmark estimates."""

from __future__ import annotations

from core.render.estimates import Estimate, compile_figures, estimate_poster_seconds
from core.render.pipeline import pipeline_dtypes, setup_of
from core.settings import LIGHTNING_STEPS
from core.render import system_info
from core.render.system_info import SystemSnapshot

__all__ = [
    "Estimate",
    "compile_figures",
    "LIGHTNING_STEPS",
    "SystemSnapshot",
    "estimate_poster_seconds",
    "precision_label",
    "setup_label",
    "snapshot",
]


def snapshot(device: str) -> SystemSnapshot:
    """Memory and device now (core/render/system_info.py, looked up at each call)."""
    return system_info.snapshot(device)


def precision_label(device: str) -> str:
    """The precision posters are drawn in on this device (core.render.pipeline.pipeline_dtypes decides it)."""
    dtypes = pipeline_dtypes(device)
    default = str(dtypes["default"]).removeprefix("torch.")
    vae = str(dtypes["vae"]).removeprefix("torch.")
    return default if vae == default else f"{default} (the VAE in {vae})"


def setup_label(pipeline) -> str:
    return setup_of(pipeline).label
