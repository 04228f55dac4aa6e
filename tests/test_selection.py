"""describe_selection and the saved user regions: numbers checked by hand on small tables."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import numpy as np
import pytest

from explorer.errors import ParameterError, WorkspaceError
from explorer.selection import (combine, describe_selection, load_user_regions, map_compactness,
                                rows_in_shapes, save_user_region)


def test_selection_counts_errors_and_compares_with_the_rest(tiny_analysis):
    is_error = tiny_analysis.predictions.is_error
    rows = np.flatnonzero(is_error)[:10].tolist() + [0, 0]  # duplicates count once
    region = describe_selection(tiny_analysis, rows)
    expected = np.unique(rows)
    assert region.size == len(expected)
    assert region.error_rate == pytest.approx(is_error[expected].mean())
    assert region.baseline_error_rate == pytest.approx(is_error.mean())
    assert region.found_by == "selection" and region.id == -1
    assert 0 <= region.p_value < 0.05  # mostly errors against a ~20 % baseline
    low, high = region.heldout_interval
    assert low <= region.error_rate <= high
    assert region.description.startswith(f"{region.size} rows")


def test_a_typical_selection_is_not_significant(tiny_analysis):
    region = describe_selection(tiny_analysis, np.arange(0, 120, 2))
    assert region.p_value > 0.05


def test_selecting_everything_has_nothing_to_compare_with(tiny_analysis):
    region = describe_selection(tiny_analysis, np.arange(len(tiny_analysis.data)))
    assert region.p_value == 1.0 and region.lift == pytest.approx(1.0)


@pytest.mark.parametrize("rows, message", [([], "empty"), ([5, 120], "outside")])
def test_bad_selections_say_what_is_wrong(tiny_analysis, rows, message):
    with pytest.raises(ParameterError, match=message):
        describe_selection(tiny_analysis, rows)


def test_saved_regions_survive_concurrent_writers(tiny_analysis, tmp_path):
    region = describe_selection(tiny_analysis, [1, 2, 3])
    threads = [threading.Thread(target=save_user_region, args=(tmp_path, region, f"r{i}"))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    saved = load_user_regions(tmp_path)
    assert sorted(r["id"] for r in saved) == list(range(1, 9))
    assert {r["name"] for r in saved} == {f"r{i}" for i in range(8)}
    assert all(r["rows"] == [1, 2, 3] for r in saved)


def test_a_blank_name_gets_a_default_and_no_file_means_no_regions(tiny_analysis, tmp_path):
    assert load_user_regions(tmp_path) == []
    entry = save_user_region(tmp_path, describe_selection(tiny_analysis, [4, 5]), "  ")
    assert entry["name"] == "selection of 2 rows"
    assert json.loads((tmp_path / "user_regions.json").read_text())["version"] == 1


def test_a_damaged_file_is_reported(tmp_path):
    (tmp_path / "user_regions.json").write_text("{not json")
    with pytest.raises(WorkspaceError, match="damaged"):
        load_user_regions(tmp_path)


def test_a_box_or_lasso_selects_every_row_inside_it_drawn_or_not():
    """The shapes, not plotly's visible points, define a selection: rows thinned from the
    drawing or in a hidden legend class are inside too."""
    rng = np.random.default_rng(0)
    coords = rng.uniform(-1, 1, size=(5_000, 2))
    box = rows_in_shapes(coords, boxes=[{"x": [0.5, -0.5], "y": [-0.2, 0.3]}])
    expected = np.flatnonzero((np.abs(coords[:, 0]) <= 0.5) & (coords[:, 1] >= -0.2)
                              & (coords[:, 1] <= 0.3))
    assert np.array_equal(box, expected)
    triangle = {"x": [0, 1, 0], "y": [0, 0, 1]}  # the lower-left corner of the unit square
    lasso = rows_in_shapes(coords, lassos=[triangle])
    inside = (coords[:, 0] > 0) & (coords[:, 1] > 0) & (coords.sum(axis=1) < 1)
    assert np.array_equal(lasso, np.flatnonzero(inside))
    both = rows_in_shapes(coords, boxes=[{"x": [0.5, -0.5], "y": [-0.2, 0.3]}],
                          lassos=[triangle])
    assert np.array_equal(both, np.union1d(box, lasso))


def test_a_pick_replaces_adds_to_or_subtracts_from_the_selection():
    assert combine([1, 2, 3], [3, 4], "replace").tolist() == [3, 4]
    assert combine([1, 2, 3], [3, 4], "add").tolist() == [1, 2, 3, 4]
    assert combine([1, 2, 3], [3, 4], "subtract").tolist() == [1, 2]
    with pytest.raises(ParameterError, match="mode"):
        combine([1], [2], "xor")


def test_map_compactness_tells_a_place_from_scattered_rows(tiny_analysis):
    rng = np.random.default_rng(0)
    coords = np.vstack([rng.normal(0, 0.1, (60, 2)), rng.normal(5, 1, (540, 2))])
    region = replace(tiny_analysis.regions[0], rows=np.arange(60), size=60)
    scattered = replace(region, rows=rng.choice(600, 60, replace=False))
    assert map_compactness(region, coords, seed=0) > 0.9
    assert map_compactness(scattered, coords, seed=0) < 0.3
