"""GPU benchmark of the studio's own generation and brief code on the real architectures.

No model weights exist on the lent GPU, and compute time does not depend on weight values,
so this builds the real networks at full size with random weights:

- `QwenImageTransformer2DModel()` with its defaults (the 20.4B MMDiT of Qwen-Image-2512),
  `AutoencoderKLQwenImage()` with its defaults, and a Qwen2.5-VL-7B text encoder from its
  config; the tokenizer is the demo byte-level BPE (its ids index the real embedding);
- a Qwen2.5-VL-3B from its config for the brief, saved once to local disk so the brief's
  transient `from_pretrained` load can be timed.

Every run goes through `core.render.pipeline.build_pipeline` / `core.render.generate.generate` and
`core.brief.runtime.run_brief`, the code the app runs. Images are noise; only time and memory
mean anything.

Each suite runs in its own process (a memory cap or a compile must not leak into the next)
and appends one JSON object per measurement to <out>/results.jsonl:

    python bench/gpu_bench.py speed  --out $OUT        # resident: eager vs compiled, sizes, CFG, backends
    python bench/gpu_bench.py startup --out $OUT       # the default plan: build, warm-up, first posters
    python bench/gpu_bench.py memory --out $OUT --cap 24 [--strategy auto|te_offload|...] [--cfg-off]
    python bench/gpu_bench.py nf4    --out $OUT --cap 16  # the NF4 transformer, saved then loaded 4-bit
    python bench/gpu_bench.py brief  --out $OUT        # Qwen2.5-VL-3B: nf4 vs bf16 static, transient vs warm
    python bench/gpu_bench.py fp8    --out $OUT        # opt-in fp8: speed and output difference
    python bench/gpu_bench.py preview --out $OUT       # live preview: steps with and without, one preview's parts
    torchrun --nproc-per-node 2 bench/gpu_bench.py parallel --parallel cfg --out $OUT  # one poster, 2 GPUs
    python bench/gpu_bench.py throughput --workers 1 2 4 --out $OUT  # posters/min, one worker per GPU
    python bench/gpu_bench.py table  --out $OUT        # print the results as a table

`--tiny` runs the same code on the tiny demo models on CPU, to check the script before a
GPU call costs device time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.render.memory import GIB  # noqa: E402

OUT: Path = Path(".")
SUITE = ""
TINY = False
START = time.perf_counter()

# Real sizes; --tiny swaps in small ones.
SQUARE = (1328, 1328)
WIDE = (1664, 928)


# -- results ---------------------------------------------------------------------------------


def versions() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("diffusers", "transformers", "bitsandbytes", "torchao", "peft"):
        try:
            info[name] = __import__(name).__version__
        except Exception:
            info[name] = None
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_total_gib"] = round(torch.cuda.get_device_properties(0).total_memory / GIB, 2)
        info["cuda"] = torch.version.cuda
    else:
        info["gpu"] = "cpu (tiny)"
    return info


def record(name: str, **values) -> dict:
    row = {"suite": SUITE, "name": name, "elapsed_s": round(time.perf_counter() - START, 1), **values}
    if int(os.environ.get("RANK", "0")) != 0:
        return row  # in a process group (torchrun) rank 0 speaks for the poster
    with open(OUT / "results.jsonl", "a") as handle:
        handle.write(json.dumps(row, default=str) + "\n")
    shown = {k: v for k, v in values.items() if not isinstance(v, (list, dict))}
    print(f"[{SUITE}] {name}: {shown}", flush=True)
    return row


def time_left(budget_s: float) -> bool:
    return time.perf_counter() - START < budget_s


def on_gpu() -> bool:
    return not TINY and torch.cuda.is_available()


def sync() -> None:
    if on_gpu():
        torch.cuda.synchronize()


def reset_peak() -> None:
    if on_gpu():
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float | None:
    if on_gpu():
        return round(torch.cuda.max_memory_allocated() / GIB, 2)
    return None


def reserved_peak_gib() -> float | None:
    if on_gpu():
        return round(torch.cuda.max_memory_reserved() / GIB, 2)
    return None


# -- building the real architectures with random weights -------------------------------------


def text_encoder_config(tokenizer, size: str):
    """Qwen2.5-VL configs (7B: Qwen-Image's text encoder; 3B: the brief model) with the
    demo tokenizer's special-token ids, so its prompts index the real embedding tables."""
    from transformers import Qwen2_5_VLConfig

    ids = tokenizer.convert_tokens_to_ids
    if size == "7b":
        text = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                    num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False)
        vision_out = 3584
    elif size == "3b":
        text = dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                    num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)
        vision_out = 2048
    else:
        raise ValueError(size)
    text.update(
        max_position_embeddings=128000,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1000000.0},
        bos_token_id=ids("<|endoftext|>"),
        eos_token_id=ids("<|im_end|>"),
        pad_token_id=ids("<|endoftext|>"),
    )
    vision = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=vision_out,
                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                  fullatt_block_indexes=[7, 15, 23, 31], in_chans=3, tokens_per_second=2, hidden_act="silu")
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=text["tie_word_embeddings"],
    )


def build_components(with_text_encoder: bool = True) -> dict:
    """The pipeline's components: real sizes on the GPU in bf16 (fp32 VAE), or the demo
    models' tiny ones with --tiny."""
    from core.render import demo_models

    tokenizer = demo_models.build_tokenizer()
    if TINY:
        transformer, vae, scheduler = demo_models.build_image_components()
        text_encoder = demo_models.build_vl_model(tokenizer)
        return dict(transformer=transformer, vae=vae, scheduler=scheduler, text_encoder=text_encoder,
                    tokenizer=tokenizer)

    from diffusers import AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageTransformer2DModel
    from transformers import Qwen2_5_VLForConditionalGeneration

    start = time.perf_counter()
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            transformer = QwenImageTransformer2DModel().eval()
            text_encoder = (
                Qwen2_5_VLForConditionalGeneration(text_encoder_config(tokenizer, "7b")).eval()
                if with_text_encoder
                else None
            )
        torch.set_default_dtype(torch.float32)
        with torch.device("cuda"):
            vae = AutoencoderKLQwenImage().eval()
    finally:
        torch.set_default_dtype(previous)
    # Qwen-Image-2512's scheduler config.
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256, base_shift=0.5, max_image_seq_len=8192, max_shift=0.9, num_train_timesteps=1000,
        shift=1.0, use_dynamic_shifting=True, time_shift_type="exponential",
    )
    sync()
    record(
        "build_components",
        seconds=round(time.perf_counter() - start, 1),
        transformer_params_b=round(sum(p.numel() for p in transformer.parameters()) / 1e9, 3),
        transformer_gib=round(sum(p.numel() * p.element_size() for p in transformer.parameters()) / GIB, 2),
        block_gib=round(sum(p.numel() * p.element_size() for p in transformer.transformer_blocks[0].parameters()) / GIB, 4),
        text_encoder_gib=round(sum(p.numel() * p.element_size() for p in text_encoder.parameters()) / GIB, 2)
        if text_encoder is not None else None,
        vae_gib=round(sum(p.numel() * p.element_size() for p in vae.parameters()) / GIB, 3),
        allocated_gib=round(torch.cuda.memory_allocated() / GIB, 2),
    )
    return dict(transformer=transformer, vae=vae, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer)


