"""The real QwenImagePipeline code on the demo checkpoints, on CPU."""

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from sqlalchemy import select

from core.services.compose import ComposeRequest, prepare, submit
from core.render.generate import (
    PROMPT_TEMPLATE,
    PROMPT_TEMPLATE_DROP_TOKENS,
    BadOutputError,
    GenerationCancelled,
    GenerationRequest,
    generate,
)
from core.render.pipeline import load_pipeline
from core.prompt.builder import ProductFields
from storage import jobs as job_rows
from storage.gallery import get_poster
from storage.models import Job, Poster
from tests.helpers import small_recipe, wait_for_jobs, TEST_ACTOR

ROOT = Path(__file__).resolve().parents[1]

HASH_SCRIPT = """
import hashlib, sys
from core.render.generate import GenerationRequest, generate
from core.render.pipeline import load_pipeline
from storage.files import png_bytes
pipe = load_pipeline(sys.argv[1], "cpu")
request = GenerationRequest(prompt="A poster that says \\"SALE\\"", negative_prompt=" ", width=128, height=128,
                            steps=3, true_cfg_scale=4.0, seed=int(sys.argv[2]))
print(hashlib.sha256(png_bytes(generate(pipe, request).image)).hexdigest())
"""


def image_model(demo_models_dir):
    return str(demo_models_dir / "qwen-image-demo")


def hash_in_new_process(model, seed):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", HASH_SCRIPT, model, str(seed)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def pipe(demo_models_dir):
    return load_pipeline(image_model(demo_models_dir), "cpu")


def small_request(seed=1, steps=3, **kw):
    return GenerationRequest(prompt='A poster that says "SALE"', negative_prompt=" ", width=128, height=128,
                             steps=steps, true_cfg_scale=4.0, seed=seed, **kw)


def test_same_seed_same_png_across_processes(demo_models_dir):
    model = image_model(demo_models_dir)
    first = hash_in_new_process(model, 11)
    second = hash_in_new_process(model, 11)
    other = hash_in_new_process(model, 12)
    assert len(first) == 64
    assert first == second
    assert other != first


def test_loaded_pipeline_is_configured_as_the_product_needs(pipe):
    assert type(pipe).__name__ == "QwenImagePipeline"
    assert pipe.vae.dtype == torch.float32
    assert pipe.vae.use_tiling
    # Our token count must use the same template and cut as the pipeline itself.
    assert pipe.prompt_template_encode == PROMPT_TEMPLATE
    assert pipe.prompt_template_encode_start_idx == PROMPT_TEMPLATE_DROP_TOKENS


