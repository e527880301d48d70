"""Settings: how the image model runs on this machine (memory strategy, compile, fast
modes), why, and how long a poster should take here, from the benchmark table."""

from __future__ import annotations

import streamlit as st

from core.services.system import (
    LIGHTNING_STEPS,
    compile_figures,
    estimate_poster_seconds,
    precision_label,
    setup_label,
    snapshot,
)
from core.services.deployment import deployment
from pages.ui.shared import get_studio, require_app_shell

require_app_shell()
studio = get_studio()
plan = studio.plan
info = snapshot(studio.settings.device)

st.title("Settings: speed and memory")
st.caption(
    "Chosen once when the studio starts, from the free GPU memory. Override with environment variables "
    "(STUDIO_STRATEGY, STUDIO_COMPILE, STUDIO_FAST_MODE, STUDIO_BRIEF_MODE) and restart; the README lists them."
)

st.subheader("This machine")
if info.gpu_name:
    st.write(f"**{info.gpu_name}**: {info.gpu_free_gib:.1f} GiB free of {info.gpu_total_gib:.1f} GiB")
else:
    st.write(f"No GPU: the image model runs on **{info.device}**.")

st.subheader("Memory strategy")
st.write(f"**{plan.label}**")
if plan.strategy is None:
    st.write("Everything runs on one device; no memory strategy applies.")
else:
    strategy = plan.strategy
    st.write(
        f"Estimated peak: about **{strategy.estimated_peak_gib:.1f} GiB** at the largest preset size"
        + (f"; about {strategy.host_gib:.0f} GiB of host memory holds the offloaded weights." if strategy.host_gib else ".")
    )
    if not strategy.fits:
        st.error("This strategy is not expected to fit in the free GPU memory. Expect out-of-memory errors.")
    if strategy.changes_output:
        st.warning("This strategy changes the output (4-bit weights).")
for reason in (*(plan.strategy.reasons if plan.strategy else ()), *plan.notes):
    st.markdown(f"- {reason}")

st.subheader("Compile and fast modes")
figures = compile_figures()  # measured on the lent GPUs (bench/results/)
if plan.compile:
    st.write(
        f"**Regional compile: on.** On an H100 it takes a 1328x1328, 50-step poster from "
        f"{figures.eager_poster_s:.1f} s to {figures.compiled_poster_s:.1f} s. Its first calls cost about "
        f"{figures.first_call_s:.0f} s, and {figures.new_size_s:.0f} s more for a new size; the worker loads the "
        f"model and makes them at start (a short warm-up at 1328x1328 and 1664x928, {figures.warm_up_s:.0f} s on an "
        "H200), so the first poster does not wait for them unless it is queued during the warm-up: on the H200 "
        f"the first poster after the warm-up took {figures.first_poster_after_warm_up_s:.1f} s. "
        "Set STUDIO_COMPILE=0 to turn it off."
    )
    if studio.runner.warm_up_seconds is not None:
        st.caption(f"Warm-up took {studio.runner.warm_up_seconds:.0f} s after the load.")
else:
    st.write("**Regional compile: off.** Set STUDIO_COMPILE=1 to turn it on (GPU only).")
if plan.fast_mode == "off":
    st.write(f"**Fast mode: off.** Posters are drawn at full precision: {precision_label(info.device)}.")
elif plan.fast_mode == "fp8":
    st.warning(
        f"**Fast mode: FP8. This changes the output.** About {figures.fp8_step_saving:.0%} faster per step; the "
        f"first poster after a start waits about {figures.fp8_first_call_s / 60:.1f} minutes for the compile."
    )
else:
    st.warning(
        f"**Fast mode: few-step LoRA. This changes the output.** Use {LIGHTNING_STEPS} steps and CFG 1 in Compose."
    )
brief_mode, brief_reason = studio.brief_mode()
st.write(f"**Brief model: {brief_mode}** ({brief_reason}).")
if studio.brief_warm_up:
    st.caption(f"Fast brief compile at start: {studio.brief_warm_up}.")

loaded = studio.runner.pipeline
if loaded is not None:
    st.caption(f"Loaded pipeline: {setup_label(loaded)}")
else:
    st.caption(f"Image model: {studio.runner.model_state} (it loads with the first poster).")

st.subheader("Estimated time per poster")
rows = []
strategy_name = plan.strategy.name if plan.strategy else "resident"
for width, height in ((1328, 1328), (1664, 928)):
    for steps, cfg in ((50, 4.0), (40, 4.0), (20, 4.0), (LIGHTNING_STEPS, 1.0)):
        estimate = estimate_poster_seconds(
            info.gpu_name, strategy_name, plan.compile, width, height, steps, cfg, fast_mode=plan.fast_mode
        )
        if estimate is not None:
            rows.append(
                {"size": f"{width}x{height}", "steps": steps, "CFG": cfg, "seconds": estimate.seconds,
                 "from": estimate.basis}
            )
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("From bench/gpu_bench.py runs of the real architectures (BENCHMARKS.md); the first poster after a "
               "start adds the compile time above.")
else:
    st.info("No measurement for this card with this setup. BENCHMARKS.md says how to run the benchmark on it.")

st.subheader("Deployment")
status = deployment(studio)
st.write(f"Posters are drawn by **{status.mode}**. History: {status.database}.")
if status.broker:
    if status.broker_error:
        st.warning(f"The broker {status.broker} did not answer ({status.broker_error}). Jobs are kept queued and "
                   "sent when it is back.")
    else:
        st.caption(f"Broker: {status.broker}; workers answering a ping are marked below (checked every few seconds).")
for warning in studio.start_warnings:
    st.caption(f"At start: {warning}")
st.write(f"Queue: **{status.queued}** queued, **{status.running}** running.")
if status.workers:
    st.dataframe(
        [
            {"worker": w.name, "GPU": w.gpu or "—", "model": w.model_state,
             "drawing job": w.current_job_id if w.current_job_id else "—",
             "answers ping": {True: "yes", False: "no", None: "—"}[w.answers_ping]}
            for w in status.workers
        ],
        hide_index=True, width="stretch",
    )
else:
    st.info("No worker is online: queued jobs wait until one starts (README, 'Team deployment').")
