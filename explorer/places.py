"""Finders that read where rows lie in input space: balls around the neighbourhoods that
err most, dense clusters whatever their errors, and (optional) hot places of the 2-D map.

A rule, a tail or a half-space follows a region that the columns describe; these follow
one that is a *place*: a cluster in eight columns, a cluster of an embedding, the images
a thumb covered. Each returns candidates for :func:`explorer.regions.find_regions`, which
tests them on held-out rows like any other.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.neighbors import NearestNeighbors

from .candidates import Candidate, SearchContext, seeded_sample
from .stats import binomial_tail

__all__ = ["cluster_candidates", "map_candidates", "neighbourhood_candidates"]

HOT_LEVEL = 0.05
"""A map point is hot when the errors among its nearest discovery points on the map are
this unlikely under the baseline rate (one-sided binomial tail)."""
MAP_NEIGHBOURS = 30
"""Nearest discovery points on the map that judge a point's local error: few enough to stay
one place on the map, enough that a handful of errors among them can reach ``HOT_LEVEL``."""
VOTE_NEIGHBOURS = 15
"""Nearest clustered map points whose majority a row follows into a cluster."""
NEIGHBOURHOOD_SIZES = (20, 40, 80, 160)
"""Balls of several sizes, doubling (counted in discovery rows, about half a ball's rows): 40
fit a cluster of 2% of 6,000 rows; 160 average the noise of a larger, milder region."""
HOT_NEIGHBOURHOOD = 0.01
"""A discovery row is hot when the errors among its nearest discovery rows are this unlikely
under the baseline rate (one-sided binomial tail)."""
BALLS_PER_SIZE = 200
"""Centres tried per neighbourhood size, hottest first; balls that overlap a hotter one are
skipped, so a few distinct places remain."""
CLUSTER_SAMPLE = 5000
"""At most this many rows (a seeded sample) are clustered: HDBSCAN's cost grows faster than
the rows, and a cluster of 1% of the rows still holds 50 of them."""
CLUSTER_MIN_SAMPLES = 5
"""HDBSCAN reads density over 5 neighbours and returns its leaf clusters. Tuned on seeds 0-4
of the shapes benchmark's blobs (clusters alone, 15 blobs): 10 neighbours recovered 53% of
the blobs (mean Jaccard 0.52), 5 recovered 93% (0.60); 3 let noise split the blobs (80%).
HDBSCAN's default selection (excess of mass) merged two blobs into one cluster on 2 of
those 5 seeds at 4,000 rows; leaves keep them apart, and each grows to its blob as its own
Gaussian is fitted again (:func:`_against_background`)."""
CLUSTER_STEPS = 3
CLUSTER_SPREAD = 0.05
"""A cluster's own Gaussian is re-estimated 3 times from the rows it claims, with each
column's variance at least 0.05 (a spread of 0.22, where a numeric column's is 1): a
cluster drawn from one category (variance 0 in its one-hot columns) still admits the rows
of the others when they lie close. Seeds 0-4 of the shapes blobs (15 blobs), best candidate:
the majority vote of 25 nearest clustered rows, mean Jaccard 0.61; this rule before any
re-estimate 0.67, after 1 step 0.75, after 3 steps 0.79 (0.75 with a floor of 0.01)."""
NEIGHBOURHOOD_SAMPLE = 10_000
"""At most this many discovery rows (a seeded sample) index the neighbourhoods: the
search's cost stays bounded while a region of 1% still holds 100 of them. At 50,000 rows
(25,000 discovery rows) the sample's neighbour search was the search's largest cost: 3.0 of
7.6 CPU seconds with 20,000 on the scale benchmark's table, 1.0 with 10,000; the shapes
blobs at 50,000 rows (seeds 0-2) were found the same with either."""


def map_candidates(context: SearchContext) -> list[Candidate]:
    """Density clusters of the map's *hot* discovery points, extended to all rows by vote.

    A discovery point is hot when the errors among its nearest discovery neighbours on the
    map are more than chance allows (binomial upper tail below ``HOT_LEVEL``). Hot points are
    clustered with HDBSCAN; every row then joins the cluster that most of its nearest
    discovery points belong to, if that is a majority.
    """
    discovery_rows = np.flatnonzero(context.discovery)
    points = context.coords[discovery_rows]
    k = min(MAP_NEIGHBOURS, len(discovery_rows) - 1)
    index = NearestNeighbors(n_neighbors=k).fit(points)
    neighbours = index.kneighbors(points, return_distance=False)
    local_errors = context.discovery_errors[discovery_rows][neighbours].sum(axis=1)
    hot = binomial_tail(local_errors, k, context.baseline) <= HOT_LEVEL
    min_cluster = max(5, context.min_size // 4)
    if hot.sum() < min_cluster:
        return []
    labels = np.full(len(discovery_rows), -1)
    labels[hot] = HDBSCAN(min_cluster_size=min_cluster, copy=True).fit_predict(points[hot])
    return _extended_by_vote(labels, index, context.coords, min(VOTE_NEIGHBOURS, k), "map")


def cluster_candidates(context: SearchContext) -> list[Candidate]:
    """Dense places of input space, whatever their errors: HDBSCAN on the rows.

    An embedding's clusters, or rows drawn around a few centres, are places a model can fail
    as a whole; a ball of fixed size catches only part of one, and no cut follows it. The
    clusters are found from where rows lie, never from their errors, so each is one honest
    candidate for the held-out test; rows join a cluster when its own Gaussian explains
    them better than the data's (:func:`_against_background`). Since no error is read, the
    confirmation half's *positions* serve too: twice the rows to fit each Gaussian. On the
    shapes benchmark's blobs (seeds 0-19, 60 blobs) that raised the mean Jaccard from 0.72 to
    0.75, better on 40 blobs and worse on 12 (sign test p = 1e-4); other shapes unchanged.
    """
    n_rows = len(context.model_space)
    rows = seeded_sample(np.arange(n_rows), CLUSTER_SAMPLE, context.seed)
    min_cluster = max(2 * CLUSTER_MIN_SAMPLES, int(context.min_size * rows.size / n_rows))
    if rows.size < 4 * min_cluster:
        return []
    points = context.model_space[rows].astype(float)
    labels = HDBSCAN(min_cluster_size=min_cluster, min_samples=CLUSTER_MIN_SAMPLES,
                     copy=True, cluster_selection_method="leaf").fit_predict(points)
    return [Candidate(_against_background(points, labels == cluster, context.model_space),
                      "clusters") for cluster in np.unique(labels[labels >= 0])]


def _against_background(points: np.ndarray, cluster: np.ndarray, space: np.ndarray
                        ) -> np.ndarray:
    """The rows of ``space`` likelier drawn from the cluster's own Gaussian than from the
    data's: each a Gaussian with one variance per column (the cluster's at least
    ``CLUSTER_SPREAD``), weighed by their shares of ``points``; the cluster's is fitted
    again ``CLUSTER_STEPS`` times to the points it claims.

    Columns where the cluster is as spread as the data (a category it does not depend on,
    a column that is noise to it) cancel out of the ratio, so a cluster in eight of many
    columns is judged in its eight.
    """
    background = (points.mean(axis=0), points.var(axis=0) + 1e-9)

    def claimed(rows: np.ndarray, own: tuple[np.ndarray, np.ndarray], share: float):
        return (_log_density(rows, *own) - _log_density(rows, *background)
                + np.log(share / (1 - share))) > 0

    members = cluster
    for _ in range(CLUSTER_STEPS + 1):
        own = (points[members].mean(axis=0), points[members].var(axis=0) + CLUSTER_SPREAD)
        share = min(members.mean(), 0.5)  # past half the rows it is the bulk, not a place
        members = claimed(points, own, share)
        if members.sum() < 2:
            break
    return claimed(space, own, share)


def _log_density(rows: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Log density of each row under independent normals per column, up to a constant."""
    return -np.sum((rows - mean) ** 2 / (2 * variance) + 0.5 * np.log(variance), axis=1)


