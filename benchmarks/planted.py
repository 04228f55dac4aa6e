"""Planted-region benchmark: does the region search return the weak regions we planted?

For every size and seed, ``make_planted`` builds a table with each kind of weak region
alone, all three at once, and none (uniform-noise errors), and ``explorer.analyze`` runs on
it with the given predictions. Per planted kind we report the best Jaccard between the
planted rows and a reported region (median and min over seeds) and the recovered rate
(Jaccard >= 0.5). With all three at once each planted region must be matched by a
*distinct* region (an optimal one-to-one assignment). On null data we count the seeds with
any region. Timings are per analysis (median) with the map stage shown separately; every run
uses a fresh, empty map cache, so they are cold-map figures, and umap-learn's one-off
compile is paid by a warm-up fit before the clock starts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

import explorer
from explorer.datasets import PLANTED_KINDS, make_planted

RESULTS = Path(__file__).resolve().parent / "results"
RECOVERED = 0.5
FULL = [(1000, 3, 10), (3000, 5, 20), (10000, 2, 3), (50000, 1, 1)]
QUICK = [(3000, 3, 5)]
"""(rows, seeds per planted configuration, seeds of null data); fewer seeds for bigger data,
so a full run stays near ten minutes on two cores."""


def jaccard(rows: np.ndarray, planted: np.ndarray) -> float:
    a, b = set(rows.tolist()), set(planted.tolist())
    return len(a & b) / len(a | b) if a | b else 0.0


def matched_jaccards(found: list[np.ndarray], planted: dict[str, np.ndarray]) -> dict[str, float]:
    """Jaccard per planted kind under the best one-to-one matching with found regions."""
    kinds = list(planted)
    scores = np.zeros((len(kinds), max(len(found), 1)))
    for i, kind in enumerate(kinds):
        for j, rows in enumerate(found):
            scores[i, j] = jaccard(rows, planted[kind])
    assigned_rows, assigned_columns = linear_sum_assignment(-scores)
    result = dict.fromkeys(kinds, 0.0)
    for i, j in zip(assigned_rows, assigned_columns):
        result[kinds[i]] = float(scores[i, j])
    return result


def run_one(n_rows: int, kinds: tuple[str, ...], seed: int) -> dict:
    data = make_planted(n_rows=n_rows, regions=kinds, seed=seed)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        analysis = explorer.analyze(data.frame, target=data.target, prediction="prediction",
                                    groups=data.groups, seed=seed, cache_dir=cache)
        total = time.perf_counter() - started
    found = [region.rows for region in analysis.regions]
    return {"found": len(found), "total": total, "map": analysis.timings["map"],
            "regions": analysis.timings["regions"],
            "jaccard": matched_jaccards(found, data.planted) if kinds else {}}


def _warm_up() -> None:
    """Pay umap-learn's compile (and import) once, outside every timing."""
    data = make_planted(n_rows=300, regions=(), seed=0)
    with tempfile.TemporaryDirectory() as cache:
        explorer.analyze(data.frame, target=data.target, prediction="prediction", cache_dir=cache)


def _summary(label: str, values: list[float]) -> str:
    values_ = np.asarray(values)
    return (f"{label:<22} {np.median(values_):>6.2f} {values_.min():>6.2f} "
            f"{np.mean(values_ >= RECOVERED):>9.0%}")


def main(argv: list[str] | None = None, *, quick: bool = False) -> str:
    """Run the benchmark, print its table, write it to results/planted.txt, return it."""
    argparse.ArgumentParser(prog="python -m benchmarks planted", description=__doc__,
                            ).parse_args(argv or [])
    _warm_up()
    configurations = {kind: (kind,) for kind in PLANTED_KINDS}
    configurations["all three"] = tuple(PLANTED_KINDS)
    lines = [f"Planted-region benchmark ({'quick' if quick else 'full'}); Jaccard: median, "
             f"min over seeds; recovered: share of seeds with Jaccard >= {RECOVERED}"]
    printed = 0
    for n_rows, seeds, null_seeds in QUICK if quick else FULL:
        lines += ["", f"n_rows={n_rows}, seeds 0-{seeds - 1} (null: 0-{null_seeds - 1})",
                  f"{'planted':<22} {'median':>6} {'min':>6} {'recovered':>9}"]
        totals, maps, searches = [], [], []
        for name, kinds in configurations.items():
            runs = [run_one(n_rows, kinds, seed) for seed in range(seeds)]
            totals += [r["total"] for r in runs]
            maps += [r["map"] for r in runs]
            searches += [r["regions"] for r in runs]
            for kind in kinds:
                label = kind if len(kinds) == 1 else f"{name}: {kind}"
                lines.append(_summary(label, [r["jaccard"][kind] for r in runs]))
            if len(kinds) > 1:
                all_found = sum(all(j >= RECOVERED for j in r["jaccard"].values()) for r in runs)
                counts = ",".join(str(r["found"]) for r in runs)
                lines.append(f"{name}: all matched by distinct regions in {all_found}/{seeds} "
                             f"seeds; regions reported per seed: {counts}")
        null = [run_one(n_rows, (), seed) for seed in range(null_seeds)]
        totals += [r["total"] for r in null]
        maps += [r["map"] for r in null]
        searches += [r["regions"] for r in null]
        lines.append(f"null data: seeds with any region {sum(r['found'] > 0 for r in null)}"
                     f"/{null_seeds}")
        lines.append(f"time per analysis: median {np.median(totals):.1f} s, of which map "
                     f"{np.median(maps):.1f} s (cold) and region search "
                     f"{np.median(searches):.1f} s")
        print("\n".join(lines[printed:]), flush=True)  # each size as soon as it is done
        printed = len(lines)
    table = "\n".join(lines)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "planted.txt").write_text(table + "\n")
    return table
