"""Small page fixes a user notices: settings name the real precision, Variants greys out when
it is ignored, Home thumbnails open their poster, a rotated draft's caption gives its size
as stored."""

import io

from PIL import Image

from tests.gallery_helpers import add_poster, new_app


def images(at) -> list:
    """Every st.image on the page, as ImageList protos (AppTest has no accessor for them)."""

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return [node.proto for node in walk(at._tree) if getattr(node, "type", "") == "image"]


def test_settings_name_the_precision_this_device_draws_in(app_studio):
    at = new_app()
    at.switch_page("pages/settings.py").run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "drawn at full precision: float32" in text  # demo models run on CPU, in float32
    assert "bf16" not in text


def test_variants_are_disabled_while_generating_until_the_text_is_correct(app_studio):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    assert not at.number_input(key="compose_variants").disabled
    at.checkbox(key="compose_until_correct").check().run()
    assert at.number_input(key="compose_variants").disabled
    assert not at.number_input(key="compose_best_of").disabled


def test_home_thumbnails_open_their_poster_in_the_gallery(app_studio):
    poster_id, _ = add_poster(app_studio.db, app_studio.store, name="Jasmine tea")
    at = new_app()
    (thumb,) = images(at)
    assert thumb.link == f"gallery?poster={poster_id}"
    assert thumb.imgs[0].caption.startswith("Jasmine tea")


def test_an_exif_rotated_draft_is_captioned_with_its_upright_size(app_studio):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": a 600x300 file shows as 300x600
    data = io.BytesIO()
    Image.new("RGB", (600, 300), (200, 30, 30)).save(data, "JPEG", exif=exif)
    at = new_app()
    at.switch_page("pages/brief.py").run()
    at.file_uploader(key="draft_upload").set_value(("photo.jpg", data.getvalue(), "image/jpeg")).run()
    assert not at.exception, at.exception
    captions = [img.caption for element in images(at) for img in element.imgs]
    assert any("300×600" in c for c in captions), captions


def test_example_text_in_empty_fields_reads_as_an_example(app_studio):
    """Grey placeholders looked like filled values (issue 11, item 10): every text field's
    example now starts with "e.g.", so an empty form never reads as a filled one."""
    at = new_app()
    for page in ("pages/compose.py", "pages/brand_kits.py", "pages/brief.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        fields = [*at.text_input, *at.text_area]
        examples = [f.placeholder for f in fields if f.placeholder]
        assert examples, page  # the check reads real placeholders
        assert all(text.startswith("e.g.") for text in examples), (page, examples)
