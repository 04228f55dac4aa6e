"""The suggestion engine: diagnoses on planted causes, pool selection, the collection list."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from explorer.data import infer_schema
from explorer.datasets import make_coverage_gap
from explorer.embed import ModelSpace
from explorer.export import read_collection_csv, write_collection_csv
from explorer.model import honest_predictions, model_inputs
from explorer.diagnose import Diagnosis, _collect, _rows_needed, diagnose_region
from explorer.pool import PoolPlacement
from explorer.suggest import select_rows
from explorer.types import Region


def _region(rows: np.ndarray, predictions) -> Region:
    rows = np.sort(np.asarray(rows))
    return Region(id=1, rows=rows, size=len(rows),
                  error_rate=float(predictions.is_error[rows].mean()),
                  baseline_error_rate=float(predictions.is_error.mean()), lift=2.0,
                  p_value=0.01, heldout_error_rate=0.5, heldout_size=len(rows) // 2,
                  heldout_interval=(0.3, 0.7), compactness=0.8, excess_errors=10.0)


def _diagnose(frame: pd.DataFrame, rows: np.ndarray, **kwargs):
    schema = infer_schema(frame, target="label")
    predictions = honest_predictions(frame, schema, seed=0)
    space = ModelSpace(schema.numeric, schema.categorical).fit(model_inputs(frame, schema))
    features = space.transform(model_inputs(frame, schema))
    return diagnose_region(_region(rows, predictions), frame, schema, predictions, features,
                           seed=0, **kwargs)


def _blobs(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal((2, n))
    return pd.DataFrame({"x1": x1, "x2": x2, "label": (x1 > 0).astype(int)})


def test_thin_coverage_is_diagnosed_collect_with_a_curve():
    dataset, _ = make_coverage_gap(1200, seed=0, minority_share=0.08)
    diagnosis = _diagnose(dataset.frame, dataset.planted["rare_segment"])
    assert diagnosis.kind == "collect"
    sizes = [n for n, _ in diagnosis.curve]
    assert len(sizes) == 3 and sizes == sorted(sizes) and diagnosis.interval is not None
    assert "curve" in diagnosis.evidence and "held-out rows" in diagnosis.evidence
    if diagnosis.suggested_rows is not None:
        low, high = diagnosis.interval
        assert low <= diagnosis.suggested_rows and (high is None or diagnosis.suggested_rows
                                                    <= high)


def test_a_region_of_coin_flip_labels_has_a_flat_curve_and_no_count():
    frame = _blobs(1500, seed=4)
    rows = np.flatnonzero(frame["x2"] > 0.5)
    frame.loc[rows, "label"] = np.random.default_rng(5).integers(0, 2, rows.size)
    schema = infer_schema(frame, target="label")
    predictions = honest_predictions(frame, schema, seed=0)
    diagnosis = _collect(_region(rows, predictions), frame, schema, seed=0)
    assert diagnosis.flat and diagnosis.suggested_rows is None
    assert "flat" in diagnosis.evidence and "no count" in diagnosis.evidence


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rows_the_baseline_learns_but_given_predictions_miss_point_at_that_model(seed):
    """Given predictions wrong 60% of the time where the label is a clean cut the baseline
    learns (another model's failure): more rows are not the fix, that model is."""
    frame = _blobs(1500, seed=seed)
    rows = np.flatnonzero(frame["x2"] > 0.8)
    region = Region(id=1, rows=rows, size=rows.size, error_rate=0.6, baseline_error_rate=0.08,
                    lift=7.5, p_value=1e-9, heldout_error_rate=0.6, heldout_size=rows.size,
                    heldout_interval=(0.5, 0.7), compactness=0.8, excess_errors=100.0)
    diagnosis = _collect(region, frame, infer_schema(frame, target="label"), seed=seed)
    assert diagnosis.kind == "check_model" and diagnosis.suggested_rows is None
    assert "learnable" in diagnosis.evidence and len(diagnosis.curve) == 3
    assert diagnosis.curve[-1][1] < diagnosis.target_error


def test_flipped_labels_are_diagnosed_relabel_with_rows_to_review():
    frame = _blobs(1200, seed=1)
    region = np.flatnonzero(frame["x2"] > 1.0)
    flipped = np.random.default_rng(2).choice(region, int(0.25 * len(region)), replace=False)
    frame.loc[flipped, "label"] = 1 - frame.loc[flipped, "label"]
    diagnosis = _diagnose(frame, region, curve=False)
    assert diagnosis.kind == "relabel"
    review = set(diagnosis.rows_to_review)
    assert len(review & set(flipped)) / len(review) > 0.8


def test_conflicting_duplicates_are_diagnosed_add_information():
    frame = _blobs(1000, seed=3)
    region = np.flatnonzero(frame["x2"] > 1.0)
    twins = frame.iloc[region].assign(label=lambda f: 1 - f["label"])
    frame = pd.concat([frame, twins], ignore_index=True)
    rows = np.concatenate([region, np.arange(1000, len(frame))])
    diagnosis = _diagnose(frame, rows, curve=False)
    assert diagnosis.kind == "add_information"
    assert set(diagnosis.columns) == {"x1", "x2"}


def _placement(n: int, region_rows: np.ndarray, seed: int) -> PoolPlacement:
    rng = np.random.default_rng(seed)
    space = rng.standard_normal((n, 3)).astype(np.float32)
    space[1::2] = space[::2]  # every odd row duplicates the even row before it
    coverage = np.zeros((n, 1))
    coverage[region_rows, 0] = 0.9
    return PoolPlacement(model_space=space, coords=space[:, :2],
                         probabilities=rng.dirichlet([1, 1], n), coverage=coverage,
                         region_ids=(1,), error_risk=np.zeros(n))


def test_targeted_selection_prefers_region_rows_without_near_duplicates():
    n = 400
    region_rows = np.arange(0, 200)
    placement = _placement(n, region_rows, seed=0)
    pool = pd.DataFrame({"x1": placement.model_space[:, 0].astype(float), "city": "north"})
    predictions = type("P", (), {"is_error": np.zeros(10, bool)})
    region = _region(np.arange(5), predictions)
    diagnoses = {1: Diagnosis(1, "collect", "", curve_params=(0.5, 0.3))}
    listing = select_rows("targeted", 60, pool, seed=0, placement=placement, regions=[region],
                          diagnoses=diagnoses)
    rows = listing["row"].to_numpy()
    assert len(rows) == 60 and list(listing["priority"]) == list(range(1, 61))
    in_region = np.isin(rows, region_rows)
    assert in_region.mean() >= 0.9 and (listing.loc[in_region, "region"] == 1).all()
    pairs = set(rows // 2)
    assert len(pairs) == len(rows), "a row and its duplicate were both chosen"
    assert list(listing.columns[:5]) == ["row", "region", "priority", "source", "reason"]
    assert listing["label"].isna().all()


def test_within_a_region_rows_that_look_like_its_failures_come_first():
    n = 400
    region_rows = np.arange(0, 200)
    placement = dataclasses.replace(_placement(n, region_rows, seed=0),
                                    error_risk=np.where(np.arange(n) % 4 == 0, 0.8, 0.1))
    pool = pd.DataFrame({"x1": placement.model_space[:, 0].astype(float)})
    region = _region(np.arange(5), type("P", (), {"is_error": np.zeros(10, bool)}))
    listing = select_rows("targeted", 40, pool, seed=0, placement=placement, regions=[region],
                          diagnoses={1: Diagnosis(1, "collect", "", curve_params=(0.5, 0.3))})
    rows = listing.loc[listing["region"] == 1, "row"].to_numpy()
    assert rows.size == 40 and (rows % 4 == 0).all() and (rows < 200).all()


def test_random_strategy_respects_available_rows():
    pool = pd.DataFrame({"x1": np.arange(50.0)})
    available = np.zeros(50, bool)
    available[10:20] = True
    listing = select_rows("random", 30, pool, seed=0, available=available)
    assert sorted(listing["row"]) == list(range(10, 20))


def test_collection_list_round_trips_with_labels_filled(tmp_path):
    pool = pd.DataFrame({"x1": [0.5, -1.25, 3.0], "note": ["=SUM(A1)", "'quoted", "-x"]})
    listing = select_rows("random", 3, pool, seed=0)
    listing["label"] = ["=1+1", "b", "@c"]
    path = write_collection_csv(listing, tmp_path / "collection_list.csv")
    back = read_collection_csv(path, text_columns=("label", "note"))
    pd.testing.assert_frame_equal(back[["row", "note", "label"]],
                                  listing[["row", "note", "label"]].astype({"label": object}),
                                  check_dtype=False)


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="strategy"):
        select_rows("cleverest", 5, pd.DataFrame({"x": [1.0]}), seed=0)


def test_a_still_weak_frozen_region_shares_the_budget_by_expected_gain():
    n = 400
    rng = np.random.default_rng(0)
    space = rng.standard_normal((n, 3))
    coverage = np.zeros((n, 2))
    coverage[:200, 0], coverage[200:, 1] = 0.9, 0.9
    placement = PoolPlacement(model_space=space, coords=space[:, :2],
                              probabilities=rng.dirichlet([1, 1], n), coverage=coverage,
                              region_ids=(1, 2), error_risk=np.zeros(n))
    predictions = type("P", (), {"is_error": np.zeros(10, bool)})
    regions = [_region(np.arange(5), predictions),
               dataclasses.replace(_region(np.arange(5), predictions), id=2,
                                   found_by="frozen in iteration 0; new rows by its rule")]
    diagnoses = {1: Diagnosis(1, "collect", "", curve_params=(0.3, 0.3)),
                 2: Diagnosis(2, "collect", "", curve_params=(0.6, 0.3))}
    listing = select_rows("targeted", 60, pd.DataFrame({"x": space[:, 0]}), seed=0,
                          placement=placement, regions=regions, diagnoses=diagnoses)
    counts = listing["region"].value_counts()
    assert counts[2] > counts[1] > 0  # the steeper (weaker) frozen region gets more
    reason = listing.loc[listing["region"] == 2, "reason"].iloc[0]
    assert reason.startswith("Like R2 (frozen in iteration 0, still weak)")


def test_analysis_keeps_its_diagnoses_and_later_suggestions_reuse_them(planted_analysis):
    """A learning curve costs nine model fits; a second suggestion on the same data must
    take the analysis's diagnoses, not measure the curves again."""
    from explorer.suggest import diagnosed, suggest_regions

    analysis = planted_analysis
    assert analysis.regions
    assert set(analysis.diagnoses) == {r.id for r in analysis.regions}
    assert all(analysis.diagnoses[r.id].kind == r.diagnosis for r in analysis.regions)
    marker = {r.id: Diagnosis(r.id, "relabel", "given, not measured again")
              for r in analysis.regions}
    diagnoses, _, _ = suggest_regions(analysis.regions, analysis.data, analysis.schema,
                                      analysis.predictions, analysis.map, known=marker)
    assert diagnoses == marker
    regions = diagnosed(analysis.regions, diagnoses, pool_given=False)
    assert all(r.diagnosis == "relabel" and r.evidence == "given, not measured again"
               for r in regions)
    assert all(r.diagnosis == analysis.diagnoses[r.id].kind for r in analysis.regions)


def test_a_learning_curve_too_slow_to_count_needs_infinitely_many_rows():
    # found by tests/test_fuzz.py: (a / target) ** (1 / b) overflowed a float
    assert _rows_needed(a=1e6, b=0.02, target=1e-3, have=100) == np.inf
    assert 0 < _rows_needed(a=1.0, b=0.5, target=0.1, have=10) < np.inf
