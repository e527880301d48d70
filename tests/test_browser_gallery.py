"""A real browser (Debian's Chromium, Playwright) against a real `streamlit run` server:
pick three posters, compare them, review one, and find it again with a review filter."""

import pytest
from PIL import Image

from core.recipe import diff_recipes
from tests.gallery_helpers import add_poster
from tests.helpers import small_recipe
from tests.test_browser_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, NO_MOTION_CSS, choose, server  # noqa: F401 (fixture)


@pytest.fixture
def seeded(tmp_path, demo_models_dir):
    """Three posters in the data dir the `server` fixture will open: two of one variant set,
    one from another set with another tone, style and (wider) size."""
    from core.settings import load_settings
    from storage.db import open_database
    from storage.files import ImageStore

    settings = load_settings({"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
    db = open_database(settings.database_url)
    store = ImageStore(settings.storage_url)
    ids = [
        add_poster(db, store, seed=11, group="set-a", size=(160, 160), color=(220, 60, 60))[0],
        add_poster(db, store, seed=12, group="set-a", variant_index=1, size=(160, 160), color=(60, 60, 220))[0],
        add_poster(db, store, seed=13, tone="Minimal", style="pastel gradient", preset="web_banner",
                   size=(320, 180), color=(60, 200, 120))[0],
    ]
    db.dispose()
    return ids


def test_compare_and_review_in_a_real_browser(seeded, server):
    from playwright.sync_api import expect, sync_playwright

    a, b, c = seeded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            page.goto(f"{server}/gallery")
            page.add_style_tag(content=NO_MOTION_CSS)
            expect(page.get_by_text("3 match · page 1 of 1")).to_be_visible(timeout=90_000)

            boxes = page.get_by_test_id("stCheckbox").filter(has_text="Compare")
            expect(boxes).to_have_count(3)
            for index, picked in enumerate(("#13", "#13, #12", "#13, #12, #11")):
                boxes.nth(index).locator("label").click()
                expect(page.get_by_text(f"Picked to compare: {picked}".replace("#13", f"#{c}").replace("#12", f"#{b}").replace("#11", f"#{a}"))).to_be_visible()
            page.get_by_role("button", name="Compare 3").click()

            expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible(timeout=30_000)
            # One row per recipe field (core/recipe.py says which fields share a row).
            field_rows = len(diff_recipes([small_recipe()]))
            expect(page.get_by_text(f"7 of {field_rows} fields differ")).to_be_visible()
            table = page.get_by_test_id("stTable")
            rows = table.locator("tbody tr")
            expect(rows).to_have_count(field_rows)
            marked, highlighted = [], []
            for i in range(rows.count()):
                cells = rows.nth(i).locator("td")
                field, differs = cells.first.inner_text().strip(), cells.last.inner_text().strip()
                if differs == "≠":
                    marked.append(field)
                colour = cells.nth(2).evaluate("el => getComputedStyle(el).backgroundColor")
                if colour == "rgb(255, 241, 168)":
                    highlighted.append(field)
            assert set(marked) == {"Tone", "Style keywords", "Preset", "Size", "Seed", "Final prompt", "Tokens"}
            assert highlighted == marked, "exactly the differing rows are highlighted"

            # One scale for all: the 320-px banner (picked first) is drawn twice as wide as the
            # 160-px squares, and its height keeps the same scale too.
            images = page.locator("[data-testid='stMain'] [data-testid='stImage'] img")
            expect(images).to_have_count(3)
            boxes = [images.nth(i).bounding_box() for i in range(3)]
            widths = [box["width"] for box in boxes]
            assert abs(widths[0] - 2 * widths[1]) <= 1.5 and abs(widths[1] - widths[2]) <= 0.5, widths
            assert abs(boxes[0]["height"] - boxes[1]["height"] * 180 / 160) <= 1.5, boxes
            # The page draws display renditions; each poster's original is one click away.
            with page.expect_download() as download:
                page.get_by_test_id("stDownloadButton").filter(has_text="Full size PNG").first.click()
            original = Image.open(download.value.path())
            assert (original.format, original.size) == ("PNG", (320, 180))
            # The word diff is against the first pick (the Minimal banner).
            expect(page.locator("del").first).to_contain_text("minimal")
            expect(page.locator("ins").first).to_contain_text("bold")
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

            # Review the first poster from the compare page.
            page.get_by_role("textbox", name="Your name (kept in this browser; your reviews are signed with it)").fill("Ann")
            page.get_by_role("button", name="Start reviewing").click()
            expect(page.get_by_text("Reviewing as Ann").first).to_be_visible()  # every review box on the page knows the name
            form = page.get_by_test_id("stForm").first
            form.get_by_text("★★★★★", exact=True).click()
            form.get_by_text("Approve", exact=True).click()
            form.get_by_role("textbox", name="Comment").fill("Strongest headline of the three")
            form.get_by_role("button", name="Save review").click()
            expect(page.get_by_text("Review saved: ★★★★★ · Approve.")).to_be_visible(timeout=30_000)

            # Back in the gallery the tile shows it, and the verdict filter finds it.
            page.get_by_test_id("stSidebar").get_by_role("link", name="Gallery").click()
            expect(page.get_by_text("★ 5.0 (1 reviewer)", exact=False)).to_be_visible(timeout=30_000)
            expect(page.get_by_text("“Strongest headline of the three” — Ann", exact=False)).to_be_visible()
            verdict = page.get_by_test_id("stSelectbox").filter(has_text="Verdict")
            choose(page, verdict, page.get_by_role("option", name="Approve"))
            expect(page.get_by_text("1 match · page 1 of 1")).to_be_visible(timeout=30_000)
            expect(page.get_by_test_id("stCheckbox").filter(has_text="Compare")).to_have_count(1)
            expect(page.get_by_text("Strongest headline of the three", exact=False)).to_be_visible()
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "gallery_review.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure_gallery.png"), full_page=True)
            raise
        finally:
            browser.close()
