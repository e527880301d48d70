"""Recipe <-> rows: the one place that knows which recipe field lives in which column.

A recipe is split over two rows: the `prompts` row (what to draw and the built prompt,
shared by the jobs of one variant set) and each `jobs` row (size, steps, CFG, seed, model).
A field goes to the table that has a column of its name, so adding a recipe field means
adding its column (storage/models.py and a migration) and nothing here. A field with no
column stops the import of this module instead of being dropped silently.
"""

from __future__ import annotations

import copy
from dataclasses import MISSING, fields

from core.recipe import Provenance, Recipe, product_of
from core.states import JobStatus
from storage.models import Job, Poster, Prompt

PROMPT_FIELDS = tuple(f.name for f in fields(Recipe) if f.name in Prompt.__table__.columns)
JOB_FIELDS = tuple(f.name for f in fields(Recipe) if f.name in Job.__table__.columns and f.name not in PROMPT_FIELDS)
_UNMAPPED = [f.name for f in fields(Recipe) if f.name not in PROMPT_FIELDS + JOB_FIELDS]
if _UNMAPPED:
    raise RuntimeError(f"Recipe fields without a prompts or jobs column: {', '.join(_UNMAPPED)}.")


def prompt_row(recipe: Recipe) -> Prompt:
    values = {name: copy.deepcopy(getattr(recipe, name)) for name in PROMPT_FIELDS}
    return Prompt(**values, product_name=str(recipe.product.get("name", ""))[:255])


def job_row(recipe: Recipe, prompt_id: int, **job) -> Job:
    """A queued job drawing `recipe` (its seed included). `job` holds what is not recipe:
    variant_group, variant_index, parent_job_id, best_of_max."""
    values = {name: getattr(recipe, name) for name in JOB_FIELDS}
    return Job(prompt_id=prompt_id, **values, status=JobStatus.QUEUED, progress_total=recipe.steps, timings={}, **job)


def _empty(f):
    """What an old row's NULL means for a field added after it was written."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return f.metadata["json"][0]()


def recipe_of(prompt: Prompt, job: Job) -> Recipe:
    values = {}
    for f in fields(Recipe):
        value = getattr(prompt if f.name in PROMPT_FIELDS else job, f.name)
        if value is None and type(None) not in f.metadata["json"]:
            value = _empty(f)
        values[f.name] = copy.deepcopy(value)
    values["product"] = product_of(values["product"])
    return Recipe(**values)


def provenance_of(job: Job, poster: Poster | None = None, brand_kit_name: str | None = None) -> Provenance:
    timings = dict(job.timings or {})
    return Provenance(
        poster_id=poster.id if poster is not None else None,
        job_id=job.id,
        parent_job_id=job.parent_job_id,
        variant_group=job.variant_group,
        variant_index=job.variant_index,
        sha256=poster.sha256 if poster is not None else "",
        brand_kit_name=brand_kit_name,
        strategy=str(timings.get("strategy", "")),  # the worker records what it actually ran
        worker_id=job.worker_id or "",
        timings=timings,
    )
