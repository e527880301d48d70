"""A poster's recipe: everything needed to draw it again, as one plain object.

One `Recipe` travels the whole way: Compose builds it, storage/recipes.py writes it to the
prompt and job rows and reads it back, the worker draws from it, an exported PNG carries
it as JSON, a PNG import brings it back into Compose, a rerun queues a copy of it, and the
compare table lists it. Where it came from (ids, lineage, the strategy the worker used,
timings) is a separate `Provenance`: not needed to redraw, and never compared.

Each field declares, in its metadata, its label, its JSON type, and its allowed range or
choices, so the JSON check, the compare rows and the gallery's table are all read off the
dataclass: a new field is covered by adding it here (plus its column), nowhere else.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import MISSING, asdict, dataclass, field, fields

from core.prompt.builder import CUSTOM_NEGATIVE, LANGUAGES, NEGATIVE_PROMPTS, TONES, ProductFields
from core.prompt.limits import (
    MAX_EXACT_STRING_CHARS,
    MAX_EXACT_STRINGS,
    MAX_PROMPT_CHARS,
    TextTooLongError,
    check_length,
    check_lengths,
)
from core.prompt.presets import PRESETS

RECIPE_FORMAT = "qwen-poster-studio/recipe"
RECIPE_VERSION = 1
PRODUCT_KEYS = ("name", "description", "offer", "price", "cta", "benefits", "show_name")

# The limits Compose offers and every recalled recipe must keep to (pages/compose.py reads
# its widget bounds from here too).
STEPS_RANGE = (1, 150)
CFG_RANGE = (1.0, 20.0)
MAX_SEED = 2**31 - 1
SIZE_RANGE = (16, 4096)  # pixels; every preset is well inside
SEQUENCE_RANGE = (1, 1024)  # the text encoder's hard limit (core/prompt/builder.py)


class RecipeError(ValueError):
    """A recipe (from a PNG or a file) that cannot be used; the message says why."""


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " · ".join(_text(v.get("text") if isinstance(v, dict) else v) for v in value) or "—"
    return str(value)


def _spec(label: str, json: tuple, *, rows=None, value=None, range=None, choices=None, long=False,
          shown_in=None, **default):
    """A recipe field: `label` names it in the compare and gallery tables, `json` is the
    types its JSON may have, `range` (low, high) or `choices` what it may hold. `rows`
    overrides the one row (label, value-of-recipe) the tables show for it; `shown_in` names
    the field whose row shows this one too; `long` text the gallery shows in a box of its
    own rather than in its table."""
    metadata = {"label": label, "json": json, "range": range, "choices": choices, "rows": rows, "value": value,
                "long": long, "shown_in": shown_in}
    return field(metadata=metadata, **default)


def _product_rows():
    def part(key):
        return lambda r: r.product.get(key)

    return (
        ("Product name", part("name")),
        ("Description", part("description")),
        ("Offer headline", part("offer")),
        ("Price", part("price")),
        ("CTA", part("cta")),
        ("Benefits", lambda r: " · ".join(r.product.get("benefits") or [])),
        ("Show name", part("show_name")),
    )


def _preset_label(key: str) -> str:
    preset = PRESETS.get(key)
    return f"{preset.label} ({preset.aspect})" if preset else key


@dataclass(frozen=True, kw_only=True)
class Recipe:
    # Field order is the order a designer reads a poster: what it says, how it looks, how
    # it was drawn. The tables list the fields in this order.
    product: dict = _spec("Product", (dict,), rows=_product_rows())
    tone: str = _spec("Tone", (str,), choices=TONES)
    style_keywords: str = _spec("Style keywords", (str,))
    language: str = _spec("Language", (str,), choices=LANGUAGES, value=lambda r: LANGUAGES.get(r.language, r.language))
    brief_id: int | None = _spec("Saved brief", (int, type(None)), value=lambda r: None if r.brief_id is None else f"#{r.brief_id}")
    brief_text: str = _spec("Brief", (str,), long=True)
    brand_kit_id: int | None = _spec("Brand kit", (int, type(None)), value=lambda r: None if r.brand_kit_id is None else f"#{r.brand_kit_id}")
    brand_block: str = _spec("Brand block", (str,), long=True)
    preset_key: str = _spec("Preset", (str,), choices=PRESETS, value=lambda r: _preset_label(r.preset_key))
    draft_size: bool = _spec("Draft size", (bool,))
    width: int = _spec("Size", (int,), range=SIZE_RANGE, value=lambda r: f"{r.width}×{r.height}")
    height: int = _spec("Height", (int,), range=SIZE_RANGE, shown_in="width")
    steps: int = _spec("Steps", (int,), range=STEPS_RANGE)
    true_cfg_scale: float = _spec("true_cfg_scale", (int, float), range=CFG_RANGE)
    seed: int = _spec("Seed", (int,), range=(0, MAX_SEED))
    model_id: str = _spec("Model", (str,))
    demo_models: bool = _spec("Demo models", (bool,))
    # Which named negative prompt was picked; recipes and rows from before it say "custom".
    negative_preset: str = _spec(
        "Negative prompt preset", (str,), choices=(*NEGATIVE_PROMPTS, CUSTOM_NEGATIVE), default=CUSTOM_NEGATIVE,
        value=lambda r: NEGATIVE_PROMPTS[r.negative_preset][0] if r.negative_preset in NEGATIVE_PROMPTS else "typed by hand",
    )
    # what the prompt builder made of it
    negative_prompt: str = _spec("Negative prompt", (str,), long=True)
    prompt: str = _spec("Final prompt", (str,), long=True)
    exact_strings: list = _spec("Exact text", (list,))
    token_count: int = _spec(
        "Tokens", (int,), range=(0, SEQUENCE_RANGE[1]),
        value=lambda r: f"{r.token_count} (max_sequence_length {r.max_sequence_length})",
    )
    max_sequence_length: int = _spec("max_sequence_length", (int,), range=SEQUENCE_RANGE, shown_in="token_count")
    builder_version: str = _spec("Prompt builder", (str,))


@dataclass(frozen=True)
class Provenance:
    """Where a recipe came from. Not needed to redraw; kept for lineage and the record."""

    poster_id: int | None = None
    job_id: int | None = None
    parent_job_id: int | None = None
    variant_group: str = ""
    variant_index: int = 0
    sha256: str = ""
    brand_kit_name: str | None = None  # None when no kit was used, or it was deleted since
    strategy: str = ""  # how the worker actually ran the pipeline (memory strategy, compile, fast mode)
    worker_id: str = ""  # the worker that drew it (host:pid:token; storage/workers.py has its name)
    timings: dict = field(default_factory=dict)


def product_of(product: dict) -> dict:
    """A product dict with every key, in the one shape recipes hold."""
    full = {key: product.get(key, "") for key in PRODUCT_KEYS}
    full["benefits"] = list(product.get("benefits") or [])
    full["show_name"] = bool(product.get("show_name", True))
    return full


def recipe_to_dict(recipe: Recipe, provenance: Provenance | None = None) -> dict:
    data = {"format": RECIPE_FORMAT, "version": RECIPE_VERSION, "recipe": asdict(recipe)}
    if provenance is not None:
        data["provenance"] = asdict(provenance)
    return data


def _has_default(f) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def _number_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_value(name: str, value) -> None:
    """Raise RecipeError when `value` is not what field `name` may hold: its JSON type,
    its range, its choices. Compose and the PNG import both use it."""
    meta = next(f for f in fields(Recipe) if f.name == name).metadata
    types = meta["json"]
    # In Python, True is an int too; a boolean where a number belongs is still wrong.
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        raise RecipeError(f"The recipe's {name!r} has the wrong type ({type(value).__name__}).")
    if meta["range"] is not None and value is not None:
        low, high = meta["range"]
        if not low <= value <= high:
            raise RecipeError(
                f"{meta['label']} must be from {_number_text(low)} to {_number_text(high)}; "
                f"this recipe has {_number_text(value)}."
            )
    if meta["choices"] is not None and value not in meta["choices"]:
        raise RecipeError(
            f"The recipe's {meta['label'].lower()} {value!r} is not one this studio offers "
            f"({', '.join(meta['choices'])})."
        )


def _check_product(product: dict) -> dict:
    unknown = [key for key in product if key not in PRODUCT_KEYS]
    if unknown:
        raise RecipeError(f"The recipe's product has fields this studio does not know: {', '.join(unknown)}.")
    for key in ("name", "description", "offer", "price", "cta"):
        if not isinstance(product.get(key, ""), str):
            raise RecipeError(f"The recipe's product {key!r} must be text.")
    benefits = product.get("benefits", [])
    if not isinstance(benefits, list) or not all(isinstance(b, str) for b in benefits):
        raise RecipeError("The recipe's product benefits must be a list of text lines.")
    if not isinstance(product.get("show_name", True), bool):
        raise RecipeError("The recipe's product 'show_name' must be true or false.")
    return product_of(product)


def _check_exact_strings(items: list) -> list:
    if not all(isinstance(s, dict) and isinstance(s.get("role"), str) and isinstance(s.get("text"), str) for s in items):
        raise RecipeError("The recipe's exact text must be a list of {role, text} entries.")
    return [{"role": s["role"], "text": s["text"]} for s in items]


def _provenance(raw) -> Provenance:
    """Provenance is only a claim: anything malformed becomes an empty one, never an error."""
    if not isinstance(raw, dict):
        return Provenance()
    expected = {"poster_id": (int, type(None)), "job_id": (int, type(None)), "parent_job_id": (int, type(None)),
                "variant_group": (str,), "variant_index": (int,), "sha256": (str,),
                "brand_kit_name": (str, type(None)), "strategy": (str,), "timings": (dict,)}
    values = {}
    for name, types in expected.items():
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, types):
                return Provenance()
            values[name] = value
    return Provenance(**values)


def recipe_from_dict(data) -> tuple[Recipe, Provenance]:
    """Check and read a recipe written by `recipe_to_dict`. Raises RecipeError naming the
    first problem, so 'broken' is never silently half-imported."""
    if not isinstance(data, dict) or data.get("format") != RECIPE_FORMAT:
        raise RecipeError("This is not a Qwen Poster Studio recipe (its 'format' field is missing or different).")
    version = data.get("version")
    if version != RECIPE_VERSION:
        raise RecipeError(
            f"This recipe is version {version!r}; this studio reads version {RECIPE_VERSION}. "
            "Update the studio, or re-export the poster from the studio that made it."
        )
    body = data.get("recipe")
    if not isinstance(body, dict):
        raise RecipeError("The recipe's 'recipe' section is missing.")
    missing = [f.name for f in fields(Recipe) if f.name not in body and not _has_default(f)]
    if missing:
        raise RecipeError(f"The recipe is incomplete: it lacks {', '.join(missing)}.")
    values = {}
    for f in fields(Recipe):
        if f.name in body:
            check_value(f.name, body[f.name])
            values[f.name] = body[f.name]
    values["product"] = _check_product(values["product"])
    values["exact_strings"] = _check_exact_strings(values["exact_strings"])
    recipe = Recipe(**values)
    # A recalled recipe refills Compose: the same limits as typed text (core/prompt/limits.py).
    try:
        product = recipe.product
        check_lengths(
            ProductFields(**{**product, "benefits": tuple(product["benefits"])}),
            recipe.tone,
            recipe.style_keywords,
            recipe.brief_text,
            recipe.negative_prompt,
            recipe.brand_block,
        )
        # The exact strings and the final prompt are only shown and checked, not typed, but a
        # rerun hands the prompt to the tokenizer and the OCR check matches every string.
        if len(recipe.exact_strings) > MAX_EXACT_STRINGS:
            raise TextTooLongError(
                f"Exact text: {len(recipe.exact_strings)} strings, over the limit of {MAX_EXACT_STRINGS}."
            )
        for number, exact in enumerate(recipe.exact_strings, start=1):
            check_length(f"Exact text {number}", exact["text"], MAX_EXACT_STRING_CHARS)
        check_length("Final prompt", recipe.prompt, MAX_PROMPT_CHARS)
    except TextTooLongError as problem:
        raise RecipeError(f"This recipe's text is longer than Compose accepts. {problem}") from None

    # Recipes exported before provenance had its own section wrote it as "source", and the
    # strategy inside the recipe itself.
    provenance = _provenance(data.get("provenance", data.get("source")))
    if not provenance.strategy and isinstance(body.get("strategy"), str):
        provenance = Provenance(**{**provenance.__dict__, "strategy": body["strategy"]})
    return recipe, provenance


# -- showing and comparing ----------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    fields: tuple[str, ...]  # the Recipe fields the row shows
    label: str
    values: list[str]
    differs: bool


def _rows_of(f) -> tuple:
    meta = f.metadata
    if meta["shown_in"] is not None:
        return ()
    if meta["rows"] is not None:
        return meta["rows"]
    return ((meta["label"], meta["value"] or (lambda r, name=f.name: getattr(r, name))),)


def describe(recipe: Recipe, long: bool = True) -> list[tuple[str, str]]:
    """(label, value as text) for the fields of one recipe, long texts too unless asked
    not to: the gallery's recipe table."""
    return [
        (label, _text(read(recipe)))
        for f in fields(Recipe)
        if long or not f.metadata["long"]
        for label, read in _rows_of(f)
    ]


