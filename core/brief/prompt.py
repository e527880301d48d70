"""The art-director prompt that asks Qwen2.5-VL for a design brief of an uploaded draft poster.

`build_brief_messages` returns chat messages in the format that `processor.apply_chat_template`
and `qwen_vl_utils.process_vision_info` take. The headings it asks for are the ones
`core.brief.sections.parse_brief` reads back, taken from the same SECTION_TITLES table so the two
cannot drift apart.

Bump BRIEF_PROMPT_VERSION whenever the wording changes: stored briefs record it, so results from
different prompts are never compared as if they were the same experiment.
"""

from __future__ import annotations

import re
from typing import Any

from core.brief.sections import SECTION_KEYS, SECTION_TITLES, normalize_language
from core.prompt.limits import MAX_NOTES_CHARS, check_length


BRIEF_PROMPT_VERSION = "brief-v1"

NOTES_LABEL = "Notes to the art director"


def check_notes(notes: str) -> None:
    """Client notes are user text: a pasted document would crowd out the image tokens and the
    instructions. Over-long notes are refused with the limit (TextTooLongError), never cut
    silently: a cut could drop the one request that mattered."""
    check_length(NOTES_LABEL, notes, MAX_NOTES_CHARS)

# Each entry is one sentence. The instruction text is assembled from these lists, so
# `prompt_sentences` can return exactly what was sent (an integration test checks that none of them
# is echoed back into the generated brief).
_SYSTEM_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "You are a senior creative director at a poster design studio.",
        "You review draft posters and turn them into clear, practical design briefs for the designer who will make the final version.",
    ),
    "zh": (
        "你是一家海报设计工作室的资深创意总监。",
        "你负责审阅海报草稿，并为制作终稿的设计师撰写清晰、可执行的设计说明。",
    ),
}

_TASK_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Review the attached draft poster and write a design brief for its final version.",
        "Use exactly these seven sections, in this order, with each heading on its own line followed by a colon:",
    ),
    "zh": (
        "请审阅附上的海报草稿，为它的终稿撰写一份设计说明。",
        "请严格使用以下七个部分，按此顺序排列，每个标题单独占一行并以冒号结尾：",
    ),
}

# Per-section guidance: what "concrete" means for each heading.
_SECTION_GUIDANCE: dict[str, dict[str, str]] = {
    "en": {
        "layout": "In Layout, describe the grid, margins, visual hierarchy, spacing and alignment.",
        "style": "In Style, name the visual style and mood in a few precise words.",
        "color_palette": "In Color palette, list the main colours with hex codes wherever you can see them.",
        "typography": "In Typography, describe the typeface categories, weights and relative sizes of headline, subheading and body text.",
        "keep": "In Keep, list what already works and must stay.",
        "improve": "In Improve, list specific changes, the most important first.",
        "notes": "In Notes, add anything else the designer should know, such as format, print or accessibility details.",
    },
    "zh": {
        "layout": "在布局部分，说明网格、页边距、视觉层级、间距和对齐方式。",
        "style": "在风格部分，用几个准确的词概括视觉风格和氛围。",
        "color_palette": "在配色部分，列出主要颜色，能看清的颜色请给出十六进制色值。",
        "typography": "在字体/排版部分，说明主标题、副标题和正文的字体类别、字重和相对字号。",
        "keep": "在保留部分，列出已经做得好、必须保留的内容。",
        "improve": "在改进部分，列出具体的修改建议，最重要的放在最前面。",
        "notes": "在备注部分，补充设计师还需要知道的信息，例如尺寸、印刷或无障碍方面的要求。",
    },
}

_RULE_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Be concrete: give positions, proportions, sizes and colours rather than general praise.",
        "Write each section as short bullet points that start with a hyphen.",
        "Do not invent logos, brand names or slogans, and do not quote copyrighted slogans.",
        "Do not transcribe long body copy; refer to it by its role, for example the date line or the ticket details.",
        "Write the whole brief in English.",
        "Output only the brief, with no introduction and no closing remarks.",
    ),
    "zh": (
        "要具体：给出位置、比例、尺寸和颜色，而不是笼统的评价。",
        "每个部分用以短横线开头的简短要点来写。",
        "不要虚构标志、品牌名称或宣传口号，也不要引用受版权保护的口号。",
        "不要抄录大段正文，用它的作用来指代，例如日期行或票务信息。",
        "整份设计说明请使用简体中文撰写。",
        "只输出设计说明本身，不要开场白，也不要结束语。",
    ),
}

