"""End to end in headless Chromium: streamlit run, analyse, select on the map, download rows.

Needs Debian's chromium (Playwright cannot download a browser here). Skipped only when it is
absent outside CI; under CI a missing browser fails. Screenshots of each page go to a
temporary folder, and also to ``$EXPLORER_SCREENSHOTS`` when that is set (README images).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ANALYSIS_MS = 300_000  # first analysis on a busy 2-core machine (UMAP compiles per server)
STEP_MS = 120_000  # any later step; the waits end as soon as the awaited text appears
VIEWPORT = {"width": 1400, "height": 1000}
# Where the map's points are, in page pixels: the 10th to 90th percentile of their x and y,
# through plotly's own data-to-pixel mapping (so the box always covers drawn points).
POINTS_BOX = """(gd) => {
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, xs = [], ys = [];
  for (const trace of gd._fullData) {  // plotly's decoded copy of each trace
    if (!trace.x || !String(trace.mode).includes("markers")) continue;
    for (let i = 0; i < trace.x.length; i++) { xs.push(+trace.x[i]); ys.push(+trace.y[i]); }
  }
  xs.sort((a, b) => a - b); ys.sort((a, b) => a - b);
  const q = (a, p) => a[Math.floor(p * (a.length - 1))];
  const box = gd.getBoundingClientRect();
  return {x0: box.left + xa._offset + xa.l2p(q(xs, 0.1)),
          x1: box.left + xa._offset + xa.l2p(q(xs, 0.9)),
          y0: box.top + ya._offset + ya.l2p(q(ys, 0.9)),
          y1: box.top + ya._offset + ya.l2p(q(ys, 0.1)), points: xs.length};
}"""
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, planted_data):
    """A streamlit server on a free local port, opening the 600-row planted table."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install the Debian chromium package.")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")
    from explorer import cli
    from explorer.app import state

    folder = tmp_path_factory.mktemp("browser-workspace")
    env = {**os.environ, "EXPLORER_WORKSPACE_DIR": str(folder)}
    os.environ["EXPLORER_WORKSPACE_DIR"], previous = str(folder), os.environ.get(
        "EXPLORER_WORKSPACE_DIR")
    stored = state.store_upload("planted.csv", planted_data.frame.to_csv(index=False).encode())
    (folder / "last_settings.json").write_text(json.dumps({
        "source": f"upload:{stored}", "title": "planted.csv", "target": "label",
        "prediction": "prediction", "features": None, "groups": [], "pool": None, "seed": 0}))
    if previous is None:
        del os.environ["EXPLORER_WORKSPACE_DIR"]
    else:
        os.environ["EXPLORER_WORKSPACE_DIR"] = previous
    port = _free_port()
    # the command `explorer app` runs, with the app's own settings (no Deploy button, ...)
    process = subprocess.Popen(
        cli.streamlit_command(["--server.headless", "true", "--server.address", "127.0.0.1",
                               "--server.port", str(port)]),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("the streamlit server did not start within 60 s")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def shots(tmp_path):
    """Save a page screenshot to tmp, and to $EXPLORER_SCREENSHOTS when that is set."""
    extra = os.environ.get("EXPLORER_SCREENSHOTS")

    def take(page, name: str) -> None:
        page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")  # run done
        # Streamlit scrolls inside its main container, so a full-page screenshot would cut
        # it at the viewport: grow the viewport to the content's height for the shot.
        height = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": VIEWPORT["width"],
                                "height": max(VIEWPORT["height"], min(int(height), 8000))})
        page.wait_for_timeout(1500)  # tables and charts draw after their text
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path))
        page.set_viewport_size(VIEWPORT)
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
    return take


def test_analyse_select_and_download(server, shots, planted_analysis):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(STEP_MS)
            page.goto(server)
            page.get_by_text("Regions found").wait_for(timeout=ANALYSIS_MS)
            shots(page, "1-data")

            page.goto(f"{server}/map")
            page.get_by_text("Nothing selected yet").wait_for()
            page.locator(".js-plotly-plot .nsewdrag").first.wait_for()
            page.locator(".modebar-btn[data-val='select']").first.click()
            box = page.locator(".js-plotly-plot").first.evaluate(POINTS_BOX)
            assert box["points"] == len(planted_analysis.data)
            page.mouse.move(box["x0"], box["y0"])
            page.mouse.down()
            page.mouse.move(box["x1"], box["y1"], steps=20)
            page.mouse.up()
            page.get_by_text("Your selection:").wait_for()
            page.get_by_text("Rows selected").wait_for()  # metrics follow the subheader
            page.mouse.move(0, 0)  # no hover label in the screenshot
            shots(page, "2-map")

            page.goto(f"{server}/regions")
            region = planted_analysis.regions[0]
            button = page.get_by_text(f"Download the {region.size:,} rows of R{region.id}")
            with page.expect_download() as download:
                button.click()
            frame = pd.read_csv(io.BytesIO(Path(download.value.path()).read_bytes()),
                                encoding="utf-8-sig")
            assert frame["row"].tolist() == [int(r) for r in region.rows]
            shots(page, "3-regions")

            for number, (name, text) in enumerate([
                    ("collect", "Specification: rows to collect"),
                    ("loop", "Choose data with a pool"),
                    ("report", "report.html is")], start=4):  # each page's last element
                page.goto(f"{server}/{name}")
                page.get_by_text(text).first.wait_for()
                if page.locator("[data-testid='stDataFrame']").count():
                    page.locator("[data-testid='stDataFrame'] canvas").first.wait_for()
                shots(page, f"{number}-{name}")
        finally:
            browser.close()
