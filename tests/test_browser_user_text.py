"""A real browser over a hostile corpus: Markdown images and links, raw HTML, maths, emphasis
and headings typed into every product field, brief section, brand-kit field, review, failed
job and uploaded file name show as typed on every page, and no request leaves the studio.

The rows go in through the real storage (the same writes Compose, the worker, the brief
runtime and the review form make); the pages are the real `streamlit run` server in Chromium.
tests/test_user_text_as_typed.py checks the same corpus in every element's protobuf; this
file checks what a teammate's browser actually makes of it."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from urllib.parse import urlparse

import pytest
from PIL import Image, PngImagePlugin

from tests.gallery_helpers import add_poster
from tests.test_browser_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, choose, server, wait_for_script_to_finish  # noqa: F401 (fixture)

# -- the corpus -----------------------------------------------------------------------------
# Every hostile string names its field at the end, so a failure says which one leaked.
# MARKDOWN starts with a heading marker: at the start of a caption or line it would become a
# heading if it were rendered. Each string fits its field's limit (core/prompt/limits.py).
MARKDOWN = (
    "# headword ![px](http://evil.test/px.png) [a](http://evil.test/a) $x^2$ "
    "**boldword** _underword_ __init__ www.evil.test"
)
HTML = (
    "<img src=http://evil.test/i.png> <a href=http://evil.test/h>h</a> "
    "<iframe src=http://evil.test/f></iframe> <script>fetch('http://evil.test/s')</script>"
)
# What rendered Markdown would make of MARKDOWN: the element it makes, and the word inside it.
# An element of that kind whose text holds the word but not the word as typed came from the corpus.
EMPHASIS = {"boldword": "**boldword**", "underword": "_underword_", "headword": "# headword", "init": "__init__"}

PRODUCT = {
    "name": f"{MARKDOWN} (name)",
    "description": f"{MARKDOWN} {HTML} (description)",
    "offer": f"{HTML} (offer)",
    "price": "$5 or $9 ![p](http://evil.test/p.png) (price)",
    "cta": f"{MARKDOWN} (cta)",
    "benefits": (
        "# headword ![b](http://evil.test/b.png) $x^2$ **boldword** (benefit 1)",
        "<img src=http://evil.test/b2.png> _underword_ __init__ www.evil.test (benefit 2)",
    ),
}
STYLE = f"{MARKDOWN} {HTML} (style)"
BRAND_BLOCK = f"{MARKDOWN} {HTML} (brand block)"
SECOND_NAME = f"{HTML} (name 2)"
BRIEF_TEXT = f"{MARKDOWN}\n{HTML} (brief text)"
SECTIONS = {
    key: f"{MARKDOWN}\n{HTML} ({key})"
    for key in ("layout", "style", "palette", "typography", "keep", "improve", "notes")
}
RAW_TEXT = f"{MARKDOWN}\n{HTML} (raw text)"
NOTES = f"{MARKDOWN} (notes)"
DRAFT_NAME = f"{MARKDOWN} (draft).png"
KIT = {
    "name": "![k](http://evil.test/k.png) **boldword** $x^2$ (kit)",  # a kit name is at most 80 characters
    "colors": "![c](http://evil.test/c.png) _underword_ #112233",
    "fonts": f"{MARKDOWN} (fonts)",
    "wordmark": f"{HTML} (wordmark)",
    "tagline": f"{MARKDOWN} (tagline)",
    "style_keywords": f"{HTML} (kit style)",
}
# The kit form offers only the studio's tones; a row written by another client may hold anything.
KIT_TONE = f"{MARKDOWN} (kit tone)"
REVIEWER = "![r](http://evil.test/r.png) **boldword** $x^2$ <b>x</b> (reviewer)"
COMMENT = f"{MARKDOWN} {HTML} (comment)"
ERROR = f"TypeError: __init__() got {MARKDOWN} {HTML} (error)"
READ = f"{HTML} (read)"  # the OCR model's text
EXTRA = f"{MARKDOWN} (extra)"
UPLOAD_NAME = f"{MARKDOWN} (upload).png"
CRAFTED_TONE = f"{MARKDOWN} (recalled tone)"
SET = "hostile-set"


# -- seeding through the real storage -------------------------------------------------------


def seed_corpus(db, store) -> dict:
    from core.prompt.brand import validate_kit
    from core.services.export import ExportOptions, export_poster, read_text_chunks, RECIPE_KEYWORD
    from core.states import JobStatus
    from storage.brand_kits import create_kit
    from storage.briefs import save_brief, save_draft
    from storage.jobs import fail
    from storage.models import Job, Prompt
    from storage.reviews import add_review
    from storage.textchecks import record_text_check
    from core.services.reviews import validate_review

    spec = validate_kit(KIT["name"], KIT["colors"], KIT["fonts"], KIT["wordmark"], KIT["tagline"], "", KIT["style_keywords"])
    kit_id = create_kit(db, dataclasses.replace(spec, tone=KIT_TONE))
    draft = save_draft(db, store, Image.new("RGB", (32, 48), (10, 10, 10)), DRAFT_NAME)
    brief = save_brief(db, draft.id, "demo", "en", NOTES, RAW_TEXT, SECTIONS, [], False, {}, {})
    poster_id, job_id = add_poster(
        db, store, **PRODUCT, style=STYLE, brand_block=BRAND_BLOCK, brand_kit_id=kit_id, brief_id=brief.id,
        brief_text="", group=SET, seed=1,
    )
    second_id, _ = add_poster(db, store, name=SECOND_NAME, brief_text=BRIEF_TEXT, group=SET, variant_index=1, seed=2)

    # A failed job in the same set: the worker writes its error with storage.jobs.fail.
    with db.session() as session:
        done = session.get(Job, job_id)
        failed = Job(
            prompt_id=done.prompt_id, preset_key=done.preset_key, draft_size=True, width=64, height=64, steps=2,
            true_cfg_scale=4.0, seed=3, model_id=done.model_id, demo_models=True, status=JobStatus.RUNNING,
            variant_group=SET, variant_index=2,
        )
        session.add(failed)
        session.flush()
        failed_id = failed.id
    fail(db, failed_id, ERROR)

    # Reviews under a typed name from another browser (no session id): typing that name
    # again is warned about, which shows the name in a warning and on a button.
    for rating, verdict in ((2, "changes"), (1, "reject")):
        add_review(db, validate_review(poster_id, REVIEWER, rating, verdict, COMMENT))

    # The OCR check: the expected strings are the user's, what it read is the model's.
    with db.session() as session:
        exact = list(session.get(Prompt, session.get(Job, job_id).prompt_id).exact_strings)
    statuses = ["exact", "near", "missing"]
    result = {
        "strings": [
            {"role": s["role"], "expected": s["text"], "status": statuses[i % 3], "read": READ if i % 3 == 1 else None,
             "similarity": 90.0, "boxes": []}
            for i, s in enumerate(exact)
        ],
        "extra_text": [EXTRA],
        "total": len(exact),
        "score": 0.3,
        "engine": "test",
    }
    record_text_check(db, poster_id, result, 0.3)

    # Two PNGs to drop on Compose's recall: the poster's own export, and one whose recipe
    # carries a tone this studio does not offer (its error message names the tone).
    _, exported = export_poster(db, store, poster_id, ExportOptions())
    recipe = json.loads(read_text_chunks(exported)[RECIPE_KEYWORD])
    recipe["recipe"]["tone"] = CRAFTED_TONE
    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECIPE_KEYWORD, json.dumps(recipe), zip=True)
    crafted = io.BytesIO()
    Image.open(io.BytesIO(exported)).save(crafted, format="PNG", pnginfo=info)
    return {
        "poster": poster_id, "second": second_id, "brief": brief.id, "kit": kit_id,
        "exported": exported, "crafted": crafted.getvalue(), "exact": [s["text"] for s in exact],
    }


@pytest.fixture
def corpus(tmp_path, demo_models_dir):
    from core.settings import load_settings
    from storage.db import open_database
    from storage.files import ImageStore

    settings = load_settings({"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
    db = open_database(settings.database_url)
    try:
        return seed_corpus(db, ImageStore(settings.storage_url))
    finally:
        db.dispose()


# -- what a page may not do with it ---------------------------------------------------------

# Every element and attribute through which a page fetches or links an address; the text of
# a <script>; and the elements rendered Markdown would make (maths, headings, emphasis).
PAGE_AUDIT = """(emphasis) => {
  const urlAttributes = ['src', 'href', 'srcset', 'poster', 'data', 'action', 'formaction', 'background', 'srcdoc', 'xlink:href'];
  const leaks = [];
  for (const el of document.querySelectorAll('*')) {
    for (const name of urlAttributes) {
      const value = el.getAttribute(name);
      if (value && value.includes('evil.test')) leaks.push(`${el.tagName} ${name}=${value}`);
    }
    const style = el.getAttribute('style');
    if (style && /url\\([^)]*evil/.test(style)) leaks.push(`${el.tagName} style=${style}`);
  }
  // The corpus's own <script> body; the studio's cookie script quotes a typed name as a JS string.
  for (const el of document.querySelectorAll('script')) {
    if (el.textContent.trim().startsWith('fetch(')) leaks.push(`SCRIPT ${el.textContent.slice(0, 80)}`);
  }
  const maths = [...document.querySelectorAll('.katex, .katex-display, math')].map(e => e.textContent.slice(0, 80));
  const rendered = [];
  for (const el of document.querySelectorAll('h1, h2, h3, h4, h5, h6, strong, b, em, i')) {
    const text = el.textContent.replaceAll('\\u2060', '');
    for (const [word, typed] of Object.entries(emphasis)) {
      if (text.includes(word) && !text.includes(typed)) rendered.push(`${el.tagName}: ${text.slice(0, 80)}`);
    }
  }
  return {leaks, maths, rendered};
}"""


ALL_SHOWN = """(expected) => {
  const text = document.body.innerText.replaceAll('\\u2060', '').split(/\\s+/).join(' ');
  return expected.every(s => text.includes(s));
}"""


def flat(text: str) -> str:
    """Page or corpus text with the invisible word joiner (pages/ui/markdown_text.py) taken
    out and runs of whitespace as one space: the browser lays out line breaks its own way."""
    return " ".join(text.replace("\u2060", "").split())


def left_the_studio(requests: list[str], studio_host: str) -> list[str]:
    return [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).hostname != studio_host]


def shown_as_typed(page, where: str, expected: list[str], requests: list[str], studio_host: str) -> None:
    """Each expected string is in the page's visible text as typed; nothing from the corpus
    became a link, an image, a frame, a script, maths, a heading or emphasis; and no request
    so far left the studio. Every problem of the page is reported at once."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_for_script_to_finish(page)
    try:  # a page draws in pieces: wait for the strings before reading the page once
        page.wait_for_function(ALL_SHOWN, arg=[flat(s) for s in expected], timeout=30_000)
    except PlaywrightTimeout:
        pass  # the assertion below says which are missing
    text = flat(page.locator("body").inner_text())
    audit = page.evaluate(PAGE_AUDIT, EMPHASIS)
    problems = {
        "not shown as typed": [s for s in expected if flat(s) not in text],
        "links, images, frames or scripts from the corpus": audit["leaks"],
        "maths rendered": audit["maths"],
        "headings or emphasis rendered": audit["rendered"],
        "requests that left the studio": left_the_studio(requests, studio_host),
    }
    problems = {kind: found for kind, found in problems.items() if found}
    assert not problems, f"{where}: {problems}" + (f"\nthe page's text: {text[:3000]}" if "not shown as typed" in problems else "")


