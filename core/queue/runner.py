"""The job runner: one worker thread per process owns the pipeline and takes jobs in turn.

A diffusers pipeline is not thread-safe, and two browser sessions drawing at once would
also fight over GPU memory. So pages only write queued jobs and poll their rows; this one
thread claims them from the job queue (core/queue/base.py), one at a time, and writes
progress back every step. Because the jobs table is the record of truth, a page rerun or a
second tab neither loses nor repeats work, and jobs queued by another process are picked up
too. The thread runs inside the app (STUDIO_WORKER=embedded) or alone in its own process
(core/queue/worker.py).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Callable

from PIL import Image

from core.render.generate import (
    BadOutputError,
    GenerationCancelled,
    GenerationRequest,
    GpuOutOfMemoryError,
    generate,
)
from core.queue.base import ClaimedJob, JobQueue
from core.queue.liveness import is_worker_alive, new_worker_id, register, unregister
from core.render.pipeline import setup_of
from core.render.preview import LatentPreviewer, LivePreview
from core.recipe import Recipe
from storage.files import ImageStore

logger = logging.getLogger(__name__)

def generation_request(recipe: Recipe) -> GenerationRequest:
    """What the engine draws for a recipe: the one place recipe fields become pipeline arguments."""
    return GenerationRequest(
        prompt=recipe.prompt,
        negative_prompt=recipe.negative_prompt,
        width=recipe.width,
        height=recipe.height,
        steps=recipe.steps,
        true_cfg_scale=recipe.true_cfg_scale,
        seed=recipe.seed,
        max_sequence_length=recipe.max_sequence_length,
    )


# Called with the poster id, the image and the claimed job after a poster is saved (the
# text check hangs here). Its failure is logged and never fails the poster.
PosterHook = Callable[[int, Image.Image, ClaimedJob], None]
# Replaces the generated image before it is checked and saved. Only tests use it, with a
# rendered stand-in image; it is never set by the app.
ImageHook = Callable[[Image.Image, ClaimedJob], Image.Image]

# Given the loaded pipeline, the live preview's projector for its VAE, or None where no
# projection fits it (core/render/preview.py `resolve_projection`).
PreviewerFor = Callable[[object], LatentPreviewer | None]

# A model load that fails may only have been unlucky (a file system or hub hiccup, a
# half-finished import elsewhere), so it is tried again after these pauses (three tries in
# all) before the job is failed.
LOAD_BACKOFF_S = (2.0, 8.0)
# Recovery runs at start, and again this often while idle: a worker that started while a
# dead server's worker process was still finishing (core/queue/worker_child.py) must not
# leave that process's job `running` until the next restart.
RECOVER_EVERY_S = 60.0


class JobRunner:
    def __init__(
        self,
        queue: JobQueue,
        store: ImageStore,
        load_pipeline: Callable[[], object],
        poll_seconds: float = 1.0,
        after_poster: PosterHook | None = None,
        image_hook: ImageHook | None = None,
        warm_up: Callable[[object], None] | None = None,
        load_advice: str = "See the server log.",
        load_backoff_s: tuple[float, ...] = LOAD_BACKOFF_S,
        preview_every: int = 0,
        previewer_for: PreviewerFor | None = None,
    ):
        self.queue = queue
        self.store = store
        # What a failed load tells the user to do; it depends on the mode (services/studio.py).
        self.load_advice = load_advice
        self.load_backoff_s = load_backoff_s
        self._load_pipeline = load_pipeline
        self.poll_seconds = poll_seconds
        self.after_poster = after_poster
        self.image_hook = image_hook
        # With a compiled pipeline the first calls compile (about 14 s + 6 s per new size on
        # an H100). Given `warm_up`, the worker loads the pipeline and makes those calls as
        # soon as it starts, before any user waits on them.
        self.warm_up = warm_up
        self.warm_up_seconds: float | None = None
        # Live preview every `preview_every` steps (0: off), stored beside the job.
        self.preview_every = preview_every
        self._previewer_for = previewer_for
        self.previewer: LatentPreviewer | None = None

        self.worker_id = new_worker_id()
        self.pipeline = None
        self.model_state = "not loaded"  # shown in the sidebar: a few words, never a traceback
        self.load_seconds: float | None = None
        self.current_job_id: int | None = None
        self._recovered_at = time.monotonic()

        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "JobRunner":
        register(self.worker_id)
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="poster-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        unregister(self.worker_id)

    def recover(self) -> int:
        """Fail the jobs a dead worker left running, so they can be retried."""
        recovered = self.queue.recover_interrupted(is_worker_alive)
        if recovered:
            logger.warning("marked %d job(s) left running by a dead worker as failed", recovered)
        self._recovered_at = time.monotonic()
        return recovered

    def wake(self) -> None:
        """Tell the worker new jobs are queued, so it need not wait for its next poll."""
        self._wake.set()

    def _loop(self) -> None:
        if self.warm_up is not None:
            self._load_and_warm_up()
        while not self._stop.is_set():
            try:
                worked = self.run_next()
            except Exception:  # the worker must outlive any one bad job or DB hiccup
                logger.exception("job worker error")
                worked = False
            if not worked:
                if time.monotonic() - self._recovered_at > RECOVER_EVERY_S:
                    self._recover_quietly()
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _recover_quietly(self) -> None:
        try:
            self.recover()
        except Exception:  # a DB hiccup: the next idle moment tries again
            logger.exception("recovery of interrupted jobs failed")
            self._recovered_at = time.monotonic()

    def prepare(self) -> None:
        """Load the pipeline and pay its warm-up now, in the calling thread: a broker's
        worker process does this before it takes its first task (core/queue/celery_worker.py)."""
        register(self.worker_id)
        if self.warm_up is not None:
            self._load_and_warm_up()
        else:
            try:
                self.ensure_pipeline()
            except Exception:
                logger.exception("pipeline load failed; the first job tries again")

    def _load_and_warm_up(self) -> None:
        """Runs in the thread that will draw, the only one that ever touches the pipeline."""
        try:
            pipe = self.ensure_pipeline()
            self.model_state = "warming up (compiling)"
            start = time.perf_counter()
            self.warm_up(pipe)
            self.warm_up_seconds = time.perf_counter() - start
            self.model_state = "loaded"
        except Exception:
            logger.exception("pipeline warm-up failed")
            if self.pipeline is not None:
                self.model_state = "loaded (warm-up failed; the first poster compiles)"

    # -- one job ---------------------------------------------------------------------------

    def ensure_pipeline(self, heartbeat: Callable[[], None] | None = None):
        """Load the pipeline once, trying again after each pause of `load_backoff_s`;
        `heartbeat` keeps the claimed job visibly alive between tries."""
        if self.pipeline is not None:
            return self.pipeline
        start = time.perf_counter()
        pauses = self.load_backoff_s
        tries = len(pauses) + 1
        for attempt in range(1, tries + 1):
            self.model_state = "loading" if attempt == 1 else f"loading (try {attempt} of {tries})"
            try:
                self.pipeline = self._load_pipeline()
                break
            except Exception as error:
                logger.exception("pipeline load failed (try %d of %d)", attempt, tries)
                self.model_state = f"failed to load ({type(error).__name__}); see the server log"
                if attempt == tries or self._stop.is_set():
                    raise
                if heartbeat is not None:
                    heartbeat()
                self._stop.wait(pauses[attempt - 1])
        self.load_seconds = time.perf_counter() - start
        self.model_state = "loaded"
        if self.preview_every > 0 and self._previewer_for is not None:
            try:
                self.previewer = self._previewer_for(self.pipeline)
            except Exception:  # posters matter more than their previews
                logger.exception("live preview unavailable: its projection could not be loaded")
        return self.pipeline

    def run_next(self) -> bool:
        """Claim and run one queued job. Returns False when the queue was empty."""
        claimed = self.queue.claim_next(self.worker_id)
        if claimed is None:
            return False
        self.current_job_id = claimed.id
        try:
            self._run(claimed)
        finally:
            self.current_job_id = None
        return True

    def run_job(self, job_id: int) -> bool:
        """Run the job a broker's task names. Returns False when there was nothing to do: the
        job is finished, runs under a live worker, or was redelivered too often
        (storage/jobs.py `claim_job`)."""
        claimed = self.queue.claim_job(job_id, self.worker_id)
        if claimed is None:
            return False
        self.current_job_id = claimed.id
        try:
            self._run(claimed)
        finally:
            self.current_job_id = None
        return True

    def _live_preview(self, job_id: int) -> LivePreview | None:
        if self.previewer is None or self.preview_every <= 0:
            return None

        def store_preview(step: int, total: int, image: Image.Image) -> None:
            # Image first, then the row: a page that sees the step finds the image.
            self.store.put_preview(job_id, image)
            self.queue.record_preview(job_id, step)

        return LivePreview(self.previewer, self.preview_every, store_preview)

    def _drop_preview(self, job_id: int) -> None:
        try:
            self.store.delete_preview(job_id)
        except Exception:  # a leftover preview is a few kB; never fail a finished job over it
            logger.exception("could not delete the live preview of job %s", job_id)

    def _run(self, claimed: ClaimedJob) -> None:
        started = time.perf_counter()
        try:
            pipe = self.ensure_pipeline(heartbeat=lambda: self.queue.record_progress(claimed.id, 0, claimed.recipe.steps))
        except Exception as error:
            self.queue.fail(
                claimed.id,
                f"Could not load the image model {claimed.recipe.model_id!r} ({type(error).__name__}: {error}). "
                f"{self.load_advice}",
            )
            return

        cancel_requested = False
        first_step_s: float | None = None  # from the claim: what a queue adds shows up here

        def on_step(step: int, total: int) -> None:
            nonlocal cancel_requested, first_step_s
            if first_step_s is None:
                first_step_s = time.perf_counter() - started
            cancel_requested = self.queue.record_progress(claimed.id, step, total)

        request = generation_request(claimed.recipe)
        timings: dict = {}
        preview = self._live_preview(claimed.id)
        try:
            if self.queue.is_cancel_requested(claimed.id):
                raise GenerationCancelled()
            result = generate(
                pipe, request, on_step=on_step, should_cancel=lambda: cancel_requested, preview=preview
            )
            image = result.image
            if self.image_hook is not None:
                image = self.image_hook(image, claimed)
            timings = {
                "generate_s": round(result.seconds, 3),
                "step_mean_s": round(sum(result.step_seconds) / max(len(result.step_seconds), 1), 4),
                # How the pipeline actually ran (memory strategy, compile, fast mode).
                "strategy": setup_of(pipe).label,
                "first_step_s": round(first_step_s or 0.0, 3),
                **{key: round(value, 3) for key, value in result.timings.items()},
            }
            stored = self.store.put_png(image)
            timings["total_s"] = round(time.perf_counter() - started, 3)
            poster_id = self.queue.complete(claimed.id, stored, timings)
        except GenerationCancelled:
            self.queue.mark_cancelled(claimed.id, {"total_s": round(time.perf_counter() - started, 3)})
            return
        except (BadOutputError, GpuOutOfMemoryError) as error:
            self.queue.fail(claimed.id, str(error), {"total_s": round(time.perf_counter() - started, 3)})
            return
        except Exception as error:
            logger.error("job %s failed:\n%s", claimed.id, traceback.format_exc())
            self.queue.fail(
                claimed.id,
                f"Generation failed ({type(error).__name__}: {error}). The details are in the server log.",
                {"total_s": round(time.perf_counter() - started, 3)},
            )
            return
        finally:
            # Every way out has cleared the row's preview step by now (complete, fail,
            # mark_cancelled), so no page goes looking for the image removed here.
            if preview is not None:
                self._drop_preview(claimed.id)

        if self.after_poster is not None:
            try:
                self.after_poster(poster_id, image, claimed)
            except Exception:
                logger.exception("post-processing of poster %s failed", poster_id)
