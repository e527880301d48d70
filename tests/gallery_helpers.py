"""Finished posters written straight into the database, for gallery tests that need rows and
files but not the seconds a real generation takes.

The rows are what Compose and the worker write (the prompt comes from the real prompt
builder, the image goes through the real image store); only the drawing is skipped. A test
that needs a real drawing (exact rerun) generates instead.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from pathlib import Path

from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from core.prompt.presets import get_preset
from core.prompt.builder import DEFAULT_NEGATIVE_PROMPT, ProductFields, PromptInputs, build_prompt
from core.states import JobStatus
from storage.models import Job, Poster, Prompt, Review

DEMO_MODEL = "demo/qwen-image-demo@test"
HOME = str(Path(__file__).resolve().parents[1] / "Home.py")


def new_app() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def landed_on(at: AppTest, page: str, title: str) -> None:
    """The app switched pages itself (st.switch_page). Check it, then pin AppTest there:
    AppTest keeps re-requesting the page its own switch_page() last named."""
    assert any(t.value == title for t in at.title), [t.value for t in at.title]
    at.switch_page(page)


def open_detail(at: AppTest, poster_id: int) -> None:
    at.switch_page("pages/gallery.py")
    at.query_params.clear()
    at.query_params["poster"] = str(poster_id)
    at.run()
    assert not at.exception, at.exception


def poster_image(size: tuple[int, int], color: tuple[int, int, int], mark: int = 0) -> Image.Image:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle([2, 2, 2 + mark % (size[0] - 4), 6], fill=(255, 255, 255))  # makes each image distinct
    return image


def add_poster(
    db,
    store,
    *,
    name: str = "Aurora Headphones",
    description: str = "",
    offer: str = "SUMMER SALE",
    price: str = "$19.99",
    cta: str = "Shop now",
    benefits: tuple[str, ...] = (),
    tone: str = "Bold",
    style: str = "",
    language: str = "en",
    preset: str = "instagram_post",
    seed: int = 1,
    steps: int = 2,
    cfg: float = 4.0,
    size: tuple[int, int] = (64, 64),
    color: tuple[int, int, int] = (200, 40, 40),
    group: str | None = None,
    variant_index: int = 0,
    brand_kit_id: int | None = None,
    brand_block: str = "",
    brief_id: int | None = None,
    brief_text: str = "",
    parent_job_id: int | None = None,
    text_score: float | None = None,
    image: Image.Image | None = None,
) -> tuple[int, int]:
    """One done job with its poster (`image`, else a flat `color` one of `size`).
    Returns (poster id, job id)."""
    product = ProductFields(name=name, description=description, offer=offer, price=price, cta=cta, benefits=tuple(benefits))
    p = get_preset(preset)
    built = build_prompt(
        PromptInputs(product=product, tone=tone, style_keywords=style, language=language,
                     preset_label=p.label, aspect=p.aspect, brief=brief_text, brand_block=brand_block)
    )
    if image is not None:
        size = image.size
    stored = store.put_png(image if image is not None else poster_image(size, color, mark=seed))
    with db.session() as session:
        prompt = Prompt(
            product={**asdict(product), "benefits": list(benefits)},
            product_name=name,
            tone=tone,
            style_keywords=style,
            language=language,
            brief_id=brief_id,
            brief_text=brief_text,
            brand_kit_id=brand_kit_id,
            brand_block=brand_block,
            prompt=built.prompt,
            negative_prompt=DEFAULT_NEGATIVE_PROMPT,
            exact_strings=[{"role": s.role, "text": s.text} for s in built.exact_strings],
            token_count=len(built.prompt.split()),
            max_sequence_length=512,
            builder_version=built.builder_version,
        )
        session.add(prompt)
        session.flush()
        job = Job(
            prompt_id=prompt.id, preset_key=preset, draft_size=True, width=size[0], height=size[1], steps=steps,
            true_cfg_scale=cfg, seed=seed, model_id=DEMO_MODEL, demo_models=True, status=JobStatus.DONE,
            progress_step=steps, progress_total=steps, timings={"total_s": 1.5},
            variant_group=group or uuid.uuid4().hex[:12], variant_index=variant_index, parent_job_id=parent_job_id,
        )
        session.add(job)
        session.flush()
        poster = Poster(job_id=job.id, sha256=stored.sha256, path=stored.path, thumb_path=stored.thumb_path,
                        width=stored.width, height=stored.height, text_score=text_score)
        session.add(poster)
        session.flush()
        return poster.id, job.id


def add_review(db, poster_id: int, reviewer: str, rating: int, verdict: str, comment: str = "") -> None:
    with db.session() as session:
        session.add(Review(poster_id=poster_id, reviewer=reviewer, rating=rating, verdict=verdict, comment=comment))


def real_size_poster(size: tuple[int, int], mark: int = 0, grain: float = 10.0) -> Image.Image:
    """A poster of real size whose PNG weighs what a drawn one does (several MB at 1328x1664):
    a colour gradient, a few shapes, and film grain, which PNG cannot squeeze."""
    import numpy as np

    rng = np.random.default_rng(mark)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([120 + 100 * x / width, 60 + 150 * y / height, 200 - 120 * (x + y) / (width + height)], axis=-1)
    image = Image.fromarray(np.clip(base + rng.normal(0, grain, base.shape), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse([width // 5, height // 6, 4 * width // 5, height // 2], fill=(250, 230, 90))
    draw.rectangle([width // 8, 3 * height // 4, 7 * width // 8, 7 * height // 8], fill=(20, 20, 40))
    draw.rectangle([4, 4, 4 + mark % (width - 8), 12], fill=(255, 255, 255))  # distinct bytes per poster
    return image
