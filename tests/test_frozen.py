"""Regions of earlier iterations: their rows in grown data, which stay weak, and their names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from conftest import make_tiny_analysis
from explorer.diagnose import Diagnosis
from explorer.frozen import (FrozenRegion, frozen_members, stable_ids, still_weak,
                             with_stable_ids)
from explorer.rules import Condition
from explorer.types import DataMap, Region


def _plain_map(features: np.ndarray) -> DataMap:
    """A map whose model space is ``features`` itself (no prediction block)."""
    return DataMap(coords=features[:, :2], model_space=features, n_fitted=len(features),
                   from_cache=False)


def _region(name: int, rows, rule: tuple[Condition, ...] = ()) -> Region:
    """A current region: only its name, rows and rule matter here."""
    rows = np.asarray(rows)
    return Region(id=name, rows=rows, size=len(rows), error_rate=0.5, baseline_error_rate=0.1,
                  lift=5.0, p_value=0.01, heldout_error_rate=0.5, heldout_size=len(rows) // 2,
                  heldout_interval=(0.4, 0.6), compactness=0.8,
                  excess_errors=0.4 * len(rows), rule_conditions=rule)


def test_new_rows_join_a_frozen_region_by_its_rule_when_it_is_precise_else_by_neighbours():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.uniform(-1, 1, 600), "y": rng.uniform(-1, 1, 600)})
    data_map = _plain_map(frame.to_numpy())
    old = np.flatnonzero(frame["x"].to_numpy()[:500] > 0.5)
    new_in = 500 + np.flatnonzero(frame["x"].to_numpy()[500:] > 0.5)
    precise = FrozenRegion(id=1, iteration=0, rows=old, data_rows=500,
                           rule_conditions=(Condition("x", ">", 0.5),))
    members, how = frozen_members(precise, frame, data_map)
    assert "rule" in how and set(members) == set(old) | set(new_in)
    loose = FrozenRegion(id=1, iteration=0, rows=old, data_rows=500,
                         rule_conditions=(Condition("x", ">", 0.0),))
    members, how = frozen_members(loose, frame, data_map)
    assert "neighbours" in how
    added = set(members) - set(old)
    assert len(added ^ set(new_in)) <= 3  # neighbours blur the edge a little, not the rule


def _errors(n: int, rates: dict[tuple[int, int], float], seed: int):
    """A predictions stand-in whose errors have the given rate in each row range."""
    rng = np.random.default_rng(seed)
    is_error = rng.random(n) < 0.1
    for (start, stop), rate in rates.items():
        is_error[start:stop] = rng.random(stop - start) < rate
    return type("P", (), {"is_error": is_error})


def test_still_weak_keeps_frozen_regions_above_the_baseline_under_their_own_names():
    frame = pd.DataFrame({"x": np.arange(1000.0)})
    predictions = _errors(1000, {(0, 120): 0.4, (150, 250): 0.1, (300, 400): 0.5,
                                 (500, 600): 0.5}, seed=0)
    frozen = [FrozenRegion(id=1, iteration=0, rows=np.arange(0, 100), data_rows=900),
              FrozenRegion(id=1, iteration=1, rows=np.arange(0, 120), data_rows=1000),
              FrozenRegion(id=2, iteration=0, rows=np.arange(150, 250), data_rows=900),
              FrozenRegion(id=3, iteration=0, rows=np.arange(300, 400), data_rows=900),
              FrozenRegion(id=5, iteration=1, rows=np.arange(500, 600), data_rows=1000)]
    current = [_region(3, np.arange(310, 400)),  # R3 found again where it was
               _region(5, np.arange(700, 800))]  # R5 found again (by its rule, say)
    kept = still_weak(frozen, current, frame, predictions, _plain_map(frame.to_numpy()))
    assert [(r.id, r.size) for r in kept] == [(1, 120)]  # the newest copy of R1
    assert kept[0].found_by.startswith("frozen in iteration 1; new rows ")
    assert kept[0].error_rate > 1.1 * kept[0].baseline_error_rate
    low, high = kept[0].heldout_interval
    assert low < kept[0].error_rate < high


def test_a_region_found_again_keeps_its_name_and_a_new_one_gets_a_name_never_used():
    rare = (Condition("segment", "=", "rare"),)
    earlier = [FrozenRegion(id=1, iteration=0, rows=np.arange(0, 100), data_rows=500),
               FrozenRegion(id=2, iteration=0, rows=np.arange(200, 260), data_rows=500,
                            rule_conditions=rare),
               FrozenRegion(id=3, iteration=0, rows=np.arange(300, 350), data_rows=500),
               FrozenRegion(id=1, iteration=1, rows=np.arange(0, 110), data_rows=600)]
    current = [_region(1, np.arange(400, 450)),  # a new place, ranked first
               _region(2, np.concatenate([np.arange(5, 110), np.arange(600, 700)])),
               _region(3, np.arange(220, 230), rule=rare),  # the same rule, fewer rows
               _region(4, np.arange(0, 60))]  # overlaps R1 too, less than the second
    assert stable_ids(current, earlier) == [4, 1, 2, 5]  # R3 is gone; 3 is never reused
    assert stable_ids(current, []) == [1, 2, 3, 4]  # the first iteration names in order


def test_an_analysis_renamed_keeps_each_diagnosis_with_its_region():
    analysis = dataclasses.replace(make_tiny_analysis(), diagnoses={
        0: Diagnosis(0, "collect", "the first region"),
        1: Diagnosis(1, "relabel", "the second region")})
    earlier = [FrozenRegion(id=7, iteration=0, rows=np.arange(50, 70), data_rows=100)]
    named = with_stable_ids(analysis, earlier)
    assert [r.id for r in named.regions] == [8, 7]  # the second region was R7 before
    assert {i: (d.region, d.evidence) for i, d in named.diagnoses.items()} == {
        8: (8, "the first region"), 7: (7, "the second region")}
    assert [r.id for r in analysis.regions] == [0, 1]  # the analysis itself is unchanged
