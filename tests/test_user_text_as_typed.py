"""User and model text shows as typed on every page: a product name like
`![px](http://host/pixel.png)` must not become an image every teammate's browser fetches.

A hostile corpus goes into the product fields, a failed job's error, a brief's sections, a
brand kit and a review; then every page is rendered with AppTest and every string the
frontend would read as Markdown (labels, captions, alerts, headings, image captions, help)
is checked for live Markdown or HTML."""

import re

from PIL import Image
from streamlit.testing.v1 import AppTest

from core.prompt.brand import validate_kit
from storage.brand_kits import create_kit
from storage.briefs import save_brief, save_draft
from core.states import JobStatus
from storage.models import Job, Prompt
from tests.gallery_helpers import HOME, add_poster, add_review

IMAGE = "![px](http://evil.test/px.png)"
HOSTILE = "<img src=http://evil.test/i.png> [a](http://evil.test/a) $x^2$ **bold** # heading __init__"

# Elements that never render Markdown: their text is raw by design. st.html is checked apart.
RAW_ELEMENTS = {"text", "code", "json"}
# Fields holding a widget's value or options, which Streamlit shows as plain text.
RAW_FIELDS = {"value", "default", "options", "raw_value", "data", "placeholder", "id", "form_id", "url", "link"}
LIVE = [
    re.compile(r"(?<!\\)!\[(?!\\)"),  # an image
    re.compile(r"(?<!\\)\]\("),  # a link or image target
    re.compile(r"(?<!\\)<img", re.I),
    re.compile(r"(?<!\\)\$x"),  # maths
    re.compile(r"(?<!\\)\*\*bold"),
    re.compile(r"(?<![\\\w])__init"),
    re.compile(r"(?<![\\\w])https?(?<!\\):(?!\\)//evil", re.I),  # a bare address becomes a link
]


def strings(message, skip=RAW_FIELDS):
    """Every string field of a protobuf message, recursively, but the raw-value fields."""
    for field, value in message.ListFields():
        if field.name in skip:
            continue
        repeated = not isinstance(value, (str, bytes)) and not hasattr(value, "ListFields") and hasattr(value, "__len__")
        values = value if repeated else [value]
        for item in values:
            if isinstance(item, str):
                yield field.name, item
            elif hasattr(item, "ListFields"):
                yield from strings(item, skip)


def nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def rendered_markdown(at: AppTest) -> tuple[list[str], list[str]]:
    """(strings the frontend renders as Markdown, st.html bodies)."""
    markdown, html = [], []
    for node in nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields"):
            continue
        kind = getattr(node, "type", "")
        if kind in RAW_ELEMENTS:
            continue
        if kind == "html":
            html.append(proto.body)
            continue
        markdown += [text for _, text in strings(proto)]
    return markdown, html


def assert_shown_as_typed(at: AppTest, page: str) -> str:
    assert not at.exception, (page, at.exception)
    markdown, html = rendered_markdown(at)
    for text in markdown:
        for pattern in LIVE:
            assert not pattern.search(text), f"{page}: live Markdown {pattern.pattern!r} in {text!r}"
    for body in html:
        assert "<img" not in body and "evil.test/a\"" not in body, f"{page}: raw HTML in {body!r}"
    return "\n".join(markdown)


