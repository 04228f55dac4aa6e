"""What data fixes each region, and which pool rows to label first.

A region's *diagnosis* says what kind of data would fix it, checked in this order because the
earlier causes also look like the later ones:

- ``add_information``: near-identical rows (in the model's feature space) carry different
  labels. No amount of rows with the same columns separates them, and flipped labels would
  look the same to a neighbour vote, so this is checked first.
- ``relabel``: the model confidently predicts another class than the label, and the row's
  nearest neighbours agree with the model (confident learning). The rows to review are listed.
- ``collect``: otherwise. A learning curve measured *inside* the region (its held-out rows'
  error as more of its rows are trained on) gives the rows needed to bring its error down to
  ``MIN_LIFT`` times the baseline, where it would no longer count as a region; a bootstrap
  over the curve's points gives the interval.

With a pool, rows are placed in the model's space and on the map; a pool row *covers* a
region when most of its nearest labelled rows are region members. The budget is spread over
the ``collect`` regions greedily by the marginal gain each region's fitted curve predicts
(weighted by the region's share of the pool), candidates are taken most-covering first and
near-duplicates of chosen rows are skipped. Budget no region can use goes to the rows the
model is least sure about. Without a pool the suggestion is a *specification*: the rule, the
example rows and the count.
"""

from __future__ import annotations

import dataclasses
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
from .regions import MIN_LIFT
from .types import DataMap, Predictions, Region

__all__ = ["Diagnosis", "PoolPlacement", "STRATEGIES", "diagnose_region", "learning_curve",
           "place_pool", "select_rows", "suggest_regions", "instructions_sheet",
           "LIST_COLUMNS"]