def poster_prompt(tokenizer, tokens: int) -> str:
    """A real-looking poster prompt cut to `tokens` tokens as the pipeline counts them
    (the shared GPU notes' reference runs used a 400-token prompt)."""
    from core.render.generate import count_prompt_tokens

    base = (
        'A professional marketing poster for "Aurora Cold Brew", premium elegant refined lighting, a tall glass '
        'bottle on a marble counter, soft shadows, warm gradient background. The headline reads exactly "SUMMER '
        'SALE", the price reads exactly "$19.99", the call-to-action button reads exactly "Shop now". Benefits '
        'rendered exactly as written: "Slow-steeped 18 hours", "No added sugar", "Recyclable glass". Bold '
        "high-contrast typography, generous white space, clear hierarchy, balanced grid margins. "
    )
    text = base
    while count_prompt_tokens(tokenizer, text) < tokens:
        text += base
    words = text.split(" ")
    while count_prompt_tokens(tokenizer, " ".join(words)) > tokens:
        words.pop()
    return " ".join(words)


def request(tokenizer, size, steps, cfg, seed=0, prompt_tokens=400):
    from core.render.generate import GenerationRequest

    width, height = size
    return GenerationRequest(
        prompt=poster_prompt(tokenizer, prompt_tokens),
        negative_prompt=" ",
        width=width,
        height=height,
        steps=steps,
        true_cfg_scale=cfg,
        seed=seed,
        max_sequence_length=512,
    )


def run_generation(pipe, name: str, size, steps: int, cfg: float, on_step=None, preview=None, **extra) -> dict | None:
    """One engine.generate call, timed: wall time, per-step times from CUDA events, peak."""
    from core.render.generate import generate

    tokenizer = pipe.tokenizer
    req = request(tokenizer, size, steps, cfg)
    reset_peak()
    start = time.perf_counter()
    try:
        result = generate(pipe, req, on_step=on_step, check_output=False, preview=preview)
    except Exception as error:  # an OOM or a failed compile is a result too
        traceback.print_exc()
        record(name, ok=False, error=f"{type(error).__name__}: {str(error)[:300]}", width=size[0], height=size[1],
               steps=steps, cfg=cfg, peak_gib=peak_gib(), **extra)
        reset_peak()
        return None
    wall = time.perf_counter() - start
    steps_s = result.step_seconds
    # The first step of a call carries one-off work (latents, RoPE tables, a first compile).
    steady = steps_s[1:] if len(steps_s) > 2 else steps_s
    return record(
        name,
        ok=True,
        width=size[0],
        height=size[1],
        steps=steps,
        cfg=cfg,
        wall_s=round(wall, 3),
        step_median_s=round(statistics.median(steady), 4),
        step_first_s=round(steps_s[0], 4),
        encode_s=round(result.timings.get("encode_s", 0.0), 3),
        denoise_s=round(result.timings.get("denoise_s", sum(steps_s)), 3),
        decode_s=round(result.timings.get("decode_s", 0.0), 3),
        peak_gib=peak_gib(),
        reserved_gib=reserved_peak_gib(),
        strategy=pipe.studio_setup.label,
        step_s=[round(s, 4) for s in steps_s],
        **extra,
    )


def poster_estimate(row: dict, steps: int) -> float | None:
    """Encode + steps x steady step + decode, for step counts not run end to end."""
    if not row or not row.get("ok"):
        return None
    return round(row["encode_s"] + steps * row["step_median_s"] + row["decode_s"], 2)


def record_wall_estimate(row: dict | None, ran_steps: int, steps: int) -> None:
    """A whole poster from a short run's wall time plus the missing steps at the steady
    rate. Unlike `poster_estimate` this keeps what the first step carries (model CPU
    offload moves the transformer onto the GPU inside it)."""
    if row and row.get("ok"):
        poster = row["wall_s"] + (steps - ran_steps) * row["step_median_s"]
        record(f"{row['name']}_{steps}steps_from_wall", poster_s=round(poster, 2), derived_from=f"{ran_steps}-step run")


# -- suites ----------------------------------------------------------------------------------


def suite_speed(args) -> None:
    """Resident weights: eager against compiled, sizes, CFG, attention backends, batched
    CFG, the job runner's per-step SQLite write, VAE decode, few-step mode."""
    from core.render.pipeline import build_pipeline, compile_transformer

    components = build_components()
    device = "cpu" if TINY else "cuda"
    strategy = notebook_placement()
    pipe = build_pipeline(components, device, strategy=strategy, compile=False)
    square, wide = SQUARE, WIDE
    short = 3 if TINY else 8

    # Eager (the original notebook's configuration).
    run_generation(pipe, "warmup_eager", square, 3, 4.0)
    eager = {}
    for size in (square, wide):
        for cfg in (4.0, 1.0):
            row = run_generation(pipe, f"eager_{size[0]}x{size[1]}_cfg{cfg:g}", size, short, cfg, mode="eager")
            eager[(size, cfg)] = row
            for steps in (50, 20):
                record(f"eager_{size[0]}x{size[1]}_cfg{cfg:g}_{steps}steps_estimate",
                       poster_s=poster_estimate(row, steps), derived_from=f"{short}-step run")
    if time_left(args.budget):
        run_generation(pipe, "eager_1328_cfg4_50steps_full", square, 3 if TINY else 50, 4.0, mode="eager")

    # Attention backends (eager, one size): native SDPA picks flash for mask-free prompts.
    for backend in ([] if TINY else ["_native_cudnn", "_native_flash", "_native_efficient"]):
        if not time_left(args.budget):
            break
        try:
            pipe.transformer.set_attention_backend(backend)
            run_generation(pipe, f"eager_backend_{backend}", square, 5, 4.0, backend=backend)
        except Exception as error:
            record(f"eager_backend_{backend}", ok=False, error=str(error)[:300])
    if not TINY:
        pipe.transformer.set_attention_backend("native")

    # Batched CFG with resident weights (one batch of 2, the short negative padded+masked).
    from dataclasses import replace as dc_replace

    plain_setup = pipe.studio_setup
    pipe.studio_setup = dc_replace(plain_setup, force_batched_cfg=True, split_attention=False)
    run_generation(pipe, "eager_batched_cfg_1328", square, short if TINY else 5, 4.0, mode="eager+batched masked")
    from core.render.guidance import install_split_attention

    install_split_attention(pipe.transformer)
    pipe.studio_setup = dc_replace(plain_setup, force_batched_cfg=True, split_attention=True)
    run_generation(pipe, "eager_batched_cfg_split_1328", square, short if TINY else 5, 4.0,
                   mode="eager+batched split attention")
    pipe.studio_setup = plain_setup

    # VAE decode, tiled and untiled, straight through the pipeline's VAE.
    for size in (square, wide):
        for tiled in (True, False):
            vae_decode(pipe, size, tiled)
    pipe.vae.enable_tiling()

    # Regional compile: first call (compile) cost, then steady speed.
    start = time.perf_counter()
    compiled = compile_transformer(pipe.transformer, strategy) if not TINY else False
    pipe.studio_setup = dc_replace(plain_setup, compiled=compiled)
    record("compile_setup", seconds=round(time.perf_counter() - start, 2), compiled=compiled)
    first = run_generation(pipe, "compiled_first_call_1328_cfg4", square, 3, 4.0, mode="compiled")
    second = run_generation(pipe, "compiled_second_call_1328_cfg4", square, 3, 4.0, mode="compiled")
    if first and second:
        record("compile_first_call_cost", seconds=round(first["wall_s"] - second["wall_s"], 1),
               note="first 3-step call minus an identical second call")
    compiled_rows = {}
    for size in (square, wide):
        if size == wide:
            first_wide = run_generation(pipe, "compiled_first_call_1664x928_cfg4", size, 3, 4.0, mode="compiled")
            second_wide = run_generation(pipe, "compiled_second_call_1664x928_cfg4", size, 3, 4.0, mode="compiled")
            if first_wide and second_wide:
                record("compile_new_size_cost", seconds=round(first_wide["wall_s"] - second_wide["wall_s"], 1))
        for cfg in (4.0, 1.0):
            row = run_generation(pipe, f"compiled_{size[0]}x{size[1]}_cfg{cfg:g}", size, short, cfg, mode="compiled")
            compiled_rows[(size, cfg)] = row
            for steps in (50, 20):
                record(f"compiled_{size[0]}x{size[1]}_cfg{cfg:g}_{steps}steps_estimate",
                       poster_s=poster_estimate(row, steps), derived_from=f"{short}-step run")

    # Whole posters, end to end, as a user runs them (compiled).
    full = 3 if TINY else 50
    run_generation(pipe, "compiled_1328_cfg4_50steps_full", square, full, 4.0, mode="compiled")
    if time_left(args.budget):
        run_generation(pipe, "compiled_1328_cfg4_20steps_full", square, 3 if TINY else 20, 4.0, mode="compiled")
    if time_left(args.budget):
        run_generation(pipe, "compiled_1664x928_cfg4_50steps_full", wide, full, 4.0, mode="compiled")
    # The job runner writes progress to SQLite every step; measure that exact call.
    if time_left(args.budget):
        with tempfile.TemporaryDirectory() as folder:
            try:
                on_step = sqlite_progress_writer(folder)
            except Exception as error:
                record("compiled_1328_cfg4_50steps_sqlite", ok=False, error=f"setup: {error}"[:300])
            else:
                run_generation(pipe, "compiled_1328_cfg4_50steps_sqlite", square, full, 4.0, on_step=on_step,
                               mode="compiled+sqlite progress")

    # Few-step mode: a Lightning-style LoRA (random, rank 16) loaded from a folder, fused,
    # 8 steps without CFG.
    if time_left(args.budget + 60):
        try:
            few_step(pipe, components, square)
        except Exception as error:
            traceback.print_exc()
            record("lightning_8steps", ok=False, error=f"{type(error).__name__}: {str(error)[:300]}")


