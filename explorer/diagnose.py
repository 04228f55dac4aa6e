"""What kind of data fixes a region: more rows, reviewed labels, or new information.

Checked in this order because the earlier causes also look like the later ones:

- ``add_information``: near-identical rows (in the model's feature space) carry different
  labels. No amount of rows with the same columns separates them, and flipped labels would
  look the same to a neighbour vote, so this is checked first.
- ``relabel``: the model confidently predicts another class than the label, and the row's
  nearest neighbours agree with the model (confident learning). The rows to review are listed.
- ``check_model`` (classification): the baseline model, trained with the region's own
  rows, already errs there no more than ``MIN_LIFT`` times the baseline (the upper end of
  its 95% interval), while the predictions analysed err more. The rows are learnable
  from the columns given, so the model that made the predictions lacks something else (rows
  like these in its own training data, its features, its fit), and more labelled rows are
  not shown to help. Only given predictions (another model's) can show it: the baseline's
  own out-of-fold predictions are what the curve measures.
- ``collect``: otherwise. A learning curve measured *inside* the region (each region row's
  held-out error, pooled over folds, as more of its rows are trained on) gives the rows
  needed to bring its error down to ``MIN_LIFT`` times the baseline, where it would no longer
  count as a region; a bootstrap over the region's rows gives the range, and a curve that
  does not fall beyond its noise is reported as flat, with no count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from .data import Schema
from .model import baseline_model, encode_target, model_inputs
from .neighbours import NeighbourGraph, NeighbourSearch, neighbours_of
from .regions import MIN_LIFT
from .stats import wilson_interval
from .types import Predictions, Region

__all__ = ["DIAGNOSIS_TITLES", "advice_title", "FIRST_BATCH", "Diagnosis",
           "diagnose_coverage_gap", "diagnose_region", "learning_curve",
           "NEIGHBOURS", "CURVE_FOLDS"]

DIAGNOSIS_TITLES = {
    "collect": "Collect more rows like these",
    "relabel": "Review the labels of these rows",
    "add_information": "Add information: new features or a different measurement",
    "check_model": "Learnable here: check the model that made the predictions",
}
"""What each diagnosis asks a person to do, in the words every face (app, report) shows;
:func:`advice_title` refines the collect case by its evidence."""
FIRST_BATCH = 100
"""Rows to label when a curve gives no count: one default suggestion's budget, enough to
measure the region's curve again on more rows."""

NEIGHBOURS = 10
CONFIDENT = 0.7
"""A prediction counts as confident at this top-class probability (confident learning)."""
NEIGHBOUR_DISAGREE = 0.3
"""A label is contradicted when at most this share of its neighbours carry it."""
TWIN_DISTANCE = 0.05
"""Rows closer than this share of the typical nearest-neighbour distance are near-identical."""
CAUSE_SHARE = 0.4
"""A cause (conflicting twins, suspect labels) explains a region when it covers this share of
the region's errors."""
CURVE_FRACTIONS = (0.25, 0.5, 1.0)
"""Shares of the other folds' region rows trained on: three points show whether the curve
bends, two cannot."""
CURVE_FOLDS = 3
CURVE_MAX_OTHER_ROWS = 1000
"""Rows outside the region used to train each curve point: enough to learn the common rule,
few enough that a region's nine fits cost a few seconds."""
BOOTSTRAP = 200
FLAT_SLOPE = 0.01
"""A fitted ``error = a * n ** -b`` with ``b`` at most this is flat: no finite estimate."""
FALLING_CONFIDENCE = 0.8
"""Share of bootstrap fits that must fall for the curve to count as falling."""
MAX_ESTIMATE_FACTOR = 50
"""Estimates beyond 50 times the region's rows are reported as 'more than' that."""
GAP_CURVE_EXPONENT = 0.5
"""The prior learning rate of a coverage gap, whose rows are too few for a curve: excess
error falling as ``n ** -0.5``, the textbook rate of estimating from ``n`` samples. The
error regions' measured curves fall far slower (on 3 seeds each of the planted and
coverage-gap tables, 18 curves: ``b`` from 0 to 0.22, median 0.01), so a gap the model has
barely seen outbids regions it has seen many rows of, until its rows grow."""

