"""``analyze()``: the stages in order, from a labelled table to described error regions."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import beside, coverage, describe, embed, model, regions, suggest
from .cache import StageCache, column_digests, digest, frame_digest
from .data import (Schema, _as_tuple, _require_columns, align_pool, finite_features,
                   infer_schema, labelled_rows, read_table)
from .errors import DataError, check_int
from .neighbours import EXACT_ROWS, NeighbourGraph, NeighbourSearch, neighbour_graph
from .pool import PoolScorer
from .text import TextEmbedder
from .rules import RuleFeatures
from .types import DataMap, Predictions, Region

__all__ = ["Analysis", "analyze"]

Progress = Callable[[str, float], None]
"""Called as ``progress(message, fraction_done)``; the app draws a bar, the CLI a line."""


@dataclass
class Analysis:
    """Everything one run found; the faces (CLI, app, report) only read it."""

    data: pd.DataFrame
    schema: Schema
    predictions: Predictions
    map: DataMap
    regions: list[Region]
    baseline_error_rate: float
    seed: int
    pool: pd.DataFrame | None = None
    collection_list: pd.DataFrame | None = None
    diagnoses: dict = field(default_factory=dict)
    """``diagnose.Diagnosis`` by region id (with its learning curve), so later suggestions
    for other budgets or strategies reuse the curves instead of refitting them."""
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source_rows: np.ndarray | None = None
    """Each analysed row's 0-based position in the table as given (None: the same
    positions); they differ once rows without a label or prediction were dropped."""
    cached: list[str] = field(default_factory=list)
    """The stages read back from the cache (their inputs and settings had not changed)."""
    text_embedder: TextEmbedder | None = None
    """The text column's fitted embedder (None without ``text=``): new rows' texts are
    embedded by it."""

    @property
    def points(self) -> pd.DataFrame:
        """One row per data row: position on the map, error, region id (-1 = none), and its
        position in the table as given (``source_row``)."""
        region_of = np.full(len(self.data), -1, dtype=int)
        for region in reversed(self.regions):  # the most important region wins an overlap
            region_of[region.rows] = region.id
        return pd.DataFrame({
            "row": np.arange(len(self.data)),
            "x": self.map.coords[:, 0],
            "y": self.map.coords[:, 1],
            "error": self.predictions.error,
            "region": region_of,
            "source_row": np.arange(len(self.data)) if self.source_rows is None
            else self.source_rows,
        })

    def region(self, region_id: int) -> Region:
        for region in self.regions:
            if region.id == region_id:
                return region
        raise KeyError(f"No region {region_id}; the regions are "
                       f"{[r.id for r in self.regions]}.")

    def pool_scorer(self) -> PoolScorer:
        """A :class:`~explorer.pool.PoolScorer` of new rows against these regions, fitted on
        this analysis' rows with the seed its own collection list used, so it scores a pool
        as that list did; apply it to any number of chunks (``explorer.pool.score_file``)."""
        scorer = PoolScorer(seed=suggest.pool_seed(self.seed, len(self.regions)))
        return scorer.fit(self.data, self.schema, self.predictions, self.map, self.regions,
                          text_embedder=self.text_embedder)

    def save(self, out_dir, *, title: str | None = None) -> Path:
        """Write regions.json, points.csv, report.html (and collection_list.csv) to out_dir;
        ``title`` names the data at the top of the report."""
        from .export import save_analysis

        return save_analysis(self, Path(out_dir), title=title)


def _vectors_as_columns(frame: pd.DataFrame, embedding) -> tuple[pd.DataFrame, object]:
    """Vectors given as an array or a path (a ``Path``, or text ending in ``.npy``) become
    columns of ``frame``; column names pass through unchanged."""
    if isinstance(embedding, Path) or (isinstance(embedding, str) and
                                       embedding.lower().endswith(".npy")):
        return embed.with_vector_columns(frame, embed.read_vectors(embedding),
                                         source=f"The embedding file '{Path(embedding).name}'")
    if isinstance(embedding, np.ndarray):
        return embed.with_vector_columns(frame, embedding, source="The embedding array")
    return frame, embedding


def _embedded_text(frame: pd.DataFrame, pool: pd.DataFrame | None, column: str, embedding,
                   seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None, tuple[str, ...],
                                       TextEmbedder]:
    """The text column's embedding (fitted on the data, applied to the pool) as columns,
    added to any embedding columns already given; and the fitted embedder."""
    _require_columns(frame, [str(column)], "text")
    embedder = TextEmbedder(random_state=seed).fit(frame[column])
    names = embedder.columns()
    taken = [name for name in names if name in frame.columns]
    if taken:
        raise DataError(f"The data already has column(s) {taken[:5]}, the names of the text "
                        f"embedding; rename them in the data.")
    return (embedder.with_columns(frame, column, what="data"),
            embedder.with_columns(pool, column, what="pool") if pool is not None else None,
            _as_tuple(embedding) + tuple(names), embedder)


def _no_progress(message: str, fraction: float) -> None:
    """Default progress sink: analysis stays silent unless a face asks to be told."""


def analyze(data, target: str, prediction: str | None = None, probabilities=None,
            features=None, embedding=None, groups=None, pool=None, seed: int = 0, *,
            budget: int | None = None, task: str | None = None, alpha: float = 0.05,
            min_region_size: int | None = None, cache_dir=None, text: str | None = None,
            image_shape: tuple[int, int] | None = None,
            progress: Progress = _no_progress) -> Analysis:
    """Find the regions of input space where a model errs, test them, and describe them.

    Parameters
    ----------
    data : DataFrame or path
        The labelled table (.csv or .parquet path, or a DataFrame); rows are referred to by
        their 0-based position.
    target : str
        The label column.
    prediction : str, optional
        The model's predicted labels. Without it a baseline model is trained and its
        out-of-fold predictions are used, so every error is an error on an unseen row.
    probabilities : list of str, optional
        Class-probability columns, one per class in sorted class order.
    features, groups : list of str, optional
        Feature columns (default: every other usable column); columns reported per region
        only.
    embedding : list of str, array or path, optional
        Precomputed vectors that drive the model's space (the map and the region search)
        instead of the features: embedding column names, an array of shape (rows,
        dimensions), or the path of a ``.npy`` file holding one; the model reads them too.
    text : str, optional
        A column of free text, embedded offline (TF-IDF + TruncatedSVD, ``explorer.text``)
        into the embedding; its regions are described by their distinctive words.
    image_shape : (int, int), optional
        (height, width) when each row is an image in ``pixel_*`` columns: regions are then
        described by their confusions and shown as images, not by pixel rules.
    pool : DataFrame or path, optional
        Unlabelled rows with the same features, for the collection list.
    budget : int, optional
        Rows the collection list holds when a pool is given (default 100).
    seed : int
        Every random step draws from this seed: same inputs and seed, same regions.
    alpha : float
        False discovery rate for the region tests (Benjamini-Hochberg).
    cache_dir : path, optional
        Where the map and every stage are cached (default :func:`embed.default_cache_dir`):
        a stage whose inputs and settings did not change is read back.
    progress : callable
        ``progress(message, fraction)`` is called as stages start and as long stages (the
        map, the region search, the diagnoses) advance, with ``fraction`` of the whole run.

    Examples
    --------
    >>> import explorer
    >>> planted = explorer.make_planted(n_rows=1500, regions=("rule",), seed=0)
    >>> analysis = explorer.analyze(planted.frame, target="label", prediction="prediction")
    >>> analysis.regions[0].size > 0
    True
    """
    seed = check_int(seed, name="seed", owner="analyze", low=0, high=2**32 - 1)
    if budget is not None:
        budget = check_int(budget, name="budget", owner="analyze", low=1)
    timings: dict[str, float] = {}

    @contextmanager
    def stage(name: str, message: str, start: float, end: float):
        """Time a stage; what it yields reports progress within it (0 to 1 of the stage)."""
        def within(fraction: float) -> None:
            progress(message, start + (end - start) * min(max(fraction, 0.0), 1.0))

        within(0.0)
        started = time.perf_counter()
        yield within
        timings[name] = round(time.perf_counter() - started, 3)

    read_notes: list[str] = []
    with stage("load", "Reading the data", 0.0, 0.05):
        # Vectors join the table as columns first, so rows dropped below keep their vectors.
        frame, embedding = _vectors_as_columns(read_table(data, notes=read_notes), embedding)
        frame, source_rows = labelled_rows(frame, target=target, prediction=prediction,
                                           notes=read_notes)
        pool_frame = read_table(pool, what="pool", notes=read_notes) \
            if pool is not None else None
        text_embedder = None
        if text is not None:
            frame, pool_frame, embedding, text_embedder = _embedded_text(
                frame, pool_frame, text, embedding, seed)
        schema = infer_schema(frame, target=target, prediction=prediction,
                              probabilities=probabilities, features=features,
                              embedding=embedding, groups=groups, task=task, text=text,
                              image_shape=image_shape)
        frame = finite_features(frame, schema, "data", read_notes)
        if pool_frame is not None:
            pool_frame = finite_features(align_pool(pool_frame, frame, schema, read_notes),
                                         schema, "pool", read_notes)
    with stage("predict", "Getting honest (out-of-fold) predictions", 0.05, 0.2):
        predictions = model.honest_predictions(frame, schema, seed=seed)
    stages = StageCache(cache_dir if cache_dir is not None else embed.default_cache_dir())
    with stage("encode", "Encoding the rows in the model's space", 0.2, 0.25):
        columns = column_digests(frame)  # keys the map and the search: hashed once
        encoded = embed.encode_rows(frame, schema, predictions, seed=seed,
                                    cache_dir=cache_dir, columns=columns)
        space_key = digest(encoded.inputs, seed)
        search_key = digest(space_key, frame_digest(frame, columns), repr(schema),
                            predictions.is_error, alpha, min_region_size, sorted(regions.FINDERS))
        rule_features = RuleFeatures.from_frame(frame, schema)
        loaded = stages.load_regions("search", search_key)
    cached = ["map"] if encoded.coords is not None else []
    with stage("neighbours", "Finding each row's nearest neighbours", 0.25, 0.35):
        graph = _shared_neighbours(stages, space_key, encoded.inputs, seed, cached)
    job = None if loaded is not None else beside.SearchJob(
        encoded.inputs, predictions.is_error, rule_features, seed, alpha, min_region_size,
        dict(regions.FINDERS), graph)
    # The search reads no map: with a map to fit, it runs in a second process meanwhile.
    search_beside = beside.SearchBeside(job) if job is not None and \
        encoded.coords is None and beside.worth_a_second_process(job) else None
    with stage("map", "Building the UMAP map", 0.35, 0.6) as within:
        try:
            data_map = embed.fit_map(encoded, progress=within)
        except BaseException:  # an error or a stop: the second process' work is not wanted
            if search_beside is not None:
                search_beside.stop()
            raise
    with stage("search wait", "Finding and testing error regions", 0.6, 0.8) as within:
        if job is None:
            cached.append("regions")
            search = regions.RegionSearch(loaded[0], **loaded[1])
        else:
            done = search_beside.result(within) if search_beside is not None else \
                beside.run_search(replace(job, coords=data_map.coords), within)
            search = done.search
            if search_beside is not None and search_beside.failure:
                read_notes.append(f"The region search ran after the map, not beside it: "
                                  f"{search_beside.failure}.")
            timings["regions"] = done.seconds  # its own seconds, wherever it ran
            stages.save_regions("search", search_key, search.regions, {
                "candidates_tested": search.candidates_tested, "notes": search.notes})
            if done.searched is not None:
                graph.take(*done.searched)  # what it searched is not searched again here
    with stage("describe", "Describing the regions", 0.8, 0.85):
        describe_key = digest(search_key, predictions.predicted.astype(str),
                              predictions.error, data_map.coords)
        loaded = stages.load_regions("describe", describe_key)
        if loaded is None:
            found = describe.describe_regions(search.regions, frame, schema, predictions,
                                              data_map, rule_features, seed=seed)
            stages.save_regions("describe", describe_key, found, {})
        else:
            cached.append("describe")
            found = loaded[0]
    if pool_frame is not None:
        with stage("coverage", "Looking for what the new data holds and training lacks",
                   0.85, 0.87):
            found = coverage.add_coverage_gaps(found, frame, pool_frame, schema,
                                               predictions.is_error, seed=seed, alpha=alpha)
    with stage("suggest", "Diagnosing the regions and choosing rows to label", 0.87,
               1.0) as within:
        known = stages.load_diagnoses("diagnoses", describe_key)
        diagnoses, collection_list, _ = suggest.suggest_regions(
            found, frame, schema, predictions, data_map, pool=pool_frame, budget=budget,
            seed=seed, graph=graph, known=known, progress=within)
        if known is None:
            stages.save_diagnoses("diagnoses", describe_key, diagnoses)
        else:
            cached.append("diagnoses")
        found = suggest.diagnosed(found, diagnoses, pool_given=pool_frame is not None)
    progress("Done", 1.0)
    notes = read_notes + [f"Column '{c}' left out: {reason}."
                          for c, reason in schema.ignored.items()]
    notes += search.notes
    if embed.numba_cache_note and not data_map.from_cache:
        notes.append(embed.numba_cache_note)
    return Analysis(data=frame, schema=schema, predictions=predictions, map=data_map,
                    regions=found, baseline_error_rate=float(predictions.is_error.mean()),
                    seed=seed, pool=pool_frame, collection_list=collection_list,
                    diagnoses=diagnoses, notes=notes, timings=timings,
                    source_rows=source_rows, cached=cached, text_embedder=text_embedder)


def _shared_neighbours(stages: StageCache, space_key: str, inputs: np.ndarray, seed: int,
                       cached: list[str]) -> NeighbourSearch | NeighbourGraph:
    """The rows' neighbours in input space: up to ``EXACT_ROWS`` rows searched exactly when
    asked for (the stages that ask are cached themselves); above, the approximate graph of
    every row, read back when the space and seed are the same."""
    if len(inputs) <= EXACT_ROWS:
        return NeighbourSearch(inputs, seed=seed)
    arrays = stages.load_arrays("neighbours", space_key, ("indices", "distances"))
    if arrays is not None:
        cached.append("neighbours")
        return NeighbourGraph(arrays["indices"], arrays["distances"], exact=False, seed=seed)
    graph = neighbour_graph(inputs, seed=seed, exact=False)
    stages.save_arrays("neighbours", space_key, {"indices": graph.indices,
                                                 "distances": graph.distances})
    return graph
