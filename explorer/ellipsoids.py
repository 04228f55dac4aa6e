"""Ellipsoids in two or three columns where errors cluster: regions no cut, ball or half-space
follows.

A thin tilted band in a few numeric columns is invisible to the other finders: an axis cut
or a half-space cannot follow it, and in the whole input space the other columns' spread
swamps every neighbourhood, so no ball lights it up. :func:`ellipsoid_candidates` looks in
the columns themselves, on discovery rows only:

1. **Which columns.** Each pair and triple of continuous columns is scored by how much
   errors cluster in it: the mean product of a row's excess error and the excess error rate
   of its nearest rows there (Moran's I over the k-nearest-neighbour graph). Where errors do
   not depend on those columns it is zero in expectation, whatever the columns' shape; a
   column that does not matter dilutes it.
2. **Where.** In the best subspaces, the rows whose nearest rows err more than the baseline
   allows (binomial tail), joined into connected groups.
3. **Its shape.** Each group seeds an ellipsoid fitted by maximum likelihood of the
   discovery errors: error rate ``q`` inside, ``p`` outside, with a boundary sharpened step
   by step (a logistic step in the Mahalanobis distance). A ball of neighbours blurs a band
   0.4 wide; the fitted boundary follows it (Jaccard with the shapes benchmark's planted
   ellipse 0.74-0.89 on seeds 0-4, where the hot group alone gave 0.38-0.57).

Every row inside the ellipsoid is the candidate: membership depends on where a row lies,
never on its own error, and the held-out test decides.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> points = rng.standard_normal((2000, 2))
>>> inside = np.abs(points[:, 0] - points[:, 1]) < 0.4
>>> errors = rng.random(2000) < np.where(inside, 0.5, 0.05)
>>> centre, scale = fitted_ellipsoid(points, errors, points[inside & errors])
>>> found = mahalanobis(points, centre, scale) <= 1
>>> bool((found & inside).sum() > 0.7 * found.sum())
True
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import coo_matrix
from scipy.spatial import KDTree
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, logit

from .candidates import (Candidate, SearchContext, continuous_columns, discovery_evidence,
                         seeded_sample)
from .stats import binomial_tail

__all__ = ["ellipsoid_candidates", "error_clustering", "fitted_ellipsoid", "mahalanobis"]

SAMPLE = 4000
"""At most this many discovery rows (a seeded sample) score subspaces and fit ellipsoids:
the cost stays bounded at any size, and a region of 5% still holds 200 of them."""
NEIGHBOURS = 30
"""Nearest rows that measure a row's local error rate: in three columns of 3,000 rows they
reach about 0.3 of a column's spread, fine enough to see a band 0.4 wide."""
MAX_COLUMNS = 9
"""Pairs and triples are formed among at most this many continuous columns (those along
which errors cluster most alone), bounding the cost on wide tables: 120 subspaces."""
SCREEN_NEIGHBOURS = 10
"""Every subspace is first scored over its rows' 10 nearest rows, a third of the cost of
``NEIGHBOURS``. On seeds 0-9 of the shapes benchmark's ellipse and flat ellipsoid (4,000
and 6,000 rows) the planted columns then ranked at most fifth; an axis-aligned grid of
cells (cheaper still) ranked the flat ellipsoid's columns 24th and 26th on two seeds. The
screen reads every sampled row: on 2,000 of seed 13's 3,000 it ranked them 36th (the
ellipsoid was missed), on all of them 3rd."""
RESCORED = 8
"""Subspaces best on the screen that are scored again over ``NEIGHBOURS``, which orders
them as sharply as the fit needs."""
SUBSPACES = 3
"""Subspaces searched for hot groups, best first."""
GROUPS = 2
"""Hot groups fitted per subspace, those with the most discovery evidence first."""
HOT = 0.05
"""A row is hot when its neighbours' errors are this unlikely under the baseline (one-sided
binomial tail). Only the seed of a fit: at 4,000 rows, 0.01 left the hot part of a planted
ellipsoid too small to seed its fit on 2 of 5 seeds (best Jaccard 0.00 and 0.21; 0.75 and
0.61 with 0.05); at 6,000 rows both gave the same candidates."""
TEMPERATURES = (0.5, 0.25, 0.1)
"""Width of the fitted boundary's logistic step in squared Mahalanobis distance, narrowed
in turn: a wide step lets the fit move from its seed, the last is close to a hard edge."""


