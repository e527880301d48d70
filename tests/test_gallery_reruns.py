"""Reruns with lineage, driven from the gallery's detail view, on the demo models."""

import hashlib

from sqlalchemy import select

from core.services.compose import ComposeRequest, prepare, submit
from core.prompt.builder import ProductFields
from storage.models import Job, Poster, Prompt
from tests.gallery_helpers import add_poster, landed_on, new_app, open_detail
from tests.helpers import wait_for_jobs, TEST_ACTOR


def generate_original(studio, seed: int) -> tuple[int, int]:
    request = ComposeRequest(
        product=ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now"),
        preset_key="instagram_post", draft_size=True, steps=2, seed=seed,
    )
    submission = submit(studio.queue, request, prepare(request, studio.tokenizer), studio.models.image_model_id, True, actor=TEST_ACTOR)
    studio.runner.wake()
    (state,) = wait_for_jobs(studio.db, submission.job_ids)
    assert state.status == "done", state.error
    return state.poster_id, submission.job_ids[0]


def children_of(db, job_id: int) -> list[Job]:
    with db.session() as s:
        return list(s.scalars(select(Job).where(Job.parent_job_id == job_id).order_by(Job.id)).all())


def test_exact_rerun_draws_the_same_png_and_new_seeds_add_children(app_studio):
    db = app_studio.db
    original_poster, original_job = generate_original(app_studio, seed=4242)
    with db.session() as s:
        original = s.get(Poster, original_poster)
        original_sha, original_group = original.sha256, s.get(Job, original_job).variant_group

    at = new_app()
    open_detail(at, original_poster)
    assert any("An original: no parent" in c.value for c in at.caption)

    # Exact rerun: same recipe, same seed -> the same PNG, byte for byte.
    at.button(key="btn_rerun_exact").click().run()
    assert not at.exception, at.exception
    assert any("Queued 1 rerun job(s), seed(s) 4242" in s.value for s in at.success)
    (exact,) = children_of(db, original_job)
    (state,) = wait_for_jobs(db, [exact.id])
    assert state.status == "done", state.error
    with db.session() as s:
        rerun_poster = s.get(Poster, state.poster_id)
        assert rerun_poster.sha256 == original_sha
        assert hashlib.sha256(app_studio.store.read_bytes(rerun_poster.path)).hexdigest() == original_sha
        old_prompt = s.get(Prompt, s.get(Job, original_job).prompt_id)
        new_prompt = s.get(Prompt, exact.prompt_id)
        assert new_prompt.id != old_prompt.id and new_prompt.prompt == old_prompt.prompt
        assert new_prompt.max_sequence_length == old_prompt.max_sequence_length

    # New seeds: the same recipe, two new seeds, one new variant set, parent recorded.
    at.number_input(key="rerun_seed_count").set_value(2)
    at.button(key="btn_rerun_seeds").click().run()
    assert not at.exception, at.exception
    children = children_of(db, original_job)
    assert len(children) == 3
    new_seed_jobs = children[1:]
    assert all(j.seed != 4242 for j in new_seed_jobs) and new_seed_jobs[0].seed != new_seed_jobs[1].seed
    assert new_seed_jobs[0].variant_group == new_seed_jobs[1].variant_group != original_group
    assert {(j.width, j.height, j.steps, j.true_cfg_scale) for j in new_seed_jobs} == {(784, 784, 2, 4.0)}
    states = wait_for_jobs(db, [j.id for j in new_seed_jobs])
    assert [s.status for s in states] == ["done", "done"]
    with db.session() as s:
        shas = {s.get(Poster, st.poster_id).sha256 for st in states}
    assert len(shas) == 2 and original_sha not in shas

    # Lineage: down from the original to its three reruns, then up from one of them.
    at.run()
    assert any("Reruns of this poster** (3)" in m.value for m in at.markdown)
    at.button(key=f"lineage_down_{new_seed_jobs[0].id}").click().run()
    assert any(f"seed {new_seed_jobs[0].seed}" in h.value for h in at.header)
    assert any("Made from" in m.value for m in at.markdown)
    at.button(key=f"lineage_up_{original_job}").click().run()
    assert any("seed 4242" in h.value for h in at.header)


def test_edit_and_rerun_prefills_compose_and_records_the_parent(app_studio):
    db = app_studio.db
    block = "ACME house style; colour palette Signal red (#E5322D)."
    poster_id, job_id = add_poster(db, app_studio.store, seed=99, tone="Playful", style="confetti, bright",
                                   brand_block=block, price="$24.99")
    with db.session() as s:
        stored_prompt = s.get(Prompt, s.get(Job, job_id).prompt_id).prompt

    at = new_app()
    open_detail(at, poster_id)
    at.button(key="btn_edit_rerun").click().run()
    assert not at.exception, at.exception
    landed_on(at, "pages/compose.py", "Compose a poster")
    assert at.text_input(key="compose_name").value == "Aurora Headphones"
    assert at.text_input(key="compose_offer").value == "SUMMER SALE"
    assert at.text_input(key="compose_price").value == "$24.99"
    assert at.text_input(key="compose_seed").value == "99"
    assert at.text_input(key="compose_style").value == "confetti, bright"
    assert at.selectbox(key="compose_tone").value == "Playful"
    assert at.number_input(key="compose_steps").value == 2
    assert at.text_area(key="compose_brand_block").value == block
    assert at.code[0].value == stored_prompt  # the same recipe builds the same prompt
    assert any(f"Editing a rerun of poster #{poster_id}" in i.value for i in at.info)

    at.text_input(key="compose_offer").set_value("WINTER SALE").run()
    at.button(key="btn_generate").click().run()
    assert not at.exception, at.exception
    (new_job_id,) = at.session_state["compose_batch"]
    with db.session() as s:
        new_job = s.get(Job, new_job_id)
        assert new_job.parent_job_id == job_id and new_job.seed == 99
        new_prompt = s.get(Prompt, new_job.prompt_id)
        assert '"WINTER SALE"' in new_prompt.prompt and new_prompt.brand_block == block
    wait_for_jobs(db, [new_job_id])
    at.run()
    assert not any("Editing a rerun" in i.value for i in at.info), "the link is used once"
