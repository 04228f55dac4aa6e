"""AppTest tests of every page, on a 600-row planted table so they stay fast.

The workspace folder is a temporary one whose saved settings point at the planted table, so
the app opens on it (a real user's first visit opens the built-in ``planted`` dataset); the
analysis is computed once and shared by every test through the app's server-wide cache.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import explorer.app
from explorer.app import state

HOME = str(Path(explorer.app.__file__).parent / "Home.py")
TIMEOUT = 300  # the first run analyses the table; later runs hit the cache


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, planted_data):
    """A workspace folder whose last settings are the planted table with its predictions."""
    folder = tmp_path_factory.mktemp("app-workspace")
    patch = pytest.MonkeyPatch()
    patch.setenv("EXPLORER_WORKSPACE_DIR", str(folder))
    stored = state.store_upload("planted.csv",
                                planted_data.frame.to_csv(index=False).encode())
    settings = state.Settings(source=f"upload:{stored}", title="planted.csv", target="label",
                              prediction="prediction")
    (folder / "last_settings.json").write_text(json.dumps(
        {**settings.__dict__, "groups": [], "features": None}))
    yield folder
    patch.undo()


def open_page(page: str | None = None, **session) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    for key, value in session.items():
        at.session_state[key] = value
    if page:
        at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_data_page_opens_on_the_saved_table_and_summarises_it(workspace, planted_analysis):
    at = open_page()
    assert at.title[0].value == "Data", [e.value for e in at.error]
    assert at.metric, ([e.value for e in at.error], [m.value for m in at.markdown][:5],
                       [i.value for i in at.info])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "600"
    assert metrics["Regions found"] == str(len(planted_analysis.regions))
    assert not at.error


def test_a_bad_upload_shows_the_error_not_a_traceback(workspace):
    at = open_page()
    at.radio(key="source_kind").set_value("Upload a file").run()
    at.file_uploader(key="upload").upload("broken.csv", b'a,b\n1,"2\n', "text/csv").run()
    assert not at.exception
    assert state.escape_markdown("Could not read the data file 'broken.csv'") in \
        at.error[0].value


def test_a_large_upload_is_parsed_with_a_progress_bar(workspace, monkeypatch):
    """Parsing draws a bar; every upload counts as large here so a small file shows it."""
    shares: list[float] = []
    read_table = state.read_table

    def read_and_record(path, *, what, notes=None, progress=None):
        assert progress is not None, "a large upload must be read with a progress callback"
        return read_table(path, what=what, notes=notes, progress=lambda share: (
            shares.append(share), progress(share)))

    monkeypatch.setattr(state, "LARGE_UPLOAD_BYTES", 0)
    at = open_page()
    monkeypatch.setattr(state, "read_table", read_and_record)
    table = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5] * 75,
                          "label": ["a", "b", "c"] * 100}).to_csv(index=False)
    at = upload(at, "big.csv", table.encode())
    assert not at.error, [e.value for e in at.error]
    assert shares and shares[-1] == 1.0
    assert not at.get("progress"), "the bar is removed once the table is read"


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.radio(key="source_kind").set_value("Upload a file").run()
    at.file_uploader(key="upload").upload(name, content, "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_unusable_table_explains_itself_before_analyse(workspace):
    one_class = pd.DataFrame({"x": range(60), "label": ["spam"] * 60}).to_csv(index=False)
    at = upload(open_page(), "one.csv", one_class.encode())
    assert any("cannot be analysed" in e.value and "class" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert at.button[0].disabled  # the form's "Analyse": nothing to run
    assert any("Press **Analyse** to analyse one" in i.value for i in at.info)


def test_a_semicolon_decimal_comma_latin1_file_loads_as_its_author_meant(workspace):
    text = "age;income;city;label\n" + "".join(
        f"{20 + i % 40};{1000 + i},5;Zürich;{'yes' if i % 3 else 'no'}\n" for i in range(60))
    at = upload(open_page(), "europe.csv", text.encode("latin-1"))
    assert not at.error, [e.value for e in at.error]
    assert next(b for b in at.selectbox if b.label.startswith("Target")).value == "label"
    assert len(at.dataframe[0].value.columns) == 4
    read = " ".join(c.value for c in at.caption if c.value.startswith("Read as"))
    assert "comma" in read, read


def test_a_guessed_target_says_why_and_asks_about_many_values(workspace):
    frame = pd.DataFrame({"x": [0.5, 1.5] * 40, "visits": [i % 15 for i in range(80)]})
    at = upload(open_page(), "visits.csv", frame.to_csv(index=False).encode())
    assert any("Target guessed: **visits**" in i.value and "last column" in i.value
               for i in at.info), [i.value for i in at.info]
    question = state.escape_markdown("'visits' has 15 different values: is it your label?")
    assert any(question in w.value for w in at.warning), [w.value for w in at.warning]


def test_the_label_chosen_as_prediction_is_refused_before_analyse(workspace):
    at = open_page()
    next(b for b in at.selectbox if b.label == "Model predictions").set_value("label").run()
    assert any("equals the target" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button[0].disabled


def test_regions_page_lists_the_planted_region_rule(workspace, planted_analysis):
    at = open_page("regions")
    top = planted_analysis.regions[0]
    assert top.rule, "the planted rule region should have a rule"
    shown = at.dataframe[0].value
    assert shown["region"].tolist() == [f"R{r.id}" for r in planted_analysis.regions]
    assert top.rule in shown["rule"].tolist()
    assert any(state.escape_markdown(top.rule) in m.value for m in at.markdown)
    said = next(m.value for m in at.markdown if "tested on the other half" in m.value)
    clusters = [f"R{r.id}" for r in planted_analysis.regions if r.found_by == "clusters"]
    assert ("cluster" in said) == bool(clusters) and all(c in said for c in clusters)


def test_the_regions_page_names_the_clusters_tested_on_all_their_rows(planted_analysis):
    """A cluster, which no error chose, is tested on all its rows; the page says which
    regions those are, and says nothing of clusters when none is shown."""
    first, second, third = (replace(planted_analysis.regions[0], id=i, found_by=finder)
                            for i, finder in ((1, "rules"), (2, "clusters"), (3, "clusters")))
    assert "cluster" not in state.tested_on([first])
    assert state.tested_on([first, second]).endswith(
        "except R2, a cluster of where rows lie: found without reading any error, it was "
        "tested on all its rows")
    assert "except R2, R3, clusters" in state.tested_on([first, second, third])
    assert state.tested_on([second]).startswith("It is a cluster of where rows lie")
    assert state.tested_on([second, third]).startswith("They are clusters")


def test_map_selection_is_described_and_can_be_saved(workspace, planted_analysis):
    region = planted_analysis.regions[0]
    rows = [int(r) for r in region.rows]
    selection = {"selection": {"points": [{"customdata": [r, "x"], "point_index": i}
                                          for i, r in enumerate(rows)],
                               "point_indices": list(range(len(rows))), "box": [],
                               "lasso": []}}
    at = open_page("map", map_selection=selection)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows selected"] == str(len(rows))
    assert metrics["Error rate"] == f"{region.error_rate:.1%}"
    assert float(metrics["p-value (vs the other rows)"]) < 0.05
    assert any(m.value.startswith(f"**{len(rows)} rows") for m in at.markdown)
    at.text_input[0].input("planted by hand")
    next(b for b in at.button if b.label == "Save as a region").click().run()
    assert "Saved as U1 'planted by hand'" in at.success[0].value
    saved = open_page("regions").dataframe[-1].value
    assert saved["name"].tolist() == ["planted by hand"]
    reopened = open_page("map", map_rows=[])  # nothing selected: the saved ones are listed
    next(b for b in reopened.button if b.label == "Open it on the map").click().run()
    assert {m.label: m.value for m in reopened.metric}["Rows selected"] == str(len(rows))
    labels = [b.proto.label for b in reopened.get("download_button")]
    assert "Download U1's rows (CSV)" in labels


def test_a_clicked_point_is_selected_whatever_shape_its_customdata_comes_in(workspace):
    """The browser sends a point's customdata as a list, or as {'0': row} for the compact
    binary arrays of the figure (seen in Chromium); both select that row."""
    for customdata in ([7], {"0": 7}):
        at = open_page("map")
        at.session_state["map_selection"] = {"selection": {
            "points": [{"point_index": 0, "customdata": customdata}], "box": [], "lasso": []}}
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.session_state["map_rows"] == [7]
        assert any(h.value == "Your selection: 1 row" for h in at.subheader)


def test_map_without_a_selection_invites_one(workspace):
    at = open_page("map")
    assert at.selectbox(key="map_color").value == "error"
    assert "column: region" in at.selectbox(key="map_color").options  # the data's own column
    assert any("Nothing selected yet" in i.value for i in at.info)


def test_one_region_is_shown_alone_with_why_it_may_be_spread(workspace, planted_analysis):
    region = planted_analysis.regions[0]
    at = open_page("map")
    at.selectbox(key="map_focus").set_value(region.id).run()
    assert not at.exception, [e.value for e in at.exception]
    line = next(m.value for m in at.markdown if m.value.startswith(f"**R{region.id}**"))
    assert "input* space" in line and "nearest neighbours are members" in line


def box_around(analysis, rows) -> dict:
    coords = analysis.map.coords[rows]
    return {"selection": {"points": [], "point_indices": [], "lasso": [], "box": [
        {"x": [float(coords[:, 0].min()), float(coords[:, 0].max())],
         "y": [float(coords[:, 1].min()), float(coords[:, 1].max())]}]}}


def test_a_selection_survives_colour_and_page_changes_and_combines(workspace,
                                                                   planted_analysis):
    from explorer.selection import rows_in_shapes

    coords = planted_analysis.map.coords
    first = box_around(planted_analysis, [0, 1])
    inside = rows_in_shapes(coords, first["selection"]["box"])
    at = open_page("map", map_selection=first)
    assert {m.label: m.value for m in at.metric}["Rows selected"] == f"{len(inside):,}"
    at.selectbox(key="map_color").set_value("column:region").run()  # a new figure
    assert {m.label: m.value for m in at.metric}["Rows selected"] == f"{len(inside):,}"
    at.switch_page("views/regions.py").run()
    at.switch_page("views/map.py").run()
    assert at.selectbox(key="map_color").value == "column:region"
    assert {m.label: m.value for m in at.metric}["Rows selected"] == f"{len(inside):,}"
    downloads = [b.proto.label for b in at.get("download_button")]
    assert f"Download these {len(inside):,} rows (CSV)" in downloads
    second = box_around(planted_analysis, [2, 3])
    more = rows_in_shapes(coords, second["selection"]["box"])
    # mode and pick in one run: AppTest restores a chart's first selection on the next run
    at.radio(key="map_mode").set_value("add")
    at.session_state["map_selection"] = second
    at.run()
    union = len(set(inside) | set(more))
    assert {m.label: m.value for m in at.metric}["Rows selected"] == f"{union:,}"
    third = box_around(planted_analysis, [2])
    fewer = rows_in_shapes(coords, third["selection"]["box"])
    at.radio(key="map_mode").set_value("subtract")
    at.session_state["map_selection"] = third
    at.run()
    left = len((set(inside) | set(more)) - set(fewer))
    assert at.session_state["map_rows"] == sorted((set(inside) | set(more)) - set(fewer))
    assert {m.label: m.value for m in at.metric}["Rows selected"] == f"{left:,}"


def test_collect_page_shows_advice_or_a_specification(workspace, planted_analysis):
    at = open_page("collect")
    table = at.dataframe[0].value
    assert table["region"].tolist() == [f"R{r.id}" for r in planted_analysis.regions]
    why = [e for e in at.expander if e.label.startswith("Why R")]
    assert len(why) == len(planted_analysis.regions)
    assert why[0].markdown[0].value == state.escape_markdown(
        planted_analysis.regions[0].evidence)
    assert any("Specification" in m.value for m in at.markdown)  # no pool was given


def test_region_download_holds_the_region_rows(workspace, planted_analysis):
    region = planted_analysis.regions[0]
    data = state.rows_csv(planted_analysis, region.rows)
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert frame["row"].tolist() == [int(r) for r in region.rows]
    expected = planted_analysis.data.iloc[region.rows]
    assert frame["label"].tolist() == expected["label"].tolist()


def test_loop_without_a_pool_says_what_it_needs(workspace):
    loop = open_page("loop")
    assert loop.title[0].value == "Loop"
    assert any("needs an unlabelled pool" in i.value for i in loop.info)


@pytest.fixture(scope="module")
def gap_settings(workspace):
    """A small under-covered table with a pool whose true labels are hidden in ``label``."""
    from explorer.datasets import make_coverage_gap

    data, pool = make_coverage_gap(800, pool_rows=800, minority_share=0.05, seed=0)
    stored = state.store_upload("gap.csv", data.frame.to_csv(index=False).encode())
    return state.Settings(source=f"upload:{stored}", title="gap.csv", target="label",
                          pool=state.store_upload("gap_pool.csv",
                                                  pool.to_csv(index=False).encode()))


def test_regions_page_lists_a_coverage_gap_apart_from_the_error_regions(workspace,
                                                                       gap_settings):
    at = open_page("regions", settings=gap_settings)
    assert any(h.value == "Coverage gaps" for h in at.subheader), [h.value for h in at.subheader]
    gaps = next(d.value for d in at.dataframe if "share of new data" in d.value.columns)
    assert gaps["rule"].tolist() == ["segment = rare"]
    assert gaps["share of new data"].iloc[0] > 5 * gaps["share of training"].iloc[0]
    assert any("coverage gap" in e.label for e in at.expander)


def test_collect_budget_sizes_the_collection_list(workspace, gap_settings):
    at = open_page("collect", settings=gap_settings)
    assert at.number_input(key="collect_budget").value == 100
    at.number_input(key="collect_budget").set_value(40).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe[1].value) == 40
    assert any("Collection list: 40 pool rows" in h.value for h in at.subheader)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download as Label Studio tasks (JSON)" in labels
    at.text_area(key="label_guide_text").input("0: stayed\n1: left the service").run()
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["label_guide"] == {"0": "stayed", "1": "left the service"}


def test_loop_suggests_simulates_retrains_and_compares(workspace, gap_settings):
    at = open_page("loop", settings=gap_settings)
    assert any("No comparison yet" in i.value for i in at.info)
    at.number_input(key="loop_budget").set_value(60)
    next(b for b in at.button if b.label == "Suggest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Latest collection list" in m.value and "60 rows" in m.value
               for m in at.markdown)
    next(b for b in at.button if b.label.startswith("Simulate the annotator")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert state.escape_markdown("60 labels accepted") in at.success[0].value
    counters = {m.label: m.value for m in at.metric}  # drawn after the step, not before
    assert counters["Labels recorded"] == "60" and counters["Retrains"] == "1"
    ws = state.workspace(gap_settings)
    comparison = ws.iterations[-1]["comparison"]
    shown = at.dataframe[-2].value  # frozen regions and overall, before and after
    assert shown[""].tolist()[0] == "overall"
    assert len(shown) == 1 + len(comparison["regions"])
    for scenario in ("before", "after"):  # "12.5% (8.1-18.7)": the rate, then its interval
        rates = [r[scenario]["error_rate"] for r in comparison["regions"]]
        assert [cell.split(" ")[0] for cell in shown[scenario]][1:] == [f"{r:.1%}"
                                                                        for r in rates]
    assert [cell.split(" pts")[0] for cell in shown["change, paired"]][1:] == [
        f"{100 * r['paired']['change']:+.1f}" for r in comparison["regions"]]
    assert [float(p) for p in shown["p (McNemar)"]][1:] == pytest.approx(
        [r["paired"]["p_value"] for r in comparison["regions"]], rel=0.05)
    assert "after, random control" in shown.columns
    assert next(b for b in at.button if b.label == "Retrain on the grown data").disabled
    reopened = open_page("loop", settings=gap_settings)  # a reload: same project on disk
    assert {m.label: m.value for m in reopened.metric}["Labels recorded"] == "60"


def test_loop_rejects_an_unreadable_labelled_file(workspace, gap_settings):
    at = open_page("loop", settings=gap_settings)
    at.file_uploader(key="labelled").upload("labels.csv", b"row,region\n1,2\n", "text/csv")
    next(b for b in at.button if b.label == "Ingest the labels").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(state.escape_markdown("lacks the column(s) ['label']") in e.value
               for e in at.error)


def test_report_page(workspace):
    report = open_page("report")
    labels = [b.proto.label for b in report.get("download_button")]
    assert labels == ["Download the HTML report", "Download regions.json"]
    assert any("its map draws at most 10,000 points" in c.value for c in report.caption)


EVIL = "[x](http://evil.example) **b** <b>"


def test_escaped_markdown_is_literal_text():
    assert state.escape_markdown(EVIL + "\n# h") == (
        r"\[x\]\(http\:\/\/evil\.example\) \*\*b\*\* \<b\> \# h")


def test_text_from_the_users_file_is_shown_escaped(workspace, planted_data):
    """A category value and a column name that are Markdown reach the page as plain text."""
    frame = planted_data.frame.replace({"region": {"north": EVIL}}).rename(
        columns={"region": "home *region*", "customer_id": "*id*"})
    stored = state.store_upload("evil.csv", frame.to_csv(index=False).encode())
    settings = state.Settings(source=f"upload:{stored}", title="evil **file**.csv",
                              target="label", prediction="prediction")
    pages = {page: open_page(page, settings=settings) for page in ("data", "regions")}
    shown = [e.value for at in pages.values()
             for e in [*at.markdown, *at.caption, *at.warning, *at.error, *at.subheader]]
    assert not [text for text in shown if "](http" in text or "**b**" in text
                or "*region*" in text or "**file**" in text], shown
    assert any(state.escape_markdown("Column '*id*' left out") in text for text in shown)
    rules = [text for text in shown if text.startswith("Rule:")]
    assert any(state.escape_markdown(EVIL) in text and r"home \*region\*" in text
               for text in rules), rules


def test_a_misspelled_target_in_the_saved_settings_is_explained_not_raised(workspace):
    source = json.loads((workspace / "last_settings.json").read_text())["source"]
    seeded = state.Settings(source=source, title="planted.csv", target="nope",
                            prediction="prediction", groups=("sexx",))
    at = open_page(settings=seeded)
    errors = [e.value for e in at.error]
    assert any(state.escape_markdown("The saved choice of columns names 'nope'") in e and
               state.escape_markdown("'sexx' (did you mean 'sex'?), which the data") in e
               for e in errors), errors
    assert at.selectbox[0].value == "label"  # the form offers the table's own columns
    assert any(state.escape_markdown("The target column 'nope' is not in the data") in e
               for e in errors), errors


def test_a_failed_run_shows_its_cause_open_in_its_box(workspace):
    """The failed run's status box is expanded, with the cause and its fix, not a stalled bar."""
    source = json.loads((workspace / "last_settings.json").read_text())["source"]
    seeded = state.Settings(source=source, title="planted.csv", target="lable",
                            prediction="prediction")
    at = open_page("map", settings=seeded)
    box = next(s for s in at.status if s.label == "The analysis could not run")
    assert box.state == "error" and box.proto.expanded
    assert not box.get("progress")  # the bar is gone: only the cause is left
    assert box.error[0].value.startswith(state.escape_markdown(
        "The target column 'lable' is not in the data. Did you mean 'label'?"))
