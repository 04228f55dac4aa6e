"""The bias story: group metrics, the biased-sampling generator and the guided demo.

The demo test runs the whole pipeline once (module fixture) on the default 12,000-row sample of Adult
and checks the two claims the demo makes: the deployed model's weak region lines up with the
under-sampled group, and targeted collection lowers the group's error more than a random
control of the same size.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from explorer import cli
from explorer.bias import make_biased_split
from explorer.demo import SCENARIOS, demo_report_html, run_bias_demo
from explorer.errors import DataError, ParameterError
from explorer.groups import gap_between, group_metrics, group_report, largest_gap


def test_group_metrics_match_a_hand_computation():
    frame = pd.DataFrame({"sex": ["f", "f", "f", "m", "m", None]})
    truth = np.array([1, 0, 1, 1, 0, 1])
    predicted = np.array(["0", "0", "1", "1", "1", "0"])  # "1" and 1 are the same class
    train = pd.DataFrame({"sex": ["f", "m", "m", "m"]})
    table = group_metrics(truth, predicted, frame, ["sex"], train=train).set_index("value")
    assert table.loc["f", "n"] == 3 and table.loc["f", "errors"] == 1
    assert table.loc["f", "error_rate"] == pytest.approx(1 / 3)
    assert table.loc["m", "error_rate"] == pytest.approx(1 / 2)
    assert table.loc["(missing)", "errors"] == 1
    assert table.loc["f", "share_train"] == pytest.approx(0.25)
    assert table.loc["f", "share_reference"] == pytest.approx(0.5)
    # Wilson interval of 1/3 at 95%: 0.0615 to 0.7923
    assert table.loc["f", "ci_low"] == pytest.approx(0.0615, abs=1e-3)
    assert table.loc["f", "ci_high"] == pytest.approx(0.7923, abs=1e-3)


def test_gap_has_a_newcombe_interval_around_the_difference():
    frame = pd.DataFrame({"g": ["a"] * 100 + ["b"] * 100})
    truth = np.zeros(200, dtype=int)
    predicted = np.r_[np.ones(30), np.zeros(70), np.ones(10), np.zeros(90)].astype(int)
    metrics = group_metrics(truth, predicted, frame, ["g"])
    gap = largest_gap(metrics, "g")
    assert (gap.worst, gap.best) == ("a", "b")
    assert gap.difference == pytest.approx(0.2)
    assert gap.interval[0] < 0.2 < gap.interval[1] and gap.clear
    assert gap_between(metrics, "g", "b", "a").difference == pytest.approx(-0.2)
    with pytest.raises(DataError, match="No rows have g = 'c'"):
        gap_between(metrics, "g", "c", "a")


def test_generator_is_deterministic_and_keeps_the_promised_shares():
    first = make_biased_split(n_rows=3000, keep_share=0.1, seed=3)
    again = make_biased_split(n_rows=3000, keep_share=0.1, seed=3)
    other = make_biased_split(n_rows=3000, keep_share=0.1, seed=4)
    for name in ("train", "pool", "audit", "test"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    assert not first.train.equals(other.train)
    sizes = [len(first.train), len(first.pool), len(first.audit), len(first.test)]
    assert sum(sizes) == 3000
    assert len(first.test) == 750 and len(first.audit) == 600
    chosen = first.in_group(first.train) & (first.train["income"] == ">50K").to_numpy()
    assert chosen.sum() == first.kept == round(0.1 * (first.kept + first.left_out))
    in_pool = first.in_group(first.pool) & (first.pool[first.hidden_label] == ">50K").to_numpy()
    assert in_pool.sum() == first.left_out
    assert "income" not in first.pool.columns
    # test and audit keep the natural label balance (stratified)
    natural = (pd.concat([first.train, first.audit, first.test])["income"] == ">50K").mean()
    assert abs((first.test["income"] == ">50K").mean() - natural) < 0.05
    assert str(first.kept) in first.description


def test_generator_errors_name_the_fix():
    with pytest.raises(DataError, match="no column 'planet'"):
        make_biased_split(n_rows=500, group_column="planet")
    with pytest.raises(ParameterError, match="keep_share"):
        make_biased_split(n_rows=500, keep_share=1.5)


@pytest.fixture(scope="module")
def demo():
    return run_bias_demo(seed=0, budget=300)


def test_weak_region_lines_up_with_the_under_sampled_group(demo):
    step = next(s for s in demo.steps if s.key == "regions")
    assert step.figures["aligned"], step.text
    assert step.figures["enrichment"] >= 1.5
    report = group_report(demo.analysis)
    overlap = report.overlap[(report.overlap["column"] == "age_band")
                             & (report.overlap["value"] == "50+")]
    assert overlap["enrichment"].max() == pytest.approx(step.figures["enrichment"])


def test_targeted_collection_closes_the_gap_more_than_random(demo):
    errors = demo.errors[demo.errors["value"] == "50+"].set_index("scenario")["error_rate"]
    fall_targeted = errors["before"] - errors["after targeted"]
    fall_random = errors["before"] - errors["after random"]
    assert fall_targeted > fall_random and fall_targeted > 0, demo.verdict
    assert demo.gaps["after targeted"].difference < demo.gaps["after random"].difference
    assert demo.effect_shown and demo.verdict.startswith("The effect shows")
    by = demo.collected.set_index("strategy")
    assert by.loc["targeted", "group_share"] > by.loc["random", "group_share"]
    assert list(demo.gaps) == list(SCENARIOS)


def test_demo_text_reports_measured_numbers(demo):
    before = demo.gaps["before"]
    assert f"{100 * before.difference:+.1f} points" in demo.steps[0].text
    page = demo_report_html(demo)
    assert page.count("<section>") == len(demo.steps) and "Verdict" in page


def test_cli_demo_prints_the_story_and_writes_the_report(demo, tmp_path, monkeypatch):
    import explorer.demo

    monkeypatch.setattr(explorer.demo, "run_bias_demo", lambda **kwargs: demo)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["demo", "bias", "--out", str(tmp_path)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert demo.steps[-1].title in out.getvalue() and "Verdict:" in out.getvalue()
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
