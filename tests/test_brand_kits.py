"""Brand kits: validation, the kits page (create, edit, delete) and applying a kit in Compose."""

import pytest
from sqlalchemy import func, select

from core.prompt.brand import BrandKitError, brand_block, parse_colors, validate_kit
from storage.brand_kits import create_kit, get_kit
from storage.models import BrandKit, Job, Prompt
from tests.gallery_helpers import add_poster, new_app
from tests.helpers import wait_for_jobs


def test_colours_are_parsed_and_bad_hex_is_explained():
    colors = parse_colors("Ocean blue #0a4d8c\n\nSand: #FC6\n")
    assert [(c.name, c.hex) for c in colors] == [("Ocean blue", "#0A4D8C"), ("Sand", "#FFCC66")]
    with pytest.raises(BrandKitError, match=r"Colour line 2 \('Sand #12345'\).*six hex digits"):
        parse_colors("Ocean blue #0A4D8C\nSand #12345")
    with pytest.raises(BrandKitError, match="Colour line 1.*name, a space, then the hex"):
        parse_colors("#0A4D8C")
    with pytest.raises(BrandKitError, match="sand appears twice"):
        parse_colors("Sand #FFCC66\nsand #FFCC00")
    with pytest.raises(BrandKitError, match="Give the kit a name"):
        validate_kit(" ", "")
    with pytest.raises(BrandKitError, match="Tone must be one of"):
        validate_kit("Acme", "", tone="Grumpy")


def fill_kit(at, **fields):
    for key, value in fields.items():
        widget = at.text_area(key=key) if key == "kit_colors" else (
            at.selectbox(key=key) if key == "kit_tone" else at.text_input(key=key))
        widget.set_value(value)
    at.run()
    assert not at.exception, at.exception


def kit_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count(BrandKit.id)))


def test_kits_are_created_edited_and_deleted_on_their_page(app_studio):
    db = app_studio.db
    at = new_app()
    at.switch_page("pages/brand_kits.py").run()
    assert any("No brand kits yet" in i.value for i in at.info)

    fill_kit(at, kit_name="Aurora Audio", kit_colors="Midnight #101828\nAurora teal #14b8a6", kit_fonts="geometric sans",
             kit_wordmark="AURORA", kit_tagline="Hear everything", kit_tone="Tech", kit_style="soft glow")
    assert "AURORA house style; colour palette Midnight (#101828), Aurora teal (#14B8A6)" in at.code[0].value
    # The block as a 中文 prompt carries it: Chinese labels, the kit's own words as typed.
    assert at.code[1].value.startswith("沿用AURORA的品牌视觉风格；品牌色：Midnight（#101828）、Aurora teal（#14B8A6）")
    at.button(key="kit_save").click().run()
    assert any("Created the kit Aurora Audio" in s.value for s in at.success)
    assert kit_count(db) == 1

    # A bad hex: a clear message, Save disabled, nothing written.
    fill_kit(at, kit_name="Second", kit_colors="Red #GG0000")
    assert any("Colour line 1" in e.value and "#0A4D8C" in e.value for e in at.error)
    assert at.button(key="kit_save").disabled
    # The same name again, in other case: refused.
    fill_kit(at, kit_name="aurora audio", kit_colors="Red #FF0000")
    at.button(key="kit_save").click().run()
    assert any("already exists" in e.value for e in at.error)
    assert kit_count(db) == 1

    kit_id = db_kit_id(db, "Aurora Audio")
    at.button(key=f"kit_edit_{kit_id}").click().run()
    assert at.text_input(key="kit_name").value == "Aurora Audio"
    assert at.text_area(key="kit_colors").value == "Midnight #101828\nAurora teal #14B8A6"
    fill_kit(at, kit_tagline="Hear it all")
    at.button(key="kit_save").click().run()
    assert get_kit(db, kit_id).tagline == "Hear it all"

    # Delete asks first; prompts made with the kit keep their brand block.
    poster_id, job_id = add_poster(db, app_studio.store, brand_kit_id=kit_id, brand_block="AURORA house style.")
    at.button(key=f"kit_delete_{kit_id}").click().run()
    assert any("1 prompt(s) used it" in w.value for w in at.warning)
    at.button(key=f"kit_delete_yes_{kit_id}").click().run()
    assert kit_count(db) == 0
    with db.session() as s:
        prompt = s.get(Prompt, s.get(Job, job_id).prompt_id)
        assert prompt.brand_kit_id is None and prompt.brand_block == "AURORA house style."


