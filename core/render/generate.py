"""One poster from a loaded pipeline (core/render/pipeline.py), with progress and cancel.

`generate` reads top to bottom as numbered stages: check the request, encode the prompt,
prepare latents and denoise (the pipeline's own call), decode, check the output.

A diffusers pipeline is not thread-safe (the scheduler keeps state between steps), so this
module is only ever driven by the one job worker (core/queue/runner.py) of a process.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from PIL import Image

from core.render.pipeline import setup_of
from core.render.preview import LivePreview, is_preview_step

# QwenImagePipeline wraps every prompt in this template and drops its first 34 tokens
# (the system turn) before the transformer sees it. Counting tokens the same way gives the
# number that `max_sequence_length` is compared against. tests/test_generation.py checks these
# against the loaded pipeline, so a diffusers change cannot silently break the count.
PROMPT_TEMPLATE = (
    "<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, "
    "spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
    "<|im_start|>assistant\n"
)
PROMPT_TEMPLATE_DROP_TOKENS = 34

logger = logging.getLogger(__name__)


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
    # encode_s, denoise_s, decode_s where they could be measured (CUDA events on GPU).
    timings: dict = field(default_factory=dict)


def load_tokenizer(model: str):
    """Only the pipeline's tokenizer, for counting prompt tokens before anything runs."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model, subfolder="tokenizer")


def count_prompt_tokens(tokenizer, prompt: str) -> int:
    ids = tokenizer(PROMPT_TEMPLATE.format(prompt)).input_ids
    return max(len(ids) - PROMPT_TEMPLATE_DROP_TOKENS, 0)


def check_request(request: GenerationRequest) -> None:
    """Refuse a request the pipeline would quietly change: it rounds sizes down to a
    multiple of 16 (VAE 8x, then 2x2 patches) and needs at least one step."""
    if request.width <= 0 or request.height <= 0 or request.width % 16 or request.height % 16:
        raise ValueError(f"width and height must be positive multiples of 16, not {request.width}x{request.height}")
    if request.steps < 1:
        raise ValueError(f"steps must be at least 1, not {request.steps}")


def check_image_array(array: np.ndarray) -> None:
    """Refuse outputs a user must never get as a 'poster'."""
    if not np.isfinite(array).all():
        raise BadOutputError(
            "The model produced NaN values (a numerical overflow), so no poster was saved. "
            "Try another seed; if it keeps happening, keep the VAE in fp32."
        )
    if float(array.max()) < 2.0 / 255.0:
        raise BadOutputError("The model produced an all-black image, so no poster was saved. Try another seed.")


def encode_prompts(pipe, request: GenerationRequest) -> dict:
    """The prompt (and, with guidance, the negative prompt) through the pipeline's own
    `encode_prompt`, once, before denoising. Doing it here rather than inside the pipeline
    call gives the same embeddings, and lets batched guidance see both of them."""

    def encode(text: str):
        # No device: encode_prompt picks the pipeline's execution device itself, which is
        # the GPU even when model offloading keeps the weights on the host.
        embeds, mask = pipe.encode_prompt(prompt=text, max_sequence_length=request.max_sequence_length)
        # encode_prompt drops an all-valid mask; hand the pipeline an explicit one (it drops
        # it again) so it does not warn that the mask is missing.
        if mask is None:
            mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        return embeds, mask

    with torch.no_grad():
        embeds, mask = encode(request.prompt)
        inputs = {"prompt_embeds": embeds, "prompt_embeds_mask": mask}
        if request.true_cfg_scale > 1:
            negative, negative_mask = encode(request.negative_prompt or " ")
            inputs.update(negative_prompt_embeds=negative, negative_prompt_embeds_mask=negative_mask)
    return inputs


