"""The shared neighbour graph: each row itself first, and the approximate search agrees with
the exact one on data with structure."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.neighbours import neighbour_graph


def clusters(n_rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(8, 12))
    return (centres[rng.integers(8, size=n_rows)]
            + rng.normal(size=(n_rows, 12))).astype(np.float32)


def test_each_row_comes_first_even_with_exact_duplicates():
    space = np.repeat(clusters(50, seed=0), 3, axis=0)  # every row three times
    graph = neighbour_graph(space, k=5)
    assert np.array_equal(graph.indices[:, 0], np.arange(len(space)))
    assert np.all(graph.distances[:, 0] == 0)
    distances, indices = graph.first(3)
    assert distances.shape == indices.shape == (len(space), 3)
    twins = indices[:, 1:] // 3 == np.arange(len(space))[:, None] // 3
    assert twins.all()  # a row's two copies are its nearest neighbours, never hidden


def test_a_graph_is_clipped_to_the_rows_there_are():
    graph = neighbour_graph(clusters(6, seed=1), k=16)
    assert graph.indices.shape == (6, 6) and graph.exact


@pytest.mark.slow
def test_the_approximate_graph_finds_nearly_the_exact_neighbours():
    space = clusters(3000, seed=2)
    exact = neighbour_graph(space, exact=True)
    approximate = neighbour_graph(space, exact=False, seed=0)
    assert not approximate.exact
    assert np.array_equal(approximate.indices[:, 0], np.arange(len(space)))
    shared = [np.intersect1d(a[1:], b[1:]).size for a, b in
              zip(exact.indices, approximate.indices)]
    assert np.mean(shared) / (exact.indices.shape[1] - 1) >= 0.9
    again = neighbour_graph(space, exact=False, seed=0)
    assert np.array_equal(again.indices, approximate.indices)  # seeded: the same graph
