import io
from dataclasses import replace
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from storage import jobs as job_rows
from storage.db import open_database
from storage.files import ImageStore, StorageError, atomic_write
from storage.gallery import GalleryFilter, delete_poster, get_poster, list_posters
from storage.models import Job, Poster, Prompt, Review
from core.recipe import product_of
from tests.helpers import small_recipe


@pytest.fixture
def db(database_url):
    database = open_database(database_url)  # each test runs on SQLite and on PostgreSQL
    yield database
    database.dispose()


@pytest.fixture(params=["folder", "s3"])
def store_and_listing(request, tmp_path):
    """The image store on a local folder and on S3 (moto's server), with what is really
    there: the files under the folder (temp files too) or the objects under the prefix."""
    if request.param == "folder":
        root = tmp_path / "images"
        return ImageStore(root), lambda: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    bucket = request.getfixturevalue("s3_bucket")
    return ImageStore(bucket.url("team/images")), lambda: bucket.keys("team/images/")


def new_recipe(name="Aurora", language="en", prompt_text="A poster", preset="instagram_post"):
    return small_recipe(product=product_of({"name": name}), language=language, prompt=prompt_text, preset_key=preset)


def finish(db, store, job_id, color):
    claimed = job_rows.claim_next(db, "host:1:test")
    assert claimed.id == job_id
    stored = store.put_png(Image.new("RGB", (64, 64), color))
    return job_rows.complete(db, job_id, stored, {"total_s": 1.0})


def test_round_trip_prompt_job_poster(db, store_and_listing):
    store, listing = store_and_listing
    _, (job_id,), group = job_rows.enqueue(db, new_recipe(), [42])
    poster_id = finish(db, store, job_id, "red")
    detail = get_poster(db, poster_id)
    assert detail.recipe == small_recipe(seed=42)
    assert detail.recipe.product["name"] == "Aurora" and detail.provenance.variant_group == group
    assert detail.recipe.exact_strings == [{"role": "offer", "text": "SALE"}]
    assert Image.open(io.BytesIO(store.read_bytes(detail.path))).getpixel((0, 0)) == (255, 0, 0)
    with Image.open(io.BytesIO(store.read_bytes(detail.thumb_path))) as thumb:
        assert thumb.format == "WEBP"
    assert listing() == sorted([detail.path, detail.thumb_path])
    assert detail.path == f"posters/{detail.sha256[:2]}/{detail.sha256}.png"


def test_the_same_image_twice_is_one_object(store_and_listing):
    store, listing = store_and_listing
    first = store.put_png(Image.new("RGB", (32, 32), "green"))
    second = store.put_png(Image.new("RGB", (32, 32), "green"))
    assert first == second
    assert listing() == sorted([first.path, first.thumb_path])


def test_a_put_whose_thumbnail_fails_leaves_nothing(store_and_listing, monkeypatch):
    store, listing = store_and_listing
    write = store._write

    def thumbnail_upload_fails(path, data):
        if path.endswith(".webp"):
            raise ConnectionResetError("connection lost during the upload")
        write(path, data)

    monkeypatch.setattr(store, "_write", thumbnail_upload_fails)
    with pytest.raises(ConnectionResetError):
        store.put_png(Image.new("RGB", (32, 32), "purple"))
    assert listing() == []  # the PNG that went up first was taken back


def test_enqueue_is_all_or_nothing(db):
    with pytest.raises(Exception):
        job_rows.enqueue(db, new_recipe(), [1, None])  # seed is NOT NULL
    with db.session() as s:
        assert s.scalar(select(func.count(Prompt.id))) == 0
        assert s.scalar(select(func.count(Job.id))) == 0


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a" / "poster.png"

    atomic_write(target, b"first")
    with pytest.raises(TypeError):
        atomic_write(target, object())  # the write itself fails half-way
    assert target.read_bytes() == b"first"
    assert [p.name for p in target.parent.iterdir()] == ["poster.png"]  # no temp file left