def _extended_by_vote(labels: np.ndarray, index: NearestNeighbors, space: np.ndarray,
                      voters: int, found_by: str) -> list[Candidate]:
    """Each cluster of indexed points as a candidate: every row joins the cluster that a
    majority of its ``voters`` nearest indexed points belong to."""
    votes = labels[index.kneighbors(space, n_neighbors=voters, return_distance=False)]
    majority = votes.shape[1] // 2 + 1
    return [Candidate((votes == cluster).sum(axis=1) >= majority, found_by)
            for cluster in np.unique(labels[labels >= 0])]


def neighbourhood_candidates(context: SearchContext) -> list[Candidate]:
    """Balls of input space around the rows whose nearest neighbours err most.

    For each neighbourhood size k, every discovery row's k nearest discovery rows (itself
    left out) are counted: how unlikely their errors are under the baseline rate (one-sided
    binomial tail). The most unlikely neighbourhoods, each far from the ones taken before it
    (no shared neighbours), become candidates: every row within the distance of the centre's
    k-th neighbour. A ball is a place however the region is shaped in the columns (a
    cluster in eight columns, a cluster of an embedding), which no axis cut or half-space
    follows; membership depends on where a row is, never on its own error.
    """
    discovery_rows = seeded_sample(np.flatnonzero(context.discovery), NEIGHBOURHOOD_SAMPLE,
                                   context.seed)
    sizes = [k for k in NEIGHBOURHOOD_SIZES if k < discovery_rows.size // 4]
    if not sizes:
        return []
    space = context.model_space
    errors = context.discovery_errors[discovery_rows].astype(int)
    index = NearestNeighbors(n_neighbors=max(sizes) + 1).fit(space[discovery_rows])
    distances, neighbours = index.kneighbors(space[discovery_rows])
    distances, neighbours = distances[:, 1:], neighbours[:, 1:]
    candidates = []
    for k in sizes:
        tail = binomial_tail(errors[neighbours[:, :k]].sum(axis=1), k, context.baseline)
        taken = np.zeros(discovery_rows.size, dtype=bool)
        for centre in np.argsort(tail, kind="stable")[:BALLS_PER_SIZE]:
            if tail[centre] > HOT_NEIGHBOURHOOD:
                break
            ball = neighbours[centre, :k]
            if taken[ball].any():  # overlaps a hotter ball: the same place
                continue
            taken[ball] = True
            radius = distances[centre, k - 1]
            inside = np.linalg.norm(space - space[discovery_rows[centre]], axis=1) <= radius
            candidates.append(Candidate(inside, "neighbourhoods", f"{k} neighbours"))
    return candidates
