"""Tests for core.brief.sections: parsing real-looking model briefs into seven sections."""

import re

import pytest

from core.brief.sections import (
    COMPACT_DROP_ORDER,
    SECTION_KEYS,
    SECTION_TITLES,
    ParsedBrief,
    compact_brief,
    format_brief,
    normalize_language,
    parse_brief,
)


# ---------------------------------------------------------------------------------------------
# Model outputs, one per habit seen in practice
# ---------------------------------------------------------------------------------------------

PLAIN = """Here is the design brief for your poster.

Layout:
- Single centred column on a 12-column grid, 8% outer margins.
- Headline in the top third, date block anchored bottom-left.

Style:
Retro risograph print with grainy texture.

Color palette:
- Deep teal #0F4C5C
- Warm orange #E36414

Typography:
* Headline: condensed bold sans, about 15% of poster height
* Body: regular humanist sans, 14 pt

Keep:
• The strong diagonal of the saxophone illustration

Improve:
1. Typography: increase contrast between headline and body.
2. Keep the layout simple. Remove the second logo placeholder.

Notes:
Print at A2; leave 3 mm bleed.
"""

MARKDOWN_BOLD = """**Design Brief: Summer Jazz Night**

**Layout:** Asymmetric two-column layout, text on the left third.
**Style:** Mid-century modern.
**Colour palette:** Mustard #E1A730, navy #1B2A41, cream #F4EBD9.
**Fonts:** Geometric sans for the headline; serif for details.
**What to keep:** The circular sun motif.
**Improvements:**
- **Hierarchy:** make the date the second read.
- Tighten the spacing between lines.
**Call to action:** Add a clear ticket line at the bottom.
**Additional notes:** Keep everything within safe margins.
"""

HASH_HEADINGS = """### Composition
The poster uses a rule-of-thirds grid.

### Style
Flat vector illustration.

#### Details
Soft shadows only.

### Palette
- #FFFFFF background
- #222222 text

### Type
Bold display serif.

### Improve
- Add more white space around the headline.

### Imagery
Replace the stock photo with an illustrated skyline.
"""

NUMBERED_DASH = """1. Layout — Centered stack with generous top margin.
2. Style — Swiss minimalism.
3. Color scheme — Red #D62828 and black on white.
4. Typography — Helvetica-like grotesk, bold headline, 3 sizes max.
5. Keep — The red bar across the top.
6. Improve —
1. Typography: reduce the number of weights.
2. Layout: align the footer to the grid.
7. Notes — Export as PDF/X-1a.
"""

NUMBERED_PAREN = """1) Layout:
Modular grid.
1) The headline spans four columns.
2) Style:
Brutalist.
3) Colour palette (hex):
- #000000
4) Typography:
Mono.
5) What to improve:
- a) Give the headline more air.
- b) Align the footer to the baseline grid.
6) Notes:
n/a
"""

INLINE_DASH = """Layout - Headline top-left, image bleeding off the right edge.
Style - Bold Memphis shapes.
Palette - Pink #FF6FB5, yellow #FFD23F.
Fonts - Rounded sans.
Keep - Playful shapes.
Improve - Reduce clutter; the layout feels busy.
Notes - Keep the layout simple.
"""

BULLET_HEADINGS = """- Layout: Poster split into a top image band (60%) and a bottom text band.
  - Typography sits on a 4 px baseline grid.
  - Keep: margins at 40 px.
- Style: Editorial photography, high contrast.
- Colors: Black, white and a single accent #FF5A36.
- Type: Bold grotesk headline; light body.
- Keep as is: The photo crop.
- Suggestions: Raise the headline; add a thin rule under it.
- Other notes: Check legibility at thumbnail size.
"""

OUT_OF_ORDER_DUPLICATES = """Typography:
Serif headline.

Layout:
Centered.

Typography:
Body text at 12 pt.

Improve:
- Keep the layout simple.
- Layout: move the date up.
- Colors should be warmer.
Keep:
Logo area.
Style: Minimal.
"""

