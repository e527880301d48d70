"""Fit the live preview's latent -> RGB projection (core/render/preview.py) for a loaded VAE.

    python -m core.render.preview_fit --model /models/Qwen-Image-2512 [--out FILE] [--device cuda]

The projection is a least-squares fit of pairs (latent pixel, the VAE's own decode averaged
over the 8x8 pixels that latent pixel becomes). The latents are the VAE's encodings of
synthetic images (colour gradients, rectangles and ellipses, drawn from a seed): flat colour
regions are what a colour projection must get right, and they need no image data set. Only
the VAE is loaded (`subfolder="vae"`), so a user's real weights fit in seconds on a GPU.

A quarter of the images are held out: the report gives the projection's error on them next
to a mean-colour image's (the trivial baseline), so a fit that learned nothing is seen.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from core.render.preview import PROJECTION_FILENAME, VAE_SCALE, LatentProjection, save_projection


@dataclass(frozen=True)
class FitReport:
    projection: LatentProjection
    train_pixels: int
    heldout_pixels: int
    heldout_rmse: float  # in the image range [-1, 1]
    baseline_rmse: float  # a mean-colour image's error on the same held-out pixels

    def as_dict(self) -> dict:
        return {"train_latent_pixels": self.train_pixels, "heldout_latent_pixels": self.heldout_pixels,
                "heldout_rmse": round(self.heldout_rmse, 5), "mean_colour_rmse": round(self.baseline_rmse, 5)}


def synthetic_images(count: int, size: int, seed: int = 0) -> list[Image.Image]:
    """Seeded colour fields: a two-colour gradient with a few flat rectangles and ellipses."""
    rng = np.random.default_rng(seed)
    images = []
    ramp = np.linspace(0.0, 1.0, size)[None, :, None]
    for _ in range(count):
        start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        field = start + (end - start) * ramp
        if rng.random() < 0.5:
            field = field.transpose(1, 0, 2)
        image = Image.fromarray(np.broadcast_to(field, (size, size, 3)).astype("uint8"))
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(2, 7))):
            x0, y0 = rng.integers(0, size - 8, 2)
            x1, y1 = x0 + rng.integers(8, size // 2), y0 + rng.integers(8, size // 2)
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
            shape((int(x0), int(y0), int(x1), int(y1)), fill=colour)
        images.append(image)
    return images


@torch.no_grad()
def latent_rgb_pairs(vae, images: list[Image.Image], device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(normalised latent pixels [n, C], decoded colour over each one's 8x8 pixels [n, 3])."""
    config = vae.config
    shape = (1, config.z_dim, 1, 1, 1)
    mean = torch.tensor(config.latents_mean, dtype=torch.float32, device=device).view(shape)
    std = torch.tensor(config.latents_std, dtype=torch.float32, device=device).view(shape)
    latents, colours = [], []
    for image in images:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0)
        video = pixels.permute(2, 0, 1)[None, :, None].to(device, vae.dtype)  # B, 3, frames, H, W
        raw = vae.encode(video).latent_dist.mode()
        decoded = vae.decode(raw, return_dict=False)[0][:, :, 0].float().clamp(-1.0, 1.0)
        target = torch.nn.functional.avg_pool2d(decoded, VAE_SCALE)  # 1, 3, h, w
        # The pipeline's latents are normalised (core/render/preview.py): fit in that space.
        normalised = ((raw.float() - mean) / std)[:, :, 0]
        latents.append(normalised.permute(0, 2, 3, 1).reshape(-1, config.z_dim).cpu().numpy())
        colours.append(target.permute(0, 2, 3, 1).reshape(-1, 3).cpu().numpy())
    return np.concatenate(latents).astype(np.float64), np.concatenate(colours).astype(np.float64)


def least_squares(latents: np.ndarray, colours: np.ndarray, source: str, vae_config=None) -> LatentProjection:
    design = np.concatenate([latents, np.ones((len(latents), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, colours, rcond=None)
    weights = tuple(tuple(round(float(v), 6) for v in row) for row in solution[:-1])
    bias = tuple(round(float(v), 6) for v in solution[-1])
    normalisation = {}
    if vae_config is not None:
        normalisation = dict(latents_mean=tuple(vae_config.latents_mean), latents_std=tuple(vae_config.latents_std))
    return LatentProjection(weights=weights, bias=bias, source=source, **normalisation)


def projection_rmse(projection: LatentProjection, latents: np.ndarray, colours: np.ndarray) -> float:
    predicted = np.clip(latents @ np.asarray(projection.weights) + np.asarray(projection.bias), -1.0, 1.0)
    return float(np.sqrt(np.mean((predicted - colours) ** 2)))


def fit_vae(vae, source: str, images: int = 32, size: int = 256, seed: int = 0, device: str = "cpu") -> FitReport:
    """Fit on three quarters of `images` synthetic images, report on the rest."""
    pictures = synthetic_images(images, size, seed)
    heldout = max(images // 4, 1)
    train_x, train_y = latent_rgb_pairs(vae, pictures[heldout:], device)
    test_x, test_y = latent_rgb_pairs(vae, pictures[:heldout], device)
    projection = least_squares(train_x, train_y, source, vae.config)
    baseline = float(np.sqrt(np.mean((train_y.mean(axis=0) - test_y) ** 2)))
    return FitReport(projection, len(train_x), len(test_x), projection_rmse(projection, test_x, test_y), baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fit the live preview's latent -> RGB projection for a VAE.")
    parser.add_argument("--model", default=None,
                        help="a QwenImagePipeline folder or hub id (default: STUDIO_IMAGE_MODEL, or the demo models)")
    parser.add_argument("--out", default=None, help=f"JSON to write (default: <model folder>/{PROJECTION_FILENAME})")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels, a multiple of 8")
    args = parser.parse_args()

    from diffusers import AutoencoderKLQwenImage

    from core.settings import load_settings

    settings = load_settings()
    model = args.model
    if model is None:
        if settings.demo_mode:
            from core.render.demo_models import ensure_demo_models

            model = str(ensure_demo_models(settings.demo_models_dir)[0])
        else:
            model = settings.image_model
    out = args.out
    if out is None:
        if not Path(model).is_dir():
            parser.error(f"{model} is not a local folder: give --out, then set STUDIO_PREVIEW_PROJECTION to it")
        out = str(Path(model) / PROJECTION_FILENAME)

    start = time.perf_counter()
    vae = AutoencoderKLQwenImage.from_pretrained(model, subfolder="vae", dtype=torch.float32).to(args.device).eval()
    report = fit_vae(vae, source=f"least-squares fit on {model} (core/render/preview_fit.py)", images=args.images,
                     size=args.size, device=args.device)
    save_projection(report.projection, out, {"fit": report.as_dict()})
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s: held-out RMSE {report.heldout_rmse:.4f} "
          f"(a mean-colour image: {report.baseline_rmse:.4f})")
    if args.out is not None:
        print(f"use it with STUDIO_PREVIEW_PROJECTION={Path(out).resolve()}")


if __name__ == "__main__":
    main()
