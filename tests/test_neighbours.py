"""The shared neighbours: each row itself first, the search on demand answers as the exact
graph does, and the approximate search agrees with the exact one on data with structure."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.neighbours import NeighbourSearch, neighbour_graph


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
    distances, indices = graph.of(np.arange(len(space)), 3)
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


def test_the_search_on_demand_answers_as_the_exact_graph_and_searches_each_row_once():
    space = np.vstack([clusters(400, seed=3), clusters(400, seed=3)[:20]])  # 20 duplicates
    graph = neighbour_graph(space, exact=True, seed=5)
    search = NeighbourSearch(space, seed=5)
    rows = np.array([0, 7, 7, 401, 410])
    for k in (2, 16):
        distances, indices = search.of(rows, k)
        assert np.array_equal(indices, graph.of(rows, k)[1])
        assert np.allclose(distances, graph.of(rows, k)[0], atol=1e-4)
    assert search.searched == 4  # row 7 twice, searched once
    search.of(np.array([401, 3]), 5)
    assert search.searched == 5
    assert search.typical_distance == pytest.approx(graph.typical_distance, rel=1e-4)
    with pytest.raises(ValueError, match="keeps 16 neighbours"):
        search.of(rows, 17)


def test_samples_are_seeded_uniform_and_shared_between_overlapping_row_sets():
    search = NeighbourSearch(clusters(5000, seed=4), seed=1)
    first, second = np.arange(0, 4000), np.arange(1000, 5000)
    a, b = search.sample(first, 500), search.sample(second, 500)
    assert a.size == b.size == 500 and np.all(np.diff(a) > 0)
    assert set(a) <= set(first) and set(b) <= set(second)
    # both take the rows first in one order: about 375 shared, where two independent
    # samples would share about 47 (3,000 common rows x (500 / 4,000) squared)
    assert len(set(a) & set(b)) > 250
    assert np.array_equal(search.sample(first, 500), a)  # seeded
    assert not np.array_equal(NeighbourSearch(search.space, seed=2).sample(first, 500), a)
    assert np.array_equal(search.sample(np.arange(30), 500), np.arange(30))  # all, if few


def test_rows_one_search_found_are_taken_by_another_and_not_searched_again():
    space = clusters(300, seed=4)
    first, second = NeighbourSearch(space, seed=1), NeighbourSearch(space, seed=1)
    first.of(np.array([3, 50, 51]), 16)
    second.take(*first.found())
    assert second.searched == 3
    assert np.array_equal(second.of(np.array([50, 3]), 16)[1], first.of(np.array([50, 3]), 16)[1])
    assert second.searched == 3  # answered from what was taken
    with pytest.raises(ValueError, match="keeps 16"):
        second.take(np.array([0]), np.zeros((1, 5), np.int64), np.zeros((1, 5), np.float32))
