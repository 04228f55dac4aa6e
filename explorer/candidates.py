"""What a region finder sees and what it returns, shared by the finders' modules.

:mod:`explorer.regions` runs the finders and tests their candidates; finders that need more
room than one module gives them (:mod:`explorer.ellipsoids`) read the same two types from
here, so neither module imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rules import RuleFeatures

__all__ = ["Candidate", "SearchContext", "continuous_columns", "discovery_evidence",
           "seeded_sample"]


@dataclass(frozen=True)
class Candidate:
    """A proposed region: which rows belong to it, and which finder proposed it."""

    members: np.ndarray
    found_by: str
    hint: str = ""


@dataclass(frozen=True)
class SearchContext:
    """What a finder may look at. ``discovery_errors`` is masked to the discovery half;
    ``model_space`` is the input part of the map's model space (no prediction block)."""

    coords: np.ndarray
    model_space: np.ndarray
    rule_features: RuleFeatures
    discovery_errors: np.ndarray
    discovery: np.ndarray
    baseline: float
    min_size: int
    seed: int


def discovery_evidence(members: np.ndarray, context: SearchContext) -> float:
    """Discovery z-score of a membership mask: excess errors over the baseline, in sds."""
    members = members & context.discovery
    n = members.sum()
    if n == 0:
        return -np.inf
    errors = context.discovery_errors[members].sum()
    p = context.baseline
    return float((errors - n * p) / np.sqrt(n * p * (1 - p)))


def continuous_columns(space: np.ndarray, discovery: np.ndarray) -> list[int]:
    """Columns of ``space`` with more than 10 distinct values among the first 200 discovery
    rows: numbers a line or an ellipsoid can bend through, not one-hot indicators."""
    return [j for j in range(space.shape[1]) if len(np.unique(space[discovery, j][:200])) > 10]


def seeded_sample(rows: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most ``size`` of ``rows``, drawn uniformly by ``seed`` and sorted: a finder's cost
    stays bounded on a large table, and the same seed reads the same rows."""
    rows = np.asarray(rows)
    if rows.size <= size:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))
