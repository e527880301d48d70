"""The Qwen-Image pipeline: loading, and one generation with progress and cancel.

A diffusers pipeline is not thread-safe (the scheduler keeps state between steps), so this
module is only ever driven by the one job worker (core/queue/runner.py) of a process.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from core.render.memory import Strategy, resident_block_indices
from core.settings import FAST_MODES

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
    # encode_s, denoise_s, decode_s where they could be measured (CUDA events on GPU).
    timings: dict = field(default_factory=dict)


def pipeline_dtypes(device: str) -> dict:
    # bf16 halves memory on GPU; the VAE stays fp32 there because a bf16 decode is where
    # black or NaN images come from. CPUs have no fast bf16 path, so everything is fp32.
    if device == "cuda":
        return {"default": torch.bfloat16, "vae": torch.float32}
    return {"default": torch.float32, "vae": torch.float32}


# The scheduler settings the Qwen-Image-Lightning LoRAs were distilled with (their model
# card): a fixed shift of log(3) instead of the base model's dynamic 0.5..0.9.
LIGHTNING_SCHEDULER_CONFIG = {
    "base_image_seq_len": 256,
    "base_shift": math.log(3),
    "invert_sigmas": False,
    "max_image_seq_len": 8192,
    "max_shift": math.log(3),
    "num_train_timesteps": 1000,
    "shift": 1.0,
    "shift_terminal": None,
    "stochastic_sampling": False,
    "time_shift_type": "exponential",
    "use_beta_sigmas": False,
    "use_dynamic_shifting": True,
    "use_exponential_sigmas": False,
    "use_karras_sigmas": False,
}
LIGHTNING_STEPS = 8


@dataclass(frozen=True)
class PipelineSetup:
    """How a loaded pipeline was set up; kept on the pipeline as `pipe.studio_setup` so the
    worker can record it with every job and the UI can show it."""

    device: str
    strategy: Strategy | None = None
    compiled: bool = False
    attention_backend: str | None = None
    fast_mode: str = "off"
    # Batch the two guidance passes even with resident weights (the benchmark measures it).
    force_batched_cfg: bool = False
    # Batched guidance runs attention per row without a mask (core/render/guidance.py).
    split_attention: bool = True

    @property
    def batched_cfg(self) -> bool:
        return self.force_batched_cfg or (self.strategy is not None and self.strategy.batched_cfg)

    @property
    def label(self) -> str:
        """Recorded in the job's timings ("strategy"): the memory strategy, then what changes speed or output."""
        parts = [self.strategy.label if self.strategy is not None else self.device]
        if self.compiled:
            parts.append("compiled")
        if self.fast_mode != "off":
            parts.append(self.fast_mode)
        return "+".join(parts)


def setup_of(pipe) -> PipelineSetup:
    return getattr(pipe, "studio_setup", None) or PipelineSetup(device=str(getattr(pipe, "device", "cpu")))


def load_pipeline(
    model: str,
    device: str,
    strategy: Strategy | None = None,
    compile: bool = False,
    attention_backend: str | None = None,
    fast_mode: str = "off",
    lora_path: str | None = None,
):
    """`QwenImagePipeline.from_pretrained` for a hub id, a local folder or the demo models,
    then `build_pipeline` for placement, compile and fast modes. Without a strategy (CPU,
    tests) everything goes to `device`, as before."""
    from diffusers import QwenImagePipeline

    extra = {}
    if strategy is not None and strategy.name == "nf4":
        extra["transformer"] = load_nf4_transformer(model)
    pipe = QwenImagePipeline.from_pretrained(model, dtype=pipeline_dtypes(device), **extra)
    return build_pipeline(
        pipe.components,
        device,
        strategy=strategy,
        compile=compile,
        attention_backend=attention_backend,
        fast_mode=fast_mode,
        lora_path=lora_path,
    )


def load_nf4_transformer(model: str):
    """The transformer quantized to 4-bit NF4 while it loads (bitsandbytes through
    diffusers): about 11 GiB instead of 38. This changes the output."""
    from diffusers import BitsAndBytesConfig, QwenImageTransformer2DModel

    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
    return QwenImageTransformer2DModel.from_pretrained(
        model, subfolder="transformer", quantization_config=config, dtype=torch.bfloat16
    )


