"""Export: the recipe inside the PNG and back into Compose, JPEG/WebP, exact sizes, zips."""

import io
import json
import zipfile

import pytest
from PIL import Image

from core.services.export import (
    ExportError,
    ExportOptions,
    RecipeImportError,
    embed_chunks,
    export_poster,
    fit_to_size,
    read_recipe,
    zip_posters,
    _itxt,
    RECIPE_KEYWORD,
)
from core.recipe import recipe_to_dict
from storage.files import png_bytes
from storage.gallery import get_poster
from storage.models import Poster, Review
from tests.gallery_helpers import add_poster, add_review, new_app


def test_exported_png_carries_the_recipe_and_compose_recalls_it(app_studio):
    db, store = app_studio.db, app_studio.store
    block = "Aurora house style; colour palette Midnight (#101828); typography geometric sans."
    poster_id, job_id = add_poster(db, store, name="Aurora 茶", seed=314, tone="Tech", style="glass, neon",
                                   price="¥199", brand_block=block, preset="instagram_story", size=(72, 128))
    detail = get_poster(db, poster_id)

    name, data = export_poster(db, store, poster_id, ExportOptions())
    assert name == f"poster-{poster_id}-seed314-72x128.png"
    recipe, provenance = read_recipe(data)
    assert recipe == detail.recipe
    assert (provenance.poster_id, provenance.job_id, provenance.sha256) == (poster_id, job_id, detail.sha256)
    # The pixels are the stored poster's, untouched; other tools see A1111-style parameters.
    with Image.open(io.BytesIO(data)) as image:
        assert image.tobytes() == Image.open(io.BytesIO(store.read_bytes(detail.path))).tobytes()
        parameters = image.text["parameters"]
    assert parameters.startswith(detail.recipe.prompt + "\nNegative prompt: ")
    assert "Steps: 2, Sampler: FlowMatchEulerDiscrete, CFG scale: 4.0, Seed: 314, Size: 72x128" in parameters

    # Dropped on Compose, it fills the form and builds the very same prompt.
    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.file_uploader(key="compose_import").set_value((name, data, "image/png")).run()
    assert not at.exception, at.exception
    assert any("Recalled the recipe from" in s.value and "seed 314" in s.value for s in at.success)
    assert at.text_input(key="compose_name").value == "Aurora 茶"
    assert at.text_input(key="compose_price").value == "¥199"
    assert at.text_input(key="compose_seed").value == "314"
    assert at.selectbox(key="compose_tone").value == "Tech"
    assert at.selectbox(key="compose_preset").value == "instagram_story"
    assert at.text_area(key="compose_brand_block").value == block
    assert at.code[0].value == detail.recipe.prompt
    # The poster was made here, so what is generated next links to it.
    assert any(f"Editing a rerun of poster #{poster_id}" in i.value for i in at.info)


