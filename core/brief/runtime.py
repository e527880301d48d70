"""The design brief: Qwen2.5-VL reads a draft and writes seven sections.

The VL model is loaded 4-bit (NF4, bf16 compute) for each brief and freed right after, so
it never competes with the warm Qwen-Image pipeline for GPU memory. A setting may keep it
warm on big GPUs (`VLHolder`).

Three defects of the original notebook are fixed here: only the *new* tokens are decoded
(its brief started with its own chat prompt), the token budget fits all seven sections (it
stopped at 220), and a brief cut off by that budget is detected and marked truncated.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import psutil
import torch
from PIL import Image

from core.brief.decode import static_greedy_decode
from core.brief.prompt import BRIEF_PROMPT_VERSION, build_brief_messages
from core.brief.sections import ParsedBrief, parse_brief
from core.render.memory import GIB
from core.settings import BRIEF_MODES

DEFAULT_MAX_NEW_TOKENS = 1024  # seven concrete sections run 400-800 tokens; 1024 leaves headroom
# The demo VL model writes random tokens until the limit (~45 ms a token on two CPU cores),
# so demo briefs stop at 256 and come back marked truncated rather than after a minute.
DEMO_MAX_NEW_TOKENS = 256

# Stages reported to the UI, in order.
STAGE_LOADING = "Loading the model (4-bit)"
STAGE_LOADING_FAST = "Loading the model (bf16, fast mode)"
STAGE_WAITING_FOR_COMPILE = "Waiting for the fast brief's one-time compile at start (about 40 s)"
STAGE_READING = "Reading the draft"
STAGE_WRITING = "Writing the brief"
STAGE_PARSING = "Parsing the seven sections"
STAGE_FREEING = "Freeing memory"


@dataclass
class BriefResult:
    raw_text: str
    parsed: ParsedBrief
    truncated: bool
    new_tokens: int
    prompt_tokens: int
    model_id: str
    language: str
    prompt_version: str = BRIEF_PROMPT_VERSION
    timings: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)


@dataclass
class LoadedVL:
    model: object
    processor: object
    quantized: bool


class VLHolder:
    """Keeps one loaded VL model between briefs when the user asked for it (big GPUs).
    Without it, every brief loads and frees its own copy."""

    def __init__(self) -> None:
        self.loaded: LoadedVL | None = None
        self.lock = threading.Lock()


def quantization_config():
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def load_vl(model: str, device: str, quantize: bool = True) -> LoadedVL:
    """`from_pretrained` for the hub id, a local folder or the demo checkpoint alike."""
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    kwargs: dict = {"dtype": torch.bfloat16}
    if quantize:
        kwargs["quantization_config"] = quantization_config()
    # Loading straight onto the device skips a full copy of the weights in host memory.
    kwargs["device_map"] = {"": 0} if device == "cuda" else {"": "cpu"}
    vl_model = Qwen2_5_VLForConditionalGeneration.from_pretrained(model, **kwargs)
    vl_model.eval()
    processor = AutoProcessor.from_pretrained(model)
    return LoadedVL(model=vl_model, processor=processor, quantized=quantize)


STATIC_DECODER = "static_greedy"
REPETITION_PENALTY = 1.05

# How the brief model runs. "nf4" is the original notebook's 4-bit transient load: 2.7 GiB
# peak, but about 17.5 s for 400 tokens on an H100 (35 s with HF generate), because every
# token pays the 4-bit layers' per-call overhead. "fast" loads bf16 (7.3 GiB peak) and decodes
# with a static KV cache and a compiled one-token step (`core.brief.decode`): a few seconds
# per brief once the process has paid the first compile (BENCHMARKS.md, "Fast brief").
FAST_BRIEF_MIN_FREE_GIB = 9.0  # 7.3 GiB measured peak plus room for the compile's workspaces


def choose_brief_mode(device: str, room_bytes: int | None, requested: str = "auto") -> tuple[str, str]:
    """(mode, reason). `room_bytes` is the GPU memory left once the image pipeline is at its
    planned peak (core.render.plan.brief_room_bytes); None where that is unknown. "auto", the
    default, takes the fast mode where a bf16 copy fits in that room, so the brief model never
    crowds out the image model, and the 4-bit model where it does not."""
    if requested in BRIEF_MODES:
        return requested, "chosen by the STUDIO_BRIEF_MODE setting"
    if requested != "auto":
        raise ValueError(f"STUDIO_BRIEF_MODE must be auto or one of {BRIEF_MODES}, not {requested!r}")
    if device != "cuda":
        return "nf4", "no GPU: the 4-bit model is the smallest"
    if room_bytes is not None and room_bytes / GIB < FAST_BRIEF_MIN_FREE_GIB:
        return "nf4", (
            f"only {max(room_bytes, 0) / GIB:.1f} GiB stay free beside the image model at its peak; "
            f"the fast bf16 brief needs about {FAST_BRIEF_MIN_FREE_GIB:.0f}"
        )
    if room_bytes is None:
        return "fast", "bf16 with a compiled static-cache decode (the image model's peak is not planned here)"
    return "fast", (
        f"{room_bytes / GIB:.0f} GiB stay free beside the image model at its peak: room for the bf16 brief "
        f"with a compiled static-cache decode (about {FAST_BRIEF_MIN_FREE_GIB:.0f} GiB)"
    )


def wants_brief_warm_up(device: str, demo: bool, mode: str) -> bool:
    """Whether the studio should pay the fast brief's compile at start (a GPU, real models,
    and the fast mode chosen): the first fast brief in a process otherwise waits ~40 s for
    it (BENCHMARKS.md)."""
    return device == "cuda" and not demo and mode == "fast"


WARM_UP_DRAFT_SIZE = (1024, 1024)
WARM_UP_TOKENS = 4  # the compiled step is the same for any token count; a few run it


def loading_stage(mode: str) -> str:
    return STAGE_LOADING_FAST if mode == "fast" else STAGE_LOADING


def brief_loader(mode: str) -> Callable[[str, str], LoadedVL]:
    if mode == "fast":
        return lambda path, device: load_vl(path, device, quantize=False)
    return lambda path, device: load_vl(path, device)  # 4-bit NF4


def brief_generation(mode: str, device: str) -> dict:
    """Decoding options for a mode. Every mode decodes with the studio's own static-cache
    loop (`core.brief.decode`): the same tokens as `generate`, without its host sync per
    token. The fast mode on a GPU also compiles the one-token step; the 4-bit layers break
    a compiled graph, so NF4 (and any CPU run) runs the loop eagerly. On an H100 that alone
    took the NF4 brief from 35.2 s to 17.5 s (BENCHMARKS.md)."""
    return {"decoder": STATIC_DECODER, "compile": mode == "fast" and device == "cuda"}


def memory_snapshot() -> dict:
    snapshot = {"process_rss_gib": round(psutil.Process(os.getpid()).memory_info().rss / GIB, 3)}
    if torch.cuda.is_available():
        snapshot["gpu_allocated_gib"] = round(torch.cuda.memory_allocated() / GIB, 3)
        snapshot["gpu_reserved_gib"] = round(torch.cuda.memory_reserved() / GIB, 3)
    return snapshot


def release_memory(trim_host: bool = True) -> dict:
    """Give freed memory back: Python objects, the CUDA caching allocator, and glibc's heap
    (which otherwise keeps the freed model pages and the process RSS stays high). A model
    loaded straight onto the GPU leaves little on the host heap, so callers may skip the
    trim there. Returns how long each part took."""
    timings = {}
    start = time.perf_counter()
    gc.collect()
    timings["gc_s"] = round(time.perf_counter() - start, 3)
    if torch.cuda.is_available():
        start = time.perf_counter()
        torch.cuda.empty_cache()
        timings["cuda_s"] = round(time.perf_counter() - start, 3)
    if trim_host:
        start = time.perf_counter()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass  # not glibc (macOS, musl): nothing to trim
        timings["trim_s"] = round(time.perf_counter() - start, 3)
    return timings


def write_brief(
    loaded: LoadedVL,
    image: Image.Image,
    language: str,
    notes: str,
    max_new_tokens: int,
    on_stage: Callable[[str], None],
    generation: dict | None = None,
) -> tuple[str, int, int, bool, dict]:
    """Chat template -> vision inputs -> generate -> decode the new tokens only.
    `generation` picks the decoder (`brief_generation`) and adds its options (the
    benchmark's fixed token count)."""
    from qwen_vl_utils import process_vision_info

    timings = {}
    start = time.perf_counter()
    on_stage(STAGE_READING)
    messages = build_brief_messages(image, language=language, notes=notes)
    text = loaded.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    image_inputs, video_inputs = process_vision_info(messages)
    inputs = loaded.processor(text=[text], images=image_inputs, videos=video_inputs, padding=True, return_tensors="pt")
    inputs = inputs.to(loaded.model.device)
    timings["prepare_s"] = round(time.perf_counter() - start, 3)

    on_stage(STAGE_WRITING)
    options = dict(generation or {})
    decoder = options.pop("decoder", "generate")
    eos_ids = loaded.model.generation_config.eos_token_id
    eos_ids = set(eos_ids if isinstance(eos_ids, (list, tuple)) else [eos_ids])
    start = time.perf_counter()
    with torch.inference_mode():
        if decoder == STATIC_DECODER:
            new_ids = static_greedy_decode(
                loaded.model,
                dict(inputs),
                eos_ids,
                max_new_tokens,
                repetition_penalty=REPETITION_PENALTY,
                min_new_tokens=options.pop("min_new_tokens", 0),
                compile=options.pop("compile", False),  # brief_generation says when it pays
            )
            output_ids = torch.cat([inputs["input_ids"][0], new_ids])[None]
        else:
            output_ids = loaded.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,  # a brief is a review, not a creative sample: same draft, same brief
                repetition_penalty=REPETITION_PENALTY,
                **options,
            )
    if loaded.model.device.type == "cuda":
        torch.cuda.synchronize()
    timings["generate_s"] = round(time.perf_counter() - start, 3)

    prompt_tokens = inputs["input_ids"].shape[1]
    raw_text, new_tokens, truncated = decode_new_tokens(
        loaded.processor, output_ids[0], prompt_tokens, max_new_tokens, eos_ids
    )
    return raw_text, new_tokens, int(prompt_tokens), truncated, timings


