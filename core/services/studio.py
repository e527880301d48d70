"""The studio's long-lived parts, wired together once per process.

The UI keeps one `Studio` in `st.cache_resource`; tests and scripts build their own. It holds
the database, the image store, the job queue, the job runner (which owns the warm pipeline)
and the resolved model locations: the real hub ids, local folders, or the demo checkpoints.
By default (STUDIO_WORKER=process) the app's runner is never started: the app starts a
worker process (core/queue/worker_child.py), which builds its own Studio and runs it, as
workers started by hand do (STUDIO_WORKER=external, core/queue/worker.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from PIL import Image

from core.render import demo_models
from core.brief.prompt import check_notes
from core.brief.runtime import (
    DEFAULT_MAX_NEW_TOKENS,
    DEMO_MAX_NEW_TOKENS,
    STAGE_WAITING_FOR_COMPILE,
    WARM_UP_DRAFT_SIZE,
    WARM_UP_TOKENS,
    BriefResult,
    VLHolder,
    brief_generation,
    brief_loader,
    choose_brief_mode,
    loading_stage,
    run_brief,
    wants_brief_warm_up,
)
from core.render.generate import load_tokenizer
from core.render.pipeline import load_pipeline, warm_up
from core.render.preview import LatentPreviewer, resolve_projection
from core.queue.runner import JobRunner
from core.queue.worker_child import WorkerChild
from core.queue.sql import SqlJobQueue
from core.queue.celery_app import make_celery_app
from core.queue.celery_queue import CeleryJobQueue
from core.services.textcheck import make_after_poster_hook
from core.render.plan import brief_room_bytes, gpu_memory, host_free_bytes, plan_pipeline
from core.settings import Settings, settings_environ
from storage.briefs import BriefRecord, save_brief, save_draft
from storage.db import Database, DatabaseUnavailable, open_database  # noqa: F401  (the app shows DatabaseUnavailable)
from storage.files import StorageError, open_image_store  # noqa: F401 (StorageError: what pages catch at start)

logger = logging.getLogger(__name__)

# transformers and diffusers resolve their classes lazily on first use. Two threads doing
# that at once (the worker loading the pipeline while a page loads the tokenizer or a
# brief) have failed with "cannot import name 'Qwen2_5_VLForConditionalGeneration' from
# 'transformers'". So the names every load needs are resolved here, once, under a lock,
# before any load.
_IMPORT_LOCK = threading.Lock()
_imported = False


def import_model_libraries() -> None:
    global _imported
    with _IMPORT_LOCK:
        if _imported:
            return
        import diffusers
        import transformers

        for name in ("QwenImagePipeline", "QwenImageTransformer2DModel", "AutoencoderKLQwenImage"):
            getattr(diffusers, name)
        for name in ("AutoTokenizer", "AutoProcessor", "Qwen2_5_VLForConditionalGeneration"):
            getattr(transformers, name)
        _imported = True


def load_failure_advice(settings: Settings) -> str:
    """What a job that could not load the image model tells the user to do."""
    if settings.demo_mode:
        return (
            "The demo models are built under STUDIO_DEMO_MODELS_DIR; delete that folder to have them rebuilt, "
            "and see the server log for the cause."
        )
    return (
        "Check STUDIO_IMAGE_MODEL (a hub id with network access, or a local folder), "
        "or set STUDIO_DEMO=1 to try the studio on demo models."
    )


@dataclass(frozen=True)
class ModelLocations:
    image_model: str  # what from_pretrained is given
    vl_model: str
    image_model_id: str  # what is recorded with every job
    vl_model_id: str
    demo: bool


def resolve_models(settings: Settings) -> ModelLocations:
    """Demo mode builds the tiny checkpoints on first use and points the same
    `from_pretrained` code at them."""
    if settings.demo_mode:
        image_dir, vl_dir = demo_models.ensure_demo_models(settings.demo_models_dir)
        return ModelLocations(
            image_model=str(image_dir),
            vl_model=str(vl_dir),
            image_model_id=f"demo/{demo_models.IMAGE_SUBDIR}@{demo_models.DEMO_VERSION}",
            vl_model_id=f"demo/{demo_models.VL_SUBDIR}@{demo_models.DEMO_VERSION}",
            demo=True,
        )
    return ModelLocations(
        image_model=settings.image_model,
        vl_model=settings.vl_model,
        image_model_id=settings.image_model,
        vl_model_id=settings.vl_model,
        demo=False,
    )


def brief_fields(result: BriefResult) -> dict:
    """What a brief row stores of a run, beside its draft, language and notes."""
    return {
        "model_id": result.model_id,
        "raw_text": result.raw_text,
        "sections": result.parsed.sections,
        "missing": result.parsed.missing,
        "truncated": result.truncated,
        "timings": {**result.timings, "new_tokens": result.new_tokens, "prompt_tokens": result.prompt_tokens},
        "memory": result.memory,
    }


def plan_image_pipeline(settings: Settings, models: ModelLocations, memory: tuple[int, int] | None):
    """Placement, compile and fast mode, decided once before the load from `memory`, the GPU
    memory (free, total) now (core/render/memory.py); the settings page shows the plan and
    its reasons."""
    return plan_pipeline(settings.device, models.demo, settings.performance, memory=memory, host_free=host_free_bytes())


def device_memory(settings: Settings) -> tuple[int, int] | None:
    return gpu_memory() if settings.device == "cuda" else None


def load_image_pipeline(settings: Settings, models: ModelLocations, plan, parallel=None):
    """The image pipeline as planned; with `parallel` (core/render/parallel.py) as this
    rank's part of a process group. The job worker and a group's other ranks load it so."""
    import_model_libraries()
    return load_pipeline(
        models.image_model,
        settings.device,
        strategy=plan.strategy,
        compile=plan.compile,
        fast_mode=plan.fast_mode,
        lora_path=plan.lightning_lora,
        parallel=parallel,
    )


def worker_settings(settings: Settings, plan) -> Settings:
    """The settings of the worker process the app starts: the app's, with the memory strategy
    the app planned named outright. The child would otherwise plan again from the GPU's free
    memory seconds later, while the app's own start-up brief compile may be filling it."""
    if plan.strategy is None:
        return settings
    return replace(settings, performance=replace(settings.performance, strategy=plan.strategy.name))


