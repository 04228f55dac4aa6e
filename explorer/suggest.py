"""What data fixes each region, and which pool rows to label first.

A region's *diagnosis* says what kind of data would fix it, checked in this order because the
earlier causes also look like the later ones:

- ``add_information``: near-identical rows (in the model's feature space) carry different
  labels. No amount of rows with the same columns separates them, and flipped labels would
  look the same to a neighbour vote, so this is checked first.
- ``relabel``: the model confidently predicts another class than the label, and the row's
  nearest neighbours agree with the model (confident learning). The rows to review are listed.
- ``collect``: otherwise. A learning curve measured *inside* the region (each region row's
  held-out error, pooled over folds, as more of its rows are trained on) gives the rows
  needed to bring its error down to ``MIN_LIFT`` times the baseline, where it would no longer
  count as a region; a bootstrap over the region's rows gives the range, and a curve that
  does not fall beyond its noise is reported as flat, with no count.

With a pool, rows are placed in the model's space and on the map; a pool row *covers* a
region when most of its nearest labelled rows are region members. The regions competing for
the budget are the current ones plus the regions of earlier iterations (*frozen*) whose
current out-of-fold error is still clearly above the baseline: a region that improved stops
passing a fresh significance test well before it stops being weak, and dropping it then
would starve it. The budget is spread greedily by the marginal gain each region's fitted
curve predicts (weighted by the region's share of the pool), candidates are taken
most-covering first and near-duplicates of chosen rows are skipped. Budget no region can use
goes to the rows the model is least sure about. Selection reads the pool's features only,
never a label column. Without a pool the suggestion is a *specification*: the rule, the
example rows and the count.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from .data import Schema, check_pool
from .embed import ModelSpace, place_points
from .errors import ParameterError, SchemaMismatchError, check_choice, check_int
from .model import baseline_model, encode_target, model_inputs
from .regions import MIN_LIFT, wilson_interval
from .types import DataMap, Predictions, Region

__all__ = ["DIAGNOSIS_TITLES", "Diagnosis", "FrozenRegion", "PoolPlacement", "frozen_members",
           "still_weak", "STRATEGIES", "diagnose_region", "learning_curve", "place_pool",
           "select_rows", "suggest_regions", "instructions_sheet", "LIST_COLUMNS"]

STRATEGIES = ("targeted", "random", "uncertainty")
DIAGNOSIS_TITLES = {
    "collect": "Collect more rows like these",
    "relabel": "Review the labels of these rows",
    "add_information": "Add information: new features or a different measurement",
}
"""What each diagnosis asks a person to do, in the words every face (app, report) shows."""
LIST_COLUMNS = ("row", "region", "priority", "reason")
"""The collection list's leading columns (DESIGN.md section 3); the pool's columns and an
empty label column follow."""

NEIGHBOURS = 10
MAP_NEIGHBOURS = 30
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
MAX_CURVE_REGIONS = 3
BOOTSTRAP = 200
FLAT_SLOPE = 0.01
"""A fitted ``error = a * n ** -b`` with ``b`` at most this is flat: no finite estimate."""
FALLING_CONFIDENCE = 0.8
"""Share of bootstrap fits that must fall for the curve to count as falling."""
MAX_ESTIMATE_FACTOR = 50
"""Estimates beyond 50 times the region's rows are reported as 'more than' that."""
COVERS = 0.5
NEAR_DUPLICATE = 0.1
"""A candidate closer than this share of the pool's median neighbour distance to a chosen row
is a near-duplicate and skipped."""
CHUNK = 10


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


# --- diagnosis -----------------------------------------------------------------------------

def _feature_space(frame: pd.DataFrame, schema: Schema, data_map: DataMap) -> np.ndarray:
    """Rows in the model's feature space (no prediction block): where twins are compared."""
    space = data_map.encoder
    if space is None:
        space = ModelSpace(schema.numeric, schema.categorical, schema.embedding).fit(
            model_inputs(frame, schema))
    return space.transform(model_inputs(frame, schema))


