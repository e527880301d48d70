"""The server's start and stop: the lifespan of Home.py's `st.App`.

Streamlit runs page scripts only when a browser connects, so a studio built by the first
page view left the queue untouched after a restart until someone visited: a job a dead
worker left `running` stayed so, and queued jobs waited. Here the studio is built as the
server starts: its worker (a process of its own by default) starts and recovers interrupted
jobs at once. The build runs in a thread, so the server answers meanwhile; a page opened
during it waits on the same cached build (pages/ui/shared.py `start_studio`), with its
spinner. A build that fails here (say, the database is down) is logged and tried again by
the first page view, which shows the user what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import asynccontextmanager

from pages.ui.shared import close_started_studios, start_studio

logger = logging.getLogger(__name__)

STARTER_THREAD = "studio-start"


class _NoBareThreadWarning(logging.Filter):
    """Streamlit warns of a "missing ScriptRunContext" when its cache is used outside a
    page's run. The starter thread does that on purpose: it fills the cache pages read."""

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name != STARTER_THREAD


def _build() -> None:
    try:
        start_studio()
    except Exception:
        logger.exception("the studio could not start with the server; the first page view tries again")


@asynccontextmanager
async def studio_lifespan(_app):
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NoBareThreadWarning())
    threading.Thread(target=_build, name=STARTER_THREAD, daemon=True).start()
    yield
    # The worker process is told to stop and waited for (it finishes a job that ends within
    # its stop timeout: core/queue/worker_child.py), off the event loop.
    await asyncio.to_thread(close_started_studios)
