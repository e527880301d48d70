"""The full brief call on the demo Qwen2.5-VL, with the real processor, chat template and
qwen_vl_utils.process_vision_info, 4-bit through bitsandbytes on CPU."""

import gc
import weakref

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from core.brief.runtime import VLHolder, decode_new_tokens, load_vl, run_brief
from core.brief.prompt import build_brief_messages, prompt_sentences
from core.brief.sections import SECTION_KEYS
from storage.models import Brief, Draft


def draft_image():
    image = Image.new("RGB", (640, 480), (20, 40, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 400, 160), fill=(250, 200, 30))
    draw.text((60, 80), "SUMMER SALE", fill=(0, 0, 0))
    return image


@pytest.fixture(scope="module")
def vl_path(demo_models_dir):
    return str(demo_models_dir / "qwen-vl-demo")


def test_demo_vl_loads_4bit_through_bitsandbytes(vl_path):
    import bitsandbytes as bnb

    loaded = load_vl(vl_path, "cpu")
    layer = loaded.model.model.language_model.layers[0]
    assert isinstance(layer.mlp.gate_proj, bnb.nn.Linear4bit)
    assert layer.mlp.gate_proj.weight.quant_type == "nf4"


def test_brief_call_stores_seven_sections_and_frees_the_model(studio, monkeypatch):
    stages = []
    refs = []

    def loader(path, device):
        loaded = load_vl(path, device)
        refs.append(weakref.ref(loaded.model))
        return loaded

    # The real load_vl, wrapped only to keep a weak reference to the model it returns.
    from core.brief import runtime as brief_module

    monkeypatch.setattr(brief_module, "load_vl", loader)
    record = studio.write_brief(
        draft_image(), "draft.png", "en", 'Make the "price" bigger', on_stage=stages.append, max_new_tokens=48
    )

    gc.collect()
    assert refs and refs[0]() is None, "the VL model must be freed after the brief"
    assert stages[0].startswith("Loading") and "Freeing memory" in stages

    with studio.db.session() as session:
        row = session.get(Brief, record.id)
        assert set(row.sections) == set(SECTION_KEYS)
        # random weights write no headings: every section is flagged, none silently dropped
        assert sorted(row.missing) == sorted(SECTION_KEYS)
        assert row.truncated is True  # random tokens never hit EOS within 48
        assert row.timings["new_tokens"] == 48
        assert row.notes == 'Make the "price" bigger'
        assert row.model_id.startswith("demo/qwen-vl-demo")
        assert "before" in row.memory and "after" in row.memory and "freed" in row.memory
        draft = session.get(Draft, row.draft_id)
        assert studio.store.exists(draft.path)

    for sentence in prompt_sentences("en"):
        assert sentence not in record.raw_text


def test_same_draft_twice_is_one_draft_row(studio):
    first = studio.write_brief(draft_image(), "a.png", "en", "", max_new_tokens=4)
    second = studio.write_brief(draft_image(), "b.png", "zh", "", max_new_tokens=4)
    assert first.draft_id == second.draft_id and first.id != second.id
    with studio.db.session() as session:
        assert session.scalar(select(func.count(Draft.id))) == 1


def test_only_new_tokens_are_decoded(vl_path):
    """The original notebook decoded the whole sequence, so its brief began with its own prompt."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(vl_path)
    messages = build_brief_messages(draft_image(), language="en", notes="")
    prompt_text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = processor.tokenizer(prompt_text).input_ids
    answer_ids = processor.tokenizer("Layout:\n- Two-column grid").input_ids
    end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    sequence = prompt_ids + answer_ids + [end]

    text, count, truncated = decode_new_tokens(processor, sequence, len(prompt_ids), 1024, {end})
    assert text == "Layout:\n- Two-column grid"
    assert count == len(answer_ids) + 1 and truncated is False
    # the check can fail: decoding from 0 would leak the prompt's sentences
    leaked, _, _ = decode_new_tokens(processor, sequence, 0, 1024, {end})
    assert any(sentence in leaked for sentence in prompt_sentences("en"))

    _, _, cut = decode_new_tokens(processor, prompt_ids + answer_ids, len(prompt_ids), len(answer_ids), {end})
    assert cut is True


def test_keep_warm_holder_reuses_the_model(vl_path):
    holder = VLHolder()
    first = run_brief(vl_path, "demo", draft_image(), "cpu", max_new_tokens=4, holder=holder)
    model = holder.loaded.model
    second = run_brief(vl_path, "demo", draft_image(), "cpu", max_new_tokens=4, holder=holder)
    assert holder.loaded.model is model
    assert first.timings["load_s"] > 0 and second.timings["load_s"] == 0.0