def by_key(page, key: str):
    """A widget by its Streamlit key (the element container's class): labels here hold hostile text."""
    return page.locator(f".st-key-{key}")


def visit(page, url: str, ready: str) -> None:
    page.goto(url)
    page.get_by_text(ready, exact=False).first.wait_for(timeout=90_000)
    wait_for_script_to_finish(page)


def upload(page, name: str, data: bytes) -> None:
    page.locator("input[type=file]").first.set_input_files({"name": name, "mimeType": "image/png", "buffer": data})


# -- the test -------------------------------------------------------------------------------


def test_hostile_corpus_shows_as_typed_on_every_page_and_fetches_nothing(corpus, server):
    from playwright.sync_api import expect, sync_playwright

    from core.brief.sections import compact_brief

    studio_host = urlparse(server).hostname
    poster, second = corpus["poster"], corpus["second"]
    summary = COMMENT[:89]  # a review summary line shortens the latest comment to 90 characters
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 2000})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        step = "start"

        def check(where: str, expected: list[str]) -> None:
            shown_as_typed(page, where, expected, requests, studio_host)

        try:
            step = "Home: the latest posters' captions"
            visit(page, server, "Latest posters")
            check(step, [PRODUCT["name"], SECOND_NAME])

            step = "Gallery: the grid's tiles and review summaries"
            visit(page, f"{server}/gallery", "match · page")
            check(step, [PRODUCT["name"], SECOND_NAME, summary, REVIEWER])

            step = "Gallery: variant sets, with the failed job's error"
            page.get_by_text("Variant sets", exact=True).click()
            expect(page.get_by_text("variant sets match")).to_be_visible(timeout=30_000)
            check(step, [PRODUCT["name"], ERROR])

            step = "Gallery: one variant set"
            visit(page, f"{server}/gallery?set={SET}", "Variant set ·")
            check(step, [f"Variant set · {PRODUCT['name']}", ERROR, summary])

            step = "Gallery: a poster's detail (recipe, brand block, brief, text check, reviews)"
            visit(page, f"{server}/gallery?poster={poster}", "Team review")
            expect(page.get_by_text("Brief #", exact=False).first).to_be_visible()
            check(step, [
                f"{PRODUCT['name']} · seed 1", PRODUCT["description"], PRODUCT["offer"], PRODUCT["price"], PRODUCT["cta"],
                " · ".join(PRODUCT["benefits"]), STYLE, f"{KIT['name']} (#{corpus['kit']})", f"Brand block: {BRAND_BLOCK}",
                *SECTIONS.values(), *corpus["exact"], READ, EXTRA, REVIEWER, COMMENT, summary,
            ])

            step = "Gallery: a typed reviewer name already in use (warning and button)"
            page.get_by_role("textbox", name="Your name").fill(REVIEWER)
            by_key(page, "detail_reviewer_ok").get_by_role("button").click()
            mine = by_key(page, "detail_name_mine").get_by_role("button")
            expect(mine).to_be_visible(timeout=30_000)
            check(step, [f"{REVIEWER} has reviewed", f"It's me: review as {REVIEWER}"])
            mine.click()
            expect(page.get_by_text("Reviewing as", exact=False).first).to_be_visible(timeout=30_000)
            check("Gallery: reviewing under that name", [f"Reviewing as {REVIEWER} (unverified"])

            step = "Gallery: the second poster's 'Brief used'"
            visit(page, f"{server}/gallery?poster={second}", "Team review")
            page.get_by_text("Brief used", exact=True).click()
            expect(page.get_by_text("(brief text)", exact=False).first).to_be_visible(timeout=30_000)
            check(step, [f"{SECOND_NAME} · seed 2", BRIEF_TEXT])

            step = "Compose: edit and rerun of the hostile poster (its brief and kit picked)"
            visit(page, f"{server}/gallery?poster={poster}", "Team review")
            page.get_by_role("button", name="Edit and rerun").click()
            expect(page.get_by_text("Folded into the prompt as:")).to_be_visible(timeout=60_000)
            check(step, [compact_brief(SECTIONS, language="en")])

            step = "Compose: the kit applied again (its message)"
            kit_box = by_key(page, "compose_brand_kit")
            choose(page, kit_box, page.get_by_role("option", name="No brand kit"))
            # Its run must land before the kit is picked again: two quick picks can reach the
            # server as one run with the kit unchanged, and then no message is shown.
            block = page.get_by_role("textbox", name="Brand block (added to the prompt; edit freely)")
            expect(block).to_have_count(0, timeout=30_000)
            choose(page, kit_box, page.get_by_role("option").filter(has_text="(kit)"))
            expect(page.get_by_text("brand block added", exact=False)).to_be_visible(timeout=30_000)
            check(step, [f"Applied {KIT['name']}: brand block added"])

            step = "Compose: a recalled recipe, and one with a crafted tone"
            page.get_by_text("Recall a recipe from an exported PNG").click()
            upload(page, UPLOAD_NAME, corpus["exported"])
            expect(page.get_by_text("Recalled the recipe from", exact=False)).to_be_visible(timeout=30_000)
            check(step, [f"Recalled the recipe from {UPLOAD_NAME}: {PRODUCT['name']}, seed 1"])
            upload(page, f"crafted {UPLOAD_NAME}", corpus["crafted"])
            expect(page.get_by_text("is not one this studio offers", exact=False)).to_be_visible(timeout=30_000)
            check(step + " (error)", [f"crafted {UPLOAD_NAME}: ", repr(CRAFTED_TONE)])

            step = "Brief: one brief, its raw text, the saved briefs, an uploaded draft's name"
            visit(page, f"{server}/brief?brief={corpus['brief']}", "Saved briefs")
            page.get_by_text("The model's raw text").click()
            upload(page, DRAFT_NAME, corpus["exported"])
            expect(page.get_by_text("(draft).png ·", exact=False)).to_be_visible(timeout=30_000)
            check(step, [
                compact_brief(SECTIONS, max_chars=120, language="en"), RAW_TEXT, f"{DRAFT_NAME} · 64×64",
            ])

            step = "Compare: the two posters"
            visit(page, f"{server}/compare?ids={poster},{second}", "Final prompts, word by word")
            check(step, [
                PRODUCT["name"], SECOND_NAME, PRODUCT["description"], PRODUCT["offer"], PRODUCT["price"],
                " · ".join(PRODUCT["benefits"]), STYLE, BRAND_BLOCK, BRIEF_TEXT, summary, f"Reviewing as {REVIEWER}",
            ])

            step = "Brand kits: the list, the edit form, the delete confirmation"
            visit(page, f"{server}/brand_kits", "Kits (1)")
            colour = KIT["colors"].rsplit(" ", 1)[0]
            check(step, [
                KIT["name"], f"wordmark “{KIT['wordmark']}”", f"Fonts: {KIT['fonts']}", f"Tagline: “{KIT['tagline']}”",
                f"Tone: {KIT_TONE}", f"Style: {KIT['style_keywords']}", colour,
            ])
            by_key(page, f"kit_edit_{corpus['kit']}").get_by_role("button").click()
            expect(page.get_by_text(f"Edit kit #{corpus['kit']}")).to_be_visible(timeout=30_000)
            by_key(page, f"kit_delete_{corpus['kit']}").get_by_role("button").click()
            expect(page.get_by_text("Delete ", exact=False).filter(has_text="(kit)").first).to_be_visible(timeout=30_000)
            check(step + " (confirmation)", [f"Delete {KIT['name']}?"])

            step = "Settings"
            visit(page, f"{server}/settings", "Estimated time per poster")
            check(step, [])

            step = "every request"
            outside = left_the_studio(requests, studio_host)
            assert not outside, outside
            assert not [u for u in requests if "evil.test" in u], requests
            assert len(requests) > 20, "the pages were loaded through the recorded requests"
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "failure_user_text.png"), full_page=True)
            print(f"failed at: {step}")
            raise
        finally:
            browser.close()
