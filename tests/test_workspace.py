"""The workspace loop: create, suggest, ingest (validated, idempotent, crash-safe), retrain."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from explorer import cli
from explorer.analysis import Analysis
from explorer.data import infer_schema
from explorer.datasets import make_coverage_gap
from explorer.embed import ModelSpace
from explorer.errors import IngestError, WorkspaceError
from explorer.frozen import still_weak
from explorer.rules import Condition, Rule
from explorer.stats import paired_comparison
from explorer.types import DataMap, Predictions
from explorer.workspace import Workspace, _frozen


@pytest.fixture(scope="module")
def gap():
    return make_coverage_gap(500, seed=0, pool_rows=300, minority_share=0.05)


@pytest.fixture
def workspace(tmp_path, gap):
    dataset, pool = gap
    return Workspace.create(tmp_path / "ws", dataset.frame, target="label", pool=pool,
                            hidden_label="label", seed=0)


@pytest.fixture(scope="module")
def looped(tmp_path_factory, gap):
    """One workspace taken through suggest -> simulate -> retrain -> suggest (shared: it costs
    maps); the second list is chosen with iteration 0's regions frozen."""
    dataset, pool = gap
    ws = Workspace.create(tmp_path_factory.mktemp("loop") / "ws", dataset.frame,
                          target="label", pool=pool, hidden_label="label", seed=0)
    listing = ws.suggest(40)
    report = ws.simulate_annotation()
    record = ws.retrain()
    second = ws.suggest(40)
    return ws, listing, report, record, second


def _labelled(ws: Workspace, rows, labels) -> pd.DataFrame:
    pool = ws.pool.drop(columns=["label"])
    return pool.iloc[list(rows)].reset_index(drop=True).assign(row=list(rows),
                                                               label=list(labels))


def test_suggest_writes_a_list_without_the_hidden_label(looped):
    ws, listing, *_ = looped
    assert len(listing) == 40 and listing["label"].isna().all()
    folder = ws.path / "iterations" / "0"
    assert (folder / "collection_list.csv").exists() and (folder / "instructions.md").exists()
    assert ws.iterations[0]["list"]["strategy"] == "targeted"


def test_simulated_annotator_reads_the_hidden_column(looped, gap):
    ws, listing, report, *_ = looped
    _, pool = gap
    assert len(report.accepted) == 40 and report.rejected.empty
    labels = ws.labels()
    truth = pool["label"].to_numpy()[labels["pool_row"].to_numpy(dtype=int)]
    assert (labels["label"].astype(int).to_numpy() == truth).all()


def test_retrain_compares_the_frozen_regions_of_the_previous_iteration(looped):
    ws, _, _, record, _ = looped
    assert record["iteration"] == 1 and record["rows"] == 540
    comparison = record["comparison"]
    previous = ws.iterations[0]
    assert [r["id"] for r in comparison["regions"]] == [r["id"] for r in previous["regions"]]
    for region, frozen in zip(comparison["regions"], previous["regions"]):
        assert region["size"] == len(frozen["rows"])
        low, high = region["after"]["interval"]
        assert low <= region["after"]["error_rate"] <= high
        assert region["new_rows_assigned"].startswith("by ")
    assert comparison["overall"]["before"]["rows"] == 500
    # the paired test reads the two models' errors on the same 500 rows, row by row
    before = pd.read_csv(ws.path / "iterations" / "0" / "points.csv")["error"].to_numpy()
    after = pd.read_csv(ws.path / "iterations" / "1" / "points.csv")["error"].to_numpy()[:500]
    expected = paired_comparison(before, after)
    paired = comparison["overall"]["paired"]
    assert (paired["fixed"], paired["broken"]) == (expected.only_first_wrong,
                                                   expected.only_second_wrong)
    assert paired["p_value"] == pytest.approx(expected.p_value)
    assert paired["change"] == pytest.approx(after.mean() - before.mean())
    assert paired["interval"][0] <= paired["change"] <= paired["interval"][1]
    assert all("paired" in region for region in comparison["regions"])
    for region in previous["regions"]:  # the rule is stored as data, and reads as its text
        assert (Rule.from_json(region["conditions"]).text or None) == region["rule"]
    status = ws.status()
    assert status["labels"] == 40 and len(status["iterations"]) == 2


