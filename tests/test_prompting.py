from dataclasses import replace

import pytest

from core.prompt.builder import (
    BUILDER_VERSION,
    DEFAULT_NEGATIVE_PROMPT,
    OFFICIAL_NEGATIVE_PROMPT,
    ProductFields,
    PromptInputs,
    PromptTooLongError,
    build_prompt,
    plan_sequence_length,
    quote_exact,
    split_benefits,
)

PRODUCT = ProductFields(
    name="Aurora Headphones",
    description="Over-ear, noise cancelling",
    offer="SUMMER SALE",
    price="$199",
    cta="Shop now",
    benefits=("40-hour battery", "Hi-Res audio"),
)
INPUTS = PromptInputs(product=PRODUCT, tone="Bold", style_keywords="neon, gradient", preset_label="Instagram post", aspect="1:1")


def test_same_inputs_give_byte_identical_prompts():
    first = build_prompt(INPUTS)
    second = build_prompt(PromptInputs(**{**INPUTS.__dict__}))
    assert first.prompt.encode() == second.prompt.encode()
    assert first.negative_prompt == second.negative_prompt
    assert first.builder_version == BUILDER_VERSION


def test_any_field_change_changes_the_prompt():
    base = build_prompt(INPUTS).prompt
    assert build_prompt(replace(INPUTS, tone="Minimal")).prompt != base
    assert build_prompt(replace(INPUTS, product=replace(PRODUCT, price="$198"))).prompt != base


def test_every_displayed_string_is_quoted_and_marked_exact():
    prompt = build_prompt(INPUTS).prompt
    for text in ["Aurora Headphones", "SUMMER SALE", "$199", "Shop now", "40-hour battery", "Hi-Res audio"]:
        assert f'"{text}"' in prompt
    assert "exactly as written" in prompt
    assert prompt.rstrip().endswith("No other text, letters, numbers, logos or watermarks appear anywhere on the poster.")


def test_hidden_name_is_not_quoted():
    built = build_prompt(replace(INPUTS, product=replace(PRODUCT, show_name=False)))
    assert '"Aurora Headphones"' not in built.prompt
    assert [s.role for s in built.exact_strings] == ["offer", "price", "benefit", "benefit", "cta"]


def test_quotes_inside_user_text_cannot_break_the_quoting():
    assert quote_exact('The "best" deal') == '"The “best” deal"'
    built = build_prompt(replace(INPUTS, product=replace(PRODUCT, offer='Say "hi"\nnow')))
    line = [l for l in built.prompt.splitlines() if l.startswith("- headline:")][0]
    assert line.count('"') == 2  # only the outer pair
    assert "“hi”" in line and "\n" not in line.split(":", 1)[1].strip()


def test_chinese_prompt_and_strings():
    built = build_prompt(
        replace(INPUTS, language="zh", product=replace(PRODUCT, offer="限时特惠", cta="立即购买"))
    )
    assert '"限时特惠"' in built.prompt and '"立即购买"' in built.prompt
    assert built.prompt.rstrip().endswith("海报上不出现任何其他文字、字母、数字、标志或水印。")
    assert built.warnings == []


def test_other_scripts_get_a_warning():
    built = build_prompt(replace(INPUTS, product=replace(PRODUCT, offer="РАСПРОДАЖА")))
    assert any("CYRILLIC" in w for w in built.warnings)


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="Language"):
        build_prompt(replace(INPUTS, language="fr"))


def test_default_negative_prompt_has_official_and_notebook_terms():
    assert DEFAULT_NEGATIVE_PROMPT.startswith(OFFICIAL_NEGATIVE_PROMPT)
    for term in ["blurry", "distorted text", "misspellings", "gibberish letters", "watermark"]:
        assert term in DEFAULT_NEGATIVE_PROMPT


def test_benefits_split_one_per_line():
    assert split_benefits("- 40h battery\n\n* Hi-Res\n2) USB-C  charging ") == ("40h battery", "Hi-Res", "USB-C charging")


def test_token_guard_raises_the_limit_and_refuses_beyond_1024():
    assert plan_sequence_length(512).max_sequence_length == 512
    assert plan_sequence_length(512).message is None
    raised = plan_sequence_length(700)
    assert raised.max_sequence_length == 1024 and "700" in raised.message
    with pytest.raises(PromptTooLongError, match="1025"):
        plan_sequence_length(1025)
