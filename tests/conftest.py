"""Shared fixtures. Every test runs offline on CPU against the demo checkpoints."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# No test may reach a model hub: a hub id must fail fast instead of retrying DNS.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def demo_models_dir(tmp_path_factory) -> Path:
    """The demo checkpoints, built once per test session with the project's own builder."""
    from core.render.demo_models import ensure_demo_models

    folder = tmp_path_factory.mktemp("demo_models")
    ensure_demo_models(folder)
    return folder


@pytest.fixture
def studio_env(tmp_path, demo_models_dir, monkeypatch) -> dict[str, str]:
    """Environment for a fresh studio: its own data dir and DB, the shared demo models, and
    the worker as a thread of the test's process, where a test can wait on it and read it.
    The default, a worker process of the app's own, has its own tests (test_worker_child.py)
    and runs under every real-server browser test."""
    env = {
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "STUDIO_DEMO": "1",
        "STUDIO_DEVICE": "cpu",
        "STUDIO_DEMO_MODELS_DIR": str(demo_models_dir),
        "STUDIO_WORKER": "embedded",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return env


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server, started once per test session (tests/s3_server.py)."""
    from tests.s3_server import S3Server

    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A fresh bucket, and the AWS variables pointing the studio at the test server."""
    from tests.s3_server import Bucket

    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    # The machine's own AWS config and keys stay out of the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    return Bucket(s3_server)


@pytest.fixture
def s3_studio_env(studio_env, s3_bucket, monkeypatch) -> dict[str, str]:
    """The studio environment with its images in the test bucket, under `posters/`."""
    env = {**studio_env, "STUDIO_STORAGE_URL": s3_bucket.url("posters")}
    monkeypatch.setenv("STUDIO_STORAGE_URL", env["STUDIO_STORAGE_URL"])
    return env


@pytest.fixture
def studio(studio_env):
    """A Studio with its worker running, closed after the test."""
    from core.settings import load_settings
    from core.services.studio import Studio

    instance = Studio(load_settings(studio_env))
    yield instance
    instance.close()


def _pages_studio():
    """The Studio the Streamlit pages see (st.cache_resource is shared by the whole test
    process, so it is cleared before and after each test; so are the pages' cached image
    bytes, so each test reads its images from its own store)."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    from pages.ui.shared import get_studio

    instance = get_studio()
    yield instance
    instance.close()
    st.cache_resource.clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The history database, once on each backend: an SQLite file, and a fresh PostgreSQL
    database (tests/pg.py) that is skipped, with the reason, where no server answers."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'studio.db'}"
        return
    from tests import pg

    reason = pg.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with pg.fresh_database() as url:
        yield url


@pytest.fixture
def app_studio(studio_env):
    yield from _pages_studio()


@pytest.fixture
def s3_app_studio(s3_studio_env):
    """The pages' Studio with its images in the test bucket."""
    yield from _pages_studio()
