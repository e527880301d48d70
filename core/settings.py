"""One typed settings object, read from environment variables.

| variable              | default                          | meaning                                              |
|-----------------------|----------------------------------|------------------------------------------------------|
| STUDIO_DATA_DIR       | ./data                           | database, images, demo checkpoints                   |
| STUDIO_STORAGE_URL    | <data dir>/images                | images: a folder, or s3://bucket/prefix (AWS_* vars) |
| DATABASE_URL          | sqlite:///<data dir>/studio.db   | any SQLAlchemy URL (e.g. postgresql+psycopg://...)   |
| STUDIO_IMAGE_MODEL    | Qwen/Qwen-Image-2512             | hub id or local folder of a QwenImagePipeline        |
| STUDIO_VL_MODEL       | Qwen/Qwen2.5-VL-3B-Instruct      | hub id or local folder of a Qwen2.5-VL model         |
| STUDIO_DEMO           | auto                             | 1: demo models, 0: real models, auto: demo w/o a GPU |
| STUDIO_DEVICE         | auto                             | cuda, cpu or auto                                    |
| STUDIO_KEEP_VL_WARM   | 0                                | keep the brief model loaded between briefs           |
| STUDIO_TEXT_CHECK     | 1                                | OCR-check every new poster's exact strings           |
| STUDIO_DEMO_MODELS_DIR| <data dir>/demo_models           | where the demo checkpoints are built                 |
| STUDIO_WORKER         | process                          | process: the app starts its own worker process; embedded: a thread in the app; external: `python -m core.queue.worker`, started by you |
| STUDIO_QUEUE          | sql                              | sql: workers claim from the jobs table; celery: tasks over a broker |
| STUDIO_BROKER_URL     | redis://127.0.0.1:6379/0         | the Celery broker (STUDIO_QUEUE=celery)              |
| STUDIO_BROKER_VISIBILITY_TIMEOUT | 7200                  | seconds before Redis hands an unacknowledged task to another worker |
| STUDIO_JOB_MAX_ATTEMPTS | 3                              | claims of one job before a worker that keeps dying fails it |
| STUDIO_PREVIEW_EVERY  | 5                                | a live preview of a running job every N steps; 0: none |
| STUDIO_PREVIEW_PROJECTION |                              | JSON of the preview's latent->RGB map (core/render/preview.py picks one if unset) |
| STUDIO_ROLES_FILE     |                                  | TOML file with a [roles] table (core/access.py); else [roles] in secrets.toml |

Speed and memory, read into `performance`:

| variable               | default | meaning                                                                      |
|------------------------|---------|------------------------------------------------------------------------------|
| STUDIO_STRATEGY        | auto    | auto, resident, te_offload, group_offload, model_offload, nf4 (core/render/memory.py) |
| STUDIO_COMPILE         | auto    | regional torch.compile of the transformer: auto (= on with CUDA), 1, 0         |
| STUDIO_FAST_MODE       | off     | off, fp8 or lightning: opt-in modes that CHANGE the output                    |
| STUDIO_LIGHTNING_LORA  |         | local folder or .safetensors of a Lightning-style LoRA (fast mode lightning)  |
| STUDIO_BRIEF_MODE      | auto    | auto (fast where the GPU has room beside the image model, else nf4), nf4, fast |

Reading settings never imports torch: the valid values live here, and the runtime modules
(core/render/pipeline.py, core/brief/runtime.py) import them from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.render.memory import STRATEGIES

DEFAULT_IMAGE_MODEL = "Qwen/Qwen-Image-2512"
DEFAULT_VL_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"

# Opt-in image modes that change the output (core/render/pipeline.py applies them).
FAST_MODES = ("off", "fp8", "lightning")
# Steps of a Lightning-style few-step generation (what its LoRA was distilled for).
LIGHTNING_STEPS = 8
# How the brief model is loaded (core/brief/runtime.py): 4-bit NF4, or bf16 with a compiled
# static-cache decode step.
BRIEF_MODES = ("nf4", "fast")
# Where posters are drawn: a worker process the app starts and stops with itself
# (core/queue/worker_child.py), a worker thread inside the app, or worker processes started
# by hand (core/queue/worker.py), all claiming from the same database.
WORKER_MODES = ("process", "embedded", "external")
# How jobs reach the workers: the jobs table polled (core/queue/sql.py), or a Celery task per
# job over a broker (core/queue/celery_queue.py); the table is the record of truth in both.
QUEUE_MODES = ("sql", "celery")
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
# Redis re-delivers a task nobody acknowledged after this long. Tasks are acknowledged when
# they end (acks_late), so it must be longer than any job, or a long job would run twice
# (the second claim would find it running and do nothing, but a worker would be held up).
DEFAULT_VISIBILITY_TIMEOUT_S = 7200
DEFAULT_JOB_MAX_ATTEMPTS = 3
# A live preview every 5 steps: 8 previews in a 40-step poster, each a small projection and
# a few kB written (BENCHMARKS.md, "Live preview"), while the tile still changes every few s.
DEFAULT_PREVIEW_EVERY = 5


@dataclass(frozen=True)
class PerformanceSettings:
    strategy: str = "auto"
    compile: str = "auto"  # auto, on, off
    fast_mode: str = "off"
    lightning_lora: str | None = None
    # "auto": the fast bf16 brief where the GPU has room for it beside the image model at its
    # peak, the 4-bit NF4 brief where it does not (core.brief.runtime.choose_brief_mode). The
    # product's intent is that the brief model never crowds out the image model; the figures
    # for both modes are in BENCHMARKS.md ("Fast brief").
    brief_mode: str = "auto"


def load_performance_settings(environ: dict[str, str] | None = None) -> PerformanceSettings:
    env = os.environ if environ is None else environ
    strategy = (env.get("STUDIO_STRATEGY") or "auto").strip().lower()
    if strategy not in ("auto", *STRATEGIES):
        raise ValueError(f"STUDIO_STRATEGY must be auto or one of {', '.join(STRATEGIES)}, not {strategy!r}")
    compile_raw = (env.get("STUDIO_COMPILE") or "auto").strip().lower()
    if compile_raw in ("1", "true", "yes", "on"):
        compile_value = "on"
    elif compile_raw in ("0", "false", "no", "off"):
        compile_value = "off"
    elif compile_raw == "auto":
        compile_value = "auto"
    else:
        raise ValueError(f"STUDIO_COMPILE must be auto, 1 or 0, not {compile_raw!r}")
    fast_mode = (env.get("STUDIO_FAST_MODE") or "off").strip().lower()
    if fast_mode not in FAST_MODES:
        raise ValueError(f"STUDIO_FAST_MODE must be one of {', '.join(FAST_MODES)}, not {fast_mode!r}")
    lora = (env.get("STUDIO_LIGHTNING_LORA") or "").strip() or None
    if fast_mode == "lightning" and lora is None:
        raise ValueError("STUDIO_FAST_MODE=lightning needs STUDIO_LIGHTNING_LORA (a local LoRA folder or file)")
    brief_mode = (env.get("STUDIO_BRIEF_MODE") or "auto").strip().lower()
    if brief_mode not in ("auto", *BRIEF_MODES):
        raise ValueError(f"STUDIO_BRIEF_MODE must be auto or one of {', '.join(BRIEF_MODES)}, not {brief_mode!r}")
    return PerformanceSettings(
        strategy=strategy, compile=compile_value, fast_mode=fast_mode, lightning_lora=lora, brief_mode=brief_mode
    )




@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    image_model: str
    vl_model: str
    demo_mode: bool
    device: str
    keep_vl_warm: bool
    text_check: bool
    demo_models_dir: Path
    storage_url: str  # where images go: a folder or s3://bucket/prefix (storage/files.py)
    performance: PerformanceSettings = field(default_factory=PerformanceSettings)
    worker: str = "process"  # one of WORKER_MODES
    queue: str = "sql"  # one of QUEUE_MODES
    broker_url: str = DEFAULT_BROKER_URL
    broker_visibility_timeout_s: int = DEFAULT_VISIBILITY_TIMEOUT_S
    job_max_attempts: int = DEFAULT_JOB_MAX_ATTEMPTS
    preview_every: int = DEFAULT_PREVIEW_EVERY  # 0: no live preview
    preview_projection: str | None = None  # a JSON file; None: core/render/preview.py chooses
    # Who gets which role once sign-in is on (core/access.py); None: [roles] in secrets.toml,
    # or, without that either, everyone signed in is an admin.
    roles_file: Path | None = None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int_at_least(env, name: str, default: int, minimum: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        what = "a whole number of at least 1" if minimum == 1 else f"a whole number, {minimum} or more"
        raise ValueError(f"{name} must be {what}, not {raw!r}")
    return value


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # a broken torch install must not stop the app from starting
        return False


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("STUDIO_DATA_DIR", "data")).expanduser().resolve()

    device = env.get("STUDIO_DEVICE", "auto").strip().lower() or "auto"
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    if device not in ("cuda", "cpu"):
        raise ValueError(f"STUDIO_DEVICE must be cuda, cpu or auto, not {device!r}")

    # The real 20B model cannot run usefully without a GPU, so "auto" means demo models there.
    demo_raw = env.get("STUDIO_DEMO", "auto").strip().lower()
    if demo_raw in ("", "auto"):
        demo_mode = device != "cuda"
    else:
        demo_mode = _flag(demo_raw, default=False)

    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'studio.db'}"
    storage_url = (env.get("STUDIO_STORAGE_URL") or "").strip() or str(data_dir / "images")

    worker = (env.get("STUDIO_WORKER") or "process").strip().lower()
    if worker not in WORKER_MODES:
        raise ValueError(f"STUDIO_WORKER must be process, embedded or external, not {worker!r}")

    queue = (env.get("STUDIO_QUEUE") or "sql").strip().lower()
    if queue not in QUEUE_MODES:
        raise ValueError(f"STUDIO_QUEUE must be sql or celery, not {queue!r}")
    broker_url = (env.get("STUDIO_BROKER_URL") or DEFAULT_BROKER_URL).strip()
    visibility = _int_at_least(env, "STUDIO_BROKER_VISIBILITY_TIMEOUT", DEFAULT_VISIBILITY_TIMEOUT_S, 1)
    max_attempts = _int_at_least(env, "STUDIO_JOB_MAX_ATTEMPTS", DEFAULT_JOB_MAX_ATTEMPTS, 1)
    preview_every = _int_at_least(env, "STUDIO_PREVIEW_EVERY", DEFAULT_PREVIEW_EVERY, 0)
    preview_projection = (env.get("STUDIO_PREVIEW_PROJECTION") or "").strip() or None
    roles_file = (env.get("STUDIO_ROLES_FILE") or "").strip()

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        image_model=env.get("STUDIO_IMAGE_MODEL") or DEFAULT_IMAGE_MODEL,
        vl_model=env.get("STUDIO_VL_MODEL") or DEFAULT_VL_MODEL,
        demo_mode=demo_mode,
        device=device,
        keep_vl_warm=_flag(env.get("STUDIO_KEEP_VL_WARM"), default=False),
        text_check=_flag(env.get("STUDIO_TEXT_CHECK"), default=True),
        demo_models_dir=Path(env.get("STUDIO_DEMO_MODELS_DIR") or data_dir / "demo_models").expanduser().resolve(),
        performance=load_performance_settings(env),
        worker=worker,
        queue=queue,
        broker_url=broker_url,
        broker_visibility_timeout_s=visibility,
        job_max_attempts=max_attempts,
        preview_every=preview_every,
        preview_projection=preview_projection,
        storage_url=storage_url,
        roles_file=Path(roles_file).expanduser().resolve() if roles_file else None,
    )


def settings_environ(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that `load_settings` reads back as exactly `settings`, over `base`
    (default: this process's). The worker process the app starts (core/queue/worker_child.py)
    runs on it, so it draws with the app's settings even where code changed them after
    reading (tests do) or a relative path meant this process's working directory."""
    performance = settings.performance
    env = dict(os.environ if base is None else base)
    env.update({
        "STUDIO_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "STUDIO_STORAGE_URL": settings.storage_url,
        "STUDIO_IMAGE_MODEL": settings.image_model,
        "STUDIO_VL_MODEL": settings.vl_model,
        "STUDIO_DEMO": "1" if settings.demo_mode else "0",
        "STUDIO_DEVICE": settings.device,
        "STUDIO_KEEP_VL_WARM": "1" if settings.keep_vl_warm else "0",
        "STUDIO_TEXT_CHECK": "1" if settings.text_check else "0",
        "STUDIO_DEMO_MODELS_DIR": str(settings.demo_models_dir),
        "STUDIO_WORKER": settings.worker,
        "STUDIO_QUEUE": settings.queue,
        "STUDIO_BROKER_URL": settings.broker_url,
        "STUDIO_BROKER_VISIBILITY_TIMEOUT": str(settings.broker_visibility_timeout_s),
        "STUDIO_JOB_MAX_ATTEMPTS": str(settings.job_max_attempts),
        "STUDIO_PREVIEW_EVERY": str(settings.preview_every),
        "STUDIO_PREVIEW_PROJECTION": settings.preview_projection or "",
        "STUDIO_ROLES_FILE": str(settings.roles_file) if settings.roles_file else "",
        "STUDIO_STRATEGY": performance.strategy,
        "STUDIO_COMPILE": {"on": "1", "off": "0"}.get(performance.compile, performance.compile),
        "STUDIO_FAST_MODE": performance.fast_mode,
        "STUDIO_LIGHTNING_LORA": performance.lightning_lora or "",
        "STUDIO_BRIEF_MODE": performance.brief_mode,
    })
    return env
