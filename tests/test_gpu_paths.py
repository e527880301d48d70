"""The engine's speed and memory paths that can run on CPU, on the demo models: batched
guidance, partial block streaming, the few-step LoRA, the settings and plan that choose
them, and the benchmark table the settings page reads."""

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.render.estimates import estimate_poster_seconds
from core.brief.runtime import STAGE_LOADING, STAGE_LOADING_FAST, choose_brief_mode, wants_brief_warm_up
from core.render.generate import GenerationRequest, generate
from core.render.pipeline import (
    is_streamed,
    load_pipeline,
    setup_of,
    stream_transformer_blocks,
)
from core.render.guidance import BatchedGuidance, install_split_attention
from core.render.memory import GIB, choose_strategy
from core.render.plan import brief_room_bytes, plan_pipeline
from core.settings import LIGHTNING_STEPS, PerformanceSettings, load_performance_settings

ROOT = Path(__file__).resolve().parents[1]


def image_model(demo_models_dir):
    return str(demo_models_dir / "qwen-image-demo")


def request(steps=3, cfg=4.0, seed=5):
    return GenerationRequest(
        prompt='A poster for "Aurora" cold brew that says "SUMMER SALE" and "$19.99" with a clean grid',
        negative_prompt=" ", width=128, height=128, steps=steps, true_cfg_scale=cfg, seed=seed,
    )


def pixels(result):
    return np.asarray(result.image, dtype=np.float32)


@pytest.fixture(scope="module")
def pipe(demo_models_dir):
    return load_pipeline(image_model(demo_models_dir), "cpu")


# -- batched guidance ------------------------------------------------------------------------


@pytest.mark.parametrize("split", [True, False])
def test_batched_guidance_draws_the_same_poster_as_two_calls(pipe, split):
    two_calls = pixels(generate(pipe, request()))
    install_split_attention(pipe.transformer)  # acts like diffusers' processor without lengths
    plain = pipe.studio_setup
    try:
        pipe.studio_setup = replace(plain, force_batched_cfg=True, split_attention=split)
        batched = pixels(generate(pipe, request()))
    finally:
        pipe.studio_setup = plain
    # Same function; only the GEMM batch shapes differ, so at most one 8-bit level of rounding.
    assert np.abs(batched - two_calls).max() <= 1.0
    assert batched.std() > 10  # a real (noise) image, not a blank that trivially matches


def test_batched_guidance_calls_the_transformer_once_per_step_and_restores_it(pipe):
    calls = []
    original = pipe.transformer.forward

    def counting(*args, **kwargs):
        calls.append(kwargs["hidden_states"].shape[0])
        return original(*args, **kwargs)

    pipe.transformer.forward = counting
    plain = pipe.studio_setup
    try:
        pipe.studio_setup = replace(plain, force_batched_cfg=True)
        generate(pipe, request(steps=3))
        assert calls == [2, 2, 2]  # one batch of 2 per step instead of two batches of 1
        calls.clear()
        pipe.studio_setup = plain
        generate(pipe, request(steps=3))
        assert calls == [1, 1, 1, 1, 1, 1]
    finally:
        pipe.transformer.forward = original
        pipe.studio_setup = plain
    assert pipe.transformer.forward == original


def test_batched_guidance_refuses_calls_out_of_order():
    transformer = torch.nn.Linear(1, 1)
    negative = torch.zeros(1, 3, 4)
    with BatchedGuidance(transformer, negative, None) as guidance:
        guidance.pending = torch.zeros(1, 2, 2)
        with pytest.raises(RuntimeError, match="out of order"):
            guidance(hidden_states=torch.zeros(1, 2, 2), encoder_hidden_states=torch.zeros(1, 5, 4))


# -- partial block streaming -----------------------------------------------------------------


