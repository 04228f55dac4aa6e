"""The map: the model's view of each row, and a seeded 2-D UMAP picture of it.

This is the one module that touches umap-learn. It owns the seed, the thread count, the
numba cache folder, the neighbour search and umap-learn's warnings, so no other module (and
no user's process settings) is affected by them.

Measured on a 2-core machine (see DESIGN.md): handing umap-learn exact neighbours from
scikit-learn (``precomputed_knn``) skips its nearest-neighbour-descent compile, so the first
fit in a process costs ~9 s of compilation instead of ~40 s. Above ``sample_size`` rows the
map is fitted on a seeded sample and every other row is placed at the distance-weighted mean
of its nearest sampled rows, which is much cheaper than ``UMAP.transform``.

UMAP places small, loosely attached groups of rows anywhere; distances between groups carry
no meaning. On small maps a few such islands sat far out and squeezed the main cloud into a
corner of the chart, so :func:`pack_islands` moves small far-off islands in, along their own
direction, to a fixed gap from the rest.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import KDTree
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import DBSCAN
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (FunctionTransformer, OneHotEncoder, QuantileTransformer,
                                   StandardScaler)

from .cache import column_digests, digest
from .data import Schema
from .errors import DataError, ExplorerError, check_int
from .files import replace_atomically
from .neighbours import EXACT_ROWS, descent_index
from .types import DataMap, Predictions

__all__ = ["EncodedRows", "ModelSpace", "UmapMap", "PointPlacer", "build_map",
           "default_cache_dir", "encode_rows", "fit_map", "input_space", "model_space_only",
           "pack_islands", "place_points", "read_vectors", "with_vector_columns",
           "VECTOR_COLUMN_PREFIX", "sample_rows"]

MAP_VERSION = 4
"""Part of every cache key: bumped when the same inputs would give a different map (2: islands
are packed; 3: packed positions found on grids, which moves islands by < 1/1,000 of a step;
4: above ``neighbours.EXACT_ROWS`` rows the rest are placed from approximate neighbours)."""
ISLAND_SHARE = 0.05
"""Islands of at most this share of the rows may be moved; larger groups stay where UMAP put
them, since they take their own room on the chart."""
ISLAND_GAP = 0.08
"""The gap left between a moved island and the rest, as a share of the main cloud's extent:
wide enough to read as a separate group."""
ISLAND_STEPS = 40
"""Positions checked from where an island is to the centre: steps of 2.5% of its way in."""
ISLAND_REFINE = 31
"""Positions of each finer grid between the last clear and the first blocked step: two grids
place an island to 1/1,024 of a step, far below what a chart shows."""

PREDICTION_WEIGHT = 1.0
"""Scale of the prediction block: opposite predictions sit ~1.4 feature spreads apart, enough
to separate the model's classes without tearing a region in two along them."""
PLACE_CHUNK = 50_000
"""Rows placed at a time, so a long placement reports progress (scikit-learn already bounds
the distance matrix of each search by its ``working_memory``)."""
PLACE_EPSILON = 0.3
"""How far past the nearest found pynndescent's query keeps looking when a map of more than
``neighbours.EXACT_ROWS`` rows places the rest (below, the exact search costs less than
pynndescent's numba compile, which such a table never pays otherwise). On the scale
benchmark's space, 100,000 rows placed against 20,000 fitted under load: the exact search
11.1 s; an index (1.7 s) queried at 0.3 3.6 s, finding 92% of the exact 5 nearest; at 0.5
9 s (99.4%), no faster than exact; at pynndescent's default 0.1, 65%."""
PLACE_START, PACK_START = 0.4, 0.9
"""Rough shares of a sampled map's time spent before placing the other rows and before
packing islands, for the progress bar only."""
CATEGORY_WEIGHT = 0.5
"""Scale of one-hot columns: a changed category moves a row ~0.7 of a numeric feature's spread.
At full weight every combination of categories becomes its own island on the map, and a
region that cuts across categories falls apart into fragments."""

