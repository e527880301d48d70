"""A real browser over hostile stored text: a product name and a review written as Markdown
images, links and HTML show as typed, and no request leaves the studio's own server."""

from urllib.parse import urlparse

import pytest

from tests.gallery_helpers import add_poster, add_review
from tests.test_browser_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401 (fixture)

NAME = "![px](http://evil.test/px.png)"
COMMENT = "<img src=http://evil.test/i.png> [a](http://evil.test/a) see www.evil.test"


@pytest.fixture
def seeded(tmp_path, demo_models_dir):
    from core.settings import load_settings
    from storage.db import open_database
    from storage.files import ImageStore

    settings = load_settings({"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
    db = open_database(settings.database_url)
    store = ImageStore(settings.storage_url)
    poster_id, _ = add_poster(db, store, name=NAME, cta="Shop now", size=(96, 96))
    add_review(db, poster_id, "Ann", 2, "changes", COMMENT)
    db.dispose()
    return poster_id


def test_hostile_text_shows_as_typed_and_fetches_nothing(seeded, server):
    from playwright.sync_api import expect, sync_playwright

    studio_host = urlparse(server).hostname
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        try:
            for path, shows in (("/", NAME), (f"/gallery?poster={seeded}", COMMENT)):
                page.goto(f"{server}{path}")
                expect(page.get_by_text(shows[:10], exact=False).first).to_be_visible(timeout=90_000)
                # As typed, but for the invisible word joiner that keeps bare addresses unlinked.
                text = page.get_by_test_id("stMain").inner_text().replace("\u2060", "")
                assert shows in text, (path, text[:2000])
                sources = page.eval_on_selector_all("img[src]", "els => els.map(e => e.getAttribute('src'))")
                links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
                assert not [u for u in sources + links if "evil.test" in u], (path, sources, links)
            header = page.locator("h2").first.inner_text().replace("\u2060", "")
            assert header.startswith(f"{NAME} · seed 1"), header
            outside = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                       and urlparse(u).hostname != studio_host]
            assert not outside, outside
            assert requests, "the page was loaded through the recorded requests"
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "failure_user_text.png"), full_page=True)
            raise
        finally:
            browser.close()