def test_before_after_and_the_allocation_put_the_same_new_rows_in_a_frozen_region(tmp_path):
    """New rows that look like a frozen region's rows (same x) but that the model scores
    unlike them (the prediction block of the model space) join the region in both the
    before/after comparison and the budget allocation, since both look in input space."""
    old_x, new_x = np.linspace(-2, 2, 200), np.linspace(-2, 2, 100)
    frame = pd.DataFrame({"x": np.concatenate([old_x, new_x]), "label": ["a", "b"] * 150})
    in_region = (frame["x"] > 1).to_numpy()
    old_members = np.flatnonzero(in_region[:200])
    scored_b = np.zeros(len(frame), dtype=bool)
    scored_b[old_members] = True  # new look-alikes are scored "a", like the outsiders
    probabilities = np.column_stack([~scored_b, scored_b]).astype(float)
    predictions = Predictions(predicted=np.where(scored_b, "b", "a"),
                              error=in_region.astype(float), is_error=in_region,
                              probabilities=probabilities, classes=("a", "b"),
                              source="given", score=0.0, score_name="accuracy")
    schema = infer_schema(frame, target="label")
    space = ModelSpace(numeric=("x",)).fit(frame[["x"]])
    model_space = ModelSpace.with_predictions(space.transform(frame[["x"]]), predictions)
    data_map = DataMap(coords=model_space[:, :2], model_space=model_space, n_fitted=300,
                       from_cache=False, encoder=space)
    analysis = Analysis(data=frame, schema=schema, predictions=predictions, map=data_map,
                        regions=[], baseline_error_rate=float(in_region.mean()), seed=0)
    ws = Workspace.create(tmp_path / "ws", frame.iloc[:200], target="label")
    (ws.path / "iterations" / "0").mkdir()
    pd.DataFrame({"error": in_region[:200].astype(float)}).to_csv(
        ws.path / "iterations" / "0" / "points.csv", index=False)
    previous = {"iteration": 0, "rows": 200, "regions": [
        {"id": 1, "rows": old_members.tolist(), "rule": None, "description": "x is high"}]}

    compared = ws._compare(previous, analysis)["regions"][0]
    [allocated] = still_weak(_frozen(previous), [], frame, predictions, data_map)
    new_rows = np.flatnonzero(in_region[200:]).size
    assert compared["new_rows_in_region"] == allocated.size - old_members.size == new_rows


def test_frozen_regions_read_the_rule_text_of_files_written_before_the_conditions():
    region = {"id": 2, "rows": [0, 1], "description": "", "rule": "city = x and 20 < age <= 40"}
    [old] = _frozen({"iteration": 0, "rows": 10, "regions": [region]})
    assert old.rule_conditions == (Condition("city", "=", "x"), Condition("age", ">", 20.0),
                                   Condition("age", "<=", 40.0))
    [new] = _frozen({"iteration": 0, "rows": 10, "regions": [
        {**region, "conditions": Rule(old.rule_conditions[:1]).to_json()}]})
    assert new.rule_conditions == old.rule_conditions[:1]  # the stored conditions win
    [unreadable] = _frozen({"iteration": 0, "rows": 10, "regions": [{**region, "rule": "?"}]})
    assert unreadable.rule_conditions == ()


