"""The studio with its images in S3 (moto's server, reached over HTTP through s3fs):
drafts, posters, thumbnails, exports and zips, a missing bucket at start, a failed upload."""

import io
import json
import zipfile

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.services.export import ExportOptions, export_poster, read_recipe, zip_posters
from core.settings import load_settings
from storage.files import StorageError
from storage.models import Draft, Poster
from tests.helpers import wait_for_jobs
from tests.test_app_brief import brief_page, png
from tests.test_app_pages import fill_compose, new_app


def test_a_poster_drawn_in_the_app_lands_in_s3_and_exports_from_there(s3_app_studio, s3_bucket, tmp_path):
    at = new_app()
    at.switch_page("pages/compose.py").run()
    fill_compose(at, compose_seed="2468")
    at.button(key="btn_generate").click().run()
    assert not at.exception, at.exception
    (state,) = wait_for_jobs(s3_app_studio.db, at.session_state["compose_batch"])
    assert state.status == "done", state.error

    with s3_app_studio.db.session() as s:
        poster = s.scalars(select(Poster)).one()
        path, thumb_path, sha = poster.path, poster.thumb_path, poster.sha256
    # The PNG and its WebP thumbnail are objects in the bucket, named by their content.
    assert s3_bucket.keys("posters/") == sorted([path, thumb_path])
    assert path == f"posters/{sha[:2]}/{sha}.png" and thumb_path.endswith(".webp")
    assert not (tmp_path / "data" / "images").exists()  # nothing went to the local folder
    stored_png = s3_bucket.server.client().get_object(Bucket=s3_bucket.name, Key=f"posters/{path}")["Body"].read()

    at.run()  # Compose shows the finished poster, read from the bucket
    assert not at.exception, at.exception
    assert len(at.get("image")) == 1
    at.switch_page("pages/gallery.py").run()  # the gallery's thumbnail, from the bucket
    assert not at.exception, at.exception
    assert any("1 match" in c.value for c in at.caption) and len(at.get("image")) == 1
    at.button(key=f"open_{poster.id}").click().run()  # the detail view's full poster
    assert not at.exception, at.exception
    assert any("seed 2468" in h.value for h in at.header)

    db, store = s3_app_studio.db, s3_app_studio.store
    _, exported = export_poster(db, store, poster.id, ExportOptions())
    recipe, provenance = read_recipe(exported)
    assert recipe.seed == 2468 and provenance.sha256 == sha
    with Image.open(io.BytesIO(exported)) as image, Image.open(io.BytesIO(stored_png)) as original:
        assert image.tobytes() == original.tobytes()
    _, jpeg = export_poster(db, store, poster.id, ExportOptions(format="jpeg"))
    assert jpeg.startswith(b"\xff\xd8\xff")
    archive = zipfile.ZipFile(io.BytesIO(zip_posters(db, store, [poster.id], "one poster")))
    (item,) = json.loads(archive.read("manifest.json"))["posters"]
    assert read_recipe(archive.read(item["file"]))[0] == recipe


def test_a_draft_uploaded_for_a_brief_lands_in_s3(s3_app_studio, s3_bucket):
    at = brief_page()
    at.file_uploader(key="draft_upload").set_value(("draft.png", png(), "image/png")).run()
    at.button(key="btn_write_brief").click().run()
    assert not at.exception, at.exception
    with s3_app_studio.db.session() as s:
        draft = s.scalars(select(Draft)).one()
        assert s3_bucket.keys("posters/") == sorted([draft.path, draft.thumb_path])
        assert draft.path.startswith("drafts/") and draft.thumb_path.startswith("drafts-thumbs/")


def test_a_missing_bucket_stops_the_studio_at_start_with_its_name(s3_studio_env, monkeypatch):
    from core.services.studio import Studio

    monkeypatch.setenv("STUDIO_STORAGE_URL", "s3://studio-bucket-never-made/images")
    with pytest.raises(StorageError, match="The bucket 'studio-bucket-never-made'.*does not exist. Create it"):
        Studio(load_settings(), start_worker=False)


def test_the_app_says_which_bucket_is_missing(s3_studio_env, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("STUDIO_STORAGE_URL", "s3://studio-bucket-never-made/images")
    st.cache_resource.clear()
    at = new_app()  # no exception: the page shows what to fix instead of a traceback
    (error,) = at.error
    assert "The image store cannot be used" in error.value and "'studio-bucket-never-made'" in error.value
    assert "aws s3 mb s3://studio-bucket-never-made" in error.value
    st.cache_resource.clear()


def test_an_upload_that_fails_midway_leaves_no_object_and_no_poster(s3_studio_env, s3_bucket, monkeypatch):
    from core.services.studio import Studio
    from tests.test_generation import enqueue

    studio = Studio(load_settings())
    try:
        write = studio.store._write

        def thumbnail_upload_fails(path, data):
            if path.endswith(".webp"):  # the PNG went up first; the connection drops on the thumbnail
                raise ConnectionResetError("connection reset by peer")
            write(path, data)

        monkeypatch.setattr(studio.store, "_write", thumbnail_upload_fails)
        submission = enqueue(studio, seed=99)
        (state,) = wait_for_jobs(studio.db, submission.job_ids)
        assert state.status == "failed" and "ConnectionResetError" in state.error
        assert s3_bucket.keys() == []
        with studio.db.session() as s:
            assert s.scalar(select(func.count(Poster.id))) == 0
    finally:
        studio.close()
