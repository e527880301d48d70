"""Text length limits (core/prompt/limits.py): absurd input is refused before any tokenizing."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.prompt import limits
from core.prompt.brand import BrandKitError, validate_kit
from core.prompt.builder import ProductFields
from core.prompt.limits import TextTooLongError, check_lengths
from core.render.generate import load_tokenizer
from core.queue.sql import SqlJobQueue
from core.services.compose import ComposeError, ComposeRequest, prepare, submit
from storage.db import open_database
from storage.models import Job
from tests.helpers import TEST_ACTOR

PRODUCT = ProductFields(name="Aurora Headphones", offer="SUMMER SALE", price="$19.99", cta="Shop now")


@pytest.fixture(scope="module")
def tokenizer(demo_models_dir):
    return load_tokenizer(str(demo_models_dir / "qwen-image-demo"))


@pytest.fixture
def db(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'studio.db'}")
    yield database
    database.dispose()


def compose_like_the_page(db, request, tokenizer) -> str | None:
    """What pages/compose.py does on Generate: prepare, and submit only what prepared."""
    try:
        recipe = prepare(request, tokenizer)
    except ComposeError as problem:
        return str(problem)
    submit(SqlJobQueue(db), request, recipe, "demo/qwen-image-demo", True, actor=TEST_ACTOR)
    return None


def job_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count(Job.id)))


def test_five_megabyte_description_is_refused_at_once_and_nothing_is_queued(db, tokenizer):
    request = ComposeRequest(product=replace(PRODUCT, description="noise cancelling " * 300_000), steps=2)
    assert len(request.product.description) > 5_000_000
    start = time.perf_counter()
    message = compose_like_the_page(db, request, tokenizer)
    elapsed = time.perf_counter() - start
    length = len(request.product.description)
    assert message == f"Description: {length:,} characters, over the limit of 2,000. Shorten it."
    assert elapsed < 0.5
    assert job_count(db) == 0


def test_a_short_description_is_queued(db, tokenizer):
    product = replace(PRODUCT, description="Over-ear, noise cancelling, matte black")
    assert compose_like_the_page(db, ComposeRequest(product=product, steps=2), tokenizer) is None
    assert job_count(db) == 1


def product_at_limits() -> ProductFields:
    """Every product field at its limit; the benefits differ, as a builder keeps each once."""
    return ProductFields(
        name="n" * limits.MAX_NAME_CHARS,
        description="d" * limits.MAX_DESCRIPTION_CHARS,
        offer="o" * limits.MAX_SHORT_CHARS,
        price="p" * limits.MAX_SHORT_CHARS,
        cta="c" * limits.MAX_SHORT_CHARS,
        benefits=tuple(f"{i}" + "b" * (limits.MAX_BENEFIT_CHARS - 1) for i in range(limits.MAX_BENEFITS)),
    )


def test_text_at_its_limits_passes():
    product = product_at_limits()
    check_lengths(
        product,
        tone="Premium",
        style="s" * limits.MAX_STYLE_CHARS,
        brief="b" * limits.MAX_BRIEF_CHARS,
        negative="n" * limits.MAX_NEGATIVE_CHARS,
        brand_block="k" * limits.MAX_BRAND_BLOCK_CHARS,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"product": replace(PRODUCT, name="n" * 201)}, "Product name: 201 characters, over the limit of 200. Shorten it."),
        ({"product": replace(PRODUCT, cta="c" * 201)}, "CTA text: 201 characters, over the limit of 200. Shorten it."),
        ({"product": replace(PRODUCT, benefits=("b",) * 11)}, "Benefits: 11 lines, over the limit of 10. Keep the ones that matter most."),
        ({"product": replace(PRODUCT, benefits=("ok", "b" * 121))}, "Benefit 2: 121 characters, over the limit of 120. Shorten it."),
        ({"style": "s" * 401}, "Style keywords: 401 characters, over the limit of 400. Shorten it."),
        ({"brief": "b" * 4_001}, "Brief text: 4,001 characters, over the limit of 4,000. Shorten it."),
        ({"negative": "n" * 2_001}, "Negative prompt: 2,001 characters, over the limit of 2,000. Shorten it."),
        ({"brand_block": "k" * 2_001}, "Brand block: 2,001 characters, over the limit of 2,000. Shorten it."),
    ],
)
def test_each_field_over_its_limit_is_named(change, message):
    arguments = {"product": PRODUCT, "tone": "Premium", "style": "", "brief": "", "negative": " ", "brand_block": "", **change}
    with pytest.raises(TextTooLongError) as raised:
        check_lengths(**arguments)
    assert str(raised.value) == message


def test_brand_kit_uses_the_same_limits():
    with pytest.raises(BrandKitError, match="Tagline: 201 characters, over the limit of 200"):
        validate_kit("Aurora", "Ocean #0A4D8C", tagline="t" * 201)
    start = time.perf_counter()
    with pytest.raises(BrandKitError, match="Colours: 5,600,000 characters"):
        validate_kit("Aurora", "Ocean #0A4D8C\n" * 400_000)
    assert time.perf_counter() - start < 0.5
    kit = validate_kit("Aurora", "Ocean #0A4D8C", tagline="t" * 200, style_keywords="s" * 400)
    assert kit.tagline == "t" * 200


def test_compose_widgets_stop_at_the_same_limits(app_studio):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "Home.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/compose.py").run()
    assert not at.exception, at.exception
    expected = {
        "compose_name": limits.MAX_NAME_CHARS,
        "compose_description": limits.MAX_DESCRIPTION_CHARS,
        "compose_offer": limits.MAX_SHORT_CHARS,
        "compose_price": limits.MAX_SHORT_CHARS,
        "compose_cta": limits.MAX_SHORT_CHARS,
        "compose_benefits": limits.MAX_BENEFITS_TEXT_CHARS,
        "compose_style": limits.MAX_STYLE_CHARS,
        "compose_negative": limits.MAX_NEGATIVE_CHARS,
    }
    widgets = {w.key: w for w in [*at.text_input, *at.text_area]}
    assert {key: widgets[key].proto.max_chars for key in expected} == expected


def test_a_huge_brand_block_is_refused_before_tokenizing_and_nothing_is_queued(db, tokenizer):
    request = ComposeRequest(product=PRODUCT, brand_block="Aurora house style; " * 250_000, steps=2)
    start = time.perf_counter()
    message = compose_like_the_page(db, request, tokenizer)
    assert time.perf_counter() - start < 0.5
    assert message == "Brand block: 5,000,000 characters, over the limit of 2,000. Shorten it."
    assert job_count(db) == 0


def test_a_kit_at_its_limits_makes_a_brand_block_within_the_limit():
    from core.prompt.brand import MAX_COLORS, MAX_NAME, brand_block

    colors = [{"name": "c" * MAX_NAME, "hex": "#0A4D8C"}] * MAX_COLORS
    block = brand_block("k" * MAX_NAME, colors, fonts="f" * limits.MAX_STYLE_CHARS, wordmark="w" * limits.MAX_NAME_CHARS)
    assert len(block) <= limits.MAX_BRAND_BLOCK_CHARS


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_prompt_of_every_field_at_its_limit_fits_the_recipe_limits(language):
    """What core/recipe.py refuses in a recalled recipe can never have come from Compose."""
    from core.prompt.builder import PromptInputs, build_prompt, exact_strings

    product = product_at_limits()
    built = build_prompt(PromptInputs(
        product=product, style_keywords="s" * limits.MAX_STYLE_CHARS, language=language,
        brief="b" * limits.MAX_BRIEF_CHARS, brand_block="k" * limits.MAX_BRAND_BLOCK_CHARS,
    ))
    assert len(built.prompt) < 14_000 < limits.MAX_PROMPT_CHARS
    strings = exact_strings(product)
    assert len(strings) <= limits.MAX_EXACT_STRINGS
    assert max(len(s.text) for s in strings) <= limits.MAX_EXACT_STRING_CHARS


def test_the_brand_block_box_stops_at_its_limit(app_studio):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "Home.py"), default_timeout=60)
    at.run()
    at.session_state["compose_brand_block"] = "Aurora house style."
    at.switch_page("pages/compose.py").run()
    assert not at.exception, at.exception
    assert at.text_area(key="compose_brand_block").proto.max_chars == limits.MAX_BRAND_BLOCK_CHARS


@pytest.mark.parametrize("where", ["in the app", "on a worker"])
def test_brief_notes_over_the_limit_are_refused_not_cut_and_nothing_is_stored(studio, where):
    from PIL import Image

    from core.services.briefs import request_brief
    from storage.models import Brief, BriefJob, Draft

    notes = "Make the price bigger. " * 66  # 1,518 characters
    with pytest.raises(TextTooLongError) as refused:
        if where == "in the app":
            studio.write_brief(Image.new("RGB", (64, 64)), "draft.png", "en", notes)
        else:
            request_brief(studio, Image.new("RGB", (64, 64)), "draft.png", "en", notes)
    assert str(refused.value) == "Notes to the art director: 1,518 characters, over the limit of 1,500. Shorten it."
    with studio.db.session() as session:
        assert [session.scalar(select(func.count(t.id))) for t in (Draft, Brief, BriefJob)] == [0, 0, 0]
