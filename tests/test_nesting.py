"""Nested and overlapping regions: a hot core inside a warm region is its child; a lump of
two places gives way to the places; one slice comes back once, whole. And the rows each
candidate is tested on: the held-out half, or all rows of a cluster that no error chose.

Each test hands ``find_regions`` a fixed finder (the registry takes any), so the candidates
are known and only the test and the arrangement after it are under test. Error rates are
far apart and the tables large, so the outcome holds on every seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer.regions import Candidate, _arranged, find_regions
from explorer.rules import RuleFeatures
from explorer.types import DataMap, Region

N = 8000


def _search(error_rate: np.ndarray, candidates: list, seed: int):
    """The regions found among ``candidates``: masks, or (mask, finder name) pairs to say
    which are exact rules (``slices``, ``rules``, ...) or clusters no error chose."""
    return _search_all(error_rate, candidates, seed).regions


def _search_all(error_rate: np.ndarray, candidates: list, seed: int):
    """:func:`_search`'s whole search: its regions and how many candidates it tested."""
    rng = np.random.default_rng(seed)
    is_error = rng.random(N) < error_rate
    space = rng.standard_normal((N, 2)).astype(np.float32)
    data_map = DataMap(coords=space, model_space=space, n_fitted=N, from_cache=False)
    named = [c if isinstance(c, tuple) else (c, "fixed") for c in candidates]
    finder = {"fixed": lambda context: [Candidate(mask, name) for mask, name in named]}
    empty = RuleFeatures(matrix=np.empty((N, 0)), names=())
    return find_regions(data_map, is_error, empty, seed=seed, finders=finder)


def _mask(start: int, stop: int) -> np.ndarray:
    mask = np.zeros(N, dtype=bool)
    mask[start:stop] = True
    return mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_hot_core_inside_a_warm_region_is_kept_as_its_child(seed):
    warm, core = _mask(0, 1600), _mask(0, 300)
    rate = np.where(core, 0.7, np.where(warm, 0.3, 0.08))
    regions = _search(rate, [warm, core], seed)
    by_size = {r.size: r for r in regions}
    assert set(by_size) == {1600, 300}
    assert by_size[300].parent == by_size[1600].id and by_size[1600].parent is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_part_no_hotter_than_its_slice_gives_way_to_the_whole_slice(seed):
    whole, part = _mask(0, 600), _mask(0, 200)
    rate = np.where(whole, 0.5, 0.08)
    regions = _search(rate, [whole, part], seed)
    assert [r.size for r in regions] == [600] and regions[0].parent is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_lump_of_two_places_gives_way_to_the_places(seed):
    first, second = _mask(0, 400), _mask(4000, 4400)
    rate = np.where(first | second, 0.5, 0.08)
    regions = _search(rate, [first | second, first, second], seed)
    assert sorted(r.size for r in regions) == [400, 400]


def test_a_region_that_adds_only_ordinary_rows_to_a_purer_one_is_dropped():
    inner_noise = _mask(0, 500)
    rate = np.where(_mask(0, 400), 0.6, 0.08)  # the candidate adds 100 ordinary rows
    regions = _search(rate, [_mask(0, 400), inner_noise], 0)
    assert [r.size for r in regions] == [400]


def _arranged_sizes(parts: list[tuple[str, int, int]], error_share: dict[str, float],
                    confirmation: np.ndarray | None = None):
    """Regions handed straight to the arrangement in the given purity order (no sampling:
    each row's error is fixed, so the outcome is exact). ``parts`` are (found_by, start,
    stop) ranges; rows err in the given share of each named stretch, 8% elsewhere, spread
    evenly. Every row is held out unless ``confirmation`` says which are."""
    def evenly(count: int, share: float) -> np.ndarray:  # errors spread evenly
        return np.diff(np.floor(np.arange(count + 1) * share)) > 0

    is_error = evenly(N, 0.08)
    for stretch, share in error_share.items():
        start, stop = map(int, stretch.split("-"))
        is_error[start:stop] = evenly(stop - start, share)
    ranked = [Region(id=0, rows=np.arange(start, stop), size=stop - start, error_rate=0.0,
                     baseline_error_rate=0.08, lift=1.0, p_value=0.0, heldout_error_rate=0.0,
                     heldout_size=0, heldout_interval=(0.0, 1.0), compactness=1.0,
                     excess_errors=0.0, found_by=found_by) for found_by, start, stop in parts]
    held_out = np.ones(N, dtype=bool) if confirmation is None else confirmation
    kept, _ = _arranged(ranked, is_error, held_out, float(is_error[held_out].mean()), 0.05)
    return [(r.found_by, r.size) for r in kept]


