"""Regions of earlier iterations (*frozen*), measured again on the data of a later one.

The loop keeps each iteration's regions by their member rows and rule. After a retrain, two
things read them: the before/after comparison (:meth:`explorer.Workspace.retrain`) and the
budget allocation (:func:`explorer.suggest.suggest_regions`), which keeps feeding a region
that is still weak even when it no longer passes a fresh significance test. Both find a
frozen region's rows in the current data with :func:`frozen_members`, so they agree on them.

A region keeps its name (``R3``) from iteration to iteration: :func:`stable_ids` gives a
region found again the name it had, and a new region a number never used before, so a
person following R3 through the loop follows one place in the data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from .diagnose import NEIGHBOURS
from .embed import input_space
from .rules import Condition, Rule
from .stats import jaccard, wilson_interval
from .types import DataMap, Predictions, Region

if TYPE_CHECKING:  # analysis imports suggest, which imports this module
    from .analysis import Analysis

__all__ = ["FrozenRegion", "frozen_members", "still_weak", "stable_ids", "with_stable_ids",
           "RULE_TRUST", "STILL_WEAK_LIFT", "COVERED_JACCARD"]


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
"""A region that overlaps an earlier one this much is that region: it keeps the earlier
name, and the earlier (frozen) copy is not targeted beside it. Half, because a region that
received rows changes at its edge but not at its core."""


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
    (``STILL_WEAK_LIFT``). Each comes back as a :class:`Region` under its own name,
    measured on current rows. The ids are names (:func:`stable_ids`): a frozen region whose
    name a current region bears was found again, and of several copies of a name the newest
    wins; one overlapping a current region (``COVERED_JACCARD``) is dropped too.
    """
    is_error = np.asarray(predictions.is_error, dtype=bool)
    baseline = float(is_error.mean())
    taken = [np.asarray(r.rows, dtype=int) for r in regions]
    names = {r.id for r in regions}
    carried = []
    for old in sorted(frozen, key=lambda r: -r.iteration):
        if old.id in names:
            continue
        rows, assigned = frozen_members(old, frame, data_map)
        if any(jaccard(rows, other) >= COVERED_JACCARD for other in taken):
            continue
        errors = int(is_error[rows].sum())
        low, high = wilson_interval(errors, rows.size, level=0.8)
        rate = errors / rows.size
        if rate <= STILL_WEAK_LIFT * baseline:
            continue
        carried.append(Region(
            id=old.id, rows=rows, size=int(rows.size), error_rate=rate,
            baseline_error_rate=baseline, lift=rate / baseline if baseline else np.inf,
            p_value=float("nan"), heldout_error_rate=rate, heldout_size=int(rows.size),
            heldout_interval=(low, high), compactness=float("nan"),
            excess_errors=rows.size * (rate - baseline),
            found_by=f"frozen in iteration {old.iteration}; new rows {assigned}",
            description=old.description, rule_conditions=old.rule_conditions))
        taken.append(rows)
        names.add(old.id)
    return carried


def stable_ids(regions: list[Region], earlier: list[FrozenRegion]) -> list[int]:
    """The name (id) of each current region, carried over from earlier iterations.

    A region found again keeps the earlier name: it has the same rule, or its rows among
    those the earlier region was found in overlap it by ``COVERED_JACCARD`` (the newest copy
    of each earlier name counts). Pairs are matched best first (same rule, then overlap,
    then importance), each name to one region; every other region gets the next number
    after all names ever used, in importance order, so a name never passes to another place.
    """
    newest = {old.id: old for old in sorted(earlier, key=lambda r: r.iteration)}
    pairs = []
    for index, region in enumerate(regions):
        rows = np.asarray(region.rows, dtype=int)
        text = Rule(region.rule_conditions).text
        for old in newest.values():
            same_rule = bool(text) and text == Rule(old.rule_conditions).text
            overlap = jaccard(rows[rows < old.data_rows], np.asarray(old.rows, dtype=int))
            if same_rule or overlap >= COVERED_JACCARD:
                pairs.append((same_rule, overlap, -index, old.id))
    ids: list[int | None] = [None] * len(regions)
    for _, _, negative_index, name in sorted(pairs, reverse=True):
        if ids[-negative_index] is None and name not in ids:
            ids[-negative_index] = name
    fresh = itertools.count(max(newest, default=0) + 1)
    return [name if name is not None else next(fresh) for name in ids]


def with_stable_ids(analysis: Analysis, earlier: list[FrozenRegion]) -> Analysis:
    """The analysis with its regions, and their diagnoses, under their :func:`stable_ids`.

    For the analysis of a loop's iteration, made without a pool: a collection list would
    still name the regions by their old ids.
    """
    new_id = dict(zip((r.id for r in analysis.regions), stable_ids(analysis.regions, earlier)))
    return replace(analysis, regions=[replace(r, id=new_id[r.id],
                                              parent=new_id.get(r.parent, r.parent))
                                      for r in analysis.regions],
                   diagnoses={new_id[old]: replace(d, region=new_id[old])
                              for old, d in analysis.diagnoses.items()})