def suite_callback(args) -> None:
    """What the job runner's per-step callback costs on the compiled resident path: none,
    the SQLite progress write core/queue/runner.py does, and that write plus a host sync (what a
    callback that read a GPU value every step would cost). Optionally CUDA graphs."""
    from dataclasses import replace

    from core.render.pipeline import build_pipeline

    components = build_components()
    device = "cpu" if TINY else "cuda"
    strategy = notebook_placement()
    steps = 3 if TINY else 20
    if args.cudagraphs:
        pipe = build_pipeline(components, device, strategy=strategy, compile=False)
        if not TINY:
            start = time.perf_counter()
            for block in pipe.transformer.transformer_blocks:
                block.compile(fullgraph=True, mode="reduce-overhead")
            pipe.studio_setup = replace(pipe.studio_setup, compiled=True)
            record("cudagraphs_setup", seconds=round(time.perf_counter() - start, 2))
        run_generation(pipe, "cudagraphs_first_call", SQUARE, 3, 4.0, mode="compiled reduce-overhead")
        run_generation(pipe, "cudagraphs_second_call", SQUARE, 3, 4.0, mode="compiled reduce-overhead")
        run_generation(pipe, f"cudagraphs_1328_cfg4_{steps}steps", SQUARE, steps, 4.0, mode="compiled reduce-overhead")
        return
    pipe = build_pipeline(components, device, strategy=strategy, compile=not TINY)
    run_generation(pipe, "callback_compile_warmup", SQUARE, 3, 4.0)
    run_generation(pipe, f"callback_none_{steps}steps", SQUARE, steps, 4.0, mode="compiled, no progress")
    with tempfile.TemporaryDirectory() as folder:
        on_step = sqlite_progress_writer(folder)
        run_generation(pipe, f"callback_sqlite_{steps}steps", SQUARE, steps, 4.0, on_step=on_step,
                       mode="compiled + SQLite progress per step")

        def with_sync(step, total):
            on_step(step, total)
            sync()

        run_generation(pipe, f"callback_sqlite_sync_{steps}steps", SQUARE, steps, 4.0, on_step=with_sync,
                       mode="compiled + SQLite progress + cuda sync per step")
        start = time.perf_counter()
        for step in range(50):
            on_step(step + 1, 50)
        record("sqlite_record_progress_host_cost", ms_per_call=round((time.perf_counter() - start) / 50 * 1000, 2))
    run_generation(pipe, f"callback_none_{steps}steps_again", SQUARE, steps, 4.0, mode="compiled, no progress")


def suite_batched(args) -> None:
    """Resident weights, compiled: the two guidance calls against one batch of 2 with the
    split (mask-free) attention of core/render/guidance.py."""
    from dataclasses import replace

    from core.render.pipeline import build_pipeline
    from core.render.guidance import install_split_attention

    components = build_components()
    device = "cpu" if TINY else "cuda"
    strategy = notebook_placement()
    pipe = build_pipeline(components, device, strategy=strategy, compile=not TINY)
    install_split_attention(pipe.transformer)
    steps = 3 if TINY else 8
    plain = pipe.studio_setup
    run_generation(pipe, "batched_two_calls_warmup", SQUARE, 3, 4.0)
    run_generation(pipe, "batched_two_calls_compiled", SQUARE, steps, 4.0, mode="compiled, two calls")
    pipe.studio_setup = replace(plain, force_batched_cfg=True)
    run_generation(pipe, "batched_split_warmup", SQUARE, 3, 4.0)
    run_generation(pipe, "batched_split_compiled", SQUARE, steps, 4.0, mode="compiled, batch of 2, split attention")
    run_generation(pipe, "batched_split_compiled_1664x928", WIDE, steps, 4.0, mode="compiled, batch of 2, split")


def few_step(pipe, components, size) -> None:
    from core.render.pipeline import load_lightning_lora
    from core.settings import LIGHTNING_STEPS

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_random_lora(pipe.transformer, folder, rank=16)
        load_lightning_lora(pipe, folder)
        record("lightning_load_and_fuse", seconds=round(time.perf_counter() - start, 2))
    run_generation(pipe, "lightning_8steps_first", size, LIGHTNING_STEPS, 1.0, mode="lightning")
    run_generation(pipe, "lightning_8steps", size, LIGHTNING_STEPS, 1.0, mode="lightning")


def write_random_lora(transformer, folder: str, rank: int) -> None:
    """A diffusers-format LoRA on every attention and MLP linear of every block, with small
    random weights, written the way `save_lora_weights` writes one."""
    from diffusers import QwenImagePipeline

    layers = {}
    generator = torch.Generator().manual_seed(0)
    for name, module in transformer.named_modules():
        if isinstance(module, torch.nn.Linear) and name.startswith("transformer_blocks.") and (
            ".attn." in name or "_mlp." in name
        ):
            down = torch.randn(rank, module.in_features, generator=generator) * 0.01
            up = torch.randn(module.out_features, rank, generator=generator) * 0.01
            layers[f"{name}.lora_A.weight"] = down.to(torch.bfloat16 if not TINY else torch.float32)
            layers[f"{name}.lora_B.weight"] = up.to(torch.bfloat16 if not TINY else torch.float32)
    QwenImagePipeline.save_lora_weights(folder, transformer_lora_layers=layers)


