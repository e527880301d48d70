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


def gif():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, format="GIF")
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
        # The uploader has no browser-side type filter (pages/brief.py): other formats get here.
        ("anim.gif", gif(), "image/gif", "anim.gif is a GIF image. Upload the draft as PNG, JPEG or WebP."),
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


def test_brief_on_a_gpu_worker_shows_its_stages_then_the_brief(app_studio, monkeypatch):
    """Queue mode: the page queues the brief, follows the row while a worker (a thread here,
    as a Celery worker would) runs it, and ends showing the seven sections to edit."""
    import threading

    from core.brief import runtime as brief_module
    from core.brief.sections import SECTION_KEYS
    from core.services.briefs import run_brief_job
    from tests.test_brief_jobs import WORKER, wait_for_brief_job

    # The worker waits at the model load until the test has seen the page show that stage.
    loading_seen = threading.Event()
    real_load_vl = brief_module.load_vl

    def load_vl_after_the_page_looked(path, device, **options):
        assert loading_seen.wait(timeout=120), "the test never let the load go on"
        return real_load_vl(path, device, **options)

    monkeypatch.setattr(brief_module, "load_vl", load_vl_after_the_page_looked)
    app_studio.briefs_on_workers = True

    at = brief_page()
    at.file_uploader(key="draft_upload").set_value(("draft.png", png(), "image/png")).run()
    at.text_area(key="brief_form_notes").set_value("make the *price* more prominent").run()
    at.button(key="btn_write_brief").click().run()
    assert not at.exception, at.exception
    brief_job_id = at.session_state["brief_job_id"]
    assert any("Queued: waiting for a GPU worker" in m.value for m in at.markdown)
    assert count_rows(app_studio) == (1, 0)  # the draft is stored; no brief yet

    worker = threading.Thread(target=run_brief_job, args=(app_studio, brief_job_id, WORKER), daemon=True)
    worker.start()
    try:
        wait_for_brief_job(app_studio.db, brief_job_id, lambda state: state.stage.startswith("Loading"))
        at.run()
        assert not at.exception, at.exception
        assert any(s.label == "Writing the brief on a GPU worker…" for s in at.status), [s.label for s in at.status]
        assert any(m.value == "Loading the model (4-bit)…" for m in at.markdown), [m.value for m in at.markdown]
    finally:
        loading_seen.set()
        worker.join(timeout=180)
    state = wait_for_brief_job(app_studio.db, brief_job_id, lambda state: state.status.finished)
    assert state.status == "done", state.error

    at.run()
    assert not at.exception, at.exception
    assert any(s.label.startswith(f"Brief #{state.brief_id} written in") for s in at.status), [s.label for s in at.status]
    assert at.subheader[0].value == f"Brief #{state.brief_id}"
    for key in SECTION_KEYS:
        assert at.text_area(key=f"brief_edit_{state.brief_id}_{key}") is not None
    with app_studio.db.session() as s:
        assert s.get(Brief, state.brief_id).notes == "make the *price* more prominent"


def test_a_brief_that_fails_on_the_worker_shows_its_message(app_studio, tmp_path):
    import dataclasses

    from core.services.briefs import run_brief_job
    from tests.test_brief_jobs import WORKER

    app_studio.briefs_on_workers = True
    app_studio.models = dataclasses.replace(app_studio.models, vl_model=str(tmp_path / "no-such-vl-model"))
    at = brief_page()
    at.file_uploader(key="draft_upload").set_value(("draft.png", png(), "image/png")).run()
    at.button(key="btn_write_brief").click().run()

    run_brief_job(app_studio, at.session_state["brief_job_id"], WORKER)
    at.run()
    assert not at.exception, at.exception
    assert any(s.label == "The brief failed" for s in at.status)
    assert any("The brief model could not run" in e.value and "Nothing was stored" in e.value for e in at.error)
    assert count_rows(app_studio)[1] == 0


def draft_errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_the_notes_box_stops_at_the_notes_limit(app_studio):
    from core.prompt import limits

    at = brief_page()
    assert at.text_area(key="brief_form_notes").proto.max_chars == limits.MAX_NOTES_CHARS


def test_brief_section_edit_boxes_stop_at_their_limit(app_studio):
    from core.prompt import limits
    from storage.briefs import save_brief, save_draft

    draft = save_draft(app_studio.db, app_studio.store, Image.open(io.BytesIO(png())), "draft.png")
    record = save_brief(
        app_studio.db, draft_id=draft.id, model_id="demo", language="en", notes="", raw_text="Layout: grid",
        sections={"layout": "grid"}, missing=[], truncated=False, timings={}, memory={},
    )
    at = brief_page()
    at.query_params["brief"] = str(record.id)
    at.run()
    assert not at.exception, at.exception
    boxes = [box for box in at.text_area if box.key.startswith(f"brief_edit_{record.id}_")]
    assert len(boxes) == 7
    assert {box.proto.max_chars for box in boxes} == {limits.MAX_BRIEF_SECTION_CHARS}
