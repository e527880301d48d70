"""One real-browser run of the main flow: Debian's Chromium driven by Playwright against a
real `streamlit run` server on demo models."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
def wait_for_script_to_finish(page) -> None:
    """Streamlit shows its status widget ("Running...") while a script run is in flight; a
    widget read during a run may still show the half-drawn page."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget").filter(has_text="Running")).to_have_count(0, timeout=30_000)


def choose(page, box, option, timeout_s: float = 60.0) -> None:
    """Open a selectbox (`box`) and click `option` in its list. A script run that lands while
    the list is open draws the box again and closes the list (CI once waited 30 s for an
    option that was never shown); a user would open it again, and so does this, until
    `timeout_s`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout_s
    while True:
        wait_for_script_to_finish(page)
        box.click()
        try:
            option.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
            page.keyboard.press("Escape")  # close a list that may still be open


# Stable screenshots: no transitions or animations.
NO_MOTION_CSS = "*, *::before, *::after { transition: none !important; animation: none !important; }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(tmp_path, demo_models_dir, env: dict | None = None, args: list[str] | None = None, port: int | None = None):
    """`streamlit run Home.py` on a free localhost port, with its own data dir; yields its URL
    once /_stcore/health answers, and ends it by its PID."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: install Debian's chromium package (the README's test command does).")
    port = port or free_port()
    env = {
        **os.environ,
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "STUDIO_DEMO": "1",
        "STUDIO_DEVICE": "cpu",
        "STUDIO_DEMO_MODELS_DIR": str(demo_models_dir),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    log_path = tmp_path / "streamlit.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), *(args or [])],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("streamlit did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.3)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def server(tmp_path, demo_models_dir):
    with streamlit_server(tmp_path, demo_models_dir) as url:
        yield url


def test_compose_generate_gallery_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        try:
            page.goto(server)
            page.add_style_tag(content=NO_MOTION_CSS)
            expect(page.get_by_text("Demo models: images are noise.")).to_be_visible(timeout=90_000)

            page.get_by_test_id("stSidebar").get_by_role("link", name="Compose").click()
            page.get_by_role("textbox", name="Product name", exact=True).fill("Aurora Headphones")
            page.get_by_role("textbox", name="Offer headline (exact)", exact=True).fill("SUMMER SALE")
            page.get_by_role("textbox", name="Price (exact)", exact=True).fill("$19.99")
            page.get_by_role("textbox", name="CTA text (exact)", exact=True).fill("Shop now")
            page.get_by_text("Draft size", exact=True).click()
            # Wait for that click's rerun to land before opening the expander: on a loaded
            # machine the expander otherwise opened on a half-drawn run (cfg showed 1.00).
            expect(page.get_by_text("Draws at 784×784")).to_be_visible(timeout=30_000)
            wait_for_script_to_finish(page)
            page.get_by_text("Advanced").click()
            wait_for_script_to_finish(page)
            cfg = page.get_by_role("spinbutton", name="true_cfg_scale")
            expect(cfg).to_have_value("4.00", timeout=30_000)
            steps = page.get_by_role("spinbutton", name="Steps")
            steps.fill("2")
            steps.press("Enter")
            expect(steps).to_have_value("2")
            seed = page.get_by_role("textbox", name="Seed (blank = random)")
            seed.fill("4242")
            seed.press("Enter")
            expect(page.get_by_text('- headline: "SUMMER SALE"')).to_be_visible(timeout=30_000)

            expect(cfg).to_have_value("4.00")
            page.get_by_role("button", name="Generate", exact=True).click()
            expect(page.get_by_text("Variant 1 · seed 4242")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("link", name="Open in gallery")).to_be_visible(timeout=120_000)
            # The OCR check lands after the poster; once its badge shows, the page stops polling
            # and a click can no longer race a refresh.
            expect(page.get_by_text(re.compile(r"^text [✓✗] \d+/\d+ exact$"))).to_be_visible(timeout=120_000)
            expect(page.get_by_text("✗ missing").first).to_be_visible()
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "compose.png"), full_page=True)

            page.get_by_role("link", name="Open in gallery").click()
            expect(page.get_by_role("heading", name="Aurora Headphones · seed 4242")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("button", name="Download PNG")).to_be_visible()
            expect(page.get_by_text("Negative prompt", exact=True)).to_be_visible(timeout=30_000)
            recipe = page.get_by_test_id("stTable").inner_text()
            cells = [c.strip() for c in recipe.split("\n") if c.strip()]
            assert cells[cells.index("Seed") + 1] == "4242", cells
            assert cells[cells.index("true_cfg_scale") + 1] == "4.0", cells
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "gallery_detail.png"), full_page=True)

            # What the check read: the noise poster has no text, so its strings are missing
            # and the overlay shows where each was looked for (grey) or says the whole poster.
            page.get_by_text("Show what the check read", exact=True).click()
            legend = page.get_by_test_id("stImageCaption").filter(has_text="missing")
            expect(legend).to_be_visible(timeout=30_000)
            for shown in ("“SUMMER SALE”", "“$19.99”", "“Shop now”"):  # "$" shown as typed, not maths
                expect(legend).to_contain_text(shown)
            wait_for_script_to_finish(page)
            overlay = page.get_by_test_id("stImageContainer").filter(has=legend).locator("img")
            expect(overlay).to_have_js_property("complete", True)
            assert overlay.evaluate("img => img.naturalWidth") > 0
            overlay.scroll_into_view_if_needed()
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "gallery_detail_text_check.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert (ARTIFACTS / "compose.png").stat().st_size > 10_000
    assert (ARTIFACTS / "gallery_detail_text_check.png").stat().st_size > 10_000


