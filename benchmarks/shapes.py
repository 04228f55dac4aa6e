"""Shapes benchmark: regions that no one rule describes, several at once, and noise.

``explorer.shapes.make_shapes`` plants a thin tilted ellipse, a flat ellipsoid tilted against
its three columns, three small blobs in eight columns, three rule slices at once, or a
categorical-by-numeric interaction; the null case plants nothing. The region search runs on
the real model space (``embed.ModelSpace``) with the given predictions, without the 2-D map
(no default finder reads it), so many seeds fit in minutes. Per planted region: the best
Jaccard among the top five regions, and whether it was recovered (>= 0.5); for the
several-at-once cases, whether each planted region is matched by a *distinct* region. The
interaction counts as found when one or two regions cover it (Jaccard of their union). Null
data: the share of seeds with any region.

Run: ``python -m benchmarks shapes [--seeds 10] [--null-seeds 40] [--rows 6000] [--first-seed 0]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from explorer import embed, model
from explorer.data import infer_schema
from explorer.regions import find_regions
from explorer.rules import RuleFeatures
from explorer.shapes import SHAPE_KINDS, make_shapes
from explorer.stats import jaccard

from . import null_rate

RESULTS = Path(__file__).resolve().parent / "results"
TOP = 5
RECOVERED = 0.5


def search(n_rows: int, kinds, seed: int):
    """The planted table, the regions found on it, and the search's seconds."""
    data = make_shapes(n_rows, kinds, seed=seed)
    schema = infer_schema(data.frame, target=data.target, prediction=data.prediction)
    predictions = model.honest_predictions(data.frame, schema, seed=seed)
    data_map = embed.model_space_only(data.frame, schema, predictions)
    started = time.perf_counter()
    found = find_regions(data_map, predictions.is_error,
                         RuleFeatures.from_frame(data.frame, schema), seed=seed)
    return data, found.regions, time.perf_counter() - started


def scores(planted: dict[str, np.ndarray], regions, *, union_of_two: bool = False
           ) -> dict[str, float]:
    """Each planted region's Jaccard with its distinct match among the top regions."""
    top = [r.rows for r in regions[:TOP]]
    if union_of_two and len(top) > 1:  # one or two regions covering the planted one
        top = top + [np.union1d(a, b) for i, a in enumerate(top) for b in top[i + 1:]]
    names = list(planted)
    matrix = np.array([[jaccard(rows, planted[name]) for rows in top] or [0.0]
                       for name in names])
    chosen_rows, chosen_columns = linear_sum_assignment(-matrix)
    result = dict.fromkeys(names, 0.0)
    for i, j in zip(chosen_rows, chosen_columns):
        result[names[i]] = float(matrix[i, j])
    return result


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks shapes",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3 if quick else 10)
    parser.add_argument("--null-seeds", type=int, default=10 if quick else 40)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="start here, e.g. to check settings tuned on seeds 0-4 on others")
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    lines = [f"Shapes benchmark: {args.rows} rows, seeds {seeds[0]}-{seeds[-1]}, best Jaccard "
             f"among the top {TOP} regions (distinct matches)",
             "| planted | median Jaccard | mean | recovered (>= 0.5) | regions per seed |",
             "|---|---|---|---|---|"]
    seconds = []
    for kind in SHAPE_KINDS:
        per_region: dict[str, list[float]] = {}
        counts = []
        for seed in seeds:
            data, regions, spent = search(args.rows, kind, seed)
            seconds.append(spent)
            counts.append(len(regions))
            for name, value in scores(data.planted, regions,
                                      union_of_two=kind == "interaction").items():
                per_region.setdefault(name, []).append(value)
        for name, values in per_region.items():
            values = np.asarray(values)
            lines.append(f"| {name} | {np.median(values):.2f} | {values.mean():.2f} | "
                         f"{np.mean(values >= RECOVERED):.0%} | "
                         f"{','.join(map(str, counts))} |")
        print("\n".join(lines[-len(per_region):]), flush=True)
    null = [len(search(args.rows, (), seed)[1]) for seed in range(args.null_seeds)]
    lines += ["", f"Null data, seeds with a region: "
                  f"{null_rate(sum(n > 0 for n in null), args.null_seeds)}.",
              f"Region search: median {np.median(seconds):.1f} s per table."]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shapes.txt").write_text(text + "\n", encoding="utf-8")
    return text
