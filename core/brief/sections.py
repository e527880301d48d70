"""Turn a vision model's free-form design brief into seven fixed sections.

The art-director prompt (see `core/brief/prompt.py`) asks for exactly seven
sections, but small vision-language models do not always comply: headings come
back bold, numbered, as markdown titles, with synonyms ("Colour palette",
"Fonts"), out of order, duplicated, in Chinese or mixed, and sometimes the
answer simply stops. This module is the single place that copes with that.

Public API:

- `parse_brief(text, language)` -> `ParsedBrief` (seven sections + what was missing/extra)
- `format_brief(sections, language)` -> canonical text; `parse_brief` reads it back unchanged
- `compact_brief(sections, max_chars)` -> one-line summary to fold into an image prompt

Everything here is pure string logic (no model, no Streamlit) so it can be unit tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


SECTION_KEYS: tuple[str, ...] = ("layout", "style", "color_palette", "typography", "keep", "improve", "notes")

SECTION_TITLES: dict[str, dict[str, str]] = {
    "en": {
        "layout": "Layout",
        "style": "Style",
        "color_palette": "Color palette",
        "typography": "Typography",
        "keep": "Keep",
        "improve": "Improve",
        "notes": "Notes",
    },
    "zh": {
        "layout": "布局",
        "style": "风格",
        "color_palette": "配色",
        "typography": "字体/排版",
        "keep": "保留",
        "improve": "改进",
        "notes": "备注",
    },
}

# Headings the model may use for each section, in either language. Both languages are always
# recognised because models mix them (English headings inside a Chinese answer and vice versa).
# Matching is case-insensitive and whole-title only, so "Type" never matches "Typeface choice".
_TITLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "layout": (
        "Layout", "Composition", "Layout and composition", "Layout & composition", "Layout and structure",
        "Layout & structure", "Layout and hierarchy", "Layout & hierarchy",
        "布局", "版式", "构图", "版面", "版面布局", "版式布局", "布局结构", "布局与构图",
    ),
    "style": (
        "Style", "Visual style", "Design style", "Overall style", "Style and mood", "Style & mood", "Aesthetic",
        "风格", "设计风格", "视觉风格", "整体风格", "风格调性",
    ),
    "color_palette": (
        "Color palette", "Colour palette", "Colors", "Colours", "Color", "Colour", "Palette", "Color scheme",
        "Colour scheme", "Color and palette",
        "配色", "配色方案", "色彩", "色彩搭配", "颜色", "颜色搭配", "色板", "色调",
    ),
    "typography": (
        "Typography", "Fonts", "Font", "Type", "Typefaces", "Typeface", "Type and fonts", "Fonts and type",
        "字体/排版", "字体与排版", "字体和排版", "字体排版", "文字排版", "字体", "排版",
    ),
    "keep": (
        "Keep", "What to keep", "Keep as is", "Keep as-is", "Things to keep", "Strengths", "What works",
        "What's working", "Preserve",
        "保留", "保留项", "保留内容", "需保留", "需要保留", "值得保留", "保留之处", "保持",
    ),
    "improve": (
        "Improve", "Improvements", "What to improve", "Suggestions", "Suggested improvements", "Recommendations",
        "Areas to improve", "Areas for improvement", "To improve", "Needs improvement", "Changes",
        "改进", "改进建议", "改进点", "需改进", "需要改进", "优化", "优化建议", "建议", "改进之处",
    ),
    "notes": (
        "Notes", "Note", "Additional notes", "Other notes", "Extra notes", "Further notes", "Additional comments",
        "Other", "Misc", "备注", "其他", "其他说明", "其他备注", "补充", "补充说明", "附注",
    ),
}

# casefolded, single-spaced title -> section key
_TITLE_TO_KEY: dict[str, str] = {
    " ".join(title.casefold().split()): key for key, titles in _TITLE_SYNONYMS.items() for title in titles
}


def _title_pattern(title: str) -> str:
    # Any run of whitespace may separate the words of a title ("Color  palette").
    return r"\s+".join(re.escape(word) for word in title.split())


# Longest titles first so "Color palette" wins over "Color" and "字体/排版" over "字体".
# `(?![^\W_])` (no letter or digit next) makes it a whole-title match: "Keepsake:" is not a Keep
# heading and "保留原有标题" does not start a 保留 heading.
_KNOWN_TITLE_RE = re.compile(
    "(?:" + "|".join(_title_pattern(t) for t in sorted(_TITLE_TO_KEY, key=len, reverse=True)) + r")(?![^\W_])",
    re.IGNORECASE,
)

# One-to-one character replacements applied before heading detection. Because every character maps
# to exactly one character, offsets in the translated line are valid in the original line, so
# content is always cut from the original text (Chinese punctuation in content stays untouched).
_FULLWIDTH_TO_ASCII = str.maketrans(
    {
        "：": ":", "（": "(", "）": ")", "．": ".", "－": "-", "＊": "*", "＃": "#", "｜": "|",
        "\u3000": " ", "\u00a0": " ", "\t": " ", "’": "'",
        **{chr(0xFF10 + digit): str(digit) for digit in range(10)},
    }
)

# Heading prefixes, tried repeatedly so combinations such as "### 1. **Layout**" or "- **Layout:**" work.
_HASH_RE = re.compile(r"(#{1,6}) *")
_NUMBER_RE = re.compile(
    r"(?:"
    r"\(?(?P<digits>\d{1,2})[.)](?= |\*|_|$|[^\x00-\x7f])"  # 1.  1)  (1)  1.布局
    r"|(?P<digits_cn_punct>\d{1,2})、"  # 1、
    r"|[(]?(?P<chinese>[一二三四五六七八九十]{1,3})(?:[、.]|[)])"  # 一、  (一)
    r"|(?P<roman>VIII|VII|VI|IV|IX|III|II|I|V|X)\.(?= )"  # I.  IV.
    r") *"
)
# "*" or "-" needs a following space to be a bullet, so "**bold**" is never mistaken for a bullet.
_BULLET_RE = re.compile(r"(?:[-*+–•·●▪◦‣] +|[•·●▪◦‣])")
_EMPHASIS_OPEN_RE = re.compile(r"(?:\*\*|__|\*|_)(?=\S)")

# What may follow a known title: an optional qualifier "(hex codes)", closing emphasis, a separator
# (colon, bar, em/en dash, or a spaced hyphen so "Layout-wise" is not a heading), closing emphasis.
_AFTER_TITLE_RE = re.compile(
    r" *(?:\([^()\n]{0,60}\))?"
    r" *(?:\*\*|__|\*|_)?"
    r" *(?P<sep>:|\||—|–|-(?= |$))?"
    r" *(?:\*\*|__|\*|_)?"
    r" *"
)

_CHINESE_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_ROMAN_NUMERALS = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10}

# A made-up section title ("Imagery", "Call to action") must look like a title, not a sentence.
_EXTRA_TITLE_MAX_CHARS = 40
_EXTRA_TITLE_MAX_WORDS = 5
_EXTRA_TITLE_FORBIDDEN = set(".,;!?。，；！？\"“”()[]{}<>/\\=*_`#")

# Sections whose bullets often name other sections ("Improve:\n- Typography: bigger headline").
# A repeated heading inside them is read as a sub-item, not as a new section.
_LIST_SECTIONS = {"keep", "improve", "notes"}

_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalize_language(language: str | None) -> str:
    """Map UI language values ("en", "zh", "zh-CN", "中文", "Chinese", ...) to "en" or "zh".

    Lenient on purpose: anything that is not recognisably Chinese is treated as English.
    """
    value = (language or "").strip().casefold()
    if value.startswith("zh") or "中" in value or "chinese" in value or "汉" in value:
        return "zh"
    return "en"


@dataclass
class ParsedBrief:
    """A design brief split into the seven canonical sections.

    sections: all seven keys of SECTION_KEYS, always present; "" when the model gave no text for it.
        Text is normalised: bullets are "- item" lines (nested ones "  - item"), markdown emphasis removed.
    missing: keys for which the model wrote no heading or an empty section, in canonical order.
        Computed before extra sections are folded into "notes", so "notes" is still flagged when the
        model left it out even if `sections["notes"]` now holds extra sections.
    extra: sections the model invented, title as written -> text. They are also appended to
        `sections["notes"]` as "Title: text" so nothing the model said is silently dropped.
    preamble: text before the first heading ("Here is the brief: ..."); the whole text when no
        heading was found at all.
    """

    sections: dict[str, str]
    missing: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    preamble: str = ""


@dataclass
class _Heading:
    """A line that looks like a section heading; whether it is accepted depends on its context."""

    key: str | None  # a SECTION_KEYS entry, or None for a made-up section
    title: str  # the title as written, without markers
    kind: str  # "hash<level>", "number", "bullet", "bold" or "plain"
    indented: bool
    number: int | None  # the heading's number for numbered headings ("3." -> 3)
    content: str  # text after the separator on the same line
    has_separator: bool

    @property
    def style(self) -> tuple[str, bool]:
        return (self.kind, self.indented)

    @property
    def inline(self) -> bool:
        return bool(self.content)


def _read_prefix(work: str, pos: int) -> tuple[int, str, int | None]:
    """Skip heading markers ("###", "1.", "-", "**") starting at `pos`.

    Returns (position after the markers, kind, heading number or None).
    """
    seen_hash: int | None = None
    seen_number = False
    seen_bullet = False
    seen_emphasis = False
    number: int | None = None
    for _ in range(5):  # a handful of stacked markers at most; also guarantees termination
        if (match := _HASH_RE.match(work, pos)) and match.end() > pos:
            seen_hash = seen_hash or len(match.group(1))
        elif match := _NUMBER_RE.match(work, pos):
            seen_number = True
            if match.group("digits") or match.group("digits_cn_punct"):
                number = int(match.group("digits") or match.group("digits_cn_punct"))
            elif match.group("chinese"):
                number = _chinese_numeral(match.group("chinese"))
            else:
                number = _ROMAN_NUMERALS[match.group("roman")]
        elif match := _BULLET_RE.match(work, pos):
            seen_bullet = True
        elif match := _EMPHASIS_OPEN_RE.match(work, pos):
            seen_emphasis = True
        else:
            break
        pos = match.end()

    # The outermost structural marker decides the kind; emphasis only counts when nothing else is there.
    if seen_hash:
        kind = f"hash{seen_hash}"
    elif seen_number:
        kind = "number"
    elif seen_bullet:
        kind = "bullet"
    elif seen_emphasis:
        kind = "bold"
    else:
        kind = "plain"
    return pos, kind, number


def _chinese_numeral(text: str) -> int:
    # Enough for section numbers: 一..十, 十一..十九, 二十..九十九.
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CHINESE_NUMERALS.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CHINESE_NUMERALS.get(tens, 0) * 10 + _CHINESE_NUMERALS.get(ones, 0)
    return _CHINESE_NUMERALS.get(text, 0)


def _strip_dangling_emphasis(content: str) -> str:
    # "**Layout: centred grid**" leaves "centred grid**" after the separator.
    for marker in ("**", "__"):
        if content.endswith(marker) and content.count(marker) % 2 == 1:
            content = content[: -len(marker)].rstrip()
        if content.startswith(marker) and content.count(marker) % 2 == 1:
            content = content[len(marker) :].lstrip()
    return content


def _match_heading(line: str) -> _Heading | None:
    """Return a heading candidate for `line`, or None when the line cannot be a heading.

    A heading is the title alone (plus markers/colon), or title + separator + content.
    A title followed by more words without a separator ("Keep the layout simple.") is a sentence.
    """
    work = line.translate(_FULLWIDTH_TO_ASCII)
    if not work.strip():
        return None
    indent = len(work) - len(work.lstrip(" "))
    pos, kind, number = _read_prefix(work, indent)
    indented = indent >= 2

    title_match = _KNOWN_TITLE_RE.match(work, pos)
    if title_match:
        after = _AFTER_TITLE_RE.match(work, title_match.end())
        rest = work[after.end() :].strip()
        has_separator = after.group("sep") is not None
        if rest and not has_separator:
            return None
        title = " ".join(title_match.group(0).split())
        key = _TITLE_TO_KEY.get(title.casefold())
        if key is None:  # only if case-insensitive regex matching and casefold() ever disagree
            return None
        return _Heading(
            key=key,
            title=title,
            kind=kind,
            indented=indented,
            number=number,
            content=_strip_dangling_emphasis(line[after.end() :].strip()),
            has_separator=has_separator,
        )
    return _match_extra_heading(line, work, pos, kind, indented, number)


def _match_extra_heading(
    line: str, work: str, pos: int, kind: str, indented: bool, number: int | None
) -> _Heading | None:
    """Heading candidate with a title that is not one of the seven sections ("Imagery:")."""
    colon = work.find(":", pos)
    if colon >= 0:
        title = work[pos:colon]
        content = _strip_dangling_emphasis(line[colon + 1 :].strip())
        has_separator = True
    else:
        stripped = work.rstrip()
        # Without a colon only an explicit heading marker makes a title: "### Imagery", "**Imagery**".
        if kind == "plain" or kind == "bullet":
            return None
        if kind == "bold" and not (stripped.endswith("**") or stripped.endswith("__")):
            return None
        title = stripped[pos:]
        content = ""
        has_separator = False

    title = title.strip().strip("*_").strip()
    if not _looks_like_title(title):
        return None
    return _Heading(
        key=None,
        title=title,
        kind=kind,
        indented=indented,
        number=number,
        content=content,
        has_separator=has_separator,
    )


def _looks_like_title(title: str) -> bool:
    if not title or len(title) > _EXTRA_TITLE_MAX_CHARS:
        return False
    if not (title[0].isalpha()):
        return False
    if any(char in _EXTRA_TITLE_FORBIDDEN for char in title):
        return False
    if _CJK_RE.search(title):
        return len(title) <= 12
    return len(title.split()) <= _EXTRA_TITLE_MAX_WORDS


def _dominant_style(headings: list[tuple[int, _Heading]]) -> tuple[tuple[str, bool] | None, bool]:
    """The heading style the answer is written in, and whether its headings carry inline content.

    The style used by the most distinct section keys wins (ties: the one seen first). Sub-items
    that happen to name a section ("- Typography: bigger") use a different style and lose the vote.
    """
    keys_by_style: dict[tuple[str, bool], set[str]] = {}
    first_line: dict[tuple[str, bool], int] = {}
    for line_index, heading in headings:
        if heading.key is None:
            continue
        keys_by_style.setdefault(heading.style, set()).add(heading.key)
        first_line.setdefault(heading.style, line_index)
    if not keys_by_style:
        return None, False
    # On a tie, bullets lose: a bare "- Layout" list is more often a table of contents or a
    # sub-list than the headings themselves.
    style = max(
        keys_by_style,
        key=lambda s: (len(keys_by_style[s]), s[0] != "bullet", -first_line[s]),
    )
    same_style = [h for _, h in headings if h.key is not None and h.style == style]
    inline = sum(h.inline for h in same_style) * 2 >= len(same_style)
    return style, inline


def _accept_heading(
    heading: _Heading,
    dominant: tuple[str, bool] | None,
    dominant_inline: bool,
    current: str | None,
    seen_keys: set[str],
    last_number: int | None,
) -> bool:
    """Decide whether a heading candidate really starts a section, given what came before."""
    matches_style = heading.style == dominant
    # Numbered headings count up; "1." after "6. Improve" is a numbered sub-item.
    numbered_backwards = (
        dominant is not None
        and dominant[0] == "number"
        and heading.kind == "number"
        and heading.number is not None
        and last_number is not None
        and heading.number <= last_number
    )

    if heading.key is None:
        # Invented sections only after the first real heading (before it, it's the preamble such as
        # "**Design brief: Jazz Night**"), and only in exactly the answer's heading style. Plain and
        # bullet "Label: text" lines are everyday content ("Headline: bold sans"), so for those a
        # title on its own line is required.
        if current is None or not matches_style or numbered_backwards:
            return False
        if heading.inline:
            return dominant_inline and heading.kind not in ("plain", "bullet")
        return heading.has_separator or heading.kind not in ("plain", "bullet")

    if heading.key in seen_keys:
        # A repeated title is merged as a duplicate section only when it looks exactly like the other
        # headings; otherwise it is a sub-item such as "Improve:\n- Typography: larger headline".
        if not matches_style or numbered_backwards:
            return False
        if heading.inline != dominant_inline and heading.inline:
            return False
        if heading.inline and current in _LIST_SECTIONS and current != heading.key:
            return False
        return True

    if matches_style:
        return not numbered_backwards
    # A different style is still a heading when the line holds only the title ("Typography:" or
    # "**Typography**" in an otherwise "### " answer); with content it is a sub-item. A bare bullet
    # ("- Layout") is too weak on its own: it is usually a list of topics, not a heading.
    if heading.kind == "bullet" and not heading.has_separator:
        return False
    return not heading.inline and not heading.indented


# ---------------------------------------------------------------------------------------------
# Body normalisation
# ---------------------------------------------------------------------------------------------

_RULE_RE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$|^\s*```")  # "---", "***", code fences
# List markers inside a section, all normalised to "- ": bullets, "1." "1)" "(1)" "1、" "a)" "一、" "（一）".
# Ordered markers need a space after them ("1.5x larger" is not a list item).
_BODY_BULLET_RE = re.compile(
    r"^(?:"
    r"[-*+–•·●▪◦‣]\s+"
    r"|[•·●▪◦‣](?=\S)"  # Chinese text often writes "·项目" without a space
    r"|\(?\d{1,2}[.)]\s+"
    r"|[(（]\d{1,2}[)）]\s*"
    r"|\d{1,2}、\s*"
    r"|[a-z][.)]\s+"
    r"|[(（]?[一二三四五六七八九十]{1,3}[、)）]\s*"
    r")(?P<text>\S.*)$"
)
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_LEADING_HASH_RE = re.compile(r"^#{1,6}\s+")


def _normalize_body(text: str) -> str:
    """Clean one section's text: "- " bullets, no markdown emphasis/rules, single blank lines.

    Idempotent, which is what makes `parse_brief(format_brief(s)) == s` hold.
    """
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        raw = raw.replace("\t", "    ").rstrip()
        if _RULE_RE.match(raw):
            continue
        indent = len(raw) - len(raw.lstrip())
        line = _LEADING_HASH_RE.sub("", raw.strip())
        line = _BOLD_RE.sub(lambda m: m.group(1) or m.group(2), line)
        line = _strip_dangling_emphasis(line)
        bullet = _BODY_BULLET_RE.match(line)
        if bullet:
            text_after = bullet.group("text").strip()
            # "- a) item" / "• 1. item": a second marker after the bullet is dropped too.
            if inner := _BODY_BULLET_RE.match(text_after):
                text_after = inner.group("text").strip()
            # One level of nesting is kept; deeper levels are flattened to it.
            line = ("  - " if indent >= 2 else "- ") + text_after
        if not line and (not lines or not lines[-1]):
            continue  # collapse runs of blank lines, drop leading ones
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def parse_brief(text: str, language: str = "en") -> ParsedBrief:
    """Split a model's brief into the seven sections of SECTION_KEYS.

    English and Chinese headings are recognised whatever `language` is (models mix them); `language`
    only picks the colon used when labelling extra sections inside Notes ("Imagery: ..." vs "Imagery：...").

    Never raises on odd input: empty or headingless text gives all seven keys missing and the text
    as `preamble`.
    """
    lang = normalize_language(language)
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")

    candidates = [(index, heading) for index, line in enumerate(lines) if (heading := _match_heading(line))]
    candidate_at = dict(candidates)
    dominant, dominant_inline = _dominant_style(candidates)

    preamble: list[str] = []
    own_chunks: dict[str, list[list[str]]] = {key: [] for key in SECTION_KEYS}
    extra_chunks: dict[str, list[list[str]]] = {}
    extra_titles: dict[str, str] = {}  # casefolded -> first spelling, so "Imagery"/"IMAGERY" merge
    buffer = preamble
    current: str | None = None
    seen_keys: set[str] = set()
    last_number: int | None = None

    for index, line in enumerate(lines):
        heading = candidate_at.get(index)
        if heading is None or not _accept_heading(
            heading, dominant, dominant_inline, current, seen_keys, last_number
        ):
            buffer.append(line)
            continue

        if heading.kind == "number" and heading.number is not None:
            last_number = heading.number
        buffer = [heading.content] if heading.content else []
        if heading.key is not None:
            seen_keys.add(heading.key)
            current = heading.key
            own_chunks[heading.key].append(buffer)
        else:
            title = extra_titles.setdefault(heading.title.casefold(), heading.title)
            current = f"extra:{title}"
            extra_chunks.setdefault(title, []).append(buffer)

    def join_chunks(chunks: list[list[str]]) -> str:
        # Duplicate headings: the texts are merged in order of appearance.
        parts = [_normalize_body("\n".join(chunk)) for chunk in chunks]
        return "\n".join(part for part in parts if part)

    sections = {key: join_chunks(own_chunks[key]) for key in SECTION_KEYS}
    missing = [key for key in SECTION_KEYS if not sections[key]]
    extra = {title: join_chunks(chunks) for title, chunks in extra_chunks.items()}

    colon = "：" if lang == "zh" else ":"
    labelled = [_label_extra(title, body, colon) for title, body in extra.items() if body]
    if labelled:
        sections["notes"] = "\n".join(([sections["notes"]] if sections["notes"] else []) + labelled)

    return ParsedBrief(sections=sections, missing=missing, extra=extra, preamble=_normalize_body("\n".join(preamble)))


def _label_extra(title: str, body: str, colon: str) -> str:
    # One-line text stays on the label's line; a list goes under it, like a section.
    if "\n" in body:
        return f"{title}{colon}\n{body}"
    return f"{title}{colon} {body}" if colon == ":" else f"{title}{colon}{body}"


def format_brief(sections: dict[str, str], language: str = "en") -> str:
    """Canonical text of a brief: "Layout:\\n...\\n\\nStyle:\\n..." with all seven headings.

    Used to store (possibly edited) briefs. `parse_brief(format_brief(s), language).sections == s` for
    sections produced by `parse_brief` (bodies are normalised the same way, missing keys become "").
    A body line that is itself a bare section title (e.g. a line "Style:" typed into Layout) would
    start a new section when read back; that is the one thing the round trip cannot preserve.
    """
    lang = normalize_language(language)
    titles = SECTION_TITLES[lang]
    colon = "：" if lang == "zh" else ":"
    blocks = []
    for key in SECTION_KEYS:
        body = _normalize_body(sections.get(key) or "")
        blocks.append(f"{titles[key]}{colon}\n{body}" if body else f"{titles[key]}{colon}")
    return "\n\n".join(blocks)


# When the compact brief is over budget, items are dropped from the end of sections in this order:
# supporting material first (Notes, Keep), the design itself (Layout, Typography) last, because the
# image model needs the composition and the type treatment most.
COMPACT_DROP_ORDER: tuple[str, ...] = ("notes", "keep", "improve", "style", "color_palette", "typography", "layout")
# Sections that may be emptied in the first pass; the others keep their first item until the second.
_COMPACT_EXPENDABLE = {"notes", "keep"}


def _compact_items(text: str) -> list[str]:
    """One section's text as short plain-text items: no bullets, markdown or line breaks."""
    items: list[str] = []
    for line in _normalize_body(text).split("\n"):
        line = re.sub(r"^\s*-\s+", "", line)
        line = line.replace("`", "").replace("|", "/").replace("*", "").replace("__", "")
        line = " ".join(line.split()).rstrip(" ;,.。；，")
        if not line:
            continue
        # A label line ("Imagery:") reads as one item with the line that follows it.
        if items and items[-1].endswith((":", "：")):
            items[-1] = f"{items[-1]} {line}"
        else:
            items.append(line)
    return [item.rstrip(":：") for item in items if item.rstrip(":：")]