def diff_recipes(recipes: list[Recipe]) -> list[DiffRow]:
    """One row per recipe field (a product has several) with each poster's value;
    `differs` when any two differ."""
    rows = []
    for f in fields(Recipe):
        shown = (f.name, *(g.name for g in fields(Recipe) if g.metadata["shown_in"] == f.name))
        for label, read in _rows_of(f):
            values = [_text(read(recipe)) for recipe in recipes]
            rows.append(DiffRow(fields=shown, label=label, values=values, differs=len(set(values)) > 1))
    return rows


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """The words of `new` against `old` as (kind, text) runs, kind in same/removed/added.
    Whitespace is kept as its own token so the runs join back into both texts exactly."""
    old_tokens = re.findall(r"\s+|[^\s]+", old)
    new_tokens = re.findall(r"\s+|[^\s]+", new)
    runs: list[tuple[str, str]] = []

    def push(kind: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + text)
        else:
            runs.append((kind, text))

    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            push("same", old_tokens[i1:i2])
        else:
            push("removed", old_tokens[i1:i2])
            push("added", new_tokens[j1:j2])
    return runs


# -- back into Compose -------------------------------------------------------------------


def recall_notes(recipe: Recipe, current_builder: str, brief_exists: bool, kit_exists: bool) -> list[str]:
    """What the user should know when a recipe refills Compose on this studio."""
    notes: list[str] = []
    if recipe.brief_id is not None and not brief_exists:
        notes.append(f"Brief #{recipe.brief_id} is not in this studio; its text was put in the brief box instead.")
    if recipe.brand_kit_id is not None and not kit_exists:
        notes.append(f"Brand kit #{recipe.brand_kit_id} is not in this studio; its brand block was kept as text.")
    if recipe.builder_version != current_builder:
        notes.append(
            f"This recipe was built by {recipe.builder_version}; the current builder is {current_builder}, "
            "so the prompt may be worded differently."
        )
    return notes