def decode_new_tokens(processor, sequence, prompt_tokens: int, max_new_tokens: int, eos_ids: set[int]):
    """`generate` returns the prompt followed by the answer; only the answer is the brief.
    It is truncated when it used the whole budget without the model ending it."""
    new_ids = sequence[prompt_tokens:]
    ended_by_model = len(new_ids) > 0 and int(new_ids[-1]) in eos_ids
    truncated = len(new_ids) >= max_new_tokens and not ended_by_model
    text = processor.decode(new_ids, skip_special_tokens=True).strip()
    return text, int(len(new_ids)), truncated


def run_brief(
    model: str,
    model_id: str,
    image: Image.Image,
    device: str,
    language: str = "en",
    notes: str = "",
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    on_stage: Callable[[str], None] | None = None,
    holder: VLHolder | None = None,
    loader: Callable[[str, str], LoadedVL] | None = None,
    generation: dict | None = None,
    loading_label: str = STAGE_LOADING,
) -> BriefResult:
    """Write one brief. Loads the VL model, runs it, and frees it again unless `holder`
    keeps it warm. Memory is measured before and after and returned with the result."""
    on_stage = on_stage or (lambda stage: None)
    loader = loader or (lambda path, dev: load_vl(path, dev))
    timings: dict = {}
    total_start = time.perf_counter()
    memory = {"before": memory_snapshot()}

    loaded = holder.loaded if holder is not None else None
    # A full gc.collect() over the server's heap took 0.5-0.7 s of every transient brief on
    # the H100 (BENCHMARKS.md). Freezing what exists before the load makes the collection
    # after the brief scan only what the brief created: the model and its reference cycles.
    frozen = holder is None
    if frozen:
        gc.freeze()
    try:
        return _run_brief_frozen(
            model, model_id, image, device, language, notes, max_new_tokens, on_stage, holder, loader, generation,
            loaded, timings, total_start, memory, loading_label,
        )
    finally:
        if frozen:
            # Back into the oldest generation; their garbage goes at the next full collection.
            gc.unfreeze()