class Studio:
    def __init__(
        self, settings: Settings, start_worker: bool | None = None, serves_briefs: bool = True, parallel=None,
        **runner_options
    ):
        """`start_worker` defaults to the setting: a worker process of the app's own
        (process), the app's worker thread (embedded), or none here (external). `serves_briefs` is False for the worker process
        (core/queue/worker.py): briefs run in the app, so only the app pays their compile.
        `parallel` is rank 0's place in a group of devices drawing each poster together
        (core/queue/parallel_worker.py)."""
        self.settings = settings
        self.serves_briefs = serves_briefs
        self.parallel = parallel
        self.models = resolve_models(settings)
        self.db: Database = open_database(settings.database_url)
        self.store = open_image_store(settings.storage_url)  # a StorageError here says what to fix
        if settings.queue == "celery":
            # A task per job over the broker; the rows stay the record of truth.
            self.queue = CeleryJobQueue(self.db, make_celery_app(settings), max_attempts=settings.job_max_attempts)
        else:
            self.queue = SqlJobQueue(self.db, max_attempts=settings.job_max_attempts)
        # With a broker, briefs are tasks for the GPU workers too: the app may have no GPU.
        self.briefs_on_workers = settings.queue == "celery"
        if settings.text_check and "after_poster" not in runner_options:
            # The OCR check runs in the worker right after each poster is saved.
            runner_options["after_poster"] = make_after_poster_hook(self.db, self.queue)
        self.performance = settings.performance
        memory = device_memory(settings)
        self.plan = plan_image_pipeline(settings, self.models, memory)
        # The brief mode is decided once with the plan, from the room the image model leaves:
        # the start-up compile and every brief of this process then agree on it.
        self.brief_choice = choose_brief_mode(
            settings.device, brief_room_bytes(self.plan, memory), self.performance.brief_mode
        )
        runner_options.setdefault("load_advice", load_failure_advice(settings))
        runner_options.setdefault("load_pipeline", self._load_pipeline)
        runner_options.setdefault("preview_every", settings.preview_every)
        runner_options.setdefault("previewer_for", self._previewer_for)
        self.runner = JobRunner(
            self.queue,
            self.store,
            # Compile's first-call cost is paid at start, in the worker, not by the first poster;
            # the fast brief's compile follows, beside the worker.
            warm_up=self._warm_up if self.plan.compile or self._wants_brief_warm_up() else None,
            **runner_options,
        )
        self._tokenizer = None
        self._tokenizer_lock = threading.Lock()
        # One brief at a time per process: two VL models loading at once would double the
        # memory the transient load is meant to save.
        self.brief_lock = threading.Lock()
        self.vl_holder = VLHolder() if settings.keep_vl_warm else None
        self.brief_warm_up: str | None = None  # what the Settings page says about it
        # Problems found at start that the app survives; the sidebar shows them.
        self.start_warnings: list[str] = []
        self.worker_child: WorkerChild | None = None
        if start_worker is None and settings.queue == "celery":
            self.runner.model_state = "in the Celery workers"  # what the app's sidebar says
            problem = self.queue.check_broker()
            if problem:
                logger.warning(problem)
                self.start_warnings.append(problem)
            self.queue.start_dispatcher()
        elif start_worker is None and settings.worker in ("process", "external"):
            self.runner.model_state = "in the worker process"  # what the app's sidebar says
            if settings.worker == "process":
                # Started here, after the demo checkpoints exist and the database is migrated.
                self.worker_child = WorkerChild(settings_environ(worker_settings(settings, self.plan))).start()
            if self._wants_brief_warm_up():
                # No worker thread here to follow: the app pays the fast brief's compile at start.
                threading.Thread(target=self.warm_up_brief, name="brief-warm-up", daemon=True).start()
        elif start_worker is not False:
            self.start_worker()

    def start_worker(self) -> None:
        """Recover jobs a dead worker left running, then start taking jobs; jobs queued
        through this process's queue wake the worker at once."""
        self.queue.on_notify(self.runner.wake)
        self.runner.start()

    def _load_pipeline(self):
        return load_image_pipeline(self.settings, self.models, self.plan, parallel=self.parallel)

    def _previewer_for(self, pipe) -> LatentPreviewer | None:
        """The live preview's projection for the loaded VAE: a user's own file, one fitted
        beside the model, or the published factors for Qwen-Image's VAE."""
        projection = resolve_projection(
            self.models.image_model, pipe.vae.config, override=self.settings.preview_projection
        )
        return LatentPreviewer(projection) if projection is not None else None

    @property
    def tokenizer(self):
        """The pipeline's tokenizer alone (small), for counting prompt tokens in the UI
        without waiting for the whole pipeline to load."""
        with self._tokenizer_lock:
            if self._tokenizer is None:
                import_model_libraries()
                self._tokenizer = load_tokenizer(self.models.image_model)
            return self._tokenizer

    def brief_mode(self) -> tuple[str, str]:
        """(mode, reason) of this process's briefs: decided at start (see __init__)."""
        return self.brief_choice

    def _wants_brief_warm_up(self) -> bool:
        return self.serves_briefs and wants_brief_warm_up(self.settings.device, self.models.demo, self.brief_choice[0])

    def _warm_up(self, pipe) -> None:
        """The worker's start: the pipeline's compile first, then the brief's in its own
        thread, so the worker takes posters while the brief compiles."""
        if self.plan.compile:
            warm_up(pipe)
        if self._wants_brief_warm_up():
            threading.Thread(target=self.warm_up_brief, name="brief-warm-up", daemon=True).start()

    def warm_up_brief(self) -> float | None:
        """One throwaway fast brief on a blank draft, to pay the decode step's compile before
        a user's first brief. Nothing is stored. Returns its seconds, or None where the
        next brief would not use the fast mode (then there is nothing to compile)."""
        with self.brief_lock:
            mode, _reason = self.brief_mode()
            if mode != "fast":
                self.brief_warm_up = None
                return None
            self.brief_warm_up = "compiling"
            start = time.perf_counter()
            try:
                import_model_libraries()
                run_brief(
                    self.models.vl_model,
                    self.models.vl_model_id,
                    Image.new("RGB", WARM_UP_DRAFT_SIZE, "white"),
                    self.settings.device,
                    max_new_tokens=WARM_UP_TOKENS,
                    holder=self.vl_holder,
                    loader=brief_loader(mode),
                    generation=brief_generation(mode, self.settings.device),
                )
            except Exception as error:  # the first real brief then pays the compile itself
                logger.exception("brief warm-up failed")
                self.brief_warm_up = f"failed ({type(error).__name__}); the first brief compiles"
                return None
            seconds = time.perf_counter() - start
            self.brief_warm_up = f"done in {seconds:.0f} s"
            return seconds

    def write_brief(
        self,
        draft_image: Image.Image,
        original_name: str,
        language: str,
        notes: str,
        on_stage=None,
        max_new_tokens: int | None = None,
    ) -> BriefRecord:
        """Run the VL brief on a prepared draft, then store the draft and the brief. Nothing
        is stored when the run fails. (On a worker, core/services/briefs.py `run_brief_job`
        runs the same `run_vl_brief` and stores the same fields on its job.)"""
        check_notes(notes)  # before the model loads: over-long notes are refused, not cut
        result = self.run_vl_brief(draft_image, language, notes, on_stage=on_stage, max_new_tokens=max_new_tokens)
        draft = save_draft(self.db, self.store, draft_image, original_name)
        return save_brief(self.db, draft_id=draft.id, language=language, notes=notes, **brief_fields(result))

    def run_vl_brief(
        self,
        draft_image: Image.Image,
        language: str,
        notes: str,
        on_stage=None,
        max_new_tokens: int | None = None,
    ) -> BriefResult:
        """The brief model's call alone, stored nowhere: the one code path of a brief,
        whether the app writes it (write_brief) or a GPU worker does."""
        if max_new_tokens is None:
            max_new_tokens = DEMO_MAX_NEW_TOKENS if self.models.demo else DEFAULT_MAX_NEW_TOKENS
        if self.brief_warm_up == "compiling" and on_stage is not None:
            on_stage(STAGE_WAITING_FOR_COMPILE)  # the lock below is held by the warm-up
        import_model_libraries()
        with self.brief_lock:
            mode, _reason = self.brief_mode()
            result = run_brief(
                self.models.vl_model,
                self.models.vl_model_id,
                draft_image,
                self.settings.device,
                language=language,
                notes=notes,
                max_new_tokens=max_new_tokens,
                on_stage=on_stage,
                holder=self.vl_holder,
                loader=brief_loader(mode),
                generation=brief_generation(mode, self.settings.device),
                loading_label=loading_stage(mode),
            )
            result.timings["brief_mode"] = mode
        return result

    def close(self) -> None:
        if self.worker_child is not None:
            self.worker_child.stop()
        self.runner.stop()
        if isinstance(self.queue, CeleryJobQueue):
            self.queue.close()
        self.db.dispose()