def test_deep_link_after_a_restart_gets_the_full_app(server):
    """The first visit after a server start may be a bookmark such as /gallery; it must still
    get the navigation, the sidebar panel and the demo banner."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{server}/gallery")
            expect(page.get_by_role("heading", name="Gallery")).to_be_visible(timeout=90_000)
            expect(page.get_by_text("Demo models: images are noise.")).to_be_visible()
            expect(page.get_by_text("Process RAM")).to_be_visible()
            expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Brief")).to_be_visible()
            expect(page.get_by_role("link", name="shared")).to_have_count(0)
        finally:
            browser.close()


# Records every text the sidebar shows, from the first paint on: Streamlit's own
# page list may be drawn for a moment only, so waiting for a state could miss it.
RECORD_SIDEBAR_TEXT = """
window.__sidebarTexts = new Set();
new MutationObserver(() => {
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (!sidebar) return;
  const texts = document.createTreeWalker(sidebar, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    // A Material icon is a ligature: its name ("home", "compare") is text too, not a label.
    if (texts.currentNode.parentElement.closest('[data-testid="stIconMaterial"]')) continue;
    window.__sidebarTexts.add(texts.currentNode.textContent.trim());
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""
FILE_NAME_LABELS = {"home", "brief", "compose", "gallery", "compare", "brand kits", "settings"}


def test_sidebar_never_lists_page_file_names_during_start(tmp_path, demo_models_dir):
    """While Home.py builds the studio, the sidebar shows the studio's own navigation, never
    Streamlit's list of pages/*.py by file name ("brand kits", "compose")."""
    from playwright.sync_api import expect, sync_playwright

    with streamlit_server(tmp_path, demo_models_dir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.add_init_script(RECORD_SIDEBAR_TEXT)
            page.goto(url)  # the first session after the server start: the one that flashed
            expect(page.get_by_role("heading", name="Latest posters")).to_be_visible(timeout=90_000)
            sidebar = page.get_by_test_id("stSidebar")
            for title in ("Home", "Brief", "Compose", "Gallery", "Compare", "Brand kits", "Settings"):
                expect(sidebar.get_by_role("link", name=title)).to_be_visible()
            seen = set(page.evaluate("[...window.__sidebarTexts]"))
            assert not seen & FILE_NAME_LABELS, sorted(seen)
        finally:
            browser.close()


def test_the_sidebar_follows_the_queue_without_a_click(tmp_path, demo_models_dir):
    """A page left open while jobs wait or run keeps its sidebar's queue line current: no
    worker here (STUDIO_WORKER=external), so the test queues and claims jobs itself."""
    from playwright.sync_api import expect, sync_playwright

    from core.queue.sql import SqlJobQueue
    from storage.db import open_database
    from tests.helpers import small_recipe

    env = {"STUDIO_WORKER": "external"}
    with streamlit_server(tmp_path, demo_models_dir, env=env) as url, sync_playwright() as p:
        queue = SqlJobQueue(open_database(f"sqlite:///{tmp_path / 'data' / 'studio.db'}"))
        queue.enqueue(small_recipe(), [1])
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(url)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("Queue: 1 queued, 0 running")).to_be_visible(timeout=90_000)
            queue.enqueue(small_recipe(), [2])  # another session's job: this page is not touched
            expect(sidebar.get_by_text("Queue: 2 queued, 0 running")).to_be_visible(timeout=30_000)
            assert queue.claim_next("test-worker") is not None
            expect(sidebar.get_by_text("Queue: 1 queued, 1 running")).to_be_visible(timeout=30_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure_sidebar.png"), full_page=True)
            raise
        finally:
            browser.close()