def seed_hostile_rows(app_studio) -> dict:
    db, store = app_studio.db, app_studio.store
    kit_id = create_kit(
        db, validate_kit(IMAGE, f"{IMAGE} #112233", fonts=HOSTILE, wordmark=HOSTILE, tagline=HOSTILE, style_keywords=HOSTILE)
    )
    poster_id, job_id = add_poster(
        db, store, name=IMAGE, offer=HOSTILE, price="$5 or $9", cta=HOSTILE, style=HOSTILE,
        brand_block=f"Brand {IMAGE} {HOSTILE}", brand_kit_id=kit_id, group="hostile-set",
    )
    other_id, _ = add_poster(db, store, name=HOSTILE, seed=2, group="hostile-set", variant_index=1)
    draft = save_draft(db, store, Image.new("RGB", (32, 48), (10, 10, 10)), f"{IMAGE}.png")
    sections = {key: f"{IMAGE} {HOSTILE}" for key in ("layout", "style", "palette", "typography", "keep", "improve", "notes")}
    brief = save_brief(db, draft.id, "demo", "en", HOSTILE, HOSTILE, sections, [], False, {}, {})
    with db.session() as session:
        job = session.get(Job, job_id)
        prompt = session.get(Prompt, job.prompt_id)
        prompt.brief_text = f"{IMAGE} {HOSTILE}"  # the "Brief used" expander
        session.add(Job(
            prompt_id=prompt.id, preset_key=job.preset_key, draft_size=True, width=64, height=64, steps=2,
            true_cfg_scale=4.0, seed=3, model_id=job.model_id, demo_models=True, status=JobStatus.FAILED,
            error=f"TypeError: __init__() got {IMAGE} {HOSTILE}", variant_group="hostile-set", variant_index=2,
        ))
    add_review(db, poster_id, IMAGE, 2, "changes", f"{IMAGE} {HOSTILE}")
    return {"poster": poster_id, "other": other_id, "brief": brief.id, "kit": kit_id}


def test_every_page_shows_hostile_user_text_as_typed(app_studio):
    ids = seed_hostile_rows(app_studio)
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    home = assert_shown_as_typed(at, "Home")
    assert "!\\[px\\](http\u2060://evil.test/px.png)" in home  # the name is there, escaped

    visits = [
        ("pages/gallery.py", {}),
        ("pages/gallery.py", {"poster": str(ids["poster"])}),
        ("pages/gallery.py", {"set": "hostile-set"}),
        ("pages/gallery.py", {"set": IMAGE}),  # a crafted address: the error names it as typed
        ("pages/gallery.py", {"poster": IMAGE}),
        ("pages/compare.py", {"ids": f"{ids['poster']},{ids['other']}"}),
        ("pages/compare.py", {"ids": IMAGE}),
        ("pages/brief.py", {"brief": str(ids["brief"])}),
        ("pages/brand_kits.py", {}),
        ("pages/compose.py", {}),
        ("pages/settings.py", {}),
    ]
    for page, params in visits:
        at.switch_page(page)
        at.query_params.clear()
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert_shown_as_typed(at, f"{page} {params}")

    # The gallery with every status: the failed job's error caption.
    at.switch_page("pages/gallery.py")
    at.query_params.clear()
    at.run()
    at.selectbox(key="gallery_status").set_value(None).run()
    text = assert_shown_as_typed(at, "gallery, all statuses")
    assert "\\_\\_init\\_\\_" in text

    # The variant-set view of the grid, and a review filter whose help names the reviewer.
    at.radio(key="gallery_view").set_value("sets").run()
    assert_shown_as_typed(at, "gallery, variant sets")

    # Compose with the saved brief and the brand kit picked: the brief caption and kit message.
    at.switch_page("pages/compose.py")
    at.query_params.clear()
    at.run()
    at.selectbox(key="compose_brand_kit").set_value(ids["kit"]).run()
    text = assert_shown_as_typed(at, "compose with a kit")
    assert "Applied !\\[px\\]" in text  # the kit's success message names it, escaped
    at.selectbox(key="compose_brief_id").set_value(ids["brief"]).run()
    assert_shown_as_typed(at, "compose with a kit and a brief")

    # Deleting the kit asks for confirmation with its name.
    at.switch_page("pages/brand_kits.py").run()
    at.button(key=f"kit_delete_{ids['kit']}").click().run()
    assert_shown_as_typed(at, "brand kit delete confirmation")


def test_a_typed_reviewer_name_in_use_shows_as_typed(app_studio):
    """Typing a name another browser reviews under asks first: the warning and its "It's me"
    button both name it (a button label renders Markdown images, links and maths too)."""
    ids = seed_hostile_rows(app_studio)  # reviews under IMAGE, from no recorded browser
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    at.switch_page("pages/gallery.py")
    at.query_params["poster"] = str(ids["poster"])
    at.run()
    at.text_input(key="detail_reviewer_input").set_value(IMAGE)
    at.button(key="detail_reviewer_ok").click().run()
    text = assert_shown_as_typed(at, "gallery detail, a typed name in use")
    assert "It's me: review as !\\[px\\]" in text  # the button is there, its label escaped
