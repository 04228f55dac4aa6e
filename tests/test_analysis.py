"""The public API end to end: contracts, caching, progress, determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import explorer
from explorer.describe import describe_regions
from explorer.rules import RuleFeatures
from explorer.suggest import diagnosed


def jaccard(a, b) -> float:
    return len(np.intersect1d(a, b)) / len(np.union1d(a, b))


def test_public_api_is_pinned():
    assert sorted(explorer.__all__) == sorted([
        "Analysis", "DataError", "Dataset", "DatasetNotFoundError", "ExplorerError",
        "IngestError", "ParameterError", "Region", "SchemaMismatchError", "WorkspaceError",
        "Workspace", "analyze", "list_datasets", "load_dataset", "make_planted"])


def test_rows_without_a_label_are_dropped_counted_and_traced_to_the_file(planted_data):
    frame = planted_data.frame.head(400).copy()
    frame["label"] = frame["label"].astype(object)
    frame.loc[[5, 6, 300], "label"] = None
    analysis = explorer.analyze(frame, target="label", prediction="prediction", seed=0)
    assert "Dropped 3 rows without a label in 'label' (rows 5, 6, 300, counting from 0)." \
        in analysis.notes
    assert len(analysis.data) == 397
    source = analysis.points["source_row"].to_numpy()
    assert 5 not in source and source[5] == 7 and source[-1] == 399
    assert analysis.data["age"].tolist() == frame["age"].iloc[source].tolist()


def test_regions_are_frozen_and_stages_return_new_ones(planted_analysis):
    """The app shares one analysis between pages: no stage may change a region it reads."""
    a = planted_analysis
    region = a.regions[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        region.diagnosis = "relabel"
    bare = dataclasses.replace(region, rule_conditions=(), description="", diagnosis=None,
                               evidence=None, suggested_rows=None)
    [described] = describe_regions([bare], a.data, a.schema, a.predictions, a.map,
                                   RuleFeatures.from_frame(a.data, a.schema), seed=a.seed)
    [suggested] = diagnosed([described], a.diagnoses, pool_given=False)
    assert (bare.rule, bare.description, described.diagnosis) == (None, "", None)
    assert (described.rule, described.description) == (region.rule, region.description)
    assert (suggested.diagnosis, suggested.evidence) == (region.diagnosis, region.evidence)


def test_planted_region_is_found_and_described(planted_analysis, planted_data):
    top = planted_analysis.regions[0]
    assert jaccard(top.rows, planted_data.planted["rule"]) >= 0.5
    assert "region = north" in top.rule and "age >" in top.rule
    assert top.p_value < 0.05 and top.lift > 1.25
    assert top.heldout_interval[0] <= top.heldout_error_rate <= top.heldout_interval[1]
    assert top.description.startswith(f"{top.size} rows where")


def test_points_follow_the_contract(planted_analysis):
    points = planted_analysis.points
    assert list(points.columns) == ["row", "x", "y", "error", "region", "source_row"]
    assert np.array_equal(points["row"], np.arange(len(planted_analysis.data)))
    assert np.array_equal(points["source_row"], points["row"])  # no row was dropped
    ids = {r.id for r in planted_analysis.regions} | {-1}
    assert set(points["region"]) <= ids
    for region in planted_analysis.regions:
        assert (points.loc[region.rows, "region"] >= 1).all()


def test_same_seed_same_regions_without_the_cache(planted_data, tmp_path):
    runs = [explorer.analyze(planted_data.frame, target="label", prediction="prediction",
                             seed=4, cache_dir=tmp_path / name) for name in ("a", "b")]
    assert not runs[0].map.from_cache and not runs[1].map.from_cache
    assert np.array_equal(runs[0].map.coords, runs[1].map.coords)
    assert [r.rows.tolist() for r in runs[0].regions] == [r.rows.tolist() for r in runs[1].regions]


def test_second_run_reads_the_map_from_the_cache(planted_data, tmp_path):
    messages = []
    first = explorer.analyze(planted_data.frame, target="label", prediction="prediction",
                             cache_dir=tmp_path, progress=lambda m, f: messages.append((m, f)))
    second = explorer.analyze(planted_data.frame, target="label", prediction="prediction",
                              cache_dir=tmp_path)
    assert second.map.from_cache and np.array_equal(first.map.coords, second.map.coords)
    fractions = [f for _, f in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_regression_with_the_baseline_model():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400), "kind": rng.choice(["a", "b"], 400)})
    hard = frame["kind"].eq("b") & (frame["x"] > 0.5)
    frame["y"] = 2 * frame["x"] + rng.normal(scale=np.where(hard, 3.0, 0.2))
    analysis = explorer.analyze(frame, target="y", seed=0)
    assert analysis.schema.task == "regression"
    assert analysis.regions, "the noisy corner should be a region of large errors"
    assert jaccard(analysis.regions[0].rows, np.flatnonzero(hard)) >= 0.5
