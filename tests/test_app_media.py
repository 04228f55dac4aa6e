"""AppTest of images and texts in the app: the Data page's choice of text column and image
shape, a captioned grid and the inspector, on 600 occluded digits.

The digits are uploaded as a table; their ``pixel_0 .. pixel_63`` columns make a square, so
the app analyses them as 8x8 images unless a person picks another shape
(``data.image_shapes``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import explorer.app
from explorer.app import media, state
from explorer.planted_media import make_occluded_digits, make_tickets

HOME = str(Path(explorer.app.__file__).parent / "Home.py")
TIMEOUT = 300  # the first run analyses the table; later runs hit the cache
CAPTION = r"row \d+: true \d → predicted \d( ✗)?"
TEXT_LABEL = "Text column (embedded; its regions are described by their words)"
SHAPE_LABEL = "Each row is an image of"


@pytest.fixture(scope="module")
def digits():
    """600 digits, some occluded, with a prediction column that errs mostly on those."""
    return make_occluded_digits(seed=0).frame.iloc[:600].reset_index(drop=True)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, digits):
    folder = tmp_path_factory.mktemp("app-media-workspace")
    patch = pytest.MonkeyPatch()
    patch.setenv("EXPLORER_WORKSPACE_DIR", str(folder))
    stored = state.store_upload("digits.csv", digits.to_csv(index=False).encode())
    (folder / "last_settings.json").write_text(json.dumps({
        "source": f"upload:{stored}", "title": "digits.csv", "target": "label",
        "prediction": "prediction", "features": None, "groups": [], "pool": None, "seed": 0}))
    yield folder
    patch.undo()


def open_page(page: str, **session) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> list[list[str]]:
    return [list(image.captions) for image in at.get("image")]


def test_a_selection_is_shown_as_captioned_images_with_wrong_ones_marked(workspace, digits):
    rows = list(range(40))
    selection = {"selection": {"points": [{"customdata": [r, "x"], "point_index": i}
                                          for i, r in enumerate(rows)],
                               "point_indices": list(range(len(rows))), "box": [],
                               "lasso": []}}
    at = open_page("map", map_selection=selection)
    inspector, grid = captions(at)
    wrong = digits["label"].to_numpy()[rows] != digits["prediction"].to_numpy()[rows]
    assert inspector == [f"row 0: true {digits['label'][0]} → predicted "
                         f"{digits['prediction'][0]}" + (" ✗" if wrong[0] else "")]
    assert len(grid) == media.GRID_LIMIT
    assert all(re.fullmatch(CAPTION, caption) for caption in grid)
    marked = [caption.endswith(media.WRONG_MARK) for caption in grid]
    assert marked == sorted(marked, reverse=True)  # wrong ones first
    assert sum(marked) == min(int(wrong.sum()), media.GRID_LIMIT)
    assert any("Inspector" in m.value for m in at.markdown)


def test_the_map_invites_a_click_for_the_inspector(workspace):
    at = open_page("map")
    assert any("Click a point on the map to see its image" in c.value for c in at.caption)


def test_each_region_is_shown_by_its_images_not_pixel_rules(workspace):
    at = open_page("regions")
    grids = captions(at)
    regions = [e for e in at.expander if e.label.startswith("R")]
    assert regions and len(grids) == len(regions)
    assert all(grid and all(re.fullmatch(CAPTION, c) for c in grid)
               for grid in grids)
    assert not any("pixel_" in m.value for m in at.markdown)


def analysed_after_choosing(name: str, frame, label: str, value=None) -> AppTest:
    """Upload ``frame`` on the Data page, set the selectbox ``label`` to ``value`` (given),
    and Analyse."""
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    at.radio(key="source_kind").set_value("Upload a file").run()
    at.file_uploader(key="upload").upload(name, frame.to_csv(index=False).encode(),
                                          "text/csv").run()
    if value is not None:
        next(b for b in at.selectbox if b.label == label).set_value(value)
    next(b for b in at.button if b.label == "Analyse").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def test_the_data_page_offers_a_text_column_and_embeds_it(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_WORKSPACE_DIR", str(tmp_path))
    at = analysed_after_choosing("tickets.csv", make_tickets(seed=0).frame.iloc[:300],
                                 TEXT_LABEL)
    choice = next(b for b in at.selectbox if b.label == TEXT_LABEL)
    assert choice.options == ["none: leave the text out", "ticket"]
    assert choice.value == at.session_state["settings"].text == "ticket"
    assert state.cached_analysis(at.session_state["settings"]).schema.text == "ticket"


def test_the_data_page_offers_the_shapes_its_pixel_columns_make(tmp_path, monkeypatch,
                                                                digits):
    monkeypatch.setenv("EXPLORER_WORKSPACE_DIR", str(tmp_path))
    at = analysed_after_choosing("digits.csv", digits, SHAPE_LABEL, (4, 16))
    choice = next(b for b in at.selectbox if b.label == SHAPE_LABEL)
    assert choice.options == ["not images: the pixel columns are numbers",
                              "8 × 8 pixels (height × width)", "4 × 16 pixels (height × width)",
                              "16 × 4 pixels (height × width)"]
    assert choice.value == at.session_state["settings"].image_shape == (4, 16)
    assert state.cached_analysis(at.session_state["settings"]).schema.image_shape == (4, 16)
