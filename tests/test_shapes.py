"""Planted shapes no rule describes, and the neighbourhood finder that looks for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer import embed
from explorer.candidates import SearchContext
from explorer.data import infer_schema
from explorer.places import cluster_candidates, neighbourhood_candidates
from explorer.shapes import SHAPE_KINDS, make_shapes


def test_shapes_plant_what_they_say_and_are_seeded():
    data = make_shapes(2000, SHAPE_KINDS, seed=3)
    assert {"ellipse", "ellipsoid", "blob 1", "blob 2", "blob 3", "interaction"} <= \
        set(data.planted)
    assert sum(name.startswith("slice") for name in data.planted) == 3
    assert all(len(data.planted[f"blob {i}"]) == 40 for i in (1, 2, 3))
    flag, cue = data.frame["flag"], data.frame["cue"]
    interaction = np.flatnonzero((((flag == "yes") & (cue < -1)) | ((flag == "no") & (cue > 1)))
                                 .to_numpy())
    assert np.array_equal(data.planted["interaction"], interaction)
    wrong = (data.frame["prediction"] != data.frame["label"]).to_numpy()
    inside = np.zeros(len(wrong), dtype=bool)
    inside[np.concatenate(list(data.planted.values()))] = True
    assert wrong[inside].mean() > 0.3 > 0.12 > wrong[~inside].mean()
    pd.testing.assert_frame_equal(data.frame, make_shapes(2000, SHAPE_KINDS, seed=3).frame)
    assert make_shapes(500, (), seed=0).planted == {}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_neighbourhood_finder_proposes_a_ball_inside_a_cluster(seed):
    data = make_shapes(4000, "blobs", seed=seed, region_error=0.6)
    schema = infer_schema(data.frame, target="label", prediction="prediction")
    space = embed.ModelSpace(schema.numeric, schema.categorical).fit_transform(
        data.frame[list(schema.features)])
    is_error = (data.frame["prediction"] != data.frame["label"]).to_numpy()
    discovery = np.zeros(len(space), dtype=bool)
    discovery[np.random.default_rng(seed).permutation(len(space))[:2000]] = True
    context = SearchContext(coords=space[:, :2], model_space=space, rule_features=None,
                            discovery_errors=is_error & discovery, discovery=discovery,
                            baseline=float(is_error[discovery].mean()), min_size=20, seed=seed)
    candidates = neighbourhood_candidates(context)
    planted = np.zeros(len(space), dtype=bool)
    planted[np.concatenate(list(data.planted.values()))] = True
    assert max(planted[c.members].mean() for c in candidates) >= 0.75
    assert all(c.found_by == "neighbourhoods" for c in candidates)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cluster_finder_proposes_each_blob_from_where_rows_lie_alone(seed):
    """Clusters come from positions only: the same candidates whatever the errors are."""
    data = make_shapes(4000, "blobs", seed=seed)
    schema = infer_schema(data.frame, target="label", prediction="prediction")
    space = embed.ModelSpace(schema.numeric, schema.categorical).fit_transform(
        data.frame[list(schema.features)])
    discovery = np.zeros(len(space), dtype=bool)
    discovery[np.random.default_rng(seed).permutation(len(space))[:2000]] = True

    def candidates(is_error):
        return cluster_candidates(SearchContext(
            coords=space[:, :2], model_space=space, rule_features=None,
            discovery_errors=is_error & discovery, discovery=discovery,
            baseline=max(float(is_error[discovery].mean()), 1e-3), min_size=20, seed=seed))

    found = candidates((data.frame["prediction"] != data.frame["label"]).to_numpy())
    assert all(c.found_by == "clusters" for c in found)
    assert all(c.members.mean() <= 0.05 for c in found), "places, not the bulk of the table"
    for rows in data.planted.values():  # each blob lies largely inside one candidate
        assert max(c.members[rows].mean() for c in found) >= 0.4
    shuffled = np.random.default_rng(seed).permutation(len(space)) < 300
    assert [c.members.tolist() for c in candidates(shuffled)] == \
        [c.members.tolist() for c in found]


def _three_slices(seed: int):
    """Three planted slices at once, errors strong enough that each finder's mechanism, not
    the sampling, decides; the discovery half a seeded half of the rows."""
    from explorer.rules import RuleFeatures

    data = make_shapes(4000, "slices", seed=seed, region_error=0.6)
    schema = infer_schema(data.frame, target="label", prediction="prediction")
    is_error = (data.frame["prediction"] != data.frame["label"]).to_numpy()
    discovery = np.random.default_rng(seed).permutation(len(is_error)) < 2000
    context = SearchContext(coords=None, model_space=None,
                            rule_features=RuleFeatures.from_frame(data.frame, schema),
                            discovery_errors=is_error & discovery, discovery=discovery,
                            baseline=float(is_error[discovery].mean()), min_size=20, seed=seed)
    return data, context


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_conjunction_finder_proposes_each_two_condition_slice_among_several(seed):
    """Three slices at once: a tree's greedy splits serve the strongest; every pair of a
    category value and a numeric tail is checked here, so each two-condition slice has a
    candidate, said as its rule."""
    from explorer.regions import conjunction_candidates
    from explorer.stats import jaccard

    data, context = _three_slices(seed)
    found = conjunction_candidates(context)
    for name in ("slice group = a and c4 > 1.1", "slice flag = yes and c5 < -1.3"):
        best = max(found, key=lambda c: jaccard(np.flatnonzero(c.members), data.planted[name]))
        assert jaccard(np.flatnonzero(best.members), data.planted[name]) >= 0.8, best.hint
        column, value = name.split()[1], name.split()[3]
        assert best.hint.startswith(f"{column} = {value} and c")
        assert (data.frame[column][best.members] == value).all()
    assert all(c.found_by == "conjunctions" for c in found)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_tail_finder_fits_a_one_condition_cut_to_the_errors(seed):
    """``c6 > 1.9`` holds 3% of the rows: the slices cut at quartiles miss it, and a tree's
    greedy split goes to the stronger slices beside it; each column's tail is cut where the
    discovery errors say, and never holds more than half the rows."""
    from explorer.regions import FITTED_SIDE_SHARE, TAIL_MIN_EVIDENCE, tail_candidates
    from explorer.stats import jaccard

    data, context = _three_slices(seed)
    found = tail_candidates(context)
    planted = data.planted["slice c6 > 1.9"]
    best = max(found, key=lambda c: jaccard(np.flatnonzero(c.members), planted))
    assert jaccard(np.flatnonzero(best.members), planted) >= 0.8, best.hint
    assert best.hint.startswith("c6 > ")
    assert all(c.found_by == "tails" for c in found)
    for candidate in found:  # at most half the rows, and evidence beyond what noise reaches
        n = (candidate.members & context.discovery).sum()
        excess = (candidate.members & context.discovery_errors).sum() - n * context.baseline
        assert n <= FITTED_SIDE_SHARE * context.discovery.sum()
        assert excess / np.sqrt(n * context.baseline * (1 - context.baseline)) >= \
            TAIL_MIN_EVIDENCE - 1e-6
