"""The Qwen-Image pipeline: loading, and one generation with progress and cancel.

A diffusers pipeline is not thread-safe (the scheduler keeps state between steps), so this
module is only ever driven by the one job worker (core/jobs.py) of a process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from PIL import Image

logger = logging.getLogger(__name__)

# QwenImagePipeline wraps every prompt in this template and drops its first 34 tokens
# (the system turn) before the transformer sees it. Counting tokens the same way gives the
# number that `max_sequence_length` is compared against. tests/test_engine.py checks these
# against the loaded pipeline, so a diffusers change cannot silently break the count.
PROMPT_TEMPLATE = (
    "<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, "
    "spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
    "<|im_start|>assistant\n"
)
PROMPT_TEMPLATE_DROP_TOKENS = 34


class GenerationCancelled(Exception):
    pass


class BadOutputError(RuntimeError):
    """The pipeline produced NaNs or an all-black image; it must never be saved as a poster."""


class GpuOutOfMemoryError(RuntimeError):
    pass


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    true_cfg_scale: float
    seed: int
    max_sequence_length: int = 512


@dataclass
class GenerationResult:
    image: Image.Image
    seconds: float
    step_seconds: list[float] = field(default_factory=list)


def pipeline_dtypes(device: str) -> dict:
    # bf16 halves memory on GPU; the VAE stays fp32 there because a bf16 decode is where
    # black or NaN images come from. CPUs have no fast bf16 path, so everything is fp32.
    if device == "cuda":
        return {"default": torch.bfloat16, "vae": torch.float32}
    return {"default": torch.float32, "vae": torch.float32}


def load_pipeline(model: str, device: str):
    """`QwenImagePipeline.from_pretrained` for a hub id, a local folder or the demo models."""
    from diffusers import QwenImagePipeline

    pipe = QwenImagePipeline.from_pretrained(model, dtype=pipeline_dtypes(device))
    pipe.to(device)
    # Tiling bounds the decode's peak memory at 1328x1328 and above.
    pipe.vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_tokenizer(model: str):
    """Only the pipeline's tokenizer, for counting prompt tokens before anything runs."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model, subfolder="tokenizer")


def count_prompt_tokens(tokenizer, prompt: str) -> int:
    ids = tokenizer(PROMPT_TEMPLATE.format(prompt)).input_ids
    return max(len(ids) - PROMPT_TEMPLATE_DROP_TOKENS, 0)


def check_image_array(array: np.ndarray) -> None:
    """Refuse outputs a user must never get as a 'poster'."""
    if not np.isfinite(array).all():
        raise BadOutputError(
            "The model produced NaN values (a numerical overflow), so no poster was saved. "
            "Try another seed; if it keeps happening, keep the VAE in fp32."
        )
    if float(array.max()) < 2.0 / 255.0:
        raise BadOutputError("The model produced an all-black image, so no poster was saved. Try another seed.")


def generate(
    pipe,
    request: GenerationRequest,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> GenerationResult:
    """Draw one poster. `on_step(step, total)` is called after every denoising step with
    1-based step numbers; `should_cancel()` is polled at the same point."""
    # A CPU generator gives the same noise on every device, so a seed means the same start.
    generator = torch.Generator(device="cpu").manual_seed(request.seed)
    step_times: list[float] = []
    last = time.perf_counter()

    def callback(pipeline, step_index, timestep, callback_kwargs):
        nonlocal last
        now = time.perf_counter()
        step_times.append(now - last)
        last = now
        if on_step is not None:
            on_step(step_index + 1, request.steps)
        if should_cancel is not None and should_cancel():
            # The pipeline checks this flag at the top of every remaining step.
            pipeline._interrupt = True
        return callback_kwargs

    start = time.perf_counter()
    try:
        output = pipe(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            true_cfg_scale=request.true_cfg_scale,
            width=request.width,
            height=request.height,
            num_inference_steps=request.steps,
            generator=generator,
            max_sequence_length=request.max_sequence_length,
            callback_on_step_end=callback,
            output_type="np",
        )
    except torch.OutOfMemoryError as error:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise GpuOutOfMemoryError(
            f"The GPU ran out of memory at {request.width}x{request.height}. "
            "Pick the preset's draft size, make fewer variants at once, or close other GPU programs."
        ) from error

    if pipe.interrupt:
        raise GenerationCancelled()

    array = output.images[0]
    check_image_array(array)
    image = Image.fromarray((np.clip(array, 0.0, 1.0) * 255).round().astype("uint8"))
    return GenerationResult(image=image, seconds=time.perf_counter() - start, step_seconds=step_times)