BOLD_TITLE_ONLY = """**Layout**
- **Headline:** top third
- **Date:** bottom

**Style**
Grunge.

__Color scheme__
Olive #556B2F.

**Typography**
**Headline:** Impact-like.

**Imagery**
Use a torn paper texture.
Add a single coffee-stain mark.

**Keep**
The torn edge.

**Improve**
More contrast.

**Notes**
Test print on kraft paper.
"""

CHINESE_NUMERALS = """一、布局
采用三栏网格，四周留白约 6%。

二、风格
国潮插画风格，融合传统纹样。

三、配色
- 朱红 #C8102E
- 墨黑 #1A1A1A

四、字体
标题使用粗黑体，正文使用宋体。

五、保留
·保留原有的祥云图案

六、改进
1、加大标题字号。
2、保留原有标题字体，但增加字间距。

七、备注
适合竖版 A3 印刷。
"""

CHINESE_MIXED = """布局：上下结构，标题居上。
**配色**
主色为深蓝 #003366，点缀金色 #D4AF37。
Typography: 标题用无衬线粗体。
风格：简约商务风。
Keep：保留左下角的二维码位置。
改进：
- 增加留白。
"""

CHINESE_NUMBERED = """1. 布局
居中对称，主标题位于上三分之一。
2. 风格
水墨写意。
3. 配色
黑白灰为主，印章红 #B22222 点缀。
4. 字体
标题用书法体，副标题用细宋体。
5. 保留
远山的留白。
6. 改进
- 日期信息字号太小。
7. 备注
无。
"""

TRUNCATED = """Layout:
Centered.

Style:
Bauhaus.

Typography:
- Headline in a condensed bold sans, about 1"""

ALL_SAMPLES = {
    "plain": PLAIN,
    "markdown_bold": MARKDOWN_BOLD,
    "hash_headings": HASH_HEADINGS,
    "numbered_dash": NUMBERED_DASH,
    "numbered_paren": NUMBERED_PAREN,
    "inline_dash": INLINE_DASH,
    "bullet_headings": BULLET_HEADINGS,
    "out_of_order_duplicates": OUT_OF_ORDER_DUPLICATES,
    "bold_title_only": BOLD_TITLE_ONLY,
    "chinese_numerals": CHINESE_NUMERALS,
    "chinese_mixed": CHINESE_MIXED,
    "chinese_numbered": CHINESE_NUMBERED,
    "truncated": TRUNCATED,
}


def _language_of(name: str) -> str:
    return "zh" if name.startswith("chinese") else "en"


# ---------------------------------------------------------------------------------------------
# Whole answers
# ---------------------------------------------------------------------------------------------


def test_plain_headings_with_bullets_and_preamble():
    parsed = parse_brief(PLAIN)

    assert parsed.sections == {
        "layout": "- Single centred column on a 12-column grid, 8% outer margins.\n"
        "- Headline in the top third, date block anchored bottom-left.",
        "style": "Retro risograph print with grainy texture.",
        "color_palette": "- Deep teal #0F4C5C\n- Warm orange #E36414",
        "typography": "- Headline: condensed bold sans, about 15% of poster height\n"
        "- Body: regular humanist sans, 14 pt",
        "keep": "- The strong diagonal of the saxophone illustration",
        # "Typography:" as a numbered sub-item and "Keep the layout simple." stay inside Improve.
        "improve": "- Typography: increase contrast between headline and body.\n"
        "- Keep the layout simple. Remove the second logo placeholder.",
        "notes": "Print at A2; leave 3 mm bleed.",
    }
    assert parsed.missing == []
    assert parsed.extra == {}
    assert parsed.preamble == "Here is the design brief for your poster."


