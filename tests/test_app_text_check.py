"""AppTest: the text check as a user sees it in Compose and the Gallery.

Demo posters are noise and can never pass an OCR check, so the tests that need a passing
poster swap the image through the engine's image hook for a plainly rendered stand-in
(tests/text_doubles.py). Everything else, OCR included, is the real code."""

from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from storage.models import Job, Poster
from storage.textchecks import set_job_ids
from tests.gallery_helpers import open_detail
from tests.test_text_fidelity import wait_for_checks
from pages.ui.text_badges import MISREAD_NOTE
from tests.text_doubles import RenderedPosterStandIn

HOME = str(Path(__file__).resolve().parents[1] / "Home.py")


def compose(at: AppTest, until_correct: int | None = None, seed: str = "300") -> None:
    at.switch_page("pages/compose.py").run()
    for key, value in {"compose_offer": "SUMMER SALE", "compose_price": "$19.99", "compose_cta": "Shop now", "compose_seed": seed}.items():
        at.text_input(key=key).set_value(value)
    at.text_input(key="compose_name").set_value("Aurora")
    at.checkbox(key="compose_show_name").uncheck()
    at.checkbox(key="compose_draft_size").check()
    at.number_input(key="compose_steps").set_value(2)
    if until_correct:
        at.checkbox(key="compose_until_correct").check().run()
        at.number_input(key="compose_best_of").set_value(until_correct)
    at.run()
    assert not at.exception, at.exception
    at.button(key="btn_generate").click().run()
    assert not at.exception, at.exception


def test_until_all_text_is_correct_stops_early_and_badges_show(app_studio):
    app_studio.runner.image_hook = RenderedPosterStandIn(perfect_from=2)
    at = AppTest.from_file(HOME, default_timeout=120)
    at.run()
    compose(at, until_correct=6)
    group = at.session_state["compose_group"]
    states = wait_for_checks(app_studio, group)
    assert [s.seed for s in states] == [300, 301]  # stopped at the first perfect poster, not 6
    assert set_job_ids(app_studio.db, group) == [s.id for s in states]

    at.run()
    markdown = " ".join(m.value for m in at.markdown)
    assert "✓ exact" in markdown and "✗ missing" in markdown
    captions = [c.value for c in at.caption]
    assert "text ✓ 3/3 exact" in captions and "text ✗ 0/3 exact" in captions
    assert "Ordered by text score, best first." in captions
    # best first: the perfect poster's badges come before the noise poster's
    assert captions.index("text ✓ 3/3 exact") < captions.index("text ✗ 0/3 exact")


def test_gallery_filter_sort_and_detail_recheck(app_studio):
    app_studio.runner.image_hook = RenderedPosterStandIn(perfect_from=3)
    at = AppTest.from_file(HOME, default_timeout=120)
    at.run()
    compose(at, seed="10")
    compose(at, seed="20")
    compose(at, seed="30")  # only this one is the rendered stand-in
    with app_studio.db.session() as s:
        groups = list(s.scalars(select(Job.variant_group).order_by(Job.id)).all())
    for group in groups:
        wait_for_checks(app_studio, group)
    with app_studio.db.session() as s:
        perfect = s.scalars(select(Poster).where(Poster.text_score >= 1.0)).all()
        assert len(perfect) == 1
        perfect_id = perfect[0].id
        oldest_id = s.scalars(select(Poster.id).order_by(Poster.id)).first()

    at.switch_page("pages/gallery.py").run()
    assert any("3 match" in c.value for c in at.caption)
    at.checkbox(key="gallery_text_correct").check().run()
    assert any("1 match" in c.value for c in at.caption)
    assert any(b.key == f"open_{perfect_id}" for b in at.button)
    at.checkbox(key="gallery_text_correct").uncheck().run()

    # newest first puts seed 30 first anyway; sort by text must too, and keep the rest by age
    at.selectbox(key="gallery_sort").set_value("text").run()
    open_buttons = [b.key for b in at.button if b.key and b.key.startswith("open_")]
    assert open_buttons[0] == f"open_{perfect_id}"

    open_detail(at, oldest_id)
    assert any("✗ missing" in m.value for m in at.markdown)
    at.button(key="btn_recheck_text").click().run()
    assert not at.exception, at.exception
    assert any("Replaced 1 earlier check(s)." in c.value for c in at.caption)


