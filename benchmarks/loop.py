"""Collection-loop benchmark: does targeted data close a coverage gap faster than random or
uncertainty-chosen data?

A training table under-covers one segment (``make_coverage_gap``: 3% of the table). The pool
holds it at 8% by default: rare enough that a strategy must look for it (with 30%, random rows
already bring hundreds of segment rows and every strategy closes the gap alike). Each
strategy labels ``budget`` pool rows per iteration (the simulated annotator reads the pool's
hidden labels only after the rows are chosen), retrains the baseline model and is
measured on a fixed held-out test set drawn from the pool's distribution (never on training
rows): the segment's error and the overall error after one and after three iterations.
``targeted`` carries every earlier iteration's regions forward as frozen regions, as the
workspace does, so a region that improved but is still weak keeps receiving rows.
``uncertainty`` takes the pool rows the retrained model is least sure about. Medians over
seeds, because with a few seeds one bad draw moves a mean more than a strategy does.

Run: ``python -m benchmarks loop [--seeds 5] [--budgets 100,300] [--rows 1500]
[--pool-rows 4000] [--pool-share 0.08]``; one line per (seed, budget, strategy) is printed as
it finishes, then the table, which is also written to ``benchmarks/results/loop.txt``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import explorer
from explorer.coverage import with_coverage_gaps
from explorer.data import infer_schema
from explorer.datasets import make_coverage_gap
from explorer.model import baseline_model, encode_target, model_inputs
from explorer.frozen import FrozenRegion, with_stable_ids
from explorer.pool import PoolPlacement
from explorer.suggest import select_rows, suggest_regions

ITERATIONS = 3
STRATEGIES = ("targeted", "random", "uncertainty")
RESULTS = Path(__file__).resolve().parent / "results"
TEST_ROWS = 6000
"""Held-out rows from the pool's distribution: at 8% that is 480 segment rows, so one
seed's segment error has a standard error of about 0.02."""


def _fit(train: pd.DataFrame, seed: int):
    schema = infer_schema(train, target="label")
    with threadpool_limits(1):
        return schema, baseline_model(schema, seed=seed).fit(
            model_inputs(train, schema), encode_target(train["label"], schema))


def _evaluate(schema, model, test: pd.DataFrame) -> tuple[float, float]:
    wrong = model.predict(model_inputs(test, schema)) != test["label"].to_numpy()
    rare = (test["segment"] == "rare").to_numpy()
    return float(wrong[rare].mean()), float(wrong.mean())


def _uncertain(schema, model, visible: pd.DataFrame, available: np.ndarray, budget: int,
               seed: int) -> np.ndarray:
    """Least-confident rows under the current model (the placement needs no map for this)."""
    n = len(visible)
    placement = PoolPlacement(model_space=np.empty((n, 0)), coords=np.empty((n, 2)),
                              probabilities=model.predict_proba(model_inputs(visible, schema)),
                              coverage=np.empty((n, 0)), region_ids=(), error_risk=np.zeros(n))
    return select_rows("uncertainty", budget, visible, seed=seed, placement=placement,
                       available=available)["row"].to_numpy()


def _cell(strategy: str, budget: int, dataset, pool: pd.DataFrame, test: pd.DataFrame,
          seed: int) -> list[dict]:
    """Three iterations of one strategy: choose, label from the hidden column, retrain."""
    visible = pool.drop(columns=["label"])
    train, available = dataset.frame, np.ones(len(pool), bool)
    schema, model = _fit(train, seed)
    frozen: list[FrozenRegion] = []
    records = []
    for iteration in range(1, ITERATIONS + 1):
        step_seed = seed * 1000 + iteration
        if strategy == "random":
            rows = select_rows("random", budget, visible, seed=step_seed,
                               available=available)["row"].to_numpy()
        elif strategy == "uncertainty":
            rows = _uncertain(schema, model, visible, available, budget, step_seed)
        else:
            analysis = with_stable_ids(with_coverage_gaps(
                explorer.analyze(train, target="label", seed=step_seed),
                visible[available].reset_index(drop=True)), frozen)
            _, listing, _ = suggest_regions(analysis.regions, analysis.data, analysis.schema,
                                            analysis.predictions, analysis.map, pool=visible,
                                            budget=budget, seed=step_seed, available=available,
                                            frozen=frozen, known=analysis.diagnoses)
            rows = listing["row"].to_numpy()
            frozen += [FrozenRegion(id=r.id, iteration=iteration, rows=np.asarray(r.rows),
                                    data_rows=len(train),
                                    rule_conditions=r.rule_conditions)
                       for r in analysis.regions]
        available[rows] = False
        train = pd.concat([train, pool.iloc[rows]], ignore_index=True)
        schema, model = _fit(train, seed)
        rare_error, overall = _evaluate(schema, model, test)
        records.append({"seed": seed, "budget": budget, "strategy": strategy,
                        "iteration": iteration, "rare_error": rare_error,
                        "overall_error": overall,
                        "rare_share": float((pool["segment"].iloc[rows] == "rare").mean())})
    return records


