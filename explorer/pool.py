"""Scoring pool rows against an analysis: fitted once, then applied a chunk at a time.

A pool can be far larger than the labelled data. Everything learned from the labelled rows
(the baseline model, the model of where it errs, one membership tree per region, the map's
neighbour indexes) is fitted once in :class:`PoolScorer`; :meth:`PoolScorer.score` is then
a function of each row alone. A pool file read in chunks (:func:`score_file`) or a Dask
DataFrame's partitions (:func:`score_dask`) therefore get exactly the scores of the whole
pool at once, while memory stays bounded by the chunk.

Per row means that nothing reads the other pool rows: a regression's predictions are scaled
by the labelled rows' mean and spread, and a coverage gap's rule reads a missing number as
the labelled rows' median, not the pool's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from .data import Schema, align_pool, finite_features
from .embed import ModelSpace, PointPlacer
from .errors import DataError, ExplorerError, ParameterError, check_int
from .files import replace_atomically
from .model import SINGLE_THREAD_BELOW, baseline_model, encode_target, model_inputs
from .reader import check_file, read_chunks
from .rules import Rule
from .types import DataMap, Predictions, Region

__all__ = ["PoolPlacement", "PoolScorer", "ScoredFile", "covered_columns", "score_file",
           "check_score_file", "score_dask", "COVERS", "CHUNK_ROWS"]

COVERS = 0.5
"""A pool row covers a region when it is at least as likely inside it as outside."""
MAP_NEIGHBOURS = 30
"""Labelled rows on the map that vote on a pool row's regions: enough that a region of a few
percent of the rows still casts several votes, few enough to stay within one cluster."""
MEMBER_DEPTH, MEMBER_LEAF = 6, 5
"""The membership tree in the model's space: six splits follow a region's edge across a few
of its dimensions; leaves of five rows let a small region keep leaves of its own."""
CHUNK_ROWS = 100_000
"""Pool rows scored at a time by :func:`score_file`: on a 30-column table, scoring took at
most 0.31 GiB above the fitted scorer at any pool length, as many rows a second as the whole
pool at once (``python -m benchmarks pool``); smaller chunks save memory and pay the models'
fixed cost per call more often."""
SCORE_SUFFIXES = (".csv", ".parquet")
RISK_DEPTH, RISK_LEAF = 3, 20
"""The error model is shallow with leaves of at least 20 rows: it should learn where errors
gather (an interaction of two or three columns), not memorise single mislabelled rows."""


@dataclass(frozen=True)
class PoolPlacement:
    """Pool rows in the model's space and on the map, and how well each covers each region.

    ``coverage`` has shape (n_pool, n_regions): the probability that a pool row belongs to
    the region, averaged over a balanced tree in the model's space and the balanced vote of
    its nearest labelled rows on the map (a coverage gap's rule decides it outright).
    """

    model_space: np.ndarray
    coords: np.ndarray
    probabilities: np.ndarray | None
    coverage: np.ndarray
    region_ids: tuple[int, ...]
    error_risk: np.ndarray
    """Shape (n_pool,): the probability that the model errs on each pool row, from a shallow
    model of where the labelled rows erred; within a region, rows that look like its failures
    are labelled first."""
    predicted: np.ndarray | None = None
    """Shape (n_pool,): the baseline model's label (or value) for each pool row."""


def covered_columns(coverage: np.ndarray) -> np.ndarray:
    """Each row's region column: the region it most likely belongs to, when it covers it
    (``COVERS``); -1 for a row that covers none."""
    if coverage.shape[1] == 0:
        return np.full(len(coverage), -1)
    best = coverage.argmax(axis=1)
    return np.where(coverage[np.arange(len(coverage)), best] >= COVERS, best, -1)


class PoolScorer:
    """Scores new (pool) rows against one analysis: fitted once, then row by row.

    Follows scikit-learn's contract: ``__init__`` stores the seed, :meth:`fit` learns from
    the labelled rows (state ending in ``_``), :meth:`place` and :meth:`score` read a chunk
    of pool rows and nothing else. ``Analysis.pool_scorer()`` fits one with the seed the
    analysis' own collection list used.

    Parameters
    ----------
    seed : int, default 0
        Seed of the baseline model, the error model and the membership trees.

    Examples
    --------
    >>> import explorer
    >>> planted = explorer.make_planted(n_rows=600, regions=("rule",), seed=0)
    >>> analysis = explorer.analyze(planted.frame, target="label", prediction="prediction")
    >>> scores = analysis.pool_scorer().score(planted.frame.drop(columns="label"))
    >>> list(scores.columns[:4])
    ['predicted', 'probability_0', 'probability_1', 'error_risk']
    """

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, frame: pd.DataFrame, schema: Schema, predictions: Predictions,
            data_map: DataMap, regions: list[Region], *, text_embedder=None) -> "PoolScorer":
        """Learn from the labelled rows; ``text_embedder`` (a fitted ``text.TextEmbedder``)
        embeds the pool's text column when the analysis had one."""
        inputs = model_inputs(frame, schema)
        self.schema_, self.predictions_, self.text_embedder_ = schema, predictions, text_embedder
        self.kinds_ = inputs.iloc[:0]  # the data's kind of each column, which align_pool reads
        self.region_ids_ = tuple(region.id for region in regions)
        with threadpool_limits(1):  # see diagnose.learning_curve
            self.model_ = baseline_model(schema, seed=self.seed).fit(
                inputs, encode_target(frame[schema.target], schema))
        self.error_model_, self.error_rate_ = _error_model(inputs, schema, predictions,
                                                           self.seed)
        self.encoder_, self.width_ = data_map.encoder, data_map.model_space.shape[1]
        fitted = slice(None) if data_map.fitted_rows is None else data_map.fitted_rows
        self.placer_ = PointPlacer().fit(data_map.model_space[fitted], data_map.coords[fitted])
        self.map_index_ = NearestNeighbors(
            n_neighbors=min(MAP_NEIGHBOURS, len(data_map.coords))).fit(data_map.coords)
        self.rules_, self.trees_, self.members_ = {}, {}, {}
        for column, region in enumerate(regions):
            if region.kind == "coverage":  # found in the pool by its rule: membership is exact
                rule = Rule(region.rule_conditions)
                self.rules_[column] = (rule, rule.fill_values(frame))
                continue
            members = np.zeros(len(frame), dtype=bool)
            members[region.rows] = True
            self.members_[column] = members
            # Balanced, because a thinly covered region is rare among the labelled rows by
            # definition: an unweighted vote would call its pool rows outsiders.
            self.trees_[column] = DecisionTreeClassifier(
                max_depth=MEMBER_DEPTH, min_samples_leaf=MEMBER_LEAF, class_weight="balanced",
                random_state=self.seed).fit(data_map.model_space, members)
        return self

    def place(self, chunk: pd.DataFrame) -> PoolPlacement:
        """The rows of ``chunk`` predicted, placed and scored, each on its own."""
        pool = self._prepared(chunk)
        if not len(pool):  # a Dask partition may be empty; the models refuse no rows
            return self._no_rows()
        # Small chunks on one OpenMP thread, as model.SINGLE_THREAD_BELOW says: threads that
        # spin-wait for busy cores made a one-row chunk cost 0.7 s. Rows never depend on
        # how many threads share them out.
        threads = 1 if len(pool) < SINGLE_THREAD_BELOW else None
        with threadpool_limits(limits=threads, user_api="openmp"):
            return self._placed(pool)

    def _placed(self, pool: pd.DataFrame) -> PoolPlacement:
        schema = self.schema_
        inputs = model_inputs(pool, schema)
        probabilities = None
        if schema.is_classification:
            probabilities = self.model_.predict_proba(inputs)
            predicted = np.asarray(schema.classes, dtype=object)[probabilities.argmax(axis=1)]
        else:
            predicted = self.model_.predict(inputs)
        space = ModelSpace.with_predictions(self.encoder_.transform(inputs), self.predictions_,
                                            predicted=predicted, probabilities=probabilities)
        coords = self.placer_.transform(space)
        risk = (self.error_model_.predict_proba(inputs)[:, 1] if self.error_model_ is not None
                else np.full(len(pool), self.error_rate_))
        return PoolPlacement(model_space=space, coords=coords, probabilities=probabilities,
                             coverage=self._coverage(pool, space, coords),
                             region_ids=self.region_ids_, error_risk=risk, predicted=predicted)

    def score(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """The scores of ``chunk``'s rows as a table indexed like it.

        Columns: ``predicted``; ``probability_<class>`` per class (classification);
        ``error_risk``; the map position ``x, y``; ``region``, the id of the region the row
        most likely belongs to (-1: none it covers); ``coverage_R<id>`` per region.
        """
        placement = self.place(chunk)
        predicted = placement.predicted
        if self.schema_.is_classification:  # the labels' own type (numbers, text), not objects
            predicted = predicted.astype(np.asarray(self.schema_.classes).dtype)
        columns = {"predicted": predicted}
        if placement.probabilities is not None:
            columns.update({f"probability_{label}": placement.probabilities[:, index]
                            for index, label in enumerate(self.schema_.classes)})
        covered = covered_columns(placement.coverage)
        ids = np.asarray(self.region_ids_ + (-1,), dtype=np.int64)
        columns.update(error_risk=placement.error_risk, x=placement.coords[:, 0],
                       y=placement.coords[:, 1], region=ids[covered])
        columns.update({f"coverage_R{region_id}": placement.coverage[:, index]
                        for index, region_id in enumerate(self.region_ids_)})
        return pd.DataFrame(columns, index=chunk.index)

    @property
    def input_columns(self) -> list[str]:
        """The pool columns the scorer reads; a pool file's other columns are never read."""
        schema = self.schema_
        text = [schema.text] if self.text_embedder_ is not None else []
        embedding = [c for c in schema.embedding
                     if self.text_embedder_ is None or c not in self.text_embedder_.columns()]
        return list(schema.features) + embedding + text

    def _prepared(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """The chunk's text embedded, aligned to the data's columns, infinities missing."""
        if self.text_embedder_ is not None:
            chunk = self.text_embedder_.with_columns(chunk, self.schema_.text, what="pool")
        aligned = align_pool(chunk, self.kinds_, self.schema_)
        return finite_features(aligned, self.schema_, "pool", notes=[])

    def _coverage(self, pool: pd.DataFrame, space: np.ndarray, coords: np.ndarray
                  ) -> np.ndarray:
        coverage = np.zeros((len(pool), len(self.region_ids_)))
        for column, (rule, fill) in self.rules_.items():
            coverage[:, column] = rule.mask(pool, fill)
        if self.trees_:
            neighbours = self.map_index_.kneighbors(coords, return_distance=False)
            for column, tree in self.trees_.items():
                coverage[:, column] = (tree.predict_proba(space)[:, 1]
                                       + _balanced_vote(self.members_[column], neighbours)) / 2
        return coverage

    def _no_rows(self) -> PoolPlacement:
        """The placement of no rows, with every array's width and type as for any chunk."""
        classification = self.schema_.is_classification
        return PoolPlacement(
            model_space=np.empty((0, self.width_), np.float32),
            coords=np.empty((0, 2), np.float32),
            probabilities=np.empty((0, len(self.schema_.classes))) if classification else None,
            coverage=np.empty((0, len(self.region_ids_))), region_ids=self.region_ids_,
            error_risk=np.empty(0), predicted=np.empty(0, object if classification else float))


def _error_model(inputs: pd.DataFrame, schema: Schema, predictions: Predictions,
                 seed: int) -> tuple[Pipeline | None, float]:
    """A shallow model of where the labelled rows erred, and their error rate; no model when
    they all erred or none did (the rate is then every row's risk)."""
    is_error = np.asarray(predictions.is_error, dtype=int)
    rate = float(is_error.mean()) if len(is_error) else 0.0
    if is_error.min() == is_error.max():
        return None, rate
    errors_schema = dataclasses.replace(schema, task="classification", classes=(0, 1))
    with threadpool_limits(1):
        model = baseline_model(errors_schema, seed=seed)
        model.set_params(model__max_depth=RISK_DEPTH, model__min_samples_leaf=RISK_LEAF)
        model.fit(inputs, is_error)
    return model, rate


def _balanced_vote(members: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """P(member) from the map's nearest labelled rows, corrected for the region's share."""
    inside = members[neighbours].mean(axis=1)
    share = members.mean()
    weight_in, weight_out = inside / share, (1 - inside) / (1 - share)
    return weight_in / (weight_in + weight_out)


@dataclass(frozen=True)
class ScoredFile:
    """What :func:`score_file` wrote: the file, its rows and chunks, and the rows each region
    covers (by the ``region`` column; -1 counts the rows that cover none)."""

    path: Path
    rows: int
    chunks: int
    region_rows: dict[int, int]


def score_file(scorer: PoolScorer, pool, out, *, chunk_rows: int = CHUNK_ROWS,
               progress: Callable[[float], None] | None = None) -> ScoredFile:
    """Score a pool file ``chunk_rows`` rows at a time into ``out``, with flat memory.

    Parameters
    ----------
    scorer : PoolScorer
        Fitted, e.g. ``analysis.pool_scorer()``.
    pool : path
        A .csv or .parquet file with the data's feature columns (read as
        :func:`explorer.reader.read_chunks` says; its other columns are never read).
    out : path
        A .csv or .parquet file: ``row`` (the pool row's 0-based position) and the columns of
        :meth:`PoolScorer.score`. Written atomically: a failed run leaves no half file.
    chunk_rows : int, default ``CHUNK_ROWS``
        Memory grows with it; time per row hardly does above a few thousand.
    progress : callable, optional
        ``progress(share_read)`` after each chunk.
    """
    pool, out, chunk_rows = check_score_file(pool, out, chunk_rows)
    counts: dict[int, int] = {}
    chunks = 0

    def write(temporary: Path) -> None:
        nonlocal chunks
        with _ScoresWriter(temporary, out.suffix.lower()) as writer:
            for chunk in read_chunks(pool, "pool", rows=chunk_rows,
                                     columns=scorer.input_columns, progress=progress):
                scores = scorer.score(chunk)
                writer.write(scores.rename_axis("row").reset_index())
                for region, rows in scores["region"].value_counts().items():
                    counts[int(region)] = counts.get(int(region), 0) + int(rows)
                chunks += 1
        if not counts:
            raise DataError(f"The pool file '{pool}' has no rows to score; give a file with "
                            f"a header and at least one row.")

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(out, write)
    except OSError as exc:
        raise ExplorerError(f"Could not write the scores to '{out}': {exc.strerror or exc}. "
                            f"Choose a folder you can write to.") from None
    return ScoredFile(path=out, rows=sum(counts.values()), chunks=chunks,
                      region_rows=dict(sorted(counts.items())))


def check_score_file(pool, out, chunk_rows: int) -> tuple[Path, Path, int]:
    """:func:`score_file`'s arguments, checked before any work (the command line checks them
    before its analysis): a pool file that is a table, a scores file named .csv or .parquet."""
    chunk_rows = check_int(chunk_rows, name="chunk_rows", owner="score_file", low=1)
    pool, out = Path(pool), Path(out)
    if out.suffix.lower() not in SCORE_SUFFIXES:
        raise ParameterError(f"The scores file '{out}' must end in .csv or .parquet, which "
                             f"say how to write it; got '{out.suffix or '(no extension)'}'.")
    check_file(pool, "pool")
    return pool, out, chunk_rows


class _ScoresWriter:
    """Appends chunks of scores to one CSV or Parquet file (one row group per chunk)."""

    def __init__(self, path: Path, suffix: str):
        self.path, self.suffix = path, suffix
        self.parquet = None
        self.stream = open(path, "w", encoding="utf-8", newline="") if suffix == ".csv" \
            else None

    def write(self, scores: pd.DataFrame) -> None:
        if self.stream is not None:
            scores.to_csv(self.stream, header=self.stream.tell() == 0, index=False)
            return
        import pyarrow
        import pyarrow.parquet

        if self.parquet is None:  # every chunk takes the first chunk's column types
            table = pyarrow.Table.from_pandas(scores, preserve_index=False)
            self.parquet = pyarrow.parquet.ParquetWriter(self.path, table.schema)
        else:
            table = pyarrow.Table.from_pandas(scores, schema=self.parquet.schema,
                                              preserve_index=False)
        self.parquet.write_table(table)

    def __enter__(self) -> "_ScoresWriter":
        return self

    def __exit__(self, *exc) -> None:
        if self.stream is not None:
            self.stream.close()
        if self.parquet is not None:
            self.parquet.close()


def score_dask(scorer: PoolScorer, pool):
    """Score a ``dask.dataframe.DataFrame`` pool partition by partition; lazily, as Dask does.

    The scorer enters the graph once (``dask.delayed``), so each worker of a
    ``dask.distributed`` cluster receives it once, not once per partition; each partition is
    scored by :meth:`PoolScorer.score`, so the result equals scoring the whole pool in
    memory. The scores keep the pool's index and partitions. Needs the ``dask`` extra.
    """
    try:
        import dask
    except ImportError:
        raise ExplorerError("Scoring a Dask DataFrame needs Dask, which is not installed: "
                            "pip install explorer[dask]") from None
    if not hasattr(pool, "map_partitions"):
        raise ParameterError(f"score_dask takes a dask.dataframe.DataFrame; got a "
                             f"{type(pool).__name__}. Score a pandas DataFrame with "
                             f"PoolScorer.score, or a file with score_file.")
    empty = pd.DataFrame({column: pd.Series(dtype=kind) for column, kind in pool.dtypes.items()})
    return pool.map_partitions(_score_partition, dask.delayed(scorer), meta=scorer.score(empty))


def _score_partition(partition: pd.DataFrame, scorer: PoolScorer) -> pd.DataFrame:
    return scorer.score(partition)
