"""The deterministic poster-prompt builder.

The same inputs always give a byte-identical prompt: no dates, no randomness, no dict
ordering surprises. The builder's version is stored with every prompt so that an old
poster's recipe can be told apart from one built by a later builder.

Qwen-Image renders text it sees in double quotes. So every string that must appear on
the poster (offer, price, CTA, benefits, the name when shown) goes in English double
quotes, labelled as exact, and the prompt ends by forbidding any other text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# The one expected-string type, shared with the text check (core/text/result.py is pure data).
from core.text.result import ExpectedString
from core.prompt.presets import PRESETS

# v2: Chinese prompts name the tone in Chinese (v1 put the English tone words in them).
# v3: Chinese prompts name the format (the preset), a nameless product and the default negative
# terms in Chinese too (v2 put "Instagram post", "the product" and "blurry, ..." in them).
# English prompts are byte-identical from v1 to v3; the one version covers both languages, as
# v2 did, so a recipe says which builder made it, not which parts of it changed.
# Older prompts are not rebuilt: a rerun reuses the stored prompt bytes (core/services/reruns.py),
# and recalling a recipe into Compose builds with this version and says so (core/recipe.py).
BUILDER_VERSION = "prompt-v3"

LANGUAGES = {"en": "English", "zh": "中文"}

TONES: dict[str, str] = {
    "Premium": "premium and elegant, refined lighting, rich materials, luxurious restraint",
    "Minimal": "minimal and clean, generous white space, few elements, calm balance",
    "Bold": "bold and high-contrast, energetic, oversized headline typography",
    "Playful": "playful and colourful, friendly rounded shapes, lively composition",
    "Tech": "modern tech look, sleek surfaces, crisp geometry, subtle glow accents",
}
# The same moods for Chinese prompts: one language per prompt, so the model reads one voice.
TONES_ZH: dict[str, str] = {
    "Premium": "高端典雅，精致的光影，质感丰富的材质，奢华而克制",
    "Minimal": "极简干净，大面积留白，元素精简，平静均衡",
    "Bold": "大胆的高对比，充满活力，超大号标题字体",
    "Playful": "活泼多彩，友好的圆润造型，生动的构图",
    "Tech": "现代科技感，光滑的表面，利落的几何造型，细微的光效点缀",
}

# Qwen-Image-2512's official default negative prompt, plus the English terms the original notebook
# used against broken lettering. The official one is kept verbatim in both languages, its "AI感"
# included: it is the text the model's authors published and tested with, not ours to reword.
OFFICIAL_NEGATIVE_PROMPT = (
    "低分辨率，低画质，肢体畸形，手指畸形，画面过饱和，蜡像感，人脸无细节，过度光滑，画面具有AI感。构图混乱。文字模糊，扭曲。"
)
NOTEBOOK_NEGATIVE_TERMS = "blurry, distorted text, misspellings, gibberish letters, watermark"
DEFAULT_NEGATIVE_PROMPT = f"{OFFICIAL_NEGATIVE_PROMPT} {NOTEBOOK_NEGATIVE_TERMS}"
# The same lettering terms for Chinese prompts, as a sentence that continues the official one.
# "错别字" is the Chinese word for wrong characters, "拼写错误" for misspelt Latin words (a Chinese
# poster often carries a price or a brand in Latin letters).
NOTEBOOK_NEGATIVE_TERMS_ZH = "画面模糊，文字变形，错别字，拼写错误，乱码，水印。"
DEFAULT_NEGATIVE_PROMPT_ZH = f"{OFFICIAL_NEGATIVE_PROMPT}{NOTEBOOK_NEGATIVE_TERMS_ZH}"
# The negative prompts Compose offers by name; "custom" is any other text the user typed.
NEGATIVE_PROMPTS: dict[str, tuple[str, str]] = {
    "default": ("Qwen official + broken lettering", DEFAULT_NEGATIVE_PROMPT),
    "official": ("Qwen official", OFFICIAL_NEGATIVE_PROMPT),
    "none": ("None", " "),
}
CUSTOM_NEGATIVE = "custom"
# Where a named negative prompt reads differently in Chinese; the others are the same text.
NEGATIVE_PROMPTS_ZH: dict[str, str] = {"default": DEFAULT_NEGATIVE_PROMPT_ZH}


def negative_prompt_text(preset: str, language: str) -> str:
    """The text of a named negative prompt (NEGATIVE_PROMPTS) for a prompt in `language`."""
    if language == "zh" and preset in NEGATIVE_PROMPTS_ZH:
        return NEGATIVE_PROMPTS_ZH[preset]
    return NEGATIVE_PROMPTS[preset][1]


# The pipeline's defaults and hard limit for the text-encoder sequence (QwenImagePipeline).
DEFAULT_MAX_SEQUENCE_LENGTH = 512
MAX_SEQUENCE_LENGTH_LIMIT = 1024


class PromptTooLongError(ValueError):
    """The prompt needs more text-encoder tokens than Qwen-Image accepts (1024)."""


@dataclass(frozen=True)
class ProductFields:
    name: str = ""
    description: str = ""
    offer: str = ""  # exact
    price: str = ""  # exact
    cta: str = ""  # exact
    benefits: tuple[str, ...] = ()  # exact, one phrase each
    show_name: bool = True


@dataclass(frozen=True)
class PromptInputs:
    product: ProductFields
    tone: str = "Premium"
    style_keywords: str = ""
    language: str = "en"
    preset_label: str = ""  # a Preset's label; a Chinese prompt names it by its label_zh
    aspect: str = ""
    brief: str = ""
    brand_block: str = ""  # filled by brand kits; empty when none is applied


@dataclass
class BuiltPrompt:
    prompt: str
    negative_prompt: str
    exact_strings: list[ExpectedString]
    warnings: list[str] = field(default_factory=list)
    builder_version: str = BUILDER_VERSION


def clean_text(text: str) -> str:
    """One line, no control characters, single spaces; NFC so equal-looking text is equal."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def quote_exact(text: str) -> str:
    """Wrap text in English double quotes. A straight double quote inside would end the
    quoted run early for the text encoder, so inner quotes become typographic ones, which
    the text check treats as the same character."""
    inner = clean_text(text)
    opened = False
    out = []
    for ch in inner:
        if ch == '"':
            out.append("”" if opened else "“")
            opened = not opened
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def split_benefits(text: str) -> tuple[str, ...]:
    """One exact phrase a line; blank lines and surrounding bullets are dropped."""
    phrases = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*(?:[-*•·]|\d+[.)])\s+", "", line)
        line = clean_text(line)
        if line:
            phrases.append(line)
    return tuple(phrases)


