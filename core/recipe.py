"""A poster's recipe: everything needed to draw it again, as one plain object.

The recipe is what the gallery compares field by field, what an exported PNG carries as
JSON, what a PNG import brings back into Compose, and what a rerun queues again. It is read
from the database rows (storage.gallery.PosterDetail) and never from a browser session.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field, fields

from core.prompt.presets import PRESETS
from core.prompt.builder import LANGUAGES, TONES

RECIPE_FORMAT = "qwen-poster-studio/recipe"
RECIPE_VERSION = 1
PRODUCT_KEYS = ("name", "description", "offer", "price", "cta", "benefits", "show_name")


class RecipeError(ValueError):
    """A recipe (from a PNG or a file) that cannot be used; the message says why."""


@dataclass(frozen=True)
class Recipe:
    # what was asked for
    product: dict  # name, description, offer, price, cta, benefits (list), show_name
    tone: str
    style_keywords: str
    language: str
    brief_id: int | None
    brief_text: str
    brand_kit_id: int | None
    brand_block: str
    # what the prompt builder made of it
    prompt: str
    negative_prompt: str
    exact_strings: list
    token_count: int
    max_sequence_length: int
    builder_version: str
    # how it was drawn
    preset_key: str
    draft_size: bool
    width: int
    height: int
    steps: int
    true_cfg_scale: float
    seed: int
    model_id: str
    demo_models: bool
    strategy: str = "resident"


@dataclass(frozen=True)
class RecipeSource:
    """Where a recipe came from. Not needed to redraw; kept for lineage and provenance."""

    poster_id: int | None = None
    job_id: int | None = None
    parent_job_id: int | None = None
    variant_group: str = ""
    variant_index: int = 0
    sha256: str = ""
    brand_kit_name: str | None = None


def recipe_from_detail(detail) -> Recipe:
    """The recipe of a stored poster (a storage.gallery.PosterDetail)."""
    product = {key: detail.product.get(key, "") for key in PRODUCT_KEYS}
    product["benefits"] = list(detail.product.get("benefits") or [])
    product["show_name"] = bool(detail.product.get("show_name", True))
    return Recipe(
        product=product,
        tone=detail.tone,
        style_keywords=detail.style_keywords,
        language=detail.language,
        brief_id=detail.brief_id,
        brief_text=detail.brief_text,
        brand_kit_id=detail.brand_kit_id,
        brand_block=detail.brand_block,
        prompt=detail.prompt,
        negative_prompt=detail.negative_prompt,
        exact_strings=[dict(s) for s in detail.exact_strings],
        token_count=detail.token_count,
        max_sequence_length=detail.max_sequence_length,
        builder_version=detail.builder_version,
        preset_key=detail.preset_key,
        draft_size=detail.draft_size,
        width=detail.width,
        height=detail.height,
        steps=detail.steps,
        true_cfg_scale=detail.true_cfg_scale,
        seed=detail.seed,
        model_id=detail.model_id,
        demo_models=detail.demo_models,
        strategy=detail.strategy,
    )


def source_from_detail(detail) -> RecipeSource:
    return RecipeSource(
        poster_id=detail.id,
        job_id=detail.job_id,
        parent_job_id=detail.parent_job_id,
        variant_group=detail.variant_group,
        variant_index=detail.variant_index,
        sha256=detail.sha256,
        brand_kit_name=detail.brand_kit_name,
    )


def recipe_to_dict(recipe: Recipe, source: RecipeSource | None = None) -> dict:
    data = {"format": RECIPE_FORMAT, "version": RECIPE_VERSION, "recipe": asdict(recipe)}
    if source is not None:
        data["source"] = asdict(source)
    return data


# Expected JSON types of each recipe field, for a clear message when one is wrong.
_TYPES: dict[str, tuple[type, ...]] = {
    "product": (dict,),
    "tone": (str,),
    "style_keywords": (str,),
    "language": (str,),
    "brief_id": (int, type(None)),
    "brief_text": (str,),
    "brand_kit_id": (int, type(None)),
    "brand_block": (str,),
    "prompt": (str,),
    "negative_prompt": (str,),
    "exact_strings": (list,),
    "token_count": (int,),
    "max_sequence_length": (int,),
    "builder_version": (str,),
    "preset_key": (str,),
    "draft_size": (bool,),
    "width": (int,),
    "height": (int,),
    "steps": (int,),
    "true_cfg_scale": (int, float),
    "seed": (int,),
    "model_id": (str,),
    "demo_models": (bool,),
    "strategy": (str,),
}


def recipe_from_dict(data) -> tuple[Recipe, RecipeSource]:
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
    missing = [f.name for f in fields(Recipe) if f.name not in body and f.name != "strategy"]
    if missing:
        raise RecipeError(f"The recipe is incomplete: it lacks {', '.join(missing)}.")
    for name, types in _TYPES.items():
        value = body.get(name, "resident" if name == "strategy" else None)
        # In Python, True is an int too; a boolean where a number belongs is still wrong.
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise RecipeError(f"The recipe's {name!r} has the wrong type ({type(value).__name__}).")
    product = body["product"]
    unknown_product = [key for key in product if key not in PRODUCT_KEYS]
    if unknown_product:
        raise RecipeError(f"The recipe's product has fields this studio does not know: {', '.join(unknown_product)}.")
    for key in ("name", "description", "offer", "price", "cta"):
        if not isinstance(product.get(key, ""), str):
            raise RecipeError(f"The recipe's product {key!r} must be text.")
    benefits = product.get("benefits", [])
    if not isinstance(benefits, list) or not all(isinstance(b, str) for b in benefits):
        raise RecipeError("The recipe's product benefits must be a list of text lines.")
    if not isinstance(product.get("show_name", True), bool):
        raise RecipeError("The recipe's product 'show_name' must be true or false.")
    if body["tone"] not in TONES:
        raise RecipeError(f"The recipe's tone {body['tone']!r} is not one this studio offers ({', '.join(TONES)}).")
    if body["language"] not in LANGUAGES:
        raise RecipeError(f"The recipe's language {body['language']!r} is not one of {', '.join(LANGUAGES)}.")
    if body["preset_key"] not in PRESETS:
        raise RecipeError(f"The recipe's platform preset {body['preset_key']!r} is not one this studio has.")

    values = {f.name: body[f.name] for f in fields(Recipe) if f.name in body}
    values["product"] = {
        "name": "", "description": "", "offer": "", "price": "", "cta": "", "benefits": [], "show_name": True,
        **product,
    }
    recipe = Recipe(**values)

    raw_source = data.get("source")
    source = RecipeSource()
    if isinstance(raw_source, dict):
        try:
            source = RecipeSource(**{f.name: raw_source[f.name] for f in fields(RecipeSource) if f.name in raw_source})
        except TypeError:
            source = RecipeSource()  # provenance only: a damaged source never blocks the recipe
    return recipe, source


# -- comparing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    label: str
    values: list[str]
    differs: bool


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _preset(recipe: Recipe) -> str:
    preset = PRESETS.get(recipe.preset_key)
    label = f"{preset.label} ({preset.aspect})" if preset else recipe.preset_key
    return label + (" · draft size" if recipe.draft_size else "")


def _brief(recipe: Recipe) -> str:
    if recipe.brief_id is not None:
        return f"#{recipe.brief_id}: {recipe.brief_text}"
    return recipe.brief_text


# Every recipe field, in the order a designer reads a poster: what it says, how it looks,
# how it was drawn. Each is (label, value as text).
DIFF_FIELDS = [
    ("Product name", lambda r: r.product.get("name")),
    ("Description", lambda r: r.product.get("description")),
    ("Offer headline", lambda r: r.product.get("offer")),
    ("Price", lambda r: r.product.get("price")),
    ("CTA", lambda r: r.product.get("cta")),
    ("Benefits", lambda r: " · ".join(r.product.get("benefits") or [])),
    ("Show name", lambda r: r.product.get("show_name")),
    ("Tone", lambda r: r.tone),
    ("Style keywords", lambda r: r.style_keywords),
    ("Language", lambda r: LANGUAGES.get(r.language, r.language)),
    ("Brief", _brief),
    ("Brand kit", lambda r: r.brand_kit_id),
    ("Brand block", lambda r: r.brand_block),
    ("Preset", _preset),
    ("Size", lambda r: f"{r.width}×{r.height}"),
    ("Steps", lambda r: r.steps),
    ("true_cfg_scale", lambda r: r.true_cfg_scale),
    ("Seed", lambda r: r.seed),
    ("Model", lambda r: r.model_id),
    ("Negative prompt", lambda r: r.negative_prompt),
    ("Final prompt", lambda r: r.prompt),
    ("Tokens", lambda r: f"{r.token_count} (max_sequence_length {r.max_sequence_length})"),
    ("Prompt builder", lambda r: r.builder_version),
]


def diff_recipes(recipes: list[Recipe]) -> list[DiffRow]:
    """One row per recipe field with each poster's value; `differs` when any two differ."""
    rows = []
    for label, read in DIFF_FIELDS:
        values = [_text(read(recipe)) for recipe in recipes]
        rows.append(DiffRow(label=label, values=values, differs=len(set(values)) > 1))
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