def build_pipeline(
    components: dict,
    device: str,
    strategy: Strategy | None = None,
    compile: bool = False,
    attention_backend: str | None = None,
    fast_mode: str = "off",
    lora_path: str | None = None,
):
    """A QwenImagePipeline from in-memory components (from `from_pretrained`, or built with
    random weights by bench/gpu_bench.py), placed on the GPU by `strategy`
    (core/render/memory.py), optionally with regional compilation and an opt-in fast mode."""
    from diffusers import QwenImagePipeline

    if fast_mode not in FAST_MODES:
        raise ValueError(f"fast mode must be one of {FAST_MODES}, not {fast_mode!r}")
    if device != "cuda":
        strategy = None  # memory strategies place weights on a GPU; off CUDA there is one device
    pipe = QwenImagePipeline(**{name: components[name] for name in PIPELINE_COMPONENTS})
    pipe.set_progress_bar_config(disable=True)

    if fast_mode == "lightning":
        # Before placement: the LoRA is fused into the weights while they are still whole.
        load_lightning_lora(pipe, lora_path)

    place_pipeline(pipe, device, strategy)
    if strategy is not None and strategy.batched_cfg:
        from core.render.guidance import install_split_attention

        install_split_attention(pipe.transformer)
    if fast_mode == "fp8":
        quantize_fp8(pipe.transformer)
    if attention_backend:
        pipe.transformer.set_attention_backend(attention_backend)
    compiled = False
    if compile and device == "cuda":
        compiled = compile_transformer(pipe.transformer, strategy)
    pipe.studio_setup = PipelineSetup(
        device=device, strategy=strategy, compiled=compiled, attention_backend=attention_backend, fast_mode=fast_mode
    )
    return pipe


PIPELINE_COMPONENTS = ("scheduler", "vae", "text_encoder", "tokenizer", "transformer")


def place_pipeline(pipe, device: str, strategy: Strategy | None) -> None:
    """Put each model where `strategy` says. Without a strategy, or off CUDA, everything
    simply goes to `device` with VAE tiling on (the seed's behaviour)."""
    if strategy is None or device != "cuda":
        pipe.to(device)
        pipe.vae.enable_tiling()
        return

    onload = torch.device(device)
    name = strategy.name
    if name == "resident":
        pipe.to(device)
    elif name == "te_offload":
        pipe.transformer.to(onload)
        pipe.vae.to(onload)
        stream_text_encoder(pipe.text_encoder, onload)
    elif name == "group_offload":
        pipe.vae.to(onload)
        stream_text_encoder(pipe.text_encoder, onload)
        stream_transformer_blocks(pipe.transformer, onload, strategy.resident_blocks or 0)
    elif name == "model_offload":
        pipe.enable_model_cpu_offload(device=onload)
    elif name == "nf4":
        if getattr(pipe.transformer, "hf_quantizer", None) is None:
            raise ValueError("the nf4 strategy needs a transformer loaded with load_nf4_transformer()")
        pipe.vae.to(onload)
        stream_text_encoder(pipe.text_encoder, onload)
    else:
        raise ValueError(f"unknown strategy {name!r}")

    if strategy.vae_tiling:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()
    # Weights moved off the GPU leave their blocks in PyTorch's cache; give them back so
    # the caps the strategy was sized for are real.
    gc.collect()
    torch.cuda.empty_cache()


def stream_text_encoder(text_encoder, onload: torch.device) -> None:
    """The 7B text encoder runs twice per poster (prompt and negative) for about 0.03 s of
    compute, so it lives in pinned host memory and streams through the GPU layer by layer,
    each layer's copy overlapping the previous layer's compute."""
    from diffusers.hooks import apply_group_offloading

    apply_group_offloading(
        text_encoder, onload_device=onload, offload_type="leaf_level", use_stream=True, record_stream=True
    )


