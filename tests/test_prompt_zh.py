"""A Chinese prompt names its mood in Chinese, not in the English tone words."""

import re

from core.prompt.builder import TONES, ProductFields, PromptInputs, build_prompt


def test_chinese_prompt_has_no_english_tone_words():
    for tone in TONES:
        built = build_prompt(
            PromptInputs(product=ProductFields(name="极光耳机", offer="夏季特惠"), tone=tone, language="zh")
        )
        mood = next(line for line in built.prompt.splitlines() if line.startswith("氛围："))
        assert not re.search(r"[A-Za-z]", mood), mood
    english = build_prompt(PromptInputs(product=ProductFields(name="Aurora"), tone="Premium", language="en"))
    assert "Mood: premium and elegant" in english.prompt  # English prompts keep their words
