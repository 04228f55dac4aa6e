"""The output files honour the contract of DESIGN.md section 3, and the figures draw."""

from __future__ import annotations

import csv
import html
import json
import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer import charts
from explorer.errors import ExplorerError, ParameterError
from explorer.diagnose import advice_title
from explorer.export import (output_names, read_collection_csv, regions_to_dict, render_report,
                             save_analysis, write_collection_csv)

from conftest import HOSTILE, make_tiny_analysis

CONTRACT = {"id": int, "size": int, "error_rate": float, "baseline_error_rate": float,
            "lift": float, "p_value": float, "description": str, "rule": (str, type(None)),
            "diagnosis": (str, type(None)), "suggested_rows": (int, type(None)), "rows": list}


def check_regions_json(document: dict, n_rows: int) -> None:
    assert document["version"] == 1
    assert document["rows_total"] == n_rows
    assert isinstance(document["baseline_error_rate"], float)
    for region in document["regions"]:
        for name, kind in CONTRACT.items():
            assert isinstance(region[name], kind), (name, region[name])
        assert len(region["rows"]) == region["size"]
        assert all(isinstance(r, int) and 0 <= r < n_rows for r in region["rows"])
        assert region["diagnosis"] in (None, "collect", "relabel", "add_information",
                                      "check_model")


def test_save_writes_contract_files(tmp_path, tiny_analysis):
    out = save_analysis(tiny_analysis, tmp_path / "new" / "out")
    assert sorted(p.name for p in out.iterdir()) == ["points.csv", "regions.json",
                                                      "report.html"]
    text = (out / "regions.json").read_text()
    assert '"rows": [0, 1, 2,' in text  # row lists stay on one line
    document = json.loads(text)
    check_regions_json(document, n_rows=120)
    assert [r["id"] for r in document["regions"]] == [0, 1]
    assert document["regions"][0]["heldout_interval"] == [0.4, 0.7]
    points = pd.read_csv(out / "points.csv")
    assert list(points.columns) == ["row", "x", "y", "error", "region", "source_row"]
    assert len(points) == 120 and points["row"].tolist() == list(range(120))
    assert (points["region"].iloc[:30] == 0).all() and points["region"].iloc[35] == -1


def test_compacting_row_lists_leaves_strings_alone(tmp_path, tiny_analysis):
    tiny_analysis.regions[1] = replace(tiny_analysis.regions[1], description="x1 in [1,\n2]")
    document = json.loads((save_analysis(tiny_analysis, tmp_path) / "regions.json").read_text())
    assert document["regions"][1]["description"] == "x1 in [1,\n2]"


def test_regions_json_is_strict(tiny_analysis):
    tiny_analysis.regions[0] = replace(tiny_analysis.regions[0], lift=float("inf"),
                                       p_value=np.float64("nan"), size=np.int64(30))
    document = regions_to_dict(tiny_analysis)
    json.dumps(document, allow_nan=False)
    assert document["regions"][0]["lift"] is None and document["regions"][0]["p_value"] is None
    assert type(document["regions"][0]["size"]) is int


def test_collection_list_written_only_with_a_pool(tmp_path, tiny_analysis):
    tiny_analysis.collection_list = pd.DataFrame({"row": [3, 1], "region": [0, 0],
                                                  "priority": [1.0, 0.5],
                                                  "source": ["error region"] * 2,
                                                  "reason": ["=cmd|' /C calc'!A0", "ok"],
                                                  "region_name": ["R0", "R0"],
                                                  "region_rule": ["x1 > 1", "x1 > 1"],
                                                  "label": [None, None]})
    out = save_analysis(tiny_analysis, tmp_path)
    assert {p.name for p in out.iterdir()} >= set(output_names(tiny_analysis))
    assert "R0: `x1 > 1` - 2 rows (error region)" in (out / "instructions.md").read_text(encoding="utf-8")
    tasks = json.loads((out / "label_studio_tasks.json").read_text(encoding="utf-8"))
    assert [t["data"]["row"] for t in tasks] == [3, 1]
    raw = (out / "collection_list.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to see UTF-8
    assert b",'=cmd" in raw
    back = read_collection_csv(out / "collection_list.csv")
    assert back["reason"].tolist() == ["=cmd|' /C calc'!A0", "ok"]
    assert back["row"].tolist() == [3, 1] and back["label"].isna().all()


def test_stale_collection_list_is_removed(tmp_path, tiny_analysis):
    (tmp_path / "collection_list.csv").write_text("row\n1\n")
    (tmp_path / "label_studio_tasks.json").write_text("[]")
    save_analysis(tiny_analysis, tmp_path)
    assert not (tmp_path / "collection_list.csv").exists()
    assert not (tmp_path / "label_studio_tasks.json").exists()
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_unwritable_out_dir_is_a_user_error(tmp_path, tiny_analysis):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExplorerError, match="Could not write the results"):
        save_analysis(tiny_analysis, blocker)