def stream_transformer_blocks(transformer, onload: torch.device, resident_blocks: int, use_stream: bool = True) -> None:
    """Keep `resident_blocks` transformer blocks on the GPU, spread evenly (core.render.memory.
    resident_block_indices), and stream the others from pinned host memory, one block ahead
    of the compute (diffusers' block-level group offloading with a CUDA stream, applied to
    the streamed blocks only)."""
    from diffusers.hooks import apply_group_offloading

    blocks = list(transformer.transformer_blocks)
    keep = set(resident_block_indices(len(blocks), resident_blocks))
    resident = [block for index, block in enumerate(blocks) if index in keep]
    streamed = [block for index, block in enumerate(blocks) if index not in keep]
    # diffusers offloads every block of a ModuleList child; show it only the streamed ones.
    # The embedders and final layers (80 MB) go with them as the top-level group.
    transformer.transformer_blocks = torch.nn.ModuleList(streamed)
    try:
        apply_group_offloading(
            transformer,
            onload_device=onload,
            offload_type="block_level",
            num_blocks_per_group=1,
            use_stream=use_stream,
            record_stream=use_stream,
        )
    finally:
        transformer.transformer_blocks = torch.nn.ModuleList(blocks)
    for block in resident:
        block.to(onload)


def is_streamed(module) -> bool:
    """Whether diffusers' group offloading moves this module's weights in and out."""
    registry = getattr(module, "_diffusers_hook", None)
    return registry is not None and registry.get_hook("group_offloading") is not None


def compile_transformer(transformer, strategy: Strategy | None) -> bool:
    """Regional compilation: each of the 60 identical blocks is compiled once and the code
    reused, so the first call costs seconds rather than minutes. Streamed blocks stay eager
    (their weights are swapped in and out by hooks that compile cannot see through)."""
    if strategy is not None and strategy.name == "nf4":
        return False  # bitsandbytes 4-bit layers break fullgraph compilation
    if strategy is not None and strategy.name == "group_offload":
        resident = [block for block in transformer.transformer_blocks if not is_streamed(block)]
        for block in resident:
            block.compile(fullgraph=True)
        return bool(resident)
    transformer.compile_repeated_blocks(fullgraph=True)
    return True


def quantize_fp8(transformer, keep_bf16: tuple[str, ...] = ()) -> None:
    """Opt-in FP8 (changes the output): torchao's dynamic float8 activations and weights
    with one scale per tensor, on the transformer blocks' linear layers. Per-row scales fail
    with cuBLAS NOT_SUPPORTED on this stack, and eager fp8 is slower than bf16, so this only
    pays together with compile. `keep_bf16` names sub-modules (e.g. "img_mlp") to leave."""
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerTensor, quantize_

    def wanted(module, name: str) -> bool:
        return (
            isinstance(module, torch.nn.Linear)
            and name.startswith("transformer_blocks.")
            and not any(f".{part}." in f".{name}." for part in keep_bf16)
        )

    quantize_(transformer, Float8DynamicActivationFloat8WeightConfig(granularity=PerTensor()), filter_fn=wanted)


