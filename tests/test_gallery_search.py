"""Gallery search is literal, and a zip of a filtered selection is named for its filters."""

import io
import json
import zipfile

import pytest

from core.services.export import zip_posters
from core.services.gallery import GalleryFilter, describe_selection, list_posters, zip_file_name
from tests.gallery_helpers import add_poster


@pytest.fixture
def studio_env(studio_env, database_url, monkeypatch):
    """The studio of each test here keeps its history on SQLite, then on PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return {**studio_env, "DATABASE_URL": database_url}


def names(db, text: str) -> list[str]:
    cards, _ = list_posters(db, GalleryFilter(text=text), page_size=50)
    return sorted(c.product_name for c in cards)


def test_percent_and_underscore_are_searched_as_typed(studio):
    db, store = studio.db, studio.store
    for seed, name in enumerate(["100% cotton", "snake_case mug", "Plain mug", "Back\\slash tee"], start=1):
        add_poster(db, store, name=name, seed=seed)
    assert names(db, "%") == ["100% cotton"]
    assert names(db, "_") == ["snake_case mug"]
    assert names(db, "e_c") == ["snake_case mug"]  # '_' is not "any one character"
    assert names(db, "\\") == ["Back\\slash tee"]
    assert names(db, "MUG") == ["Plain mug", "snake_case mug"]  # still case-insensitive


def test_a_zip_filtered_by_reviewer_is_named_for_that_filter(studio):
    db, store = studio.db, studio.store
    poster_id, _ = add_poster(db, store, name="Jasmine tea")
    selection = describe_selection("all posters", GalleryFilter(reviewer="Ann Lee", min_rating=4.0))
    assert selection == "gallery all posters, rated 4+, reviewed by Ann Lee"
    assert zip_file_name(selection) == "posters-gallery-all-posters-rated-4-reviewed-by-ann-lee.zip"
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(zip_posters(db, store, [poster_id], selection))).read("manifest.json"))
    assert manifest["selection"] == "gallery all posters, rated 4+, reviewed by Ann Lee"
    # Unfiltered, it says so; a name made only of punctuation still gives a file name.
    assert describe_selection("all posters", GalleryFilter()) == "gallery all posters"
    assert zip_file_name("gallery all posters") == "posters-gallery-all-posters.zip"
    assert zip_file_name("«»") == "posters-selection.zip"
    assert describe_selection("all posters", GalleryFilter(text=" 50% ", status=None)) == (
        "gallery all posters, any status, search '50%'"
    )