def test_delete_removes_rows_and_files_but_keeps_shared_bytes(db, store_and_listing):
    store, listing = store_and_listing
    _, (a, b, c), _ = job_rows.enqueue(db, new_recipe(), [1, 2, 3])
    pa = finish(db, store, a, "red")
    pb = finish(db, store, b, "red")  # same bytes as a: one file on disk
    pc = finish(db, store, c, "blue")
    with db.session() as s:
        s.add(Review(poster_id=pa, reviewer="ann", rating=5, verdict="approve"))
    path_a, path_c = get_poster(db, pa).path, get_poster(db, pc).path

    assert delete_poster(db, store, pa)
    assert store.exists(path_a)  # still used by poster b
    assert get_poster(db, pa) is None
    with db.session() as s:
        assert s.scalar(select(func.count(Review.id))) == 0
        assert s.get(Job, a) is None

    delete_poster(db, store, pb)
    assert not store.exists(path_a)
    store.display_bytes(path_c)  # Compare made its display rendition
    delete_poster(db, store, pc)
    assert not store.exists(path_c)
    assert listing() == []  # thumbnails and display renditions went with their PNGs
    with db.session() as s:
        assert s.scalar(select(func.count(Poster.id))) == 0
        assert s.scalar(select(func.count(Prompt.id))) == 0  # its last job went, so did the prompt


def test_gallery_filters_and_paging(db, tmp_path):
    store = ImageStore(tmp_path / "images")
    _, ids_en, _ = job_rows.enqueue(db, new_recipe("Aurora", "en", "headphones poster"), list(range(3)))
    _, ids_zh, _ = job_rows.enqueue(db, new_recipe("茶", "zh", "tea poster", preset="web_banner"), [9])
    for i, job_id in enumerate(ids_en + ids_zh):
        finish(db, store, job_id, (i * 40, 0, 0))
    _, (queued,), _ = job_rows.enqueue(db, new_recipe("Queued"), [7])

    cards, total = list_posters(db, GalleryFilter(), page=1, page_size=2)
    assert total == 4 and len(cards) == 2
    assert cards[0].job_id == ids_zh[0]  # newest first
    assert [c.job_id for c in list_posters(db, GalleryFilter(), page=2, page_size=2)[0]] == [ids_en[1], ids_en[0]]
    assert list_posters(db, GalleryFilter(language="zh"))[1] == 1
    assert list_posters(db, GalleryFilter(preset_key="web_banner"))[1] == 1
    assert list_posters(db, GalleryFilter(text="HEADPHONES"))[1] == 3  # prompt text, any case
    assert list_posters(db, GalleryFilter(text="aurora"))[1] == 3  # product name
    queued_cards, n = list_posters(db, GalleryFilter(status="queued"))
    assert n == 1 and queued_cards[0].id is None and queued_cards[0].job_id == queued


def test_claim_is_exclusive_and_cancel_of_queued_is_immediate(db):
    _, (a, b), _ = job_rows.enqueue(db, new_recipe(), [1, 2])
    assert job_rows.request_cancel(db, b) == "cancelled"
    first = job_rows.claim_next(db, "h:1:x")
    assert first.id == a
    assert job_rows.claim_next(db, "h:1:y") is None  # b was cancelled, a is taken


def test_recovery_marks_orphans_failed(db):
    _, (a, b), _ = job_rows.enqueue(db, new_recipe(), [1, 2])
    job_rows.claim_next(db, "h:1:dead")
    job_rows.claim_next(db, "h:2:alive")
    n = job_rows.recover_interrupted(db, lambda worker: worker.endswith("alive"))
    assert n == 1
    states = {s.id: s for s in job_rows.job_states(db, [a, b])}
    assert states[a].status == "failed" and states[a].error == "interrupted by restart"
    assert states[b].status == "running"
    # a live worker whose heartbeat stopped long ago is stale too
    assert job_rows.recover_interrupted(db, lambda w: True, stale_after=timedelta(seconds=-1)) == 1