def load_lightning_lora(pipe, lora_path: str | None) -> None:
    """Opt-in few-step mode (changes the output): a Lightning-style distillation LoRA from a
    local folder, fused into the transformer, with the scheduler it was distilled for.
    Generations then use LIGHTNING_STEPS steps and true_cfg_scale 1 (no negative pass)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    if not lora_path:
        raise ValueError("few-step mode needs STUDIO_LIGHTNING_LORA: a local folder or .safetensors file")
    path = Path(lora_path)
    if path.is_file():
        pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name="lightning")
    else:
        pipe.load_lora_weights(str(path), adapter_name="lightning")
    # Fusing folds the LoRA into the base weights, so each step costs what a base step costs.
    pipe.fuse_lora(lora_scale=1.0)
    pipe.unload_lora_weights()
    pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(LIGHTNING_SCHEDULER_CONFIG)


WARM_UP_SIZES = ((1328, 1328), (1664, 928))
WARM_UP_PROMPT = (
    'A clean product poster with the headline "SUMMER SALE", the price "$19.99" and a "Shop now" button, '
    "soft studio light, generous margins and a clear hierarchy."
)


def warm_up(pipe, sizes=WARM_UP_SIZES, steps: int = 2) -> None:
    """Make a compiled pipeline's first calls before a user waits on them: a short run at
    each size, with guidance, so the prompt and the (shorter) negative prompt show the
    compiler two text lengths and two image sizes and it generalizes over both."""
    for width, height in sizes:
        request = GenerationRequest(
            prompt=WARM_UP_PROMPT, negative_prompt=" ", width=width, height=height, steps=steps,
            true_cfg_scale=4.0, seed=0,
        )
        generate(pipe, request, check_output=False)


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


def encode_prompts(pipe, request: GenerationRequest) -> dict:
    """The prompt (and, with guidance, the negative prompt) through the pipeline's own
    `encode_prompt`, once, before denoising. Doing it here rather than inside the pipeline
    call gives the same embeddings, and lets batched guidance see both of them."""
    device = pipe._execution_device

    def encode(text: str):
        embeds, mask = pipe.encode_prompt(prompt=text, device=device, max_sequence_length=request.max_sequence_length)
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


def generate(
    pipe,
    request: GenerationRequest,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    check_output: bool = True,
) -> GenerationResult:
    """Draw one poster. `on_step(step, total)` is called after every denoising step with
    1-based step numbers; `should_cancel()` is polled at the same point. `check_output=False`
    is for the benchmark only, whose random weights may well produce NaNs."""
    # A CPU generator gives the same noise on every device, so a seed means the same start.
    generator = torch.Generator(device="cpu").manual_seed(request.seed)
    setup = setup_of(pipe)
    on_cuda = setup.device == "cuda" and torch.cuda.is_available()
    # Step times come from CUDA events: reading a host clock would either measure how fast
    # kernels are queued, or need a synchronize every step that stalls the queue.
    events: list = []
    host_times: list[float] = []
    last = time.perf_counter()

    def callback(pipeline, step_index, timestep, callback_kwargs):
        nonlocal last
        if on_cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            events.append(event)
        now = time.perf_counter()
        host_times.append(now - last)
        last = now
        if on_step is not None:
            on_step(step_index + 1, request.steps)
        if should_cancel is not None and should_cancel():
            # The pipeline checks this flag at the top of every remaining step.
            pipeline._interrupt = True
        return callback_kwargs

    start = time.perf_counter()
    timings: dict = {}
    try:
        inputs = encode_prompts(pipe, request)
        if on_cuda:
            torch.cuda.synchronize()
            begin = torch.cuda.Event(enable_timing=True)
            begin.record()
            events.append(begin)
        timings["encode_s"] = time.perf_counter() - start
        last = time.perf_counter()
        guidance = contextlib.nullcontext()
        if setup.batched_cfg and request.true_cfg_scale > 1:
            from core.render.guidance import BatchedGuidance

            guidance = BatchedGuidance(
                pipe.transformer,
                inputs["negative_prompt_embeds"],
                inputs["negative_prompt_embeds_mask"],
                split_attention=setup.split_attention,
            )
        with guidance:
            output = pipe(
                **inputs,
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
            f"The GPU ran out of memory at {request.width}x{request.height} with the "
            f"{setup.label} strategy. Pick the preset's draft size, make fewer variants at once, close other "
            "GPU programs, or set STUDIO_STRATEGY to a strategy that keeps less on the GPU."
        ) from error
    seconds = time.perf_counter() - start

    if pipe.interrupt:
        raise GenerationCancelled()

    if on_cuda and len(events) > 1:
        # output_type="np" already copied the image to the host, so every event is done.
        begin, steps = events[0], events[1:]
        marks = [begin, *steps]
        step_seconds = [marks[i].elapsed_time(marks[i + 1]) / 1000 for i in range(len(steps))]
        timings["denoise_s"] = sum(step_seconds)
        timings["decode_s"] = max(seconds - timings["encode_s"] - timings["denoise_s"], 0.0)
    else:
        step_seconds = host_times
    array = output.images[0]
    if check_output:
        check_image_array(array)
    image = Image.fromarray((np.nan_to_num(np.clip(array, 0.0, 1.0)) * 255).round().astype("uint8"))
    return GenerationResult(image=image, seconds=seconds, step_seconds=step_seconds, timings=timings)
