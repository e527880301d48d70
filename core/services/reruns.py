"""Reruns with lineage: the same recipe queued again, with the same seed or new ones.

A rerun goes through the same `storage.jobs.enqueue` as Compose, so the one worker runs it
like any other job. The new prompt row is a field-for-field copy of the old one, not a
reference to it: the prompt text is reused byte for byte (it is never rebuilt, so a newer
prompt builder cannot change an "exact" rerun), and each rerun stays its own variant set
with its own prompt row, which is what the set view and deletion already assume. The copy
costs a few kilobytes. Lineage lives in jobs.parent_job_id.

"Edit and rerun" is not here: it opens Compose prefilled (core.recipe.compose_prefill),
and Compose records the parent when it queues.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.services.compose import MAX_VARIANTS, pick_seeds
from storage.db import Database
from storage.gallery import PosterDetail, get_poster
from storage.jobs import NewJob, NewPrompt, enqueue


class RerunError(ValueError):
    """A rerun that cannot be queued; the message says why."""


@dataclass(frozen=True)
class RerunResult:
    job_ids: list[int]
    seeds: list[int]
    variant_group: str
    warnings: list[str] = field(default_factory=list)


def _copy_prompt(detail: PosterDetail) -> NewPrompt:
    return NewPrompt(
        product=dict(detail.product),
        tone=detail.tone,
        style_keywords=detail.style_keywords,
        language=detail.language,
        brief_id=detail.brief_id,
        brief_text=detail.brief_text,
        brand_kit_id=detail.brand_kit_id,
        prompt=detail.prompt,
        negative_prompt=detail.negative_prompt,
        exact_strings=[dict(s) for s in detail.exact_strings],
        token_count=detail.token_count,
        max_sequence_length=detail.max_sequence_length,
        builder_version=detail.builder_version,
        brand_block=detail.brand_block,
    )


def _job(detail: PosterDetail, seed: int, model_id: str, demo_models: bool) -> NewJob:
    # Width and height come from the job as drawn, not from today's preset table.
    return NewJob(
        preset_key=detail.preset_key,
        draft_size=detail.draft_size,
        width=detail.width,
        height=detail.height,
        steps=detail.steps,
        true_cfg_scale=detail.true_cfg_scale,
        seed=seed,
        model_id=model_id,
        demo_models=demo_models,
        strategy=detail.strategy,
        parent_job_id=detail.job_id,
    )


def _model_warning(detail: PosterDetail, model_id: str) -> list[str]:
    if detail.model_id == model_id:
        return []
    return [
        f"This poster was drawn with {detail.model_id}; the studio now runs {model_id}, "
        "so the rerun will not match it pixel for pixel."
    ]


def _load(db: Database, poster_id: int) -> PosterDetail:
    detail = get_poster(db, poster_id)
    if detail is None:
        raise RerunError(f"Poster {poster_id} no longer exists, so it cannot be rerun.")
    return detail


def rerun_exact(db: Database, poster_id: int, model_id: str, demo_models: bool) -> RerunResult:
    """The same recipe and seed. On the same model and hardware it draws the same PNG."""
    detail = _load(db, poster_id)
    _, job_ids, group = enqueue(db, _copy_prompt(detail), [_job(detail, detail.seed, model_id, demo_models)])
    return RerunResult(job_ids=job_ids, seeds=[detail.seed], variant_group=group, warnings=_model_warning(detail, model_id))


def rerun_new_seeds(db: Database, poster_id: int, count: int, model_id: str, demo_models: bool) -> RerunResult:
    """The same recipe with `count` new random seeds, as one new variant set."""
    if not 1 <= count <= MAX_VARIANTS:
        raise RerunError(f"Ask for between 1 and {MAX_VARIANTS} new seeds.")
    detail = _load(db, poster_id)
    seeds = pick_seeds(None, count)
    # A random draw could repeat the parent's seed; that would be an exact rerun, not a new seed.
    seeds = [seed if seed != detail.seed else (seed + 1) % (2**31) for seed in seeds]
    jobs = [_job(detail, seed, model_id, demo_models) for seed in seeds]
    _, job_ids, group = enqueue(db, _copy_prompt(detail), jobs)
    return RerunResult(job_ids=job_ids, seeds=seeds, variant_group=group, warnings=_model_warning(detail, model_id))