@dataclass(frozen=True)
class ComposePrefill:
    """The Compose form's widget values for a recipe, plus what the user should be told."""

    values: dict
    notes: list[str] = field(default_factory=list)


def compose_prefill(recipe: Recipe, current_builder: str, brief_exists: bool, kit_exists: bool) -> ComposePrefill:
    """Compose's widget keys (pages/compose.py DEFAULTS) filled from a recipe."""
    product = recipe.product
    notes: list[str] = []
    values = {
        "compose_name": product.get("name", ""),
        "compose_description": product.get("description", ""),
        "compose_offer": product.get("offer", ""),
        "compose_price": product.get("price", ""),
        "compose_cta": product.get("cta", ""),
        "compose_benefits": "\n".join(product.get("benefits") or []),
        "compose_show_name": bool(product.get("show_name", True)),
        "compose_tone": recipe.tone,
        "compose_style": recipe.style_keywords,
        "compose_language": recipe.language,
        "compose_brief": recipe.brief_text,
        "compose_brief_id": recipe.brief_id if brief_exists else None,
        "compose_brand_kit": recipe.brand_kit_id if kit_exists else None,
        "compose_brand_block": recipe.brand_block,
        "compose_preset": recipe.preset_key,
        "compose_draft_size": recipe.draft_size,
        "compose_steps": recipe.steps,
        "compose_cfg": float(recipe.true_cfg_scale),
        "compose_seed": str(recipe.seed),
        "compose_variants": 1,
        "compose_negative": recipe.negative_prompt,
    }
    if recipe.brief_id is not None and not brief_exists:
        notes.append(f"Brief #{recipe.brief_id} is not in this studio; its text was put in the brief box instead.")
    if recipe.brand_kit_id is not None and not kit_exists:
        notes.append(
            f"Brand kit #{recipe.brand_kit_id} is not in this studio; its brand block was kept as text."
        )
    if recipe.builder_version != current_builder:
        notes.append(
            f"This recipe was built by {recipe.builder_version}; the current builder is {current_builder}, "
            "so the prompt may be worded differently."
        )
    return ComposePrefill(values=values, notes=notes)
