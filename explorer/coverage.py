"""Coverage gaps: where new data (the pool) is dense and the training data thin.

A model cannot be shown to err where it has seen a handful of rows: seven training rows
never pass an error test. The pool shows such a gap anyway, because deployment brings many
rows where training has almost none. This is the data engine's first question, so gaps are
found from the pool, not from errors, and reported as their own kind of region.

The finder is a classifier telling pool rows from training rows, cross-fitted on halves:
a shallow tree over the readable columns (``rules.RuleFeatures``, so every gap has an exact
rule) is grown on the *discovery* half of both tables; each of its nodes where pool rows are
over-represented is a candidate. On the *confirmation* half, which the tree never saw, a
one-sided binomial test asks whether pool rows outnumber training rows there by more than
``MIN_RATIO`` times their overall proportion; Benjamini-Hochberg controls the false
discovery rate across candidates. A pool drawn like the training data gives no gap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control
from sklearn.tree import DecisionTreeClassifier

from .data import Schema
from .diagnose import diagnose_coverage_gap
from .rules import Rule, RuleFeatures, node_members, node_rules
from .suggest import diagnosed
from .stats import binomial_tail, wilson_interval
from .types import Region

__all__ = ["CoverageGap", "find_coverage_gaps", "coverage_regions", "add_coverage_gaps",
           "with_coverage_gaps", "rows_to_match_share"]

MIN_RATIO = 2.0
"""The null hypothesis of the test: the pool's share of a gap is at most twice training's.
Under-coverage by less than that is ordinary sampling drift, not a gap worth a budget; a
pool drawn like training (ratio 1) is far inside it, so it gives nothing."""
DISCOVERY_RATIO = 3.0
"""Only nodes where the pool's share is at least three times training's on the discovery
half are tested: the candidates must look like gaps before the test spends power on them."""
MIN_POOL_SHARE = 0.005
"""A gap holds at least 0.5% of the pool: rarer rows cannot buy much of any budget."""
TREE_DEPTH = 3
"""Three conditions read as one sentence and carve a subgroup inside a subgroup."""
MIN_LEAF_SHARE = 0.002
"""Leaves of at least 0.2% of the discovery rows (and 10 rows): fine enough for a 0.5%
gap, coarse enough that a leaf is not one odd row."""
SAME_GAP = 0.5
"""A significant node with at least half its pool rows inside a larger gap is part of it
(a tree splits a gap further when it can): the gap missing more rows is kept."""
MAX_GAPS = 5
"""Gaps beyond the five largest are small and would crowd the list of regions."""


@dataclass(frozen=True)
class CoverageGap:
    """A rule whose rows are far more common in the pool than in training, and the proof."""

    rule: Rule
    training_rows: np.ndarray
    pool_rows: np.ndarray
    training_share: float
    pool_share: float
    p_value: float


def find_coverage_gaps(frame: pd.DataFrame, pool: pd.DataFrame, schema: Schema, *,
                       seed: int, alpha: float = 0.05) -> list[CoverageGap]:
    """The tested coverage gaps of ``frame`` (training) against ``pool``, largest first.

    Largest means most rows missing from training: the pool's share minus training's,
    times the training rows. ``pool`` must already be aligned to ``frame``'s schema.
    """
    combined = pd.concat([frame[list(schema.features)], pool[list(schema.features)]],
                         ignore_index=True)
    features = RuleFeatures.from_frame(combined, schema)
    is_pool = np.r_[np.zeros(len(frame), bool), np.ones(len(pool), bool)]
    rng = np.random.default_rng(seed)
    discovery = np.zeros(len(combined), bool)
    for part in (np.flatnonzero(~is_pool), np.flatnonzero(is_pool)):  # halves of each table
        discovery[rng.permutation(part)[: part.size // 2]] = True
    if features.matrix.shape[1] == 0 or min(is_pool[discovery].sum(),
                                             (~is_pool[discovery]).sum()) < 2:
        return []
    tree = DecisionTreeClassifier(
        max_depth=TREE_DEPTH, class_weight="balanced", random_state=seed,
        min_samples_leaf=max(10, int(MIN_LEAF_SHARE * discovery.sum())))
    tree.fit(features.matrix[discovery], is_pool[discovery])
    passes = node_members(tree, features.matrix)
    rules = node_rules(tree, features)
    held = ~discovery
    pool_total = np.count_nonzero(held & is_pool)
    null_share = MIN_RATIO * pool_total / (MIN_RATIO * pool_total
                                           + np.count_nonzero(held & ~is_pool))
    candidates, p_values = [], []
    for node, rule in rules.items():
        inside = passes[:, node]
        found = _shares(inside, is_pool, discovery)
        if found[1] < MIN_POOL_SHARE or found[1] < DISCOVERY_RATIO * found[0]:
            continue
        pool_in = int(np.count_nonzero(inside & held & is_pool))
        training_in = int(np.count_nonzero(inside & held & ~is_pool))
        candidates.append((node, rule))
        p_values.append(float(binomial_tail(pool_in, pool_in + training_in, null_share))
                        if pool_in else 1.0)
    if not candidates:
        return []
    adjusted = false_discovery_control(np.asarray(p_values), method="bh")
    gaps = []
    for (node, rule), p_value in zip(candidates, adjusted):
        if p_value >= alpha:
            continue
        inside = passes[:, node]
        training_share, pool_share = _shares(inside, is_pool, np.ones(len(combined), bool))
        if pool_share < MIN_POOL_SHARE:
            continue
        gaps.append(CoverageGap(
            rule=rule, training_rows=np.flatnonzero(inside[: len(frame)]),
            pool_rows=np.flatnonzero(inside[len(frame):]), training_share=training_share,
            pool_share=pool_share, p_value=float(p_value)))
    gaps.sort(key=lambda g: -(g.pool_share - g.training_share))
    kept: list[CoverageGap] = []
    for gap in gaps:
        if all(np.isin(gap.pool_rows, other.pool_rows).mean() < SAME_GAP for other in kept):
            kept.append(gap)
    return kept[:MAX_GAPS]


def _shares(inside: np.ndarray, is_pool: np.ndarray, among: np.ndarray) -> tuple[float, float]:
    """(training share, pool share) of the rows ``inside``, counted among the rows ``among``."""
    def share(table: np.ndarray) -> float:
        return np.count_nonzero(inside & among & table) / max(np.count_nonzero(among & table), 1)

    return share(~is_pool), share(is_pool)


def rows_to_match_share(gap_training_rows: int, training_rows: int, pool_share: float) -> int:
    """Rows to add so the gap holds the pool's share of training: (s*N - t) / (1 - s)."""
    return max(0, int(np.ceil((pool_share * training_rows - gap_training_rows)
                              / (1 - pool_share))))


