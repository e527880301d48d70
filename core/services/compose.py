"""From the Compose form to queued jobs: validate, build the prompt, plan its length, enqueue.

The page shows `prepare()`'s result before anything runs, and `submit()` stores exactly that
recipe, so what the user saw is what the worker draws.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field

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
from core.render.engine import count_prompt_tokens
from core.services.textcheck import stored_strings
from storage.db import Database
from storage.jobs import NewJob, NewPrompt, enqueue

MAX_VARIANTS = 8
MAX_BEST_OF = 16
MAX_SEED = 2**31 - 1


class ComposeError(ValueError):
    """Input the user must fix before anything is queued; the message says how."""


@dataclass(frozen=True)
class ComposeRequest:
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
    if not (1 <= request.steps <= 150):
        raise ComposeError("Steps must be between 1 and 150.")
    if not (1.0 <= request.true_cfg_scale <= 20.0):
        raise ComposeError("true_cfg_scale must be between 1.0 and 20.0.")
    if not (1 <= request.variants <= MAX_VARIANTS):
        raise ComposeError(f"Make between 1 and {MAX_VARIANTS} variants at a time.")
    if request.best_of_max is not None and not (2 <= request.best_of_max <= MAX_BEST_OF):
        raise ComposeError(f"'Until all text is correct' needs a maximum of 2 to {MAX_BEST_OF} tries.")
    if request.seed is not None and not (0 <= request.seed <= MAX_SEED):
        raise ComposeError(f"The seed must be a whole number from 0 to {MAX_SEED}, or blank for a random one.")
    product = request.product
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


def submit(
    db: Database,
    request: ComposeRequest,
    recipe: PreparedRecipe,
    model_id: str,
    demo_models: bool,
    strategy: str = "resident",
) -> Submission:
    # A best-of-N set starts with one seed; the worker adds the next ones as checks come in.
    seeds = pick_seeds(request.seed, 1 if request.best_of_max else request.variants)
    if request.best_of_max and not recipe.built.exact_strings:
        raise ComposeError("'Until all text is correct' needs text to check: fill in an offer, price, CTA or benefit.")
    new_prompt = NewPrompt(
        product={**asdict(request.product), "benefits": list(request.product.benefits)},
        tone=request.tone,
        style_keywords=clean_text(request.style_keywords),
        language=request.language,
        brief_id=request.brief_id,
        brief_text=request.brief_text,
        brand_kit_id=request.brand_kit_id,
        brand_block=clean_text(request.brand_block),
        prompt=recipe.built.prompt,
        negative_prompt=recipe.built.negative_prompt,
        exact_strings=stored_strings(recipe.built.exact_strings),
        token_count=recipe.tokens,
        max_sequence_length=recipe.plan.max_sequence_length,
        builder_version=recipe.built.builder_version,
    )
    new_jobs = [
        NewJob(
            preset_key=request.preset_key,
            draft_size=request.draft_size,
            width=recipe.width,
            height=recipe.height,
            steps=request.steps,
            true_cfg_scale=request.true_cfg_scale,
            seed=seed,
            model_id=model_id,
            demo_models=demo_models,
            strategy=strategy,
            parent_job_id=request.parent_job_id,
            best_of_max=request.best_of_max,
        )
        for seed in seeds
    ]
    prompt_id, job_ids, group = enqueue(db, new_prompt, new_jobs)
    return Submission(prompt_id=prompt_id, job_ids=job_ids, seeds=seeds, variant_group=group)