def run(seeds: int, budgets: list[int], n_rows: int, pool_rows: int, pool_share: float,
        out=sys.stdout) -> pd.DataFrame:
    """Every (seed, budget, strategy) cell, one progress line each as it finishes."""
    records = []
    for seed in range(seeds):
        dataset, pool = make_coverage_gap(n_rows, seed=seed, pool_rows=pool_rows,
                                          pool_share=pool_share)
        _, test = make_coverage_gap(100, seed=10_000 + seed, pool_rows=TEST_ROWS,
                                    minority_share=pool_share / 2, pool_share=pool_share)
        rare_before, overall_before = _evaluate(*_fit(dataset.frame, seed), test)
        every_rare = pool[pool["segment"] == "rare"]
        rare_ceiling, _ = _evaluate(*_fit(pd.concat([dataset.frame, every_rare],
                                                    ignore_index=True), seed), test)
        for budget in budgets:
            for strategy in STRATEGIES:
                started = time.perf_counter()
                cell = _cell(strategy, budget, dataset, pool, test, seed)
                for record in cell:
                    record.update(rare_before=rare_before, overall_before=overall_before,
                                  rare_ceiling=rare_ceiling)
                records += cell
                print(f"seed {seed} budget {budget} {strategy:<11} rare error "
                      f"{rare_before:.3f} -> " + " -> ".join(f"{r['rare_error']:.3f}"
                                                             for r in cell)
                      + f"; overall {overall_before:.3f} -> {cell[-1]['overall_error']:.3f}; "
                        f"rare share of batches " + "/".join(f"{r['rare_share']:.0%}"
                                                             for r in cell)
                      + f" ({time.perf_counter() - started:.0f} s)", file=out, flush=True)
    return pd.DataFrame(records)


def summarise(results: pd.DataFrame) -> str:
    """Medians over seeds, and the issue's two comparisons per budget and iteration."""
    results = results.assign(rare_cut=results.rare_before - results.rare_error,
                             possible_cut=results.rare_before - results.rare_ceiling,
                             overall_change=results.overall_error - results.overall_before)
    table = results[results.iteration.isin([1, ITERATIONS])].groupby(
        ["budget", "iteration", "strategy"])[["rare_before", "rare_error", "rare_cut",
                                              "possible_cut", "overall_error",
                                              "overall_change", "rare_share"]].median()
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        lines = [str(table)]
    by_seed = results.pivot_table(index=["budget", "iteration", "seed"], columns="strategy",
                                  values="rare_cut")
    for (budget, iteration), block in table.groupby(level=[0, 1]):
        cut = block["rare_cut"].droplevel([0, 1])
        ratio = cut["targeted"] / cut["random"] if cut["random"] > 0 else float("inf")
        seeds = by_seed.loc[(budget, iteration)]
        possible = block["possible_cut"].iloc[0]
        lines.append(
            f"budget {budget}, iteration {iteration}: median cut targeted/random = "
            f"{ratio:.2f}; targeted - uncertainty = {cut['targeted'] - cut['uncertainty']:+.3f}"
            f"; targeted reached {cut['targeted'] / possible:.0%} of the possible cut "
            f"{possible:.3f}; seeds with targeted >= 2x random: "
            f"{int((seeds['targeted'] >= 2 * seeds['random']).sum())}/{len(seeds)}, "
            f"targeted > uncertainty: "
            f"{int((seeds['targeted'] > seeds['uncertainty']).sum())}/{len(seeds)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None, *, quick: bool = False) -> str:
    """Run the benchmark, print its table, write it to results/loop.txt and return it
    (``quick``: one seed, budget 100)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks loop", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", default="100,300")
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--pool-rows", type=int, default=4000)
    parser.add_argument("--pool-share", type=float, default=0.08)
    args = parser.parse_args((["--seeds", "1", "--budgets", "100"] if quick else [])
                             + list(argv or []))
    started = time.perf_counter()
    results = run(args.seeds, [int(b) for b in args.budgets.split(",")], args.rows,
                  args.pool_rows, args.pool_share)
    text = "\n".join([
        f"Coverage-gap loop: {args.seeds} seeds, {args.rows} training rows (3% rare), a pool "
        f"of {args.pool_rows} rows and a test set of {TEST_ROWS} rows from the pool's "
        f"distribution ({args.pool_share:.0%} rare). Medians over seeds; rare_cut = rare "
        f"error before - after (higher is better); the possible cut is the one from "
        f"labelling every segment row of the pool at once (an oracle that reads the "
        f"segment), the most this pool can give.",
        summarise(results), f"took {time.perf_counter() - started:.0f} s"])
    print(text, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loop.txt").write_text(text + "\n", encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
