"""End to end in headless Chromium: the built-in digits shown as images.

Opens the app on ``digits``, clicks one point of the map and sees its image in the inspector
beside the map (plotly cannot draw an image in a hover label), selects a box of points and
sees their grid captioned "true 8 → predicted 1" with wrong ones marked, then each region's
grid on the Regions page. Needs Debian's chromium; skipped only when it is absent outside CI.
Screenshots go to a temporary folder, and to ``$EXPLORER_SCREENSHOTS`` when that is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from app_server import chromium_page, require_chromium, running_app

ANALYSIS_MS = 400_000  # digits on a busy 2-core machine: UMAP compiles once per server
STEP_MS = 120_000
VIEWPORT = {"width": 1440, "height": 900}
CAPTION = re.compile(r"row \d+: true \d → predicted \d( ✗)?")
# Page pixels of drawn points: the first point of the first marker trace, and the 10th to
# 90th percentile box of all of them, through plotly's own data-to-pixel mapping.
POINTS = """(gd) => {
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, xs = [], ys = [];
  for (const trace of gd._fullData) {
    if (!trace.x || !String(trace.mode).includes("markers")) continue;
    for (let i = 0; i < trace.x.length; i++) { xs.push(+trace.x[i]); ys.push(+trace.y[i]); }
  }
  const box = gd.getBoundingClientRect();
  const px = (x) => box.left + xa._offset + xa.l2p(x), py = (y) => box.top + ya._offset + ya.l2p(y);
  const first = {x: px(xs[0]), y: py(ys[0])};
  xs.sort((a, b) => a - b); ys.sort((a, b) => a - b);
  const q = (a, p) => a[Math.floor(p * (a.length - 1))];
  return {first, x0: px(q(xs, 0.1)), x1: px(q(xs, 0.9)), y0: py(q(ys, 0.9)), y1: py(q(ys, 0.1))};
}"""
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A streamlit server on a free local port whose saved settings open the digits."""
    require_chromium()
    folder = tmp_path_factory.mktemp("browser-images-workspace")
    (folder / "last_settings.json").write_text(json.dumps({
        "source": "builtin:digits", "title": "Handwritten digits (8x8)", "target": "label",
        "prediction": None, "features": None, "groups": [], "pool": None, "seed": 0}))
    with running_app(folder) as url:
        yield url


def _shot(page, folder: Path, name: str) -> None:
    """A screenshot of the whole page (the viewport grown to the content's height)."""
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"],
                            "height": max(VIEWPORT["height"], min(int(height), 8000))})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size(VIEWPORT)
    extra = os.environ.get("EXPLORER_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / f"{name}.png", Path(extra) / f"{name}.png")


def _images_captioned(page) -> int:
    """How many drawn images carry a "true → predicted" caption."""
    captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()
    return sum(bool(CAPTION.fullmatch(text.strip())) for text in captions)


def test_digits_show_their_images_in_the_inspector_and_in_captioned_grids(server, tmp_path):
    with chromium_page(VIEWPORT, STEP_MS) as page:
        page.goto(f"{server}/map")
        page.get_by_text("Click a point on the map to see its image").wait_for(
            timeout=ANALYSIS_MS)
        page.locator(".js-plotly-plot .nsewdrag").first.wait_for()
        points = page.locator(".js-plotly-plot").first.evaluate(POINTS)

        page.locator(".modebar-btn[data-val='pan']").first.click()  # clicks select
        page.mouse.move(points["first"]["x"], points["first"]["y"])
        page.wait_for_timeout(500)  # plotly picks the point under the hover first
        page.mouse.click(points["first"]["x"], points["first"]["y"])
        page.get_by_text("Your selection: 1 row").wait_for()
        page.locator("[data-testid='stImageCaption']").get_by_text(CAPTION).first.wait_for()
        assert _images_captioned(page) >= 1  # the inspector's image
        page.mouse.move(0, 0)
        _shot(page, tmp_path, "images-1-inspector")

        page.locator(".modebar-btn[data-val='select']").first.click()
        page.mouse.move(points["x0"], points["y0"])
        page.mouse.down()
        page.mouse.move(points["x1"], points["y1"], steps=20)
        page.mouse.up()
        page.get_by_text(re.compile(r"images, wrong ones first")).wait_for()
        page.locator("[data-testid='stImageCaption']").nth(10).wait_for()
        assert _images_captioned(page) > 10  # the inspector and the selection's grid
        assert page.get_by_text(re.compile(r"predicted \d ✗")).count() > 0
        page.mouse.move(0, 0)
        _shot(page, tmp_path, "images-2-selection-grid")

        page.goto(f"{server}/regions")
        page.get_by_text(re.compile(r"images, wrong ones first")).first.wait_for()
        page.locator("[data-testid='stImageCaption']").first.wait_for()
        assert _images_captioned(page) > 0
        # the sentence is led by a confusion (Streamlit's Markdown draws "->" as an arrow)
        assert page.get_by_text(re.compile(r"^True \d (->|→) predicted \d")).count() > 0
        _shot(page, tmp_path, "images-3-regions")