def test_markdown_bold_inline_with_synonyms_and_extra_section():
    parsed = parse_brief(MARKDOWN_BOLD)

    assert parsed.preamble == "Design Brief: Summer Jazz Night"
    assert parsed.sections["layout"] == "Asymmetric two-column layout, text on the left third."
    assert parsed.sections["style"] == "Mid-century modern."
    assert parsed.sections["color_palette"] == "Mustard #E1A730, navy #1B2A41, cream #F4EBD9."
    assert parsed.sections["typography"] == "Geometric sans for the headline; serif for details."
    assert parsed.sections["keep"] == "The circular sun motif."
    # Bold sub-labels inside a bullet are content, with the markdown removed.
    assert parsed.sections["improve"] == (
        "- Hierarchy: make the date the second read.\n- Tighten the spacing between lines."
    )
    assert parsed.extra == {"Call to action": "Add a clear ticket line at the bottom."}
    assert parsed.sections["notes"] == (
        "Keep everything within safe margins.\nCall to action: Add a clear ticket line at the bottom."
    )
    assert parsed.missing == []


def test_hash_headings_missing_sections_and_extra():
    parsed = parse_brief(HASH_HEADINGS)

    assert parsed.sections["layout"] == "The poster uses a rule-of-thirds grid."
    # A deeper "####" heading is a sub-heading of Style, not a new section.
    assert parsed.sections["style"] == "Flat vector illustration.\n\nDetails\nSoft shadows only."
    assert parsed.sections["color_palette"] == "- #FFFFFF background\n- #222222 text"
    assert parsed.sections["typography"] == "Bold display serif."
    assert parsed.sections["keep"] == ""
    assert parsed.sections["improve"] == "- Add more white space around the headline."
    assert parsed.extra == {"Imagery": "Replace the stock photo with an illustrated skyline."}
    assert parsed.sections["notes"] == "Imagery: Replace the stock photo with an illustrated skyline."
    # Notes is flagged as left out even though it now carries the extra section.
    assert parsed.missing == ["keep", "notes"]


def test_numbered_headings_with_em_dash_and_numbered_sub_items():
    parsed = parse_brief(NUMBERED_DASH)

    assert parsed.sections == {
        "layout": "Centered stack with generous top margin.",
        "style": "Swiss minimalism.",
        "color_palette": "Red #D62828 and black on white.",
        "typography": "Helvetica-like grotesk, bold headline, 3 sizes max.",
        "keep": "The red bar across the top.",
        # Sub-items numbered from 1 again that name other sections belong to Improve.
        "improve": "- Typography: reduce the number of weights.\n- Layout: align the footer to the grid.",
        "notes": "Export as PDF/X-1a.",
    }
    assert parsed.missing == []


def test_numbered_paren_headings_with_qualifier_and_nested_markers():
    parsed = parse_brief(NUMBERED_PAREN)

    assert parsed.sections["layout"] == "Modular grid.\n- The headline spans four columns."
    assert parsed.sections["style"] == "Brutalist."
    assert parsed.sections["color_palette"] == "- #000000"
    assert parsed.sections["typography"] == "Mono."
    assert parsed.sections["improve"] == (
        "- Give the headline more air.\n- Align the footer to the baseline grid."
    )
    assert parsed.sections["notes"] == "n/a"
    assert parsed.missing == ["keep"]
    assert parsed.extra == {}


def test_inline_dash_headings():
    parsed = parse_brief(INLINE_DASH)

    assert parsed.sections == {
        "layout": "Headline top-left, image bleeding off the right edge.",
        "style": "Bold Memphis shapes.",
        "color_palette": "Pink #FF6FB5, yellow #FFD23F.",
        "typography": "Rounded sans.",
        "keep": "Playful shapes.",
        "improve": "Reduce clutter; the layout feels busy.",
        "notes": "Keep the layout simple.",
    }
    assert parsed.missing == []


