"""UI pieces every page uses: the cached Studio, the sidebar system panel, the demo banner."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path

import streamlit as st

from core.settings import load_settings
from core.services.studio import StorageError, Studio
from core.services.deployment import deployment
from core.services.system import snapshot

DEMO_BANNER = (
    "**Demo models: images are noise.** No GPU or model weights were found, so the studio runs "
    "tiny random-weight versions of Qwen-Image and Qwen2.5-VL through the real code. Everything "
    "else (prompts, jobs, gallery, history) works as it will with the real models. "
    "See the README to use the real ones."
)


HOME = Path(__file__).resolve().parents[2] / "Home.py"


def require_app_shell() -> None:
    """Run this page inside Home.py's shell (navigation, sidebar, demo banner).

    After a server start, Streamlit sees a `pages/` folder and serves the very first deep
    link (say /compose) in its old multipage mode: it runs the page file alone, without
    Home.py. Home.py's `st.navigation` switches the server to the new mode for good, so
    handing over to it once is enough; it then runs the requested page itself."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        runpy.run_path(str(HOME), run_name="__main__")
        st.stop()


# The studios this process built, for the server's stop to close (pages/ui/server_start.py).
_STARTED: list[Studio] = []


@st.cache_resource(show_spinner="Starting the studio (first start builds the demo models)…")
def start_studio() -> Studio:
    # One per server process, built as the server starts (pages/ui/server_start.py): it owns
    # the database engine, the job worker and the warm Qwen-Image pipeline (or the worker
    # process that holds it), shared by every browser session.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    studio = Studio(load_settings())
    _STARTED.append(studio)
    return studio


def close_started_studios() -> None:
    while _STARTED:
        _STARTED.pop().close()


def get_studio() -> Studio:
    """The process's Studio. A store that cannot be used (say, a missing bucket) stops the
    page with what to fix; a failed start is not cached, so the next run tries again."""
    try:
        return start_studio()
    except StorageError as error:
        st.error(f"The image store cannot be used. {error}", icon=":material/cloud_off:")
        st.stop()


def demo_banner(studio: Studio) -> None:
    if studio.models.demo:
        st.warning(DEMO_BANNER, icon=":material/science:")


# While a job is queued or running when a page is drawn, the sidebar's panel redraws itself
# this often: a page's run draws it once, and it used to say "0 running" and "not loaded" beside
# a poster being drawn. Slower than Compose's 2 s poll (it is a summary), since every poll is
# server work an embedded worker waits behind (BENCHMARKS.md, "Watching a job"). It polls until
# the page's next run, which stops it once the queue is empty.
SIDEBAR_POLL_S = 5.0


def sidebar_panel(studio: Studio) -> None:
    active = bool(studio.queue.active_job_ids())
    with st.sidebar:
        st.fragment(run_every=SIDEBAR_POLL_S if active else None)(system_panel)(studio)


def system_panel(studio: Studio) -> None:
    """The device, the models and the deployment (drawn in the sidebar)."""
    st.subheader("System")
    info = snapshot(studio.settings.device)
    st.caption(f"Device: **{info.device}**")
    if info.gpu_name:
        st.caption(f"GPU: {info.gpu_name}")
        st.caption(f"VRAM free: {info.gpu_free_gib:.1f} / {info.gpu_total_gib:.1f} GiB")
    st.caption(f"Process RAM: {info.process_ram_gib:.2f} GiB")
    st.caption(f"System RAM: {info.system_ram_used_gib:.1f} / {info.system_ram_total_gib:.1f} GiB")
    st.subheader("Models")
    label = " (demo)" if studio.models.demo else ""
    st.caption(f"Qwen-Image{label}: **{studio.runner.model_state}**")
    st.caption(f"`{studio.models.image_model_id}`")
    st.caption(f"Qwen2.5-VL{label}: **{'warm' if studio.settings.keep_vl_warm else 'loaded per brief'}**")
    st.caption(f"`{studio.models.vl_model_id}`")
    deployment_panel(studio)


def deployment_panel(studio: Studio) -> None:
    """Which processes draw posters, the workers online and the queue (Settings has more)."""
    status = deployment(studio)
    st.subheader("Deployment")
    st.caption(f"Posters are drawn by {status.mode}.")
    if status.broker_error:
        st.warning(
            f"The queue is unavailable ({status.broker_error}). Jobs are kept and sent when it is back; "
            "check STUDIO_BROKER_URL and that Redis runs.",
            icon=":material/cloud_off:",
        )

    st.caption(f"Queue: **{status.queued}** queued, **{status.running}** running")
    if not status.workers:
        st.caption(":orange[No worker online: queued jobs wait until one starts.]")
    for worker in status.workers:
        job = f", drawing job {worker.current_job_id}" if worker.current_job_id else ""
        gpu = f" on {worker.gpu}" if worker.gpu else ""
        silent = " (not answering a ping)" if worker.answers_ping is False else ""
        st.caption(f"Worker `{worker.name}`{gpu}: {worker.model_state}{job}{silent}")


def persistent_form(name: str, defaults: dict) -> None:
    """Keep a page's form across page switches.

    Streamlit drops a widget's state on any run that does not draw the widget, so leaving
    the page would wipe a half-filled form. At the top of the page, every field's current
    value is copied into a plain session entry (which Streamlit never drops), and a field
    that was dropped is restored from it. Pages that prefill a form (a saved brief, edit and
    rerun) set the widget keys directly before switching here; those values win."""
    saved = st.session_state.setdefault(f"_saved_form_{name}", {})
    for key, default in defaults.items():
        if key in st.session_state:
            saved[key] = st.session_state[key]
        else:
            st.session_state[key] = saved.get(key, default)


# Stored images are content-addressed, so a path's bytes never change: caching them by path
# keeps a page's reruns (Compose polls while it draws) from downloading them again from S3.
@st.cache_data(max_entries=512, show_spinner=False)
def thumb_bytes(_studio: Studio, relative: str | None) -> bytes | None:
    return _studio.store.read_bytes(relative) if relative else None


@st.cache_data(max_entries=64, show_spinner=False)
def display_bytes(_studio: Studio, relative: str) -> bytes:
    """A stored poster as a page draws it (storage/files.py `make_display`), made once per
    poster and kept in the store. Not the PNG: st.image would re-encode that on every run."""
    return _studio.store.display_bytes(relative)


@st.cache_data(max_entries=16, show_spinner=False)
def image_bytes(_studio: Studio, relative: str) -> bytes:
    """A full-size stored image (a poster of 1-3 MB as PNG, hence the smaller cache)."""
    return _studio.store.read_bytes(relative)
