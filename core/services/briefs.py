"""Briefs for the pages: list, fetch and save the user's edits to the seven sections; and a
brief as a job for a GPU worker.

In the app with a GPU, the Brief page calls `Studio.write_brief` (core/services/studio.py)
and waits. Where the app has no GPU (`studio.briefs_on_workers`), the page calls
`request_brief`, which writes a queued brief job (storage/brief_jobs.py) and hands its id
to the queue; a GPU worker then calls `run_brief_job` with that id, which runs the same
`Studio.run_vl_brief` and stores the same brief. The page follows the job's row.
"""

from __future__ import annotations

import io
import logging
from typing import Callable

from PIL import Image

from core.brief.prompt import check_notes
from core.brief.runtime import STAGE_FREEING
from core.queue.liveness import is_worker_alive as worker_process_alive
from core.services.studio import brief_fields
from storage.brief_jobs import (
    BriefJobState,
    brief_job_state,
    claim_brief_job,
    complete_brief_job,
    fail_brief_job,
    mark_brief_dispatch_failed,
    record_stage,
    request_brief_job,
)
from storage.briefs import BriefRecord, get_brief, list_briefs, update_brief_sections

__all__ = [
    "STAGE_FREEING",
    "BriefJobState",
    "BriefRecord",
    "brief_failure_message",
    "brief_job_state",
    "get_brief",
    "list_briefs",
    "request_brief",
    "run_brief_job",
    "save_edits",
]

logger = logging.getLogger(__name__)

# An exception's text can run to pages (a model folder's whole file list); the user gets its
# first line, this long at most, and the log keeps the rest.
ERROR_TEXT_LIMIT = 300


def save_edits(db, brief_id: int, edited_sections: dict) -> BriefRecord:
    """Store the user's text for each section next to what the model wrote (kept as is)."""
    return update_brief_sections(db, brief_id, edited_sections)


def _error_text(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > ERROR_TEXT_LIMIT:
        text = text[: ERROR_TEXT_LIMIT - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def brief_failure_message(error: BaseException, demo: bool) -> str:
    """What the user reads when the brief model could not run, wherever it ran. Plain text:
    the page escapes it before showing it."""
    if demo:
        advice = (
            "The demo models are built under STUDIO_DEMO_MODELS_DIR; delete that folder to have them rebuilt, "
            "and see the server log for the cause."
        )
    else:
        advice = "Check STUDIO_VL_MODEL (a hub id with network access, or a local folder) or set STUDIO_DEMO=1."
    return f"The brief model could not run ({_error_text(error)}). Nothing was stored. {advice}"


def request_brief(
    studio,
    draft_image: Image.Image,
    original_name: str,
    language: str,
    notes: str,
    max_new_tokens: int | None = None,
) -> int:
    """Queue a brief for a GPU worker. Returns the brief job id, which the page follows
    (`brief_job_state`). The row is written before the queue hears of it, so a queue that
    is down loses nothing: the job stays undispatched, says why, and is sent again later."""
    check_notes(notes)  # nothing is stored for notes the worker would refuse
    brief_job_id = request_brief_job(
        studio.db, studio.store, draft_image, original_name, language, notes, max_new_tokens
    )
    # Only a broker-backed queue sends tasks; with today's SQL queue there is nothing to send.
    send_brief = getattr(studio.queue, "send_brief", None)
    if send_brief is not None:
        try:
            send_brief(brief_job_id)
        except Exception as error:
            logger.exception("brief job %s: the queue did not take it", brief_job_id)
            mark_brief_dispatch_failed(studio.db, brief_job_id, f"The queue could not be reached ({_error_text(error)}).")
    return brief_job_id


def _draft_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")  # stored prepared, so already RGB; the brief needs it so


def run_brief_job(
    studio,
    brief_job_id: int,
    worker_id: str,
    is_worker_alive: Callable[[str], bool] = worker_process_alive,
) -> BriefRecord | None:
    """The worker's side: claim the job, write its brief, store it. Returns the brief, or
    None when there was nothing to do or the run failed (the row says why).

    Safe to call again for the same id (a redelivered task): a job that is done, failed or
    running under a live worker is left alone. A job whose worker died is taken over; see
    storage/brief_jobs.py `claim_brief_job`."""
    db = studio.db

    # 1. Claim the job; the row says whether there is anything to do.
    claimed = claim_brief_job(db, brief_job_id, worker_id, is_worker_alive)
    if claimed is None:
        logger.info("brief job %s: nothing to do (finished, or running under a live worker)", brief_job_id)
        return None

    # 2. Read the draft from the image store.
    try:
        image = _draft_image(studio.store.read_bytes(claimed.draft_path))
    except Exception as error:
        logger.exception("brief job %s: could not read draft %s", brief_job_id, claimed.draft_path)
        fail_brief_job(
            db,
            brief_job_id,
            worker_id,
            f"The draft could not be read from the image store ({_error_text(error)}). "
            "Check that the workers see the app's image store (STUDIO_DATA_DIR), then upload the draft again.",
        )
        return None

    # 3. Run the brief model, writing each stage to the row as it starts.
    def on_stage(stage: str) -> None:
        if not record_stage(db, brief_job_id, worker_id, stage):
            logger.warning("brief job %s is no longer this worker's (%s)", brief_job_id, worker_id)

    try:
        result = studio.run_vl_brief(
            image, claimed.language, claimed.notes, on_stage=on_stage, max_new_tokens=claimed.max_new_tokens
        )
    except Exception as error:
        logger.exception("brief job %s failed", brief_job_id)
        fail_brief_job(db, brief_job_id, worker_id, brief_failure_message(error, studio.models.demo))
        return None

    # 4. Store the brief and link it to the job, in one transaction.
    record = complete_brief_job(db, brief_job_id, worker_id, **brief_fields(result))
    if record is None:
        logger.warning("brief job %s was taken over by another worker; its brief is not stored twice", brief_job_id)
    return record
