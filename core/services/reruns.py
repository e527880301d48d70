"""Reruns with lineage: the same recipe queued again, with the same seed or new ones.

A rerun goes through the same queue (core/queue/base.py) as Compose, so a worker runs it
like any other job. It queues the stored Recipe itself, so the new prompt row is a
field-for-field copy of the old one, not a reference to it: the prompt text is reused byte
for byte (it is never rebuilt, so a newer prompt builder cannot change an "exact" rerun),
and each rerun stays its own variant set with its own prompt row, which is what the set
view and deletion already assume. The copy costs a few kilobytes. Lineage lives in
jobs.parent_job_id.

"Edit and rerun" is not here: it opens Compose filled from the recipe (pages/ui/
compose_addons.py), and Compose records the parent when it queues.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.access import Actor, Right, require
from core.prompt.builder import BUILDER_VERSION
from core.services.audit import record
from core.recipe import Recipe, recall_notes
from storage.brand_kits import get_kit
from core.queue.base import JobQueue
from core.services.compose import MAX_VARIANTS, pick_seeds
from storage.db import Database
from storage.briefs import brief_exists
from storage.gallery import PosterDetail, get_poster
from storage.jobs import job_recipe
from core.states import JobStatus


class RerunError(ValueError):
    """A rerun that cannot be queued; the message says why."""


@dataclass(frozen=True)
class RerunResult:
    job_ids: list[int]
    seeds: list[int]
    variant_group: str
    warnings: list[str] = field(default_factory=list)


def _again(detail: PosterDetail, model_id: str, demo_models: bool) -> Recipe:
    # Size comes from the recipe as drawn, not from today's preset table; only the model is
    # today's (the warning below says when that differs).
    return replace(detail.recipe, model_id=model_id, demo_models=demo_models)


def _model_warning(detail: PosterDetail, model_id: str) -> list[str]:
    if detail.recipe.model_id == model_id:
        return []
    return [
        f"This poster was drawn with {detail.recipe.model_id}; the studio now runs {model_id}, "
        "so the rerun will not match it pixel for pixel."
    ]


def _load(db: Database, poster_id: int) -> PosterDetail:
    detail = get_poster(db, poster_id)
    if detail is None:
        raise RerunError(f"Poster {poster_id} no longer exists, so it cannot be rerun.")
    return detail


def rerun_exact(
    db: Database, queue: JobQueue, poster_id: int, model_id: str, demo_models: bool, *, actor: Actor
) -> RerunResult:
    """The same recipe and seed. On the same model and hardware it draws the same PNG.
    Designers and up (AccessDenied otherwise); audited."""
    require(actor, Right.COMPOSE)
    detail = _load(db, poster_id)
    seed = detail.recipe.seed
    queued = queue.enqueue(_again(detail, model_id, demo_models), [seed], parent_job_id=detail.provenance.job_id)
    record(db, actor, "rerun_exact", f"poster {poster_id}", {"job_ids": queued.job_ids, "seeds": [seed]})
    return RerunResult(job_ids=queued.job_ids, seeds=[seed], variant_group=queued.variant_group, warnings=_model_warning(detail, model_id))


def rerun_new_seeds(
    db: Database, queue: JobQueue, poster_id: int, count: int, model_id: str, demo_models: bool, *, actor: Actor
) -> RerunResult:
    """The same recipe with `count` new random seeds, as one new variant set. Designers and
    up; audited."""
    require(actor, Right.COMPOSE)
    if not 1 <= count <= MAX_VARIANTS:
        raise RerunError(f"Ask for between 1 and {MAX_VARIANTS} new seeds.")
    detail = _load(db, poster_id)
    seeds = pick_seeds(None, count)
    # A random draw could repeat the parent's seed; that would be an exact rerun, not a new seed.
    seeds = [seed if seed != detail.recipe.seed else (seed + 1) % (2**31) for seed in seeds]
    queued = queue.enqueue(_again(detail, model_id, demo_models), seeds, parent_job_id=detail.provenance.job_id)
    record(db, actor, "rerun_new_seeds", f"poster {poster_id}", {"job_ids": queued.job_ids, "seeds": seeds})
    return RerunResult(job_ids=queued.job_ids, seeds=seeds, variant_group=queued.variant_group, warnings=_model_warning(detail, model_id))


def retry_job(
    db: Database, queue: JobQueue, job_id: int, model_id: str, demo_models: bool, *, actor: Actor
) -> RerunResult:
    """A failed or cancelled job queued again: its recipe and seed, on the model this studio
    runs now. The new job records the old one as its parent, so the gallery's lineage shows
    the retry. Designers and up; audited."""
    require(actor, Right.COMPOSE)
    found = job_recipe(db, job_id)
    if found is None:
        raise RerunError(f"Job {job_id} no longer exists, so it cannot be retried.")
    recipe, status = found
    if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise RerunError(f"Job {job_id} is {status}; only a failed or cancelled job can be retried.")
    queued = queue.enqueue(replace(recipe, model_id=model_id, demo_models=demo_models), [recipe.seed], parent_job_id=job_id)
    record(db, actor, "retry", f"job {job_id}", {"job_ids": queued.job_ids})
    warnings = []
    if recipe.model_id != model_id:
        warnings.append(f"Job {job_id} was queued for {recipe.model_id}; the retry runs on {model_id}.")
    return RerunResult(job_ids=queued.job_ids, seeds=[recipe.seed], variant_group=queued.variant_group, warnings=warnings)


def compose_notes(db: Database, recipe: Recipe) -> list[str]:
    """What the user should know when this recipe refills Compose here ("edit and rerun",
    or a PNG recalled): a brief or brand kit this studio lacks, a newer prompt builder."""
    has_brief = recipe.brief_id is not None and brief_exists(db, recipe.brief_id)
    has_kit = recipe.brand_kit_id is not None and get_kit(db, recipe.brand_kit_id) is not None
    return recall_notes(recipe, BUILDER_VERSION, has_brief, has_kit)
