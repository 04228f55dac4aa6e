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
from pathlib import Path

import pandas as pd
import pytest
from app_server import chromium_page, require_chromium, running_app

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


def _opening_on(folder: Path, frame: pd.DataFrame, *, target: str) -> Path:
    """``folder`` as a workspace whose saved settings open ``frame`` (uploaded as
    planted.csv) with ``target`` as its label: a new session starts there."""
    from explorer.app import state

    folder.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPLORER_WORKSPACE_DIR", str(folder))
        stored = state.store_upload("planted.csv", frame.to_csv(index=False).encode())
    (folder / "last_settings.json").write_text(json.dumps({
        "source": f"upload:{stored}", "title": "planted.csv", "target": target,
        "prediction": "prediction", "features": None, "groups": [], "pool": None, "seed": 0}))
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, planted_data):
    """A streamlit server on a free local port, opening the 600-row planted table."""
    require_chromium()
    folder = _opening_on(tmp_path_factory.mktemp("browser-workspace"), planted_data.frame,
                         target="label")
    with running_app(folder) as url:
        yield url


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
    with chromium_page(VIEWPORT, STEP_MS) as page:
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


def _idle(page) -> None:
    """Wait until the app has finished its rerun (Streamlit's running indicator is gone)."""
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox whose label starts with ``label``."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option).first.click()


def _trace_names(page) -> list[str]:
    return page.locator(".js-plotly-plot").first.evaluate(
        "(gd) => gd._fullData.map((t) => t.name)")


def _box_select(page) -> None:
    page.locator(".modebar-btn[data-val='select']").first.click()
    box = page.locator(".js-plotly-plot").first.evaluate(POINTS_BOX)
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move(box["x1"], box["y1"], steps=20)
    page.mouse.up()


def test_uploads_a_region_alone_a_kept_selection_and_label_studio(server, shots,
                                                                 planted_analysis, tmp_path):
    """Issue 12's walk (the image step is another test's): a semicolon, decimal-comma
    Latin-1 file loads right; one region is shown alone; a selection survives a colour
    change and downloads; the collection list goes out as Label Studio tasks and an export
    of them comes back through the Loop page's validated ingest."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    europe = tmp_path / "europe.csv"
    europe.write_bytes(("alter;einkommen;stadt;label\n" + "".join(
        f"{20 + i % 40};{1000 + i},5;Zürich;{'ja' if i % 3 else 'nein'}\n"
        for i in range(80))).encode("latin-1"))
    with chromium_page(VIEWPORT, STEP_MS, accept_downloads=True) as page:
        page.goto(server)
        page.get_by_text("Regions found").wait_for(timeout=ANALYSIS_MS)
        page.get_by_text("Upload a file").click()
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first \
            .set_input_files(str(europe))
        page.get_by_text("80 rows × 4 columns").wait_for()  # ';' and ',5' read right
        page.get_by_text("Read as:").first.wait_for()
        page.get_by_text("Press Analyse to analyse europe.csv").wait_for()
        shots(page, "8-data-upload-checks")

        page.goto(f"{server}/map")
        page.locator(".js-plotly-plot .nsewdrag").first.wait_for()
        region = planted_analysis.regions[0]
        _choose(page, "Show one region alone", f"R{region.id} ·")
        page.get_by_text("is a place in the model's").wait_for()
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                               ".some((gd) => gd._fullData && gd._fullData.some("
                               "(t) => t.name === 'other rows'))")
        names = _trace_names(page)
        assert "other rows" in names and f"region {region.id} outline" in names
        page.mouse.move(0, 0)
        shots(page, "9-map-region-alone")

        _choose(page, "Show one region alone", "every region")
        page.get_by_text("is a place in the model's").wait_for(state="detached")
        _box_select(page)
        page.get_by_text("Your selection:").wait_for()
        heading = page.get_by_text("Your selection:").inner_text()
        _choose(page, "Colour by", "column: region")
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                               ".some((gd) => gd.layout && gd.layout.title && "
                               "gd.layout.title.text.includes('coloured by region'))")
        assert page.get_by_text("Your selection:").inner_text() == heading
        count = int(heading.split(":")[1].split()[0].replace(",", ""))
        with page.expect_download() as download:
            page.get_by_text(f"Download these {count:,} rows").click()
        rows = pd.read_csv(io.BytesIO(Path(download.value.path()).read_bytes()),
                           encoding="utf-8-sig")
        assert len(rows) == count
        page.mouse.move(0, 0)
        shots(page, "10-map-kept-selection")

        page.goto(server)  # the built-in with a pool: the collection list
        page.get_by_text("Built-in dataset").click()
        _choose(page, "Dataset", "Under-covered segment")
        page.get_by_text("Press Analyse to analyse").wait_for()
        for attempt in range(3):  # a click during a rerun of the form can be lost
            _idle(page)
            page.get_by_role("button", name="Analyse").click()
            try:
                page.get_by_text("Current analysis: Under-covered segment").wait_for(
                    timeout=STEP_MS // 3)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        page.get_by_text("Pool rows").wait_for(timeout=ANALYSIS_MS)
        page.goto(f"{server}/collect")
        page.get_by_text("Download as Label Studio tasks (JSON)").wait_for(
            timeout=ANALYSIS_MS)
        with page.expect_download() as download:
            page.get_by_text("Download as Label Studio tasks (JSON)").click()
        tasks = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert tasks and {"row", "region_name", "reason", "features"} <= set(
            tasks[0]["data"])
        shots(page, "11-collect-label-studio")

        export = [{"id": i + 1, "data": task["data"], "annotations": [
            {"was_cancelled": False, "result": [
                {"from_name": "label", "to_name": "features", "type": "choices",
                 "value": {"choices": ["1"]}}]}]} for i, task in enumerate(tasks[:10])]
        exported = tmp_path / "project-1-at-2026-12-02.json"
        exported.write_text(json.dumps(export), encoding="utf-8")
        page.goto(f"{server}/loop")
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.wait_for(
            state="attached", timeout=ANALYSIS_MS)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first \
            .set_input_files(str(exported))
        page.get_by_role("button", name="Ingest the labels").click()
        page.get_by_text("10 labels accepted").wait_for()
        shots(page, "12-loop-label-studio-ingest")


def test_a_misspelled_target_shows_why_the_run_failed_open(tmp_path, shots, planted_data):
    """Saved settings whose label is misspelled: the Data page says which names are gone,
    and the failed run's box is open on its cause and fix, without a click."""
    require_chromium()
    from playwright.sync_api import expect

    folder = _opening_on(tmp_path / "workspace", planted_data.frame, target="lable")
    with running_app(folder) as url, chromium_page(VIEWPORT, STEP_MS) as page:
        page.goto(url)
        page.get_by_text("The analysis could not run").wait_for(timeout=ANALYSIS_MS)
        cause = page.get_by_text("The target column 'lable' is not in the data. Did you "
                                 "mean 'label'?")
        expect(cause).to_be_visible()  # shown in the open box, not behind a click
        expect(page.get_by_text("The saved choice of columns names 'lable' (did you "
                                "mean 'label'?)")).to_be_visible()
        shots(page, "13-data-misspelled-target")