def test_only_the_streamed_blocks_get_offloading_hooks_and_the_output_is_unchanged(demo_models_dir):
    from core.render.demo_models import build_image_components

    transformer = build_image_components()[0].eval()
    inputs = dict(hidden_states=torch.randn(1, 16, 16), encoder_hidden_states=torch.randn(1, 5, 128),
                  timestep=torch.tensor([0.5]), img_shapes=[[(1, 4, 4)]], return_dict=False)
    with torch.no_grad():
        before = transformer(**inputs)[0]
    names = [name for name, _ in transformer.named_parameters()]
    # CUDA streams do not exist on CPU; the placement logic is the same without them.
    stream_transformer_blocks(transformer, torch.device("cpu"), resident_blocks=1, use_stream=False)
    assert [is_streamed(block) for block in transformer.transformer_blocks] == [False, True]
    assert [name for name, _ in transformer.named_parameters()] == names  # checkpoints still load
    with torch.no_grad():
        after = transformer(**inputs)[0]
        again = transformer(**inputs)[0]
    assert torch.equal(before, after) and torch.equal(before, again)


# -- few-step LoRA ---------------------------------------------------------------------------


def write_tiny_lora(transformer, folder: Path, scale=0.5) -> None:
    from diffusers import QwenImagePipeline

    generator = torch.Generator().manual_seed(0)
    layers = {}
    for name, module in transformer.named_modules():
        if isinstance(module, torch.nn.Linear) and name.startswith("transformer_blocks.") and ".attn." in name:
            layers[f"{name}.lora_A.weight"] = torch.randn(4, module.in_features, generator=generator) * scale
            layers[f"{name}.lora_B.weight"] = torch.randn(module.out_features, 4, generator=generator) * scale
    QwenImagePipeline.save_lora_weights(str(folder), transformer_lora_layers=layers)


def test_lightning_mode_fuses_a_local_lora_and_uses_its_scheduler(demo_models_dir, tmp_path):
    base = load_pipeline(image_model(demo_models_dir), "cpu")
    write_tiny_lora(base.transformer, tmp_path / "lora")
    before = base.transformer.transformer_blocks[0].attn.to_q.weight.detach().clone()

    fast = load_pipeline(image_model(demo_models_dir), "cpu", fast_mode="lightning", lora_path=str(tmp_path / "lora"))
    after = fast.transformer.transformer_blocks[0].attn.to_q
    assert type(after) is torch.nn.Linear  # fused and unloaded: no LoRA layers left to slow steps
    assert not torch.allclose(after.weight, before)
    untouched = fast.transformer.transformer_blocks[0].img_mlp.net[2]
    assert torch.equal(untouched.weight, base.transformer.transformer_blocks[0].img_mlp.net[2].weight)
    assert fast.scheduler.config.base_shift == pytest.approx(math.log(3))
    assert fast.scheduler.config.max_shift == pytest.approx(math.log(3))
    assert setup_of(fast).label == "cpu+lightning"
    result = generate(fast, request(steps=LIGHTNING_STEPS, cfg=1.0))
    assert len(result.step_seconds) == LIGHTNING_STEPS
    # A single .safetensors file works too.
    single = next((tmp_path / "lora").glob("*.safetensors"))
    again = load_pipeline(image_model(demo_models_dir), "cpu", fast_mode="lightning", lora_path=str(single))
    assert torch.allclose(again.transformer.transformer_blocks[0].attn.to_q.weight, after.weight)


def test_lightning_mode_without_a_lora_is_refused(demo_models_dir):
    with pytest.raises(ValueError, match="STUDIO_LIGHTNING_LORA"):
        load_pipeline(image_model(demo_models_dir), "cpu", fast_mode="lightning")
    with pytest.raises(ValueError, match="fast mode"):
        load_pipeline(image_model(demo_models_dir), "cpu", fast_mode="turbo")


def test_generate_reports_step_times_and_the_setup(pipe):
    result = generate(pipe, request(steps=3))
    assert len(result.step_seconds) == 3 and all(s > 0 for s in result.step_seconds)
    assert "encode_s" in result.timings
    assert setup_of(pipe).label == "cpu"


# -- settings and the plan -------------------------------------------------------------------


