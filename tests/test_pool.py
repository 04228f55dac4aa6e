"""Scoring a pool: the same scores as the placement the collection list was built on.

``tests/pinned/pool_placement.npz`` holds ``suggest.place_pool``'s outputs on small data as
they were before the placement was split into a fitted scorer (``explorer.pool``). If a change
to them is intended (a dependency's new version, a deliberate change to the placement),
rewrite the file with ``EXPLORER_REPIN=1 pytest tests/test_pool.py`` and say why in the
commit.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from explorer.data import infer_schema
from explorer.datasets import make_planted
from explorer.embed import model_space_only
from explorer.model import honest_predictions
from explorer.rules import Condition
from explorer.suggest import place_pool
from explorer.types import Region

PINNED = Path(__file__).parent / "pinned" / "pool_placement.npz"
PLACEMENT_FIELDS = ("model_space", "coords", "probabilities", "coverage", "error_risk")


def _region(region_id: int, rows, *, kind: str = "error", rule=()) -> Region:
    rows = np.sort(np.asarray(rows, dtype=int))
    return Region(id=region_id, rows=rows, size=len(rows), error_rate=0.5,
                  baseline_error_rate=0.1, lift=2.0, p_value=0.01, heldout_error_rate=0.5,
                  heldout_size=len(rows) // 2, heldout_interval=(0.3, 0.7), compactness=0.8,
                  excess_errors=10.0, kind=kind, rule_conditions=rule)


@pytest.fixture(scope="module")
def placed_inputs():
    """600 labelled rows with a planted region, a map fitted on every other row (no UMAP:
    the placement reads only the fitted rows' coordinates), two error regions and one
    coverage gap, and a 300-row pool with missing incomes and a device the data never saw."""
    data = make_planted(n_rows=600, regions=("rule",), seed=0)
    frame = data.frame
    schema = infer_schema(frame, target="label", prediction="prediction")
    predictions = honest_predictions(frame, schema, seed=0)
    data_map = dataclasses.replace(model_space_only(frame, schema, predictions),
                                   fitted_rows=np.arange(0, len(frame), 2))
    regions = [_region(1, data.planted["rule"]), _region(2, np.flatnonzero(frame["x1"] > 1)),
               _region(3, [], kind="coverage", rule=(Condition("age", ">", 60.0),
                                                     Condition("region", "=", "north")))]
    pool = make_planted(n_rows=300, regions=("rule",), seed=1).frame.drop(
        columns=["label", "prediction"])
    pool.loc[::7, "income"] = np.nan
    pool.loc[::11, "device"] = "watch"
    return pool, frame, schema, predictions, data_map, regions


def test_the_placement_gives_the_pinned_outputs(placed_inputs):
    placement = place_pool(*placed_inputs, seed=7)
    if os.environ.get("EXPLORER_REPIN") == "1":
        np.savez(PINNED, region_ids=np.array(placement.region_ids),
                 **{name: getattr(placement, name) for name in PLACEMENT_FIELDS})
        pytest.skip("pinned placement rewritten; commit tests/pinned/pool_placement.npz")
    with np.load(PINNED, allow_pickle=False) as pinned:
        assert tuple(pinned["region_ids"]) == placement.region_ids
        for name in PLACEMENT_FIELDS:
            np.testing.assert_array_equal(getattr(placement, name), pinned[name],
                                          err_msg=f"{name} moved from the pinned placement")
