"""The Qwen-Image pipeline as this app loads it: components, placement on the GPU by a
memory strategy (core/render/memory.py), regional compile and the opt-in fast modes (FP8,
few-step Lightning), and the warm-up that pays the compile before a user waits.

One generation with that pipeline is core/render/generate.py.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from core.render.memory import Strategy, resident_block_indices
from core.render.plan import pipeline_label
from core.settings import FAST_MODES


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
    # This process's place in a group of devices drawing each poster together
    # (core/render/parallel.py ParallelGroup); None for one device.
    parallel: object | None = None

    @property
    def batched_cfg(self) -> bool:
        return self.force_batched_cfg or (self.strategy is not None and self.strategy.batched_cfg)

    @property
    def label(self) -> str:
        label = pipeline_label(self.device, self.strategy, self.compiled, self.fast_mode)
        if self.parallel is not None:
            layout = self.parallel.layout
            label += f" | {layout.mode} on {layout.world_size} devices"
        return label


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
    parallel=None,
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
        parallel=parallel,
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
    parallel=None,
):
    """A QwenImagePipeline from in-memory components (from `from_pretrained`, or built with
    random weights by bench/gpu_bench.py), placed on the GPU by `strategy`
    (core/render/memory.py), optionally with regional compilation and an opt-in fast mode.
    With `parallel` (core/render/parallel.py ParallelGroup) this rank draws its part of every
    poster with the other ranks: its guidance branch, and with Ulysses its share of tokens."""
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
    if parallel is not None and parallel.layout.ulysses_degree > 1:
        from core.render.parallel import enable_sequence_parallel

        # Before compile: the plan hooks the blocks the compiler then traces.
        enable_sequence_parallel(pipe.transformer, parallel)
    compiled = False
    if compile and device == "cuda":
        # Ulysses' size exchange reads a host int inside attention: a graph break, so the
        # blocks compile in pieces rather than as one graph.
        fullgraph = parallel is None or parallel.layout.ulysses_degree == 1
        compiled = compile_transformer(pipe.transformer, strategy, fullgraph=fullgraph)
    pipe.studio_setup = PipelineSetup(
        device=device, strategy=strategy, compiled=compiled, attention_backend=attention_backend, fast_mode=fast_mode,
        parallel=parallel,
    )
    return pipe


PIPELINE_COMPONENTS = ("scheduler", "vae", "text_encoder", "tokenizer", "transformer")


def place_pipeline(pipe, device: str, strategy: Strategy | None) -> None:
    """Put each model where `strategy` says. Without a strategy, or off CUDA, everything
    simply goes to `device` with VAE tiling on (the original notebook's behaviour)."""
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


def compile_transformer(transformer, strategy: Strategy | None, fullgraph: bool = True) -> bool:
    """Regional compilation: each of the 60 identical blocks is compiled once and the code
    reused, so the first call costs seconds rather than minutes. Streamed blocks stay eager
    (their weights are swapped in and out by hooks that compile cannot see through)."""
    if strategy is not None and strategy.name == "nf4":
        return False  # bitsandbytes 4-bit layers break fullgraph compilation
    if strategy is not None and strategy.name == "group_offload":
        resident = [block for block in transformer.transformer_blocks if not is_streamed(block)]
        for block in resident:
            block.compile(fullgraph=fullgraph)
        return bool(resident)
    transformer.compile_repeated_blocks(fullgraph=fullgraph)
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
    Generations then use LIGHTNING_STEPS (core/settings.py) steps and true_cfg_scale 1 (no negative pass)."""
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


# A second prompt and negative prompt of other lengths. One process sees both texts of a
# guidance pair anyway; in a process group (core/render/parallel.py) each rank sees only its
# branch's text, so without these a rank would meet its second text length in a user's
# poster and recompile there.
WARM_UP_TEXTS = (
    (WARM_UP_PROMPT, " "),
    (WARM_UP_PROMPT + " Bold sans-serif type on a warm gradient.", "blurry, low quality, distorted text"),
)


def warm_up(pipe, sizes=WARM_UP_SIZES, steps: int = 2) -> None:
    """Make a compiled pipeline's first calls before a user waits on them: a short run at
    each size, with guidance, with two prompt lengths and two negative lengths, so the
    compiler sees two text lengths and two image sizes and generalizes over both."""
    # Here rather than at the top: core/render/generate.py reads the setup from this module.
    from core.render.generate import GenerationRequest, generate

    runs = list(sizes) if len(sizes) >= len(WARM_UP_TEXTS) else [sizes[0]] * len(WARM_UP_TEXTS)
    for index, (width, height) in enumerate(runs):
        prompt, negative = WARM_UP_TEXTS[index % len(WARM_UP_TEXTS)]
        request = GenerationRequest(
            prompt=prompt, negative_prompt=negative, width=width, height=height, steps=steps,
            true_cfg_scale=4.0, seed=0,
        )
        generate(pipe, request, check_output=False)