def suite_preview(args) -> None:
    """The live preview's cost (core/render/preview.py) on the compiled resident path at
    1328x1328: the same poster's steps without previews and with one every `--every` steps,
    interleaved, with what the worker does around them (SQLite progress every step; a preview
    is the projection, its copy to the host, a WebP and its write to a local image store, and
    the row's preview step); then one preview's parts, timed alone; then the projection's fit
    on this VAE. Compiled graphs are counted before and after the preview runs: a preview
    must not make the transformer recompile."""
    from core.render.pipeline import build_pipeline
    from core.render.preview import WAN21_PROJECTION, LatentPreviewer, LivePreview, load_projection, resolve_projection
    from core.render.preview_fit import fit_vae
    from storage.files import ImageStore, preview_webp

    components = build_components()
    device = "cpu" if TINY else "cuda"
    pipe = build_pipeline(components, device, strategy=notebook_placement(), compile=not TINY)
    steps = 10 if TINY else 20
    every = args.every
    # With --tiny the steps run at the draft size a demo user draws (784x784); one preview's
    # parts are timed at 1328x1328 with the published 16-channel factors either way.
    size = (784, 784) if TINY else SQUARE
    engine = "eager (CPU)" if TINY else "compiled"

    # The projection: the published factors for the real 16-channel VAE; the tiny demo VAE
    # (4 channels) gets its own fit, as the demo builder does.
    start = time.perf_counter()
    if TINY:
        projection = fit_vae(pipe.vae, source="tiny bench fit", images=8, size=64).projection
    else:
        projection = resolve_projection("Qwen/Qwen-Image-2512", pipe.vae.config)
    record("projection", source=projection.source, channels=projection.channels,
           seconds=round(time.perf_counter() - start, 2))
    previewer = LatentPreviewer(projection)
    published = LatentPreviewer(load_projection(WAN21_PROJECTION))

    def graphs() -> int | None:
        if TINY:
            return None
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])

    with tempfile.TemporaryDirectory() as folder:
        on_step, on_image = preview_writers(folder)
        run_generation(pipe, "preview_warmup", size, 3, 4.0, on_step=on_step)  # compiles
        graphs_before = graphs()
        rows = {"off": [], "on": []}
        for repeat in range(2):
            for mode in ("off", "on"):
                live = LivePreview(previewer, every, on_image) if mode == "on" else None
                row = run_generation(pipe, f"preview_{mode}_{size[0]}_{steps}steps_{repeat + 1}", size, steps, 4.0,
                                     on_step=on_step, preview=live, every=every if live else 0,
                                     mode=f"{engine} + SQLite progress" + (f" + preview every {every}" if live else ""))
                if row:
                    rows[mode].append(row)
        graphs_after = graphs()
        if rows["off"] and rows["on"]:
            # Mean, not median: only one step in `every` carries a preview.
            denoise = {mode: statistics.mean(r["denoise_s"] for r in rows[mode]) for mode in rows}
            count = len([s for s in range(1, steps + 1) if s % every == 0 and s < steps])
            record("preview_cost_in_steps", width=size[0], height=size[1], steps=steps, every=every,
                   previews_per_run=count, projection_channels=projection.channels,
                   step_mean_off_s=round(denoise["off"] / steps, 4), step_mean_on_s=round(denoise["on"] / steps, 4),
                   denoise_off_s=round(denoise["off"], 3), denoise_on_s=round(denoise["on"], 3),
                   ms_per_preview=round((denoise["on"] - denoise["off"]) / max(count, 1) * 1000, 2),
                   overhead_pct=round((denoise["on"] / denoise["off"] - 1) * 100, 2),
                   graphs_before=graphs_before, graphs_after=graphs_after)

        # One preview's parts, alone, on latents of the real shape and dtype (1328x1328 with
        # --tiny too: the projection does not depend on the model's size).
        width, height = 1328, 1328
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        packed = torch.randn(1, (height // 16) * (width // 16), published.projection.channels * 4, device=device,
                             dtype=dtype)
        store = ImageStore(folder)
        repeats = 50
        timings = {}
        image = published.image(packed, height, width)  # first call builds the weights on the device
        parts = {
            "unpack_project_copy_ms": lambda: published.image(packed, height, width),
            "webp_encode_ms": lambda: preview_webp(image),
            "store_write_ms": lambda: store.put_preview(1, image),
            "preview_total_ms": lambda: on_image(every, steps, published.image(packed, height, width)),
        }
        for name, call in parts.items():
            # Each call timed alone (each ends in a host copy or a write, so a sync): the
            # median, and the 90th percentile beside it, so a busy host shows as a spread.
            sync()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                sync()
                times.append(time.perf_counter() - start)
            times.sort()
            timings[name] = round(statistics.median(times) * 1000, 3)
            timings[name.replace("_ms", "_p90_ms")] = round(times[int(repeats * 0.9)] * 1000, 3)
        record("one_preview_1328", **timings, preview_px=list(image.size), webp_bytes=len(preview_webp(image)),
               latents_dtype=str(dtype), channels=published.projection.channels,
               note="random latents of the real packed shape; total = project + copy + WebP + store write + row")

    # The fit a user runs for their own weights (python -m core.render.preview_fit), on this VAE.
    if not TINY:
        start = time.perf_counter()
        report = fit_vae(pipe.vae, source="bench", images=32, size=256, device=device)
        record("fit_on_this_vae", seconds=round(time.perf_counter() - start, 2), **report.as_dict(),
               note="random weights: only the time means anything")


def preview_writers(folder: str):
    """The worker's calls around a generation (core/queue/runner.py) on a fresh SQLite DB and
    a local image store: progress every step, and a preview's image then its row."""
    from core.recipe import Recipe, product_of
    from storage import jobs as job_rows
    from storage.db import open_database
    from storage.files import ImageStore

    db = open_database(f"sqlite:///{folder}/bench.db")
    store = ImageStore(folder)
    recipe = Recipe(product=product_of({"name": "bench"}), tone="Bold", style_keywords="", language="en", brief_id=None,
                    brief_text="", brand_kit_id=None, brand_block="", preset_key="instagram_post", draft_size=False,
                    width=SQUARE[0], height=SQUARE[1], steps=50, true_cfg_scale=4.0, seed=0, model_id="bench",
                    demo_models=False, negative_prompt=" ", prompt="bench", exact_strings=[], token_count=1,
                    max_sequence_length=512, builder_version="bench")
    job_rows.enqueue(db, recipe, [0])
    job_id = job_rows.claim_next(db, "bench").id  # record_preview only touches a running job

    def on_step(step, total):
        job_rows.record_progress(db, job_id, step, total)

    def on_image(step, total, image):
        store.put_preview(job_id, image)
        job_rows.record_preview(db, job_id, step)

    return on_step, on_image


def sqlite_progress_writer(folder: str):
    """The job runner's per-step call (`storage.jobs.record_progress`) on a fresh SQLite DB."""
    from core.recipe import Recipe, product_of
    from storage import jobs as job_rows
    from storage.db import open_database

    db = open_database(f"sqlite:///{folder}/bench.db")
    recipe = Recipe(product=product_of({"name": "bench"}), tone="Bold", style_keywords="", language="en", brief_id=None,
                    brief_text="", brand_kit_id=None, brand_block="", preset_key="instagram_post", draft_size=False,
                    width=1328, height=1328, steps=50, true_cfg_scale=4.0, seed=0, model_id="bench", demo_models=False,
                    negative_prompt=" ", prompt="bench", exact_strings=[], token_count=1, max_sequence_length=512,
                    builder_version="bench")
    _, job_ids, _ = job_rows.enqueue(db, recipe, [0])

    def on_step(step, total):
        job_rows.record_progress(db, job_ids[0], step, total)

    return on_step


def vae_decode(pipe, size, tiled: bool) -> None:
    width, height = size
    vae = pipe.vae
    vae.enable_tiling() if tiled else vae.disable_tiling()
    latents = torch.randn(1, vae.config.z_dim, 1, height // 8, width // 8, device=vae.device, dtype=vae.dtype)
    name = f"vae_decode_{width}x{height}_{'tiled' if tiled else 'untiled'}"
    try:
        with torch.no_grad():
            vae.decode(latents, return_dict=False)  # warm-up (cuDNN picks its kernels)
            sync()
            reset_peak()
            base = torch.cuda.memory_allocated() if on_gpu() else 0
            start = time.perf_counter()
            vae.decode(latents, return_dict=False)
            sync()
        extra = round((torch.cuda.max_memory_allocated() - base) / GIB, 2) if on_gpu() else None
        record(name, ok=True, seconds=round(time.perf_counter() - start, 3), extra_peak_gib=extra)
    except Exception as error:
        record(name, ok=False, error=f"{type(error).__name__}: {str(error)[:200]}")
    reset_peak()


def suite_memory(args) -> None:
    """One strategy under one memory cap: what the chooser picks, and whether it fits."""
    from dataclasses import replace

    from core.render.pipeline import build_pipeline, compile_transformer
    from core.render.memory import choose_strategy, describe

    components = build_components()
    device = "cpu" if TINY else "cuda"
    cap = args.cap * GIB
    total = torch.cuda.get_device_properties(0).total_memory if on_gpu() else 80 * GIB
    strategy = choose_strategy(min(cap, total), min(cap, total), requested=args.strategy)
    if args.resident_blocks is not None and strategy.name == "group_offload":
        strategy = replace(strategy, resident_blocks=args.resident_blocks)
    if args.no_batched_cfg:
        strategy = replace(strategy, batched_cfg=False)
    record("chooser", cap_gib=args.cap, strategy=strategy.label, fits=strategy.fits,
           estimated_peak_gib=strategy.estimated_peak_gib, vae_tiling=strategy.vae_tiling,
           batched_cfg=strategy.batched_cfg, reasons=list(strategy.reasons), described=describe(strategy))
    start = time.perf_counter()
    pipe = build_pipeline(components, device, strategy=strategy if not TINY else None, compile=False)
    del components
    gc.collect()
    if on_gpu():
        torch.cuda.empty_cache()
        record("placed", seconds=round(time.perf_counter() - start, 1),
               allocated_gib=round(torch.cuda.memory_allocated() / GIB, 2))
        torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total))
    tag = f"{strategy.label}_cap{args.cap:g}"
    extra = dict(cap_gib=args.cap, chooser_fits=strategy.fits, estimated_peak_gib=strategy.estimated_peak_gib)
    run_generation(pipe, f"warmup_{tag}", SQUARE, 2, 4.0, **extra)
    if args.full:
        # A whole 50-step poster under the cap, compiled, as the app runs it.
        if not TINY:
            pipe.studio_setup = replace(pipe.studio_setup, compiled=compile_transformer(pipe.transformer, strategy))
        run_generation(pipe, f"mem_{tag}_compiled_first", SQUARE, 2, 4.0, **extra)
        run_generation(pipe, f"mem_{tag}_compiled_1328_cfg4_50steps_full", SQUARE, 3 if TINY else 50, 4.0, **extra)
        return
    short = 3 if TINY else 5
    row = run_generation(pipe, f"mem_{tag}_1328_cfg4", SQUARE, short, 4.0, **extra)
    record_wall_estimate(row, short, 50)
    if args.cfg_off:
        row = run_generation(pipe, f"mem_{tag}_1328_cfg_off", SQUARE, short, 1.0, **extra)
        record_wall_estimate(row, short, 50)
    if time_left(args.budget) and args.wide:
        run_generation(pipe, f"mem_{tag}_1664x928_cfg4", WIDE, 3, 4.0, **extra)
    if args.compile and time_left(args.budget) and not TINY:
        pipe.studio_setup = replace(pipe.studio_setup, compiled=compile_transformer(pipe.transformer, strategy))
        run_generation(pipe, f"mem_{tag}_compiled_first", SQUARE, 2, 4.0, **extra)
        run_generation(pipe, f"mem_{tag}_compiled_1328_cfg4", SQUARE, 5, 4.0, **extra)
        if args.cfg_off:
            row = run_generation(pipe, f"mem_{tag}_compiled_1328_cfg_off", SQUARE, 5, 1.0, **extra)
            record_wall_estimate(row, 5, 50)


