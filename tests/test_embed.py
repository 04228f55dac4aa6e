"""The map: seeded, cached by content, and faithful to the model's space."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

import explorer
from explorer.embed import ISLAND_GAP, PointPlacer, UmapMap, pack_islands, place_points
from explorer.errors import DataError, ParameterError


def blobs(n: int = 450, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = rng.normal(scale=6, size=(3, 8))
    return (centres[labels] + rng.normal(size=(n, 8))).astype(np.float32), labels


def neighbour_agreement(coords: np.ndarray, labels: np.ndarray) -> float:
    """How often a point's 2-D neighbours share its blob: structure kept by the map."""
    knn = KNeighborsClassifier(n_neighbors=6).fit(coords, labels)
    return float((knn.predict(coords) == labels).mean())


def test_map_keeps_clusters_and_is_seeded():
    X, labels = blobs()
    first = UmapMap(random_state=3).fit_transform(X)
    again = UmapMap(random_state=3).fit_transform(X)
    assert first.shape == (450, 2)
    assert np.array_equal(first, again)
    assert neighbour_agreement(first, labels) > 0.97


def test_rows_beyond_the_sample_are_placed_among_their_neighbours():
    X, labels = blobs(600)
    mapper = UmapMap(sample_size=200, random_state=0).fit(X)
    assert len(mapper.fitted_rows_) == 200
    placed = np.setdiff1d(np.arange(600), mapper.fitted_rows_)
    assert neighbour_agreement(mapper.embedding_, labels) > 0.95
    assert np.isfinite(mapper.embedding_[placed]).all()


def test_place_points_is_a_weighted_mean_of_neighbours():
    reference = np.array([[0.0], [1.0], [10.0]])
    coords = np.array([[0.0, 0.0], [2.0, 2.0], [50.0, 50.0]])
    placed = place_points(reference, coords, np.array([[0.0], [1.0]]), k=2)
    assert np.allclose(placed, [[0.0, 0.0], [2.0, 2.0]], atol=1e-3)


@pytest.mark.slow
def test_approximate_placement_agrees_with_the_exact_and_is_seeded():
    X, labels = blobs(3000, seed=1)
    reference, new = X[:1500], X[1500:]
    coords = np.column_stack([labels[:1500], -labels[:1500]]).astype(np.float32) * 10 \
        + reference[:, :2]  # a layout where each blob has its own place
    exact = PointPlacer().fit(reference, coords).transform(new)
    approximate = PointPlacer(approximate=True, random_state=4).fit(reference, coords)
    placed = approximate.transform(new)
    assert np.median(np.linalg.norm(placed - exact, axis=1)) < 0.01
    assert np.array_equal(placed, PointPlacer(approximate=True, random_state=4).fit(
        reference, coords).transform(new))  # one thread, seeded: the same placement


def test_tiny_and_bad_inputs_get_clear_errors():
    with pytest.raises(DataError, match="at least 10 rows; got 5"):
        UmapMap().fit(np.zeros((5, 3)))
    with pytest.raises(ParameterError, match="'n_neighbors' parameter of UmapMap"):
        UmapMap(n_neighbors=1).fit(np.zeros((50, 3)))


def test_small_far_islands_are_moved_in_whole_and_large_groups_stay():
    rng = np.random.default_rng(0)
    main = rng.uniform(-1, 1, (600, 2))
    large = rng.uniform(-1, 1, (300, 2)) + [0.0, 12.0]   # a third of the rows: stays
    island = rng.uniform(0, 0.2, (12, 2)) + [40.0, 0.0]  # 1% of the rows, far to the right
    layout = np.vstack([main, large, island]).astype(np.float32)
    packed = pack_islands(layout)
    assert np.array_equal(packed[:900], layout[:900])
    moved = packed[900:]
    np.testing.assert_allclose(moved - moved.mean(0), island - island.mean(0), atol=1e-4)
    gap = np.sqrt(((moved[:, None] - packed[None, :900]) ** 2).sum(-1)).min()
    extent = float(np.max(np.percentile(main, 99, axis=0) - np.percentile(main, 1, axis=0)))
    assert ISLAND_GAP * extent <= gap < 2 * ISLAND_GAP * extent
    assert moved.mean(0)[0] > 1.0 and abs(moved.mean(0)[1]) < 0.5  # still to the right


def test_a_layout_without_islands_is_unchanged():
    layout = np.random.default_rng(1).uniform(size=(400, 2)).astype(np.float32)
    assert np.array_equal(pack_islands(layout), layout)


TINY_ANALYSIS = """
import numpy as np, pandas as pd, explorer
rng = np.random.default_rng(0)
frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
frame["label"] = (frame["a"] + rng.normal(size=300) > 0).astype(int)
analysis = explorer.analyze(frame, target="label")
print(analysis.map.coords.shape)
print("\\n".join(analysis.notes))
"""


def test_an_unwritable_numba_cache_and_no_home_still_map_and_say_so(tmp_path):
    """Issue 13 item 9. No one can create a folder under a regular file; as root the run
    also drops to ``nobody``, so the install itself is read-only too, as on a server (root
    could write into site-packages, where numba would quietly cache instead)."""
    (tmp_path / "file.txt").write_text("")
    unwritable = tmp_path / "file.txt" / "cache"
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    env.update(NUMBA_CACHE_DIR=str(unwritable), EXPLORER_CACHE_DIR=str(unwritable))
    command = [sys.executable, "-c", TINY_ANALYSIS]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    done = subprocess.run(command, env=env, cwd="/", capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(300, 2)" in done.stdout
    notes = [line for line in done.stdout.splitlines() if "numba cache" in line]
    assert len(notes) == 1 and f"'{unwritable}' cannot be written" in notes[0], done.stdout


def test_rows_in_a_few_places_map_without_a_warning():
    """Found by tests/test_fuzz.py: umap-learn's spectral start fails on such rows and warns;
    its seeded random start is used instead (pytest turns any warning into an error)."""
    frame = pd.DataFrame({
        "target": np.tile([-4.870495e14, -2.453695e-248, 4.464260e16, 3.029415e-96], 100),
        "x": np.tile([np.inf, -5.32128e-169, 0.0, 0.0, 0.0], 80)})
    analysis = explorer.analyze(frame, target="target")
    assert np.isfinite(analysis.map.coords).all()


def test_many_far_islands_all_come_in_clear_of_each_other():
    rng = np.random.default_rng(3)
    main = rng.uniform(-1, 1, (4000, 2))
    angles = rng.uniform(0, 2 * np.pi, 150)
    far = np.c_[np.cos(angles), np.sin(angles)] * rng.uniform(20, 40, (150, 1))
    layout = np.vstack([main, far]).astype(np.float32)
    packed = pack_islands(layout)
    assert np.array_equal(packed[:4000], layout[:4000])
    moved = packed[4000:]
    extent = float(np.max(np.percentile(main, 99, axis=0) - np.percentile(main, 1, axis=0)))
    gap = ISLAND_GAP * extent
    assert np.linalg.norm(moved, axis=1).max() < 20  # every one came in
    between = np.sqrt(((moved[:, None] - moved[None, :]) ** 2).sum(-1))
    np.fill_diagonal(between, np.inf)
    assert between.min() >= gap * (1 - 1e-3)
    to_main = np.sqrt(((moved[:, None] - packed[None, :4000]) ** 2).sum(-1))
    assert to_main.min() >= gap * (1 - 1e-3)
