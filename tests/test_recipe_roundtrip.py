"""One Recipe from Compose to a rerun, walked field by field, and recipe imports that must
be refused (a decompression bomb, numbers out of range) or not trusted (forged lineage)."""

from __future__ import annotations

import json
import time
import tracemalloc
import zlib
from dataclasses import fields, replace

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.prompt.brand import BrandKitSpec
from core.prompt.builder import NEGATIVE_PROMPTS, ProductFields
from core.recipe import Provenance, Recipe, diff_recipes, recipe_to_dict
from core.services.compose import ComposeRequest, prepare, recipe_for, submit
from core.services.export import (
    MAX_TEXT_CHUNK_BYTES,
    RECIPE_KEYWORD,
    ExportOptions,
    RecipeImportError,
    _chunk,
    embed_chunks,
    export_poster,
    read_recipe,
    recall_recipe,
)
from core.services.reruns import rerun_exact
from storage.brand_kits import create_kit
from storage.files import png_bytes
from storage.gallery import get_poster
from storage.models import Job, Prompt
from tests.gallery_helpers import add_poster, new_app
from tests.helpers import wait_for_jobs, TEST_ACTOR


def assert_same_recipe(got: Recipe, expected: Recipe, where: str) -> None:
    for f in fields(Recipe):
        assert getattr(got, f.name) == getattr(expected, f.name), f"{f.name} changed on the way through {where}"


def test_every_recipe_field_survives_compose_worker_export_import_and_rerun(studio_env):
    from core.services.studio import Studio
    from core.settings import load_settings

    claimed_recipes = []

    def remember(image, claimed):
        claimed_recipes.append(claimed.recipe)
        return image

    studio = Studio(load_settings(studio_env), image_hook=remember)
    try:
        kit_id = create_kit(studio.db, BrandKitSpec(name="Aurora house"))
        # Every choice away from its default, so a field dropped anywhere shows.
        request = ComposeRequest(
            product=ProductFields(name="Aurora", description="Over-ear", offer="SALE", price="$19.99", cta="Shop now",
                                  benefits=["40-hour battery", "Hi-Res"], show_name=False),
            tone="Tech", style_keywords="glass, neon", language="zh", preset_key="instagram_story", draft_size=True,
            brief_text="Launch week", brand_block="Aurora house style", brand_kit_id=kit_id, steps=3,
            true_cfg_scale=5.5, seed=77, negative_prompt=NEGATIVE_PROMPTS["official"][1], negative_preset="official",
        )
        prepared = prepare(request, studio.tokenizer)
        expected = recipe_for(request, prepared, studio.models.image_model_id, studio.models.demo, 77)
        submission = submit(studio.queue, request, prepared, studio.models.image_model_id, studio.models.demo, actor=TEST_ACTOR)
        studio.runner.wake()
        (state,) = wait_for_jobs(studio.db, submission.job_ids, timeout=600)
        assert state.status == "done", state.error

        detail = get_poster(studio.db, state.poster_id)
        assert_same_recipe(detail.recipe, expected, "Compose -> the database")
        assert_same_recipe(claimed_recipes[0], expected, "the database -> the worker")

        _, png = export_poster(studio.db, studio.store, detail.id, ExportOptions())
        exported, provenance = read_recipe(png)
        assert_same_recipe(exported, expected, "the PNG export")
        assert provenance.job_id == detail.provenance.job_id and provenance.strategy == "cpu"

        recall = recall_recipe(studio.db, png)
        assert_same_recipe(recall.recipe, expected, "the PNG import")
        assert (recall.parent_job_id, recall.parent_poster_id) == (detail.provenance.job_id, detail.id)

        rerun = rerun_exact(studio.db, studio.queue, detail.id, studio.models.image_model_id, studio.models.demo, actor=TEST_ACTOR)
        (again,) = wait_for_jobs(studio.db, rerun.job_ids, timeout=600)
        rerun_detail = get_poster(studio.db, again.poster_id)
        assert_same_recipe(rerun_detail.recipe, expected, "an exact rerun")
        assert rerun_detail.sha256 == detail.sha256
        assert_same_recipe(claimed_recipes[1], expected, "the rerun's worker")
    finally:
        studio.close()

    # Every field has a row in the compare table.
    shown = {name for row in diff_recipes([expected, expected]) for name in row.fields}
    assert shown == {f.name for f in fields(Recipe)}


# -- imports that are refused --------------------------------------------------------------


