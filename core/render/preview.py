"""Live preview: the poster as it forms, from the latents, without the VAE.

Every few steps the worker turns the denoising loop's latents into a small RGB image with a
fixed linear map per latent pixel (C latent channels -> R, G, B, plus a bias), the
"latent2rgb" preview of ComfyUI and A1111's "Approx cheap". A full VAE decode would cost
0.2-0.6 s at 1328x1328 (BENCHMARKS.md); this is one small matrix product on a 166x166 grid.

The map acts on the latents exactly as the pipeline holds them: packed 2x2 patches, and
normalised by the VAE's `latents_mean`/`latents_std` (the pipeline undoes that only right
before its decode). Both the published factors and our own fits (core/render/preview_fit.py)
are taken in that normalised space, so nothing is un-normalised here; the output is in the
VAE's own image range [-1, 1].

Which projection a worker uses (`resolve_projection`):
1. STUDIO_PREVIEW_PROJECTION, a JSON file, when set;
2. `preview_projection.json` inside the model folder, when the model is a local folder that
   has one (the demo builder fits one for its random-weight VAE);
3. for a 16-channel VAE (Qwen-Image, derived from Wan 2.1's), the published Wan 2.1 factors
   shipped in core/render/projections/ (their source is in that file).
A VAE none of these fits gets no preview, and the worker says so in its log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

logger = logging.getLogger(__name__)

PROJECTION_FILENAME = "preview_projection.json"
PROJECTIONS_DIR = Path(__file__).resolve().parent / "projections"
WAN21_PROJECTION = PROJECTIONS_DIR / "qwen_image_wan21.json"
# The VAE compresses 8x in each direction, and the transformer sees 2x2 patches of latents.
VAE_SCALE = 8
PATCH = 2


@dataclass(frozen=True)
class LatentProjection:
    """rgb = latents . weights + bias, per latent pixel; `weights` is [channels][3].

    `latents_mean`/`latents_std` are the VAE normalisation the numbers were taken under: the
    same weights mean something else under another normalisation, so a VAE whose config
    differs does not get this projection (`fits`)."""

    weights: tuple[tuple[float, float, float], ...]
    bias: tuple[float, float, float]
    source: str  # where the numbers come from, shown in logs and kept in the JSON
    latents_mean: tuple[float, ...] | None = None
    latents_std: tuple[float, ...] | None = None

    @property
    def channels(self) -> int:
        return len(self.weights)

    def fits(self, vae_config) -> str | None:
        """Why this projection cannot serve a VAE with this config, or None when it can."""
        if self.channels != vae_config.z_dim:
            return f"it has {self.channels} channels, the VAE {vae_config.z_dim}"
        for name in ("latents_mean", "latents_std"):
            ours = getattr(self, name)
            if ours is not None and not np.allclose(ours, getattr(vae_config, name), atol=1e-4):
                return f"it was taken under another {name} than the VAE's"
        return None

    def to_json(self) -> dict:
        data = {"channels": self.channels, "weights": [list(row) for row in self.weights], "bias": list(self.bias)}
        if self.latents_mean is not None:
            data.update(latents_mean=list(self.latents_mean), latents_std=list(self.latents_std))
        return {**data, "source": self.source}


def projection_from_json(data: dict) -> LatentProjection:
    weights = tuple(tuple(float(v) for v in row) for row in data["weights"])
    bias = tuple(float(v) for v in data.get("bias", (0.0, 0.0, 0.0)))
    if not weights or any(len(row) != 3 for row in weights) or len(bias) != 3:
        raise ValueError("a preview projection needs 'weights' as [channels][3] and 'bias' as 3 numbers")
    mean, std = data.get("latents_mean"), data.get("latents_std")
    return LatentProjection(
        weights=weights, bias=bias, source=str(data.get("source", "")),
        latents_mean=tuple(float(v) for v in mean) if mean is not None else None,
        latents_std=tuple(float(v) for v in std) if std is not None else None,
    )


def load_projection(path: str | Path) -> LatentProjection:
    return projection_from_json(json.loads(Path(path).read_text()))


def save_projection(projection: LatentProjection, path: str | Path, extra: dict | None = None) -> None:
    """One key a line and one channel's row a line, so the file reads like the table it is."""
    data = {**projection.to_json(), **(extra or {})}
    lines = []
    for key, value in data.items():
        if key == "weights":
            rows = ",\n".join(f"  {json.dumps(row)}" for row in value)
            lines.append(f' "weights": [\n{rows}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    Path(path).write_text("{\n" + ",\n".join(lines) + "\n}\n")


def resolve_projection(model: str, vae_config, override: str | None = None) -> LatentProjection | None:
    """The projection for this model's VAE (the order is in the module docstring), or None."""
    candidates = []
    if override:
        candidates.append(Path(override).expanduser())
    if Path(model).is_dir():
        candidates.append(Path(model) / PROJECTION_FILENAME)
    candidates.append(WAN21_PROJECTION)
    for path in candidates:
        if not path.is_file():
            if path == candidates[0] and override:
                logger.warning("STUDIO_PREVIEW_PROJECTION=%s does not exist; trying the defaults", override)
            continue
        projection = load_projection(path)
        problem = projection.fits(vae_config)
        if problem is None:
            logger.info("live preview projection: %s", projection.source)
            return projection
        logger.warning("preview projection %s not used: %s", path, problem)
    logger.warning("no live preview: no projection fits this VAE (fit one with `python -m core.render.preview_fit`)")
    return None


def unpack_latents(packed: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[B, (H/16)*(W/16), C*4] packed latents -> [B, C, H/8, W/8].

    The pipeline packs each 2x2 block of latent pixels into one token, channel-major within
    the token (c, dy, dx). Its own `_unpack_latents` is private, so the same reshape is here."""
    batch, tokens, packed_channels = packed.shape
    rows, cols = height // (VAE_SCALE * PATCH), width // (VAE_SCALE * PATCH)
    if rows * cols != tokens or packed_channels % (PATCH * PATCH):
        raise ValueError(f"latents of shape {tuple(packed.shape)} are not a packed {width}x{height} image")
    channels = packed_channels // (PATCH * PATCH)
    grid = packed.view(batch, rows, cols, channels, PATCH, PATCH)
    # -> batch, channels, rows, dy, cols, dx
    return grid.permute(0, 3, 1, 4, 2, 5).reshape(batch, channels, rows * PATCH, cols * PATCH)


class LatentPreviewer:
    """Turns packed latents into a preview image. Holds the projection as tensors on the
    latents' device, made once, so a preview step moves no weights.

    The map acts on each latent pixel alone, so it commutes with the unpacking: projecting
    each packed token (its 2x2 latent pixels at once) and unpacking the 3-channel result is
    the same image as unpacking the C channels and projecting them (tests check they are
    equal), with one small contiguous matrix product and 5x less data to reshape. On a busy
    2-core CPU that was 0.3 ms against 14-18 ms for unpack-then-project (BENCHMARKS.md)."""

    def __init__(self, projection: LatentProjection):
        self.projection = projection
        self._tensors: dict = {}

    def _weights(self, device, dtype):
        key = (str(device), dtype)
        if key not in self._tensors:
            weights = torch.tensor(self.projection.weights, dtype=dtype)  # C, 3
            bias = torch.tensor(self.projection.bias, dtype=dtype)
            patch = torch.eye(PATCH * PATCH, dtype=dtype)
            # [C*4, 3*4]: entry (c*4+p, r*4+p) is weights[c, r], i.e. the same map for each of
            # a token's 4 pixels, channel-major in and out, as the pipeline packs them.
            self._tensors[key] = (torch.kron(weights, patch).to(device),
                                  bias.repeat_interleave(PATCH * PATCH).to(device))
        return self._tensors[key]

    @torch.no_grad()
    def rgb(self, packed: torch.Tensor, height: int, width: int) -> np.ndarray:
        """An [H/8, W/8, 3] uint8 array of the first image in the batch. This is the one host
        sync of a preview step (the copy to the host); other steps never call it."""
        tokens = packed[:1].float()
        weights, bias = self._weights(tokens.device, tokens.dtype)
        rgb = unpack_latents(tokens @ weights + bias, height, width)[0]  # 3, h, w
        # [-1, 1] -> [0, 255], as the VAE's own image range maps to pixels.
        pixels = ((rgb.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
        return pixels.permute(1, 2, 0).cpu().numpy()

    def image(self, packed: torch.Tensor, height: int, width: int) -> Image.Image:
        return Image.fromarray(self.rgb(packed, height, width))


@dataclass(frozen=True)
class LivePreview:
    """What `generate` needs to show the image forming: the projection, how often, and where
    each preview goes (`on_image(step, total, image)`; the worker stores it)."""

    previewer: LatentPreviewer
    every: int
    on_image: Callable[[int, int, Image.Image], None]


def is_preview_step(step: int, total: int, every: int) -> bool:
    """Every `every` steps (1-based), never on the last: the poster itself lands right after."""
    return every > 0 and step % every == 0 and step < total