def test_bullet_headings_with_indented_sub_bullets():
    parsed = parse_brief(BULLET_HEADINGS)

    # Indented bullets stay nested under Layout, even "Keep:" which looks like a heading.
    assert parsed.sections["layout"] == (
        "Poster split into a top image band (60%) and a bottom text band.\n"
        "  - Typography sits on a 4 px baseline grid.\n"
        "  - Keep: margins at 40 px."
    )
    assert parsed.sections["style"] == "Editorial photography, high contrast."
    assert parsed.sections["color_palette"] == "Black, white and a single accent #FF5A36."
    assert parsed.sections["typography"] == "Bold grotesk headline; light body."
    assert parsed.sections["keep"] == "The photo crop."
    assert parsed.sections["improve"] == "Raise the headline; add a thin rule under it."
    assert parsed.sections["notes"] == "Check legibility at thumbnail size."
    assert parsed.missing == []


def test_out_of_order_and_duplicate_headings_are_merged():
    parsed = parse_brief(OUT_OF_ORDER_DUPLICATES)

    assert parsed.sections["typography"] == "Serif headline.\nBody text at 12 pt."
    assert parsed.sections["layout"] == "Centered."
    assert parsed.sections["improve"] == (
        "- Keep the layout simple.\n- Layout: move the date up.\n- Colors should be warmer."
    )
    assert parsed.sections["keep"] == "Logo area."
    assert parsed.sections["style"] == "Minimal."
    assert parsed.missing == ["color_palette", "notes"]
    assert parsed.sections["color_palette"] == ""
    assert parsed.sections["notes"] == ""


def test_bold_title_only_headings_with_multiline_extra():
    parsed = parse_brief(BOLD_TITLE_ONLY)

    assert parsed.sections["layout"] == "- Headline: top third\n- Date: bottom"
    assert parsed.sections["style"] == "Grunge."
    assert parsed.sections["color_palette"] == "Olive #556B2F."
    assert parsed.sections["typography"] == "Headline: Impact-like."
    assert parsed.sections["keep"] == "The torn edge."
    assert parsed.sections["improve"] == "More contrast."
    assert parsed.extra == {"Imagery": "Use a torn paper texture.\nAdd a single coffee-stain mark."}
    assert parsed.sections["notes"] == (
        "Test print on kraft paper.\nImagery:\nUse a torn paper texture.\nAdd a single coffee-stain mark."
    )
    assert parsed.missing == []


def test_chinese_numeral_headings_and_full_width_punctuation():
    parsed = parse_brief(CHINESE_NUMERALS, "zh")

    assert parsed.sections == {
        "layout": "采用三栏网格，四周留白约 6%。",
        "style": "国潮插画风格，融合传统纹样。",
        "color_palette": "- 朱红 #C8102E\n- 墨黑 #1A1A1A",
        "typography": "标题使用粗黑体，正文使用宋体。",
        "keep": "- 保留原有的祥云图案",
        # "保留原有标题字体" starts with a heading word but is a sentence.
        "improve": "- 加大标题字号。\n- 保留原有标题字体，但增加字间距。",
        "notes": "适合竖版 A3 印刷。",
    }
    assert parsed.missing == []


def test_chinese_answer_with_english_headings_and_bold():
    parsed = parse_brief(CHINESE_MIXED, "zh")

    assert parsed.sections["layout"] == "上下结构，标题居上。"
    assert parsed.sections["color_palette"] == "主色为深蓝 #003366，点缀金色 #D4AF37。"
    assert parsed.sections["typography"] == "标题用无衬线粗体。"
    assert parsed.sections["style"] == "简约商务风。"
    assert parsed.sections["keep"] == "保留左下角的二维码位置。"
    assert parsed.sections["improve"] == "- 增加留白。"
    assert parsed.missing == ["notes"]


def test_chinese_numbered_headings():
    parsed = parse_brief(CHINESE_NUMBERED, "中文")

    assert parsed.sections["layout"] == "居中对称，主标题位于上三分之一。"
    assert parsed.sections["style"] == "水墨写意。"
    assert parsed.sections["color_palette"] == "黑白灰为主，印章红 #B22222 点缀。"
    assert parsed.sections["typography"] == "标题用书法体，副标题用细宋体。"
    assert parsed.sections["keep"] == "远山的留白。"
    assert parsed.sections["improve"] == "- 日期信息字号太小。"
    assert parsed.sections["notes"] == "无。"
    assert parsed.missing == []