def notebook_placement():
    """The original notebook's placement, forced so runs compare: everything resident, VAE
    tiled (None with --tiny: plain CPU placement)."""
    from dataclasses import replace

    from core.render.memory import choose_strategy

    if TINY:
        return None
    free, total = torch.cuda.mem_get_info()
    return replace(choose_strategy(free + torch.cuda.memory_allocated(), total, requested="resident"), vae_tiling=True)


def default_plan_pipeline():
    """The pipeline as the app builds it on this card: the chooser's strategy for the free
    memory, regional compile on (plain CPU placement with --tiny)."""
    from core.render.pipeline import build_pipeline
    from core.render.memory import choose_strategy

    components = build_components()
    device = "cpu" if TINY else "cuda"
    strategy = None
    if not TINY:
        free, total = torch.cuda.mem_get_info()
        strategy = choose_strategy(free + torch.cuda.memory_allocated(), total)
        record("chooser", strategy=strategy.label, vae_tiling=strategy.vae_tiling,
               estimated_peak_gib=strategy.estimated_peak_gib)
    start = time.perf_counter()
    pipe = build_pipeline(components, device, strategy=strategy, compile=not TINY)
    record("build_pipeline", seconds=round(time.perf_counter() - start, 2), compiled=pipe.studio_setup.compiled)
    return pipe


def suite_startup(args) -> None:
    """What a user meets after a start, on the default GPU plan: the chooser's strategy with
    regional compile, the worker's warm-up (core.render.pipeline.warm_up, as the job runner calls
    it), then the first real posters, which should carry no compile cost."""
    from core.render.pipeline import warm_up

    pipe = default_plan_pipeline()
    start = time.perf_counter()
    warm_up(pipe) if not TINY else warm_up(pipe, sizes=(SQUARE, WIDE), steps=1)
    sync()
    record("warm_up_at_start", seconds=round(time.perf_counter() - start, 1), sizes=[list(SQUARE), list(WIDE)])
    full = 3 if TINY else 50
    run_generation(pipe, "first_poster_after_warm_up_1328_cfg4_50steps", SQUARE, full, 4.0)
    run_generation(pipe, "first_wide_poster_after_warm_up_1664x928_cfg4_20steps", WIDE, 3 if TINY else 20, 4.0)
    if time_left(args.budget):
        run_generation(pipe, "second_poster_1328_cfg4_50steps", SQUARE, full, 4.0)


