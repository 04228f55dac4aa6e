"""Scale benchmark: whole ``analyze`` per stage at growing sizes, against the bare UMAP floor.

Each size runs in a fresh process (so peak memory is that size's own): a table of 24 numeric
and 6 categorical columns with given predictions (about 12% errors, one planted slice at 50%
error), then

- ``compile``: numba's one-off compilation in that process (a small bare UMAP fit and
  transform, and a small approximate neighbour graph), shown apart from everything else;
- ``analyze`` on a fresh cache, its stages' seconds and the peak memory of the process
  and its children together (:class:`TreeMemory`);
- the same ``analyze`` again on the now warm cache: its share of the first run;
- the *floor*: umap-learn as it comes, ``umap.UMAP(random_state=seed)`` fitted on the same
  sample of the same model-space matrix the map was fitted on, then ``transform`` of the
  other rows (all rows below the sample size); ``analyze / floor`` is the overhead.

The slope of each stage is the least-squares slope of log seconds on log rows over the sizes
run (1 is linear, 2 quadratic; n log n over 10k-1M reads about 1.1).

Run: ``python -m benchmarks scale [--rows 10000 100000 1000000] [--seed 0]``
(``--quick``: 5,000 and 20,000 rows); ``--agreement 60000`` compares the regions and
diagnoses found on the approximate neighbour graph with those on the exact one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("load", "predict", "encode", "neighbours", "map", "regions", "search wait",
          "describe", "suggest")
"""``regions`` is the search's own seconds, in a second process beside the map from
``beside.BESIDE_ROWS`` rows; ``search wait`` is what the analysis waited for it after the map
(in line: all of it)."""
NUMERIC, CATEGORICAL = 24, 6
BASE_ERROR, SLICE_ERROR = 0.1, 0.5
"""Flip rates outside and inside the planted slice (``c0 = a and n0 > 1``, about 3% of
rows): overall about 11-12% errors, as in the table the issue measured."""


def make_table(n_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The benchmark's table (with ``label`` and ``prediction``) and its planted slice."""
    rng = np.random.default_rng(seed)
    columns = {f"n{i}": rng.normal(size=n_rows).astype(np.float32) for i in range(NUMERIC)}
    for i in range(CATEGORICAL):
        columns[f"c{i}"] = rng.choice(list("abcdef"), size=n_rows)
    frame = pd.DataFrame(columns)
    label = (frame["n1"] + frame["n2"] > 0).to_numpy().astype(int)
    planted = (frame["c0"] == "a").to_numpy() & (frame["n0"] > 1).to_numpy()
    flip = rng.random(n_rows) < np.where(planted, SLICE_ERROR, BASE_ERROR)
    frame["label"] = label
    frame["prediction"] = np.where(flip, 1 - label, label)
    return frame, np.flatnonzero(planted)


class TreeMemory:
    """The peak resident memory of this process and its children together (the region search
    runs in a child beside the map), sampled every ``every`` seconds on a thread, and never
    below this process' own peak. ``getrusage`` alone cannot say it: it gives each process'
    peak apart, and a child's counts again the pages a fork shared with this process."""

    def __init__(self, every: float = 0.1):
        self.peak_kib, self._every = 0, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_gib(self) -> float:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        return max(self.peak_kib, own) / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(self._every):
            self.peak_kib = max(self.peak_kib, sum(map(_resident_kib, _tree(os.getpid()))))


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    found = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [c for child in children.read_text().split() for c in _tree(int(child))]
        except OSError:  # the thread or process ended meanwhile
            pass
    return found


def _resident_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # ended meanwhile
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmRSS:")), 0)


