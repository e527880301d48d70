"""First start: seconds from `streamlit run Home.py` to the Home page's content in a browser.

Starts the app as the README's quick start does (no STUDIO_DEMO or STUDIO_DEMO_MODELS_DIR set,
so a machine without a GPU builds the demo checkpoints under the data dir), opens it in
headless Chromium and times, from the launch of the server process:
  health     /_stcore/health answers
  paint      the page body shows anything (the "Starting the studio" spinner, say)
  nav        the sidebar navigation's first links are drawn
  home       the Home page's heading "Latest posters" is visible
It does that twice on one data dir: the first start (a fresh, empty data dir) and a second
start (demo checkpoints and database already there). It also records every sidebar
navigation label seen while waiting, so a flash of Streamlit's own page list (file names
such as "brand_kits") is caught.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/first_start.py [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(data_dir: Path, browser) -> dict:
    port = free_port()
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    for key in ("STUDIO_DEMO_MODELS_DIR", "DATABASE_URL", "STUDIO_STORAGE_URL"):
        env.pop(key, None)
    log = open(data_dir.parent / f"streamlit-{port}.log", "w")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    result: dict = {}
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() - started > 180:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.05)
        result["health_s"] = round(time.monotonic() - started, 2)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        labels_seen: set[str] = set()
        sidebar = page.get_by_test_id("stSidebar")
        while True:
            # Polled (not waited on) on purpose: the point is to see every label the sidebar
            # shows on the way, including ones drawn for a moment only, and when each stage shows.
            if "paint_s" not in result and page.get_by_test_id("stMain").inner_text().strip():
                result["paint_s"] = round(time.monotonic() - started, 2)  # anything in the page body
            links = sidebar.get_by_role("link")
            if links.count():
                labels = [t.strip().split("\n")[-1] for t in links.all_inner_texts()]  # the icon's name first
                if labels and "nav_s" not in result:
                    result["nav_s"] = round(time.monotonic() - started, 2)
                labels_seen.update(labels)
            if page.get_by_role("heading", name="Latest posters").count():
                result["home_s"] = round(time.monotonic() - started, 2)
                break
            if time.monotonic() - started > 180:
                raise RuntimeError("Home did not render in 180 s")
            page.wait_for_timeout(50)
        result["nav_labels_seen"] = sorted(labels_seen)
        page.close()
    finally:
        process.terminate()
        process.wait(15)
        log.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1, help="fresh/second pairs to run")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                data_dir = Path(tmp) / "data"
                fresh = one_start(data_dir, browser)
                second = one_start(data_dir, browser)
                results.append({"fresh": fresh, "second": second})
                print(json.dumps(results[-1]), flush=True)
        browser.close()
    print(json.dumps({"load_average": os.getloadavg(), "cpus": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
