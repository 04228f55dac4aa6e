"""Shared fixtures: one real analysis per test session, and small hand-built ones.

A real ``explorer.analyze`` pays umap-learn's compile once per process (~10 s), so every test
that needs one shares the session-scoped ``planted_analysis``. Tests of the faces' formatting
use ``tiny_analysis``, built directly from the dataclasses in milliseconds, which also lets
them plant hostile text (HTML, formulas) where a real run would not put it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.analysis import Analysis
from explorer.data import Schema
from explorer.rules import Condition
from explorer.types import Contrast, DataMap, GroupShare, Predictions, Region

HOSTILE = '<script>alert("x")</script>&'


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test session starts with an empty map cache, so no test passes on a stale map."""
    folder = tmp_path_factory.mktemp("explorer-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("EXPLORER_CACHE_DIR", str(folder))
    yield folder
    patch.undo()


@pytest.fixture(scope="session")
def planted_data():
    """A 600-row table with one planted rule-shaped weak region and given predictions."""
    from explorer.datasets import make_planted

    return make_planted(n_rows=600, regions=("rule",), seed=0)


@pytest.fixture(scope="session")
def planted_analysis(planted_data):
    """The one real analysis of the session (read it, never mutate it)."""
    import explorer

    return explorer.analyze(planted_data.frame, target=planted_data.target,
                            prediction="prediction", seed=0)


def _region(region_id: int, rows: np.ndarray, *, description: str,
            rule: tuple[Condition, ...], diagnosis: str | None) -> Region:
    return Region(
        id=region_id, rows=rows, size=len(rows), error_rate=0.6, baseline_error_rate=0.2,
        lift=3.0, p_value=0.001, heldout_error_rate=0.55, heldout_size=len(rows) // 2,
        heldout_interval=(0.4, 0.7), compactness=0.8, excess_errors=float(len(rows)) * 0.4,
        description=description, rule_conditions=rule, rule_precision=0.9 if rule else None,
        rule_coverage=0.7 if rule else None,
        contrasts=[Contrast(feature="x1", effect=1.5, text="x1 is higher than elsewhere")],
        group_shares=[GroupShare(column="city", value=HOSTILE, share_in_region=0.8,
                                 share_overall=0.3, error_rate_in_region=0.7)],
        confusions=[("a", "b", 5)], examples=[int(r) for r in rows[:3]], diagnosis=diagnosis,
        suggested_rows=120 if diagnosis == "collect" else None,
        evidence="error falls as rows are added" if diagnosis else None)


def make_tiny_analysis(*, n_rows: int = 120, with_regions: bool = True,
                       seed: int = 0) -> Analysis:
    """A small, fully specified Analysis with hostile text in a column and a description."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b"], n_rows)
    predicted = np.where(rng.random(n_rows) < 0.2, np.where(label == "a", "b", "a"), label)
    is_error = predicted != label
    frame = pd.DataFrame({
        "x1": rng.normal(size=n_rows),
        "city": rng.choice(["north", "south", HOSTILE], n_rows),
        "label": label,
        "prediction": predicted,
    })
    probabilities = rng.dirichlet([1, 1], n_rows)
    schema = Schema(target="label", task="classification", classes=("a", "b"),
                    prediction="prediction", numeric=("x1",), categorical=("city",),
                    groups=(), ignored={"id": "id-like (unique per row)"})
    predictions = Predictions(predicted=predicted, error=is_error.astype(float),
                              is_error=is_error, probabilities=probabilities,
                              classes=("a", "b"), source="given", score=0.8,
                              score_name="accuracy")
    coords = rng.normal(size=(n_rows, 2))
    regions = []
    if with_regions:
        regions = [
            _region(0, np.arange(0, 30), description=f"city is {HOSTILE}",
                    rule=(Condition("city", "=", HOSTILE),), diagnosis="collect"),
            _region(1, np.arange(50, 70), description="x1 is high", rule=(),
                    diagnosis=None),
        ]
    data_map = DataMap(coords=coords, model_space=coords, n_fitted=n_rows, from_cache=False)
    return Analysis(data=frame, schema=schema, predictions=predictions, map=data_map,
                    regions=regions, baseline_error_rate=float(is_error.mean()), seed=seed,
                    notes=["Column 'id' left out: id-like (unique per row)."])


@pytest.fixture
def tiny_analysis() -> Analysis:
    return make_tiny_analysis()


@pytest.fixture
def empty_analysis() -> Analysis:
    return make_tiny_analysis(with_regions=False)
