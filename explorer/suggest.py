"""Which pool rows to label first, and the collection list the annotators receive.

Each region's *diagnosis* (collect, relabel, add_information, check_model: see
``explorer.diagnose``) says what kind of data would fix it; this module turns it into rows to
label.

With a pool, rows are placed in the model's space and on the map (``explorer.pool``); a
pool row *covers* a region when it is likelier inside it than outside. The regions competing for
the budget are the current ones plus the regions of earlier iterations (*frozen*) whose
current out-of-fold error is still above the baseline: a region that improved stops
passing a fresh significance test well before it stops being weak, and dropping it then
would starve it. The budget is spread greedily by the marginal gain each region's fitted
curve predicts (weighted by the region's share of the pool). Within a region, the
candidates a shallow model of the labelled rows' errors rates likeliest to be wrong are
taken first (a broad region often holds one failing pocket, and its rows are the ones the
model needs), and near-duplicates of chosen rows are skipped. Budget no region can use
goes to the rows the model is least sure about. Selection reads the pool's features only,
never a label column. Without a pool the suggestion is a *specification*: the rule, the
example rows and the count.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from .data import Schema
from .embed import input_space
from .errors import ParameterError, check_choice, check_int
from .diagnose import CURVE_FOLDS, Diagnosis, diagnose_coverage_gap, diagnose_region
from .frozen import FrozenRegion, still_weak
from .neighbours import NeighbourGraph, NeighbourSearch, neighbours_of
from .pool import COVERS, PoolPlacement, PoolScorer, covered_columns
from .types import DataMap, Predictions, Region

__all__ = ["STRATEGIES", "place_pool", "pool_seed", "select_rows", "suggest_regions",
           "diagnosed", "LIST_COLUMNS", "OWN_COLUMNS", "list_column", "region_name"]

STRATEGIES = ("targeted", "random", "uncertainty")
LIST_COLUMNS = ("row", "region", "priority", "source", "reason")
"""The collection list's leading columns (DESIGN.md section 3); ``region_name`` and
``region_rule``, the pool's columns and an empty label column follow. ``source`` says why a
row is there: an error region, a coverage gap, the model being unsure, or the random
control."""
SOURCES = {"error": "error region", "coverage": "coverage gap"}
OWN_COLUMNS = frozenset((*LIST_COLUMNS, "region_name", "region_rule", "label"))
"""Every column the list adds to the pool's: a pool column of the same name is renamed in
the list (:func:`list_column`), never refused."""
POOL_PREFIX = "pool:"

MAX_CURVE_REGIONS = 3
NEAR_DUPLICATE = 0.1
"""A candidate closer than this share of the pool's median neighbour distance to a chosen row
is a near-duplicate and skipped."""
CHUNK = 10


def place_pool(pool: pd.DataFrame, frame: pd.DataFrame, schema: Schema,
               predictions: Predictions, data_map: DataMap, regions: list[Region], *,
               seed: int) -> PoolPlacement:
    """Predict the pool with the baseline model trained on all rows, then place its rows
    (a :class:`~explorer.pool.PoolScorer` fitted here and applied to the whole pool)."""
    return PoolScorer(seed=seed).fit(frame, schema, predictions, data_map, regions).place(pool)


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
    DataFrame with ``row, region, priority, source, reason``, the pool's columns and an empty
    ``label`` column, most valuable row first (``priority`` 1).
    """
    strategy = check_choice(strategy, name="strategy", owner="select_rows", choices=STRATEGIES)
    budget = check_int(budget, name="budget", owner="select_rows", low=1)
    available = np.ones(len(pool), bool) if available is None else np.asarray(available, bool)
    open_rows = np.flatnonzero(available)
    rng = np.random.default_rng(seed)
    picks: list[tuple[int, int, str, str]] = []  # (row, region, source, reason)
    if strategy == "random":
        rows = rng.choice(open_rows, min(budget, open_rows.size), replace=False)
        picks = [(int(r), -1, "random", "Chosen at random (the control).") for r in rows]
    else:
        if placement is None:
            raise ParameterError(f"The '{strategy}' strategy needs the pool placed in the "
                                 f"model's space (placement=...); only 'random' works "
                                 f"without it.")
        if strategy == "targeted":
            picks = _targeted(budget, open_rows, placement, regions, diagnoses or {},
                              min_distance=_min_distance(placement.model_space, seed))
        unsure = _uncertainty(placement.probabilities, len(pool))
        chosen = {pick[0] for pick in picks}
        rest = [r for r in open_rows[np.argsort(-unsure[open_rows], kind="stable")]
                if r not in chosen][: budget - len(picks)]
        picks += [(int(r), -1, "model unsure", f"The model is unsure here (top class "
                                               f"{1 - unsure[r]:.0%}).") for r in rest]
    return _collection_frame(picks, pool, regions)


