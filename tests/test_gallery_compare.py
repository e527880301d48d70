"""Compare: variant sets as sets, 2-4 posters side by side, the recipe diff and the word diff."""

import io

import pytest
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager

from core.recipe import diff_recipes, word_diff
from storage.gallery import get_posters
from tests.gallery_helpers import add_poster, landed_on, new_app, real_size_poster


@pytest.fixture
def studio_env(studio_env, database_url, monkeypatch):
    """The studio of each test here keeps its history on SQLite, then on PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return {**studio_env, "DATABASE_URL": database_url}


def differing_fields(table) -> set[str]:
    return set(table.loc[table["Differs"] == "≠", "Field"])


def test_compare_three_posters_marks_exactly_the_differing_fields(app_studio):
    db, store = app_studio.db, app_studio.store
    a, _ = add_poster(db, store, seed=11, group="set-one")
    b, _ = add_poster(db, store, seed=12, group="set-one", variant_index=1)
    # from another set: another tone, style keywords, preset and size
    c, _ = add_poster(db, store, seed=13, tone="Minimal", style="pastel gradient", preset="web_banner", size=(128, 72))

    at = new_app()
    at.switch_page("pages/gallery.py").run()
    for poster_id in (a, b, c):
        at.checkbox(key=f"cmp_{poster_id}").check().run()
    assert not at.exception, at.exception
    assert any(f"Picked to compare:** #{a}, #{b}, #{c}" in m.value for m in at.markdown)
    at.button(key="btn_compare_open").click().run()
    assert not at.exception, at.exception
    landed_on(at, "pages/compare.py", "Compare")

    table = at.table[0].value
    assert list(table.columns) == ["Field", f"#{a}", f"#{b}", f"#{c}", "Differs"]
    assert differing_fields(table) == {"Tone", "Style keywords", "Preset", "Size", "Seed", "Final prompt", "Tokens"}
    seeds = table.loc[table["Field"] == "Seed"].iloc[0]
    assert [seeds[f"#{a}"], seeds[f"#{b}"], seeds[f"#{c}"]] == ["11", "12", "13"]
    assert any(f"7 of {len(table)} fields differ" in c.value for c in at.caption)

    # Side by side at one scale (the browser test measures the drawn widths).
    assert len(at.get("image")) == 3
    assert any("All drawn at one scale" in c.value for c in at.caption)

    # The word diff: b's prompt equals a's; c's replaces the tone words and adds the style line.
    diffs = [h.value for h in at.get("html")]
    assert len(diffs) == 1, "identical prompts get no diff, only the note"
    assert any(f"#{b} against #{a}** · identical" in m.value for m in at.markdown)
    assert "<del" in diffs[0] and "bold" in diffs[0].split("<del", 1)[1].split("</del>")[0]
    assert "pastel gradient" in diffs[0].split("<ins", 1)[1]

    # Only the differing rows, on request
    at.toggle(key="compare_only_diff").set_value(True).run()
    assert len(at.table[0].value) == 7


def test_compare_sends_small_display_images_and_keeps_the_full_png_downloadable(app_studio, monkeypatch):
    """What the browser downloads for each poster is a JPEG of display size, not the multi-MB
    PNG (Streamlit re-encoded that on every run: issue 11 item 10c)."""
    db, store = app_studio.db, app_studio.store
    tall, _ = add_poster(db, store, seed=1, image=real_size_poster((1328, 1664), mark=1))
    wide, _ = add_poster(db, store, seed=2, preset="web_banner", image=real_size_poster((1664, 928), mark=2))
    assert len(store.read_bytes(get_posters(db, [tall])[0].path)) > 3_000_000, "a poster of real weight"

    sent = []  # every file this run hands the browser: (mimetype, bytes)
    add = MediaFileManager.add

    def recording_add(self, data, mimetype, *args, **kwargs):
        sent.append((mimetype, data))
        return add(self, data, mimetype, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", recording_add)
    at = new_app()
    at.switch_page("pages/compare.py")
    at.query_params["ids"] = f"{tall},{wide}"
    for _ in range(2):  # the first run makes the renditions, the second reads them back
        sent.clear()
        at.run()
        assert not at.exception, at.exception
        images = [(mimetype, Image.open(io.BytesIO(data)), len(data)) for mimetype, data in sent if mimetype.startswith("image/")]
        assert [i[0] for i in images] == ["image/jpeg", "image/jpeg"]
        for (_, image, size), (width, height) in zip(images, [(1328, 1664), (1664, 928)]):
            assert size < 300_000, f"{size:,} bytes sent for one poster"
            assert image.width <= 1024, "display size, not the original's"
            assert abs(image.height - image.width * height / width) <= 1, "the poster's own aspect ratio"
    # One true scale: the columns still follow the originals' pixel widths, not the renditions'.
    assert any("All drawn at one scale" in c.value for c in at.caption)
    assert any(f"#{tall}** · seed 1 · 1328×1664" in m.value for m in at.markdown)
    # The original stays a click away (tests/test_browser_gallery.py downloads one).
    assert [b.proto.label for b in at.get("download_button")] == ["Full size PNG", "Full size PNG"]


def test_diff_rows_and_word_diff_are_exact(studio):
    a, _ = add_poster(studio.db, studio.store, seed=1)
    b, _ = add_poster(studio.db, studio.store, seed=1, price="$24.99")
    rows = diff_recipes([d.recipe for d in get_posters(studio.db, [a, b])])
    assert {r.label for r in rows if r.differs} == {"Price", "Exact text", "Final prompt"}  # same token count

    old = 'Text:\n- price tag: "$19.99"\n- button: "Shop now"'
    new = 'Text:\n- price tag: "$24.99"\n- button: "Shop now"'
    runs = word_diff(old, new)
    assert "".join(t for k, t in runs if k != "added") == old
    assert "".join(t for k, t in runs if k != "removed") == new
    assert [(k, t) for k, t in runs if k != "same"] == [("removed", '"$19.99"'), ("added", '"$24.99"')]


def test_compare_asks_for_two_to_four_and_explains_bad_addresses(app_studio):
    a, _ = add_poster(app_studio.db, app_studio.store, seed=1)
    at = new_app()
    at.switch_page("pages/compare.py")
    at.query_params["ids"] = "12,abc"
    at.run()
    assert any("'abc' is not a poster id" in e.value for e in at.error)

    at.query_params["ids"] = f"{a},999"
    at.run()
    assert any("#999 no longer exist" in w.value for w in at.warning)
    assert any("Pick 2 to 4 posters" in i.value for i in at.info)
    assert not at.table


def test_a_fifth_pick_is_refused_with_a_message(app_studio):
    ids = [add_poster(app_studio.db, app_studio.store, seed=s)[0] for s in range(5)]
    at = new_app()
    at.switch_page("pages/gallery.py").run()
    for poster_id in ids:
        at.checkbox(key=f"cmp_{poster_id}").check().run()
    assert at.session_state["compare_ids"] == ids[:4]
    assert any("at most 4 posters" in w.value for w in at.warning)
    assert at.checkbox(key=f"cmp_{ids[4]}").value is False


def test_variant_sets_view_shows_each_batch_as_one_set(app_studio):
    db, store = app_studio.db, app_studio.store
    for index, seed in enumerate((21, 22, 23)):
        add_poster(db, store, seed=seed, group="batch-a", variant_index=index, text_score=0.5 if index == 0 else None)
    add_poster(db, store, name="Teapot", seed=5, group="batch-b")

    at = new_app()
    at.switch_page("pages/gallery.py").run()
    at.radio(key="gallery_view").set_value("sets").run()
    assert not at.exception, at.exception
    assert any("2 variant sets match" in c.value for c in at.caption)
    assert any("3 variant(s), 3 drawn" in m.value for m in at.markdown)
    captions = [c.value for c in at.caption]
    assert any("Variant 1" in c and "seed 21" in c and "done" in c and "text 50%" in c for c in captions)
    assert any("Variant 2" in c and "seed 22" in c and "text —" in c for c in captions)

    at.button(key="open_set_batch-a").click().run()
    assert any("Variant set · Aurora Headphones" in h.value for h in at.header)
    at.button(key="btn_compare_set").click().run()
    assert not at.exception, at.exception
    assert at.query_params["ids"] == ",".join(str(i) for i in sorted(at.session_state["compare_ids"]))
    table = at.table[0].value
    assert differing_fields(table) == {"Seed"}