def diagnose_region(region: Region, frame: pd.DataFrame, schema: Schema,
                    predictions: Predictions, features: np.ndarray, *, seed: int,
                    neighbours: tuple[np.ndarray, np.ndarray] | None = None,
                    curve: bool = True) -> Diagnosis:
    """Diagnose one region; see the module docstring for the order of the checks.

    Parameters
    ----------
    region : Region
        Its ``rows`` and ``baseline_error_rate`` are read.
    frame, schema, predictions
        The analysed table and what the model said about every row.
    features : ndarray of shape (n_rows, n_dims)
        Rows in the model's feature space (see :class:`~explorer.embed.ModelSpace`).
    neighbours : (distances, indices), optional
        Each row's ``NEIGHBOURS + 1`` nearest rows in ``features`` (itself first); computed
        when missing, passed in so several regions share one search.
    curve : bool
        Measure the learning curve for a ``collect`` diagnosis (it trains models: seconds).
    """
    if neighbours is None:
        neighbours = _neighbours(features)
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


def _neighbours(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = min(NEIGHBOURS + 1, len(features))
    return NearestNeighbors(n_neighbors=k).fit(features).kneighbors(features)


def _shown(rows: np.ndarray) -> str:
    return ", ".join(map(str, rows[:8])) + (" ..." if rows.size > 8 else "")


def _conflicting_twins(members: np.ndarray, labels: np.ndarray,
                       neighbours: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Region rows with a near-identical row (anywhere) of another label."""
    distances, indices = neighbours
    typical = float(np.median(distances[:, 1])) if distances.shape[1] > 1 else 0.0
    tolerance = max(TWIN_DISTANCE * typical, 1e-9)
    near = distances[members, 1:] <= tolerance
    other = labels[indices[members, 1:]] != labels[members][:, None]
    return members[(near & other).any(axis=1)]


def _unseparating_columns(frame: pd.DataFrame, schema: Schema, twins: np.ndarray,
                          labels: np.ndarray, neighbours: tuple[np.ndarray, np.ndarray]
                          ) -> list[str]:
    """Feature columns on which most conflicting twin pairs have the same value."""
    _, indices = neighbours
    partner = np.array([next(j for j in indices[i, 1:] if labels[j] != labels[i])
                        for i in twins])
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
                    features: np.ndarray, neighbours: tuple[np.ndarray, np.ndarray]
                    ) -> np.ndarray:
    """Errors where the model is confident and the neighbours' labels side with it.

    Both the nearest rows overall and the nearest rows *inside the region* must contradict
    the label. The second condition separates flipped labels from a thinly covered segment
    with its own rule: there the model is confidently wrong and the (mostly outside) global
    neighbours side with it, but the segment's own rows agree with each other.
    """
    _, indices = neighbours
    wrong = members[predictions.is_error[members]]
    if predictions.probabilities is not None:
        wrong = wrong[predictions.probabilities[wrong].max(axis=1) >= CONFIDENT]
    if wrong.size == 0 or members.size < 3:
        return wrong
    global_labels = labels[indices[wrong, 1:]]
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
            with threadpool_limits(1):
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
    needed = (a / target) ** (1.0 / b) * CURVE_FOLDS / (CURVE_FOLDS - 1) - have
    return max(0.0, needed)


def _collect(region: Region, frame: pd.DataFrame, schema: Schema, *, seed: int) -> Diagnosis:
    """Fit the pooled in-region curve and bootstrap the region's rows for the range.

    The bootstrap resamples region rows (the held-out units), so the range reflects how few
    rows the curve rests on. The curve is called *flat* unless ``FALLING_CONFIDENCE`` of the
    bootstrap fits fall: a count extrapolated from a slope that may be noise would be made
    up, so it is then reported as unknown.
    """
    members = np.asarray(region.rows, dtype=int)
    if members.size < 2 * CURVE_FOLDS:
        return Diagnosis(region.id, "collect", evidence="Too few rows to measure a learning "
                         "curve; collect more rows like these.")
    rng = np.random.default_rng(seed)
    curve_seed, boot_seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
    sizes, errors = learning_curve(frame, schema, members, seed=curve_seed)
    floor = 0.5 / members.size  # half an error over the pooled held-out rows
    target = max(MIN_LIFT * region.baseline_error_rate, floor)
    curve = errors.mean(axis=1)
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
    measured = (f"its held-out error went from {curve[0]:.0%} to {curve[-1]:.0%} as its "
                f"training rows grew from {sizes[0]:.0f} to {sizes[-1]:.0f} (pooled over "
                f"{CURVE_FOLDS} folds, {members.size} held-out rows)")
    as_int = (lambda v: None if not np.isfinite(v) or v > cap else int(np.ceil(v)))
    diagnosis = Diagnosis(region.id, "collect", evidence="", target_error=target,
                          curve=[(int(round(n)), float(e)) for n, e in zip(sizes, curve)],
                          curve_params=(a, max(b, 0.0)), flat=flat,
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
                              f"curve does not reach {target:.0%} within {cap} more rows: more "
                              f"rows like these may help little; check for missing features.")
        return diagnosis
    diagnosis.suggested_rows = as_int(median)
    upper = "an unbounded number" if diagnosis.interval[1] is None else diagnosis.interval[1]
    diagnosis.evidence = (f"The region has only {members.size} labelled rows; {measured}. About "
                          f"{diagnosis.suggested_rows} more rows like these should bring its "
                          f"error near {target:.0%} (80% range {diagnosis.interval[0]} to "
                          f"{upper}, from a bootstrap of the region's held-out rows).")
    return diagnosis


# --- the pool ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolPlacement:
    """Pool rows in the model's space and on the map, and how well each covers each region.

    ``coverage`` has shape (n_pool, n_regions): the probability that a pool row belongs to
    the region, averaged over a balanced tree in the model's space and the balanced vote of
    its nearest labelled rows on the map.
    """

    model_space: np.ndarray
    coords: np.ndarray
    probabilities: np.ndarray | None
    coverage: np.ndarray
    region_ids: tuple[int, ...]


def place_pool(pool: pd.DataFrame, frame: pd.DataFrame, schema: Schema,
               predictions: Predictions, data_map: DataMap, regions: list[Region], *,
               seed: int) -> PoolPlacement:
    """Predict the pool with the baseline model trained on all rows, then place its rows."""
    check_pool(pool, schema)
    inputs = model_inputs(frame, schema)
    with threadpool_limits(1):  # see learning_curve
        model = baseline_model(schema, seed=seed).fit(
            inputs, encode_target(frame[schema.target], schema))
    pool_inputs = model_inputs(pool, schema)
    probabilities = model.predict_proba(pool_inputs) if schema.is_classification else None
    if schema.is_classification:
        predicted = np.asarray(schema.classes, dtype=object)[probabilities.argmax(axis=1)]
    else:
        predicted = model.predict(pool_inputs)
    pool_predictions = dataclasses.replace(
        predictions, predicted=predicted,
        probabilities=probabilities if predictions.probabilities is not None else None)
    encoded = data_map.encoder.transform(pool_inputs)
    space = ModelSpace.with_predictions(encoded, pool_predictions)
    coords = place_points(data_map.model_space, data_map.coords, space)
    coverage = np.zeros((len(pool), len(regions)))
    for column, region in enumerate(regions):
        members = np.zeros(len(frame), dtype=bool)
        members[region.rows] = True
        coverage[:, column] = (_balanced_tree(data_map.model_space, members, space, seed)
                               + _balanced_knn(data_map.coords, members, coords)) / 2
    return PoolPlacement(model_space=space, coords=coords, probabilities=probabilities,
                         coverage=coverage, region_ids=tuple(r.id for r in regions))


def _balanced_tree(reference: np.ndarray, members: np.ndarray, new: np.ndarray,
                   seed: int) -> np.ndarray:
    """P(member) from a class-balanced tree in the model's space.

    Balanced, because a thinly covered region is rare among the labelled rows by definition:
    an unweighted vote of neighbours would call its pool rows outsiders.
    """
    tree = DecisionTreeClassifier(max_depth=6, min_samples_leaf=5, class_weight="balanced",
                                  random_state=seed).fit(reference, members)
    return tree.predict_proba(new)[:, 1]


def _balanced_knn(reference: np.ndarray, members: np.ndarray, new: np.ndarray) -> np.ndarray:
    """P(member) from the map's nearest labelled rows, corrected for the region's share."""
    k = min(MAP_NEIGHBOURS, len(reference))
    neighbours = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(
        new, return_distance=False)
    inside = members[neighbours].mean(axis=1)
    share = members.mean()
    weight_in, weight_out = inside / share, (1 - inside) / (1 - share)
    return weight_in / (weight_in + weight_out)


def _uncertainty(probabilities: np.ndarray | None, n_rows: int) -> np.ndarray:
    """1 - top-class probability (0 everywhere when the model gives no probabilities)."""
    if probabilities is None:
        return np.zeros(n_rows)
    return 1.0 - probabilities.max(axis=1)


def _diverse(candidates: np.ndarray, space: np.ndarray, chosen: list[int], want: int,
             min_distance: float) -> list[int]:
    """Take candidates in order, skipping near-duplicates of rows already chosen."""
    taken: list[int] = []
    for row in candidates:
        if len(taken) == want:
            break
        others = chosen + taken
        if others and np.min(np.linalg.norm(space[others] - space[row], axis=1)) <= min_distance:
            continue
        taken.append(int(row))
    return taken


def _min_distance(space: np.ndarray, seed: int) -> float:
    rng = np.random.default_rng(seed)
    sample = space[rng.choice(len(space), min(len(space), 2000), replace=False)]
    distances, _ = NearestNeighbors(n_neighbors=min(2, len(sample))).fit(sample).kneighbors(sample)
    return max(NEAR_DUPLICATE * float(np.median(distances[:, -1])), 1e-9)


def _marginal_gain(diagnosis: Diagnosis, have: int, given: int, share: float) -> float:
    """Errors avoided per pool row by giving a region ``CHUNK`` more rows than ``given``."""
    a, b = diagnosis.curve_params
    b = max(b, 0.05)  # a flat or noisy curve still earns the region a little budget

    def error(extra: int) -> float:
        return a * ((have + extra) * (CURVE_FOLDS - 1) / CURVE_FOLDS) ** -b

    return share * (error(given) - error(given + CHUNK))


def select_rows(strategy: str, budget: int, pool: pd.DataFrame, *, seed: int,
                placement: PoolPlacement | None = None, regions: list[Region] = (),
                diagnoses: dict[int, Diagnosis] | None = None,
                available: np.ndarray | None = None) -> pd.DataFrame:
    """Choose ``budget`` pool rows to label and return them as a collection list.

    Parameters
    ----------
    strategy : {"targeted", "random", "uncertainty"}
        ``targeted`` spreads the budget over the ``collect`` regions by expected gain (needs
        ``placement``, ``regions`` and ``diagnoses``); ``random`` is the control; ``uncertainty``
        takes the rows the model is least sure about (needs ``placement``).
    pool : DataFrame
        The unlabelled rows; ``row`` in the result is the 0-based position in it.
    available : bool array, optional
        Pool rows that may be chosen (default all); rows already labelled are excluded.

    Returns
    -------
    DataFrame with ``row, region, priority, reason``, the pool's columns and an empty
    ``label`` column, most valuable row first (``priority`` 1).
    """
    strategy = check_choice(strategy, name="strategy", owner="select_rows", choices=STRATEGIES)
    budget = check_int(budget, name="budget", owner="select_rows", low=1)
    available = np.ones(len(pool), bool) if available is None else np.asarray(available, bool)
    open_rows = np.flatnonzero(available)
    rng = np.random.default_rng(seed)
    picks: list[tuple[int, int, str]] = []  # (row, region, reason)
    if strategy == "random":
        rows = rng.choice(open_rows, min(budget, open_rows.size), replace=False)
        picks = [(int(r), -1, "Chosen at random (the control: compare targeted rows with "
                              "these).") for r in rows]
    else:
        if placement is None:
            raise ParameterError(f"The '{strategy}' strategy needs the pool placed in the "
                                 f"model's space (placement=...); only 'random' works "
                                 f"without it.")
        if strategy == "targeted":
            picks = _targeted(budget, open_rows, placement, regions, diagnoses or {},
                              min_distance=_min_distance(placement.model_space, seed))
        unsure = _uncertainty(placement.probabilities, len(pool))
        chosen = {row for row, _, _ in picks}
        rest = [r for r in open_rows[np.argsort(-unsure[open_rows], kind="stable")]
                if r not in chosen][: budget - len(picks)]
        picks += [(int(r), -1, f"The model is unsure here (top-class probability "
                               f"{1 - unsure[r]:.0%}).") for r in rest]
    return _collection_frame(picks, pool)


def _targeted(budget: int, open_rows: np.ndarray, placement: PoolPlacement,
              regions: list[Region], diagnoses: dict[int, Diagnosis], *,
              min_distance: float) -> list[tuple[int, int, str]]:
    """Greedy allocation in chunks to the region whose curve gains most from the next chunk."""
    queues, shares = {}, {}
    for column, region in enumerate(regions):
        diagnosis = diagnoses.get(region.id)
        if diagnosis is None or diagnosis.kind != "collect" or diagnosis.curve_params is None:
            continue
        cover = placement.coverage[open_rows, column]
        best = placement.coverage[open_rows].argmax(axis=1) == column
        candidates = open_rows[(cover >= COVERS) & best]
        order = np.argsort(-placement.coverage[candidates, column], kind="stable")
        queues[region.id] = (column, list(candidates[order]))
        shares[region.id] = float((placement.coverage[:, column] >= COVERS).mean())
    given = {rid: 0 for rid in queues}
    picks: list[tuple[int, int, str]] = []
    chosen: list[int] = []
    by_id = {r.id: r for r in regions}
    while len(picks) < budget and queues:
        rid = max(queues, key=lambda r: _marginal_gain(diagnoses[r], by_id[r].size, given[r],
                                                       shares[r]))
        column, queue = queues[rid]
        want = min(CHUNK, budget - len(picks))
        taken = _diverse(np.array(queue, dtype=int), placement.model_space, chosen, want,
                         min_distance)
        consumed = queue.index(taken[-1]) + 1 if taken else len(queue)
        queues[rid] = (column, queue[consumed:])
        if len(taken) < want or not queues[rid][1]:
            del queues[rid]
        region = by_id[rid]
        name = f"R{rid}" if region.found_by.split(" ")[0] != "frozen" else \
            f"R{rid} ({region.found_by.split(';')[0]}, still weak)"
        for row in taken:
            picks.append((row, rid, f"Like region {name} (error {region.error_rate:.0%} vs "
                                    f"{region.baseline_error_rate:.0%} overall)"
                                    + (f": {region.rule}" if region.rule else "")
                                    + f"; it belongs to the region with probability "
                                      f"{placement.coverage[row, column]:.0%}."))
        chosen += taken
        given[rid] += len(taken)
    return picks


def _collection_frame(picks: list[tuple[int, int, str]], pool: pd.DataFrame) -> pd.DataFrame:
    clash = [c for c in (*LIST_COLUMNS, "label") if c in pool.columns]
    if clash:
        raise SchemaMismatchError(f"The pool has column(s) {clash} that the collection list "
                                  f"uses itself; rename them in the pool.")
    rows = np.array([p[0] for p in picks], dtype=np.int64)
    head = pd.DataFrame({"row": rows, "region": np.array([p[1] for p in picks], dtype=np.int64),
                         "priority": np.arange(1, len(picks) + 1, dtype=np.int64),
                         "reason": [p[2] for p in picks]})
    body = pool.iloc[rows].reset_index(drop=True)
    return pd.concat([head, body], axis=1).assign(label=pd.Series([None] * len(rows),
                                                                  dtype=object))


# --- regions of earlier iterations --------------------------------------------------------

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
    rule: str | None = None
    description: str = ""


RULE_TRUST = 0.8
"""A frozen region's rule assigns new rows when, on the rows the region was found in, at
least this share of the rows it selects were members; a looser rule would pull in outsiders,
so new rows then go by their nearest old rows instead."""
STILL_WEAK_LIFT = 1.1
"""A frozen region stays weak while the lower end of the 80% Wilson interval of its current
out-of-fold error is above this many times the baseline error."""
COVERED_JACCARD = 0.5
"""A frozen region that overlaps a current (or newer frozen) region this much is that
region: it is not targeted twice."""


def _rule_mask(rule: str, frame: pd.DataFrame) -> np.ndarray | None:
    """Rows a rule text from :mod:`explorer.rules` selects, or None if it cannot be read.

    Conditions are ``a < col <= b``, ``col > t``, ``col <= t``, ``col = v`` and ``col != v``
    joined by ``and``, with missing numbers read as the column median and missing categories
    as ``(missing)``, as the rule features encode them.
    """
    selected = np.ones(len(frame), dtype=bool)
    for part in rule.split(" and "):
        match = (re.fullmatch(r"(\S+) < (.+) <= (\S+)", part)
                 or re.fullmatch(r"(.+?) (<=|>|!=|=) (.*)", part))
        if match is None:
            return None
        if len(match.groups()) == 3 and match.group(2) in ("<=", ">", "!=", "="):
            column, operator, value = match.groups()
        else:
            low, column, high = match.groups()
            operator, value = "between", (low, high)
        if column not in frame.columns:
            return None
        if operator in ("=", "!="):
            text = frame[column].astype("string").fillna("(missing)").to_numpy()
            selected &= (text == value) if operator == "=" else (text != value)
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        numbers = np.where(np.isnan(numbers), np.nanmedian(numbers), numbers) \
            if np.isfinite(numbers).any() else numbers
        try:
            bounds = [float(v.replace(",", "")) for v in
                      (value if operator == "between" else (value,))]
        except ValueError:
            return None
        if operator == "between":
            selected &= (numbers > bounds[0]) & (numbers <= bounds[1])
        else:
            selected &= (numbers > bounds[0]) if operator == ">" else (numbers <= bounds[0])
    return selected


def frozen_members(region: FrozenRegion, frame: pd.DataFrame, features: np.ndarray
                   ) -> tuple[np.ndarray, str]:
    """The frozen region's rows in the current data, and how new rows were assigned.

    Its own rows stay members. A row added since (position ``data_rows`` on) joins by the
    region's rule when the rule is precise on the old rows (``RULE_TRUST``): a rule is exact
    where it holds, while neighbours blur a region's edge. Otherwise it joins when most of
    its ``NEIGHBOURS`` nearest old rows in ``features`` are members.
    """
    old = np.asarray(region.rows, dtype=int)
    new = np.arange(region.data_rows, len(frame))
    if new.size == 0:
        return np.sort(old), "no new rows"
    member = np.zeros(region.data_rows, dtype=bool)
    member[old] = True
    selected = _rule_mask(region.rule, frame) if region.rule else None
    if selected is not None and selected[:region.data_rows].any():
        precision = float(member[selected[:region.data_rows]].mean())
        if precision >= RULE_TRUST:
            return np.concatenate([np.sort(old), new[selected[new]]]), \
                f"by its rule (precision {precision:.0%})"
    k = min(NEIGHBOURS, region.data_rows)
    near = NearestNeighbors(n_neighbors=k).fit(features[:region.data_rows]).kneighbors(
        features[new], return_distance=False)
    return np.concatenate([np.sort(old), new[member[near].mean(axis=1) > 0.5]]), \
        "by nearest neighbours"


def still_weak(frozen: list[FrozenRegion], regions: list[Region], frame: pd.DataFrame,
               predictions: Predictions, features: np.ndarray) -> list[Region]:
    """Frozen regions whose current out-of-fold error is still well above the baseline.

    A region that received rows may no longer pass a fresh significance test (its error
    fell, the search's threshold did not) and yet still err far more than the rest; this
    keeps such regions in the allocation while their measured error says so. Each comes
    back as a :class:`Region` with a new id (after ``regions``' ids), measured on current
    rows; the newest copy of a region wins and one overlapping a current region is dropped.
    """
    is_error = np.asarray(predictions.is_error, dtype=bool)
    baseline = float(is_error.mean())
    taken = [np.asarray(r.rows, dtype=int) for r in regions]
    next_id = max([r.id for r in regions], default=0) + 1
    carried = []
    for old in sorted(frozen, key=lambda r: -r.iteration):
        rows, assigned = frozen_members(old, frame, features)
        if any(_jaccard(rows, other) >= COVERED_JACCARD for other in taken):
            continue
        errors = int(is_error[rows].sum())
        low, high = wilson_interval(errors, rows.size, level=0.8)
        if low <= STILL_WEAK_LIFT * baseline:
            continue
        rate = errors / rows.size
        carried.append(Region(
            id=next_id, rows=rows, size=int(rows.size), error_rate=rate,
            baseline_error_rate=baseline, lift=rate / baseline if baseline else np.inf,
            p_value=float("nan"), heldout_error_rate=rate, heldout_size=int(rows.size),
            heldout_interval=(low, high), compactness=float("nan"),
            excess_errors=rows.size * (rate - baseline),
            found_by=f"frozen R{old.id} of iteration {old.iteration}; new rows {assigned}",
            description=old.description, rule=old.rule))
        taken.append(rows)
        next_id += 1
    return carried


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 0.0


# --- the stage ------------------------------------------------------------------------------

def specification(region: Region, diagnosis: Diagnosis) -> str:
    """What to collect for a region when there is no pool to choose from."""
    count = (f"about {diagnosis.suggested_rows}" if diagnosis.suggested_rows is not None
             else "more")
    where = f"where {region.rule}" if region.rule else "like the example rows"
    examples = ", ".join(map(str, region.examples[:5]))
    return (f"No pool given: collect {count} labelled rows {where}"
            + (f" (examples: rows {examples})" if examples else "") + ".")


def suggest_regions(regions: list[Region], frame: pd.DataFrame, schema: Schema,
                    predictions: Predictions, data_map: DataMap, *, pool=None,
                    budget: int | None = None, strategy: str = "targeted", seed: int = 0,
                    available: np.ndarray | None = None, frozen: list[FrozenRegion] = ()
                    ) -> tuple[dict[int, Diagnosis], pd.DataFrame | None, PoolPlacement | None]:
    """Diagnose every region (filling its ``diagnosis``, ``suggested_rows`` and ``evidence``
    in place) and, with a pool, choose ``budget`` rows (default 100) to label.

    ``frozen`` holds regions of earlier iterations; those :func:`still_weak` keeps are
    diagnosed too and compete for the budget under new ids after the current regions'.
    Returns the diagnoses by region id, the collection list (None without a pool) and the
    pool's placement (None without a pool or for the random strategy).
    """
    rng = np.random.default_rng(seed)
    curve_seeds = rng.integers(2**31 - 1, size=max(1, len(regions)))
    pool_seed, select_seed, frozen_seed = (int(s) for s in rng.integers(2**31 - 1, size=3))
    features = _feature_space(frame, schema, data_map)
    neighbours = _neighbours(features)
    diagnoses = {}
    for index, region in enumerate(regions):
        diagnosis = diagnose_region(region, frame, schema, predictions, features,
                                    seed=int(curve_seeds[index]), neighbours=neighbours,
                                    curve=index < MAX_CURVE_REGIONS)
        region.diagnosis, region.suggested_rows = diagnosis.kind, diagnosis.suggested_rows
        region.evidence = diagnosis.evidence
        if pool is None and diagnosis.kind == "collect":
            region.evidence += " " + specification(region, diagnosis)
        diagnoses[region.id] = diagnosis
    carried = still_weak(list(frozen), regions, frame, predictions, features)
    for index, region in enumerate(carried[:MAX_CURVE_REGIONS]):
        diagnosis = diagnose_region(region, frame, schema, predictions, features,
                                    seed=frozen_seed + index, neighbours=neighbours)
        low, high = region.heldout_interval
        diagnosis.evidence = (f"Still weak: {region.found_by}. Its out-of-fold error is "
                              f"{region.error_rate:.0%} (80% interval {low:.0%}-{high:.0%}) "
                              f"against {region.baseline_error_rate:.0%} overall. "
                              + diagnosis.evidence)
        diagnoses[region.id] = diagnosis
    if pool is None:
        return diagnoses, None, None
    budget = 100 if budget is None else budget
    targets = list(regions) + carried[:MAX_CURVE_REGIONS]
    placement = None
    if strategy != "random":
        placement = place_pool(pool, frame, schema, predictions, data_map, targets,
                               seed=pool_seed)
    listing = select_rows(strategy, budget, pool.drop(columns=[schema.target], errors="ignore"),
                          seed=select_seed, placement=placement, regions=targets,
                          diagnoses=diagnoses, available=available)
    return diagnoses, listing, placement


def instructions_sheet(schema: Schema, listing: pd.DataFrame) -> str:
    """The short Markdown sheet that goes to annotators with the collection list."""
    classes = ", ".join(f"`{c}`" for c in schema.classes) if schema.is_classification else \
        "a number"
    per_region = listing.groupby("region").size()
    lines = [
        "# Labelling instructions", "",
        f"You have {len(listing)} rows to label in `collection_list.csv`, most important first "
        f"(column `priority`). Column `reason` says why each row was chosen.", "",
        "## What to do",
        f"- Fill in the `label` column only. Allowed values for **{schema.target}**: {classes}.",
        "- Do not edit, add or delete other columns; rows whose columns changed are rejected "
        "on ingest. You may sort the rows or delete rows you skip: `row` identifies each one.",
        "- **When unsure, leave the label empty.** An empty label is skipped, not counted as "
        "an error, and the row can be labelled later. Never guess.",
        "- A row that does not fit any allowed value: leave it empty and write to the data "
        "owner; it may be a sign that a class is missing.",
        "- Cells that begin with an apostrophe (') were escaped so a spreadsheet does not run "
        "them as formulas; leave the apostrophe in place.", "",
        "## Rows per region",
        *[f"- {'no region (random or uncertain rows)' if r == -1 else f'region R{r}'}: {n}"
          for r, n in per_region.items()],
    ]
    return "\n".join(lines) + "\n"