def _devices(n: int, seed: int, devices: list[str], shares: list[float]) -> pd.DataFrame:
    """label = x1 > 0, except on tablets and kiosks, where it is a coin flip."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    device = rng.choice(devices, n, p=shares)
    label = (x1 > 0).astype(int)
    noisy = np.isin(device, ["tablet", "kiosk"])
    label[noisy] = rng.integers(0, 2, noisy.sum())
    return pd.DataFrame({"x1": x1, "x2": x2, "device": device, "label": label})


def test_a_region_keeps_its_name_across_retrains_and_a_gap_keeps_it_once_it_errs(tmp_path):
    """Tablets err in every iteration; kiosks, which training lacks and the pool holds, are a
    coverage gap until they arrive with the second batch and err more. Numbered by
    importance each time, tablets would become R2 once kiosks outrank them."""
    data = _devices(600, 0, ["phone", "web", "tablet"], [0.45, 0.45, 0.1])
    pool = _devices(400, 1, ["phone", "web", "kiosk"], [0.3, 0.3, 0.4])
    ws = Workspace.create(tmp_path / "ws", data, target="label", pool=pool,
                          hidden_label="label", seed=0)

    def ingest(rows):
        ws.ingest(pool.drop(columns=["label"]).iloc[rows].assign(
            row=rows, label=pool["label"].to_numpy()[rows]))

    def named(record) -> dict[str, int]:
        return {r["rule"]: r["id"] for r in record["regions"]}

    first = ws.retrain()
    ingest(np.flatnonzero(pool["device"].to_numpy() != "kiosk")[:40])
    second = ws.retrain()
    ingest(np.flatnonzero(pool["device"].to_numpy() == "kiosk"))
    third = Workspace.open(ws.path).retrain()  # another process: names come from the files
    tablet = named(first)["device = tablet"]
    assert named(second)["device = tablet"] == named(third)["device = tablet"] == tablet
    gap = next(r for r in first["regions"] if r["rule"] == "device = kiosk")
    assert gap["kind"] == "coverage" and gap["size"] == 0
    assert third["regions"][0]["rule"] == "device = kiosk"  # it outranks the tablets
    assert third["regions"][0]["kind"] == "error"
    assert named(third)["device = kiosk"] == gap["id"], "the same place keeps its name"
    again = Workspace.open(ws.path)._analyze()  # the newest iteration, analysed afresh
    assert [r.id for r in again.regions] == [r["id"] for r in third["regions"]]
    points = pd.read_csv(ws.path / "iterations" / "2" / "points.csv")
    assert set(points["region"]) - {-1} == {r["id"] for r in third["regions"]}


def test_retrain_without_new_labels_refuses_and_keeps_the_record(looped):
    ws = looped[0]
    before = [r["iteration"] for r in ws.iterations]
    with pytest.raises(WorkspaceError, match=r"no labels were ingested since iteration 1.*"
                                             r"explorer ingest"):
        ws.retrain()
    assert [r["iteration"] for r in Workspace.open(ws.path).iterations] == before


def test_the_second_list_skips_labelled_rows_and_records_still_weak_regions(looped):
    ws, first, _, _, second = looped
    assert len(second) == 40 and not set(second["row"]) & set(first["row"])
    still_weak = ws.iterations[1]["list"]["still_weak"]
    current = {r["id"] for r in ws.iterations[1]["regions"]}
    assert all(item["id"] not in current and item["evidence"].startswith("Still weak")
               for item in still_weak)


def test_selection_never_reads_the_hidden_labels(looped, tmp_path):
    """The same workspace with the pool's hidden labels shuffled chooses the same rows."""
    ws, *_, second = looped
    copy = tmp_path / "shuffled"
    shutil.copytree(ws.path, copy)
    pool = pd.read_parquet(copy / "pool.parquet")
    pool["label"] = np.random.default_rng(0).permutation(pool["label"].to_numpy())
    pool.to_parquet(copy / "pool.parquet", index=False)
    again = Workspace.open(copy).suggest(40)
    pd.testing.assert_frame_equal(again[["row", "region", "priority"]],
                                  second[["row", "region", "priority"]])


def test_ingest_is_idempotent(workspace):
    frame = _labelled(workspace, [3, 4, 5], [1, 0, 1])
    first = workspace.ingest(frame)
    second = workspace.ingest(frame)
    assert len(first.accepted) == 3
    assert len(second.accepted) == 0 and second.unchanged == 3
    assert len(workspace.labels()) == 3