def decode_latents(pipe, latents: torch.Tensor, request: GenerationRequest) -> np.ndarray:
    """Packed latents to an HxWx3 float image in [0, 1]: what the pipeline's own call does
    after its denoising loop with output_type="np" (diffusers 0.42.1, pipeline_qwenimage.py),
    here so that a cancelled run skips it and the decode is a stage of its own."""
    vae = pipe.vae
    latents = pipe._unpack_latents(latents, request.height, request.width, pipe.vae_scale_factor)
    latents = latents.to(vae.dtype)
    shape = (1, vae.config.z_dim, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean).view(shape).to(latents.device, latents.dtype)
    inverse_std = 1.0 / torch.tensor(vae.config.latents_std).view(shape).to(latents.device, latents.dtype)
    with torch.no_grad():
        image = vae.decode(latents / inverse_std + mean, return_dict=False)[0][:, :, 0]
    array = pipe.image_processor.postprocess(image, output_type="np")[0]
    # Model offloading put the VAE on the GPU for the decode; send it back as the call would.
    pipe.maybe_free_model_hooks()
    return array


class StepClock:
    """Per-step times. On a GPU they come from CUDA events: reading a host clock would either
    measure how fast kernels are queued, or need a synchronize every step that stalls the
    queue. Off the GPU the host clock is the truth."""

    def __init__(self, on_cuda: bool):
        self.on_cuda = on_cuda
        self.events: list = []
        self.host_times: list[float] = []
        self.last = time.perf_counter()

    def start(self) -> None:
        if self.on_cuda:
            torch.cuda.synchronize()
            self.mark()
        self.last = time.perf_counter()

    def mark(self) -> None:
        if self.on_cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.events.append(event)

    def step(self) -> None:
        self.mark()
        now = time.perf_counter()
        self.host_times.append(now - self.last)
        self.last = now

    def step_seconds(self) -> list[float] | None:
        """Seconds per step from the events, or None without them. Call it once the image
        is on the host: by then every event has completed."""
        if not self.on_cuda or len(self.events) < 2:
            return None
        return [self.events[i].elapsed_time(self.events[i + 1]) / 1000 for i in range(len(self.events) - 1)]


