"""Readable rules: the text a person reads selects exactly the rows it claims to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.data import infer_schema
from explorer.rules import RuleFeatures, best_rule


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
    rule = best_rule(features, members)
    assert "region = north" in rule.text and "age > " in rule.text
    assert rule.precision == 1.0 and rule.coverage == 1.0
    assert np.array_equal(rule.selected, members)


def test_two_valued_category_reads_as_equality():
    data = frame()
    members = (data["segment"] == "rare").to_numpy()
    features = RuleFeatures.from_frame(data, infer_schema(data, target="label"))
    assert best_rule(features, members).text == "segment = rare"


def test_no_rule_for_random_members():
    data = frame()
    members = np.random.default_rng(1).random(len(data)) < 0.2
    rule = best_rule(RuleFeatures.from_frame(data, infer_schema(data, target="label")), members)
    f1 = 2 * rule.precision * rule.coverage / (rule.precision + rule.coverage)
    assert f1 < 0.5