def test_numbers_stay_numbers_and_text_is_escaped(tmp_path):
    frame = pd.DataFrame({"n": [-3, 4], "f": [-1.5, np.nan], "t": ["-3", "'quoted"],
                          "u": ["", None]})
    path = write_collection_csv(frame, tmp_path / "list.csv")
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1] == "-3,-1.5,'-3,'"  # the empty text is "'", the missing one empty
    assert lines[2] == "4,,''quoted,"
    back = read_collection_csv(path)
    assert back["n"].tolist() == [-3, 4]
    assert back["f"].iloc[0] == -1.5 and math.isnan(back["f"].iloc[1])
    assert back["t"].tolist() == ["-3", "'quoted"]
    assert back["u"].iloc[0] == "" and pd.isna(back["u"].iloc[1])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=8),
       st.text(min_size=1).filter(lambda name: name.strip() and name != "row"))
def test_any_text_round_trips_header_included(tmp_path_factory, texts, header):
    path = tmp_path_factory.mktemp("csv") / "list.csv"
    frame = pd.DataFrame({"row": range(len(texts)), header: pd.Series(texts, dtype=object)})
    write_collection_csv(frame, path)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        lines = list(csv.reader(stream))
    cells = [line[1] for line in lines]  # the header cell first
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    back = read_collection_csv(path, text_columns=(header,))
    assert list(back.columns) == ["row", header]
    assert back[header].tolist() == texts
    assert back["row"].tolist() == list(range(len(texts)))


