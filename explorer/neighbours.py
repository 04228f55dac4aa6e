"""Nearest neighbours in the model's input space, shared by every stage of an analysis.

The diagnoses (conflicting twins, suspect labels) and the region search's compactness check
each ran their own exact search over all rows; at 100k rows with ~70 encoded dimensions no
tree helps, so each was a brute-force pass that grew with the square of the rows (21 s and
12.8 s at 100k, and the first one did not finish at 1M). Those stages read the neighbours of
a few thousand rows (a region's rows, a sample of them), so up to ``EXACT_ROWS`` rows a
:class:`NeighbourSearch` searches exactly, on demand, only the rows asked about, each once.
Above, where the rows asked about grow with the table and an exact search of each costs a
pass over all rows, one :class:`NeighbourGraph` of every row is built by pynndescent's
approximate nearest-neighbour descent (installed with umap-learn). Both answer
``of(rows, k)`` and draw their samples from one seeded order of the rows
(:meth:`sample`), so samples of overlapping row sets share rows and are searched once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .errors import check_int

__all__ = ["EXACT_ROWS", "GRAPH_NEIGHBOURS", "SAMPLE_ROWS", "NeighbourGraph",
           "NeighbourSearch", "descent_index", "neighbour_graph", "neighbours_of"]

EXACT_ROWS = 200_000
"""Up to this many rows the rows asked about are searched exactly (:class:`NeighbourSearch`);
above, the approximate graph of all rows. At 100k rows the scale benchmark's analysis asked
about 11,597 rows, searched in 9.4 s under load, while every confirmed candidate's
compactness was measured (since, only the reported regions': about 4,600 rows), where the
graph took 15-24 s plus a 40-130 s numba compile in a fresh process (measured 2026-12-02
on a 2-core machine). The exact cost grows with the rows asked about times all rows, both
of which grow with the table, so at 1M rows the graph (about n log n, 147 s) is the
cheaper: the exact search of a 3% region alone would cost about 30,000 x 1M distances."""
SAMPLE_ROWS = 2000
"""Rows a statistic over many rows is estimated on (a region's compactness, the typical
nearest-neighbour distance): a seeded sample of 2,000 puts a mean within about 0.02 and
bounds the rows searched."""
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


class _Neighbours:
    """What both kinds of neighbours share: the seeded order samples are drawn from."""

    n_rows: int
    seed: int

    @cached_property
    def _rank(self) -> np.ndarray:
        """Each row's place in one seeded order of all rows."""
        rank = np.empty(self.n_rows, dtype=np.int64)
        rank[np.random.default_rng(self.seed).permutation(self.n_rows)] = np.arange(self.n_rows)
        return rank

    def sample(self, rows: np.ndarray, size: int = SAMPLE_ROWS) -> np.ndarray:
        """At most ``size`` of ``rows`` (sorted), those first in the seeded order of all rows:
        a uniform sample of them, and samples of overlapping sets of rows share their rows."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size <= size:
            return rows
        return np.sort(rows[np.argpartition(self._rank[rows], size)[:size]])

    @cached_property
    def typical_distance(self) -> float:
        """The median distance from a row to its nearest other row (on :meth:`sample`)."""
        distances, _ = self.of(self.sample(np.arange(self.n_rows)), min(2, self.n_rows))
        return float(np.median(distances[:, 1])) if distances.shape[1] > 1 else 0.0

    def of(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


@dataclass(frozen=True)
class NeighbourGraph(_Neighbours):
    """Each row's nearest rows in input space, itself in column 0, nearest first.

    ``indices`` and ``distances`` have shape (n_rows, k); ``exact`` says whether they came
    from the exact search; ``seed`` orders the rows :meth:`sample` draws.
    """

    indices: np.ndarray
    distances: np.ndarray
    exact: bool
    seed: int = 0

    @property
    def n_rows(self) -> int:
        return len(self.indices)

    def of(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, indices)`` of the ``k`` nearest rows of each of ``rows``, itself
        first, in the order scikit-learn's ``kneighbors`` returns them."""
        if k > self.indices.shape[1]:
            raise ValueError(f"The graph holds {self.indices.shape[1]} neighbours per row; "
                             f"{k} were asked for.")
        return self.distances[rows, :k], self.indices[rows, :k]


class NeighbourSearch(_Neighbours):
    """Exact nearest rows of the rows asked about, each row searched once, when first asked.

    Parameters
    ----------
    space : ndarray of shape (n_rows, n_dims)
    k : int
        Neighbours kept per row, itself included; clipped to the number of rows.
    seed : int
        Orders the rows :meth:`sample` draws.
    """

    exact = True

    def __init__(self, space: np.ndarray, *, k: int = GRAPH_NEIGHBOURS, seed: int = 0):
        self.space = np.ascontiguousarray(space, dtype=np.float32)
        self.n_rows, self.seed = len(self.space), seed
        self.k = min(check_int(k, name="k", owner="NeighbourSearch", low=1), self.n_rows)
        self._index = NearestNeighbors(n_neighbors=self.k).fit(self.space)
        self._indices = np.zeros((self.n_rows, self.k), dtype=np.int64)
        self._distances = np.zeros((self.n_rows, self.k), dtype=np.float32)
        self._known = np.zeros(self.n_rows, dtype=bool)

    @property
    def searched(self) -> int:
        """Rows searched so far."""
        return int(self._known.sum())

    def of(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, indices)`` of the ``k`` nearest rows of each of ``rows``, itself
        first; rows not asked about before are searched now."""
        if k > self.k:
            raise ValueError(f"The search keeps {self.k} neighbours per row; {k} were asked "
                             f"for.")
        rows = np.asarray(rows, dtype=np.int64)
        new = np.unique(rows[~self._known[rows]])
        if new.size:
            distances, indices = self._index.kneighbors(self.space[new])
            self._indices[new], self._distances[new] = _self_first(new, indices, distances)
            self._known[new] = True
        return self._distances[rows, :k], self._indices[rows, :k]

    def found(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows searched so far, with their neighbours' ``(indices, distances)``: what a
        search of the same space in another process hands back (:meth:`take`)."""
        rows = np.flatnonzero(self._known)
        return rows, self._indices[rows], self._distances[rows]

    def take(self, rows: np.ndarray, indices: np.ndarray, distances: np.ndarray
             ) -> "NeighbourSearch":
        """Take rows another search of the same space found (:meth:`found`), so they are
        not searched again here."""
        if indices.shape[1:] != (self.k,):
            raise ValueError(f"Neighbours found with k = {indices.shape[1:]} cannot join a "
                             f"search that keeps {self.k}.")
        self._indices[rows], self._distances[rows] = indices, distances
        self._known[rows] = True
        return self


def neighbours_of(space: np.ndarray, *, seed: int = 0) -> NeighbourSearch | NeighbourGraph:
    """The neighbours an analysis shares: searched on demand up to ``EXACT_ROWS`` rows, else
    the approximate graph of every row."""
    if len(space) <= EXACT_ROWS:
        return NeighbourSearch(space, seed=seed)
    return neighbour_graph(space, seed=seed, exact=False)


def neighbour_graph(space: np.ndarray, *, k: int = GRAPH_NEIGHBOURS, seed: int = 0,
                    exact: bool = True) -> NeighbourGraph:
    """The ``k``-nearest-neighbour graph of every row of ``space`` (Euclidean).

    Parameters
    ----------
    space : ndarray of shape (n_rows, n_dims)
    k : int
        Neighbours per row, the row itself included; clipped to the number of rows.
    seed : int
        Seeds the approximate search, so the same inputs give the same graph, and orders
        the rows the graph samples (:meth:`NeighbourGraph.sample`).
    exact : bool, default True
        The exact search (a pass over all rows per row), or pynndescent's approximate one.
    """
    space = np.ascontiguousarray(space, dtype=np.float32)
    k = min(check_int(k, name="k", owner="neighbour_graph", low=1), len(space))
    if exact or k >= len(space):
        distances, indices = NearestNeighbors(n_neighbors=k).fit(space).kneighbors(space)
        return NeighbourGraph(*_self_first(np.arange(len(space)), indices, distances),
                              exact=True, seed=seed)
    indices, distances = descent_index(space, k=k, seed=seed).neighbor_graph
    return NeighbourGraph(*_self_first(np.arange(len(space)), indices[:, :k], distances[:, :k]),
                          exact=False, seed=seed)


def descent_index(space: np.ndarray, *, k: int, seed: int):
    """pynndescent's seeded index of the rows of ``space`` (float32, one thread), keeping at
    least ``DESCENT_NEIGHBOURS`` neighbours per row while it searches; its
    ``neighbor_graph`` is the rows' approximate graph, and ``query`` finds new rows'
    neighbours among them."""
    from .embed import _import_umap

    _import_umap()  # pynndescent caches its numba code where umap-learn does: set it up first
    from pynndescent import NNDescent

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        return NNDescent(space, n_neighbors=max(k, min(DESCENT_NEIGHBOURS, len(space) - 1)),
                         random_state=seed, low_memory=True, compressed=False,
                         n_jobs=DESCENT_THREADS)


def _self_first(rows: np.ndarray, indices: np.ndarray, distances: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Put each of ``rows`` itself in column 0 of its neighbours, at distance 0.

    Every reader takes column 0 as the row and the rest as its neighbours; with duplicate
    rows (distance 0) a search may list a twin first, or leave the row out, which would hide
    that twin.
    """
    indices = np.array(indices, dtype=np.int64)
    distances = np.array(distances, dtype=np.float32)
    for at in np.flatnonzero(indices[:, 0] != rows):  # duplicates only
        row = rows[at]
        others = indices[at] != row
        width = indices.shape[1]
        indices[at] = np.concatenate([[row], indices[at][others]])[:width]
        distances[at] = np.concatenate([[0.0], distances[at][others]])[:width]
    return indices, distances
