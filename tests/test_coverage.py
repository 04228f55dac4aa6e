"""Coverage gaps: found from the pool where training is thin, tested on held-out rows of both,
never found when the pool is drawn like the training data, and given rows in the list."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import explorer
from explorer import charts
from explorer.coverage import coverage_regions, find_coverage_gaps, rows_to_match_share
from explorer.data import align_pool, infer_schema
from explorer.datasets import make_coverage_gap
from explorer.diagnose import CURVE_FOLDS, GAP_CURVE_EXPONENT, diagnose_coverage_gap
from explorer.stats import wilson_interval


def _tables(seed: int, pool_share: float):
    data, pool = make_coverage_gap(2000, seed=seed, minority_share=0.005, pool_rows=4000,
                                   pool_share=pool_share)
    schema = infer_schema(data.frame, target="label")
    return data, pool, schema, align_pool(pool.drop(columns=["label"]), data.frame, schema)


@pytest.mark.parametrize("seed", range(3))
def test_a_segment_the_pool_holds_and_training_lacks_is_one_gap_with_its_exact_rule(seed):
    data, pool, schema, aligned = _tables(seed, pool_share=0.05)
    gaps = find_coverage_gaps(data.frame, aligned, schema, seed=seed)
    assert [g.rule.text for g in gaps] == ["segment = rare"]
    gap = gaps[0]
    assert gap.p_value < 0.05
    assert np.array_equal(gap.training_rows, data.planted["rare_segment"])
    assert np.array_equal(gap.pool_rows, np.flatnonzero(pool["segment"] == "rare"))
    assert gap.pool_share == pytest.approx(0.05) and gap.training_share == pytest.approx(0.005)


@pytest.mark.parametrize("seed", range(5))
def test_a_pool_drawn_like_the_training_data_gives_no_gap(seed):
    data, _, schema, aligned = _tables(seed, pool_share=0.0051)
    assert find_coverage_gaps(data.frame, aligned, schema, seed=seed) == []


def test_the_rows_to_collect_bring_the_gap_to_the_pools_share():
    added = rows_to_match_share(gap_training_rows=21, training_rows=5000, pool_share=0.028)
    share = lambda n: (21 + n) / (5000 + n)  # noqa: E731
    assert share(added - 1) < 0.028 <= share(added), "the fewest rows that reach the share"
    assert rows_to_match_share(gap_training_rows=200, training_rows=5000, pool_share=0.028) == 0


def test_a_gap_without_training_rows_says_its_error_is_unknown():
    data, _, schema, aligned = _tables(0, pool_share=0.05)
    gap = find_coverage_gaps(data.frame, aligned, schema, seed=0)[0]
    empty = type(gap)(rule=gap.rule, training_rows=np.array([], dtype=int),
                      pool_rows=gap.pool_rows, training_share=0.0, pool_share=gap.pool_share,
                      p_value=gap.p_value)
    region = coverage_regions([empty], np.zeros(len(data.frame), bool), first_id=4)[0]
    assert region.id == 4 and region.kind == "coverage" and region.size == 0
    assert "so its error there is unknown" in region.description
    assert region.heldout_interval == (0.0, 1.0)


def test_a_gaps_prior_curve_starts_at_the_worst_plausible_error_of_its_few_rows():
    data, _, schema, aligned = _tables(0, pool_share=0.05)
    gap = find_coverage_gaps(data.frame, aligned, schema, seed=0)[0]
    is_error = np.zeros(len(data.frame), bool)
    is_error[gap.training_rows[:3]] = True  # 3 of its 10 rows wrong
    region = coverage_regions([gap], is_error, first_id=1)[0]
    a, b = diagnose_coverage_gap(region).curve_params
    trained_on = region.size * (CURVE_FOLDS - 1) / CURVE_FOLDS
    assert b == GAP_CURVE_EXPONENT
    assert a * trained_on ** -b == pytest.approx(wilson_interval(3, 10)[1])
    unseen = coverage_regions([dataclasses.replace(gap, training_rows=gap.training_rows[:0])],
                              is_error, first_id=1)[0]
    a, b = diagnose_coverage_gap(unseen).curve_params
    assert a * (1 * (CURVE_FOLDS - 1) / CURVE_FOLDS) ** -b == pytest.approx(1.0), \
        "a gap training never saw starts at certain error"


def test_analyze_reports_the_gap_as_its_own_kind_and_lists_its_rows(tmp_path):
    data, pool, _, _ = _tables(0, pool_share=0.05)
    analysis = explorer.analyze(data.frame, target="label", pool=pool.drop(columns=["label"]),
                                budget=120, seed=0)
    gaps = [r for r in analysis.regions if r.kind == "coverage"]
    assert [g.rule for g in gaps] == ["segment = rare"]
    gap = gaps[0]
    assert gap.id == analysis.regions[-1].id, "gaps are numbered after the error regions"
    assert gap.description.startswith("Under-covered: segment = rare holds 5.0% of the new "
                                      "data but 0.5% of training (10 rows)")
    listing = analysis.collection_list
    from_gap = listing[listing["source"] == "coverage gap"]
    assert len(from_gap) > 0 and (from_gap["region"] == gap.id).all()
    assert (pool.loc[from_gap["row"], "segment"] == "rare").all()
    assert from_gap["reason"].iloc[0] == (f"Rare in training: segment = rare is 5.0% of new "
                                          f"data but 0.5% of training (R{gap.id}).")
    assert (from_gap["region_rule"] == "segment = rare").all()
    assert set(listing["source"]) <= {"coverage gap", "error region", "model unsure"}
    analysis.save(tmp_path)
    saved = json.loads((tmp_path / "regions.json").read_text())
    saved_gap = next(r for r in saved["regions"] if r["id"] == gap.id)
    assert saved_gap["kind"] == "coverage" and saved_gap["pool_share"] == pytest.approx(0.05)
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Coverage gaps</h2>" in report and "5.0% vs 0.5% of training (10 rows)" in report
    bars = charts.region_error_figure(analysis).data
    assert all(f"R{gap.id}" not in bar.x for bar in bars), "a gap was not tested on its errors"