# Scripts Qwen-Image renders reliably: Latin (English) and Han (Chinese), plus digits,
# punctuation and currency symbols.
def _unsupported_scripts(text: str) -> list[str]:
    found = []
    for ch in text:
        if ch.isascii() or not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("CJK UNIFIED IDEOGRAPH") or name.startswith("CJK COMPATIBILITY IDEOGRAPH"):
            continue
        script = name.split(" ")[0] if name else "unknown"
        if script == "LATIN":
            script = "accented Latin"
        if script not in found:
            found.append(script)
    return found


def exact_strings(product: ProductFields) -> list[ExpectedString]:
    strings = []
    if product.show_name and clean_text(product.name):
        strings.append(ExpectedString("name", clean_text(product.name)))
    if clean_text(product.offer):
        strings.append(ExpectedString("offer", clean_text(product.offer)))
    if clean_text(product.price):
        strings.append(ExpectedString("price", clean_text(product.price)))
    for benefit in product.benefits:
        if clean_text(benefit):
            strings.append(ExpectedString("benefit", clean_text(benefit)))
    if clean_text(product.cta):
        strings.append(ExpectedString("cta", clean_text(product.cta)))
    return strings


# A preset's label (core/prompt/presets.py) as a Chinese prompt names that format.
PRESET_LABELS_ZH = {preset.label: preset.label_zh for preset in PRESETS.values()}

_ROLE_LABELS = {
    "en": {
        "name": "product name",
        "offer": "headline",
        "price": "price tag",
        "benefit": "benefit line",
        "cta": "call-to-action button",
    },
    "zh": {"name": "产品名称", "offer": "主标题", "price": "价格标签", "benefit": "卖点", "cta": "行动按钮"},
}