def _run_brief_frozen(
    model, model_id, image, device, language, notes, max_new_tokens, on_stage, holder, loader, generation,
    loaded, timings, total_start, memory, loading_label,
) -> BriefResult:
    if loaded is None:
        on_stage(loading_label)
        start = time.perf_counter()
        loaded = loader(model, device)
        timings["load_s"] = round(time.perf_counter() - start, 3)
        if holder is not None:
            holder.loaded = loaded
    else:
        timings["load_s"] = 0.0
    memory["loaded"] = memory_snapshot()

    try:
        raw_text, new_tokens, prompt_tokens, truncated, step_timings = write_brief(
            loaded, image, language, notes, max_new_tokens, on_stage, generation
        )
        timings.update(step_timings)
    finally:
        if holder is None:
            on_stage(STAGE_FREEING)
            start = time.perf_counter()
            # Drop every reference, then release: the caller's weakref to the model dies here.
            on_gpu = device == "cuda"
            loaded.model = None
            loaded.processor = None
            del loaded
            timings["free_parts"] = release_memory(trim_host=not on_gpu)
            timings["free_s"] = round(time.perf_counter() - start, 3)

    on_stage(STAGE_PARSING)
    parsed = parse_brief(raw_text, language=language)
    memory["after"] = memory_snapshot()
    memory["freed"] = {
        key: round(memory["loaded"][key] - memory["after"][key], 3) for key in memory["after"] if key in memory["loaded"]
    }
    timings["total_s"] = round(time.perf_counter() - total_start, 3)
    return BriefResult(
        raw_text=raw_text,
        parsed=parsed,
        truncated=truncated,
        new_tokens=new_tokens,
        prompt_tokens=prompt_tokens,
        model_id=model_id,
        language=language,
        timings=timings,
        memory=memory,
    )
