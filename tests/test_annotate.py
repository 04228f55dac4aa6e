"""The collection list read as an annotator's tools read it: a spreadsheet opening the CSV,
Label Studio importing the tasks, and Label Studio's export coming back through ingest."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from explorer import cli
from explorer.annotate import (NO_DEFINITION, instructions_sheet, label_studio_config,
                               read_label_guide, read_label_studio_export)
from explorer.data import infer_schema
from explorer.datasets import make_coverage_gap
from explorer.errors import DataError
from explorer.suggest import select_rows
from explorer.workspace import Workspace

GUIDE = {"1": "the customer renewed the contract"}


@pytest.fixture(scope="module")
def suggested(tmp_path_factory):
    """A workspace whose pool has a feature called ``region`` (a name the list uses itself)
    and values with three decimals, after one suggestion with a label guide."""
    dataset, pool = make_coverage_gap(500, seed=0, pool_rows=300, minority_share=0.05)

    def as_measured(frame):
        return frame.rename(columns={"segment": "region"}).round({"x1": 3, "x2": 3, "x3": 3})

    ws = Workspace.create(tmp_path_factory.mktemp("annotate") / "ws",
                          as_measured(dataset.frame), target="label",
                          pool=as_measured(pool), hidden_label="label", seed=0)
    listing = ws.suggest(30, label_guide=GUIDE)
    return ws, listing, ws.latest_list().parent


def test_a_pool_column_named_like_the_lists_own_is_kept_not_refused(suggested):
    ws, listing, _ = suggested
    assert "pool:region" in listing.columns and listing["region"].dtype.kind == "i"
    rows = listing["row"].to_numpy()
    assert listing["pool:region"].tolist() == ws.pool["region"].iloc[rows].tolist()


def test_the_csv_reads_in_a_spreadsheet_with_names_rules_and_short_reasons(suggested):
    ws, listing, folder = suggested
    raw = (folder / "collection_list.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    with open(folder / "collection_list.csv", newline="", encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0])[:7] == ["row", "region", "priority", "source", "reason",
                                  "region_name", "region_rule"]
    assert list(lines[0])[-1] == "label"
    for line in lines:
        assert len(line["reason"]) <= 110
        assert line["source"] in ("error region", "coverage gap", "model unsure")
        if line["region"] != "-1":
            assert line["region_name"].startswith(f"R{line['region']}")
            assert line["region_name"].split(" ")[0] in line["reason"]
            assert line["region_rule"]
        # values as the pool holds them: three decimals, no float noise
        for column in ("x1", "x2", "x3"):
            assert len(line[column].split(".")[-1]) <= 3, line[column]


def test_instructions_give_the_label_set_with_the_owners_definitions(suggested):
    _, listing, folder = suggested
    sheet = (folder / "instructions.md").read_text(encoding="utf-8")
    assert "| `1` | the customer renewed the contract |" in sheet
    assert f"| `0` | {NO_DEFINITION} |" in sheet  # the slot, visible
    assert "unsure" in sheet.lower()
    for name in set(listing["region_name"]) - {"none"}:
        assert name in sheet


def test_label_studio_tasks_and_their_export_come_back_through_ingest(suggested, tmp_path):
    ws, listing, folder = suggested
    tasks = json.loads((folder / "label_studio_tasks.json").read_text(encoding="utf-8"))
    config = (folder / "label_studio_config.xml").read_text(encoding="utf-8")
    assert len(tasks) == len(listing)
    assert '<Choice value="1" hint="the customer renewed the contract"/>' in config
    assert tasks[0]["data"]["features"]["region"] == listing["pool:region"].iloc[0]
    truth = ws.pool["label"]
    export = []
    for index, task in enumerate(tasks):  # what Label Studio exports once people labelled
        row = task["data"]["row"]
        choice = str(truth.iloc[row])
        annotations = [{"was_cancelled": False, "result": [
            {"from_name": "label", "to_name": "features", "type": "choices",
             "value": {"choices": [choice]}}]}]
        if index == 0:  # a second annotator disagrees: neither line may be recorded
            annotations.append({"was_cancelled": False, "result": [
                {"from_name": "label", "to_name": "features", "type": "choices",
                 "value": {"choices": ["1" if choice == "0" else "0"]}}]})
        if index == 1:  # nobody labelled it: skipped
            annotations = [{"was_cancelled": True, "result": []}]
        export.append({"id": index + 1, "data": task["data"], "annotations": annotations})
    path = tmp_path / "project-1-export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    report = ws.ingest(path)
    assert len(report.accepted) == len(tasks) - 2 and report.skipped == 1
    assert report.rejected["row"].tolist() == [tasks[0]["data"]["row"]] * 2
    assert ws.ingest(path).accepted.empty  # idempotent, as for the CSV


def test_the_minimal_label_studio_export_is_read_too(tmp_path):
    path = tmp_path / "min.json"
    path.write_text(json.dumps([{"row": 4, "reason": "x", "label": "spam"},
                                {"row": 7, "reason": "y"}]), encoding="utf-8")
    frame = read_label_studio_export(path)
    assert frame["row"].tolist() == [4, 7] and frame["label"].iloc[0] == "spam"
    assert pd.isna(frame["label"].iloc[1])


def test_a_label_guide_file_is_read_and_its_typos_named(tmp_path):
    frame = pd.DataFrame({"x": [0.5, 1.5] * 30, "label": ["spam", "ham"] * 30})
    schema = infer_schema(frame, target="label")
    path = tmp_path / "guide.txt"
    path.write_text("# what the labels mean\nspam: unsolicited advertising\n\nham: the rest\n",
                    encoding="utf-8")
    assert read_label_guide(path, schema) == {"spam": "unsolicited advertising",
                                              "ham": "the rest"}
    path.write_text("spma: unsolicited\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\['spma'\].*\['ham', 'spam'\]"):
        read_label_guide(path, schema)
    listing = select_rows("random", 3, frame[["x"]], seed=0)
    sheet = instructions_sheet(schema, listing, {"spam": "unsolicited"})
    assert "| `spam` | unsolicited |" in sheet and "3 rows" in sheet
    assert "hint" not in label_studio_config(schema)  # no definition, no empty hint


def test_the_cli_takes_a_label_guide(suggested, tmp_path):
    ws, *_ = suggested
    guide = tmp_path / "guide.txt"
    guide.write_text("0: the customer left\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["suggest", str(ws.path), "--budget", "5", "--label-guide", str(guide)],
                    stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    sheet = (ws.latest_list().parent / "instructions.md").read_text(encoding="utf-8")
    assert "| `0` | the customer left |" in sheet and "label_studio_tasks.json" in out.getvalue()

