"""Region-stage time: this checkout's region search against an earlier commit's, side by side.

Both searches run on the same inputs, written once to a temporary folder: the input space, the
errors and the rule columns of a table (the scale benchmark's 24 numeric and 6 categorical
columns, or a shapes table). Each code version runs in its own process (the earlier one from
``git archive REV explorer``, so the working tree is untouched), in turns (this, earlier,
this, ...), so both meet the same load; each run times ``find_regions``, the call the
analysis' region stage makes. The shared neighbour graph, a stage of its own since, replaced
the search's own neighbour search for compactness (and the diagnoses' own); it is timed
apart and the ratio is also given with it (a version from before it has none). Reported: the median seconds of each
and their ratios, on the clock and in CPU time (which another session's load on a shared
machine disturbs less).

Run: ``python -m benchmarks regiontime [--rows 50000] [--against 7bea2c6] [--repeats 3]
[--table scale|blobs|ellipse|...]``; ``7bea2c6`` is the last commit before issue 10's region
finders.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import ROOT, code_at, run_with

RESULTS = Path(__file__).resolve().parent / "results"
PRE_ISSUE = "7bea2c6"
"""The commit before issue 10's first region finder (balls of input space)."""


def write_inputs(folder: Path, table: str, n_rows: int, seed: int) -> None:
    """The search's inputs as plain arrays and JSON, readable by any version of the code."""
    from explorer import embed, model
    from explorer.data import infer_schema
    from explorer.rules import RuleFeatures
    from explorer.shapes import make_shapes

    from .scale import make_table

    if table == "scale":
        frame, _ = make_table(n_rows, seed)
        target, prediction = "label", "prediction"
    else:
        data = make_shapes(n_rows, table, seed=seed)
        frame, target, prediction = data.frame, data.target, data.prediction
    schema = infer_schema(frame, target=target, prediction=prediction)
    predictions = model.honest_predictions(frame, schema, seed=seed)
    inputs = embed.input_space(embed.model_space_only(frame, schema, predictions))
    rules = RuleFeatures.from_frame(frame, schema)
    np.save(folder / "inputs.npy", inputs)
    np.save(folder / "errors.npy", predictions.is_error)
    np.save(folder / "rules.npy", rules.matrix)
    (folder / "rules.json").write_text(json.dumps({"names": rules.names,
                                                   "two_valued": rules.two_valued}))


def time_search(folder: str, seed: str) -> str:
    """Seconds of one ``find_regions`` of whatever ``explorer`` this process imports, and of
    building the neighbour graph it is handed (0 for a version that takes none), on the
    clock and in the process' CPU time, as JSON (run in a child process, whose arguments
    are text)."""
    import inspect

    from explorer.regions import find_regions
    from explorer.rules import RuleFeatures
    from explorer.types import DataMap

    folder, seed = Path(folder), int(seed)
    inputs = np.load(folder / "inputs.npy")
    names = json.loads((folder / "rules.json").read_text())
    rules = RuleFeatures(np.load(folder / "rules.npy"), tuple(names["names"]),
                         {k: tuple(v) for k, v in names["two_valued"].items()})
    data_map = DataMap(coords=inputs[:, :2], model_space=inputs, n_fitted=len(inputs),
                       from_cache=False)
    options, graph = {}, (0.0, 0.0)
    if "graph" in inspect.signature(find_regions).parameters:
        try:  # since the exact search on demand: what analyze uses
            from explorer.neighbours import neighbours_of as shared
        except ImportError:  # a version with one graph of all rows
            from explorer.neighbours import neighbour_graph as shared

        started = time.perf_counter(), time.process_time()
        options["graph"] = shared(inputs, seed=seed)
        graph = time.perf_counter() - started[0], time.process_time() - started[1]
    started = time.perf_counter(), time.process_time()
    find_regions(data_map, np.load(folder / "errors.npy"), rules, seed=seed, **options)
    return json.dumps({"search": time.perf_counter() - started[0], "graph": graph[0],
                       "search_cpu": time.process_time() - started[1], "graph_cpu": graph[1]})


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks regiontime",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=6000 if quick else 50_000)
    parser.add_argument("--against", default=PRE_ISSUE, help="the earlier commit")
    parser.add_argument("--repeats", type=int, default=1 if quick else 3)
    parser.add_argument("--table", default="scale",
                        help="'scale' (24 numeric, 6 categorical columns) or a shapes kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_inputs(folder, args.table, args.rows, args.seed)
        earlier = code_at(args.against, folder / "earlier")
        statement = ("import sys; from benchmarks.regiontime import time_search; "
                     "print(time_search(*sys.argv[1:]))")
        runs: dict[str, list[dict]] = {"this": [], "earlier": []}
        for _ in range(args.repeats):
            for name, path in (("this", ROOT), ("earlier", earlier)):
                runs[name].append(json.loads(run_with(path, statement, str(folder),
                                                      str(args.seed))))
                print(f"{name}: {runs[name][-1]}", file=sys.stderr, flush=True)
    def median(name: str, parts: tuple[str, ...]) -> float:
        return float(np.median([sum(run[part] for part in parts) for run in runs[name]]))

    lines = [f"Region search at {args.rows:,} rows ({args.table} table, seed {args.seed}), "
             f"median of {args.repeats} runs in turns, this checkout against {args.against}:"]
    for clock, suffix in (("clock", ""), ("CPU", "_cpu")):
        parts = ("search" + suffix,), ("search" + suffix, "graph" + suffix)
        (this, before), (this_all, before_all) = [(median("this", p), median("earlier", p))
                                                  for p in parts]
        lines.append(f"- {clock} seconds: search {this:.1f} against {before:.1f}, ratio "
                     f"{this / before:.2f}; with each version's neighbour graph (none before "
                     f"the shared graph) {this_all:.1f} against {before_all:.1f}, ratio "
                     f"{this_all / before_all:.2f}")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "regiontime.txt").write_text(text + "\n", encoding="utf-8")
    return text
