"""How long each text a user types may be, checked before anything is tokenized.

The prompt is capped at 1024 tokens anyway (core/prompt/builder.py, `plan_sequence_length`),
but counting tokens needs the tokenizer, and a 5 MB description took it 20 s before the
"too many tokens" message; a page that re-checked on every rerun then took 25 s per click.
These character limits are far above any real poster text and cost microseconds to check,
so absurd input is refused at once with a message that names the field.

Compose (core/services/compose.py), brand kits (core/prompt/brand.py), recalled recipes
(core/recipe.py), brief notes (core/brief/prompt.py) and the pages' `max_chars` all read
them from here.
"""

from __future__ import annotations

MAX_NAME_CHARS = 200  # product name
MAX_SHORT_CHARS = 200  # offer headline, price, call to action, tone: drawn exactly, so short
MAX_DESCRIPTION_CHARS = 2_000
# A generated brief's seven sections run 400-800 tokens (core/brief/runtime.py), about
# 4,000 characters of English at most; anything longer could not fit the prompt either.
MAX_BRIEF_CHARS = 4_000
MAX_BENEFITS = 10
MAX_BENEFIT_CHARS = 120  # one phrase, drawn exactly
# The Compose text area holds all benefits: ten phrases, their line breaks and a bullet each.
MAX_BENEFITS_TEXT_CHARS = MAX_BENEFITS * (MAX_BENEFIT_CHARS + 4)
MAX_STYLE_CHARS = 400
MAX_NEGATIVE_CHARS = 2_000
# A kit's block at its own limits (core/prompt/brand.py: a 200-character wordmark, twelve
# 80-character colour names with their hex, 400 characters of fonts) is about 1,750
# characters; the block stays editable in Compose, so a little room is left for edits.
MAX_BRAND_BLOCK_CHARS = 2_000
# Notes to the art director go into the brief model's prompt (core/brief/prompt.py): a few
# sentences. The brief itself is capped at MAX_BRIEF_CHARS, so its notes are too.
MAX_NOTES_CHARS = 1_500
# One section of a brief as edited on the Brief page; Compose takes at most MAX_BRIEF_CHARS
# of the whole brief, so a section is never longer than that.
MAX_BRIEF_SECTION_CHARS = MAX_BRIEF_CHARS
# What a recalled recipe (core/recipe.py) may carry beyond the typed fields. Its exact strings
# are the product name, offer, price, CTA and benefits, each within the limits above.
MAX_EXACT_STRINGS = MAX_BENEFITS + 4
MAX_EXACT_STRING_CHARS = max(MAX_NAME_CHARS, MAX_SHORT_CHARS, MAX_BENEFIT_CHARS)
# Its final prompt is the builder's template around every field at its limit: under 14,000
# characters in either language (tests/test_text_limits.py builds that prompt).
MAX_PROMPT_CHARS = 16_000


class TextTooLongError(ValueError):
    """A text over its limit; the message names the field and the limit."""


def check_length(label: str, text: str, limit: int) -> None:
    length = len(text or "")
    if length > limit:
        raise TextTooLongError(f"{label}: {length:,} characters, over the limit of {limit:,}. Shorten it.")


def check_lengths(
    product, tone: str = "", style: str = "", brief: str = "", negative: str = "", brand_block: str = ""
) -> None:
    """Every text of one poster recipe against its limit. `product` is a
    core.prompt.builder.ProductFields. Raises TextTooLongError for the first one over."""
    check_length("Product name", product.name, MAX_NAME_CHARS)
    check_length("Description", product.description, MAX_DESCRIPTION_CHARS)
    check_length("Offer headline", product.offer, MAX_SHORT_CHARS)
    check_length("Price", product.price, MAX_SHORT_CHARS)
    check_length("CTA text", product.cta, MAX_SHORT_CHARS)
    benefits = tuple(product.benefits or ())
    if len(benefits) > MAX_BENEFITS:
        raise TextTooLongError(f"Benefits: {len(benefits)} lines, over the limit of {MAX_BENEFITS}. Keep the ones that matter most.")
    for number, benefit in enumerate(benefits, start=1):
        check_length(f"Benefit {number}", benefit, MAX_BENEFIT_CHARS)
    check_length("Tone", tone, MAX_SHORT_CHARS)
    check_length("Style keywords", style, MAX_STYLE_CHARS)
    check_length("Brief text", brief, MAX_BRIEF_CHARS)
    check_length("Negative prompt", negative, MAX_NEGATIVE_CHARS)
    check_length("Brand block", brand_block, MAX_BRAND_BLOCK_CHARS)
