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

Run: ``python -m benchmarks shapes [--seeds 10] [--null-seeds 40] [--rows 6000] [--first-seed 0]
[--against REV]``; with ``--against``, the same seeds also run on another revision's
``explorer`` (in a child process) and each planted region is compared seed by seed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from explorer import embed, model
from explorer.data import infer_schema
from explorer.regions import find_regions
from explorer.rules import RuleFeatures
from explorer.shapes import SHAPE_KINDS, make_shapes
from explorer.stats import jaccard, paired_losses

from . import code_at, null_rate, run_with

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


def jaccards(n_rows: int, kind: str, seeds) -> tuple[dict[str, list[float]], list[int],
                                                     list[float]]:
    """Per planted region of ``kind``, its Jaccard on each seed; regions and search seconds
    per seed."""
    per_region: dict[str, list[float]] = {}
    counts, seconds = [], []
    for seed in seeds:
        data, regions, spent = search(n_rows, kind, seed)
        seconds.append(spent)
        counts.append(len(regions))
        for name, value in scores(data.planted, regions,
                                  union_of_two=kind == "interaction").items():
            per_region.setdefault(name, []).append(value)
    return per_region, counts, seconds


def jaccards_json(n_rows: str, kind: str, first_seed: str, seeds: str) -> str:
    """:func:`jaccards` for a child process that imports another revision's ``explorer``."""
    first = int(first_seed)
    return json.dumps(jaccards(int(n_rows), kind, range(first, first + int(seeds)))[0])


def paired_lines(ours: dict[str, list[float]], theirs: dict[str, list[float]],
                 against: str) -> list[str]:
    """Each planted region's Jaccards here against ``against``'s on the same seeds, and all
    pooled: seeds better and worse, the exact sign test and the mean difference's interval
    (:func:`~explorer.stats.paired_losses` on 1 - Jaccard)."""
    lines = [f"| planted | mean J here | mean J at {against} | seeds better | worse | "
             "sign test p | difference (95% interval) |", "|---|---|---|---|---|---|---|"]
    pooled = ([], [])
    for name in ours:
        pooled[0].extend(ours[name])
        pooled[1].extend(theirs[name])
    for name, (here, there) in [*((n, (ours[n], theirs[n])) for n in ours),
                                ("all pooled", pooled)]:
        here, there = np.asarray(here), np.asarray(there)
        paired = paired_losses(1 - there, 1 - here)
        low, high = paired.interval
        lines.append(f"| {name} | {here.mean():.3f} | {there.mean():.3f} | "
                     f"{paired.only_first_wrong} | {paired.only_second_wrong} | "
                     f"{paired.p_value:.2g} | {paired.difference:+.3f} "
                     f"({low:+.3f} to {high:+.3f}) |")
    return lines


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks shapes",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3 if quick else 10)
    parser.add_argument("--null-seeds", type=int, default=10 if quick else 40)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="start here, e.g. to check settings tuned on seeds 0-4 on others")
    parser.add_argument("--against", metavar="REV",
                        help="also run the same seeds on this revision's explorer (a git "
                             "revision of this checkout) and compare, seed by seed")
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    lines = [f"Shapes benchmark: {args.rows} rows, seeds {seeds[0]}-{seeds[-1]}, best Jaccard "
             f"among the top {TOP} regions (distinct matches)",
             "| planted | median Jaccard | mean | recovered (>= 0.5) | regions per seed |",
             "|---|---|---|---|---|"]
    seconds: list[float] = []
    ours: dict[str, list[float]] = {}
    theirs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        earlier = code_at(args.against, Path(folder)) if args.against else None
        for kind in SHAPE_KINDS:
            per_region, counts, spent = jaccards(args.rows, kind, seeds)
            seconds += spent
            ours.update(per_region)
            for name, values in per_region.items():
                values = np.asarray(values)
                lines.append(f"| {name} | {np.median(values):.2f} | {values.mean():.2f} | "
                             f"{np.mean(values >= RECOVERED):.0%} | "
                             f"{','.join(map(str, counts))} |")
            print("\n".join(lines[-len(per_region):]), flush=True)
            if earlier is not None:
                theirs.update(json.loads(run_with(
                    earlier, "import sys; from benchmarks.shapes import jaccards_json; "
                    "print(jaccards_json(*sys.argv[1:]))", str(args.rows), kind,
                    str(args.first_seed), str(args.seeds))))
    null = [len(search(args.rows, (), seed)[1]) for seed in range(args.null_seeds)]
    lines += ["", f"Null data, seeds with a region: "
                  f"{null_rate(sum(n > 0 for n in null), args.null_seeds)}.",
              f"Region search: median {np.median(seconds):.1f} s per table."]
    if args.against:
        lines += ["", f"Paired with {args.against} on the same seeds:",
                  *paired_lines(ours, theirs, args.against)]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shapes.txt").write_text(text + "\n", encoding="utf-8")
    return text