def _compile(seed: int) -> float:
    """Seconds numba spends compiling what a run needs, on small random data."""
    from explorer import embed
    from explorer.neighbours import neighbour_graph

    umap = embed._import_umap()
    started = time.perf_counter()
    small = np.random.default_rng(seed).normal(size=(6000, 20)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        umap.UMAP(random_state=seed).fit(small[:5000]).transform(small[5000:])
    neighbour_graph(small, seed=seed, exact=False)
    embed.UmapMap(random_state=seed).fit(small)
    return time.perf_counter() - started


def _floor(matrix: np.ndarray, fitted: np.ndarray, seed: int) -> float:
    """Seconds of bare umap-learn: fit on the map's sample, transform the other rows."""
    from explorer import embed

    umap = embed._import_umap()
    rest = np.setdiff1d(np.arange(len(matrix)), fitted)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(random_state=seed).fit(matrix[fitted])
        if rest.size:
            reducer.transform(matrix[rest])
    return time.perf_counter() - started


def _log(n_rows: int, started: float):
    """A progress callback that logs each stage's start to stderr, so a run stopped early
    still shows how far each stage got."""
    last = [""]

    def progress(message: str, fraction: float) -> None:
        if message != last[0]:
            last[0] = message
            print(f"{n_rows:,} rows, {time.perf_counter() - started:7.1f} s: {message}",
                  file=sys.stderr, flush=True)

    return progress


def one_size(n_rows: int, seed: int, floor: bool) -> dict:
    """Run one size in this process; the figures as a dict."""
    import explorer
    from explorer.stats import jaccard

    compile_seconds = _compile(seed)
    frame, planted = make_table(n_rows, seed)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        with TreeMemory() as memory:
            first = explorer.analyze(frame, target="label", prediction="prediction",
                                     seed=seed, cache_dir=cache,
                                     progress=_log(n_rows, started))
        first_seconds = time.perf_counter() - started
        peak = memory.peak_gib
        started = time.perf_counter()
        explorer.analyze(frame, target="label", prediction="prediction", seed=seed,
                         cache_dir=cache)
        second_seconds = time.perf_counter() - started
    fitted = first.map.fitted_rows
    floor_seconds = _floor(first.map.model_space, fitted, seed) if floor else float("nan")
    best = max((jaccard(region.rows, planted) for region in first.regions), default=0.0)
    return {"rows": n_rows, "compile": compile_seconds, "analyze": first_seconds,
            "stages": first.timings, "peak_gib": peak, "second": second_seconds,
            "floor": floor_seconds, "regions": len(first.regions), "planted_jaccard": best}


def agreement(n_rows: int, seed: int) -> str:
    """How the regions and diagnoses on the approximate neighbour graph agree with the exact.

    On the benchmark's table without the UMAP map (no default finder reads it): the share of
    each row's 15 exact neighbours the approximate graph finds (on the neighbours' seeded
    sample of rows), the member Jaccard of the regions found with each (matched in rank
    order), the largest change of a region's compactness, and the diagnoses that agree. The
    exact side is the on-demand search analyze uses up to ``EXACT_ROWS`` rows.
    """
    from explorer import embed, model, suggest
    from explorer.data import infer_schema
    from explorer.neighbours import NeighbourSearch, neighbour_graph
    from explorer.regions import find_regions
    from explorer.rules import RuleFeatures
    from explorer.stats import jaccard

    frame, _ = make_table(n_rows, seed)
    schema = infer_schema(frame, target="label", prediction="prediction")
    predictions = model.honest_predictions(frame, schema, seed=seed)
    data_map = embed.model_space_only(frame, schema, predictions)
    inputs = embed.input_space(data_map)
    rules = RuleFeatures.from_frame(frame, schema)
    runs = {}
    for exact in (True, False):
        started = time.perf_counter()
        graph = NeighbourSearch(inputs, seed=seed) if exact else \
            neighbour_graph(inputs, seed=seed, exact=False)
        found = find_regions(data_map, predictions.is_error, rules, seed=seed, graph=graph)
        diagnoses, _, _ = suggest.suggest_regions(found.regions, frame, schema, predictions,
                                                  data_map, seed=seed, graph=graph)
        runs[exact] = (graph, found.regions, diagnoses, time.perf_counter() - started)
    (exact_graph, exact_regions, exact_diagnoses, exact_seconds), \
        (approximate_graph, regions, diagnoses, approximate_seconds) = runs[True], runs[False]
    sample = exact_graph.sample(np.arange(n_rows))
    recall = np.mean([np.intersect1d(a[1:], b[1:]).size / (len(a) - 1) for a, b in
                      zip(exact_graph.of(sample, 16)[1], approximate_graph.of(sample, 16)[1])])
    jaccards = [jaccard(a.rows, b.rows) for a, b in zip(exact_regions, regions)]
    compactness = max((abs(a.compactness - b.compactness)
                       for a, b in zip(exact_regions, regions)), default=0.0)
    same = sum(exact_diagnoses[r].kind == diagnoses[r].kind
               for r in exact_diagnoses if r in diagnoses)
    return (f"Agreement at {n_rows:,} rows (seed {seed}): search, regions and diagnoses with "
            f"exact neighbours on demand {exact_seconds:.1f} s ({exact_graph.searched:,} rows "
            f"searched), with the approximate graph {approximate_seconds:.1f} s (after its "
            f"compile); neighbour recall {recall:.3f}; regions {len(exact_regions)} exact / "
            f"{len(regions)} approximate, member Jaccard min "
            f"{min(jaccards, default=float('nan')):.3f}; compactness changed by at most "
            f"{compactness:.3f}; diagnoses agree on {same} of {len(exact_diagnoses)}.")


def _slope(sizes: list[int], seconds: list[float]) -> float:
    ok = [(n, s) for n, s in zip(sizes, seconds) if s > 0]
    if len(ok) < 2:
        return float("nan")
    return float(np.polyfit(np.log([n for n, _ in ok]), np.log([s for _, s in ok]), 1)[0])


def table(results: list[dict]) -> str:
    """The benchmark's Markdown table, one row per size and a last row of slopes."""
    head = ["rows", "compile s", *STAGES, "analyze s", "floor s", "analyze / floor",
            "peak GiB", "2nd run", "regions", "planted J"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [f"{r['rows']:,}", f"{r['compile']:.1f}",
                 *[f"{r['stages'].get(s, 0.0):.1f}" for s in STAGES],
                 f"{r['analyze']:.1f}", f"{r['floor']:.1f}", f"{r['analyze'] / r['floor']:.2f}",
                 f"{r['peak_gib']:.2f}", f"{r['second'] / r['analyze']:.1%}",
                 str(r["regions"]), f"{r['planted_jaccard']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    sizes = [r["rows"] for r in results]
    slopes = [_slope(sizes, [r["stages"].get(s, 0.0) for r in results]) for s in STAGES]
    lines.append("| slope | | " + " | ".join(f"{v:.2f}" for v in slopes) + " | "
                 f"{_slope(sizes, [r['analyze'] for r in results]):.2f} | "
                 f"{_slope(sizes, [r['floor'] for r in results]):.2f} | | | | | |")
    return "\n".join(lines)


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks scale",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+",
                        default=[5000, 20000] if quick else [10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-floor", action="store_true", help="skip the bare UMAP floor")
    parser.add_argument("--agreement", type=int, metavar="ROWS",
                        help="compare the exact and approximate neighbour graphs at ROWS")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.agreement:
        compile_seconds = _compile(args.seed)
        text = agreement(args.agreement, args.seed) + f" Compile {compile_seconds:.0f} s."
        print(text)
        return text
    if args.one:
        print(json.dumps(one_size(args.one, args.seed, not args.no_floor)))
        return ""
    results = []
    for n_rows in args.rows:
        command = [sys.executable, "-m", "benchmarks", "scale", "--one", str(n_rows),
                   "--seed", str(args.seed)] + (["--no-floor"] if args.no_floor else [])
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # stderr: the log
        if done.returncode:
            raise RuntimeError(f"{n_rows:,} rows failed (its log is above).")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    text = (f"Scale benchmark: seed {args.seed}, {NUMERIC} numeric + {CATEGORICAL} categorical "
            f"columns, given predictions; seconds per stage\n" + table(results))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.txt").write_text(text + "\n", encoding="utf-8")
    return text