def _iTXt(keyword: str, compressed_body: bytes) -> bytes:
    return _chunk(b"iTXt", keyword.encode("latin-1") + b"\x00\x01\x00\x00\x00" + compressed_body)


def _bomb(size: int) -> bytes:
    packer = zlib.compressobj(9)
    block = b" " * (4 * 1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


def _counts(db) -> tuple[int, int]:
    with db.session() as s:
        return s.scalar(select(func.count(Prompt.id))), s.scalar(select(func.count(Job.id)))


def test_a_decompression_bomb_is_refused_quickly_and_stores_nothing(app_studio):
    # 64 MiB of spaces in ~64 KB: 256 times the cap (the report's was 2 GiB in 2 MB; this
    # one is smaller only so the test builds it in seconds).
    body = _bomb(64 * 1024 * 1024)
    assert len(body) < 256 * 1024
    bomb = embed_chunks(png_bytes(Image.new("RGB", (8, 8))), [_iTXt(RECIPE_KEYWORD, body)], replace=(RECIPE_KEYWORD,))
    limit_kb = MAX_TEXT_CHUNK_BYTES // 1024

    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(RecipeImportError, match=f"expands to more than {limit_kb} KB"):
        read_recipe(bomb)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 16 * 1024 * 1024, (seconds, peak)  # not the gigabyte

    before = _counts(app_studio.db)
    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.text_input(key="compose_name").set_value("Kept").run()
    at.file_uploader(key="compose_import").set_value(("bomb.png", bomb, "image/png")).run()
    assert not at.exception, at.exception
    assert any(f"expands to more than {limit_kb} KB" in e.value for e in at.error), [e.value for e in at.error]
    assert at.text_input(key="compose_name").value == "Kept"
    assert _counts(app_studio.db) == before


def _with_recipe(data: dict) -> bytes:
    text = json.dumps(data)
    return embed_chunks(png_bytes(Image.new("RGB", (8, 8))), [_iTXt(RECIPE_KEYWORD, zlib.compress(text.encode()))],
                        replace=(RECIPE_KEYWORD,))


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("steps", 10_000, "Steps must be from 1 to 150; this recipe has 10000."),
        ("steps", -5, "Steps must be from 1 to 150; this recipe has -5."),
        ("true_cfg_scale", 1e9, "true_cfg_scale must be from 1 to 20; this recipe has 1e+09."),
        ("true_cfg_scale", -3, "true_cfg_scale must be from 1 to 20; this recipe has -3."),
        ("seed", -1, "Seed must be from 0 to 2147483647"),
    ],
)
def test_recalled_numbers_out_of_range_are_refused_with_the_range(studio, name, value, message):
    poster_id, _ = add_poster(studio.db, studio.store)
    detail = get_poster(studio.db, poster_id)
    data = recipe_to_dict(replace(detail.recipe, **{name: value}), detail.provenance)
    before = _counts(studio.db)
    with pytest.raises(RecipeImportError, match=message.replace("+", r"\+").replace(".", r"\.")):
        recall_recipe(studio.db, _with_recipe(data))
    assert _counts(studio.db) == before


def test_a_recalled_description_over_the_limit_is_refused_before_compose_sees_it(studio):
    """A 17 KB PNG can carry a 5 MB description (issue 11 item 3): refused by the same limit as
    typed text, naming the field, and nothing is stored."""
    poster_id, _ = add_poster(studio.db, studio.store)
    detail = get_poster(studio.db, poster_id)
    long_product = {**detail.recipe.product, "description": "x" * 200_000}
    png = _with_recipe(recipe_to_dict(replace(detail.recipe, product=long_product)))
    before = _counts(studio.db)
    with pytest.raises(RecipeImportError, match="Description: 200,000 characters, over the limit of 2,000"):
        recall_recipe(studio.db, png)
    assert _counts(studio.db) == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"brand_block": "k" * 50_000}, "Brand block: 50,000 characters, over the limit of 2,000"),
        ({"prompt": "p" * 200_000}, "Final prompt: 200,000 characters, over the limit of 16,000"),
        ({"exact_strings": [{"role": "benefit", "text": "b" * 300}]}, "Exact text 1: 300 characters, over the limit of 200"),
        ({"exact_strings": [{"role": "benefit", "text": "b"}] * 5_000}, "Exact text: 5000 strings, over the limit of 14"),
    ],
)
def test_recalled_brand_block_prompt_and_exact_text_over_their_limits_are_refused(studio, change, message):
    poster_id, _ = add_poster(studio.db, studio.store)
    detail = get_poster(studio.db, poster_id)
    png = _with_recipe(recipe_to_dict(replace(detail.recipe, **change)))
    before = _counts(studio.db)
    with pytest.raises(RecipeImportError, match=message):
        recall_recipe(studio.db, png)
    assert _counts(studio.db) == before