def _targeted(budget: int, open_rows: np.ndarray, placement: PoolPlacement,
              regions: list[Region], diagnoses: dict[int, Diagnosis], *,
              min_distance: float) -> list[tuple[int, int, str, str]]:
    """Greedy allocation in chunks to the region whose curve gains most from the next chunk."""
    unsure = _uncertainty(placement.probabilities, len(placement.coverage))
    queues, shares = {}, {}
    covered = covered_columns(placement.coverage[open_rows])
    for column, region in enumerate(regions):
        diagnosis = diagnoses.get(region.id)
        if diagnosis is None or diagnosis.kind != "collect" or diagnosis.curve_params is None:
            continue
        candidates = open_rows[covered == column]
        if region.kind == "coverage":  # no failures to resemble: the least sure rows first
            order = np.argsort(-unsure[candidates], kind="stable")
        else:  # the rows most like the region's failures first; among equals, surest members
            order = np.lexsort((-placement.coverage[candidates, column],
                                -placement.error_risk[candidates]))
        queues[region.id] = (column, list(candidates[order]))
        shares[region.id] = float((placement.coverage[:, column] >= COVERS).mean())
    given = {rid: 0 for rid in queues}
    picks: list[tuple[int, int, str, str]] = []
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
            picks.append((row, rid, SOURCES[region.kind], _reason(region, placement, row)))
        chosen += taken
        given[rid] += len(taken)
    return picks


def _reason(region: Region, placement: PoolPlacement, row: int) -> str:
    """One short line an annotator can read: why this row, in this region's terms."""
    if region.kind == "coverage":
        return (f"Rare in training: {region.rule} is {region.pool_share:.1%} of new data but "
                f"{region.training_share:.1%} of training ({region_name(region)}).")
    return (f"Like {region_name(region)}, where the model is wrong {region.error_rate:.0%} vs "
            f"{region.baseline_error_rate:.0%} overall; error risk of this row "
            f"{placement.error_risk[row]:.0%}.")


def region_name(region: Region) -> str:
    """How the list and its instructions name a region: ``R3``, or ``R3 (frozen in
    iteration 0, still weak)`` for a region an earlier iteration found."""
    if region.found_by.split(" ")[0] != "frozen":
        return f"R{region.id}"
    return f"R{region.id} ({region.found_by.split(';')[0]}, still weak)"


def list_column(pool_column: str) -> str:
    """The name a pool column has in the collection list.

    The list's own columns keep their contract names (DESIGN.md section 3); a pool column
    that shares one of them is listed as ``pool:NAME`` instead of being refused, and
    ingest maps it back (``Workspace.ingest`` compares it with the pool's ``NAME``).
    """
    return f"{POOL_PREFIX}{pool_column}" if pool_column in OWN_COLUMNS or \
        pool_column.startswith(POOL_PREFIX) else pool_column


def _collection_frame(picks: list[tuple[int, int, str, str]], pool: pd.DataFrame,
                      regions=()) -> pd.DataFrame:
    by_id = {r.id: r for r in regions}
    rows = np.array([p[0] for p in picks], dtype=np.int64)
    ids = np.array([p[1] for p in picks], dtype=np.int64)
    head = pd.DataFrame({"row": rows, "region": ids,
                         "priority": np.arange(1, len(picks) + 1, dtype=np.int64),
                         "source": [p[2] for p in picks], "reason": [p[3] for p in picks],
                         "region_name": [region_name(by_id[i]) if i in by_id else "none"
                                         for i in ids],
                         "region_rule": [(by_id[i].rule or "(no simple rule)") if i in by_id
                                         else "" for i in ids]})
    body = pool.iloc[rows].reset_index(drop=True)
    body.columns = [list_column(c) for c in body.columns]
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