VECTOR_COLUMN_PREFIX = "embedding_"
"""Names of the columns that hold vectors given as an array or a ``.npy`` file."""

numba_cache_note: str | None = None
"""Set when umap-learn is imported: where numba caches, when not where it was configured to
(the analysis shows it as a note)."""


def default_cache_dir() -> Path:
    """``$EXPLORER_CACHE_DIR``, else ``$XDG_CACHE_HOME/explorer``, else ``~/.cache/explorer``,
    else (a service account without a home) the per-user temporary folder."""
    if os.environ.get("EXPLORER_CACHE_DIR"):
        return Path(os.environ["EXPLORER_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "explorer"
    try:
        return Path.home() / ".cache" / "explorer"
    except RuntimeError:  # no HOME and no entry in the password database
        return _temporary_cache_dir()


def _temporary_cache_dir() -> Path:
    """A cache folder of this user's own under the system's temporary folder."""
    return Path(tempfile.gettempdir()) / f"explorer-cache-{os.getuid()}"


def _writable(folder: Path) -> bool:
    """Whether files can be made in ``folder`` (made if missing), as numba will need."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _use_writable_numba_cache() -> str | None:
    """Point numba's cache at a folder it can write; return a note when it is not the
    configured one.

    umap-learn compiles its functions with ``cache=True``; numba then needs a writable
    folder at import, and without one (a read-only install, no HOME, an unwritable cache)
    the import fails with "cannot cache function 'rdist': no locator available". numba has
    no switch to turn such caching off, so the fallback is a per-user temporary folder.
    """
    configured = Path(os.environ.get("NUMBA_CACHE_DIR") or default_cache_dir() / "numba")
    candidates = [configured]
    try:
        candidates.append(_temporary_cache_dir() / "numba")
    except FileNotFoundError:  # tempfile found no writable temporary folder at all
        pass
    chosen = next((folder for folder in candidates if _writable(folder)), None)
    if chosen is None:
        raise ExplorerError(f"umap-learn needs a writable folder for numba's compiled code "
                            f"and none was found (tried {[str(c) for c in candidates]}); "
                            f"set NUMBA_CACHE_DIR or EXPLORER_CACHE_DIR to a writable folder.")
    os.environ["NUMBA_CACHE_DIR"] = str(chosen)
    if "numba" in sys.modules:  # numba read its settings when it was imported
        sys.modules["numba"].core.config.reload_config()
    if chosen == configured:
        return None
    return (f"The numba cache folder '{configured}' cannot be written; umap-learn's compiled "
            f"code is cached in '{chosen}' for this run instead.")


def _times_category_weight(onehot: np.ndarray) -> np.ndarray:
    return onehot * CATEGORY_WEIGHT


class ModelSpace(TransformerMixin, BaseEstimator):
    """Encode rows as the model sees them: features, scaled, plus what the model predicted.

    Numeric features are imputed and mapped to normal scores (robust to skew such as
    incomes); categorical ones are one-hot encoded; embedding columns are standardised. The
    prediction block (class probabilities, or a one-hot of the predicted label, or the
    predicted value) is appended by :meth:`with_predictions`.
    """

    def __init__(self, numeric=(), categorical=(), embedding=()):
        self.numeric = numeric
        self.categorical = categorical
        self.embedding = embedding

    def fit(self, X: pd.DataFrame, y=None) -> "ModelSpace":
        self.encoder_ = self._encoder(len(X)).fit(self._as_text(X))
        return self

    def fit_transform(self, X: pd.DataFrame, y=None) -> np.ndarray:
        """Fit and encode in one pass: ``fit`` then ``transform`` would encode every row
        twice (12.6 s of a 31 s encoding at 1M rows, measured 2026-12-02)."""
        self.encoder_ = self._encoder(len(X))
        return np.asarray(self.encoder_.fit_transform(self._as_text(X)), dtype=np.float32)

    def _encoder(self, n_rows: int) -> ColumnTransformer:
        parts = []
        if self.embedding:
            parts.append(("embedding", StandardScaler(), list(self.embedding)))
        else:
            if self.numeric:
                quantiles = min(1000, n_rows)
                parts.append(("numeric", make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True,
                                  keep_empty_features=True),
                    QuantileTransformer(n_quantiles=quantiles, output_distribution="normal",
                                        subsample=None)), list(self.numeric)))
            if self.categorical:
                parts.append(("categorical", make_pipeline(OneHotEncoder(
                    handle_unknown="infrequent_if_exist", max_categories=20,
                    sparse_output=False), FunctionTransformer(_times_category_weight)),
                    list(self.categorical)))
        return ColumnTransformer(parts)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.encoder_.transform(self._as_text(X)), dtype=np.float32)

    def _as_text(self, X: pd.DataFrame) -> pd.DataFrame:
        """Categoricals as strings, so 1 and "1" (or missing) encode the same way."""
        if not self.categorical or self.embedding:
            return X
        X = X.copy()
        for column in self.categorical:
            X[column] = X[column].astype("string").fillna("(missing)").astype(object)
        return X

    @staticmethod
    def with_predictions(encoded: np.ndarray, predictions: Predictions, *,
                         predicted: np.ndarray | None = None,
                         probabilities: np.ndarray | None = None) -> np.ndarray:
        """Append the prediction block, weighted by ``PREDICTION_WEIGHT``.

        The block is the labelled rows' own (``predictions``), or, for new rows, their
        ``predicted`` labels or values and class ``probabilities``, in the same form: the
        probabilities when the labelled rows came with them, else a one-hot of the label,
        else (regression) the value scaled by the *labelled* rows' mean and spread, so new
        rows land on the labelled rows' scale whichever other rows come with them.
        """
        new = predicted is not None
        if predictions.probabilities is not None:
            block = probabilities if new else predictions.probabilities
        elif predictions.classes:
            values = predicted if new else predictions.predicted
            block = (np.asarray(values, dtype=str)[:, None] ==
                     np.asarray(predictions.classes, dtype=str)[None, :]).astype(float)
        else:
            reference = np.asarray(predictions.predicted, dtype=float)
            values = np.asarray(predicted, dtype=float) if new else reference
            block = ((values - reference.mean()) / (reference.std() or 1.0))[:, None]
        return np.hstack([encoded, PREDICTION_WEIGHT * block]).astype(np.float32)


def _input_width(space: ModelSpace) -> int:
    """Columns a fitted :class:`ModelSpace` writes (before the prediction block)."""
    return max((part.stop for part in space.encoder_.output_indices_.values()), default=0)


class DeferredModelSpace:
    """The :class:`ModelSpace` of a map read back from the cache, fitted when first used.

    A cached map holds its rows' encoded matrix, so a repeat run does not encode them
    again; only new rows (a pool) need the fitted encoder, and fitting it reads every row
    (the encoding was 17-22 s of a 1M-row run's second pass, measured 2026-12-02). It is
    fitted on the same rows and columns, so it encodes new rows as the first run did.
    """

    def __init__(self, space: ModelSpace, frame: pd.DataFrame, columns: list[str]):
        self.space, self.frame, self.columns = space, frame, columns

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if self.frame is not None:
            self.space.fit(self.frame[self.columns])
            self.frame = None  # fitted: the rows are no longer needed
        return self.space.transform(X)


def model_space_only(frame: pd.DataFrame, schema: Schema, predictions: Predictions) -> DataMap:
    """The model's space of ``frame`` with placeholder 2-D coordinates, without UMAP.

    The region search's default finders never read the map, so tests and benchmarks that
    run the search on many tables skip the fit; the coordinates are the first two columns.
    """
    space = ModelSpace(schema.numeric, schema.categorical, schema.embedding)
    matrix = ModelSpace.with_predictions(
        space.fit_transform(frame[list(schema.features) + list(schema.embedding)]), predictions)
    return DataMap(coords=matrix[:, :2], model_space=matrix, n_fitted=len(frame),
                   from_cache=False, encoder=space, input_width=_input_width(space))


def read_vectors(path) -> np.ndarray:
    """The array in a ``.npy`` file, read without pickles (an object array is refused)."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise DataError(f"Embedding vectors are read from a .npy file (numpy.save); got "
                        f"'{path.name}'. Save them with numpy.save('vectors.npy', array).")
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"The embedding file '{path}' does not exist; give the path of the "
                        f".npy file that holds one vector per row of the data.") from None
    except ValueError as exc:  # a pickled object array, or not a .npy file at all
        raise DataError(f"The embedding file '{path}' is not a plain numeric .npy array "
                        f"({exc}); save a float array with numpy.save (pickled objects are "
                        f"never loaded).") from None
    except OSError as exc:
        raise DataError(f"The embedding file '{path}' cannot be read: {exc}.") from None


def with_vector_columns(frame: pd.DataFrame, vectors, *, source: str = "the embedding"
                        ) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``frame`` with one column per dimension of ``vectors`` (one vector per row), checked.

    The vectors become ordinary columns (``embedding_0`` ...), so every later step that
    selects, drops or appends rows keeps them aligned with their rows.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise DataError(f"{source} must hold one vector per row, an array of shape (rows, "
                        f"dimensions); got shape {vectors.shape}. Reshape it, e.g. "
                        f"array.reshape(len(array), -1).")
    if vectors.shape[0] != len(frame):
        raise DataError(f"{source} has {vectors.shape[0]:,} vectors but the data has "
                        f"{len(frame):,} rows; give one vector per row, in the data's order.")
    if vectors.shape[1] < 1 or not np.issubdtype(vectors.dtype, np.number) or \
            np.issubdtype(vectors.dtype, np.complexfloating):
        raise DataError(f"{source} must be real numbers with at least one dimension; got "
                        f"dtype {vectors.dtype} and shape {vectors.shape}.")
    bad = np.flatnonzero(~np.isfinite(vectors.astype(np.float64)).all(axis=1))
    if bad.size:
        raise DataError(f"{source} has {bad.size:,} rows with missing or infinite values "
                        f"(rows {', '.join(map(str, bad[:5]))}{' ...' if bad.size > 5 else ''}); "
                        f"every vector must be finite.")
    names = tuple(f"{VECTOR_COLUMN_PREFIX}{i}" for i in range(vectors.shape[1]))
    taken = [name for name in names if name in frame.columns]
    if taken:
        raise DataError(f"The data already has column(s) {taken[:5]}, the names given to "
                        f"{source}; rename them in the data.")
    block = pd.DataFrame(vectors.astype(np.float32), columns=list(names), index=frame.index)
    return pd.concat([frame, block], axis=1), names


def input_space(data_map: DataMap) -> np.ndarray:
    """The rows as the model's inputs alone: the map's model space without its prediction block.

    Every stage that asks where a row lies in *input* space (the region search, the
    diagnoses, the rows that join a frozen region) reads this one view, so that they agree
    on it. A hand-built map without a fitted :class:`ModelSpace` is taken as input space.
    """
    width = data_map.input_width
    if width is None:
        if getattr(data_map.encoder, "encoder_", None) is None:
            return data_map.model_space
        width = _input_width(data_map.encoder)
    return _input_columns(data_map.model_space, width)


def _input_columns(model_space: np.ndarray, width: int | None) -> np.ndarray:
    """The first ``width`` columns (the inputs; the prediction block follows), or all."""
    return model_space[:, :width] if width else model_space


class UmapMap(BaseEstimator):
    """A seeded 2-D UMAP of a matrix; above ``sample_size`` rows, fit a sample, place the rest.

    Parameters
    ----------
    n_neighbors : int, default=15
        UMAP's neighbourhood size; clipped to the number of rows minus one.
    min_dist : float, default=0.1
    sample_size : int, default=20000
        Rows used to fit UMAP; every other row is placed from its nearest fitted rows.
    random_state : int, default=0
    """

    def __init__(self, n_neighbors: int = 15, min_dist: float = 0.1, sample_size: int = 20000,
                 random_state: int = 0):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.sample_size = sample_size
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None, *, progress=None) -> "UmapMap":
        """Fit the map; ``progress(fraction)``, if given, hears how far the fit has got."""
        tell = progress or (lambda fraction: None)
        check_int(self.n_neighbors, name="n_neighbors", owner="UmapMap", low=2)
        check_int(self.sample_size, name="sample_size", owner="UmapMap", low=100)
        n_rows = len(X)
        if n_rows < 10:
            raise DataError(f"A map needs at least 10 rows; got {n_rows}.")
        rng = np.random.default_rng(self.random_state)
        fitted = sample_rows(n_rows, self.sample_size, rng)
        coords = np.empty((n_rows, 2), dtype=np.float32)
        coords[fitted] = _umap_fit(X[fitted], n_neighbors=min(self.n_neighbors, len(fitted) - 1),
                                   min_dist=self.min_dist,
                                   seed=int(rng.integers(2**31 - 1)))
        tell(PLACE_START)
        rest = np.setdiff1d(np.arange(n_rows), fitted)
        if rest.size:
            placer = PointPlacer(approximate=n_rows > EXACT_ROWS,
                                 random_state=int(rng.integers(2**31 - 1)))
            coords[rest] = placer.fit(X[fitted], coords[fitted]).transform(
                X[rest], progress=lambda done:
                tell(PLACE_START + (PACK_START - PLACE_START) * done))
        tell(PACK_START)
        self.embedding_ = pack_islands(coords)
        self.fitted_rows_ = fitted
        return self

    def fit_transform(self, X: np.ndarray, y=None, *, progress=None) -> np.ndarray:
        return self.fit(X, progress=progress).embedding_


