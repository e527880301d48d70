"""AppTest: draft -> brief -> edit -> save -> Use in Compose -> generate -> gallery link."""

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from storage.models import Brief, Draft, Poster, Prompt
from tests.helpers import wait_for_jobs
from tests.test_drafts import bomb_png

HOME = str(Path(__file__).resolve().parents[1] / "Home.py")


def png(size=(800, 600), color=(30, 60, 120)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def brief_page() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=180)
    at.run()
    at.switch_page("pages/brief.py").run()
    assert not at.exception, at.exception
    return at


def count_rows(studio):
    with studio.db.session() as s:
        return s.scalar(select(func.count(Draft.id))), s.scalar(select(func.count(Brief.id)))


def files_on_disk(studio):
    root = Path(studio.settings.storage_url)  # a folder in these tests
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    "name, data, mime, message",
    [
        ("empty.png", b"", "image/png", "empty (0 bytes)"),
        ("notes.png", b"not an image at all", "image/png", "not an image we can read"),
        ("half.png", png((900, 900))[:2000], "image/png", "damaged or truncated"),
        ("bomb.png", bomb_png(7000, 7000), "image/png", "megapixels"),
    ],
)
def test_bad_uploads_get_a_message_and_store_nothing(app_studio, name, data, mime, message):
    at = brief_page()
    at.file_uploader(key="draft_upload").set_value((name, data, mime)).run()
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="btn_write_brief").disabled
    assert count_rows(app_studio) == (0, 0)
    assert files_on_disk(app_studio) == []


def test_brief_edit_save_use_in_compose_generate_gallery(app_studio):
    at = brief_page()
    at.file_uploader(key="draft_upload").set_value(("draft.png", png(), "image/png")).run()
    at.text_area(key="brief_form_notes").set_value("make the price more prominent").run()
    at.button(key="btn_write_brief").click().run()
    assert not at.exception, at.exception

    with app_studio.db.session() as s:
        brief = s.scalars(select(Brief)).one()
        brief_id = brief.id
        assert brief.notes == "make the price more prominent"
        assert sorted(brief.missing) == sorted(brief.sections)  # demo model: all flagged
    markdown = " ".join(m.value for m in at.markdown)
    assert "missing: the model left this section out" in markdown

    # edit one section and save
    at.text_area(key=f"brief_edit_{brief_id}_layout").set_value("Two-column grid, 64 px margins, price top right")
    at.button(key=f"btn_save_brief_{brief_id}").click().run()
    with app_studio.db.session() as s:
        edited = s.get(Brief, brief_id).edited_sections
        assert edited["layout"] == "Two-column grid, 64 px margins, price top right"
        assert s.get(Brief, brief_id).raw_text == brief.raw_text  # the raw text is kept as it was

    # Use in Compose: the brief is selected there and folded into the prompt
    at.button(key=f"btn_use_brief_{brief_id}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compose a poster"  # st.switch_page took us there
    # AppTest's later at.run() calls rerun the page it last switched to itself, so tell it too.
    at.switch_page("pages/compose.py").run()
    assert at.selectbox(key="compose_brief_id").value == brief_id
    for key, value in {"compose_name": "Aurora", "compose_offer": "SALE"}.items():
        at.text_input(key=key).set_value(value)
    at.checkbox(key="compose_draft_size").check()
    at.number_input(key="compose_steps").set_value(2)
    at.run()
    assert at.title[0].value == "Compose a poster", [t.value for t in at.title]
    assert "Design brief: Layout: Two-column grid, 64 px margins, price top right" in at.code[0].value
    at.button(key="btn_generate").click().run()
    (state,) = wait_for_jobs(app_studio.db, at.session_state["compose_batch"])
    assert state.status == "done"
    with app_studio.db.session() as s:
        prompt = s.scalars(select(Prompt)).one()
        assert prompt.brief_id == brief_id
        poster_id = s.scalars(select(Poster.id)).one()

    # the gallery's detail view shows the brief the poster was made from
    at.switch_page("pages/gallery.py").run()
    at.button(key=f"open_{poster_id}").click().run()
    assert not at.exception, at.exception
    assert any(f"Brief #{brief_id} used" in e.label for e in at.expander)
    assert any("Two-column grid, 64 px margins" in t.value for t in at.text)  # as typed: st.text
