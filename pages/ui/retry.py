"""The Retry button of a failed or cancelled job, shared by Compose's tiles and the gallery's."""

from __future__ import annotations

import streamlit as st

from core.access import AccessDenied
from core.services.reruns import RerunError, RerunResult, retry_job
from pages.ui.identity import acting
from pages.ui.markdown_text import plain


def retry_button(studio, job_id: int) -> RerunResult | None:
    """A Retry button; when pressed, the job's recipe and seed are queued again (its parent
    recorded). Returns the new set, or None when not pressed or refused (the reason shown)."""
    if not st.button("Retry", key=f"retry_{job_id}", help="Queue this job again: same recipe, same seed."):
        return None
    try:
        result = retry_job(
            studio.db, studio.queue, job_id, studio.models.image_model_id, studio.models.demo, actor=acting()
        )
    except (RerunError, AccessDenied) as problem:
        st.error(plain(str(problem)))
        return None
    for warning in result.warnings:
        st.toast(plain(warning))
    return result