@dataclass
class Diagnosis:
    """What kind of data fixes a region, how much, and the evidence, in plain words.

    ``suggested_rows`` is the median estimate of how many more labelled rows like the
    region's bring its error to ``target_error``, and ``interval`` its 10th-90th percentile
    over a bootstrap of the region's held-out rows (None as an end: no finite estimate).
    ``curve`` holds the pooled points ``(region rows trained on, held-out error)``; ``flat``
    says the curve does not fall beyond its noise, so ``suggested_rows`` stays None.
    """

    region: int
    kind: str
    evidence: str
    suggested_rows: int | None = None
    interval: tuple[int | None, int | None] | None = None
    target_error: float | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    rows_to_review: list[int] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    curve_params: tuple[float, float] | None = None
    """(a, b) of the fitted ``error = a * n ** -b``, for the budget allocation."""
    flat: bool = False


def advice_title(kind: str | None, suggested_rows: int | None) -> str:
    """The heading of a region's advice, as sure as its evidence: a count only when the
    learning curve gave a bounded one, else "unclear" with the next step."""
    if kind == "collect":
        if suggested_rows is None:
            return f"Unclear: label a first batch of {FIRST_BATCH} rows and measure again"
        return f"Collect about {suggested_rows:,} more rows like these"
    return DIAGNOSIS_TITLES.get(kind, "Not diagnosed")


# --- diagnosis -----------------------------------------------------------------------------

def diagnose_coverage_gap(region: Region) -> Diagnosis:
    """A coverage gap's diagnosis: collect; its count brings it to the pool's share.

    Its few training rows can fit no learning curve, and relabelling or new columns cannot
    help where there are no rows: the data the model lacks is the fix. For the budget it
    gets a prior curve instead: from the upper end of its few rows' error interval (the
    worst plausible error: a model barely shown such rows may be no better than chance),
    falling at the textbook rate ``GAP_CURVE_EXPONENT``, so it competes with the error
    regions' measured curves by expected gain.
    """
    start = wilson_interval(int(round(region.error_rate * region.size)), region.size)[1] \
        if region.size else 1.0
    trained_on = max(region.size, 1) * (CURVE_FOLDS - 1) / CURVE_FOLDS
    return Diagnosis(
        region=region.id, kind="collect", suggested_rows=region.suggested_rows,
        curve_params=(start * trained_on ** GAP_CURVE_EXPONENT, GAP_CURVE_EXPONENT),
        evidence=(f"New data holds {region.pool_share:.1%} rows like these, training "
                  f"{region.training_share:.1%} ({region.size} rows): too few to learn from "
                  f"or to test the model on. About {region.suggested_rows:,} more would "
                  f"bring training to the new data's share; the next analysis then shows "
                  f"whether the model still errs there."))


def diagnose_region(region: Region, frame: pd.DataFrame, schema: Schema,
                    predictions: Predictions, features: np.ndarray, *, seed: int,
                    neighbours: NeighbourSearch | NeighbourGraph | None = None,
                    curve: bool = True) -> Diagnosis:
    """Diagnose one region; see the module docstring for the order of the checks.

    Parameters
    ----------
    region : Region
        Its ``rows`` and ``baseline_error_rate`` are read.
    frame, schema, predictions
        The analysed table and what the model said about every row.
    features : ndarray of shape (n_rows, n_dims)
        Rows in input space (see :func:`~explorer.embed.input_space`).
    neighbours : NeighbourSearch or NeighbourGraph, optional
        The rows' nearest rows in ``features`` (:func:`~explorer.neighbours.neighbours_of`,
        made when missing), passed in so several regions share one search.
    curve : bool
        Measure the learning curve for a ``collect`` diagnosis (it trains models: seconds).
    """
    if neighbours is None:
        neighbours = neighbours_of(features, seed=seed)
    members = np.asarray(region.rows, dtype=int)
    errors = int(predictions.is_error[members].sum())
    if schema.is_classification:
        labels = encode_target(frame[schema.target], schema)
        twins = _conflicting_twins(members, labels, neighbours)
        if twins.size >= max(3, CAUSE_SHARE * errors):
            columns = _unseparating_columns(frame, schema, twins, labels, neighbours)
            return Diagnosis(region.id, "add_information", columns=columns, evidence=(
                f"{twins.size} of its {members.size} rows have a near-identical row with a "
                f"different label, so more rows with the same columns cannot separate them. "
                f"The columns {', '.join(columns[:6])} do not tell them apart: add a feature "
                f"or a better measurement."))
        suspects = _suspect_labels(members, labels, predictions, features, neighbours)
        if suspects.size >= max(3, CAUSE_SHARE * errors):
            return Diagnosis(region.id, "relabel", rows_to_review=suspects.tolist(), evidence=(
                f"{suspects.size} of its {errors} errors are rows where the model confidently "
                f"predicts another class and the nearest neighbours' labels agree with the "
                f"model: review those labels (rows {_shown(suspects)})."))
    if not curve:
        return Diagnosis(region.id, "collect", evidence="Collect more rows like these "
                         "(no learning curve measured for this region).")
    return _collect(region, frame, schema, seed=seed)


