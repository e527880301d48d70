"""AppTest: the pages as a user drives them, on demo models."""

from pathlib import Path

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from storage.models import Job, Poster
from tests.helpers import wait_for_jobs

HOME = str(Path(__file__).resolve().parents[1] / "Home.py")


def new_app() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def fill_compose(at: AppTest, **fields) -> None:
    values = {
        "compose_name": "Aurora Headphones",
        "compose_offer": "SUMMER SALE",
        "compose_price": "$19.99",
        "compose_cta": "Shop now",
        **fields,
    }
    for key, value in values.items():
        at.text_input(key=key).set_value(value)
    at.checkbox(key="compose_draft_size").check()
    at.number_input(key="compose_steps").set_value(2)
    at.run()
    assert not at.exception, at.exception


def test_home_shows_demo_banner_and_system_panel(app_studio):
    at = new_app()
    assert any("Demo models: images are noise" in w.value for w in at.warning)
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "Device: **cpu**" in sidebar and "Process RAM" in sidebar
    assert "demo/qwen-image-demo" in sidebar
    assert any("No posters yet" in i.value for i in at.info)


def test_compose_shows_the_prompt_before_anything_runs(app_studio):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    fill_compose(at)
    prompt = at.code[0].value
    assert '"SUMMER SALE"' in prompt and '"$19.99"' in prompt and '"Shop now"' in prompt
    assert any("tokens (pipeline tokenizer)" in c.value for c in at.caption)
    with app_studio.db.session() as s:
        assert s.scalar(select(func.count(Job.id))) == 0  # previewing queues nothing


def test_bad_seed_gets_a_clear_message_and_nothing_is_queued(app_studio):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    fill_compose(at, compose_seed="lucky")
    assert any("seed must be a whole number" in e.value for e in at.error)
    assert at.button(key="btn_generate").disabled
    with app_studio.db.session() as s:
        assert s.scalar(select(func.count(Job.id))) == 0


def test_compose_generate_then_gallery(app_studio):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    fill_compose(at, compose_seed="1234")
    at.number_input(key="compose_variants").set_value(2).run()
    at.button(key="btn_generate").click().run()
    assert not at.exception, at.exception

    job_ids = at.session_state["compose_batch"]
    assert len(job_ids) == 2
    states = wait_for_jobs(app_studio.db, job_ids)
    assert [s.status for s in states] == ["done", "done"]
    assert [s.seed for s in states] == [1234, 1235]

    at.run()  # the page shows the finished variants with their seed and time
    links = [el for el in at.get("page_link") if el.value == "Open in gallery"]
    assert len(links) == 2, "each finished variant links to its gallery page"
    with app_studio.db.session() as s:
        posters = s.scalars(select(Poster).order_by(Poster.id)).all()
        assert len(posters) == 2
        for poster in posters:
            assert app_studio.store.exists(poster.path)

    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    assert any("2 match" in c.value for c in at.caption)
    assert any("seed 1235" in c.value for c in at.caption)

    # filters: text search, language
    at.text_input(key="gallery_text").set_value("nothing-like-this").run()
    assert any("0 match" in c.value for c in at.caption)
    at.text_input(key="gallery_text").set_value("aurora").run()
    assert any("2 match" in c.value for c in at.caption)
    at.selectbox(key="gallery_language").set_value("zh").run()
    assert any("0 match" in c.value for c in at.caption)
    at.selectbox(key="gallery_language").set_value(None).run()

    # detail view: recipe and download
    at.button(key=f"open_{posters[1].id}").click().run()
    assert not at.exception, at.exception
    assert any("seed 1235" in h.value for h in at.header)
    assert any("SUMMER SALE" in c.value for c in at.code)
    table = at.table[0].value
    assert "1235" in table.to_string() and "demo/qwen-image-demo" in table.to_string()


def test_gallery_survives_a_restart(app_studio, studio_env):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    fill_compose(at, compose_seed="7")
    at.button(key="btn_generate").click().run()
    wait_for_jobs(app_studio.db, at.session_state["compose_batch"])

    # a server restart: the process-wide cache is gone, a new Studio opens the same data dir
    import streamlit as st

    app_studio.close()
    st.cache_resource.clear()
    at2 = new_app()
    at2.switch_page("pages/gallery.py").run()
    assert any("1 match" in c.value for c in at2.caption)
    from pages.ui.shared import get_studio

    get_studio().close()