def test_truncated_answer_keeps_partial_section_and_flags_the_rest():
    parsed = parse_brief(TRUNCATED)

    assert parsed.sections["layout"] == "Centered."
    assert parsed.sections["style"] == "Bauhaus."
    assert parsed.sections["typography"] == "- Headline in a condensed bold sans, about 1"
    assert parsed.missing == ["color_palette", "keep", "improve", "notes"]


@pytest.mark.parametrize("text", ["", "   \n\n  ", "asdf ### *** 1. 2. ::::", "The poster looks nice.", None])
def test_empty_or_garbage_input_flags_everything_missing(text):
    parsed = parse_brief(text)

    assert isinstance(parsed, ParsedBrief)
    assert list(parsed.sections) == list(SECTION_KEYS)
    assert all(value == "" for value in parsed.sections.values())
    assert parsed.missing == list(SECTION_KEYS)
    assert parsed.extra == {}


def test_headingless_text_is_kept_as_preamble():
    parsed = parse_brief("The poster looks nice.\n\nMaybe use bigger type.")
    assert parsed.preamble == "The poster looks nice.\n\nMaybe use bigger type."


def test_windows_line_endings():
    parsed = parse_brief("Layout:\r\nCentered.\r\nStyle:\r\nFlat.\r\n")
    assert parsed.sections["layout"] == "Centered."
    assert parsed.sections["style"] == "Flat."


# ---------------------------------------------------------------------------------------------
# Individual heading forms and synonyms
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout_heading, style_heading",
    [
        ("Layout:", "Style:"),
        ("- Layout:", "- Style:"),
        ("**Layout**", "**Style**"),
        ("**Layout:**", "**Style:**"),
        ("**Layout**:", "**Style**:"),
        ("### Layout", "### Style"),
        ("## 1. Layout", "## 2. Style"),
        ("1. Layout —", "2. Style —"),
        ("1) Layout:", "2) Style:"),
        ("1. **Layout:**", "2. **Style:**"),
        ("LAYOUT:", "STYLE:"),
        ("Layout (grid and margins):", "Style:"),
        ("布局：", "风格："),
        ("**布局**", "**风格**"),
        ("一、布局", "二、风格"),
        ("（一）布局", "（二）风格"),
        ("1. 布局", "2. 风格"),
        ("1.布局", "2.风格"),
        ("Layout：", "风格："),
    ],
)
def test_heading_forms_on_their_own_line(layout_heading, style_heading):
    text = f"{layout_heading}\nTwelve-column grid.\n\n{style_heading}\nSwiss minimalism."
    parsed = parse_brief(text, "zh" if "布局" in layout_heading else "en")

    assert parsed.sections["layout"] == "Twelve-column grid."
    assert parsed.sections["style"] == "Swiss minimalism."
    assert parsed.missing == ["color_palette", "typography", "keep", "improve", "notes"]


@pytest.mark.parametrize(
    "layout_heading, style_heading",
    [
        ("Layout:", "Style:"),
        ("Layout -", "Style -"),
        ("Layout —", "Style —"),
        ("- Layout:", "- Style:"),
        ("**Layout:**", "**Style:**"),
        ("**Layout**:", "**Style**:"),
        ("1. Layout —", "2. Style —"),
        ("1) Layout:", "2) Style:"),
        ("布局：", "风格："),
        ("一、布局：", "二、风格："),
    ],
)
def test_heading_forms_with_inline_content(layout_heading, style_heading):
    text = f"{layout_heading} Twelve-column grid.\n{style_heading} Swiss minimalism."
    parsed = parse_brief(text)

    assert parsed.sections["layout"] == "Twelve-column grid."
    assert parsed.sections["style"] == "Swiss minimalism."


