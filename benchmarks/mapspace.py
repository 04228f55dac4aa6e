"""Map-space benchmark: which 2-D map shows the error regions as places?

Regions are found in the model's *input* space; the map is a picture of a space. Two
candidates: the model's space (inputs plus the prediction block, which may pull rows of
different predictions apart) and the inputs alone. For each table and seed,
``explorer.analyze`` finds the regions and fits the model's map; the inputs-only map is fitted
with the same seed and settings (``embed.UmapMap``). A region's compactness on a map is the
mean share of its members' 15 nearest map neighbours that are members, as the Map page
computes it (``regions.neighbour_compactness``); members spread at random give the region's
share of rows (chance), one place of its own gives 1. Per region we take the lift over chance
``(compactness - chance) / (1 - chance)`` and report its mean per table on each map, beside
the same figure in input space (the most a picture could keep), the count of regions more
compact on the inputs-only map, and, over every region, the paired difference with a sign
test. On planted tables the planted places are measured too. The answer (no better: the map
stays the model's space) is in the README, "Which space the map shows".

Run: ``python -m benchmarks mapspace [--seeds 3] [--datasets NAME ...]`` (mnist takes most of
the time: about 50 of 70 minutes on two busy cores).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import explorer
from explorer import embed
from explorer.neighbours import neighbours_of
from explorer.regions import graph_compactness, neighbour_compactness
from explorer.shapes import SHAPE_KINDS, make_shapes
from explorer.stats import paired_losses

RESULTS = Path(__file__).resolve().parent / "results"
BUILT_IN = ("digits", "breast_cancer", "wine", "diabetes", "adult", "planted", "mnist",
            "tickets")
QUICK = ("planted", "blobs")
"""A smoke run's tables: a few minutes, one rule-shaped and one clustered kind of region."""


def lift(compactness: float, chance: float) -> float:
    """Compactness above chance, as a share of the most it could be above it."""
    return (compactness - chance) / (1 - chance)


def measure(dataset, seed: int) -> list[dict]:
    """Each found (and planted) region's lift in input space and on both maps."""
    with tempfile.TemporaryDirectory() as cache:
        analysis = explorer.analyze(dataset.frame, target=dataset.target,
                                    prediction=dataset.prediction, groups=dataset.groups,
                                    text=dataset.text, image_shape=dataset.image_shape,
                                    seed=seed, cache_dir=cache)
    inputs = embed.input_space(analysis.map)
    maps = {"model": analysis.map.coords,
            "inputs": embed.UmapMap(random_state=seed).fit_transform(inputs)}
    graph = neighbours_of(inputs, seed=seed)
    places = [("found", r.rows) for r in analysis.regions]
    places += [("planted", rows) for rows in dataset.planted.values()]
    measured = []
    for kind, rows in places:
        members = np.zeros(len(analysis.data), dtype=bool)
        members[rows] = True
        chance = members.mean()
        measured.append({
            "kind": kind, "input": lift(graph_compactness(members, graph), chance),
            **{name: lift(neighbour_compactness(members, coords, seed), chance)
               for name, coords in maps.items()}})
    return measured


def datasets(names, seeds):
    """(name, one table per seed): the built-ins (``planted`` is ``make_planted``'s three
    kinds at once, a new table per seed), then the shapes of ``make_shapes``."""
    for name in names:
        if name in BUILT_IN:
            yield name, [explorer.load_dataset(name, seed=s) for s in seeds]
        else:
            yield f"shapes: {name}", [make_shapes(6000, name, seed=s) for s in seeds]


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks mapspace",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1 if quick else 3)
    parser.add_argument("--datasets", nargs="*", choices=[*BUILT_IN, *SHAPE_KINDS],
                        default=list(QUICK if quick else [*BUILT_IN, *SHAPE_KINDS]))
    args = parser.parse_args(argv)
    seeds = range(args.seeds)
    lines = [f"Map-space benchmark, seeds 0-{seeds[-1]}: mean lift of region compactness over "
             f"chance (0 = spread at random, 1 = a place of its own)",
             "| data | regions | kind | in input space | model map | inputs map | "
             "inputs map higher |", "|---|---|---|---|---|---|---|"]
    pooled: dict[str, list[dict]] = {"found": [], "planted": []}
    for name, tables in datasets(args.datasets, seeds):
        results = [row for seed, table in zip(seeds, tables) for row in measure(table, seed)]
        for kind in pooled:
            chosen = [r for r in results if r["kind"] == kind]
            pooled[kind] += chosen
            if chosen:
                mean = {key: np.mean([r[key] for r in chosen])
                        for key in ("input", "model", "inputs")}
                lines.append(f"| {name} | {len(chosen)} | {kind} | {mean['input']:.2f} | "
                             f"{mean['model']:.2f} | {mean['inputs']:.2f} | "
                             f"{sum(r['inputs'] > r['model'] for r in chosen)} |")
                print(lines[-1], flush=True)
    lines.append("")
    for kind, chosen in pooled.items():
        if chosen:  # regions of one table are not independent: read the p-value as a guide
            paired = paired_losses([r["inputs"] for r in chosen], [r["model"] for r in chosen])
            lines.append(f"All {kind} regions ({paired.rows}): inputs map minus model map "
                         f"{paired.difference:+.3f} [{paired.interval[0]:+.3f}, "
                         f"{paired.interval[1]:+.3f}]; higher on the inputs map for "
                         f"{paired.only_first_wrong}, on the model map for "
                         f"{paired.only_second_wrong} (sign test p = {paired.p_value:.2g})")
            print(lines[-1], flush=True)
    text = "\n".join(lines)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mapspace.txt").write_text(text + "\n", encoding="utf-8")
    return text