def test_performance_settings_are_read_and_checked():
    assert load_performance_settings({}) == PerformanceSettings()
    assert load_performance_settings({}).brief_mode == "auto"  # fast where it fits, else 4-bit
    read = load_performance_settings({"STUDIO_STRATEGY": "Group_Offload", "STUDIO_COMPILE": "0",
                                      "STUDIO_FAST_MODE": "fp8", "STUDIO_BRIEF_MODE": "fast"})
    assert (read.strategy, read.compile, read.fast_mode, read.brief_mode) == ("group_offload", "off", "fp8", "fast")
    for bad in ({"STUDIO_STRATEGY": "all"}, {"STUDIO_COMPILE": "maybe"}, {"STUDIO_FAST_MODE": "turbo"},
                {"STUDIO_FAST_MODE": "lightning"}, {"STUDIO_BRIEF_MODE": "bf16"}):
        with pytest.raises(ValueError):
            load_performance_settings(bad)


def test_the_plan_follows_the_card():
    defaults = PerformanceSettings()
    cpu = plan_pipeline("cpu", demo=True, performance=defaults)
    assert cpu.strategy is None and not cpu.compile and cpu.label == "cpu"
    big = plan_pipeline("cuda", demo=False, performance=defaults, memory=(79 * GIB, 80 * GIB))
    assert big.label == "resident+compiled"
    small = plan_pipeline("cuda", demo=False, performance=defaults, memory=(23 * GIB, 24 * GIB), host_free=100 * GIB)
    assert small.strategy.name == "group_offload" and small.compile
    # FP8 needs compile (eager fp8 is slower than bf16) and resident weights.
    fp8 = plan_pipeline("cuda", False, replace(defaults, compile="off", fast_mode="fp8"), memory=(79 * GIB, 80 * GIB))
    assert fp8.compile and fp8.fast_mode == "fp8" and fp8.label == "resident+compiled+fp8"
    fp8_small = plan_pipeline("cuda", False, replace(defaults, fast_mode="fp8"), memory=(23 * GIB, 24 * GIB))
    assert fp8_small.fast_mode == "off" and any("FP8" in note for note in fp8_small.notes)
    nf4 = plan_pipeline("cuda", False, replace(defaults, strategy="nf4"), memory=(15 * GIB, 16 * GIB))
    assert nf4.strategy.name == "nf4" and not nf4.compile


def test_the_brief_runs_fast_only_where_the_gpu_has_room():
    assert choose_brief_mode("cpu", None)[0] == "nf4"
    assert choose_brief_mode("cuda", 40 * GIB)[0] == "fast"
    assert choose_brief_mode("cuda", 5 * GIB)[0] == "nf4"
    assert choose_brief_mode("cuda", 40 * GIB, requested="nf4")[0] == "nf4"  # still selectable
    assert choose_brief_mode("cuda", 40 * GIB, requested="fast") == ("fast", "chosen by the STUDIO_BRIEF_MODE setting")
    with pytest.raises(ValueError):
        choose_brief_mode("cuda", 40 * GIB, requested="bf16")


def test_the_default_brief_mode_follows_the_room_the_image_plan_leaves():
    """The default (auto) is decided from the image pipeline's planned peak, not from the
    memory free at some moment: an H100 or H200 runs everything resident and still has room
    for the bf16 brief; a 48 GiB card (text encoder offloaded) and a 24 GiB card (blocks
    streamed to fill the card) keep the 4-bit brief."""
    defaults = PerformanceSettings()

    def mode(free_gib: float, total_gib: float) -> tuple[str, str]:
        memory = (int(free_gib * GIB), int(total_gib * GIB))
        plan = plan_pipeline("cuda", False, defaults, memory=memory, host_free=100 * GIB)
        return choose_brief_mode("cuda", brief_room_bytes(plan, memory), defaults.brief_mode)

    assert mode(139, 140)[0] == "fast"  # H200
    assert mode(79, 80)[0] == "fast"  # H100 80 GB
    assert mode(47, 48)[0] == "nf4"
    small, why = mode(23, 24)
    assert small == "nf4" and "GiB stay free beside the image model" in why


