"""The ellipsoid finder alone: which columns, the fitted shape, and noise.

Planted data with a known answer; each threshold holds with room on every seed tried.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer import embed
from explorer.candidates import SearchContext
from explorer.data import infer_schema
from explorer.ellipsoids import (ellipsoid_candidates, error_clustering, fitted_ellipsoid,
                                 mahalanobis)
from explorer.regions import find_regions
from explorer.rules import RuleFeatures
from explorer.shapes import make_shapes
from explorer.stats import jaccard
from explorer.types import DataMap


def _band(seed: int, n: int = 4000):
    """Four standard normal columns; errors at 50% in a thin band across columns 0 and 1."""
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, 4))
    inside = (np.abs(points[:, 0] - points[:, 1]) / np.sqrt(2) < 0.2) & \
        (np.abs(points[:, 0] + points[:, 1]) / np.sqrt(2) < 1.5)
    errors = rng.random(n) < np.where(inside, 0.5, 0.06)
    return points, inside, errors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_errors_cluster_most_in_the_columns_that_hold_the_band(seed):
    points, _, errors = _band(seed)
    scores = {(a, b): error_clustering(points[:, [a, b]], errors)
              for a in range(4) for b in range(a + 1, 4)}
    assert max(scores, key=scores.get) == (0, 1)
    noise = np.random.default_rng(seed).random(len(errors)) < errors.mean()
    assert abs(error_clustering(points[:, [0, 1]], noise)) < scores[(0, 1)] / 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_fitted_ellipsoid_follows_a_thin_tilted_band(seed):
    """Seeded by the errors of a rough, too-round patch, the fit finds the band's edges."""
    points, inside, errors = _band(seed)
    pair = points[:, :2]
    patch = np.linalg.norm(pair, axis=1) < 1.0
    centre, scale = fitted_ellipsoid(pair, errors, pair[patch & errors])
    found = mahalanobis(pair, centre, scale) <= 1
    assert jaccard(np.flatnonzero(found), np.flatnonzero(inside)) >= 0.6
    assert jaccard(np.flatnonzero(patch), np.flatnonzero(inside)) < 0.3  # the seed was not


def _context(kind, seed, is_error=None, n_rows=6000):
    data = make_shapes(n_rows, kind, seed=seed)
    schema = infer_schema(data.frame, target="label", prediction="prediction")
    space = embed.ModelSpace(schema.numeric, schema.categorical).fit_transform(
        data.frame[list(schema.features)])
    if is_error is None:
        is_error = (data.frame["prediction"] != data.frame["label"]).to_numpy()
    discovery = np.zeros(len(space), dtype=bool)
    discovery[np.random.default_rng(seed).permutation(len(space))[: n_rows // 2]] = True
    context = SearchContext(coords=space[:, :2], model_space=space, rule_features=None,
                            discovery_errors=is_error & discovery, discovery=discovery,
                            baseline=float(is_error[discovery].mean()), min_size=20, seed=seed)
    return data, context


@pytest.mark.parametrize("kind", ["ellipse", "ellipsoid"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_finder_proposes_the_planted_ellipse_and_flat_ellipsoid(kind, seed):
    data, context = _context(kind, seed)
    candidates = ellipsoid_candidates(context)
    assert candidates and all(c.found_by == "ellipsoids" for c in candidates)
    planted = data.planted[kind]
    assert max(jaccard(np.flatnonzero(c.members), planted) for c in candidates) >= 0.7


def test_candidates_read_discovery_errors_only():
    """Errors of the held-out half change nothing: the test on them stays honest."""
    data, context = _context("ellipse", 0)
    is_error = (data.frame["prediction"] != data.frame["label"]).to_numpy()
    flipped = np.where(context.discovery, is_error, ~is_error)
    _, other = _context("ellipse", 0, is_error=flipped)
    assert [c.members.tolist() for c in ellipsoid_candidates(context)] == \
        [c.members.tolist() for c in ellipsoid_candidates(other)]


def test_noise_gives_no_region_through_this_finder_alone():
    found = []
    for seed in range(10):
        data = make_shapes(3000, (), seed=seed)
        schema = infer_schema(data.frame, target="label", prediction="prediction")
        space = embed.ModelSpace(schema.numeric, schema.categorical).fit_transform(
            data.frame[list(schema.features)])
        is_error = (data.frame["prediction"] != data.frame["label"]).to_numpy()
        data_map = DataMap(coords=space[:, :2], model_space=space, n_fitted=len(space),
                           from_cache=False)
        search = find_regions(data_map, is_error, RuleFeatures.from_frame(data.frame, schema),
                              seed=seed, finders={"ellipsoids": ellipsoid_candidates})
        found.append(len(search.regions))
    assert sum(n > 0 for n in found) <= 1, found
