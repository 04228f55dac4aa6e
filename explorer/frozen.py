"""Regions of earlier iterations (*frozen*), measured again on the data of a later one.

The loop keeps each iteration's regions by their member rows and rule. After a retrain, two
things read them: the before/after comparison (:meth:`explorer.Workspace.retrain`) and the
budget allocation (:func:`explorer.suggest.suggest_regions`), which keeps feeding a region
that is still weak even when it no longer passes a fresh significance test. Both find a
frozen region's rows in the current data with :func:`frozen_members`, so they agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from .diagnose import NEIGHBOURS
from .embed import input_space
from .regions import wilson_interval
from .rules import Condition, Rule
from .types import DataMap, Predictions, Region

__all__ = ["FrozenRegion", "frozen_members", "still_weak", "RULE_TRUST", "STILL_WEAK_LIFT",
           "COVERED_JACCARD"]


@dataclass(frozen=True)
class FrozenRegion:
    """A region found in an earlier iteration, kept by its member rows and its rule.

    ``rows`` are positions in that iteration's training data, which later data only extends,
    so they still point at the same rows; rows from position ``data_rows`` on arrived later.
    """

    id: int
    iteration: int
    rows: np.ndarray
    data_rows: int
    rule_conditions: tuple[Condition, ...] = ()
    description: str = ""


RULE_TRUST = 0.8
"""A frozen region's rule assigns new rows when, on the rows the region was found in, at
least this share of the rows it selects were members; a looser rule would pull in outsiders,
so new rows then go by their nearest old rows instead."""
STILL_WEAK_LIFT = 1.1
"""A frozen region stays weak while its current out-of-fold error is above this many times
the baseline error. The point estimate, not the interval's lower end: the region was already
shown to be weak, and its error on the rows collected for it is measured on few rows, so
asking for fresh significance dropped regions that were still twice as wrong as the rest on
held-out data (coverage-gap benchmark). Whether it gets more rows is then the learning
curve's call."""
COVERED_JACCARD = 0.5
"""A frozen region that overlaps a current (or newer frozen) region this much is that
region: it is not targeted twice."""


def frozen_members(region: FrozenRegion, frame: pd.DataFrame, data_map: DataMap
                   ) -> tuple[np.ndarray, str]:
    """The frozen region's rows in the current data, and how new rows were assigned.

    Its own rows stay members. A row added since (position ``data_rows`` on) joins by the
    region's rule when the rule is precise on the old rows (``RULE_TRUST``): a rule is exact
    where it holds, while neighbours blur a region's edge. Otherwise it joins when most of
    its ``NEIGHBOURS`` nearest old rows in input space are members. It takes the map, not a
    space, so that the budget allocation and the before/after comparison cannot find the
    neighbours in different spaces (with the prediction block, a new row's neighbours are
    the rows the model scored alike, not the rows that look alike).
    """
    old = np.asarray(region.rows, dtype=int)
    new = np.arange(region.data_rows, len(frame))
    if new.size == 0:
        return np.sort(old), "no new rows"
    member = np.zeros(region.data_rows, dtype=bool)
    member[old] = True
    selected = Rule(region.rule_conditions).mask(frame) if region.rule_conditions else None
    if selected is not None and selected[:region.data_rows].any():
        precision = float(member[selected[:region.data_rows]].mean())
        if precision >= RULE_TRUST:
            return np.concatenate([np.sort(old), new[selected[new]]]), \
                f"by its rule (precision {precision:.0%})"
    k = min(NEIGHBOURS, region.data_rows)
    features = input_space(data_map)
    near = NearestNeighbors(n_neighbors=k).fit(features[:region.data_rows]).kneighbors(
        features[new], return_distance=False)
    return np.concatenate([np.sort(old), new[member[near].mean(axis=1) > 0.5]]), \
        "by nearest neighbours"


def still_weak(frozen: list[FrozenRegion], regions: list[Region], frame: pd.DataFrame,
               predictions: Predictions, data_map: DataMap) -> list[Region]:
    """Frozen regions whose current out-of-fold error is still above the baseline.

    A region that received rows may no longer pass a fresh significance test (its error
    fell, the search's threshold did not) and yet still err far more than the rest; this
    keeps such regions in the allocation while their measured error says so
    (``STILL_WEAK_LIFT``). Each comes
    back as a :class:`Region` with a new id (after ``regions``' ids), measured on current
    rows; the newest copy of a region wins and one overlapping a current region is dropped.
    """
    is_error = np.asarray(predictions.is_error, dtype=bool)
    baseline = float(is_error.mean())
    taken = [np.asarray(r.rows, dtype=int) for r in regions]
    next_id = max([r.id for r in regions], default=0) + 1
    carried = []
    for old in sorted(frozen, key=lambda r: -r.iteration):
        rows, assigned = frozen_members(old, frame, data_map)
        if any(_jaccard(rows, other) >= COVERED_JACCARD for other in taken):
            continue
        errors = int(is_error[rows].sum())
        low, high = wilson_interval(errors, rows.size, level=0.8)
        rate = errors / rows.size
        if rate <= STILL_WEAK_LIFT * baseline:
            continue
        carried.append(Region(
            id=next_id, rows=rows, size=int(rows.size), error_rate=rate,
            baseline_error_rate=baseline, lift=rate / baseline if baseline else np.inf,
            p_value=float("nan"), heldout_error_rate=rate, heldout_size=int(rows.size),
            heldout_interval=(low, high), compactness=float("nan"),
            excess_errors=rows.size * (rate - baseline),
            found_by=f"frozen R{old.id} of iteration {old.iteration}; new rows {assigned}",
            description=old.description, rule_conditions=old.rule_conditions))
        taken.append(rows)
        next_id += 1
    return carried


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 0.0
