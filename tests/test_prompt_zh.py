"""A Chinese prompt is Chinese: its mood, format, brand block and default negative prompt carry
no English words; only what the user typed stays as typed. English prompts are unchanged, and a
recipe from the previous builder keeps its prompt byte for byte."""

import io
import re
from dataclasses import replace

from PIL import Image

from core.prompt.brand import brand_block, validate_kit
from core.prompt.builder import (
    BUILDER_VERSION,
    DEFAULT_NEGATIVE_PROMPT,
    NEGATIVE_PROMPTS,
    OFFICIAL_NEGATIVE_PROMPT,
    TONES,
    ProductFields,
    PromptInputs,
    build_prompt,
    negative_prompt_text,
)
from core.prompt.presets import PRESETS, get_preset
from core.recipe import recall_notes, recipe_from_dict, recipe_to_dict
from core.services.export import embed_recipe, read_recipe
from tests.helpers import small_recipe

# Everything the user types, with Latin letters in it on purpose: these must survive as typed,
# and the check below must not mistake them for the template's words.
KIT = validate_kit(
    "Aurora Audio", "Midnight #101828\nAurora teal #14B8A6\n极光白 #F8FAFC", "Futura Bold, 思源黑体", "AURORA", "", "Tech",
)
PRODUCT = ProductFields(
    name="Aurora极光耳机",
    description="头戴式主动降噪，Bluetooth 5.3",
    offer="夏季特惠 SALE",
    price="¥1299",
    cta="立即购买",
    benefits=("40小时续航", "Hi-Res音质"),
)
STYLE = "柔和渐变, glassmorphism"
TYPED = [
    PRODUCT.name, PRODUCT.description, PRODUCT.offer, PRODUCT.price, PRODUCT.cta, *PRODUCT.benefits, STYLE,
    KIT.wordmark, KIT.fonts, *(color.name for color in KIT.colors), *(color.hex for color in KIT.colors),
]


def english_left(text: str, typed: list[str]) -> list[str]:
    """The runs of ASCII letters in `text` once every typed string (longest first) is cut out,
    and the official negative prompt, which is the model's published text ("AI感" included)."""
    for kept in sorted([*typed, OFFICIAL_NEGATIVE_PROMPT], key=len, reverse=True):
        text = text.replace(kept, " ")
    return re.findall(r"[A-Za-z]+", text)


def chinese(preset_key: str, product: ProductFields = PRODUCT):
    preset = get_preset(preset_key)
    block = brand_block(KIT.name, [c.as_dict() for c in KIT.colors], KIT.fonts, KIT.wordmark, language="zh")
    return build_prompt(
        PromptInputs(
            product=product, tone="Tech", style_keywords=STYLE, language="zh",
            preset_label=preset.label, aspect=preset.aspect, brand_block=block,
        )
    )


def test_the_check_finds_english_words():
    # The v2 prompt's leftovers, which the check must catch.
    assert english_left("画幅：Instagram post（1:1）。品牌：AURORA house style.", TYPED) == ["Instagram", "post", "house", "style"]
    assert english_left(DEFAULT_NEGATIVE_PROMPT, []) == ["blurry", "distorted", "text", "misspellings", "gibberish", "letters", "watermark"]


def test_chinese_prompt_has_no_english_tone_words():
    for tone in TONES:
        built = build_prompt(
            PromptInputs(product=ProductFields(name="极光耳机", offer="夏季特惠"), tone=tone, language="zh")
        )
        mood = next(line for line in built.prompt.splitlines() if line.startswith("氛围："))
        assert not re.search(r"[A-Za-z]", mood), mood
    english = build_prompt(PromptInputs(product=ProductFields(name="Aurora"), tone="Premium", language="en"))
    assert "Mood: premium and elegant" in english.prompt  # English prompts keep their words


def test_a_chinese_prompt_with_a_preset_a_kit_and_the_default_negative_has_no_english_words():
    nameless = replace(PRODUCT, name="", show_name=False)
    for key in PRESETS:
        for product in (PRODUCT, nameless):
            built = chinese(key, product)
            assert english_left(built.prompt, TYPED) == [], built.prompt
            assert english_left(built.negative_prompt, TYPED) == [], built.negative_prompt
            for typed in [*(s.text for s in built.exact_strings), STYLE, KIT.wordmark, KIT.fonts, "Aurora teal"]:
                assert typed in built.prompt  # user text stays as typed
    assert english_left(negative_prompt_text("default", "zh"), []) == []
    for key in NEGATIVE_PROMPTS:  # the other named ones read the same in both languages
        assert english_left(negative_prompt_text(key, "zh"), []) == []