def test_ingest_rejects_bad_rows_with_reasons_and_accepts_the_rest(workspace):
    frame = _labelled(workspace, [1, 2, 3, 4, 4, 7], [1, 5, 0, 1, 0, ""])
    frame.loc[2, "x1"] = 99.0  # an edited feature
    frame = pd.concat([frame, pd.DataFrame({"row": [10_000], "label": [1]})],
                      ignore_index=True)
    report = workspace.ingest(frame)
    reasons = dict(zip(report.rejected["row"], report.rejected["reason"]))
    assert list(report.accepted["pool_row"]) == [1]
    assert report.skipped == 1
    assert "not one of the classes" in reasons[2]
    assert "differ from the pool" in reasons[3]
    assert "twice with different labels" in reasons[4]
    assert "unknown row" in reasons[10_000]
    again = workspace.ingest(_labelled(workspace, [1], [0]))
    assert "never overwritten" in again.rejected["reason"].iloc[0]
    assert workspace.labels()["label"].tolist() == ["1"]


def test_ingest_of_a_file_without_a_label_column_is_an_ingest_error(workspace, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"row": [1]}).to_csv(path, index=False)
    with pytest.raises(IngestError, match="label"):
        workspace.ingest(path)


def test_create_refuses_a_used_folder_and_open_a_non_workspace(tmp_path, gap):
    dataset, pool = gap
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="not an empty folder"):
        Workspace.create(tmp_path / "used", dataset.frame, target="label")
    with pytest.raises(WorkspaceError, match="not an explorer workspace"):
        Workspace.open(tmp_path / "used")


KILL_SCRIPT = """
import sys, pandas as pd
from explorer.workspace import Workspace
ws = Workspace.open(sys.argv[1])
pool = ws.pool.drop(columns=["label"])
if sys.argv[2] == "ingest":
    for start in range(0, 300, 3):
        rows = list(range(start, start + 3))
        ws.ingest(pool.iloc[rows].assign(row=rows, label=1))
        print(start, flush=True)
else:
    print("go", flush=True)
    ws.retrain()
"""


@pytest.mark.parametrize("step", ["ingest", "retrain"])
def test_sigkill_leaves_a_readable_workspace_with_every_acknowledged_label(workspace, step):
    before = _labelled(workspace, [0, 1, 2], [0, 0, 1])
    workspace.ingest(before)
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(workspace.path), step],
                               stdout=subprocess.PIPE, text=True)
    acknowledged = process.stdout.readline()
    if step == "ingest":
        for _ in range(3):
            acknowledged = process.stdout.readline()
    else:
        time.sleep(2.0)  # inside analyze
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    reopened = Workspace.open(workspace.path)
    labels = reopened.labels()
    assert {0, 1, 2} <= set(labels["pool_row"])
    if step == "ingest":
        last = int(acknowledged)
        assert set(range(3, last + 3)) <= set(labels["pool_row"])
    assert reopened.status()["labels"] == len(labels)
    assert all(r["iteration"] >= 0 for r in reopened.iterations)
    assert len(reopened.ingest(before).accepted) == 0  # the lock died with the process


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path, workspace):
    for argv in (["status", str(tmp_path / "nowhere")],
                 ["ingest", str(workspace.path), str(tmp_path / "missing.csv")],
                 ["ingest", str(workspace.path)],
                 ["init", str(workspace.path), "--data", "x.csv", "--target", "label"]):
        code, _, err = run(*argv)
        assert code == 2, argv
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("explorer: error: "), err


def test_cli_ingest_and_status(workspace, tmp_path):
    path = tmp_path / "labelled.csv"
    _labelled(workspace, [5, 6], [1, 9]).to_csv(path, index=False)
    code, out, _ = run("ingest", str(workspace.path), str(path))
    assert code == 0 and "1 label accepted" in out and "rejected line 3" in out
    code, out, _ = run("status", str(workspace.path))
    assert code == 0 and "1 labels recorded" in out