def _render_compact(items_by_key: dict[str, list[str]], titles: dict[str, str]) -> str:
    parts = [f"{titles[key]}: {'; '.join(items_by_key[key])}" for key in SECTION_KEYS if items_by_key[key]]
    return " | ".join(parts)


# Chinese punctuation after which a cut reads naturally.
_CJK_BREAK_AFTER = set("，。；：、！？）》」』")


def _is_word_boundary(text: str, index: int, *, allow_between_cjk: bool) -> bool:
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before.isspace() or after.isspace() or before in _CJK_BREAK_AFTER:
        return True
    # Chinese has no spaces between words; between two CJK characters is the fallback boundary.
    return allow_between_cjk and bool(_CJK_RE.match(before) or _CJK_RE.match(after))


def _cut_at_word(text: str, max_chars: int) -> str:
    """Shorten to at most `max_chars` with a trailing ellipsis, never splitting a word.

    Prefers a space or Chinese punctuation in the second half of the allowed length; only when there
    is none does it cut between two CJK characters.
    """
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return ""
    limit = max_chars - 1  # room for "…"
    cut = next(
        (i for i in range(limit, limit // 2, -1) if _is_word_boundary(text, i, allow_between_cjk=False)),
        None,
    )
    if cut is None:
        cut = next((i for i in range(limit, -1, -1) if _is_word_boundary(text, i, allow_between_cjk=True)), 0)
    head = text[:cut].rstrip(" ;,|:，；：、")
    return f"{head}…" if head else ""


def compact_brief(sections: dict[str, str], max_chars: int = 900, language: str = "en") -> str:
    """The brief as one plain-text line for an image-generation prompt, at most `max_chars` long.

    Format: "Layout: item; item | Style: item | ..." in canonical order with the titles of
    `language`, empty sections skipped, bullets/markdown/line breaks removed. Deterministic.

    Over budget, whole items (one bullet or line each) are dropped, walking COMPACT_DROP_ORDER:
      1. Notes and Keep are emptied; Improve, Style, Color palette, Typography and Layout are cut
         back to their first item (later items first).
      2. If still too long, those first items go too, in the same order, Layout last.
    If the one item left is still too long, it is cut at a word boundary and ends with "…".
    """
    if max_chars <= 0:
        return ""
    titles = SECTION_TITLES[normalize_language(language)]
    items_by_key = {key: _compact_items(sections.get(key) or "") for key in SECTION_KEYS}
    text = _render_compact(items_by_key, titles)

    for first_pass in (True, False):
        for key in COMPACT_DROP_ORDER:
            keep_at_least = 1 if first_pass and key not in _COMPACT_EXPENDABLE else 0
            while len(text) > max_chars and len(items_by_key[key]) > keep_at_least:
                # The very last item of the whole brief is shortened below rather than dropped.
                if sum(len(items) for items in items_by_key.values()) == 1:
                    break
                items_by_key[key].pop()
                text = _render_compact(items_by_key, titles)
    return _cut_at_word(text, max_chars)