STRATEGIES = ("targeted", "random", "uncertainty")
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
CURVE_FRACTIONS = (0.3, 1.0)
CURVE_FOLDS = 3
CURVE_MAX_OTHER_ROWS = 2000
"""Rows outside the region used to train each curve point: enough to learn the common rule,
few enough that a curve costs seconds."""
MAX_CURVE_REGIONS = 3
BOOTSTRAP = 200
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
    over a bootstrap of the learning curve (None as the upper end: no finite estimate).
    ``curve`` holds the measured points ``(region rows trained on, held-out error)``.
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
                   ) -> list[tuple[int, float]]:
    """Held-out error inside a region as more of its rows are trained on.

    The region's rows are split into ``CURVE_FOLDS`` folds; for each held-out fold the model
    is trained on the rows outside the region (a seeded sample of at most
    ``CURVE_MAX_OTHER_ROWS``) plus a growing share (``CURVE_FRACTIONS``) of the other folds.
    Returns one ``(region rows trained on, error on the held-out fold)`` point per fit.
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
    shuffled = rng.permutation(members)
    folds = np.array_split(shuffled, CURVE_FOLDS)
    points = []
    for index, test in enumerate(folds):
        train_region = np.concatenate([f for j, f in enumerate(folds) if j != index])
        for fraction in CURVE_FRACTIONS:
            n = max(1, int(round(fraction * train_region.size)))
            rows = np.concatenate([others, train_region[:n]])
            with threadpool_limits(1):
                model = baseline_model(schema, seed=seed).fit(inputs.iloc[rows], target[rows])
            predicted = model.predict(inputs.iloc[test])
            if schema.is_classification:
                error = float(np.mean(predicted != target[test]))
            else:
                error = float(np.mean(np.abs(predicted - target[test])))
            points.append((n, error))
    return points


def _fit_power_law(points: np.ndarray, floor: float) -> tuple[float, float]:
    """Least-squares ``log error = log a - b log n``; errors are floored to stay finite."""
    n, error = points[:, 0], np.maximum(points[:, 1], floor)
    slope, intercept = np.polyfit(np.log(n), np.log(error), 1)
    return float(np.exp(min(intercept, 50.0))), float(-slope)


def _rows_needed(a: float, b: float, target: float, have: int) -> float:
    """More rows the curve says the region needs (inf when it does not fall to target)."""
    if b <= 0.01:
        return np.inf
    needed = (a / target) ** (1.0 / b) * CURVE_FOLDS / (CURVE_FOLDS - 1) - have
    return max(0.0, needed)


def _collect(region: Region, frame: pd.DataFrame, schema: Schema, *, seed: int) -> Diagnosis:
    members = np.asarray(region.rows, dtype=int)
    if members.size < 2 * CURVE_FOLDS:
        return Diagnosis(region.id, "collect", evidence="Too few rows to measure a learning "
                         "curve; collect more rows like these.")
    rng = np.random.default_rng(seed)
    curve_seed, boot_seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
    points = np.array(learning_curve(frame, schema, members, seed=curve_seed), dtype=float)
    floor = 0.5 / (members.size / CURVE_FOLDS)  # half an error on a held-out fold
    target = max(MIN_LIFT * region.baseline_error_rate, floor)
    a, b = _fit_power_law(points, floor)
    cap = MAX_ESTIMATE_FACTOR * members.size
    estimate = _rows_needed(a, b, target, members.size)
    boot_rng = np.random.default_rng(boot_seed)
    samples = []
    for _ in range(BOOTSTRAP):
        chosen = points[boot_rng.integers(len(points), size=len(points))]
        if np.unique(chosen[:, 0]).size < 2:
            continue
        samples.append(_rows_needed(*_fit_power_law(chosen, floor), target, members.size))
    # Infinite samples (flat curves) sort above every finite one: percentiles over ranks.
    ordered = np.sort(np.array(samples)) if samples else np.array([np.inf])
    low, high = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.1, 0.9))
    first = points[points[:, 0] == points[:, 0].min(), 1].mean()
    last = points[points[:, 0] == points[:, 0].max(), 1].mean()
    measured = (f"its held-out error went from {first:.0%} to {last:.0%} as its training "
                f"rows grew from {int(points[:, 0].min())} to {int(points[:, 0].max())}")
    as_int = (lambda v: None if not np.isfinite(v) or v > cap else int(np.ceil(v)))
    diagnosis = Diagnosis(region.id, "collect", evidence="", target_error=target,
                          curve=[(int(n), float(e)) for n, e in points],
                          curve_params=(a, max(b, 0.0)),
                          interval=(as_int(low), as_int(high)))
    if as_int(estimate) is None:
        diagnosis.evidence = (f"The region has {members.size} labelled rows; {measured}. The "
                              f"curve does not reach {target:.0%} within {cap} more rows: more "
                              f"rows like these may help little; check for missing features.")
        return diagnosis
    diagnosis.suggested_rows = as_int(estimate)
    upper = "an unbounded number" if diagnosis.interval[1] is None else diagnosis.interval[1]
    diagnosis.evidence = (f"The region has only {members.size} labelled rows; {measured}. About "
                          f"{diagnosis.suggested_rows} more rows like these should bring its "
                          f"error near {target:.0%} (80% range {diagnosis.interval[0]} to "
                          f"{upper}, from a bootstrap of the learning curve).")
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
        for row in taken:
            picks.append((row, rid, f"Like region R{rid} (error {region.error_rate:.0%} vs "
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
                    available: np.ndarray | None = None
                    ) -> tuple[dict[int, Diagnosis], pd.DataFrame | None, PoolPlacement | None]:
    """Diagnose every region (filling its ``diagnosis``, ``suggested_rows`` and ``evidence``
    in place) and, with a pool, choose ``budget`` rows (default 100) to label.

    Returns the diagnoses by region id, the collection list (None without a pool) and the
    pool's placement (None without a pool or for the random strategy).
    """
    rng = np.random.default_rng(seed)
    curve_seeds = rng.integers(2**31 - 1, size=max(1, len(regions)))
    pool_seed, select_seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
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
    if pool is None:
        return diagnoses, None, None
    budget = 100 if budget is None else budget
    placement = None
    if strategy != "random":
        placement = place_pool(pool, frame, schema, predictions, data_map, regions,
                               seed=pool_seed)
    listing = select_rows(strategy, budget, pool.drop(columns=[schema.target], errors="ignore"),
                          seed=select_seed, placement=placement, regions=regions,
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