def db_kit_id(db, name: str) -> int:
    with db.session() as s:
        return s.scalar(select(BrandKit.id).where(BrandKit.name == name))


def test_applying_a_kit_fills_defaults_and_the_prompt_holds_its_brand_block(app_studio):
    db = app_studio.db
    kit_id = create_kit(db, validate_kit("Aurora Audio", "Midnight #101828\nAurora teal #14B8A6", "geometric sans, bold",
                                         "AURORA", "Hear everything", "Tech", "soft glow, chrome"))
    block = brand_block("Aurora Audio", get_kit(db, kit_id).colors, "geometric sans, bold", "AURORA")

    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.text_input(key="compose_name").set_value("Aurora Headphones")
    at.checkbox(key="compose_draft_size").check()
    at.number_input(key="compose_steps").set_value(2)
    at.text_input(key="compose_seed").set_value("5")
    at.selectbox(key="compose_brand_kit").set_value(kit_id).run()
    assert not at.exception, at.exception
    assert any("Applied Aurora Audio" in s.value for s in at.success)
    assert at.selectbox(key="compose_tone").value == "Tech"
    assert at.text_input(key="compose_style").value == "soft glow, chrome"
    assert at.text_input(key="compose_offer").value == "Hear everything"  # the offer was empty
    assert at.text_area(key="compose_brand_block").value == block
    prompt = at.code[0].value
    assert f"Brand: {block}" in prompt and '"Hear everything"' in prompt

    at.button(key="btn_generate").click().run()
    assert not at.exception, at.exception
    (job_id,) = at.session_state["compose_batch"]
    with db.session() as s:
        stored = s.get(Prompt, s.get(Job, job_id).prompt_id)
        assert stored.brand_kit_id == kit_id
        assert stored.brand_block == block and f"Brand: {block}" in stored.prompt
    wait_for_jobs(db, [job_id])


def test_the_kit_block_and_the_named_negative_prompt_follow_the_prompt_language(app_studio):
    from core.prompt.builder import DEFAULT_NEGATIVE_PROMPT, DEFAULT_NEGATIVE_PROMPT_ZH

    db = app_studio.db
    kit_id = create_kit(db, validate_kit("Aurora Audio", "Midnight #101828", "Futura", "AURORA"))
    colors = get_kit(db, kit_id).colors
    english, chinese = (brand_block("Aurora Audio", colors, "Futura", "AURORA", language) for language in ("en", "zh"))

    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.text_input(key="compose_name").set_value("极光耳机")
    at.radio(key="compose_language").set_value("zh").run()
    assert at.text_area(key="compose_negative").value == DEFAULT_NEGATIVE_PROMPT_ZH
    at.selectbox(key="compose_brand_kit").set_value(kit_id).run()
    assert not at.exception, at.exception
    assert at.text_area(key="compose_brand_block").value == chinese == "沿用AURORA的品牌视觉风格；品牌色：Midnight（#101828）；字体：Futura。"
    assert f"品牌：{chinese}" in at.code[0].value

    at.radio(key="compose_language").set_value("en").run()
    assert at.text_area(key="compose_brand_block").value == english
    assert at.text_area(key="compose_negative").value == DEFAULT_NEGATIVE_PROMPT

    # An edited block is the user's text: a language switch leaves it, and a typed negative prompt too.
    at.text_area(key="compose_brand_block").set_value(english + " Matte finishes.")
    at.text_area(key="compose_negative").set_value("blurry").run()
    at.radio(key="compose_language").set_value("zh").run()
    assert not at.exception, at.exception
    assert at.text_area(key="compose_brand_block").value == english + " Matte finishes."
    assert at.text_area(key="compose_negative").value == "blurry"
