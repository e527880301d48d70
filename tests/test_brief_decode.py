"""The fast brief's own decoding loop (`core.brief.decode`) against HF `generate`.

The demo VL's tiny init makes it repeat one token forever, which would make any two
decoders agree. These tests redraw its weights with a larger spread (in memory only), so
it writes a varied answer where a wrong position, a stale cache slot or a missed penalty
changes the tokens."""

import pytest
import torch
from PIL import Image, ImageDraw
from qwen_vl_utils import process_vision_info

from core.brief.runtime import STATIC_DECODER, LoadedVL, load_vl, run_brief
from core.brief.decode import static_greedy_decode
from core.brief.prompt import build_brief_messages

PENALTY = 1.05
TOKENS = 24


def draft_image():
    image = Image.new("RGB", (224, 168), (240, 230, 210))
    ImageDraw.Draw(image).rectangle((20, 20, 150, 80), fill=(200, 30, 40))
    return image


@pytest.fixture(scope="module")
def varied_vl(demo_models_dir):
    loaded = load_vl(str(demo_models_dir / "qwen-vl-demo"), "cpu", quantize=False)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in loaded.model.parameters():
            if parameter.dim() > 1:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.08)
        # The demo tokenizer knows 834 of the 4096 ids; the rest decode to nothing. Zero
        # logits for them keep the answer in ids that decode to text.
        loaded.model.lm_head.weight[len(loaded.processor.tokenizer):] = 0
    # In float32: the two loops compute the same logits through different attention paths
    # (a static cache against a growing one), and in bf16 their last-bit differences can flip
    # a near-tie in the argmax on one CPU and not on another. A wrong position, cache slot
    # or penalty changes the answer in any precision.
    loaded.model.to(torch.float32)
    return loaded


@pytest.fixture(scope="module")
def inputs(varied_vl):
    messages = build_brief_messages(draft_image(), language="en", notes="")
    text = varied_vl.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images, videos = process_vision_info(messages)
    return dict(varied_vl.processor(text=[text], images=images, videos=videos, padding=True, return_tensors="pt"))


def hf_tokens(loaded, inputs, **options) -> list[int]:
    with torch.inference_mode():
        output = loaded.model.generate(**inputs, do_sample=False, repetition_penalty=PENALTY, **options)
    return output[0, inputs["input_ids"].shape[1]:].tolist()


def own_tokens(loaded, inputs, eos_ids, max_new_tokens, **options) -> list[int]:
    with torch.inference_mode():
        return static_greedy_decode(
            loaded.model, inputs, eos_ids, max_new_tokens, repetition_penalty=options.pop("penalty", PENALTY),
            compile=False, **options,
        ).tolist()


def model_eos(loaded) -> set[int]:
    return set(loaded.model.generation_config.eos_token_id)


def test_same_tokens_as_generate(varied_vl, inputs):
    expected = hf_tokens(varied_vl, inputs, max_new_tokens=TOKENS)
    assert len(set(expected)) >= TOKENS // 2, "the redrawn model must write a varied answer"
    assert own_tokens(varied_vl, inputs, model_eos(varied_vl), TOKENS, check_every=7) == expected


def test_repetition_penalty_is_applied_like_generate(varied_vl, inputs):
    with_penalty = own_tokens(varied_vl, inputs, model_eos(varied_vl), TOKENS)
    without = own_tokens(varied_vl, inputs, model_eos(varied_vl), TOKENS, penalty=1.0)
    assert without != with_penalty  # the penalty changes this answer, so the first test checks it
    with torch.inference_mode():
        plain = varied_vl.model.generate(**inputs, do_sample=False, max_new_tokens=TOKENS)
    assert without == plain[0, inputs["input_ids"].shape[1]:].tolist()


def test_stops_at_the_first_end_token_between_checks(varied_vl, inputs):
    answer = hf_tokens(varied_vl, inputs, max_new_tokens=TOKENS)
    end = answer[9]
    first = answer.index(end)
    expected = hf_tokens(varied_vl, inputs, max_new_tokens=TOKENS, eos_token_id=[end])
    assert len(expected) == first + 1
    # checked every 4 tokens: the loop runs past the end token, then cuts the answer there
    assert own_tokens(varied_vl, inputs, {end}, TOKENS, check_every=4) == expected


def test_min_new_tokens_holds_back_the_end_token(varied_vl, inputs):
    answer = hf_tokens(varied_vl, inputs, max_new_tokens=TOKENS)
    end = answer[2]
    expected = hf_tokens(varied_vl, inputs, max_new_tokens=TOKENS, eos_token_id=[end], min_new_tokens=16)
    assert len(expected) > 16
    assert own_tokens(varied_vl, inputs, {end}, TOKENS, min_new_tokens=16) == expected


def test_run_brief_with_the_static_decoder_writes_the_generate_brief(varied_vl):
    def same_model(path, device):
        return LoadedVL(model=varied_vl.model, processor=varied_vl.processor, quantized=False)

    holder_free = dict(loader=same_model, max_new_tokens=TOKENS)
    reference = run_brief("demo", "demo", draft_image(), "cpu", **holder_free)
    fast = run_brief(
        "demo", "demo", draft_image(), "cpu", generation={"decoder": STATIC_DECODER, "compile": False}, **holder_free
    )
    assert fast.raw_text == reference.raw_text and fast.raw_text
    assert (fast.new_tokens, fast.truncated) == (reference.new_tokens, reference.truncated) == (TOKENS, True)


def test_cache_length_is_bucketed_so_drafts_of_any_size_share_one_compile():
    from core.brief.decode import CACHE_BUCKET, cache_length

    # a small draft and a 1024 px draft with the 1024-token budget: the same compiled shape
    assert cache_length(300, 1024) == cache_length(2000, 1024) == CACHE_BUCKET
    assert cache_length(CACHE_BUCKET - 1024, 1024) == CACHE_BUCKET
    assert cache_length(CACHE_BUCKET, 1) == 2 * CACHE_BUCKET