def test_the_fast_brief_compile_is_paid_at_start_only_where_it_can_be_used():
    assert wants_brief_warm_up("cuda", demo=False, mode="fast")
    assert not wants_brief_warm_up("cuda", demo=False, mode="nf4")  # nothing to compile
    assert not wants_brief_warm_up("cuda", demo=True, mode="fast")
    assert not wants_brief_warm_up("cpu", demo=False, mode="fast")


def test_brief_warm_up_runs_a_throwaway_brief_and_stores_nothing(studio_env):
    from sqlalchemy import func, select

    from core.settings import load_settings
    from core.services.studio import Studio
    from storage.models import Brief, Draft

    settings = load_settings(studio_env)
    nf4_studio = Studio(settings, start_worker=False)
    try:
        assert nf4_studio.warm_up_brief() is None and nf4_studio.brief_warm_up is None
    finally:
        nf4_studio.close()
    # STUDIO_BRIEF_MODE=fast on CPU: the same call, through the demo VL (generate on CPU).
    fast_studio = Studio(replace(settings, performance=PerformanceSettings(brief_mode="fast")), start_worker=False)
    try:
        seconds = fast_studio.warm_up_brief()
        assert seconds is not None and seconds > 0
        assert fast_studio.brief_warm_up == f"done in {seconds:.0f} s"
        with fast_studio.db.reader() as session:
            assert session.scalar(select(func.count()).select_from(Brief)) == 0
            assert session.scalar(select(func.count()).select_from(Draft)) == 0
        # A user's brief after it says which model it loads.
        stages = []
        fast_studio.write_brief(Image.new("RGB", (320, 240), "navy"), "d.png", "en", "", on_stage=stages.append,
                                max_new_tokens=4)
        assert stages[0] == STAGE_LOADING_FAST and STAGE_LOADING not in stages
    finally:
        fast_studio.close()


def test_a_forced_strategy_builds_on_cpu_as_before(demo_models_dir):
    # Off CUDA a strategy cannot apply: the pipeline still loads on one device, tiled.
    strategy = choose_strategy(24 * GIB, 24 * GIB)
    pipe = load_pipeline(image_model(demo_models_dir), "cpu", strategy=strategy)
    assert pipe.vae.use_tiling and pipe.transformer.device.type == "cpu"
    assert setup_of(pipe).label == "cpu" and not setup_of(pipe).batched_cfg


# -- the benchmark table ---------------------------------------------------------------------


def test_estimates_come_from_the_measurements_for_this_card():
    h100 = "NVIDIA H100 80GB HBM3"
    # A whole compiled 50-step 1328x1328 poster measured 27.0 s on the H100.
    full = estimate_poster_seconds(h100, "resident", True, 1328, 1328, 50, 4.0)
    assert full.seconds == pytest.approx(27.0, abs=0.3)
    eager = estimate_poster_seconds(h100, "resident", False, 1328, 1328, 50, 4.0)
    assert eager.seconds == pytest.approx(33.6, abs=0.3)
    streamed = estimate_poster_seconds(h100, "group_offload", True, 1328, 1328, 50, 4.0)
    assert 33.5 <= streamed.seconds <= 35.0  # measured 33.8 s (24 GiB) and 34.6 s (16 GiB)
    # Sizes between the two measured ones are interpolated, and said to be.
    between = estimate_poster_seconds(h100, "resident", True, 1472, 1104, 50, 4.0)
    wide = estimate_poster_seconds(h100, "resident", True, 1664, 928, 50, 4.0)
    assert wide.seconds < between.seconds < full.seconds and "interpolated" in between.basis
    assert estimate_poster_seconds(h100, "resident", True, 1328, 1328, 20, 1.0).seconds < full.seconds / 4


def measured_row(file: str, name: str) -> dict:
    rows = [json.loads(line) for line in (ROOT / "bench" / "results" / file).read_text().splitlines()]
    return next(row for row in rows if row["name"] == name)