def diagnosed(regions: list[Region], diagnoses: dict[int, Diagnosis], *, pool_given: bool
              ) -> list[Region]:
    """The regions with their ``diagnosis``, ``suggested_rows`` and ``evidence`` filled in.

    Without a pool no collection list says which rows to collect, so a ``collect`` region's
    evidence ends with its :func:`specification`.
    """
    found = []
    for region in regions:
        diagnosis = diagnoses[region.id]
        evidence = diagnosis.evidence
        if not pool_given and diagnosis.kind == "collect":
            evidence += " " + specification(region, diagnosis)
        found.append(dataclasses.replace(region, diagnosis=diagnosis.kind, evidence=evidence,
                                         suggested_rows=diagnosis.suggested_rows))
    return found


def _child_seeds(seed: int, n_regions: int) -> tuple[np.ndarray, int, int, int]:
    """A suggestion's seeds, drawn up front: one per region's learning curve, then the pool
    scorer's, the selection's and the base of the frozen regions' curves'."""
    rng = np.random.default_rng(seed)
    curve_seeds = rng.integers(2**31 - 1, size=max(1, n_regions))
    scorer, select, frozen = (int(s) for s in rng.integers(2**31 - 1, size=3))
    return curve_seeds, scorer, select, frozen


def pool_seed(seed: int, n_regions: int) -> int:
    """The seed :func:`suggest_regions` gives the pool scorer for ``n_regions`` regions, so a
    scorer fitted later (``Analysis.pool_scorer``) scores as the collection list did."""
    return _child_seeds(seed, n_regions)[1]


def suggest_regions(regions: list[Region], frame: pd.DataFrame, schema: Schema,
                    predictions: Predictions, data_map: DataMap, *, pool=None,
                    budget: int | None = None, strategy: str = "targeted", seed: int = 0,
                    available: np.ndarray | None = None, frozen: list[FrozenRegion] = (),
                    known: dict[int, Diagnosis] | None = None,
                    graph: NeighbourSearch | NeighbourGraph | None = None,
                    progress: Callable[[float], None] | None = None) -> tuple[dict[int, Diagnosis], pd.DataFrame | None, PoolPlacement | None]:
    """Diagnose every region and, with a pool, choose ``budget`` rows (default 100) to label.

    The regions are read, never changed; :func:`diagnosed` gives them their diagnosis.

    ``graph`` holds the analysis' shared neighbours of the input space (made when missing);
    ``progress(fraction)``, if given, hears as each region is diagnosed.
    ``known`` holds diagnoses already made for these regions on this data (``Analysis.
    diagnoses``); they are reused, since a learning curve costs nine model fits.
    ``frozen`` holds regions of earlier iterations; those :func:`still_weak` keeps are
    diagnosed too and compete for the budget under their own names (ids).
    Returns the diagnoses by region id, the collection list (None without a pool) and the
    pool's placement (None without a pool or for the random strategy).
    """
    curve_seeds, scorer_seed, select_seed, frozen_seed = _child_seeds(seed, len(regions))
    features = input_space(data_map)
    neighbours = neighbours_of(features, seed=seed) if graph is None else graph
    diagnoses = {}
    for index, region in enumerate(regions):
        if progress is not None:
            progress(index / (len(regions) + 1))
        if region.kind == "coverage":
            diagnoses[region.id] = diagnose_coverage_gap(region)
            continue
        diagnosis = (known or {}).get(region.id) or diagnose_region(
            region, frame, schema, predictions, features, seed=int(curve_seeds[index]),
            neighbours=neighbours, curve=index < MAX_CURVE_REGIONS)
        diagnoses[region.id] = diagnosis
    carried = still_weak(list(frozen), regions, frame, predictions, data_map)
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
                               seed=scorer_seed)
    listing = select_rows(strategy, budget, pool.drop(columns=[schema.target], errors="ignore"),
                          seed=select_seed, placement=placement, regions=targets,
                          diagnoses=diagnoses, available=available)
    return diagnoses, listing, placement
