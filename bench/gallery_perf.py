"""Gallery performance at 10,000 posters: the first page, a filtered page, the variant-set
view, a poster's detail view and the compare view, timed as server time.

    .venv/bin/python bench/gallery_perf.py                 # fill a temp data dir, measure, report
    .venv/bin/python bench/gallery_perf.py --data-dir /tmp/g10k --keep   # keep it for a second run

The fill writes real rows (prompts from the real prompt builder, jobs, posters, reviews) and
real image files through the real content-addressed store (a small PNG and its WebP
thumbnail per poster), fast because the images are 192x192 and the rows go in bulk.

Each view is timed two ways:
- query: the storage calls the page makes, alone;
- page: a whole Streamlit script run through AppTest (Home.py's shell, sidebar, the page's
  queries, every element and image it sends). The first run of each view is reported apart
  (it warms SQLite's page cache and Python's imports); the figure that counts is the median
  of the reruns, which is what a user waits for after a click.
The numbers go into BENCHMARKS.md under "## Gallery" (that section only is replaced).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_S = 1.0
REVIEWERS = ["Ann", "Bob", "Chen", "Dara", "Eli"]
PRODUCTS = [
    "Aurora Headphones", "Jasmine Tea", "Trail Runner 3", "Glow Serum", "Nimbus Kettle", "Cedar Candle",
    "Orbit Watch", "Pixel Camera", "Summit Backpack", "Velvet Lipstick", "Harbor Coffee", "Quartz Lamp",
]
SET_SIZE = 4


def _make_images(args: tuple[str, int, int]) -> list[tuple[str, str, str, int, int]]:
    """Runs in a worker process: store `count` small distinct posters, return their files."""
    storage_url, start, count = args
    from PIL import Image, ImageDraw

    from storage.files import ImageStore

    store = ImageStore(storage_url)
    rng = random.Random(start)
    out = []
    for i in range(start, start + count):
        image = Image.new("RGB", (192, 192), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        draw = ImageDraw.Draw(image)
        draw.rectangle([10, 10, 10 + i % 170, 30], fill=(255, 255, 255))  # distinct bytes per poster
        draw.rectangle([10, 150, 180, 180], fill=(rng.randrange(256), 0, 0))
        stored = store.put_png(image)
        out.append((stored.sha256, stored.path, stored.thumb_path, stored.width, stored.height))
    return out


def fill(data_dir: Path, posters: int, seed: int = 20261126) -> dict:
    """Rows and files for `posters` posters in variant sets of four, plus some failed jobs
    and reviews on about 60% of the posters."""
    from sqlalchemy import insert

    from core.prompt.presets import PRESETS
    from core.prompt.builder import DEFAULT_NEGATIVE_PROMPT, TONES, ProductFields, PromptInputs, build_prompt
    from storage.db import open_database
    from storage.models import Job, Poster, Prompt, Review

    rng = random.Random(seed)
    started = time.perf_counter()
    db = open_database(f"sqlite:///{data_dir / 'studio.db'}")

    chunk = 500
    with ProcessPoolExecutor(max_workers=max(os.cpu_count() or 1, 1)) as pool:
        files = [f for part in pool.map(_make_images, [(str(data_dir / "images"), s, min(chunk, posters - s))
                                                       for s in range(0, posters, chunk)]) for f in part]
    images_s = time.perf_counter() - started

    now = datetime.now(timezone.utc)
    prompts, jobs, poster_rows, reviews = [], [], [], []
    job_id = poster_id = 0
    n_sets = (posters + SET_SIZE - 1) // SET_SIZE
    for set_index in range(n_sets):
        preset_key = rng.choice(list(PRESETS))
        preset = PRESETS[preset_key]
        language = "zh" if rng.random() < 0.2 else "en"
        tone = rng.choice(list(TONES))
        name = f"{rng.choice(PRODUCTS)} {set_index % 97}"
        product = ProductFields(name=name, description="limited edition, studio shot", offer="SUMMER SALE",
                                price=f"${rng.randrange(9, 400)}.99", cta="Shop now",
                                benefits=("Free shipping", "2-year warranty"))
        style = rng.choice(["", "soft gradient", "neon glow, chrome", "pastel, paper cut"])
        built = build_prompt(PromptInputs(product=product, tone=tone, style_keywords=style, language=language,
                                          preset_label=preset.label, aspect=preset.aspect))
        prompt_id = set_index + 1
        prompts.append(dict(
            id=prompt_id, product={**asdict(product), "benefits": list(product.benefits)}, product_name=name, tone=tone,
            style_keywords=style, language=language, brief_id=None, brief_text="", brand_kit_id=None, brand_block="",
            prompt=built.prompt, negative_prompt=DEFAULT_NEGATIVE_PROMPT,
            exact_strings=[{"role": s.role, "text": s.text} for s in built.exact_strings],
            token_count=len(built.prompt.split()) * 2, max_sequence_length=512, builder_version=built.builder_version,
            created_at=now - timedelta(minutes=10 * (n_sets - set_index)),
        ))
        group = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
        created = now - timedelta(minutes=10 * (n_sets - set_index))
        for variant in range(SET_SIZE):
            if poster_id >= posters:
                break
            job_id += 1
            failed = rng.random() < 0.03  # a few failed variants keep their rows, as in real use
            w, h = preset.draft
            jobs.append(dict(
                id=job_id, prompt_id=prompt_id, preset_key=preset_key, draft_size=True, width=w, height=h, steps=40,
                true_cfg_scale=4.0, seed=rng.randrange(2**31), model_id="Qwen/Qwen-Image-2512", demo_models=False,
                status="failed" if failed else "done", progress_step=40, progress_total=40,
                cancel_requested=False, error="out of GPU memory" if failed else None, timings={"total_s": 31.5},
                parent_job_id=None, variant_group=group, variant_index=variant, created_at=created,
                finished_at=created + timedelta(seconds=32),
            ))
            if failed:
                continue
            sha, path, thumb, pw, ph = files[poster_id]
            poster_id += 1
            poster_rows.append(dict(id=poster_id, job_id=job_id, sha256=sha, path=path, thumb_path=thumb, width=pw,
                                    height=ph, text_score=round(rng.random(), 2), created_at=created))
            if rng.random() < 0.6:
                for reviewer in rng.sample(REVIEWERS, rng.randrange(1, 4)):
                    reviews.append(dict(poster_id=poster_id, reviewer=reviewer, rating=rng.randrange(1, 6),
                                        verdict=rng.choice(["approve", "approve", "changes", "reject"]),
                                        comment=rng.choice(["", "", "Bigger price", "Love the colours", "Too busy"]),
                                        created_at=created + timedelta(hours=2)))
    with db.session() as session:
        session.execute(insert(Prompt), prompts)
        session.execute(insert(Job), jobs)
        session.execute(insert(Poster), poster_rows)
        session.execute(insert(Review), reviews)
    db.engine.dispose()
    return {"posters": len(poster_rows), "jobs": len(jobs), "prompts": len(prompts), "reviews": len(reviews),
            "images_s": images_s, "fill_s": time.perf_counter() - started}


def timed(function, repeat: int) -> tuple[float, float]:
    """(first run, median of the next `repeat`), in seconds."""
    start = time.perf_counter()
    function()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return first, statistics.median(runs)


def measure(data_dir: Path, repeat: int) -> list[dict]:
    os.environ.update({
        "STUDIO_DATA_DIR": str(data_dir), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu", "HF_HUB_OFFLINE": "1",
        "STUDIO_DEMO_MODELS_DIR": str(data_dir / "demo_models"),
    })
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from pages.ui.shared import get_studio
    from storage.gallery import GalleryFilter, get_poster, get_posters, list_posters, list_variant_sets, poster_ids_matching
    from storage.lineage import lineage
    from storage.reviews import reviewer_names, reviews_for, summaries

    st.cache_resource.clear()
    studio = get_studio()
    db = studio.db
    filtered = GalleryFilter(text="aurora", verdict="approve", min_rating=3.0)
    newest, _ = list_posters(db, GalleryFilter(), page=1, page_size=4)
    compare_ids = [c.id for c in newest]
    detail_id = compare_ids[0]

    def grid_queries(filters):
        cards, _ = list_posters(db, filters, page=1, page_size=12)
        summaries(db, [c.id for c in cards if c.id])
        reviewer_names(db)
        poster_ids_matching(db, filters, limit=200)

    def compare_queries():
        get_posters(db, compare_ids)
        summaries(db, compare_ids)

    def detail_queries():
        get_poster(db, detail_id)
        lineage(db, get_poster(db, detail_id).job_id)
        reviews_for(db, [detail_id])

    def sets_queries():
        list_variant_sets(db, GalleryFilter(), page=1, page_size=4)

    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=120)
    at.run()

    def page_run(setup):
        def run():
            setup()
            at.run()
            assert not at.exception, at.exception
        return run

    results = []

    # first page
    at.switch_page("pages/gallery.py")
    at.query_params.clear()
    first_page = timed(page_run(lambda: None), repeat)
    results.append(("Gallery, first page (12 of 10,000)", timed(lambda: grid_queries(GalleryFilter()), repeat), first_page))
    caption_all = next(c.value for c in at.caption if " match · page" in c.value)

    # filtered: text search + verdict + minimum rating
    at.text_input(key="gallery_text").set_value("aurora")
    at.selectbox(key="gallery_verdict").set_value("approve")
    at.selectbox(key="gallery_min_rating").set_value(3)
    filtered_page = timed(page_run(lambda: None), repeat)
    results.append(("Gallery, filtered (text + verdict + rating ≥ 3)", timed(lambda: grid_queries(filtered), repeat), filtered_page))
    caption_filtered = next(c.value for c in at.caption if " match · page" in c.value)
    at.text_input(key="gallery_text").set_value("")
    at.selectbox(key="gallery_verdict").set_value(None)
    at.selectbox(key="gallery_min_rating").set_value(0)

    # who reviewed: by one reviewer, and not yet by me
    at.session_state["reviewer_name"] = "Ann"  # as if Ann had entered her name in a review section
    at.run()
    at.selectbox(key="gallery_reviewer").set_value("Bob")
    at.checkbox(key="gallery_not_mine").check()
    reviewer_filter = GalleryFilter(reviewer="Bob", not_reviewed_by="Ann")
    reviewer_page = timed(page_run(lambda: None), repeat)
    results.append(("Gallery, reviewed by Bob and not yet by me (Ann)", timed(lambda: grid_queries(reviewer_filter), repeat), reviewer_page))
    caption_reviewer = next(c.value for c in at.caption if " match · page" in c.value)
    at.selectbox(key="gallery_reviewer").set_value(None)
    at.checkbox(key="gallery_not_mine").uncheck()

    # shortlist
    at.radio(key="gallery_view").set_value("shortlist")
    shortlist_page = timed(page_run(lambda: None), repeat)
    results.append(("Gallery, shortlist view", timed(lambda: grid_queries(GalleryFilter(shortlist=True)), repeat), shortlist_page))

    # variant sets
    at.radio(key="gallery_view").set_value("sets")
    sets_page = timed(page_run(lambda: None), repeat)
    results.append(("Gallery, variant sets view (4 sets)", timed(sets_queries, repeat), sets_page))
    at.radio(key="gallery_view").set_value("posters")

    # detail
    def to_detail():
        at.query_params.clear()
        at.query_params["poster"] = str(detail_id)

    detail_page = timed(page_run(to_detail), repeat)
    results.append(("Poster detail (recipe, lineage, reviews)", timed(detail_queries, repeat), detail_page))

    # compare
    def to_compare():
        at.switch_page("pages/compare.py")
        at.query_params.clear()
        at.query_params["ids"] = ",".join(map(str, compare_ids))

    compare_page = timed(page_run(to_compare), repeat)
    results.append(("Compare, 4 posters (images, diff table, word diffs)", timed(compare_queries, repeat), compare_page))
    assert len(at.table) == 1 and len(at.get("image")) == 4

    studio.close()
    st.cache_resource.clear()
    rows = []
    for label, (q_first, q_median), (p_first, p_median) in results:
        rows.append({"view": label, "query_first": q_first, "query": q_median, "page_first": p_first, "page": p_median})
    return rows, caption_all, caption_filtered, caption_reviewer


def write_report(rows, fill_info, captions, repeat) -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    import sqlalchemy
    import streamlit

    lines = [
        "## Gallery",
        "",
        f"- Date: {datetime.now():%Y-%m-%d %H:%M}",
        f"- Machine: {cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.machine()}, CPU only; "
        f"load average at the end {load:.2f}",
        f"- Versions: Python {platform.python_version()}, Streamlit {streamlit.__version__}, SQLAlchemy {sqlalchemy.__version__}, "
        f"SQLite {__import__('sqlite3').sqlite_version}",
        f"- Data: {fill_info['posters']:,} posters ({fill_info['jobs']:,} jobs in sets of {SET_SIZE}, ~3% failed), "
        f"{fill_info['prompts']:,} prompts, {fill_info['reviews']:,} reviews by {len(REVIEWERS)} reviewers; "
        f"real 192×192 PNGs and WebP thumbnails in the content-addressed store (filled in {fill_info['fill_s']:.0f} s)",
        f"- The gallery said: “{captions[0]}”; filtered: “{captions[1]}”; by reviewer: “{captions[2]}”",
        "- Command: `.venv/bin/python bench/gallery_perf.py`",
        f"- Page = one whole Streamlit script run through AppTest (Home.py shell + sidebar + the page, every element "
        f"and image); median of {repeat} reruns after a first run. Query = the page's storage calls alone.",
        "",
        f"| view | page, median | page, first run | queries, median | goal |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        verdict = "✓" if row["page"] < GOAL_S else "✗"
        lines.append(
            f"| {row['view']} | **{row['page'] * 1000:.0f} ms** {verdict} | {row['page_first'] * 1000:.0f} ms | "
            f"{row['query'] * 1000:.1f} ms | < {GOAL_S * 1000:.0f} ms |"
        )
    lines += [
        "",
        "What keeps it fast: paging (12 tiles), WebP thumbnails (never the full PNG) in the grid, indexes on "
        "jobs(status, created_at), jobs(created_at), jobs(variant_group), jobs(parent_job_id), reviews(poster_id) and "
        "reviews(reviewer, poster_id) (Alembic 0002_gallery), review summaries fetched only for the page's posters, "
        "and zips built only when their button is clicked.",
        "",
        "Found by this benchmark: the first version filtered by review with `posters.id IN (subquery)`. SQLite "
        "searched the poster index once per list element for every job, and the filtered page took 8.5 s "
        "(shortlist 4.7 s). Joining one derived table of per-poster review counts (storage/gallery.py "
        "`_review_stats`) and EXISTS for the reviewer filters brought both to 0.1–0.2 s a page. The gallery's "
        "queries run in read-only sessions (`Database.reader()`, a deferred BEGIN), so they neither wait for "
        "nor hold up the job worker's writes.",
        "",
    ]
    return "\n".join(lines)


def save_section(text: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace the '## Gallery' section, keep every other section as it is."""
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if "## Gallery" in current:
        before, _, rest = current.partition("## Gallery")
        after = rest.split("\n## ", 1)
        current = before + text + ("\n## " + after[1] if len(after) > 1 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posters", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse or create this data dir (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir afterwards")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="gallery-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        if (data_dir / "studio.db").exists():
            fill_info = {"posters": args.posters, "jobs": 0, "prompts": 0, "reviews": 0, "fill_s": 0.0}
            from storage.db import open_database
            from storage.models import Job, Poster, Prompt, Review
            from sqlalchemy import func, select

            db = open_database(f"sqlite:///{data_dir / 'studio.db'}")
            with db.session() as s:
                for key, model in (("posters", Poster), ("jobs", Job), ("prompts", Prompt), ("reviews", Review)):
                    fill_info[key] = s.scalar(select(func.count(model.id)))
            db.dispose()
            print(f"reusing {data_dir}: {fill_info}")
        else:
            print(f"filling {data_dir} with {args.posters:,} posters…", flush=True)
            fill_info = fill(data_dir, args.posters)
            print(f"filled in {fill_info['fill_s']:.1f} s (images {fill_info['images_s']:.1f} s): {fill_info}", flush=True)
        rows, *captions = measure(data_dir, args.repeat)
        report = write_report(rows, fill_info, captions, args.repeat)
        print(report)
        if not args.no_write:
            save_section(report)
            print("written to BENCHMARKS.md")
    finally:
        if not args.keep and args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