def test_h200_estimates_agree_with_the_whole_posters_in_the_raw_results():
    h200 = "NVIDIA H200"
    resident = measured_row("gpu_brief_startup_h200.jsonl", "second_poster_1328_cfg4_50steps")
    estimate = estimate_poster_seconds(h200, "resident", True, 1328, 1328, 50, 4.0)
    assert estimate.seconds == pytest.approx(resident["wall_s"], rel=0.03)
    wide = measured_row("gpu_brief_startup_h200.jsonl", "first_wide_poster_after_warm_up_1664x928_cfg4_20steps")
    assert estimate_poster_seconds(h200, "resident", True, 1664, 928, 20, 4.0).seconds == pytest.approx(
        wide["wall_s"], rel=0.03
    )
    streamed = measured_row("gpu_profile_cap16_h200.jsonl",
                            "mem_group_offload(16 resident)_cap16_compiled_1328_cfg4_50steps_full")
    assert estimate_poster_seconds(h200, "group_offload", True, 1328, 1328, 50, 4.0).seconds == pytest.approx(
        streamed["wall_s"], rel=0.03
    )
    nf4 = estimate_poster_seconds(h200, "nf4", False, 1328, 1328, 50, 4.0)
    assert "NF4 changes the output" in nf4.basis


def test_no_measurement_means_no_estimate():
    assert estimate_poster_seconds(None, "resident", True, 1328, 1328, 50, 4.0) is None
    assert estimate_poster_seconds("NVIDIA GeForce RTX 4090", "resident", True, 1328, 1328, 50, 4.0) is None
    # Streaming without guidance was not measured on the H100.
    assert estimate_poster_seconds("NVIDIA H100 80GB HBM3", "group_offload", True, 1328, 1328, 50, 1.0) is None
    assert estimate_poster_seconds("NVIDIA H100 80GB HBM3", "nf4", False, 1328, 1328, 50, 4.0) is None


# -- the benchmark script itself ---------------------------------------------------------------


def test_the_gpu_benchmark_script_runs_on_the_tiny_models(tmp_path):
    command = [sys.executable, str(ROOT / "bench" / "gpu_bench.py"), "memory", "--tiny", "--cap", "24",
               "--out", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    names = [row["name"] for row in rows]
    assert names[0] == "versions" and "chooser" in names
    timed = [row for row in rows if row["name"].startswith("mem_") and not row["name"].endswith("_from_wall")]
    assert any(row["name"].endswith("_50steps_from_wall") and row["poster_s"] > 0 for row in rows)
    assert timed and all(row["ok"] and row["step_median_s"] > 0 for row in timed)


def test_the_worker_loads_and_warms_up_a_compiled_pipeline_before_any_job(studio):
    import time as clock

    from core.render.pipeline import warm_up
    from core.queue.runner import JobRunner

    seen = []

    def small_warm_up(pipe):
        seen.append(setup_of(pipe).label)
        warm_up(pipe, sizes=((128, 128), (160, 96)), steps=1)

    runner = JobRunner(studio.queue, studio.store,
                       load_pipeline=lambda: load_pipeline(studio.models.image_model, "cpu"), warm_up=small_warm_up)
    runner.start()
    try:
        deadline = clock.monotonic() + 120
        while runner.warm_up_seconds is None and clock.monotonic() < deadline:
            clock.sleep(0.1)
        assert seen == ["cpu"] and runner.warm_up_seconds > 0
        assert runner.model_state == "loaded" and runner.pipeline is not None
    finally:
        runner.stop()


def test_only_the_process_that_writes_briefs_compiles_the_brief_model(studio_env):
    """With STUDIO_BRIEF_MODE=fast on a GPU, the fast brief's ~40 s compile is paid at start by
    whoever writes briefs: the app. The worker process (core/queue/worker.py) never writes one,
    so it must not pay it. Nothing is loaded here: the plan is read, not run."""
    from core.settings import load_settings
    from core.services.studio import Studio

    gpu = replace(
        load_settings(studio_env), device="cuda", demo_mode=False,
        performance=PerformanceSettings(brief_mode="fast", compile="off"),
    )
    app = Studio(gpu, start_worker=False)
    worker = Studio(gpu, start_worker=False, serves_briefs=False)
    try:
        assert app.runner.warm_up is not None  # compile is off: only the brief warms up
        assert worker.runner.warm_up is None
    finally:
        app.close()
        worker.close()