KERNEL_KINDS = (
    ("attention", ("flash", "fmha", "attention", "sdpa", "cudnn")),
    ("matmul", ("gemm", "nvjet", "cutlass", "xmma", "cublas", "sm90_", "matmul")),
    ("fused elementwise (inductor)", ("triton",)),
)


def kernel_kind(name: str) -> str:
    lowered = name.lower()
    for kind, needles in KERNEL_KINDS:
        if any(needle in lowered for needle in needles):
            return kind
    return "other"


def suite_profile(args) -> None:
    """Where a compiled resident CFG step spends its GPU time: attention, matmuls, the
    fused elementwise kernels, the rest. It shows how far the lossless levers can go."""
    from torch.profiler import ProfilerActivity, profile

    from core.render.pipeline import warm_up

    pipe = default_plan_pipeline()
    warm_up(pipe, sizes=(SQUARE,), steps=2)
    steps = 3
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu() else [])
    with profile(activities=activities) as prof:
        row = run_generation(pipe, "profiled_1328_cfg4", SQUARE, steps, 4.0)
    totals: dict[str, float] = {}
    top: list[tuple[float, str]] = []
    for event in prof.key_averages():
        if on_gpu() and event.device_type != torch.autograd.DeviceType.CUDA:
            continue
        micros = getattr(event, "self_device_time_total", None)
        if micros is None:
            micros = getattr(event, "self_cuda_time_total", 0.0)
        if not micros:
            continue
        kind = kernel_kind(event.key)
        totals[kind] = totals.get(kind, 0.0) + micros
        top.append((micros, event.key[:120]))
    busy = sum(totals.values()) or 1.0
    per_step = {kind: round(value / 1e6 / steps, 4) for kind, value in totals.items()}
    record("gpu_time_by_kernel_kind", seconds_per_step=per_step,
           share={kind: round(value / busy, 3) for kind, value in totals.items()},
           busy_s_per_step=round(busy / 1e6 / steps, 4),
           wall_step_median_s=row["step_median_s"] if row else None,
           top_kernels=[(round(t / 1e6 / steps, 4), name) for t, name in sorted(top, reverse=True)[:12]],
           note="includes the text encoder and the VAE decode of the 3-step call, spread over its steps")


def suite_nf4(args) -> None:
    """The NF4 transformer strategy through the engine's own loader: the random bf16
    transformer is saved to local disk once, then `core.render.pipeline.load_nf4_transformer`
    quantizes it while loading (bitsandbytes through diffusers), as it would a real one."""
    from core.render.pipeline import build_pipeline, load_nf4_transformer
    from core.render.memory import choose_strategy

    folder = Path(args.qi_dir)
    components = build_components()
    device = "cpu" if TINY else "cuda"
    start = time.perf_counter()
    components["transformer"].save_pretrained(folder / "transformer")
    record("transformer_saved", seconds=round(time.perf_counter() - start, 1),
           gib=round(sum(f.stat().st_size for f in (folder / "transformer").glob("*")) / GIB, 2))
    components["transformer"] = None
    gc.collect()
    if on_gpu():
        torch.cuda.empty_cache()
    start = time.perf_counter()
    components["transformer"] = load_nf4_transformer(str(folder))
    sync()
    record("nf4_transformer_loaded", seconds=round(time.perf_counter() - start, 1),
           transformer_gib=round(torch.cuda.memory_allocated() / GIB, 2) if on_gpu() else None)
    cap = args.cap * GIB
    total = torch.cuda.get_device_properties(0).total_memory if on_gpu() else 80 * GIB
    strategy = choose_strategy(min(cap, total), min(cap, total), requested="nf4")
    record("chooser", cap_gib=args.cap, strategy=strategy.label, fits=strategy.fits,
           estimated_peak_gib=strategy.estimated_peak_gib, vae_tiling=strategy.vae_tiling)
    pipe = build_pipeline(components, device, strategy=strategy if not TINY else None, compile=False)
    del components
    gc.collect()
    if on_gpu():
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total))
    extra = dict(cap_gib=args.cap, chooser_fits=strategy.fits, estimated_peak_gib=strategy.estimated_peak_gib)
    run_generation(pipe, f"warmup_nf4_cap{args.cap:g}", SQUARE, 2, 4.0, **extra)
    short = 3 if TINY else 5
    row = run_generation(pipe, f"nf4_cap{args.cap:g}_1328_cfg4", SQUARE, short, 4.0, **extra)
    record_wall_estimate(row, short, 50)


def suite_brief(args) -> None:
    """core.brief.runtime.run_brief on a random-weight Qwen2.5-VL-3B saved to local disk: a
    1024 px draft and exactly 400 new tokens (random weights never stop by themselves)."""
    from PIL import Image

    from core.render import demo_models
    from core.brief.runtime import (
        WARM_UP_DRAFT_SIZE,
        WARM_UP_TOKENS,
        VLHolder,
        brief_generation,
        brief_loader,
        run_brief,
    )

    folder = Path(args.vl_dir)
    tokenizer = demo_models.build_tokenizer()
    if not (folder / "config.json").exists():
        from transformers import Qwen2_5_VLForConditionalGeneration

        start = time.perf_counter()
        torch.manual_seed(0)
        if TINY:
            model = demo_models.build_vl_model(tokenizer)
        else:
            previous = torch.get_default_dtype()
            torch.set_default_dtype(torch.bfloat16)
            try:
                with torch.device("cuda"):
                    model = Qwen2_5_VLForConditionalGeneration(text_encoder_config(tokenizer, "3b")).eval()
            finally:
                torch.set_default_dtype(previous)
        ids = tokenizer.convert_tokens_to_ids
        model.generation_config.eos_token_id = [ids("<|im_end|>"), ids("<|endoftext|>")]
        model.generation_config.pad_token_id = ids("<|endoftext|>")
        model.save_pretrained(folder)
        demo_models.build_vl_processor(tokenizer).save_pretrained(folder)
        params = sum(p.numel() for p in model.parameters())
        del model
        gc.collect()
        if on_gpu():
            torch.cuda.empty_cache()
        # Read it once so every timed load comes from the page cache, like a warm server.
        for path in folder.glob("*.safetensors"):
            path.read_bytes()
        record("vl3b_saved", seconds=round(time.perf_counter() - start, 1), params_b=round(params / 1e9, 3))

    rng = np.random.default_rng(0)
    draft = Image.fromarray(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8))
    # Another size (a different prompt length): the bucketed static cache keeps it on the
    # same compiled step.
    draft_wide = Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8))
    blank = Image.new("RGB", WARM_UP_DRAFT_SIZE, "white")
    device = "cpu" if TINY else "cuda"
    tokens = 8 if TINY else 400
    force = {"min_new_tokens": tokens}

    def one(name, mode, holder=None, generation=None, image=draft, new_tokens=tokens, **extra):
        reset_peak()
        start = time.perf_counter()
        options = {**(brief_generation(mode, device) if generation is None else generation)}
        if new_tokens == tokens:
            options.update(force)
        try:
            result = run_brief(str(folder), "bench/vl3b", image, device, max_new_tokens=new_tokens, holder=holder,
                               loader=brief_loader(mode), generation=options)
        except Exception as error:
            traceback.print_exc()
            record(name, ok=False, error=f"{type(error).__name__}: {str(error)[:300]}")
            return None
        wall = time.perf_counter() - start
        decoder = options.get("decoder", "generate" + (" static" if "cache_implementation" in options else ""))
        return record(name, ok=True, mode=mode, decoder=decoder, wall_s=round(wall, 2),
                      load_s=result.timings.get("load_s"), prepare_s=result.timings.get("prepare_s"),
                      generate_s=result.timings.get("generate_s"), free_s=result.timings.get("free_s"),
                      free_parts=result.timings.get("free_parts"), new_tokens=result.new_tokens,
                      prompt_tokens=result.prompt_tokens, draft=list(image.size), peak_gib=peak_gib(),
                      gpu_after_gib=result.memory.get("after", {}).get("gpu_allocated_gib"),
                      warm=holder is not None, **extra)

    # The original notebook's path: NF4, transient, HF generate with its dynamic cache.
    if not args.skip_nf4:
        one("brief_nf4_transient_generate", "nf4", generation={})
    # The fast path (core/brief/decode.py): the studio's start-up warm-up brief pays the
    # compile (Studio.warm_up_brief makes this same call), then users' briefs.
    fast = brief_generation("fast", device)  # on CPU (--tiny) the same loop runs uncompiled
    one("brief_fast_warm_up_at_start", "fast", generation=fast, image=blank, new_tokens=WARM_UP_TOKENS)
    one("brief_fast_transient", "fast", generation=fast)
    one("brief_fast_transient_again", "fast", generation=fast)
    one("brief_fast_transient_other_draft_size", "fast", generation=fast, image=draft_wide)
    holder = VLHolder()
    one("brief_fast_warm_load", "fast", holder=holder, generation=fast)
    one("brief_fast_warm", "fast", holder=holder, generation=fast)
    one("brief_fast_warm_again", "fast", holder=holder, generation=fast)
    holder.loaded = None
    gc.collect()
    if args.compare_generate and time_left(args.budget):
        # The previous fast mode: HF generate with a static cache (its own compile first).
        static = {"cache_implementation": "static"}
        one("brief_generate_static_transient_first", "fast", generation=static)
        one("brief_generate_static_transient", "fast", generation=static)
    if args.nf4_own_loop and time_left(args.budget):
        # The 4-bit model through the same loop, uncompiled (bitsandbytes layers break the
        # compiled graph): what the per-token sync alone costs NF4.
        one("brief_nf4_own_loop_transient", "nf4", generation=brief_generation("nf4", device))
    if time_left(args.budget) and args.nf4_static:
        one("brief_nf4_static_transient", "nf4", generation={"cache_implementation": "static"})