def test_readers_are_not_blocked_by_a_writer(db):
    """Pages poll while the worker writes progress: a read must not wait for the write lock."""
    import threading

    from sqlalchemy import text

    order = []
    reader_done = threading.Event()
    writer_holds_lock = threading.Event()

    def writer():
        with db.session() as session:  # BEGIN IMMEDIATE: holds the write lock
            session.execute(text("UPDATE jobs SET status = status WHERE 1 = 0"))
            writer_holds_lock.set()
            reader_done.wait(10)
            order.append("writer released")

    thread = threading.Thread(target=writer)
    thread.start()
    assert writer_holds_lock.wait(10)
    assert job_rows.active_job_ids(db) == []  # a reader, while the writer holds the lock
    order.append("reader done")
    reader_done.set()
    thread.join()
    assert order == ["reader done", "writer released"]


def test_best_of_follow_up_draws_the_same_recipe_with_the_next_seed(db, tmp_path):
    from core.services.textcheck import next_best_of_seed
    from storage.textchecks import record_text_check

    store = ImageStore(tmp_path / "images")
    recipe = small_recipe(seed=40, negative_preset="none", steps=3, true_cfg_scale=2.5, brand_block="House style")
    _, (job_id,), group = job_rows.enqueue(db, recipe, [40], best_of_max=3)
    poster_id = finish(db, store, job_id, "red")
    # Not all text right: the check queues one more seed, in the same transaction.
    follow_up = record_text_check(db, poster_id, {"strings": []}, 0.0, follow_up=next_best_of_seed)
    claimed = job_rows.claim_next(db, "host:1:test")
    assert claimed.id == follow_up
    assert claimed.recipe == replace(recipe, seed=41)  # every recipe field, by dataclass equality
    (state,) = job_rows.job_states(db, [follow_up])
    assert state.variant_index == 1


def test_variant_sets_queued_in_the_same_instant_page_in_one_order(db, tmp_path):
    from sqlalchemy import update

    from storage.gallery import list_variant_sets
    from tests.gallery_helpers import add_poster

    store = ImageStore(tmp_path / "images")
    add_poster(db, store, seed=1, group="a-first")
    add_poster(db, store, seed=2, group="b-second")
    with db.session() as s:  # one clock tick for both sets
        s.execute(update(Job).values(created_at=s.scalar(select(func.min(Job.created_at)))))
    pages = [list_variant_sets(db, GalleryFilter(), page=n, page_size=1)[0] for n in (1, 2)]
    assert [[v.variant_group for v in sets] for sets in pages] == [["b-second"], ["a-first"]]  # newest written first


def test_check_names_a_missing_bucket_and_says_to_create_it(s3_bucket):
    store = ImageStore("s3://no-such-studio-bucket/images")
    with pytest.raises(StorageError) as error:
        store.check()
    assert "The bucket 'no-such-studio-bucket'" in str(error.value) and "does not exist" in str(error.value)
    assert "aws s3 mb s3://no-such-studio-bucket" in str(error.value)
    ImageStore(s3_bucket.url("images")).check()  # the bucket that is there passes


def test_check_names_an_endpoint_that_cannot_be_reached(s3_bucket, monkeypatch):
    from tests.s3_server import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries would only make the test slow
    with pytest.raises(StorageError, match=f"The S3 endpoint {endpoint} cannot be reached. Check AWS_ENDPOINT_URL"):
        ImageStore(s3_bucket.url("images")).check()


def test_check_says_when_the_image_folder_cannot_be_made(tmp_path):
    (tmp_path / "taken").write_text("a file where the folder should be")
    with pytest.raises(StorageError, match="cannot be created.*Set STUDIO_STORAGE_URL"):
        ImageStore(tmp_path / "taken" / "images").check()
