"""Small helpers shared by tests."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

from core.recipe import Recipe, product_of
from storage import jobs as job_rows
from core.states import FINISHED_STATUSES


def wait_for_jobs(db, job_ids, timeout: float = 120.0):
    """Poll job rows until every job has finished; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = job_rows.job_states(db, job_ids)
        if states and all(state.status in FINISHED_STATUSES for state in states):
            return states
        time.sleep(0.2)
    raise AssertionError(f"jobs {job_ids} did not finish in {timeout} s: {job_rows.job_states(db, job_ids)}")


def sha256_file(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def small_recipe(**changes) -> Recipe:
    """A tiny recipe (64x64, 2 steps, demo model) for tests that need rows, not a real prompt."""
    recipe = Recipe(
        product=product_of({"name": "Aurora"}), tone="Bold", style_keywords="", language="en", brief_id=None,
        brief_text="", brand_kit_id=None, brand_block="", preset_key="instagram_post", draft_size=True, width=64,
        height=64, steps=2, true_cfg_scale=4.0, seed=1, model_id="demo", demo_models=True, negative_prompt=" ",
        prompt="A poster", exact_strings=[{"role": "offer", "text": "SALE"}], token_count=12,
        max_sequence_length=512, builder_version="prompt-v1",
    )
    return replace(recipe, **changes)


# Who acts in tests that call the services directly: the studio without sign-in, where a
# typed name may do anything (core/access.py).
from core.access import unverified_actor  # noqa: E402

TEST_ACTOR = unverified_actor("test")