def test_progress_callback_fires_once_per_step(pipe):
    seen = []
    result = generate(pipe, small_request(steps=4), on_step=lambda step, total: seen.append((step, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(result.step_seconds) == 4
    assert result.image.size == (128, 128)


def test_cancel_stops_the_run(pipe):
    seen = []
    with pytest.raises(GenerationCancelled):
        generate(pipe, small_request(steps=6), on_step=lambda s, t: seen.append(s), should_cancel=lambda: len(seen) >= 2)
    assert seen == [1, 2]  # no step ran after the cancel


def test_nan_output_is_refused(demo_models_dir):
    broken = load_pipeline(image_model(demo_models_dir), "cpu")
    with torch.no_grad():
        broken.transformer.proj_out.weight.fill_(float("nan"))
    with pytest.raises(BadOutputError, match="NaN"):
        generate(broken, small_request())


def compose_request(**kw):
    product = ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now")
    return ComposeRequest(product=product, preset_key="instagram_post", draft_size=True, steps=2, **kw)


def enqueue(studio, **kw):
    request = compose_request(**kw)
    recipe = prepare(request, studio.tokenizer)
    submission = submit(studio.queue, request, recipe, studio.models.image_model_id, studio.models.demo, actor=TEST_ACTOR)
    studio.runner.wake()
    return submission


def test_worker_runs_a_job_to_a_poster_on_disk(studio):
    submission = enqueue(studio, seed=5)
    (state,) = wait_for_jobs(studio.db, submission.job_ids)
    assert state.status == "done", state.error
    detail = get_poster(studio.db, state.poster_id)
    assert hashlib.sha256(studio.store.read_bytes(detail.path)).hexdigest() == detail.sha256
    assert (detail.width, detail.height) == (784, 784)
    assert detail.recipe.seed == 5 and detail.recipe.model_id.startswith("demo/")


def test_cancel_marks_the_job_cancelled_and_keeps_its_row(studio):
    request = compose_request(seed=1)
    request = ComposeRequest(**{**request.__dict__, "steps": 40})
    recipe = prepare(request, studio.tokenizer)
    submission = submit(studio.queue, request, recipe, studio.models.image_model_id, True, actor=TEST_ACTOR)
    studio.runner.wake()
    job_id = submission.job_ids[0]
    import time

    deadline = time.monotonic() + 60
    while job_rows.job_states(studio.db, [job_id])[0].progress_step < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job_rows.request_cancel(studio.db, job_id)
    (state,) = wait_for_jobs(studio.db, [job_id])
    assert state.status == "cancelled"
    assert state.poster_id is None
    assert state.progress_step < 40


def test_two_threads_submitting_at_once_both_land_one_after_the_other(studio):
    results = []
    barrier = threading.Barrier(2)

    def worker(seed):
        barrier.wait()
        results.append(enqueue(studio, seed=seed))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (100, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    job_ids = [job_id for submission in results for job_id in submission.job_ids]
    states = wait_for_jobs(studio.db, job_ids)
    assert [s.status for s in states] == ["done", "done"]
    with studio.db.session() as session:
        jobs = session.scalars(select(Job).where(Job.id.in_(job_ids)).order_by(Job.started_at)).all()
        # one worker: the second started only after the first had finished
        assert jobs[0].finished_at <= jobs[1].started_at
        assert {j.seed for j in jobs} == {100, 200}
        posters = session.scalars(select(Poster).where(Poster.job_id.in_(job_ids))).all()
        assert len(posters) == 2 and posters[0].sha256 != posters[1].sha256


def test_job_left_running_by_a_dead_process_is_recovered_on_start(studio_env):
    from core.settings import load_settings
    from core.services.studio import Studio

    first = Studio(load_settings(studio_env), start_worker=False)
    _, (job_id,), _ = job_rows.enqueue(
        first.db,
        small_recipe(),
        [1],
    )
    # A process that no longer exists claimed it.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    assert job_rows.claim_next(first.db, f"{socket.gethostname()}:{dead.stdout.strip()}:gone").id == job_id
    first.db.dispose()

    second = Studio(load_settings(studio_env))  # starting the worker runs recovery
    try:
        (state,) = job_rows.job_states(second.db, [job_id])
        assert state.status == "failed" and state.error == "interrupted by restart"
    finally:
        second.close()


def test_model_that_cannot_load_fails_the_job_with_advice(studio_env, monkeypatch):
    from core.settings import load_settings
    from core.services.studio import Studio

    settings = load_settings({**studio_env, "STUDIO_DEMO": "0", "STUDIO_IMAGE_MODEL": "Qwen/Qwen-Image-2512"})
    studio = Studio(settings, start_worker=False, load_backoff_s=(0.01, 0.01))
    try:
        studio._tokenizer = _demo_tokenizer(studio_env)
        submission = enqueue(studio, seed=1)
        assert studio.runner.run_next()
        (state,) = job_rows.job_states(studio.db, submission.job_ids)
        assert state.status == "failed"
        assert "Qwen/Qwen-Image-2512" in state.error and "STUDIO_DEMO=1" in state.error
    finally:
        studio.close()


def _demo_tokenizer(env):
    from core.render.generate import load_tokenizer

    return load_tokenizer(str(Path(env["STUDIO_DEMO_MODELS_DIR"]) / "qwen-image-demo"))