def coverage_regions(gaps: list[CoverageGap], is_error: np.ndarray, *, first_id: int
                     ) -> list[Region]:
    """The gaps as regions of kind ``"coverage"``, numbered from ``first_id``.

    Their error figures come from the few training rows inside (often too few to test, which
    is why the pool found them); ``p_value`` is the coverage test's.
    """
    baseline = float(np.mean(is_error))
    regions = []
    for offset, gap in enumerate(gaps):
        size = len(gap.training_rows)
        errors = int(np.count_nonzero(is_error[gap.training_rows]))
        error_rate = errors / size if size else float("nan")
        missing = rows_to_match_share(size, len(is_error), gap.pool_share)
        seen = (f"the model erred on {errors} of them ({error_rate:.0%}, {baseline:.0%} "
                f"overall)" if size else "so its error there is unknown")
        regions.append(Region(
            id=first_id + offset, rows=gap.training_rows, size=size, error_rate=error_rate,
            baseline_error_rate=baseline,
            lift=error_rate / baseline if size and baseline else float("nan"),
            p_value=gap.p_value, heldout_error_rate=error_rate, heldout_size=size,
            heldout_interval=wilson_interval(errors, size) if size else (0.0, 1.0),
            compactness=float("nan"), excess_errors=0.0, found_by="coverage (pool vs training)",
            kind="coverage", rule_conditions=gap.rule.conditions, rule_precision=1.0,
            rule_coverage=1.0, pool_share=gap.pool_share, training_share=gap.training_share,
            suggested_rows=missing,
            description=(f"Under-covered: {gap.rule.text} holds {gap.pool_share:.1%} of the "
                         f"new data but {gap.training_share:.1%} of training ({size} rows); "
                         f"{seen}. About {missing:,} labelled rows would bring it to the new "
                         f"data's share.")))
    return regions


def add_coverage_gaps(regions: list[Region], frame: pd.DataFrame, pool: pd.DataFrame,
                      schema: Schema, is_error: np.ndarray, *, seed: int, alpha: float = 0.05
                      ) -> list[Region]:
    """``regions`` followed by the tested coverage gaps of ``pool``, numbered after them."""
    gaps = find_coverage_gaps(frame, pool, schema, seed=seed, alpha=alpha)
    return regions + coverage_regions(gaps, is_error,
                                      first_id=max((r.id for r in regions), default=0) + 1)


def with_coverage_gaps(analysis, pool: pd.DataFrame, *, alpha: float = 0.05):
    """An :class:`~explorer.Analysis` made without a pool, with ``pool``'s gaps added.

    The workspace analyses its grown training table alone and chooses rows from the pool
    afterwards; this gives that loop the same gaps, diagnosed, that ``analyze(pool=...)``
    finds. ``pool`` holds the rows still unlabelled, aligned to the analysis's schema.
    """
    regions = add_coverage_gaps(analysis.regions, analysis.data, pool, analysis.schema,
                                analysis.predictions.is_error, seed=analysis.seed, alpha=alpha)
    gaps = regions[len(analysis.regions):]
    diagnoses = {g.id: diagnose_coverage_gap(g) for g in gaps}
    return dataclasses.replace(
        analysis, regions=analysis.regions + diagnosed(gaps, diagnoses, pool_given=True),
        diagnoses={**analysis.diagnoses, **diagnoses})