@pytest.mark.parametrize(
    "title, key",
    [
        ("Colour palette", "color_palette"),
        ("Colors", "color_palette"),
        ("Palette", "color_palette"),
        ("Color scheme", "color_palette"),
        ("Fonts", "typography"),
        ("Type", "typography"),
        ("Composition", "layout"),
        ("What to keep", "keep"),
        ("Keep as is", "keep"),
        ("Improvements", "improve"),
        ("What to improve", "improve"),
        ("Suggestions", "improve"),
        ("Additional notes", "notes"),
        ("Other notes", "notes"),
        ("配色方案", "color_palette"),
        ("字体/排版", "typography"),
        ("改进建议", "improve"),
    ],
)
def test_synonyms_map_to_section_keys(title, key):
    parsed = parse_brief(f"{title}:\nThe body text.")

    assert parsed.sections[key] == "The body text."
    assert parsed.missing == [k for k in SECTION_KEYS if k != key]


@pytest.mark.parametrize(
    "sentence",
    [
        "Keep the layout simple.",
        "Layout-wise, the poster is crowded.",
        "Type size should increase.",
        "Style over substance is a risk here.",
        "Notes of orange would warm it up.",
        "保留原有的标题字体。",
        "布局合理，层次清晰。",
    ],
)
def test_heading_word_inside_a_sentence_does_not_start_a_section(sentence):
    text = f"Improve:\n{sentence}\nAdd more air around the date."
    parsed = parse_brief(text)

    assert parsed.sections["improve"] == f"{sentence}\nAdd more air around the date."
    assert parsed.missing == [k for k in SECTION_KEYS if k != "improve"]


def test_bullet_markers_are_normalised():
    text = (
        "Improve:\n"
        "* star item\n"
        "• round bullet\n"
        "· middle dot\n"
        "+ plus item\n"
        "1. numbered item\n"
        "2) paren item\n"
        "(3) wrapped item\n"
        "    - nested item\n"
        "-10% is not a bullet\n"
        "1.5x larger is not a list item"
    )
    parsed = parse_brief(text)

    assert parsed.sections["improve"] == (
        "- star item\n- round bullet\n- middle dot\n- plus item\n- numbered item\n- paren item\n"
        "- wrapped item\n  - nested item\n-10% is not a bullet\n1.5x larger is not a list item"
    )


def test_extra_section_titles_merge_case_insensitively():
    text = "Layout:\nGrid.\n\nImagery:\n- One photo.\n\nStyle:\nFlat.\n\nIMAGERY:\n- No clip art."
    parsed = parse_brief(text)

    assert parsed.extra == {"Imagery": "- One photo.\n- No clip art."}
    assert parsed.sections["notes"] == "Imagery:\n- One photo.\n- No clip art."
    assert parsed.sections["style"] == "Flat."
    assert "notes" in parsed.missing


def test_label_lines_inside_a_section_are_not_extra_sections():
    # "Headline: ..." is content in a plain answer; only a title on its own line starts an extra.
    text = "Layout:\nGrid.\n\nTypography:\nHeadline: condensed sans\nBody: 12 pt serif\n\nKeep:\nThe photo."
    parsed = parse_brief(text)

    assert parsed.sections["typography"] == "Headline: condensed sans\nBody: 12 pt serif"
    assert parsed.extra == {}


def test_extra_labels_in_notes_use_chinese_colon_for_chinese():
    text = "布局：\n三栏。\n\n号召性用语：\n立即购票。"
    parsed = parse_brief(text, "zh")

    assert parsed.extra == {"号召性用语": "立即购票。"}
    assert parsed.sections["notes"] == "号召性用语：立即购票。"


def test_normalize_language():
    assert normalize_language("zh") == "zh"
    assert normalize_language("zh-CN") == "zh"
    assert normalize_language("中文") == "zh"
    assert normalize_language("Chinese") == "zh"
    assert normalize_language("en") == "en"
    assert normalize_language("English") == "en"
    assert normalize_language(None) == "en"


