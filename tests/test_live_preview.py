"""Live preview (issue 15): the poster forming in its Compose tile, every few steps, from a
cheap latent -> RGB projection; stored beside the job and gone when the job ends."""

from __future__ import annotations

import inspect
import io
import time
from contextlib import contextmanager
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from core.render.generate import GenerationRequest, generate
from core.render.pipeline import load_pipeline
from core.render.preview import (
    PROJECTION_FILENAME,
    WAN21_PROJECTION,
    LatentPreviewer,
    LivePreview,
    load_projection,
    resolve_projection,
    unpack_latents,
)
from core.render.preview_fit import fit_vae
from core.settings import load_settings
from storage import jobs as job_rows
from tests.helpers import TEST_ACTOR, wait_for_jobs

PREVIEW_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def pipe(demo_models_dir):
    return load_pipeline(str(demo_models_dir / "qwen-image-demo"), "cpu")


def wait_for_state(db, job_id, condition, what: str, timeout: float = PREVIEW_TIMEOUT_S):
    """Poll the job row until `condition(state)` holds; fail with the last state on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        (state,) = job_rows.job_states(db, [job_id])
        if condition(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id}: {what} did not happen in {timeout} s; last state {state}")
        time.sleep(0.05)


# -- the projection ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [16, 4])
def test_unpacking_matches_the_pipelines_own(pipe, channels):
    packed = torch.randn(2, (192 // 16) * (128 // 16), channels * 4)
    ours = unpack_latents(packed, height=192, width=128)
    theirs = pipe._unpack_latents(packed, 192, 128, pipe.vae_scale_factor)[:, :, 0]  # private: only checked here
    assert ours.shape == (2, channels, 24, 16)
    assert torch.equal(ours, theirs)


def test_projecting_packed_tokens_is_projecting_the_unpacked_latents():
    projection = load_projection(WAN21_PROJECTION)
    packed = torch.randn(1, (96 // 16) * (160 // 16), 64)
    latents = unpack_latents(packed, height=96, width=160)[0]  # 16, 12, 20
    weights, bias = torch.tensor(projection.weights), torch.tensor(projection.bias)
    rgb = torch.einsum("chw,cr->hwr", latents, weights) + bias
    expected = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    ours = LatentPreviewer(projection).rgb(packed, height=96, width=160)
    assert ours.shape == (12, 20, 3)
    assert abs(ours.astype(int) - expected.astype(int)).max() <= 1  # float rounding at .5 at most


def test_a_fit_on_the_demo_vae_beats_a_mean_colour_image(pipe):
    report = fit_vae(pipe.vae, source="test", images=8, size=64)
    # Held-out images: the fit must explain the decode's colours, not just their average.
    assert report.heldout_rmse < 0.9 * report.baseline_rmse, report.as_dict()
    assert report.projection.channels == pipe.vae.config.z_dim


def test_the_published_wan21_factors_serve_qwen_images_vae_and_nothing_else(demo_models_dir, pipe):
    # diffusers' AutoencoderKLQwenImage defaults are Qwen-Image's VAE config: the factors were
    # taken under exactly its normalisation, so they are used for it.
    defaults = inspect.signature(pipe.vae.__class__.__init__).parameters
    qwen_vae = SimpleNamespace(z_dim=16, latents_mean=defaults["latents_mean"].default,
                               latents_std=defaults["latents_std"].default)
    published = load_projection(WAN21_PROJECTION)
    assert published.fits(qwen_vae) is None
    assert "comfy/latent_formats.py" in published.source
    assert resolve_projection("Qwen/Qwen-Image-2512", qwen_vae) == published
    # The demo model folder carries its own fit, found before the published numbers; a VAE
    # with another normalisation gets no preview rather than wrong colours.
    demo = resolve_projection(str(demo_models_dir / "qwen-image-demo"), pipe.vae.config)
    assert demo == load_projection(demo_models_dir / "qwen-image-demo" / PROJECTION_FILENAME)
    shifted = SimpleNamespace(z_dim=16, latents_mean=[0.0] * 16, latents_std=[1.0] * 16)
    assert resolve_projection("Qwen/Qwen-Image-2512", shifted) is None


def test_generate_previews_every_n_steps_but_not_the_last(pipe, demo_models_dir):
    previewer = LatentPreviewer(resolve_projection(str(demo_models_dir / "qwen-image-demo"), pipe.vae.config))
    seen = []
    request = GenerationRequest(prompt="A poster", negative_prompt=" ", width=128, height=192, steps=10,
                                true_cfg_scale=4.0, seed=3)
    result = generate(pipe, request, preview=LivePreview(previewer, 4, lambda s, t, image: seen.append((s, t, image))))
    assert [(step, total) for step, total, _ in seen] == [(4, 10), (8, 10)]
    assert all(image.size == (16, 24) and image.mode == "RGB" for _, _, image in seen)  # the latent grid
    assert result.timings["previews"] == 2
    # The same seed without previews draws the same poster: the preview only reads.
    assert generate(pipe, request).image.tobytes() == result.image.tobytes()


# -- the job, the store and the page -----------------------------------------------------------


def queue_job(studio, steps: int):
    from core.prompt.builder import ProductFields
    from core.services.compose import ComposeRequest, prepare, submit

    request = ComposeRequest(product=ProductFields(name="Aurora", offer="SUMMER SALE"), draft_size=True,
                             steps=steps, seed=7)
    submission = submit(studio.queue, request, prepare(request, studio.tokenizer), studio.models.image_model_id,
                        studio.models.demo, actor=TEST_ACTOR)
    studio.runner.wake()
    return submission.job_ids[0]


@contextmanager
def studio_with_previews(every: int):
    """A Studio (worker running) that previews every `every` steps; closed afterwards."""
    from core.services.studio import Studio

    studio = Studio(replace(load_settings(), preview_every=every))
    try:
        yield studio
    finally:
        studio.close()


def test_a_running_job_shows_its_preview_and_takes_it_away_when_cancelled(studio_env):
    with studio_with_previews(2) as studio:
        job_id = queue_job(studio, steps=40)
        state = wait_for_state(studio.db, job_id, lambda s: s.preview_step is not None, "a preview")
        assert state.status == "running" and state.preview_step % 2 == 0
        data = studio.store.read_preview(job_id)
        with Image.open(io.BytesIO(data)) as preview:
            assert preview.format == "WEBP" and preview.size == (784 // 8, 784 // 8)
        job_rows.request_cancel(studio.db, job_id)
        (state,) = wait_for_jobs(studio.db, [job_id])
        assert state.status == "cancelled" and state.preview_step is None
        assert not studio.store.exists(studio.store.preview_path(job_id))


def test_a_finished_poster_leaves_no_preview_behind(studio_env):
    with studio_with_previews(1) as studio:
        job_id = queue_job(studio, steps=3)
        (state,) = wait_for_jobs(studio.db, [job_id])
        assert state.status == "done", state.error
        assert state.timings["previews"] == 2  # steps 1 and 2 were previewed while it ran
        assert state.preview_step is None
        assert not studio.store.exists(studio.store.preview_path(job_id))


def test_previews_off_writes_none(studio_env):
    with studio_with_previews(0) as studio:
        (state,) = wait_for_jobs(studio.db, [queue_job(studio, steps=3)])
        assert state.status == "done", state.error
        assert "previews" not in state.timings


@pytest.fixture
def previews_every_2(studio_env, monkeypatch):
    monkeypatch.setenv("STUDIO_PREVIEW_EVERY", "2")


def test_the_compose_tile_shows_the_preview_while_the_job_runs(previews_every_2, app_studio):
    from tests.test_app_pages import fill_compose, new_app

    at = new_app()
    at.switch_page("pages/compose.py").run()
    fill_compose(at, compose_seed="11")
    at.number_input(key="compose_steps").set_value(40).run()
    at.button(key="btn_generate").click().run()
    assert not at.exception, at.exception
    (job_id,) = at.session_state["compose_batch"]
    wait_for_state(app_studio.db, job_id, lambda s: s.preview_step is not None, "a preview")

    at.run()
    assert not at.exception, at.exception
    captions = [caption for image in at.image for caption in image.captions]
    previews = [c for c in captions if c.startswith("live preview · step ")]
    assert len(previews) == 1 and previews[0].endswith(" of 40 (approximate colours)"), captions
    assert any("running" in m.value for m in at.markdown)  # the tile of a job that runs

    app_studio.queue.request_cancel(job_id)
    wait_for_jobs(app_studio.db, [job_id])
    at.run()
    assert not any(c.startswith("live preview") for image in at.image for c in image.captions)


def test_previews_in_an_s3_store_are_replaced_in_place_and_removed(s3_bucket):
    # The team deployment: a worker on one host writes, the app on another reads by job id.
    from storage.files import open_image_store

    store = open_image_store(s3_bucket.url("posters"))
    assert store.read_preview(41) is None
    store.put_preview(41, Image.new("RGB", (166, 166), (200, 30, 30)))
    store.put_preview(41, Image.new("RGB", (166, 166), (30, 30, 200)))
    assert s3_bucket.keys("posters/") == ["previews/job-41.webp"]  # one object, replaced
    with Image.open(io.BytesIO(store.read_preview(41))) as preview:
        red, _, blue = preview.convert("RGB").getpixel((80, 80))
        assert blue > 150 and red < 80  # the newer preview
    store.delete_preview(41)
    assert s3_bucket.keys("posters/") == [] and store.read_preview(41) is None