def ellipsoid_candidates(context: SearchContext) -> list[Candidate]:
    """Ellipsoids fitted to the hot groups of the subspaces where errors cluster most."""
    space = context.model_space
    columns = continuous_columns(space, context.discovery)
    if len(columns) < 2:
        return []
    scaled = space[:, columns]
    scaled = (scaled - scaled.mean(axis=0)) / (scaled.std(axis=0) + 1e-9)
    rows = seeded_sample(np.flatnonzero(context.discovery), SAMPLE, context.seed)
    errors = context.discovery_errors[rows]
    if rows.size < 4 * NEIGHBOURS or errors.sum() < 2:
        return []
    candidates = []
    for subspace in _clustered_subspaces(scaled[rows], errors)[:SUBSPACES]:
        points = scaled[rows][:, subspace]
        groups = _hot_groups(points, errors, context.baseline)
        groups.sort(key=lambda group: -discovery_evidence(_mask(rows[group], len(space)),
                                                          context))
        for group in groups[:GROUPS]:
            centre, scale = fitted_ellipsoid(points, errors, points[group[errors[group]]])
            inside = mahalanobis(scaled[:, subspace], centre, scale) <= 1
            names = ", ".join(str(columns[j]) for j in subspace)
            candidates.append(Candidate(inside, "ellipsoids", f"columns {names}"))
    return candidates


def error_clustering(points: np.ndarray, errors: np.ndarray, k: int = NEIGHBOURS) -> float:
    """How much errors cluster among nearby ``points``: the mean over rows of (own error -
    rate) x (error rate of the ``k`` nearest other rows - rate), Moran's I over the
    k-nearest-neighbour graph up to a constant. Zero in expectation when errors ignore
    where rows lie."""
    rate = errors.mean()
    nearest = _nearest(points, k)
    return float(np.mean((errors - rate) * (errors[nearest].mean(axis=1) - rate)))


def _clustered_subspaces(points: np.ndarray, errors: np.ndarray) -> list[tuple[int, ...]]:
    """The ``RESCORED`` pairs and triples of columns where errors cluster most, best first:
    every pair and triple scored over ``SCREEN_NEIGHBOURS``, the best again over
    ``NEIGHBOURS``."""
    columns = range(points.shape[1])
    if points.shape[1] > MAX_COLUMNS:
        alone = [error_clustering(points[:, [j]], errors, SCREEN_NEIGHBOURS) for j in columns]
        columns = sorted(np.argsort(alone)[::-1][:MAX_COLUMNS].tolist())
    subspaces = [*combinations(columns, 2), *combinations(columns, 3)]
    screened = [error_clustering(points[:, s], errors, SCREEN_NEIGHBOURS) for s in subspaces]
    best = [subspaces[i] for i in np.argsort(screened, kind="stable")[::-1][:RESCORED]]
    return sorted(best, key=lambda s: -error_clustering(points[:, s], errors))


def _hot_groups(points: np.ndarray, errors: np.ndarray, baseline: float) -> list[np.ndarray]:
    """Rows whose nearest rows err more than ``baseline`` allows, in connected groups (two
    hot rows are joined when one is among the other's nearest); groups with too few errors
    to seed an ellipsoid's shape are left out."""
    nearest = _nearest(points, NEIGHBOURS)
    hot = binomial_tail(errors[nearest].sum(axis=1), NEIGHBOURS, baseline) <= HOT
    source = np.repeat(np.arange(len(points)), NEIGHBOURS)
    target = nearest.ravel()
    keep = hot[source] & hot[target]
    graph = coo_matrix((np.ones(keep.sum()), (source[keep], target[keep])),
                       shape=(len(points), len(points)))
    _, labels = connected_components(graph, directed=False)
    labels = np.where(hot, labels, -1)
    least = 2 * (points.shape[1] + 1)  # errors that give a covariance its full rank, twice
    return [group for group in (np.flatnonzero(labels == g) for g in np.unique(labels[hot]))
            if errors[group].sum() >= least]


