"""Readable rules: the text a person reads selects exactly the rows it claims to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.data import infer_schema
from explorer.rules import Condition, Rule, RuleFeatures, best_rule


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.integers(18, 90, n), "x": rng.normal(size=n),
                         "region": rng.choice(["north", "south", "east"], n),
                         "segment": rng.choice(["common", "rare"], n, p=[0.8, 0.2]),
                         "label": rng.choice([0, 1], n)})


def test_best_rule_recovers_a_two_condition_slice():
    data = frame()
    members = ((data["age"] > 60) & (data["region"] == "north")).to_numpy()
    features = RuleFeatures.from_frame(data, infer_schema(data, target="label"))
    fit = best_rule(features, members)
    assert "region = north" in fit.rule.text and "age > " in fit.rule.text
    assert fit.precision == 1.0 and fit.coverage == 1.0
    assert np.array_equal(fit.selected, members)


def test_two_valued_category_reads_as_equality():
    data = frame()
    members = (data["segment"] == "rare").to_numpy()
    features = RuleFeatures.from_frame(data, infer_schema(data, target="label"))
    assert best_rule(features, members).rule.text == "segment = rare"


def test_no_rule_for_random_members():
    data = frame()
    members = np.random.default_rng(1).random(len(data)) < 0.2
    fit = best_rule(RuleFeatures.from_frame(data, infer_schema(data, target="label")), members)
    f1 = 2 * fit.precision * fit.coverage / (fit.precision + fit.coverage)
    assert f1 < 0.5


def _fitted_with_missing_values():
    """A two-part rule on numbers and a category, with missing numbers in one column."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 90, 800),
                          "city": rng.choice(["north", "south", "east"], 800),
                          "score": rng.integers(0, 100, 800).astype(float)})
    frame.loc[::17, "score"] = np.nan
    members = ((frame["age"] > 60) & (frame["city"] != "east")).to_numpy() | \
        ((frame["score"] <= 20) & (frame["age"] <= 40)).to_numpy()
    schema = infer_schema(frame.assign(label=members.astype(int)), target="label")
    return frame, best_rule(RuleFeatures.from_frame(frame, schema), members, seed=0)


def test_a_rule_selects_the_rows_the_tree_selected_and_so_does_its_text_read_back():
    frame, fit = _fitted_with_missing_values()
    assert " and " in fit.rule.text
    np.testing.assert_array_equal(fit.rule.mask(frame), fit.selected)
    parsed = Rule.parse(fit.rule.text)
    assert parsed.text == fit.rule.text
    np.testing.assert_array_equal(parsed.mask(frame), fit.selected)
    assert Rule.from_json(fit.rule.to_json()) == fit.rule


def test_rule_text_grammar():
    rule = Rule((Condition("city", "!=", "east"), Condition("age", ">", 20.0),
                 Condition("age", "<=", 40.5), Condition("income", ">", 123456.0)))
    assert rule.text == "city != east and 20 < age <= 40.5 and income > 123,456"
    assert Rule.parse(rule.text) == rule
    assert Rule.parse("age is old") is None and Rule.parse("age > old") is None


def test_a_rule_reads_missing_values_as_rule_features_do_and_needs_its_columns():
    frame = pd.DataFrame({"age": [20, np.nan, 50], "city": ["north", None, "south"]})
    assert Rule((Condition("height", ">", 2.0),)).mask(frame) is None
    missing = Rule((Condition("city", "=", "(missing)"), Condition("age", "<=", 35.0)))
    assert missing.mask(frame).tolist() == [False, True, False]  # age's median is 35
