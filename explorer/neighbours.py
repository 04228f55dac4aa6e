"""One nearest-neighbour graph of the model's input space per analysis, shared by every stage.

The diagnoses (conflicting twins, suspect labels) and the region search's compactness check
each ran their own exact search over all rows; at 100k rows with ~70 encoded dimensions no
tree helps, so each was a brute-force pass that grew with the square of the rows (21 s and
12.8 s at 100k, and the first one did not finish at 1M). Here the graph is built once, with
scikit-learn's exact search for small tables and pynndescent's approximate nearest-neighbour
descent (already installed with umap-learn) above ``EXACT_ROWS``, and every stage reads the
first ``k`` columns it needs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .errors import check_int

__all__ = ["EXACT_ROWS", "GRAPH_NEIGHBOURS", "NeighbourGraph", "neighbour_graph"]

EXACT_ROWS = 50_000
"""Up to this many rows the exact search is used: it costs less than nearest-neighbour
descent's one-off numba compile (40-110 s in a fresh process on a 2-core machine, measured
2026-12-02; numba does not cache it across processes). Above it the approximate search,
whose cost grows about as n log n where the exact one grows as n squared (21 s at 100k
rows, 1M rows did not finish)."""
GRAPH_NEIGHBOURS = 16
"""Each row's neighbours kept, itself first: the most any stage reads (the compactness check's
15 neighbours plus the row itself)."""
DESCENT_NEIGHBOURS = 30
"""Neighbours nearest-neighbour descent keeps while it searches: more than are returned, so
that the 16 kept are nearly all true neighbours (umap-learn's own default is 30 too)."""

DESCENT_THREADS = 1
"""Threads of the approximate search. With a seed its graph is the same run after run on one
thread count but differs between counts (seen at 100k rows: one thread and two give different
graphs), so one thread on every machine gives every machine the same graph; on this 2-core
machine one thread was also the faster (16.1 s against 22.6 s at 100k rows, under load)."""


@dataclass(frozen=True)
class NeighbourGraph:
    """Each row's nearest rows in input space, itself in column 0, nearest first.

    ``indices`` and ``distances`` have shape (n_rows, k); ``exact`` says whether they came
    from the exact search.
    """

    indices: np.ndarray
    distances: np.ndarray
    exact: bool

    def first(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, indices)`` of each row's ``k`` nearest rows, itself first, in the
        order scikit-learn's ``kneighbors`` returns them."""
        if k > self.indices.shape[1]:
            raise ValueError(f"The graph holds {self.indices.shape[1]} neighbours per row; "
                             f"{k} were asked for.")
        return self.distances[:, :k], self.indices[:, :k]


def neighbour_graph(space: np.ndarray, *, k: int = GRAPH_NEIGHBOURS, seed: int = 0,
                    exact: bool | None = None) -> NeighbourGraph:
    """The ``k``-nearest-neighbour graph of the rows of ``space`` (Euclidean).

    Parameters
    ----------
    space : ndarray of shape (n_rows, n_dims)
    k : int
        Neighbours per row, the row itself included; clipped to the number of rows.
    seed : int
        Seeds the approximate search, so the same inputs give the same graph.
    exact : bool, optional
        Force the exact (True) or approximate (False) search; default: exact up to
        ``EXACT_ROWS`` rows.
    """
    space = np.ascontiguousarray(space, dtype=np.float32)
    k = min(check_int(k, name="k", owner="neighbour_graph", low=1), len(space))
    exact = len(space) <= EXACT_ROWS if exact is None else exact
    if exact or k >= len(space):
        distances, indices = NearestNeighbors(n_neighbors=k).fit(space).kneighbors(space)
        return NeighbourGraph(*_self_first(indices, distances), exact=True)
    from pynndescent import NNDescent

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        index = NNDescent(space, n_neighbors=max(k, min(DESCENT_NEIGHBOURS, len(space) - 1)),
                          random_state=seed, low_memory=True, compressed=False,
                          n_jobs=DESCENT_THREADS)
    indices, distances = index.neighbor_graph
    return NeighbourGraph(*_self_first(indices[:, :k], distances[:, :k]), exact=False)


def _self_first(indices: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put each row itself in column 0, at distance 0.

    Every reader takes column 0 as the row and the rest as its neighbours; with duplicate
    rows (distance 0) a search may list a twin first, or leave the row out, which would hide
    that twin.
    """
    indices = np.array(indices, dtype=np.int64)
    distances = np.array(distances, dtype=np.float32)
    for row in np.flatnonzero(indices[:, 0] != np.arange(len(indices))):  # duplicates only
        others = indices[row] != row
        width = indices.shape[1]
        indices[row] = np.concatenate([[row], indices[row][others]])[:width]
        distances[row] = np.concatenate([[0.0], distances[row][others]])[:width]
    return indices, distances
