"""The bias story: group metrics, the biased-sampling generator and the guided demo.

The demo test runs the whole pipeline once (module fixture) on the default 12,000-row sample
of Adult and checks its mechanisms, which hold on every seed: the deployed model's weak
region lines up with the under-sampled group, the targeted list holds more of the rows
training lacks than a random list of the same size, the paired comparisons are computed on
the same test rows, and every heading follows the verdict. Whether targeted collection beats
random collection is a claim over seeds: ``python -m benchmarks bias`` measures it.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from explorer import cli
from explorer.bias import make_biased_split
from explorer.demo import SCENARIOS, _verdict, demo_report_html, run_bias_demo
from explorer.errors import DataError, ParameterError
from explorer.groups import gap_between, group_metrics, group_report, largest_gap
from explorer.stats import PairedComparison


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
    assert sum(sizes) + first.left_out == 3000  # the rows training missed are gone
    assert len(first.test) == 750 and len(first.audit) == 600
    assert len(first.pool) == round(0.5 * (3000 - 750 - 600))
    chosen = first.in_group(first.train) & (first.train["income"] == ">50K").to_numpy()
    assert chosen.sum() == first.kept == round(0.1 * (first.kept + first.left_out))
    assert "income" not in first.pool.columns
    # test, audit and pool keep the natural share of the under-sampled rows; training does not
    def share(frame, label):
        return (first.in_group(frame) & (frame[label] == ">50K").to_numpy()).mean()
    natural = share(pd.concat([first.audit, first.test]), "income")
    assert abs(share(first.pool, first.hidden_label) - natural) < 0.03
    assert share(first.train, "income") < natural / 4
    assert str(first.kept) in first.description


def test_generator_errors_name_the_fix():
    with pytest.raises(DataError, match="no column 'planet'"):
        make_biased_split(n_rows=500, group_column="planet")
    with pytest.raises(ParameterError, match="keep_share"):
        make_biased_split(n_rows=500, keep_share=1.5)


@pytest.fixture(scope="module")
def demo():
    return run_bias_demo(seed=0, budget=300)


def test_the_region_step_measures_the_overlap_and_its_heading_follows_it(demo):
    step = next(s for s in demo.steps if s.key == "regions")
    assert step.figures["aligned"] == (step.figures["enrichment"] >= 1.5)
    assert step.title == ("2. The model's weak region is the under-sampled group"
                          if step.figures["aligned"] else
                          "2. Where the model fails (not clearly the under-sampled group)")
    assert step.figures["enrichment"] > 1  # the group is over-represented in its region
    report = group_report(demo.analysis)
    overlap = report.overlap[(report.overlap["column"] == "age_band")
                             & (report.overlap["value"] == "50+")]
    assert overlap["enrichment"].max() == pytest.approx(step.figures["enrichment"])


def test_the_targeted_list_holds_more_of_the_rows_training_lacks(demo):
    by = demo.collected.set_index("strategy")
    assert by.loc["targeted", "under_sampled_rows"] > by.loc["random", "under_sampled_rows"]
    assert by.loc["targeted", "group_share"] > by.loc["random", "group_share"]
    assert demo.steps[2].title == "3. The suggestion engine targets the gap"


def test_retrained_models_are_compared_as_pairs_on_the_same_group_rows(demo):
    errors = demo.errors[demo.errors["value"] == "50+"].set_index("scenario")
    versus = demo.paired["targeted vs random"]
    assert versus.rows == errors.loc["before", "n"] == demo.split.in_group(demo.split.test).sum()
    assert versus.error_rate_first == pytest.approx(errors.loc["after targeted", "error_rate"])
    assert versus.error_rate_second == pytest.approx(errors.loc["after random", "error_rate"])
    before = demo.paired["before vs targeted"]
    assert before.error_rate_first == pytest.approx(errors.loc["before", "error_rate"])
    assert f"McNemar p = {versus.p_value:.2g}" in demo.verdict
    assert list(demo.gaps) == list(SCENARIOS)


def test_headings_follow_the_verdict(demo):
    claim = "5. The gap closes where the data was fixed"
    assert (demo.steps[-1].title == claim) == demo.effect_shown
    assert demo.verdict.startswith("The effect shows" if demo.effect_shown else
                                   "This run does not show")
    # a run whose targeted model did not lower the group's error must not claim the effect,
    # even with a paired p-value that looks strong
    errors = demo.errors.copy()
    targeted = (errors["value"] == "50+") & (errors["scenario"] == "after targeted")
    before = errors.loc[(errors["value"] == "50+") & (errors["scenario"] == "before"),
                        "error_rate"].iloc[0]
    errors.loc[targeted, "error_rate"] = before + 0.01
    versus = PairedComparison(500, 0.3, 0.2, 60, 10, 0.1, (0.06, 0.14), 1e-9)
    shown, verdict = _verdict(demo.split, errors, demo.gaps, versus)
    assert not shown and verdict.startswith("This run does not show the effect: targeted "
                                            "collection did not lower")


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
