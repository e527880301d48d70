"""Lineage: which job a rerun came from (jobs.parent_job_id) and which reruns came from it.

Reruns of every kind record the job they started from, so the history is a tree of jobs.
A job may have no poster (it failed or was cancelled); it still sits in the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import Job, Poster, Prompt

MAX_DEPTH = 100  # a guard: parent links are written by us and never form a cycle, but a
# hand-edited database must not hang the detail view


@dataclass(frozen=True)
class LineageNode:
    job_id: int
    poster_id: int | None
    thumb_path: str | None
    seed: int
    status: str
    product_name: str
    variant_group: str
    created_at: datetime


@dataclass(frozen=True)
class Lineage:
    ancestors: list[LineageNode]  # the root first, the direct parent last
    node: LineageNode
    children: list[LineageNode]  # oldest first


def _node(job: Job, poster: Poster | None, prompt: Prompt) -> LineageNode:
    return LineageNode(
        job_id=job.id,
        poster_id=poster.id if poster else None,
        thumb_path=poster.thumb_path if poster else None,
        seed=job.seed,
        status=job.status,
        product_name=prompt.product_name,
        variant_group=job.variant_group,
        created_at=job.created_at,
    )


def _rows(session, where):
    return session.execute(
        select(Job, Poster, Prompt)
        .outerjoin(Poster, Poster.job_id == Job.id)
        .join(Prompt, Job.prompt_id == Prompt.id)
        .where(where)
        .order_by(Job.created_at, Job.id)
    ).all()


def lineage(db: Database, job_id: int) -> Lineage | None:
    with db.reader() as session:
        rows = _rows(session, Job.id == job_id)
        if not rows:
            return None
        job = rows[0][0]
        node = _node(*rows[0])
        ancestors: list[LineageNode] = []
        parent_id, seen = job.parent_job_id, {job.id}
        while parent_id is not None and parent_id not in seen and len(ancestors) < MAX_DEPTH:
            seen.add(parent_id)
            parent_rows = _rows(session, Job.id == parent_id)
            if not parent_rows:
                break
            ancestors.append(_node(*parent_rows[0]))
            parent_id = parent_rows[0][0].parent_job_id
        ancestors.reverse()
        children = [_node(*row) for row in _rows(session, Job.parent_job_id == job_id)]
    return Lineage(ancestors=ancestors, node=node, children=children)