def generate(
    pipe,
    request: GenerationRequest,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    check_output: bool = True,
    preview: LivePreview | None = None,
) -> GenerationResult | None:
    """Draw one poster. `on_step(step, total)` is called after every denoising step with
    1-based step numbers; `should_cancel()` is polled at the same point. With `preview`, every
    `preview.every` steps the latents become a small image (core/render/preview.py).
    `check_output=False` is for the benchmark only, whose random weights may well produce NaNs.

    In a process group (core/render/parallel.py) every rank calls this with the same request:
    rank 0 as the job runner does, the others from `parallel.follow`. Rank 0 returns the
    poster; the others return None after the last step."""
    setup = setup_of(pipe)
    parallel = setup.parallel
    clock = StepClock(on_cuda=setup.device == "cuda" and torch.cuda.is_available())
    timings: dict = {}
    previews = 0

    # 1. Check inputs: nothing the pipeline would silently round or reject halfway.
    check_request(request)
    # A CPU generator gives the same noise on every device, so a seed means the same start.
    generator = torch.Generator(device="cpu").manual_seed(request.seed)
    if parallel is not None and parallel.is_leader:
        # The other ranks of the group draw their part of this same request.
        from core.render.parallel import send_job

        send_job(parallel, request)

    def on_step_end(pipeline, step_index, timestep, callback_kwargs):
        nonlocal preview, previews
        clock.step()
        if on_step is not None:
            on_step(step_index + 1, request.steps)
        if preview is not None and is_preview_step(step_index + 1, request.steps, preview.every):
            # Only on these steps: the projection ends in a copy to the host, a sync that
            # every step would pay otherwise. It runs here, outside the (compiled) transformer,
            # on the small latents tensor, so no graph sees it.
            try:
                image = preview.previewer.image(callback_kwargs["latents"], request.height, request.width)
                preview.on_image(step_index + 1, request.steps, image)
                previews += 1
            except Exception:  # a preview must never cost the poster: stop previewing this run
                logger.exception("live preview failed; no more previews for this poster")
                preview = None
        cancel = should_cancel is not None and should_cancel()
        if parallel is not None:
            # Rank 0 decides; every rank takes its latents and decision, so all stop together.
            from core.render.parallel import share_step

            callback_kwargs["latents"], cancel = share_step(parallel, callback_kwargs["latents"], cancel)
        if cancel:
            # diffusers' `interrupt` property has no setter; its documented way to stop is
            # this flag, checked at the top of every remaining step.
            pipeline._interrupt = True
        return callback_kwargs

    start = time.perf_counter()
    try:
        # 2. Encode the prompt (and the negative prompt, with guidance) once.
        try:
            inputs = encode_prompts(pipe, request)
        except Exception:
            if parallel is not None:
                parallel.agree(False)  # the others stop at this same point instead of in step 1
            raise
        if parallel is not None and not parallel.agree(True):
            from core.render.parallel import PeerFailed

            raise PeerFailed("another device of the group could not encode the prompt")
        clock.start()
        timings["encode_s"] = time.perf_counter() - start

        # 3.-4. Prepare latents and timesteps, then denoise: the pipeline's own call does both
        # with the embeddings from stage 2, reporting each step (progress, cancel) through
        # `callback_on_step_end`, and hands back the latents. Batched guidance, where the
        # setup asks for it, runs both guidance passes of a step as one batch
        # (core/render/guidance.py); in a process group each rank runs one of them
        # (core/render/parallel.py).
        guidance = contextlib.nullcontext()
        if parallel is not None and request.true_cfg_scale > 1:
            from core.render.parallel import CfgSplit

            guidance = CfgSplit(
                pipe.transformer, parallel, inputs["negative_prompt_embeds"], inputs["negative_prompt_embeds_mask"]
            )
        elif setup.batched_cfg and request.true_cfg_scale > 1:
            from core.render.guidance import BatchedGuidance

            guidance = BatchedGuidance(
                pipe.transformer,
                inputs["negative_prompt_embeds"],
                inputs["negative_prompt_embeds_mask"],
                split_attention=setup.split_attention,
            )
        with guidance:
            latents = pipe(
                **inputs,
                true_cfg_scale=request.true_cfg_scale,
                width=request.width,
                height=request.height,
                num_inference_steps=request.steps,
                generator=generator,
                max_sequence_length=request.max_sequence_length,
                callback_on_step_end=on_step_end,
                output_type="latent",
            ).images
        if pipe.interrupt:
            raise GenerationCancelled()
        if parallel is not None and not parallel.is_leader:
            return None  # rank 0 decodes

        # 5. Decode the latents with the VAE (fp32 on a GPU, core.render.pipeline.pipeline_dtypes).
        array = decode_latents(pipe, latents, request)
    except torch.OutOfMemoryError as error:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise GpuOutOfMemoryError(
            f"The GPU ran out of memory at {request.width}x{request.height} with the "
            f"{setup.label} strategy. Pick the preset's draft size, make fewer variants at once, close other "
            "GPU programs, or set STUDIO_STRATEGY to a strategy that keeps less on the GPU."
        ) from error
    seconds = time.perf_counter() - start
    if previews:
        timings["previews"] = previews

    # The decode copied the image to the host, so every CUDA event is done.
    step_seconds = clock.step_seconds()
    if step_seconds is not None:
        timings["denoise_s"] = sum(step_seconds)
        timings["decode_s"] = max(seconds - timings["encode_s"] - timings["denoise_s"], 0.0)
    else:
        step_seconds = clock.host_times

    # 6. Check the output: no NaN or all-black image is ever saved as a poster.
    if check_output:
        check_image_array(array)
    image = Image.fromarray((np.nan_to_num(np.clip(array, 0.0, 1.0)) * 255).round().astype("uint8"))
    return GenerationResult(image=image, seconds=seconds, step_seconds=step_seconds, timings=timings)