def sample_rows(n_rows: int, sample_size: int, rng: np.random.Generator) -> np.ndarray:
    """The sorted rows UMAP is fitted on: all of them, or a seeded sample of ``sample_size``.

    A map loaded from the cache recomputes them from its seed, so the pool is placed against
    the same rows the map was fitted on.
    """
    if n_rows <= sample_size:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, sample_size, replace=False))


class PointPlacer:
    """New rows on a fitted map, at the inverse-distance-weighted mean of their ``k`` nearest
    fitted rows: the neighbour index is built once in :meth:`fit` and serves any number of
    :meth:`transform` calls (a pool scored a chunk at a time).

    ``approximate`` finds the nearest fitted rows with pynndescent's index (seeded by
    ``random_state``, one thread: the same placement on every machine) instead of the exact
    search; see ``PLACE_EPSILON``.
    """

    def __init__(self, k: int = 5, approximate: bool = False, random_state: int = 0):
        self.k = k
        self.approximate = approximate
        self.random_state = random_state

    def fit(self, reference: np.ndarray, reference_coords: np.ndarray) -> "PointPlacer":
        k = min(self.k, len(reference))
        if self.approximate and k < len(reference):
            self.index_ = descent_index(np.ascontiguousarray(reference, dtype=np.float32),
                                        k=k, seed=self.random_state)
        else:
            self.index_ = NearestNeighbors(n_neighbors=k).fit(reference)
        self.k_ = k
        self.coords_ = reference_coords
        return self

    def _nearest(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(self.index_, NearestNeighbors):
            return self.index_.kneighbors(rows)
        neighbours, distances = self.index_.query(np.ascontiguousarray(rows, np.float32),
                                                  k=self.k_, epsilon=PLACE_EPSILON)
        return distances, neighbours

    def transform(self, new: np.ndarray, *, progress=None) -> np.ndarray:
        """The map positions of ``new``, shape (len(new), 2).

        Rows go in chunks of ``PLACE_CHUNK``, so memory stays flat however many there are,
        and ``progress(fraction)``, if given, hears after each chunk.
        """
        placed = np.empty((len(new), 2), dtype=np.float32)
        for start in range(0, len(new), PLACE_CHUNK):
            chunk = slice(start, start + PLACE_CHUNK)
            distances, neighbours = self._nearest(new[chunk])
            weights = 1.0 / (distances + 1e-6)
            weights /= weights.sum(axis=1, keepdims=True)
            placed[chunk] = np.einsum("nk,nkd->nd", weights, self.coords_[neighbours])
            if progress is not None:
                progress(min(start + PLACE_CHUNK, len(new)) / len(new))
        return placed


def place_points(reference: np.ndarray, reference_coords: np.ndarray, new: np.ndarray,
                 *, k: int = 5, progress=None) -> np.ndarray:
    """Place new rows on the map once (see :class:`PointPlacer`)."""
    return PointPlacer(k).fit(reference, reference_coords).transform(new, progress=progress)


def pack_islands(coords: np.ndarray) -> np.ndarray:
    """Move small far-off islands of a 2-D layout in, to ``ISLAND_GAP`` from the rest.

    Islands are groups of points linked by gaps below three times the 95th percentile of the
    nearest-neighbour spacing. Each small one (``ISLAND_SHARE``) further out than twice the gap
    is slid rigidly towards the main cloud's centre along its own direction, stopping before it
    comes closer than the gap to the large groups or an island moved before it; sliding from
    the outside in keeps it out of hollows inside the cloud. Shapes within an island are
    unchanged.
    """
    coords = np.asarray(coords, dtype=np.float32)
    spacing = NearestNeighbors(n_neighbors=2).fit(coords).kneighbors(coords)[0][:, 1]
    islands = DBSCAN(eps=3 * float(np.percentile(spacing, 95)) or 1e-9,
                     min_samples=1).fit(coords).labels_
    sizes = np.bincount(islands)
    if len(sizes) == 1:
        return coords
    main = islands == sizes.argmax()
    low, high = np.percentile(coords[main], [1, 99], axis=0)
    gap = ISLAND_GAP * float(np.max(high - low))
    centre = np.median(coords[main], axis=0)
    small = sizes <= ISLAND_SHARE * len(coords)
    small[sizes.argmax()] = False
    large = KDTree(coords[~small[islands]])
    # Each island's members as one slice of a single sort, and every small island's nearest
    # distance to the large groups from one query: no pass over all rows per island.
    order = np.argsort(islands, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    in_small = small[islands[order]]
    nearest = np.full(len(coords), np.inf)
    if in_small.any():
        nearest[in_small] = large.query(coords[order[in_small]])[0]
    closest = np.minimum.reduceat(nearest, starts[:-1])
    offsets = np.add.reduceat(coords[order].astype(np.float64), starts[:-1]) / sizes[:, None] \
        - centre
    lengths = np.linalg.norm(offsets, axis=1)
    far = small & (lengths > 0) & (closest > 2 * gap)
    packed = coords.copy()
    moved = _MovedPoints()
    for island in [i for i in np.argsort(-sizes, kind="stable") if far[i]]:
        members = order[starts[island]:starts[island + 1]]
        distance = _slide_in(coords[members], offsets[island].astype(np.float32),
                             float(lengths[island]), large, moved, gap)
        if distance is None:  # an island moved before it is already in the way
            continue
        packed[members] = coords[members] + (offsets[island] / lengths[island] * distance
                                             - offsets[island]).astype(np.float32)
        moved.add(packed[members])
    return packed


def _slide_in(points: np.ndarray, offset: np.ndarray, length: float, large: KDTree,
              moved: "_MovedPoints", gap: float) -> float | None:
    """How close to the centre (along ``offset``) an island can come and stay ``gap`` clear.

    ``ISLAND_STEPS`` evenly spaced positions from where it is inwards are checked at once; the
    first blocked one is then narrowed down by two finer grids of ``ISLAND_REFINE`` positions
    each (to 1/1,000 of a step). None when the island cannot move at all.
    """
    direction = offset / length

    def clear(distances: np.ndarray) -> np.ndarray:
        shifts = direction[None, :] * distances[:, None] - offset[None, :]
        shifted = (points[None, :, :] + shifts[:, None, :]).reshape(-1, 2)
        nearest = np.minimum(large.query(shifted)[0], moved.distance(shifted))
        return nearest.reshape(len(distances), -1).min(axis=1) >= gap

    def first_blocked(distances: np.ndarray) -> int:
        fine = clear(distances)
        return int(np.argmin(fine)) if not fine.all() else len(distances)

    steps = np.linspace(length, 0.0, ISLAND_STEPS)
    blocked = min(first_blocked(steps), len(steps) - 1)  # the centre itself counts as blocked
    if blocked == 0:
        return None
    far, near = steps[blocked - 1], steps[blocked]  # last clear step, first blocked one
    for _ in range(2):
        grid = np.linspace(far, near, ISLAND_REFINE + 2)[1:-1]
        index = first_blocked(grid)
        far = grid[index - 1] if index > 0 else far
        near = grid[index] if index < len(grid) else near
    return float(far)


class _MovedPoints:
    """The points of islands moved so far, for "how close is each point to them?".

    Thousands of islands may move one after another. A KD-tree of all moved points rebuilt
    for each island made packing quadratic (482 s of a 1M-row map). Here the points sit in
    trees of decreasing size, a new island's points merged with the smaller trees only
    (at most log2(n) trees), so adding and querying stay about n log n in total.
    """

    def __init__(self):
        self.levels: list[tuple[np.ndarray, KDTree]] = []

    def add(self, points: np.ndarray) -> None:
        while self.levels and len(self.levels[-1][0]) <= len(points):
            points = np.vstack([self.levels.pop()[0], points])
        self.levels.append((points, KDTree(points)))

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Each point's distance to the nearest moved point (inf when none moved)."""
        nearest = np.full(len(points), np.inf)
        for _, tree in self.levels:
            nearest = np.minimum(nearest, tree.query(points)[0])
        return nearest


def _import_umap():
    """Import umap-learn on first use, with a writable numba cache and without its noise.

    Deferred because the import costs seconds and most commands never map. umap-learn warns
    at import that TensorFlow (for ParametricUMAP, which we do not use) is missing.
    """
    global numba_cache_note
    if "umap" not in sys.modules:
        numba_cache_note = _use_writable_numba_cache()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tensorflow not installed", category=ImportWarning)
        import umap
    return umap


def _umap_fit(X: np.ndarray, *, n_neighbors: int, min_dist: float, seed: int) -> np.ndarray:
    umap = _import_umap()
    distances, neighbours = NearestNeighbors(n_neighbors=n_neighbors).fit(X).kneighbors(X)
    reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed,
                        precomputed_knn=(neighbours, distances, None), n_components=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        # Rows that take only a few distinct places defeat umap-learn's spectral start; it
        # then starts from seeded random positions, which still gives a reproducible map.
        warnings.filterwarnings("ignore", message="Spectral initialisation failed",
                                category=UserWarning)
        return reducer.fit_transform(X).astype(np.float32)


@dataclass(frozen=True)
class EncodedRows:
    """The rows in the model's space, and where their map is cached: what the map stage has
    before its UMAP fit, so the region search (which reads no map) can start beside the fit.
    ``coords`` is the cached map (None: not fitted yet)."""

    model_space: np.ndarray
    input_width: int
    coords: np.ndarray | None
    encoder: object
    params: dict
    cache_path: Path

    @property
    def inputs(self) -> np.ndarray:
        """The rows as the model's inputs alone (:func:`input_space` of the map to come)."""
        return _input_columns(self.model_space, self.input_width)


def encode_rows(frame: pd.DataFrame, schema: Schema, predictions: Predictions, *, seed: int,
                cache_dir=None, sample_size: int = 20000,
                columns: dict[str, str] | None = None) -> EncodedRows:
    """Encode the rows into the model's space, or read them (and their map) from the cache.

    The cache key is a hash of the columns the map reads (``columns``: the table's
    :func:`~explorer.cache.column_digests`, computed here when not given), the schema, the
    prediction block and every parameter, so a changed row, seed or setting gives a new map,
    and a repeat reads the encoded rows back without encoding them (cached maps and spaces
    are plain ``.npy`` files, no pickles).
    """
    used = list(schema.features) + list(schema.embedding)
    columns = column_digests(frame[used]) if columns is None else columns
    params = {"seed": seed, "sample_size": sample_size, "n_neighbors": 15, "min_dist": 0.1}
    key = digest([columns[name] for name in used], repr(schema), predictions.predicted,
                 predictions.probabilities if predictions.probabilities is not None else [],
                 params, MAP_VERSION, version("umap-learn"), version("scikit-learn"))
    path = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "maps" / key
    space = ModelSpace(schema.numeric, schema.categorical, schema.embedding)
    coords = _load_from_cache(path.with_suffix(".npy"))
    matrix = _load_from_cache(path.with_suffix(".space.npy"))
    width = _load_from_cache(path.with_suffix(".width.npy"))
    if coords is not None and matrix is not None and width is not None:
        return EncodedRows(matrix, int(width), coords, DeferredModelSpace(space, frame, used),
                           params, path)
    matrix = ModelSpace.with_predictions(space.fit_transform(frame[used]), predictions)
    return EncodedRows(matrix, _input_width(space), None, space, params, path)


def fit_map(encoded: EncodedRows, *, progress=None) -> DataMap:
    """The encoded rows' 2-D map: read back when cached, else fitted and cached."""
    params = encoded.params
    if encoded.coords is not None:
        fitted = sample_rows(len(encoded.model_space), params["sample_size"],
                             np.random.default_rng(params["seed"]))
        return DataMap(coords=encoded.coords, model_space=encoded.model_space,
                       n_fitted=len(fitted), from_cache=True, params=params,
                       encoder=encoded.encoder, fitted_rows=fitted,
                       input_width=encoded.input_width)
    mapper = UmapMap(n_neighbors=params["n_neighbors"], min_dist=params["min_dist"],
                     sample_size=params["sample_size"], random_state=params["seed"])
    coords = mapper.fit_transform(encoded.model_space, progress=progress)
    for suffix, array in ((".npy", coords), (".space.npy", encoded.model_space),
                          (".width.npy", np.array(encoded.input_width))):
        _save_to_cache(encoded.cache_path.with_suffix(suffix), array)
    return DataMap(coords=coords, model_space=encoded.model_space,
                   n_fitted=len(mapper.fitted_rows_), from_cache=False, params=params,
                   encoder=encoded.encoder, fitted_rows=mapper.fitted_rows_,
                   input_width=encoded.input_width)


def build_map(frame: pd.DataFrame, schema: Schema, predictions: Predictions, *, seed: int,
              cache_dir=None, sample_size: int = 20000, progress=None,
              columns: dict[str, str] | None = None) -> DataMap:
    """Encode the rows, then fit their 2-D map; or read both back from the cache
    (:func:`encode_rows`, then :func:`fit_map`)."""
    return fit_map(encode_rows(frame, schema, predictions, seed=seed, cache_dir=cache_dir,
                               sample_size=sample_size, columns=columns), progress=progress)


def _load_from_cache(path: Path) -> np.ndarray | None:
    """A cached map, or None when there is none or the cache cannot be read."""
    try:
        return np.load(path, allow_pickle=False) if path.is_file() else None
    except OSError:  # an unreadable cache folder only costs speed, as in _save_to_cache
        return None


def _save_to_cache(path: Path, array: np.ndarray) -> None:
    """Store a map in the cache; a crash never leaves half a map there."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        def write(temporary: Path) -> None:
            with open(temporary, "wb") as handle:  # a handle: np.save would append ".npy"
                np.save(handle, array, allow_pickle=False)

        replace_atomically(path, write)
    except OSError:
        pass  # a read-only cache only costs speed, never the analysis