def _nearest(points: np.ndarray, k: int) -> np.ndarray:
    """Each point's ``k`` nearest other points (a k-d tree: the subspaces have 1-3 columns)."""
    return KDTree(points).query(points, k=k + 1)[1][:, 1:]


def _mask(rows: np.ndarray, n_rows: int) -> np.ndarray:
    mask = np.zeros(n_rows, dtype=bool)
    mask[rows] = True
    return mask


def mahalanobis(points: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Squared distance of each point from ``centre`` in the metric ``scale @ scale.T``
    (an ellipsoid's boundary is where it is 1)."""
    return (((points - centre) @ scale) ** 2).sum(axis=1)


def fitted_ellipsoid(points: np.ndarray, errors: np.ndarray, seed_errors: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The ellipsoid inside which ``errors`` are likeliest to run at a rate of their own.

    The model: a row errs with probability ``q`` inside, ``p`` outside, the step between
    them a logistic in the squared Mahalanobis distance (width ``TEMPERATURES``); fitted by
    maximum likelihood (BFGS with the exact gradient; L-BFGS-B's overhead per step is
    larger than a step's work at this size) from the ellipsoid that the seed errors would
    fill evenly (their covariance times ``d + 2``).

    Returns ``(centre, scale)`` for :func:`mahalanobis`; ``scale`` is lower triangular.
    """
    d = points.shape[1]
    errors = errors.astype(float)
    centre = seed_errors.mean(axis=0)
    spread = np.cov(seed_errors.T) * (d + 2) + 1e-3 * np.eye(d)  # a ridge for flat seeds
    scale = np.linalg.cholesky(np.linalg.inv(spread))
    rates = [errors[mahalanobis(points, centre, scale) <= 1].mean(), errors.mean()]
    theta = np.concatenate([centre, scale[np.tril_indices(d)],
                            logit(np.clip(np.nan_to_num(rates), 0.01, 0.99))])
    for width in TEMPERATURES:
        theta = minimize(_loss, theta, args=(points, errors, width), jac=True,
                         method="BFGS").x
    return _unpacked(theta, d)


def _unpacked(theta: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(centre, scale)`` from the fit's parameters: centre, the scale's lower triangle,
    then the logits of the rates inside and outside."""
    scale = np.zeros((d, d))
    scale[np.tril_indices(d)] = theta[d:-2]
    return theta[:d], scale


def _loss(theta: np.ndarray, points: np.ndarray, errors: np.ndarray, width: float
          ) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of ``errors`` under the ellipsoid step, and its gradient."""
    centre, scale = _unpacked(theta, points.shape[1])
    inside, outside = expit(theta[-2:])
    offset = points - centre
    projected = offset @ scale
    step = expit((1 - (projected ** 2).sum(axis=1)) / width)
    rate = np.clip(outside + (inside - outside) * step, 1e-9, 1 - 1e-9)
    by_rate = (rate - errors) / (rate * (1 - rate))  # the chain rule, from the rate inward
    by_distance = -by_rate * (inside - outside) * step * (1 - step) / width
    gradient = np.concatenate([
        -2 * (by_distance[:, None] * projected @ scale.T).sum(axis=0),
        (2 * offset.T @ (by_distance[:, None] * projected))[np.tril_indices(points.shape[1])],
        [np.sum(by_rate * step) * inside * (1 - inside),
         np.sum(by_rate * (1 - step)) * outside * (1 - outside)]])
    return -float(np.sum(errors * np.log(rate) + (1 - errors) * np.log(1 - rate))), gradient