def test_the_full_chinese_prompt():
    built = chinese("instagram_story")
    assert built.builder_version == BUILDER_VERSION == "prompt-v3"
    assert built.prompt == (
        "一张专业的Aurora极光耳机营销海报：头戴式主动降噪，Bluetooth 5.3。\n"
        "氛围：现代科技感，光滑的表面，利落的几何造型，细微的光效点缀。\n"
        "风格：柔和渐变, glassmorphism。\n"
        "画幅：社交媒体竖屏快拍或短视频封面（9:16），构图适配该画幅。\n"
        "品牌：沿用AURORA的品牌视觉风格；品牌色：Midnight（#101828）、Aurora teal（#14B8A6）、极光白（#F8FAFC）；"
        "字体：Futura Bold, 思源黑体。\n"
        "海报上的文字，严格按引号内内容逐字呈现，每条只出现一次：\n"
        '- 产品名称："Aurora极光耳机"\n'
        '- 主标题："夏季特惠 SALE"\n'
        '- 价格标签："¥1299"\n'
        '- 卖点："40小时续航"\n'
        '- 卖点："Hi-Res音质"\n'
        '- 行动按钮："立即购买"\n'
        "海报上不出现任何其他文字、字母、数字、标志或水印。"
    )
    assert built.negative_prompt == OFFICIAL_NEGATIVE_PROMPT + "画面模糊，文字变形，错别字，拼写错误，乱码，水印。"
    nameless = chinese("instagram_post", replace(PRODUCT, name="", show_name=False))
    assert nameless.prompt.startswith("一张专业的产品营销海报：头戴式主动降噪")


def test_english_prompts_are_byte_identical_to_prompt_v2():
    preset = get_preset("instagram_post")
    block = brand_block("Aurora Audio", [{"name": "Midnight", "hex": "#101828"}], "geometric sans", "AURORA")
    built = build_prompt(
        PromptInputs(
            product=ProductFields(name="Aurora Headphones", offer="SUMMER SALE", price="$199", cta="Shop now"),
            tone="Bold", style_keywords="neon", preset_label=preset.label, aspect=preset.aspect, brand_block=block,
        )
    )
    # Built by prompt-v2 (commit bdceaac) from the same inputs.
    assert built.prompt == (
        "A professional marketing poster for Aurora Headphones.\n"
        "Mood: bold and high-contrast, energetic, oversized headline typography.\n"
        "Style: neon.\n"
        "Format: Instagram post (1:1), composed for that frame.\n"
        "Brand: AURORA house style; colour palette Midnight (#101828); typography geometric sans.\n"
        "Text on the poster, rendered exactly as written inside the quotes, each string once:\n"
        '- product name: "Aurora Headphones"\n'
        '- headline: "SUMMER SALE"\n'
        '- price tag: "$199"\n'
        '- call-to-action button: "Shop now"\n'
        "No other text, letters, numbers, logos or watermarks appear anywhere on the poster."
    )
    assert built.negative_prompt == DEFAULT_NEGATIVE_PROMPT == negative_prompt_text("default", "en")


# A Chinese recipe as prompt-v2 stored it, English leftovers and all.
V2_PROMPT = (
    "一张专业的极光耳机营销海报。\n"
    "氛围：现代科技感，光滑的表面，利落的几何造型，细微的光效点缀。\n"
    "画幅：Instagram post（1:1），构图适配该画幅。\n"
    "品牌：AURORA house style; colour palette Midnight (#101828).\n"
    "海报上的文字，严格按引号内内容逐字呈现，每条只出现一次：\n"
    '- 主标题："夏季特惠"\n'
    "海报上不出现任何其他文字、字母、数字、标志或水印。"
)


def test_a_prompt_v2_recipe_keeps_its_prompt_byte_for_byte():
    old = small_recipe(
        language="zh", tone="Tech", prompt=V2_PROMPT, negative_prompt=DEFAULT_NEGATIVE_PROMPT, negative_preset="default",
        brand_block="AURORA house style; colour palette Midnight (#101828).", builder_version="prompt-v2",
        exact_strings=[{"role": "offer", "text": "夏季特惠"}],
    )
    # What a rerun queues and what an exported PNG carries is the stored recipe, never rebuilt.
    recalled, _ = recipe_from_dict(recipe_to_dict(old))
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(png, format="PNG")
    from_png, _ = read_recipe(embed_recipe(png.getvalue(), old))
    for again in (recalled, from_png):
        assert again == old
        assert again.prompt.encode() == V2_PROMPT.encode()
        assert again.negative_prompt == DEFAULT_NEGATIVE_PROMPT and again.builder_version == "prompt-v2"
    # Refilling Compose from it builds with prompt-v3, and the user is told.
    (note,) = recall_notes(old, BUILDER_VERSION, brief_exists=False, kit_exists=False)
    assert "prompt-v2" in note and "prompt-v3" in note
