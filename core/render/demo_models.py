"""Tiny random-weight checkpoints of the real Qwen-Image and Qwen2.5-VL classes.

No model weights can be downloaded on the build, test and CI machines. So the project
builds the *real* classes (`QwenImageTransformer2DModel`, `AutoencoderKLQwenImage`,
`FlowMatchEulerDiscreteScheduler`, `Qwen2_5_VLForConditionalGeneration`, `Qwen2Tokenizer`,
`Qwen2_5_VLProcessor`) at toy sizes, saves them with `save_pretrained`, and the app loads
them through exactly the same `from_pretrained` code that loads `Qwen/Qwen-Image-2512`.

Their outputs are noise. The UI says so whenever they are in use.

Build them by hand with:

    python -m core.render.demo_models --out data/demo_models
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

# Bump when the demo architecture changes, so stale folders are rebuilt.
# v3: the image model folder carries its fitted live-preview projection.
DEMO_VERSION = "demo-v3"
# The live preview's projection is fitted on the demo VAE while it is built: few, small
# images keep that near 1 s on two CPU cores (a 4-channel map has only 15 numbers to fit).
PREVIEW_FIT_IMAGES = 8
PREVIEW_FIT_SIZE = 64

IMAGE_SUBDIR = "qwen-image-demo"
VL_SUBDIR = "qwen-vl-demo"

# Sizes chosen so that bitsandbytes 4-bit works on CPU: every quantized Linear needs
# in_features % 64 == 0 and out_features % 32 == 0.
TEXT_HIDDEN = 128
TEXT_INTERMEDIATE = 256
TEXT_HEADS = 4  # head_dim 32
TEXT_KV_HEADS = 2
VISION_HIDDEN = 64
VISION_INTERMEDIATE = 128
VOCAB_SIZE = 4096  # multiple of 32 for the same reason (lm_head)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# The Qwen2.5-VL chat template, written for this project: system turn (default one added
# when missing), user turns with images/videos as vision_start/pad/vision_end runs, and the
# assistant generation prompt.
CHAT_TEMPLATE = (
    "{%- set image_count = namespace(value=0) -%}"
    "{%- if messages[0]['role'] != 'system' -%}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "<|im_start|>{{ message['role'] }}\n"
    "{%- if message['content'] is string -%}"
    "{{ message['content'] }}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' or 'image' in part or 'image_url' in part -%}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif part['type'] == 'video' or 'video' in part -%}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{%- elif 'text' in part -%}"
    "{{ part['text'] }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "<|im_end|>\n"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "<|im_start|>assistant\n"
    "{%- endif -%}"
)

# A small corpus for the demo tokenizer's BPE merges. A pure byte-level vocabulary would
# count every byte as a token and trip the 512-token prompt guard on ordinary prompts;
# with a few thousand merges the demo counts land near the real Qwen tokenizer's.
_CORPUS = """
Describe the image by detailing the color, shape, size, texture, quantity, text, spatial
relationships of the objects and background. A professional marketing poster for a product,
premium elegant luxurious refined lighting, minimal clean generous white space, bold
high-contrast energetic large typography, playful colorful friendly rounded shapes, futuristic
tech sleek neon accents dark background. The headline reads exactly, the price reads exactly,
the call-to-action button reads exactly, benefits rendered exactly as written. Text on the
poster, rendered exactly as written, each string once. No other text, letters, numbers, logos
or watermarks appear anywhere on the poster. Layout, style, color palette, typography, keep,
improve, notes. Composition grid margins hierarchy spacing alignment contrast balance focal
point product photography studio lighting soft shadows gradient background vibrant saturated
pastel warm cool tones serif sans-serif geometric condensed headline subheadline body copy
button label badge sticker discount sale offer limited time free shipping new arrival summer
winter spring autumn holiday black friday cyber monday shop now buy now order today learn more
blurry, distorted text, misspellings, gibberish letters, watermark, low resolution, low quality,
deformed, oversaturated, wax-like, overly smooth, chaotic composition. Instagram story web
banner slide poster square portrait landscape vertical horizontal.
"""


def build_tokenizer(corpus: str = _CORPUS):
    """A byte-level BPE `Qwen2Tokenizer` with Qwen's special tokens and chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX
    from tokenizers import Regex

    trainer_tokenizer = Tokenizer(models.BPE())
    # The same pre-tokenization Qwen2Tokenizer applies, so the learned merges are valid for it.
    trainer_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(SPECIAL_TOKENS),
        min_frequency=1,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Repeating the corpus changes nothing about which merges exist, only their counts;
    # lines are fed in a fixed order so the result is deterministic.
    lines = [line for line in corpus.strip().splitlines() if line.strip()]
    trainer_tokenizer.train_from_iterator(lines, trainer=trainer)
    model_state = json.loads(trainer_tokenizer.to_str())["model"]
    vocab: dict[str, int] = dict(model_state["vocab"])
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model_state["merges"]]

    next_id = max(vocab.values()) + 1
    for token in SPECIAL_TOKENS:
        vocab[token] = next_id
        next_id += 1

    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        errors="replace",
        model_max_length=32768,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_vl_model(tokenizer) -> "torch.nn.Module":
    """A tiny `Qwen2_5_VLForConditionalGeneration` with the real layout (vision tower,
    windowed attention, patch merger, M-RoPE) and random weights."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": VOCAB_SIZE,
            "hidden_size": TEXT_HIDDEN,
            "intermediate_size": TEXT_INTERMEDIATE,
            "num_hidden_layers": 2,
            "num_attention_heads": TEXT_HEADS,
            "num_key_value_heads": TEXT_KV_HEADS,
            "max_position_embeddings": 32768,
            "rope_parameters": {"rope_type": "default", "mrope_section": [4, 6, 6], "rope_theta": 1000000.0},
            "tie_word_embeddings": True,
            "bos_token_id": ids("<|endoftext|>"),
            "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>"),
        },
        vision_config={
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_INTERMEDIATE,
            "num_heads": 2,
            "out_hidden_size": TEXT_HIDDEN,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": [1],
        },
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = [ids("<|im_end|>"), ids("<|endoftext|>")]
    model.generation_config.pad_token_id = ids("<|endoftext|>")
    return model


def build_vl_processor(tokenizer):
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2)
    video_processor = Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2)
    return Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )


def build_image_components():
    """Tiny transformer, VAE and scheduler with the real classes and the real VAE layout
    (8x spatial downsampling, so every generation size is the same as with the real model)."""
    from diffusers import AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageTransformer2DModel

    z_dim = 4
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=z_dim * 4,
        out_channels=z_dim,
        num_layers=2,
        attention_head_dim=32,
        num_attention_heads=2,
        joint_attention_dim=TEXT_HIDDEN,
        guidance_embeds=False,
        axes_dims_rope=(8, 12, 12),
    )
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage(
        # Narrow channels keep a tiled 1328x1328 decode near 3.5 s on two CPU cores.
        base_dim=4,
        z_dim=z_dim,
        dim_mult=[1, 1, 2, 2],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
    )
    # Random init decodes to an almost flat grey, which looks like a broken app. Louder
    # output weights make the demo's noise visibly noise (the UI says what it is).
    with torch.no_grad():
        vae.decoder.conv_out.weight.mul_(6.0)
    # The real Qwen-Image scheduler settings (dynamic shifting on image sequence length).
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256,
        base_shift=0.5,
        max_image_seq_len=8192,
        max_shift=0.9,
        num_train_timesteps=1000,
        shift=1.0,
        use_dynamic_shifting=True,
        time_shift_type="exponential",
    )
    return transformer, vae, scheduler


def _write_atomically(target: Path, write) -> None:
    """Build into a temp folder beside `target`, then rename: a crash never leaves half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(tmp)
        (tmp / "DEMO_VERSION").write_text(DEMO_VERSION)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def build_demo_models(out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Build both demo checkpoints into `out_dir`. Returns (image_model_dir, vl_model_dir)."""
    from diffusers import QwenImagePipeline

    out = Path(out_dir)
    tokenizer = build_tokenizer()
    vl_model = build_vl_model(tokenizer)
    transformer, vae, scheduler = build_image_components()

    def write_image(folder: Path) -> None:
        pipe = QwenImagePipeline(
            scheduler=scheduler, vae=vae, text_encoder=vl_model, tokenizer=tokenizer, transformer=transformer
        )
        pipe.save_pretrained(folder)
        # No published projection fits a random 4-channel VAE: fit its own, beside it, where
        # core/render/preview.py `resolve_projection` looks first.
        from core.render.preview import PROJECTION_FILENAME, save_projection
        from core.render.preview_fit import fit_vae

        report = fit_vae(vae.eval(), source=f"least-squares fit on the demo VAE ({DEMO_VERSION})",
                         images=PREVIEW_FIT_IMAGES, size=PREVIEW_FIT_SIZE)
        save_projection(report.projection, folder / PROJECTION_FILENAME, {"fit": report.as_dict()})

    def write_vl(folder: Path) -> None:
        vl_model.save_pretrained(folder)
        build_vl_processor(tokenizer).save_pretrained(folder)

    _write_atomically(out / IMAGE_SUBDIR, write_image)
    _write_atomically(out / VL_SUBDIR, write_vl)
    return out / IMAGE_SUBDIR, out / VL_SUBDIR


def is_built(out_dir: str | os.PathLike) -> bool:
    out = Path(out_dir)
    for sub in (IMAGE_SUBDIR, VL_SUBDIR):
        marker = out / sub / "DEMO_VERSION"
        if not marker.exists() or marker.read_text().strip() != DEMO_VERSION:
            return False
    return True


def ensure_demo_models(out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Build the demo checkpoints on first use; later calls reuse the folder."""
    from filelock import FileLock

    out = Path(out_dir)
    if not is_built(out):
        out.mkdir(parents=True, exist_ok=True)
        # Two server processes (or test workers) starting at once must not build over each other.
        with FileLock(str(out / ".build.lock")):
            if not is_built(out):
                build_demo_models(out)
    return out / IMAGE_SUBDIR, out / VL_SUBDIR


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the tiny random-weight demo checkpoints.")
    parser.add_argument("--out", default=None, help="output folder (default: <data dir>/demo_models)")
    args = parser.parse_args()
    if args.out is None:
        from core.settings import load_settings

        args.out = load_settings().demo_models_dir
    start = time.perf_counter()
    image_dir, vl_dir = build_demo_models(args.out)
    print(f"built {image_dir} and {vl_dir} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