def test_detail_toggle_shows_what_the_check_read(app_studio, monkeypatch):
    import core.services.textcheck as textcheck_service
    from core.text.overlay import EXACT_COLOUR, LOOKED_COLOUR
    from core.text.result import CheckStatus, StringCheck, TextCheckResult
    from storage.textchecks import record_text_check
    from tests.gallery_helpers import add_poster, new_app, poster_image

    poster_id, _ = add_poster(app_studio.db, app_studio.store, size=(200, 120))
    read_box = [[10.0, 10.0], [120.0, 10.0], [120.0, 40.0], [10.0, 40.0]]
    searched_box = [[20.0, 60.0], [180.0, 60.0], [180.0, 100.0], [20.0, 100.0]]
    result = TextCheckResult(
        strings=[
            StringCheck("offer", "SUMMER SALE", CheckStatus.EXACT, "SUMMER SALE", 100.0, [read_box]),
            StringCheck("cta", "Shop now", CheckStatus.MISSING, None, 0.0, [], looked_in=[searched_box]),
            StringCheck("price", "$19.99", CheckStatus.MISSING, None, 0.0, []),
        ],
        extra_text=[], score=1 / 3, seconds=0.1, engine="test",
    )
    record_text_check(app_studio.db, poster_id, result.to_json(), 1 / 3)
    # The page runs the real service; keep what it returned to look at the pixels shown.
    shown = []
    real_check_overlay = textcheck_service.check_overlay

    def check_overlay(*args, **kwargs):
        shown.append(real_check_overlay(*args, **kwargs))
        return shown[-1]

    monkeypatch.setattr(textcheck_service, "check_overlay", check_overlay)
    at = new_app()
    open_detail(at, poster_id)
    # A string is missing: the reviewer is told a ✗ can be the check's own misreading.
    assert MISREAD_NOTE in [c.value for c in at.caption]
    captions_before = [img.caption for element in at.get("image") for img in element.proto.imgs]
    at.toggle(key="tgl_text_overlay").set_value(True).run()
    assert not at.exception, at.exception

    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert len(captions) == len(captions_before) + 1
    (legend,) = [c for c in captions if c not in captions_before]
    # "$" is escaped so the caption (Markdown) shows the price as typed
    assert legend == (
        "green = read exactly: “SUMMER SALE” · grey = searched for a missing string: “Shop now” · "
        "missing, no box: searched the whole poster: “\\$19.99”"
    )
    (overlay,) = shown
    assert overlay.image.tobytes() != poster_image((200, 120), (200, 40, 40), mark=1).tobytes()  # as stored
    assert overlay.image.getpixel((10, 25)) == EXACT_COLOUR  # left edge of the word read
    assert overlay.image.getpixel((20, 80)) == LOOKED_COLOUR  # left edge of where "Shop now" was looked for
    assert overlay.image.getpixel((100, 80)) == (200, 40, 40)  # the poster inside it is left to see


def test_a_poster_with_every_string_exact_has_no_misreading_note(app_studio):
    from core.text.result import CheckStatus, StringCheck, TextCheckResult
    from storage.textchecks import record_text_check
    from tests.gallery_helpers import add_poster, new_app

    poster_id, _ = add_poster(app_studio.db, app_studio.store, size=(200, 120))
    box = [[10.0, 10.0], [120.0, 10.0], [120.0, 40.0], [10.0, 40.0]]
    result = TextCheckResult(
        strings=[StringCheck("offer", "SUMMER SALE", CheckStatus.EXACT, "SUMMER SALE", 100.0, [box])],
        extra_text=[], score=1.0, seconds=0.1, engine="test",
    )
    record_text_check(app_studio.db, poster_id, result.to_json(), 1.0)
    at = new_app()
    open_detail(at, poster_id)
    captions = [c.value for c in at.caption]
    assert "text ✓ 1/1 exact" in captions
    assert MISREAD_NOTE not in captions