def build_prompt(inputs: PromptInputs) -> BuiltPrompt:
    if inputs.language not in LANGUAGES:
        raise ValueError(f"Language must be one of {', '.join(LANGUAGES)}, not {inputs.language!r}")
    if inputs.tone not in TONES:
        raise ValueError(f"Tone must be one of {', '.join(TONES)}, not {inputs.tone!r}")

    product = inputs.product
    strings = exact_strings(product)
    warnings: list[str] = []

    user_text = " ".join(
        [product.name, product.description, product.offer, product.price, product.cta, *product.benefits]
    )
    scripts = _unsupported_scripts(user_text)
    if scripts:
        warnings.append(
            "Qwen-Image renders English and Chinese text reliably; other scripts "
            f"({', '.join(scripts)}) may come out misspelt or garbled."
        )
    if not strings:
        warnings.append("No text to render: the poster will have no headline, price or button.")

    name = clean_text(product.name)
    description = clean_text(product.description)
    style = clean_text(inputs.style_keywords)
    brief = clean_text(inputs.brief)
    brand = clean_text(inputs.brand_block)
    labels = _ROLE_LABELS[inputs.language]

    lines: list[str] = []
    if inputs.language == "en":
        subject = f"A professional marketing poster for {name or 'the product'}"
        if description:
            subject += f": {description}"
        lines.append(subject.rstrip(".") + ".")
        lines.append(f"Mood: {TONES[inputs.tone]}.")
        if style:
            lines.append(f"Style: {style}.")
        if inputs.preset_label:
            lines.append(f"Format: {inputs.preset_label} ({inputs.aspect}), composed for that frame.")
        if brand:
            lines.append(f"Brand: {brand}")
        if brief:
            lines.append(f"Design brief: {brief}")
        if strings:
            lines.append("Text on the poster, rendered exactly as written inside the quotes, each string once:")
            for s in strings:
                lines.append(f"- {labels[s.role]}: {quote_exact(s.text)}")
        lines.append(
            "No other text, letters, numbers, logos or watermarks appear anywhere on the poster."
            if strings
            else "No text, letters, numbers, logos or watermarks appear anywhere on the poster."
        )
    else:
        subject = f"一张专业的{name or '产品'}营销海报"
        if description:
            subject += f"：{description}"
        lines.append(subject.rstrip("。") + "。")
        lines.append(f"氛围：{TONES_ZH[inputs.tone]}。")
        if style:
            lines.append(f"风格：{style}。")
        if inputs.preset_label:
            label = PRESET_LABELS_ZH.get(inputs.preset_label, inputs.preset_label)
            lines.append(f"画幅：{label}（{inputs.aspect}），构图适配该画幅。")
        if brand:
            lines.append(f"品牌：{brand}")
        if brief:
            lines.append(f"设计简报：{brief}")
        if strings:
            lines.append("海报上的文字，严格按引号内内容逐字呈现，每条只出现一次：")
            for s in strings:
                lines.append(f"- {labels[s.role]}：{quote_exact(s.text)}")
        lines.append("海报上不出现任何其他文字、字母、数字、标志或水印。" if strings else "海报上不出现任何文字、字母、数字、标志或水印。")

    return BuiltPrompt(
        prompt="\n".join(lines),
        negative_prompt=negative_prompt_text("default", inputs.language),
        exact_strings=strings,
        warnings=warnings,
    )


@dataclass(frozen=True)
class SequencePlan:
    tokens: int
    max_sequence_length: int
    message: str | None  # said to the user when the default had to be raised


def plan_sequence_length(tokens: int) -> SequencePlan:
    """The 512-token guard: QwenImagePipeline cuts the prompt at `max_sequence_length`
    (default 512) without a word. Raise the limit instead, up to the pipeline's 1024 maximum,
    and refuse beyond it. Never truncate silently."""
    if tokens <= DEFAULT_MAX_SEQUENCE_LENGTH:
        return SequencePlan(tokens, DEFAULT_MAX_SEQUENCE_LENGTH, None)
    if tokens <= MAX_SEQUENCE_LENGTH_LIMIT:
        return SequencePlan(
            tokens,
            MAX_SEQUENCE_LENGTH_LIMIT,
            f"The prompt is {tokens} tokens, over the default limit of {DEFAULT_MAX_SEQUENCE_LENGTH}: "
            f"max_sequence_length is raised to {MAX_SEQUENCE_LENGTH_LIMIT} so nothing is cut.",
        )
    raise PromptTooLongError(
        f"The prompt is {tokens} tokens; Qwen-Image reads at most {MAX_SEQUENCE_LENGTH_LIMIT}. "
        "Shorten the description, the brief or the benefits."
    )