# ---------------------------------------------------------------------------------------------
# format_brief round trip
# ---------------------------------------------------------------------------------------------


def test_format_brief_canonical_text():
    sections = {"layout": "- Grid\n- Margins", "style": "Flat.", "notes": "A2 print."}
    text = format_brief(sections)

    assert text == (
        "Layout:\n- Grid\n- Margins\n\nStyle:\nFlat.\n\nColor palette:\n\nTypography:\n\n"
        "Keep:\n\nImprove:\n\nNotes:\nA2 print."
    )


def test_format_brief_uses_chinese_titles():
    text = format_brief({"layout": "三栏。", "typography": "黑体。"}, "zh")

    assert text.startswith("布局：\n三栏。\n\n风格：\n\n配色：\n\n字体/排版：\n黑体。")
    for key in SECTION_KEYS:
        assert f"{SECTION_TITLES['zh'][key]}：" in text


@pytest.mark.parametrize("name", sorted(ALL_SAMPLES))
def test_format_then_parse_round_trip(name):
    language = _language_of(name)
    parsed = parse_brief(ALL_SAMPLES[name], language)

    for output_language in ("en", "zh"):
        reparsed = parse_brief(format_brief(parsed.sections, output_language), language)
        assert reparsed.sections == parsed.sections


def test_round_trip_of_edited_sections():
    edited = {
        "layout": "- Headline top third\n  - nested detail\n- Date bottom-left",
        "style": "Risograph.\n\nSecond paragraph.",
        "color_palette": "",
        "typography": "Headline: condensed sans",
        "keep": "- Keep the layout simple.",
        "improve": "- Typography: bigger headline\n- Layout: move the logo",
        "notes": "号召性用语：立即购票。",
    }
    assert parse_brief(format_brief(edited)).sections == edited
    assert parse_brief(format_brief(edited, "zh"), "zh").sections == edited


def test_format_brief_normalises_unclean_sections():
    parsed = parse_brief(format_brief({"improve": "* **Bigger** headline\n\n\n\n• More air  "}))
    assert parsed.sections["improve"] == "- Bigger headline\n\n- More air"


# ---------------------------------------------------------------------------------------------
# compact_brief
# ---------------------------------------------------------------------------------------------

FULL_SECTIONS = parse_brief(PLAIN).sections


def test_compact_brief_full_text():
    text = compact_brief(FULL_SECTIONS)

    assert text == (
        "Layout: Single centred column on a 12-column grid, 8% outer margins; "
        "Headline in the top third, date block anchored bottom-left"
        " | Style: Retro risograph print with grainy texture"
        " | Color palette: Deep teal #0F4C5C; Warm orange #E36414"
        " | Typography: Headline: condensed bold sans, about 15% of poster height; "
        "Body: regular humanist sans, 14 pt"
        " | Keep: The strong diagonal of the saxophone illustration"
        " | Improve: Typography: increase contrast between headline and body; "
        "Keep the layout simple. Remove the second logo placeholder"
        " | Notes: Print at A2; leave 3 mm bleed"
    )
    assert "\n" not in text and "**" not in text


def test_compact_brief_is_deterministic():
    assert compact_brief(FULL_SECTIONS, 300) == compact_brief(dict(FULL_SECTIONS), 300)
    reordered = {key: FULL_SECTIONS[key] for key in reversed(SECTION_KEYS)}
    assert compact_brief(reordered, 300) == compact_brief(FULL_SECTIONS, 300)


@pytest.mark.parametrize("budget", [20, 60, 120, 200, 300, 450, 600])
def test_compact_brief_respects_budget_and_word_boundaries(budget):
    full = compact_brief(FULL_SECTIONS, 10_000)
    text = compact_brief(FULL_SECTIONS, budget)

    assert 0 < len(text) <= budget
    words_of_full = set(re.split(r"[\s;|]+", full))
    for word in re.split(r"[\s;|]+", text.rstrip("…")):
        if word:
            assert word in words_of_full, f"{word!r} was cut mid-word"


