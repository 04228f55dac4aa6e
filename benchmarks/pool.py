"""Pool benchmark: scoring a large pool in chunks keeps memory flat; the whole pool at once
does not, and both give the same scores.

A scorer is fitted on a labelled table of the scale benchmark's kind (``scale.make_table``:
24 numeric and 6 categorical columns, given predictions, one planted slice) with the regions
the search finds there; the map is the model space's first two columns (``model_space_only``:
scoring reads a map's coordinates and never fits one, so umap-learn's minutes are left out).
Pools of the same kind, drawn with another seed, are written to Parquet as pandas writes it
(one row group per million rows); then each is scored

- *chunked*: ``pool.score_file`` a chunk of ``--chunk-rows`` at a time into a Parquet file;
- *whole*: the pool read at once (``read_table``), ``PoolScorer.score`` on all of it, the same
  Parquet file written;

each in a fresh process, with its resident memory sampled every 20 ms while it scores (the
fitted scorer's memory, measured before, is shown apart). *identical* compares the two files.

Run: ``python -m benchmarks pool [--rows 100000 300000 1000000] [--labelled 20000]
[--chunk-rows 100000] [--seed 0]`` (``--quick``: 20,000 and 100,000 pool rows).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from .scale import make_table

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("chunked", "whole")
SAMPLE_SECONDS = 0.02
"""How often resident memory is read while scoring: far shorter than any chunk's scoring, so
the peak between two samples is not missed by more than one allocation's worth."""


def _resident_gib() -> float:
    """This process' resident memory now (Linux: /proc/self/statm, in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


class _PeakMemory:
    """The largest resident memory seen while the ``with`` block runs."""

    def __enter__(self) -> "_PeakMemory":
        self.peak, self._done = _resident_gib(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, _resident_gib())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _resident_gib())


def fitted_scorer(labelled: int, seed: int):
    """The scorer of a labelled table of ``labelled`` rows and the regions found in it."""
    from explorer import embed, model
    from explorer.data import infer_schema
    from explorer.pool import PoolScorer
    from explorer.regions import find_regions
    from explorer.rules import RuleFeatures

    frame, _ = make_table(labelled, seed)
    schema = infer_schema(frame, target="label", prediction="prediction")
    predictions = model.honest_predictions(frame, schema, seed=seed)
    data_map = embed.model_space_only(frame, schema, predictions)
    regions = find_regions(data_map, predictions.is_error, RuleFeatures.from_frame(frame, schema),
                           seed=seed).regions
    return PoolScorer(seed=seed).fit(frame, schema, predictions, data_map, regions)


def one_run(mode: str, pool: Path, out: Path, labelled: int, chunk_rows: int,
            seed: int) -> dict:
    """Score ``pool`` into ``out`` one way in this process; the figures as a dict."""
    from explorer.data import read_table
    from explorer.pool import score_file

    scorer = fitted_scorer(labelled, seed)
    before = _resident_gib()
    started = time.perf_counter()
    with _PeakMemory() as memory:
        if mode == "chunked":
            score_file(scorer, pool, out, chunk_rows=chunk_rows)
        else:
            scores = scorer.score(read_table(pool))
            scores.rename_axis("row").reset_index().to_parquet(out, index=False)
    return {"mode": mode, "seconds": time.perf_counter() - started, "before_gib": before,
            "peak_gib": memory.peak, "regions": len(scorer.region_ids_)}


def table(results: list[dict]) -> str:
    head = ["pool rows", "mode", "seconds", "rows / s", "scorer GiB", "peak GiB",
            "peak - scorer GiB", "identical"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        lines.append(f"| {r['rows']:,} | {r['mode']} | {r['seconds']:.1f} | "
                     f"{r['rows'] / r['seconds']:,.0f} | {r['before_gib']:.2f} | "
                     f"{r['peak_gib']:.2f} | {r['peak_gib'] - r['before_gib']:.2f} | "
                     f"{r['identical']} |")
    return "\n".join(lines)


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pool",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+",
                        default=[20_000, 100_000] if quick else [100_000, 300_000, 1_000_000])
    parser.add_argument("--labelled", type=int, default=20_000,
                        help="rows of the labelled table the scorer is fitted on")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", nargs=3, metavar=("MODE", "POOL", "OUT"),
                        help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.one:
        mode, pool, out = args.one
        print(json.dumps(one_run(mode, Path(pool), Path(out), args.labelled, args.chunk_rows,
                                 args.seed)))
        return ""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n_rows in args.rows:
            pool = Path(folder) / f"pool-{n_rows}.parquet"
            frame, _ = make_table(n_rows, args.seed + 1)
            frame.drop(columns=["label", "prediction"]).to_parquet(pool)
            del frame
            outputs = {}
            for mode in MODES:
                outputs[mode] = Path(folder) / f"scores-{n_rows}-{mode}.parquet"
                command = [sys.executable, "-m", "benchmarks", "pool", "--one", mode, str(pool),
                           str(outputs[mode]), "--labelled", str(args.labelled),
                           "--chunk-rows", str(args.chunk_rows), "--seed", str(args.seed)]
                done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
                if done.returncode:
                    raise RuntimeError(f"{mode} scoring of {n_rows:,} rows failed (its log is "
                                       f"above).")
                results.append({"rows": n_rows,
                                **json.loads(done.stdout.strip().splitlines()[-1])})
                print(json.dumps(results[-1]), flush=True)
            same = pd.read_parquet(outputs["chunked"]).equals(pd.read_parquet(outputs["whole"]))
            for result in results[-len(MODES):]:
                result["identical"] = "yes" if same else "NO"
    regions = results[0]["regions"]
    text = (f"Pool benchmark: seed {args.seed}, scorer fitted on {args.labelled:,} labelled "
            f"rows ({regions} region{'' if regions == 1 else 's'}), chunks of "
            f"{args.chunk_rows:,} rows\n"
            + table(results))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pool.txt").write_text(text + "\n", encoding="utf-8")
    return text