def test_an_exact_rule_that_purer_approximations_cover_is_kept_said_exactly():
    """Two approximations of a slice, ranked purer (by luck, on real data), cover it: neither
    errs more than the rest of the slice, so the slice stands, once, with its exact rule."""
    kept = _arranged_sizes([("pairs", 0, 250), ("ellipsoids", 150, 400), ("rules", 0, 400)],
                           {"0-400": 0.45})
    assert kept == [("rules", 400)]


def test_a_ladder_of_rules_around_one_hot_core_gives_way_to_the_core():
    """Overlapping, nested slices of 450-800 rows around 200 hot rows (occluded digits, each
    slice a different pixel): each is hotter than the rest of a larger one, and two of them
    tile each larger one, but set aside its hotter parts and what is left of any of them
    errs no more than the baseline, so none is a place of its own (the 626-row slice had
    stood, tiled by the two inside it, and taken the core's rows)."""
    kept = _arranged_sizes([("rules", 100, 300), ("slices", 0, 450), ("slices", 100, 560),
                            ("slices", 0, 626), ("slices", 150, 700), ("slices", 0, 800)],
                           {"100-300": 0.6})
    assert kept == [("rules", 200)]


def test_of_two_rules_for_one_place_the_larger_stays_when_its_extra_rows_err():
    """Regions that each hold most of the other are one place, said once. A chain of tree
    nodes for one slice (189, 235, 286 rows, each holding most of the next): the purest was
    kept, the 189-row fragment; the 286-row node's rows outside the others err as much, so it
    stays. A two-condition slice and a tree's node that adds 30 ordinary rows to it: the
    slice stays (it had given way to the node: J 0.94 against 0.68)."""
    assert _arranged_sizes([("rules", 0, 189), ("rules", 0, 235), ("rules", 0, 286)],
                           {"0-286": 0.4}) == [("rules", 286)]
    assert _arranged_sizes([("conjunctions", 0, 220), ("rules", 20, 250)],
                           {"0-220": 0.5}) == [("conjunctions", 220)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_many_trims_of_a_uniform_slice_give_way_to_the_whole_slice(seed):
    """Ten parts of one uniformly weak slice, each a fifth smaller: one of ten is hotter
    than the rest of the slice by chance about every other table at 5%, so the parts are
    tested together (Benjamini-Hochberg), and the slice comes back once, whole."""
    whole = _mask(0, 600)
    rng = np.random.default_rng(100 + seed)
    trims = []
    for _ in range(10):
        trim = whole.copy()
        trim[rng.choice(600, 130, replace=False)] = False
        trims.append((trim, "conjunctions"))
    rate = np.where(whole, 0.5, 0.08)
    regions = _search(rate, [(whole, "slices"), *trims], seed)
    assert [r.size for r in regions] == [600]


def test_twins_given_up_for_a_region_that_falls_are_judged_on_their_own():
    """A place said once, by the purest of its twins (a ball around the 360 texts of one
    subtopic, an ellipsoid of 346 of them): when that one adds nothing beyond two fragments
    inside it that tile it, its twins are not dropped with it; the ellipsoid holds both
    fragments and says the place (they had stayed, two regions at J 0.77 and 0.80, where
    the ellipsoid's J was 0.96)."""
    kept = _arranged_sizes([("neighbourhoods", 0, 360), ("ellipsoids", 7, 353),
                            ("pairs", 0, 287), ("ellipsoids", 73, 360)], {"0-360": 0.6})
    assert kept == [("ellipsoids", 346)]


def test_a_cluster_no_error_chose_is_whole_beside_balls_inside_it_that_err_no_more():
    """A blob's cluster (116 rows) holding three purer balls that cover all but 4 of its
    rows, none hotter than the rest of it: they are pieces of it, so the cluster stands
    alone (on shapes seed 24 two balls, J 0.33 and 0.29, had taken its place, J 0.83). A
    ball in the cluster's place, chosen by errors, still gives way to its parts."""
    balls = [("neighbourhoods", 0, 45), ("neighbourhoods", 40, 90), ("neighbourhoods", 30, 112)]
    rates = {"0-116": 0.36}
    assert _arranged_sizes([*balls, ("clusters", 0, 116)], rates) == [("clusters", 116)]
    assert _arranged_sizes([*balls, ("neighbourhoods", 0, 116)], rates) == [
        ("neighbourhoods", 45), ("neighbourhoods", 82)]


def test_a_cluster_beside_a_ball_is_judged_on_all_its_own_rows():
    """Whether a region's rows outside the others err is read on the rows that played no
    part in choosing it, as its test was: all of a cluster's. Here the 26 rows a cluster
    keeps outside an overlapping ball err at 25%, every error on a discovery row: read held
    out they show nothing and the ball would take the cluster's place (shapes seed 12: a
    blob's cluster at J 0.78 gave way to a ball at J 0.49). A ball in the cluster's place,
    chosen by errors, is judged on its held-out rows and still gives way."""
    rates = {"0-26": 0.25, "26-120": 0.4, "120-180": 0.3}  # errors on odd rows in 0-26
    held_out = np.arange(N) % 2 == 0
    ball = ("neighbourhoods", 26, 180)  # holds 94 of the 120 rows, less than NESTED_SHARE
    assert _arranged_sizes([("clusters", 0, 120), ball], rates, held_out) == [
        ("clusters", 120), ("neighbourhoods", 154)]
    assert _arranged_sizes([("neighbourhoods", 0, 120), ball], rates, held_out) == [
        ("neighbourhoods", 154)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_cluster_no_error_chose_is_tested_on_all_its_rows(seed):
    """The same rows proposed by a finder that reads discovery errors are tested on their
    held-out half; proposed as a cluster of where rows lie, on all of them."""
    place = _mask(0, 400)
    rate = np.where(place, 0.5, 0.08)
    for finder, tested_rows in (("pairs", "half"), ("clusters", "all")):
        [region] = _search(rate, [(place, finder)], seed)
        held = region.heldout_size
        assert (held == 400) == (tested_rows == "all") and 150 < held <= 400


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_cluster_is_tested_even_one_whose_discovery_rows_do_not_err(seed):
    """Choosing clusters by their discovery errors would count those rows twice once all
    rows test them, so none is dropped before the test; an error-reading finder's cold
    candidate is."""
    hot, cold = _mask(0, 400), _mask(4000, 4400)
    rate = np.where(hot, 0.5, 0.08)
    for finder, tested in (("pairs", 1), ("clusters", 2)):
        search = _search_all(rate, [(hot, "pairs"), (cold, finder)], seed)
        assert search.candidates_tested == tested
        assert [r.size for r in search.regions] == [400]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_many_clusters_weigh_one_test_in_the_false_discovery_control(seed):
    """An error-chosen region's adjusted p-value is the same beside one cold cluster as
    beside twenty: together they weigh one test (``ERROR_BLIND_WEIGHT``), so a table of many
    clusters cannot push a real region out (the built-in digits' only region, adjusted
    p = 0.047 with 10 clusters beside it)."""
    hot = _mask(0, 400)
    rate = np.where(hot, 0.2, 0.08)
    p_values = []
    for clusters in (1, 20):
        colds = [(_mask(4000 + 200 * i, 4200 + 200 * i), "clusters") for i in range(clusters)]
        search = _search_all(rate, [(hot, "pairs"), *colds], seed)
        assert search.candidates_tested == 1 + clusters
        p_values.append(next(r.p_value for r in search.regions if r.size == 400))
    assert p_values[0] == pytest.approx(p_values[1], rel=1e-9)