def suite_fp8(args) -> None:
    """Opt-in FP8: the same random weights and seed in bf16 and in fp8 (torchao dynamic
    float8, per-tensor scales, with regional compile), their speed and output difference."""
    from dataclasses import replace

    from core.render.generate import generate

    from core.render.pipeline import build_pipeline, compile_transformer, quantize_fp8

    components = build_components()
    device = "cpu" if TINY else "cuda"
    strategy = notebook_placement()
    pipe = build_pipeline(components, device, strategy=strategy)
    size, steps = (SQUARE, 3) if TINY else (SQUARE, 8)
    req = request(pipe.tokenizer, size, steps, 4.0, seed=7)

    # A fixed single-forward input, to compare the transformer outputs directly.
    transformer = pipe.transformer
    torch.manual_seed(1)
    tokens = (size[0] // 16) * (size[1] // 16)
    dev = transformer.device
    dtype = transformer.dtype
    hidden = torch.randn(1, tokens, transformer.config.in_channels, device=dev, dtype=dtype)
    text = torch.randn(1, 400, transformer.config.joint_attention_dim, device=dev, dtype=dtype)
    timestep = torch.full((1,), 0.5, device=dev, dtype=dtype)
    shapes = [[(1, size[1] // 16, size[0] // 16)]]

    def forward():
        with torch.no_grad():
            return transformer(hidden_states=hidden, encoder_hidden_states=text, timestep=timestep,
                               img_shapes=shapes, return_dict=False)[0].float()

    reference_out = forward()
    reference = generate(pipe, req, check_output=False)
    run_generation(pipe, "fp8_reference_bf16_eager", size, steps, 4.0)
    reference_image = np.asarray(reference.image, dtype=np.float32)

    for keep in ([()] if TINY else [(), ("img_mlp",)])[: 1 if not args.fp8_keep_mlp else 2]:
        label = "fp8" + ("_keep_" + "_".join(keep) if keep else "")
        if TINY:
            record(label, ok=False, error="fp8 needs a Hopper GPU; skipped on CPU")
            return
        start = time.perf_counter()
        quantize_fp8(transformer, keep_bf16=keep)
        record(f"{label}_quantize", seconds=round(time.perf_counter() - start, 1),
               allocated_gib=round(torch.cuda.memory_allocated() / GIB, 2))
        out = forward()
        rel = (out - reference_out).norm() / reference_out.norm()
        record(f"{label}_forward_error", rel_l2=float(rel), note="one transformer forward, same input, vs bf16")
        start = time.perf_counter()
        compile_transformer(transformer, strategy)
        pipe.studio_setup = replace(pipe.studio_setup, compiled=True, fast_mode="fp8")
        first = run_generation(pipe, f"{label}_compiled_first_call", size, 3, 4.0)
        run_generation(pipe, f"{label}_compiled", size, steps, 4.0)
        result = generate(pipe, req, check_output=False)
        image = np.asarray(result.image, dtype=np.float32)
        mse = float(np.mean((image - reference_image) ** 2))
        record(f"{label}_image_difference", mean_abs_diff_8bit=float(np.mean(np.abs(image - reference_image))),
               psnr_db=float(10 * np.log10(255.0**2 / mse)) if mse > 0 else None,
               note=f"{steps}-step poster, same seed, vs bf16 eager; random weights (noise images)")
        if first:
            record(f"{label}_first_call_s", seconds=first["wall_s"])


# -- several GPUs (issue 13) -----------------------------------------------------------------


def suite_parallel(args) -> None:
    """Latency of one poster with its work split over a process group, launched by torchrun
    (`torchrun --nproc-per-node N bench/gpu_bench.py parallel --parallel cfg ...`): every rank
    builds the same random weights (same seed), the pipeline as the app builds it (resident,
    regional compile) with the group (core/render/parallel.py), pays the compile in the
    worker's warm-up, then rank 0 draws whole posters while the others follow. Without
    torchrun (or with --parallel none) it is the one-GPU reference, timed the same way."""
    from core.render.generate import generate
    from core.render.parallel import ParallelLayout, follow, join_group, leave_group, send_job
    from core.render.pipeline import build_pipeline, warm_up

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    group = None
    if args.parallel != "none":
        kind = "cpu" if TINY else "cuda"
        devices = tuple("cpu" if TINY else f"cuda:{index}" for index in range(world))
        layout = ParallelLayout(args.parallel, devices)
        group = join_group(layout, rank, os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
        record("group", mode=layout.mode, world_size=world, ulysses_degree=layout.ulysses_degree, device=kind)
    elif world != 1:
        raise SystemExit("--parallel none is the one-GPU reference: run it without torchrun")
    components = build_components()
    device = "cpu" if TINY else "cuda"
    start = time.perf_counter()
    pipe = build_pipeline(components, device, strategy=notebook_placement(), compile=not TINY, parallel=group)
    record("build_pipeline", seconds=round(time.perf_counter() - start, 1), label=pipe.studio_setup.label)
    del components
    if group is not None and not group.is_leader:
        follow(pipe, group, generate)  # warm-up and posters, until rank 0 says stop
        leave_group()
        return
    start = time.perf_counter()
    warm_up(pipe, sizes=(SQUARE,), steps=2)  # the worker's warm-up: pays the compile on every rank
    sync()
    record("warm_up", seconds=round(time.perf_counter() - start, 1))
    tag = f"{args.parallel}_{world}gpu" if group is not None else "single_1gpu"
    steps = 3 if TINY else 50
    for index in range(args.posters):
        run_generation(pipe, f"latency_{tag}_1328_cfg4_{steps}steps_{index + 1}", SQUARE, steps, 4.0,
                       mode=args.parallel, world_size=world)
    if group is not None:
        send_job(group, None)
        leave_group()


def throughput_worker(index: int, devices: int, posters: int, barrier, results) -> None:
    """One independent worker on its own GPU: its own pipeline (resident, compiled), its
    warm-up, then `posters` posters back to back, started with the others at a barrier."""
    from core.render.generate import generate
    from core.render.pipeline import build_pipeline, warm_up

    if on_gpu():
        torch.cuda.set_device(index % devices)
    components = build_components()
    pipe = build_pipeline(components, "cpu" if TINY else "cuda", strategy=notebook_placement(), compile=not TINY)
    del components
    warm_up(pipe, sizes=(SQUARE,), steps=2)
    req = request(pipe.tokenizer, SQUARE, 3 if TINY else 50, 4.0, seed=index)
    barrier.wait()
    times = []
    for _ in range(posters):
        start = time.time()
        generate(pipe, req, check_output=False)
        times.append((start, time.time()))
    results.put((index, times))


def suite_throughput(args) -> None:
    """Posters per minute with N independent worker processes, one per GPU (how the studio
    scales today: one `core.queue.worker` or Celery worker per card). Each process draws
    through `core.render.generate.generate`, what a worker runs per job; the queue's own work
    per job (a claim, a progress write a step, the PNG) is milliseconds and left out."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # CUDA cannot cross a fork
    for workers in args.workers:
        devices = 1 if TINY else torch.cuda.device_count()
        if not TINY and workers > devices:
            record(f"throughput_{workers}_workers", ok=False, error=f"only {devices} GPUs")
            continue
        barrier = context.Barrier(workers)
        results = context.Queue()
        processes = [
            context.Process(target=_throughput_child, args=(TINY, index, devices, args.posters, barrier, results))
            for index in range(workers)
        ]
        for process in processes:
            process.start()
        spans = [results.get(timeout=3600) for _ in processes]
        for process in processes:
            process.join()
        starts = [times[0][0] for _, times in spans]
        ends = [times[-1][1] for _, times in spans]
        wall = max(ends) - min(starts)
        per_poster = [end - start for _, times in spans for start, end in times]
        record(f"throughput_{workers}_workers", ok=True, workers=workers, posters=workers * args.posters,
               wall_s=round(wall, 2), posters_per_minute=round(workers * args.posters / wall * 60, 2),
               poster_median_s=round(statistics.median(per_poster), 2), steps=3 if TINY else 50)


def _throughput_child(tiny: bool, index: int, devices: int, posters: int, barrier, results) -> None:
    # A spawned process starts from a fresh import of this module: carry --tiny over.
    global TINY, SQUARE, WIDE
    TINY = tiny
    if TINY:
        SQUARE, WIDE = (128, 128), (160, 96)
    throughput_worker(index, devices, posters, barrier, results)


def print_table(out: Path) -> None:
    rows = [json.loads(line) for line in open(out / "results.jsonl")]
    for row in rows:
        keys = ("ok", "wall_s", "step_median_s", "encode_s", "decode_s", "peak_gib", "poster_s", "seconds",
                "load_s", "generate_s", "rel_l2", "psnr_db", "strategy", "error")
        shown = " ".join(f"{k}={row[k]}" for k in keys if row.get(k) is not None)
        print(f"{row['suite']:7s} {row['name']:50s} {shown}")


def main() -> None:
    global OUT, SUITE, TINY, SQUARE, WIDE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["speed", "startup", "profile", "memory", "nf4", "callback", "batched", "brief", "fp8",
                                          "preview", "parallel", "throughput", "table", "versions"])
    parser.add_argument("--parallel", default="none", choices=["none", "cfg", "cfg+ulysses"],
                        help="parallel suite: how the torchrun ranks split each poster")
    parser.add_argument("--posters", type=int, default=2, help="parallel/throughput suites: posters per process")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4],
                        help="throughput suite: numbers of independent worker processes, one GPU each")
    parser.add_argument("--cudagraphs", action="store_true", help="callback suite: compile with CUDA graphs instead")
    parser.add_argument("--out", default=os.environ.get("OUT", "bench/results"))
    parser.add_argument("--tiny", action="store_true", help="demo-size models on CPU, to test this script")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds after which optional runs are skipped")
    parser.add_argument("--cap", type=float, default=80.0, help="memory suite: GPU memory cap in GiB")
    parser.add_argument("--strategy", default="auto", help="memory suite: auto or a strategy name")
    parser.add_argument("--resident-blocks", type=int, default=None)
    parser.add_argument("--no-batched-cfg", action="store_true")
    parser.add_argument("--compile", action="store_true", help="memory suite: also time with compile")
    parser.add_argument("--wide", action="store_true", help="memory suite: also 1664x928")
    parser.add_argument("--full", action="store_true", help="memory suite: one whole 50-step poster, compiled")
    parser.add_argument("--vl-dir", default="/tmp/bench_vl3b")
    parser.add_argument("--qi-dir", default="/tmp/bench_qwen_image", help="nf4 suite: where the transformer is saved")
    parser.add_argument("--nf4-static", action="store_true")
    parser.add_argument("--skip-nf4", action="store_true", help="brief suite: skip the original notebook's NF4 run")
    parser.add_argument("--compare-generate", action="store_true",
                        help="brief suite: also the previous fast mode (HF generate, static cache)")
    parser.add_argument("--nf4-own-loop", action="store_true", help="brief suite: NF4 through the own decode loop")
    parser.add_argument("--cfg-off", action="store_true", help="memory suite: also steps without CFG")
    parser.add_argument("--fp8-keep-mlp", action="store_true")
    parser.add_argument("--every", type=int, default=5, help="preview suite: a preview every N steps")
    args = parser.parse_args()

    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    SUITE = args.suite
    TINY = args.tiny
    if TINY:
        SQUARE, WIDE = (128, 128), (160, 96)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.suite == "table":
        print_table(OUT)
        return
    record("versions", **versions(), argv=sys.argv[1:])
    if args.suite == "versions":
        return
    suites = {"speed": suite_speed, "startup": suite_startup, "profile": suite_profile, "memory": suite_memory, "nf4": suite_nf4, "callback": suite_callback, "batched": suite_batched,
              "brief": suite_brief,
              "fp8": suite_fp8, "preview": suite_preview, "parallel": suite_parallel, "throughput": suite_throughput}
    try:
        suites[args.suite](args)
    except Exception as error:
        traceback.print_exc()
        record("suite_failed", ok=False, error=f"{type(error).__name__}: {str(error)[:500]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