def test_report_is_self_contained_and_escaped(tmp_path, tiny_analysis):
    page = (save_analysis(tiny_analysis, tmp_path) / "report.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert "How to read this" in page and "x1 is high" in page
    assert HOSTILE not in page
    assert html.escape(HOSTILE) in page  # in the description, the rule and the group table
    assert "Collect about 120 more rows like these" in page
    assert "No simple rule fits" in page  # region 1 has no rule
    assert "Column &#x27;id&#x27; left out" in page


def test_report_names_the_data_its_settings_the_loop_and_its_thinned_map(tmp_path):
    analysis = make_tiny_analysis(n_rows=12_000)
    paired = {"change": -0.1, "interval": [-0.15, -0.05], "p_value": 0.001}
    rate = {"rows": 30, "error_rate": 0.5, "interval": [0.3, 0.7]}
    iterations = [{"iteration": 0, "labels": 0, "comparison": None},
                  {"iteration": 1, "labels": 100, "comparison": {
                      "against_iteration": 0, "groups": {},
                      "overall": {"before": rate, "after": rate, "paired": paired},
                      "regions": [{"id": 3, "rule": "x1 > 2", "before": rate,
                                   "after": {**rate, "error_rate": 0.4}, "paired": paired}]}}]
    page = render_report(analysis, title="churn.csv", iterations=iterations)
    assert "Where the model fails on churn.csv" in page and "Seed" in page
    assert "Features" in page and "Pool" in page
    assert "The map shows 10,000 of 12,000 rows" in page
    assert "Iteration 1 against iteration 0" in page and "R3: x1 &gt; 2" in page
    assert "-10.0 pts (-15.0 to -5.0)" in page and "40.0%" in page


def test_report_says_which_rows_tested_each_region(tiny_analysis):
    """A cluster, which no error chose, is tested on all its rows; others on held-out rows."""
    cluster = replace(tiny_analysis.regions[0], found_by="clusters", heldout_size=40)
    ball = replace(tiny_analysis.regions[1], found_by="neighbourhoods", heldout_size=17)
    page = render_report(replace(tiny_analysis, regions=[cluster, ball]))
    assert "Tested error" in page and "on all 40 of its rows (a cluster" in page
    assert "on 17 held-out rows" in page


def test_advice_headings_follow_the_evidence():
    assert advice_title("collect", 1843) == "Collect about 1,843 more rows like these"
    assert advice_title("collect", None).startswith("Unclear: label a first batch of 100")
    assert advice_title("relabel", None) == "Review the labels of these rows"
    assert advice_title(None, None) == "Not diagnosed"


def test_report_without_regions_says_so(tmp_path, empty_analysis):
    page = (save_analysis(empty_analysis, tmp_path) / "report.html").read_text()
    assert "No region passed the test" in page
    assert json.loads((tmp_path / "regions.json").read_text())["regions"] == []


@pytest.mark.parametrize("color_by", ["error", "region", "confidence", "column:x1",
                                      "column:city"])
def test_map_figure_colours_and_carries_rows(tiny_analysis, color_by):
    fig = charts.map_figure(tiny_analysis, color_by)
    markers = [t for t in fig.data if t.type == "scattergl"]
    rows = np.concatenate([np.asarray(t.customdata)[:, 0].astype(int) for t in markers])
    assert sorted(rows) == list(range(120))
    assert [a.text for a in fig.layout.annotations] == ["<b>R0</b>", "<b>R1</b>"]


@pytest.mark.parametrize("color_by", ["error", "column:x1"])
def test_a_region_shown_alone_is_the_only_coloured_place(tiny_analysis, color_by):
    fig = charts.map_figure(tiny_analysis, color_by, selected_region=0)
    faded = [t for t in fig.data if t.name == "other rows"]
    coloured = [t for t in fig.data if t.type == "scattergl" and t.name != "other rows"]
    assert set(np.asarray(faded[0].customdata)[:, 0]) == set(range(30, 120))
    assert set(np.concatenate([np.asarray(t.customdata)[:, 0] for t in coloured])) \
        == set(range(30))
    assert [a.text for a in fig.layout.annotations] == ["<b>R0</b>"]
    assert any(t.name == "region 0 outline" for t in fig.data)
    assert "R0 alone" in fig.layout.title.text


def test_a_data_column_named_region_is_a_colouring_of_its_own(tiny_analysis):
    analysis = replace(
        tiny_analysis, data=tiny_analysis.data.assign(region=["east", "west"] * 60))
    options = charts.color_options(analysis)
    assert "region" in options and "column:region" in options
    fig = charts.map_figure(analysis, "column:region")
    assert {t.name for t in fig.data if t.type == "scattergl"} == {"east", "west"}


def test_a_100k_row_map_stays_under_2_mb():
    """Issue 11: the figure the app sends at 100,000 rows (the app draws 40,000 of them)."""
    analysis = make_tiny_analysis(n_rows=100_000)
    for color_by in ("error", "column:x1", "column:city"):
        figure = charts.map_figure(analysis, color_by, max_points=40_000,
                                   highlight=np.arange(0, 100_000, 7))
        assert len(pio.to_json(figure)) < 2_000_000


def test_map_figure_thins_but_keeps_regions_and_errors():
    analysis = make_tiny_analysis(n_rows=2_000)
    fig = charts.map_figure(analysis, "error", max_points=300)
    assert "showing 300 of 2,000 points" in fig.layout.title.text
    drawn = np.concatenate([np.asarray(t.customdata)[:, 0].astype(int) for t in fig.data
                            if t.type == "scattergl"])
    important = set(np.flatnonzero(analysis.predictions.is_error)) | set(range(30)) \
        | set(range(50, 70))
    assert len(drawn) == 300 and set(drawn) <= set(range(2_000))
    assert len(set(drawn) & important) == min(300, len(important))


def test_map_figure_rejects_unknown_colouring(tiny_analysis):
    with pytest.raises(ParameterError, match="color_by"):
        charts.map_figure(tiny_analysis, "nope")


def test_region_and_group_figures(tiny_analysis, empty_analysis):
    fig = charts.region_error_figure(tiny_analysis)
    assert list(fig.data[0].x) == ["R0", "R1"]
    assert np.allclose(fig.data[0].error_y.array, [0.15, 0.15])
    assert charts.region_error_figure(empty_analysis).layout.annotations[0].text \
        .startswith("No region")
    shares = charts.group_share_figure(tiny_analysis.regions[0])
    assert [list(t.x) for t in shares.data] == [[0.8], [0.3]]


def test_region_labels_sit_on_a_member_and_never_cover_each_other(tiny_analysis):
    # two regions on the same rows, which lie on two islands far apart: each label sits on
    # one of the rows, not in the empty middle, and the second moves aside on an arrow
    coords = np.asarray(tiny_analysis.map.coords, dtype=float).copy()
    coords[:15] += [100.0, 0.0]
    twin = replace(tiny_analysis.regions[0], id=5)
    analysis = replace(tiny_analysis, map=replace(tiny_analysis.map, coords=coords),
                       regions=[tiny_analysis.regions[0], twin])
    first, second = charts.map_figure(analysis).layout.annotations
    members = coords[np.asarray(twin.rows, dtype=int)]
    for label in (first, second):
        assert np.isclose(members, [label.x, label.y]).all(axis=1).any()
    assert not first.showarrow and second.showarrow
    assert (second.ax, second.ay) != (0, 0)