def test_compact_brief_drops_notes_and_keep_before_layout_and_typography():
    full = compact_brief(FULL_SECTIONS, 10_000)
    without_notes_keep = full.split(" | Keep:")[0] + " | Improve:" + full.split(" | Improve:")[1].split(" | Notes:")[0]
    text = compact_brief(FULL_SECTIONS, len(without_notes_keep))

    assert text == without_notes_keep
    assert "Keep:" not in text.split(" | Improve:")[0] and "Notes:" not in text

    tight = compact_brief(FULL_SECTIONS, 200)
    assert tight.startswith("Layout: Single centred column")
    assert "Typography:" in tight
    assert "Notes:" not in tight and "| Keep:" not in tight and "| Improve:" not in tight


def test_compact_brief_first_pass_keeps_one_item_per_design_section():
    text = compact_brief(FULL_SECTIONS, 330)
    assert text == (
        "Layout: Single centred column on a 12-column grid, 8% outer margins"
        " | Style: Retro risograph print with grainy texture"
        " | Color palette: Deep teal #0F4C5C"
        " | Typography: Headline: condensed bold sans, about 15% of poster height"
        " | Improve: Typography: increase contrast between headline and body"
    )
    assert COMPACT_DROP_ORDER[:2] == ("notes", "keep")


def test_compact_brief_cuts_chinese_at_punctuation_and_uses_language_titles():
    sections = parse_brief(CHINESE_NUMERALS, "zh").sections

    # Everything but the first Layout item is dropped, then that item is cut after "，".
    assert compact_brief(sections, 16, language="zh") == "布局: 采用三栏网格…"
    assert compact_brief(sections, 40, language="zh") == "布局: 采用三栏网格，四周留白约 6%"
    full = compact_brief(sections, 10_000, language="zh")
    assert full.startswith("布局: 采用三栏网格，四周留白约 6% | 风格: 国潮插画风格，融合传统纹样 | 配色: 朱红 #C8102E; 墨黑 #1A1A1A")
    assert "字体/排版: " in full and "保留: " in full and "改进: " in full and "备注: " in full


def test_compact_brief_edge_cases():
    assert compact_brief({}) == ""
    assert compact_brief(FULL_SECTIONS, 0) == ""
    assert compact_brief({"layout": "Supercalifragilisticexpialidocious"}, 12) == "Layout…"
    assert compact_brief({"notes": "- only notes"}) == "Notes: only notes"
    # Only CJK characters and no punctuation in reach: cut between characters rather than return nothing.
    assert compact_brief({"layout": "标题居中对称排列在画面上方"}, 12, language="zh") == "布局: 标题居中对称排…"


def test_repeated_title_inside_improve_is_a_sub_item_in_inline_answers():
    text = (
        "Layout: Centered.\n"
        "Typography: Bold sans.\n"
        "Improve: Three changes.\n"
        "Typography: make the headline larger.\n"
        "Layout: move the date up.\n"
        "Notes: Print at A3."
    )
    parsed = parse_brief(text)

    assert parsed.sections["typography"] == "Bold sans."
    assert parsed.sections["layout"] == "Centered."
    assert parsed.sections["improve"] == (
        "Three changes.\nTypography: make the headline larger.\nLayout: move the date up."
    )
    assert parsed.sections["notes"] == "Print at A3."


def test_table_of_contents_list_does_not_become_the_headings():
    text = "This brief covers:\n- Layout\n- Style\n\nLayout:\nGrid.\n\nStyle:\nFlat."
    parsed = parse_brief(text)

    assert parsed.preamble == "This brief covers:\n- Layout\n- Style"
    assert parsed.sections["layout"] == "Grid."
    assert parsed.sections["style"] == "Flat."