def test_pngs_without_a_usable_recipe_get_a_clear_message_and_change_nothing(app_studio):
    poster_id, _ = add_poster(app_studio.db, app_studio.store, seed=1)
    plain = png_bytes(Image.new("RGB", (8, 8), "red"))
    _, good = export_poster(app_studio.db, app_studio.store, poster_id, ExportOptions())
    broken = embed_chunks(plain, [_itxt(RECIPE_KEYWORD, '{"format": "qwen-poster-studio/recipe", "version": 1, ')],
                          replace=(RECIPE_KEYWORD,))
    _, jpeg = export_poster(app_studio.db, app_studio.store, poster_id, ExportOptions(format="jpeg"))
    cut = good[: len(good) // 2]

    at = new_app()
    at.switch_page("pages/compose.py").run()
    at.text_input(key="compose_name").set_value("Kept").run()
    cases = [
        (plain, "has no Qwen Poster Studio recipe"),
        (broken, "recipe in this PNG is damaged (not valid JSON"),
        (jpeg, "only PNG exports carry the recipe"),
        (cut, "This PNG is damaged"),
        (b"hello", "not a PNG"),
    ]
    for data, message in cases:
        at.file_uploader(key="compose_import").set_value(("upload.png", data, "image/png")).run()
        assert not at.exception, at.exception
        assert any(message in e.value for e in at.error), (message, [e.value for e in at.error])
        assert at.text_input(key="compose_name").value == "Kept"
        at.file_uploader(key="compose_import").set_value(None).run()


def test_a_recipe_with_a_wrong_field_names_the_problem():
    plain = png_bytes(Image.new("RGB", (8, 8)))
    from core.recipe import RECIPE_FORMAT

    def with_recipe(body):
        return embed_chunks(plain, [_itxt(RECIPE_KEYWORD, json.dumps(body))], replace=(RECIPE_KEYWORD,))

    with pytest.raises(RecipeImportError, match="version 9"):
        read_recipe(with_recipe({"format": RECIPE_FORMAT, "version": 9, "recipe": {}}))
    with pytest.raises(RecipeImportError, match="incomplete: it lacks"):
        read_recipe(with_recipe({"format": RECIPE_FORMAT, "version": 1, "recipe": {"seed": 1}}))


def test_exact_platform_size_by_crop_or_pad():
    # A 3:4 draw with a red left third, a green middle, a blue right third.
    image = Image.new("RGB", (300, 400), (0, 255, 0))
    image.paste((255, 0, 0), (0, 0, 100, 400))
    image.paste((0, 0, 255), (200, 0, 300, 400))

    cropped = fit_to_size(image, (1080, 1920), "crop")  # taller: the sides are cut
    assert cropped.size == (1080, 1920)
    assert cropped.getpixel((540, 960))[1] > 200  # green stays in the centre
    assert cropped.getpixel((5, 960))[0] > 200 and cropped.getpixel((1074, 960))[2] > 200  # both sides cut equally

    padded = fit_to_size(image, (1920, 1080), "pad", "#FFCC00")  # wider: bars left and right
    assert padded.size == (1920, 1080)
    assert padded.getpixel((10, 540)) == (255, 204, 0) and padded.getpixel((1910, 540)) == (255, 204, 0)
    assert padded.getpixel((960, 540))[1] > 200


def test_jpeg_and_webp_at_a_chosen_quality_and_exact_size(studio):
    poster_id, _ = add_poster(studio.db, studio.store, seed=5, size=(128, 128), preset="instagram_story")
    sizes = {}
    for fmt, magic in (("jpeg", b"\xff\xd8\xff"), ("webp", b"RIFF")):
        for quality in (60, 95):
            name, data = export_poster(studio.db, studio.store, poster_id, ExportOptions(fmt, quality, "crop"))
            assert data.startswith(magic)
            assert Image.open(io.BytesIO(data)).size == (1080, 1920)
            assert name.endswith(f"-1080x1920.{'jpg' if fmt == 'jpeg' else 'webp'}")
            sizes[fmt, quality] = len(data)
    assert sizes["jpeg", 95] > sizes["jpeg", 60] and sizes["webp", 95] > sizes["webp", 60]
    with pytest.raises(ExportError, match="Pad colour"):
        export_poster(studio.db, studio.store, poster_id, ExportOptions("png", 90, "pad", "yellowish"))


def test_zip_of_a_set_holds_every_image_recipe_and_review(app_studio):
    db, store = app_studio.db, app_studio.store
    ids = [add_poster(db, store, seed=s, group="the-set", variant_index=i)[0] for i, s in enumerate((7, 8, 9))]
    add_poster(db, store, name="Other", seed=1)
    add_review(db, ids[0], "Ann", 5, "approve", "Ship it")
    add_review(db, ids[0], "Bob", 2, "reject", "Too dark")
    add_review(db, ids[2], "Ann", 4, "changes")

    at = new_app()
    at.switch_page("pages/gallery.py")
    at.query_params["set"] = "the-set"
    at.run()
    assert at.get("download_button")[0].proto.label == "Download the set as a zip (3 posters)"

    archive = zipfile.ZipFile(io.BytesIO(zip_posters(db, store, ids, "set the-set")))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["count"] == 3 and manifest["selection"] == "set the-set"
    assert sorted(archive.namelist()) == sorted(["manifest.json", *(item["file"] for item in manifest["posters"])])
    details = [get_poster(db, poster_id) for poster_id in ids]  # (one session at a time: each holds the lock)
    with db.session() as s:
        for item, poster_id, detail in zip(manifest["posters"], ids, details):
            poster = s.get(Poster, poster_id)
            assert item["poster_id"] == poster.id and item["sha256"] == poster.sha256
            assert item["recipe"] == recipe_to_dict(detail.recipe, detail.provenance)
            rows = s.query(Review).filter(Review.poster_id == poster_id).order_by(Review.id.desc()).all()
            assert [(r["reviewer"], r["rating"], r["verdict"], r["comment"]) for r in item["reviews"]] == [
                (r.reviewer, r.rating, r.verdict, r.comment) for r in rows
            ]
            image_bytes = archive.read(item["file"])
            assert read_recipe(image_bytes)[0] == detail.recipe
            assert Image.open(io.BytesIO(image_bytes)).tobytes() == Image.open(io.BytesIO(store.read_bytes(poster.path))).tobytes()
    assert manifest["posters"][0]["review_summary"]["verdicts"] == {"approve": 1, "reject": 1}


def test_zip_of_the_filtered_gallery_selection(app_studio):
    db, store = app_studio.db, app_studio.store
    teas = [add_poster(db, store, name="Jasmine tea", seed=s)[0] for s in (1, 2)]
    add_poster(db, store, name="Headphones", seed=3)
    at = new_app()
    at.switch_page("pages/gallery.py").run()
    at.text_input(key="gallery_text").set_value("jasmine").run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download these 2 posters as a zip (with manifest)" in labels
    # The button's deferred data is the same call with the same ids, newest first.
    from storage.gallery import GalleryFilter, poster_ids_matching

    ids, total = poster_ids_matching(db, GalleryFilter(text="jasmine"), limit=200)
    assert total == 2 and ids == teas[::-1]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(zip_posters(db, store, ids, "q"))).read("manifest.json"))
    assert [p["recipe"]["recipe"]["product"]["name"] for p in manifest["posters"]] == ["Jasmine tea", "Jasmine tea"]
    with pytest.raises(ExportError, match="at most 200"):
        zip_posters(db, store, list(range(1, 202)), "too many")
