"""From the Compose form to queued jobs: validate, build the prompt, plan its length, enqueue.

The page shows `prepare()`'s result before anything runs, and `submit()` stores exactly that
recipe, so what the user saw is what the worker draws.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, fields

from core.access import Actor, Right, require
from core.prompt.presets import get_preset
from core.prompt.builder import (
    DEFAULT_NEGATIVE_PROMPT,
    BuiltPrompt,
    ProductFields,
    PromptInputs,
    SequencePlan,
    build_prompt,
    clean_text,
    plan_sequence_length,
)
from core.prompt.limits import TextTooLongError, check_lengths
from core.recipe import CFG_RANGE, MAX_SEED, STEPS_RANGE, Recipe, product_of
from core.render.generate import count_prompt_tokens
from core.queue.base import JobQueue
from core.services.textcheck import stored_strings

MAX_VARIANTS = 8
MAX_BEST_OF = 16


class ComposeError(ValueError):
    """Input the user must fix before anything is queued; the message says how."""


@dataclass(frozen=True)
class ComposeRequest:
    """The Compose form. A field named like a Recipe field goes into the recipe as it is
    (see `recipe_for`), so a new recipe choice needs only its field here and its widget."""

    product: ProductFields
    tone: str = "Premium"
    style_keywords: str = ""
    language: str = "en"
    preset_key: str = "instagram_post"
    draft_size: bool = False
    brief_text: str = ""
    brief_id: int | None = None
    brand_block: str = ""
    brand_kit_id: int | None = None
    steps: int = 40
    true_cfg_scale: float = 4.0
    seed: int | None = None  # None: a random seed per variant, always recorded
    variants: int = 1
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    negative_preset: str = "default"  # core.prompt.builder.NEGATIVE_PROMPTS, or "custom"
    parent_job_id: int | None = None
    # "Generate until all text is correct (max N)": start with one seed and let the worker
    # add seeds until a poster's OCR check is perfect or N are made. None: a plain batch.
    best_of_max: int | None = None


@dataclass
class PreparedRecipe:
    built: BuiltPrompt
    plan: SequencePlan
    tokens: int  # of the prompt itself, as the pipeline counts them
    width: int
    height: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Submission:
    prompt_id: int
    job_ids: list[int]
    seeds: list[int]
    variant_group: str


def validate(request: ComposeRequest) -> None:
    if not (STEPS_RANGE[0] <= request.steps <= STEPS_RANGE[1]):
        raise ComposeError(f"Steps must be between {STEPS_RANGE[0]} and {STEPS_RANGE[1]}.")
    if not (CFG_RANGE[0] <= request.true_cfg_scale <= CFG_RANGE[1]):
        raise ComposeError(f"true_cfg_scale must be between {CFG_RANGE[0]} and {CFG_RANGE[1]}.")
    if not (1 <= request.variants <= MAX_VARIANTS):
        raise ComposeError(f"Make between 1 and {MAX_VARIANTS} variants at a time.")
    if request.best_of_max is not None and not (2 <= request.best_of_max <= MAX_BEST_OF):
        raise ComposeError(f"'Until all text is correct' needs a maximum of 2 to {MAX_BEST_OF} tries.")
    if request.seed is not None and not (0 <= request.seed <= MAX_SEED):
        raise ComposeError(f"The seed must be a whole number from 0 to {MAX_SEED}, or blank for a random one.")
    product = request.product
    # Before any tokenizing: counting the tokens of a 5 MB description alone takes 20 s.
    try:
        check_lengths(
            product, request.tone, request.style_keywords, request.brief_text, request.negative_prompt, request.brand_block
        )
    except TextTooLongError as error:
        raise ComposeError(str(error)) from None
    if not any(clean_text(x) for x in (product.name, product.description, product.offer)):
        raise ComposeError("Give the product a name, a description or an offer headline: the poster needs a subject.")


def prepare(request: ComposeRequest, tokenizer) -> PreparedRecipe:
    """Build the final prompt and check its length with the pipeline's own tokenizer.
    Raises ComposeError (bad input) or PromptTooLongError (over 1024 tokens)."""
    validate(request)
    preset = get_preset(request.preset_key)
    built = build_prompt(
        PromptInputs(
            product=request.product,
            tone=request.tone,
            style_keywords=request.style_keywords,
            language=request.language,
            preset_label=preset.label,
            aspect=preset.aspect,
            brief=request.brief_text,
            brand_block=request.brand_block,
        )
    )
    negative = request.negative_prompt.strip() or " "
    built.negative_prompt = negative
    tokens = count_prompt_tokens(tokenizer, built.prompt)
    negative_tokens = count_prompt_tokens(tokenizer, negative)
    # The negative prompt goes through the same encoder and the same cut, so the longer
    # of the two decides the sequence length.
    plan = plan_sequence_length(max(tokens, negative_tokens))
    warnings = list(built.warnings)
    if plan.message:
        warnings.append(plan.message)
    width, height = preset.size(draft=request.draft_size)
    return PreparedRecipe(built=built, plan=plan, tokens=tokens, width=width, height=height, warnings=warnings)


def pick_seeds(seed: int | None, variants: int) -> list[int]:
    if seed is None:
        return [secrets.randbelow(MAX_SEED + 1) for _ in range(variants)]
    # Consecutive seeds keep a batch reproducible from the one number the user typed.
    return [(seed + i) % (MAX_SEED + 1) for i in range(variants)]


def recipe_for(request: ComposeRequest, prepared: PreparedRecipe, model_id: str, demo_models: bool, seed: int) -> Recipe:
    """The recipe Compose queues: the form's choices, and what the builder made of them."""
    same_named = {f.name: getattr(request, f.name) for f in fields(Recipe) if hasattr(request, f.name)}
    return Recipe(
        **{
            **same_named,
            "product": product_of(asdict(request.product)),
            "style_keywords": clean_text(request.style_keywords),
            "brand_block": clean_text(request.brand_block),
            "true_cfg_scale": float(request.true_cfg_scale),
            "width": prepared.width,
            "height": prepared.height,
            "seed": seed,
            "model_id": model_id,
            "demo_models": demo_models,
            "prompt": prepared.built.prompt,
            "negative_prompt": prepared.built.negative_prompt,
            "exact_strings": stored_strings(prepared.built.exact_strings),
            "token_count": prepared.tokens,
            "max_sequence_length": prepared.plan.max_sequence_length,
            "builder_version": prepared.built.builder_version,
        }
    )


def submit(
    queue: JobQueue,
    request: ComposeRequest,
    prepared: PreparedRecipe,
    model_id: str,
    demo_models: bool,
    *,
    actor: Actor,
) -> Submission:
    """Queue the variants; designers and up only (AccessDenied otherwise)."""
    require(actor, Right.COMPOSE)
    # A best-of-N set starts with one seed; the worker adds the next ones as checks come in.
    seeds = pick_seeds(request.seed, 1 if request.best_of_max else request.variants)
    if request.best_of_max and not prepared.built.exact_strings:
        raise ComposeError("'Until all text is correct' needs text to check: fill in an offer, price, CTA or benefit.")
    recipe = recipe_for(request, prepared, model_id, demo_models, seeds[0])
    # The queue writes the rows and tells the workers: nothing runs before the rows exist.
    queued = queue.enqueue(recipe, seeds, parent_job_id=request.parent_job_id, best_of_max=request.best_of_max)
    return Submission(prompt_id=queued.prompt_id, job_ids=queued.job_ids, seeds=seeds, variant_group=queued.variant_group)
