"""The Compare page with 4 real-size posters: where a script run's time goes, and how long a
real browser waits for the images (issue 11 item 10c).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/compare_page.py [--runs 5] [--no-browser]

Fills a temp data dir with 4 posters at the presets' drawing sizes (1328x1328, 928x1664,
1104x1472, 1664x928; gradient, shapes and grain, so each PNG weighs 2.5-3.7 MB as a drawn one
does), then:
- apptest: whole script runs of the Compare page through AppTest (Home.py's shell, sidebar,
  the page), the first apart, then the median of the reruns; and the parts of those runs:
  reading the stored bytes (the store, under st.cache_data), Streamlit's `image_to_url` (the
  format check, resize and re-encode st.image does), and the rest;
- browser: `streamlit run` on that data dir and headless Chromium: seconds from `goto`
  of /compare?ids=... to every poster image decoded (img.complete, naturalWidth > 0), and the
  bytes of each image the browser fetched; the first load after the server starts (no cache
  yet), then reloads; `--mbps 5` throttles the browser's downloads as a slow link would.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
POSTERS = [("instagram_post", (1328, 1328)), ("instagram_story", (928, 1664)),
           ("poster_3_4", (1104, 1472)), ("web_banner", (1664, 928))]


def fill(data_dir: Path) -> tuple[list[int], list[int]]:
    """The 4 posters; returns their ids and their PNGs' sizes in bytes."""
    from core.settings import load_settings
    from storage.db import open_database
    from storage.files import ImageStore
    from tests.gallery_helpers import add_poster, real_size_poster

    settings = load_settings({"STUDIO_DATA_DIR": str(data_dir), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
    db = open_database(settings.database_url)
    store = ImageStore(settings.storage_url)
    ids = [add_poster(db, store, seed=100 + i, preset=preset, image=real_size_poster(size, mark=i))[0]
           for i, (preset, size) in enumerate(POSTERS)]
    from storage.gallery import get_posters

    sizes = [len(store.read_bytes(d.path)) for d in get_posters(db, ids)]
    db.dispose()
    return ids, sizes


class Timer:
    """Wraps a module's function and adds up the seconds spent in it."""

    def __init__(self, module, name: str):
        self.module, self.name, self.original = module, name, getattr(module, name)
        self.seconds = 0.0
        self.calls = 0

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        setattr(module, name, timed)

    def take(self) -> float:
        seconds, self.seconds, self.calls = self.seconds, 0.0, 0
        return seconds


def apptest(ids: list[int], runs: int) -> dict:
    from streamlit.elements.lib import image_utils
    from streamlit.testing.v1 import AppTest

    from storage.files import ImageStore

    reads = Timer(ImageStore, "read_bytes")
    to_url = Timer(image_utils, "image_to_url")
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/compare.py")
    at.query_params["ids"] = ",".join(map(str, ids))
    rows = []
    for _ in range(runs + 1):
        reads.take(), to_url.take()
        started = time.perf_counter()
        at.run()
        total = time.perf_counter() - started
        assert not at.exception, at.exception
        assert len(at.get("image")) == 4
        read_s, url_s = reads.take(), to_url.take()
        rows.append({"run_s": total, "read_s": read_s, "image_to_url_s": url_s, "rest_s": total - read_s - url_s})
    first, later = rows[0], rows[1:]
    median = {key: statistics.median(r[key] for r in later) for key in later[0]}
    return {"first": {k: round(v, 3) for k, v in first.items()}, "median": {k: round(v, 3) for k, v in median.items()},
            "runs": len(later)}


def browser(data_dir: Path, ids: list[int], loads: int, mbps: float) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.test_browser_e2e import CHROMIUM_ARGS, free_port

    port = free_port()
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu",
           "HF_HUB_OFFLINE": "1"}
    log = open(data_dir.parent / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    results = []
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.1)
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1600, "height": 1200})
            if mbps:
                # A team's server over a VPN or an office uplink: Chromium's own throttling
                # (HTTP fetches, so the images; the websocket is not slowed).
                cdp = page.context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", {
                    "offline": False, "latency": 20, "downloadThroughput": mbps * 125_000,
                    "uploadThroughput": mbps * 125_000})
            # Home first, so the studio is started and the navigation is set before the timing.
            page.goto(url, timeout=180_000)
            page.get_by_role("heading", name="Latest posters").wait_for(timeout=180_000)
            for load in range(loads):
                started = time.perf_counter()
                page.goto(f"{url}/compare?ids={','.join(map(str, ids))}")
                page.wait_for_function(
                    """() => {
                        const imgs = document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img");
                        return imgs.length === 4 && [...imgs].every(i => i.complete && i.naturalWidth > 0);
                    }""",
                    timeout=120_000,
                    polling=20,
                )
                drawn = time.perf_counter() - started
                widths = page.evaluate(
                    """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")]
                        .map(i => [i.getBoundingClientRect().width, i.naturalWidth])"""
                )
                media = page.evaluate(
                    """() => performance.getEntriesByType("resource").filter(e => e.name.includes("/media/") && !e.name.includes("/static/"))
                        .map(e => e.encodedBodySize)"""
                )
                results.append({"load": load + 1, "images_drawn_s": round(drawn, 3), "media_bytes": sorted(media),
                                "drawn_and_natural_widths": widths})
                print(json.dumps(results[-1]), flush=True)
            chromium.close()
    finally:
        process.terminate()
        process.wait(15)
        log.close()
    return {"mbps": mbps or "unthrottled", "loads": results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="AppTest reruns after the first")
    parser.add_argument("--loads", type=int, default=4, help="browser loads of the page")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--mbps", type=float, default=0, help="throttle the browser's downloads (Mbit/s); 0: off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        ids, png_sizes = fill(data_dir)
        os.environ.update({"STUDIO_DATA_DIR": str(data_dir), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
        out = {"load_average_before": os.getloadavg(), "png_bytes": png_sizes, "apptest": apptest(ids, args.runs)}
        print(json.dumps(out), flush=True)
        if not args.no_browser:
            out["browser"] = browser(data_dir, ids, args.loads, args.mbps)
        out["load_average_after"] = os.getloadavg()
        out["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