def test_an_out_of_range_recipe_leaves_compose_as_it_was(app_studio):
    poster_id, _ = add_poster(app_studio.db, app_studio.store, steps=7)
    detail = get_poster(app_studio.db, poster_id)
    png = _with_recipe(recipe_to_dict(replace(detail.recipe, steps=10_000)))
    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.file_uploader(key="compose_import").set_value(("big.png", png, "image/png")).run()
    assert not at.exception, at.exception
    assert any("Steps must be from 1 to 150; this recipe has 10000." in e.value for e in at.error)
    assert at.number_input(key="compose_steps").value == 40  # the form's default, untouched


def test_old_pngs_that_carry_strategy_in_the_recipe_still_import(studio):
    poster_id, _ = add_poster(studio.db, studio.store)
    detail = get_poster(studio.db, poster_id)
    old = recipe_to_dict(detail.recipe)
    old["recipe"]["strategy"] = "te_offload"
    old["source"] = {"poster_id": poster_id, "job_id": detail.provenance.job_id, "sha256": detail.sha256}
    recipe, provenance = read_recipe(_with_recipe(old))
    assert recipe == detail.recipe
    assert (provenance.strategy, provenance.poster_id) == ("te_offload", poster_id)


# -- lineage that is not trusted -------------------------------------------------------------


def test_a_png_naming_another_posters_job_is_recalled_without_a_parent(app_studio):
    db, store = app_studio.db, app_studio.store
    first, _ = add_poster(db, store, name="First", seed=1)
    add_poster(db, store, name="Second", seed=2)
    third, third_job = add_poster(db, store, name="Third", seed=3)
    one, three = get_poster(db, first), get_poster(db, third)
    # Poster #3's pixels and its provenance (job and sha256), but poster #1's recipe.
    forged = recipe_to_dict(one.recipe, three.provenance)
    assert forged["provenance"]["sha256"] == three.sha256
    png = embed_chunks(store.read_bytes(three.path), [_iTXt(RECIPE_KEYWORD, zlib.compress(json.dumps(forged).encode()))],
                       replace=(RECIPE_KEYWORD,))

    recall = recall_recipe(db, png)
    assert recall.recipe == one.recipe and recall.parent_job_id is None
    assert any(f"names poster #{third} (job {third_job})" in note for note in recall.notes)

    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.file_uploader(key="compose_import").set_value(("forged.png", png, "image/png")).run()
    assert not at.exception, at.exception
    assert at.text_input(key="compose_name").value == "First"
    assert not any("Editing a rerun" in i.value for i in at.info)
    assert any("recalled as a new poster, not as a rerun" in w.value for w in at.warning)

    # The genuine export of poster #3 still links to it.
    _, genuine = export_poster(db, store, third, ExportOptions())
    assert recall_recipe(db, genuine).parent_job_id == third_job
    # A claim of a poster this studio never had is dropped with a note too.
    stranger = recipe_to_dict(one.recipe, Provenance(poster_id=999, job_id=999, sha256="0" * 64))
    recall = recall_recipe(db, _with_recipe(stranger))
    assert recall.parent_job_id is None and any("not in this studio" in n for n in recall.notes)


def test_the_negative_prompt_preset_is_picked_in_compose_and_recalled(app_studio):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.selectbox(key="compose_negative_preset").set_value("official").run()
    assert at.text_area(key="compose_negative").value == NEGATIVE_PROMPTS["official"][1]
    at.text_area(key="compose_negative").set_value("blurry, watermark").run()
    assert at.selectbox(key="compose_negative_preset").value == "custom"  # edited text is no longer the named one

    poster_id, _ = add_poster(app_studio.db, app_studio.store)
    detail = get_poster(app_studio.db, poster_id)
    assert detail.recipe.negative_preset == "custom"  # rows written without a choice
    png = _with_recipe(recipe_to_dict(replace(detail.recipe, negative_preset="none", negative_prompt=" ")))
    at.file_uploader(key="compose_import").set_value(("none.png", png, "image/png")).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compose_negative_preset").value == "none"