def test_cli_retrain_compares_the_same_rows_and_refuses_without_new_labels(workspace,
                                                                          tmp_path):
    code, out, _ = run("retrain", str(workspace.path))
    assert code == 0 and out.startswith("Iteration 0: 500 rows")
    assert "Next: explorer suggest" in out
    path = tmp_path / "labelled.csv"
    _labelled(workspace, range(10), [0, 1] * 5).to_csv(path, index=False)
    assert run("ingest", str(workspace.path), str(path))[0] == 0
    code, out, _ = run("retrain", str(workspace.path))
    assert code == 0 and "iteration 0 -> 1" in out and "all 500 earlier rows: " in out
    regions = Workspace.open(workspace.path).iterations[0]["regions"]
    assert regions  # the 5% segment of 500 rows is found
    for region in regions:
        assert f"R{region['id']} {(region['rule'] or 'no simple rule')[:20]}" in out
    code, _, err = run("retrain", str(workspace.path))
    assert code == 2 and "no labels were ingested since iteration 1" in err


def test_an_ingest_report_accounts_for_every_line_of_the_file(workspace, tmp_path):
    frame = _labelled(workspace, [3, 3, 5, 5, 6, 6, 6, 8], [1, 1, 0, 1, 0, 0, 0, ""])
    path = tmp_path / "labelled.csv"
    frame.to_csv(path, index=False)
    report = workspace.ingest(path)
    assert report.lines == len(frame)
    assert report.summary().startswith(f"{len(frame)} lines of labelled.csv: 2 labels "
                                       f"accepted, 0 already recorded, 3 repeating")
    assert sorted(report.accepted["pool_row"]) == [3, 6]
    assert report.repeated[["line", "row"]].values.tolist() == [[3, 3], [7, 6], [8, 6]]
    assert report.repeated["reason"].tolist() == ["repeats line 2", "repeats line 6",
                                                  "repeats line 6"]
    assert report.rejected["line"].tolist() == [4, 5]  # both lines of the conflict on row 5
    assert "('0' on line 4 and '1' on line 5)" in report.rejected["reason"].iloc[0]
    assert report.skipped == 1
    again = workspace.ingest(path)
    assert again.lines == len(frame) and again.unchanged == 2 and len(again.repeated) == 3


def test_two_suggest_runs_at_once_wait_for_each_other_and_never_interleave(workspace):
    """Issue 13 item 11: both start before either has an iteration, so both want to
    retrain; the second must wait for the first (or say the workspace is busy), not fail
    with "Nothing to retrain on" because the first retrained under it."""
    command = [sys.executable, "-m", "explorer", "suggest", str(workspace.path), "--budget",
               "30"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    failures = [err for code, _, err in results if code != 0]
    assert len(failures) < 2, results
    for err in failures:
        assert "is locked by another writer; wait for it to finish" in err, err
    iterations = Workspace.open(workspace.path).iterations
    assert [r["iteration"] for r in iterations] == [0]
    listing = pd.read_csv(workspace.path / "iterations" / "0" / "collection_list.csv",
                          encoding="utf-8-sig")
    assert len(listing) == iterations[0]["list"]["rows"] == 30
    assert not list((workspace.path / "iterations").glob(".*"))  # no staging left behind


def test_the_writer_lock_is_reentrant_in_its_thread_and_exclusive_across_threads(workspace):
    """The app's server shares one Workspace object between sessions' threads."""
    outcome = []

    def another_session():
        try:
            with workspace._lock(timeout=0.3):
                outcome.append("acquired")
        except WorkspaceError as exc:
            outcome.append(str(exc))

    with workspace._lock():
        with workspace._lock(timeout=0.3):  # suggest retrains while it holds the lock
            other = threading.Thread(target=another_session)
            other.start()
            other.join()
    assert "locked by another writer" in outcome[0]
    another_session()  # released when the outer block ended
    assert outcome[1] == "acquired"