def _shown(rows: np.ndarray) -> str:
    return ", ".join(map(str, rows[:8])) + (" ..." if rows.size > 8 else "")


def _nearest(neighbours: NeighbourSearch | NeighbourGraph, rows: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, indices)`` of each of ``rows``' ``NEIGHBOURS`` nearest rows, itself
    first."""
    return neighbours.of(rows, min(NEIGHBOURS + 1, neighbours.n_rows))


def _conflicting_twins(members: np.ndarray, labels: np.ndarray,
                       neighbours: NeighbourSearch | NeighbourGraph) -> np.ndarray:
    """Region rows with a near-identical row (anywhere) of another label."""
    distances, indices = _nearest(neighbours, members)
    tolerance = max(TWIN_DISTANCE * neighbours.typical_distance, 1e-9)
    near = distances[:, 1:] <= tolerance
    other = labels[indices[:, 1:]] != labels[members][:, None]
    return members[(near & other).any(axis=1)]


def _unseparating_columns(frame: pd.DataFrame, schema: Schema, twins: np.ndarray,
                          labels: np.ndarray, neighbours: NeighbourSearch | NeighbourGraph
                          ) -> list[str]:
    """Feature columns on which most conflicting twin pairs have the same value."""
    _, indices = _nearest(neighbours, twins)
    partner = np.array([next(j for j in near[1:] if labels[j] != labels[i])
                        for i, near in zip(twins, indices)])
    columns = []
    for column in schema.features:
        a, b = frame[column].to_numpy()[twins], frame[column].to_numpy()[partner]
        if pd.api.types.is_numeric_dtype(frame[column]):
            spread = float(np.nanstd(frame[column].to_numpy(dtype=float))) or 1.0
            same = np.abs(a.astype(float) - b.astype(float)) <= 0.01 * spread
        else:
            same = a.astype(str) == b.astype(str)
        if same.mean() >= 0.9:
            columns.append(column)
    return columns or list(schema.features)


def _suspect_labels(members: np.ndarray, labels: np.ndarray, predictions: Predictions,
                    features: np.ndarray, neighbours: NeighbourSearch | NeighbourGraph
                    ) -> np.ndarray:
    """Errors where the model is confident and the neighbours' labels side with it.

    Both the nearest rows overall and the nearest rows *inside the region* must contradict
    the label. The second condition separates flipped labels from a thinly covered segment
    with its own rule: there the model is confidently wrong and the (mostly outside) global
    neighbours side with it, but the segment's own rows agree with each other.
    """
    wrong = members[predictions.is_error[members]]
    if predictions.probabilities is not None:
        wrong = wrong[predictions.probabilities[wrong].max(axis=1) >= CONFIDENT]
    if wrong.size == 0 or members.size < 3:
        return wrong
    global_labels = labels[_nearest(neighbours, wrong)[1][:, 1:]]
    k = min(NEIGHBOURS + 1, members.size)
    inner = NearestNeighbors(n_neighbors=k).fit(features[members]).kneighbors(
        features[wrong], return_distance=False)
    region_labels = labels[members[inner[:, 1:]]]
    own = labels[wrong][:, None]
    contradicted = (((global_labels == own).mean(axis=1) <= NEIGHBOUR_DISAGREE)
                    & ((region_labels == own).mean(axis=1) <= NEIGHBOUR_DISAGREE))
    return np.sort(wrong[contradicted])


def learning_curve(frame: pd.DataFrame, schema: Schema, members: np.ndarray, *, seed: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Held-out error of each region row as more of the region's rows are trained on.

    The region's rows are split into ``CURVE_FOLDS`` folds; for each held-out fold the model
    is trained on the rows outside the region (a seeded sample of at most
    ``CURVE_MAX_OTHER_ROWS``) plus a growing share (``CURVE_FRACTIONS``) of the other folds.
    Every region row is held out exactly once per fraction, so the folds pool into one curve
    whose points each rest on all the region's rows (a per-fold curve rests on a third), and
    the rows can be bootstrapped.

    Returns
    -------
    sizes : ndarray of shape (n_fractions,)
        Region rows trained on at each fraction (mean over folds).
    errors : ndarray of shape (n_fractions, n_members)
        Each region row's held-out error (0/1, or the absolute error for regression) at each
        fraction, columns in the order of ``members``.

    Fits run on one thread: on a busy 2-core machine histogram boosting's OpenMP threads
    made a fit 4-15 times slower than a single thread (measured 2026-11-21).
    """
    rng = np.random.default_rng(seed)
    inside = np.zeros(len(frame), dtype=bool)
    inside[members] = True
    others = np.flatnonzero(~inside)
    if others.size > CURVE_MAX_OTHER_ROWS:
        others = rng.choice(others, CURVE_MAX_OTHER_ROWS, replace=False)
    inputs = model_inputs(frame, schema)
    target = encode_target(frame[schema.target], schema)
    position = np.arange(members.size)
    folds = np.array_split(rng.permutation(position), CURVE_FOLDS)
    sizes = np.zeros(len(CURVE_FRACTIONS))
    errors = np.zeros((len(CURVE_FRACTIONS), members.size))
    for index, test in enumerate(folds):
        train_region = members[np.concatenate([f for j, f in enumerate(folds) if j != index])]
        for step, fraction in enumerate(CURVE_FRACTIONS):
            n = max(1, int(round(fraction * train_region.size)))
            rows = np.concatenate([others, train_region[:n]])
            with threadpool_limits(1):  # predicting too: 10.6 of 16 s at 100k rows, under
                # load, when the prediction of a few hundred rows ran on OpenMP's threads
                model = baseline_model(schema, seed=seed).fit(inputs.iloc[rows], target[rows])
                predicted = model.predict(inputs.iloc[members[test]])
            truth = target[members[test]]
            errors[step, test] = (predicted != truth) if schema.is_classification else \
                np.abs(predicted - truth)
            sizes[step] += n / CURVE_FOLDS
    return sizes, errors