# Introduces the quoted client notes; only sent when there are notes.
_NOTES_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "The client left the notes below for the art director, quoted between triple quotes.",
        "Take them into account as the client's wishes, but they do not change the format of the brief.",
    ),
    "zh": (
        "客户给创意总监留下了以下备注，内容放在三重引号之间。",
        "请把它们当作客户的意愿加以考虑，但它们不会改变设计说明的格式。",
    ),
}

# Chinese sentences are written back to back; English ones are separated by a space.
_SENTENCE_JOINER = {"en": " ", "zh": ""}

_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _heading_lines(lang: str) -> str:
    # The headings exactly as the model should write them: "Layout:" / "布局：".
    colon = "：" if lang == "zh" else ":"
    return "\n".join(f"{SECTION_TITLES[lang][key]}{colon}" for key in SECTION_KEYS)


def _clean_notes(notes: str) -> str:
    """Make user notes safe to quote: no control characters, no closing quote sequence.
    Notes over the limit raise TextTooLongError (`check_notes`)."""
    check_notes(notes)
    text = (notes or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL_CHARS_RE.sub("", text)
    # A run of three or more double quotes would end the quoted block early, so the rest of the notes
    # could pose as instructions; a single quote mark keeps the meaning.
    text = re.sub(r'"{3,}', '"', text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _instruction_text(lang: str, notes: str) -> str:
    """The user-turn text: task, headings, per-section guidance, rules and optional quoted notes."""
    blocks = [
        _TASK_SENTENCES[lang][0],
        _TASK_SENTENCES[lang][1] + "\n" + _heading_lines(lang),
        "\n".join(_SECTION_GUIDANCE[lang][key] for key in SECTION_KEYS),
        "\n".join(_RULE_SENTENCES[lang]),
    ]
    cleaned = _clean_notes(notes)
    if cleaned:
        blocks.append(_SENTENCE_JOINER[lang].join(_NOTES_SENTENCES[lang]) + '\n"""\n' + cleaned + '\n"""')
    return "\n\n".join(blocks)


def build_brief_messages(image: Any, language: str = "en", notes: str = "") -> list[dict]:
    """Chat messages asking Qwen2.5-VL for a seven-section design brief of `image`.

    Args:
        image: the draft poster as a PIL image (anything `qwen_vl_utils` accepts as "image" also works).
        language: "en" or "zh" (aliases such as "zh-CN" or "中文" are accepted); for "zh" the brief
            is requested in Simplified Chinese with the Chinese headings of SECTION_TITLES["zh"].
        notes: optional "notes to the art director" from the user, quoted verbatim (after cleaning)
            as the client's wishes.

    Returns:
        `[system message, user message]`, each with a list of typed content parts; the user message
        holds the image first, then the instruction text.
    """
    if image is None:
        raise ValueError("build_brief_messages needs the draft poster image")
    lang = normalize_language(language)
    return [
        {"role": "system", "content": [{"type": "text", "text": _SENTENCE_JOINER[lang].join(_SYSTEM_SENTENCES[lang])}]},
        {
            "role": "user",
            "content": [
                {"type": "image", "image": image},
                {"type": "text", "text": _instruction_text(lang, notes)},
            ],
        },
    ]


def prompt_sentences(language: str = "en") -> list[str]:
    """Every distinct fixed sentence of the prompt for `language`, system and user turns together.

    Includes the sentences that introduce client notes (sent only when notes are given), and not the
    bare heading lines ("Layout:"), which a correct brief is supposed to repeat.
    """
    lang = normalize_language(language)
    sentences = [
        *_SYSTEM_SENTENCES[lang],
        *_TASK_SENTENCES[lang],
        *(_SECTION_GUIDANCE[lang][key] for key in SECTION_KEYS),
        *_RULE_SENTENCES[lang],
        *_NOTES_SENTENCES[lang],
    ]
    return list(dict.fromkeys(sentences))  # de-duplicated, order kept