def _fit_power_law(sizes: np.ndarray, error: np.ndarray, floor: float) -> tuple[float, float]:
    """Least-squares ``log error = log a - b log n``; errors are floored to stay finite."""
    slope, intercept = np.polyfit(np.log(sizes), np.log(np.maximum(error, floor)), 1)
    return float(np.exp(min(intercept, 50.0))), float(-slope)


def _rows_needed(a: float, b: float, target: float, have: int) -> float:
    """More rows the curve says the region needs (inf when it does not fall to target)."""
    if b <= FLAT_SLOPE:
        return np.inf
    try:
        scale = (a / target) ** (1.0 / b)
    except OverflowError:  # a curve this slow needs more rows than a float can count
        return np.inf
    needed = scale * CURVE_FOLDS / (CURVE_FOLDS - 1) - have
    return max(0.0, needed)


def _collect(region: Region, frame: pd.DataFrame, schema: Schema, *, seed: int) -> Diagnosis:
    """Fit the pooled in-region curve and bootstrap the region's rows for the range; a
    region the curve already learns (``check_model``) gets no count.

    The bootstrap resamples region rows (the held-out units), so the range reflects how few
    rows the curve rests on. The curve is called *flat* unless ``FALLING_CONFIDENCE`` of the
    bootstrap fits fall: a count extrapolated from a slope that may be noise would be made
    up, so it is then reported as unknown.
    """
    members = np.asarray(region.rows, dtype=int)
    if members.size < 2 * CURVE_FOLDS:
        return Diagnosis(region.id, "collect", evidence="Too few rows to measure a learning "
                         "curve; label a first batch of rows like these and measure again.")
    rng = np.random.default_rng(seed)
    curve_seed, boot_seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
    sizes, errors = learning_curve(frame, schema, members, seed=curve_seed)
    floor = 0.5 / members.size  # half an error over the pooled held-out rows
    target = max(MIN_LIFT * region.baseline_error_rate, floor)
    curve = errors.mean(axis=1)
    measured = (f"its held-out error went from {curve[0]:.0%} to {curve[-1]:.0%} as its "
                f"training rows grew from {sizes[0]:.0f} to {sizes[-1]:.0f} (pooled over "
                f"{CURVE_FOLDS} folds, {members.size} held-out rows)")
    points = [(int(round(n)), float(e)) for n, e in zip(sizes, curve)]
    learned = wilson_interval(int(round(curve[-1] * members.size)), members.size)[1] \
        if schema.is_classification else np.inf  # a regression curve is of losses, not rates
    if learned <= target < region.error_rate:
        return Diagnosis(region.id, "check_model", target_error=target, curve=points, evidence=(
            f"The baseline model trained with this region's rows already gets them right: "
            f"{measured}, at most {learned:.0%} (95% interval), where the predictions "
            f"analysed err {region.error_rate:.0%}. The rows are learnable from these "
            f"columns, so more rows like them are not shown to help: check what the model "
            f"that made the predictions lacks here (rows like these in its training data, "
            f"its features, its fit)."))
    a, b = _fit_power_law(sizes, curve, floor)
    cap = MAX_ESTIMATE_FACTOR * members.size
    boot_rng = np.random.default_rng(boot_seed)
    samples, slopes = [], []
    for _ in range(BOOTSTRAP):
        resampled = errors[:, boot_rng.integers(members.size, size=members.size)].mean(axis=1)
        fitted = _fit_power_law(sizes, resampled, floor)
        slopes.append(fitted[1])
        samples.append(_rows_needed(*fitted, target, members.size))
    # Infinite samples (flat curves) sort above every finite one: percentiles over ranks.
    ordered = np.sort(np.array(samples))
    low, median, high = (ordered[min(len(ordered) - 1, int(q * len(ordered)))]
                         for q in (0.1, 0.5, 0.9))
    flat = float(np.mean(np.array(slopes) > FLAT_SLOPE)) < FALLING_CONFIDENCE
    as_int = (lambda v: None if not np.isfinite(v) or v > cap else int(np.ceil(v)))
    diagnosis = Diagnosis(region.id, "collect", evidence="", target_error=target,
                          curve=points, curve_params=(a, max(b, 0.0)), flat=flat,
                          interval=(as_int(low), as_int(high)))
    if flat:
        diagnosis.evidence = (
            f"The region has {members.size} labelled rows; {measured}. The curve is flat "
            f"within its noise, so it gives no count: rows like these may still help once "
            f"there are more of them than the curve could try, or the region may lack "
            f"information; collect a first batch and measure again.")
        return diagnosis
    if as_int(median) is None:
        diagnosis.evidence = (f"The region has {members.size} labelled rows; {measured}. The "
                              f"curve does not reach {target:.0%} within {cap:,} more rows, "
                              f"so it gives no count: more rows like these may help little. "
                              f"Label a first batch and measure again, and check for missing "
                              f"features.")
        return diagnosis
    if diagnosis.interval[1] is None:  # a count whose range has no end is no count
        diagnosis.evidence = (f"The region has only {members.size} labelled rows; {measured}. "
                              f"The curve gives no count: in 80% of a bootstrap of the "
                              f"region's held-out rows it needs from {diagnosis.interval[0]:,} "
                              f"to more than {cap:,} more rows to reach {target:.0%}. Label a "
                              f"first batch and measure again.")
        return diagnosis
    diagnosis.suggested_rows = as_int(median)
    diagnosis.evidence = (f"The region has only {members.size} labelled rows; {measured}. About "
                          f"{diagnosis.suggested_rows:,} more rows like these should bring its "
                          f"error near {target:.0%} (80% range {diagnosis.interval[0]:,} to "
                          f"{diagnosis.interval[1]:,}, from a bootstrap of the region's "
                          f"held-out rows).")
    return diagnosis


# --- the pool ------------------------------------------------------------------------------
