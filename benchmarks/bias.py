"""Bias-demo benchmark: over many seeds, does targeted collection close the group's gap more
than a random sample of the same size?

Each seed runs the whole demo (``explorer.demo.run_bias_demo``): a fresh biased split of the
Adult table, the deployed model's regions on an audit set, the targeted collection list and
a random control of the same budget, both labelled by the simulated annotator, two retrained
models scored on the same test rows. Per seed it prints the group's test error before, after
targeted and after random collection, how much of the gap each closed, the under-covered
rows each list brought, and the exact McNemar test of the two retrained models on the
group's test rows. The pooled line adds the discordant rows over seeds (the seeds' test
sets are drawn independently, so under "no difference" each discordant row is still a fair
coin) and counts the seeds where targeted collection closed the gap more.

Run: ``python -m benchmarks bias [--seeds 10] [--budget 300]``; the table is also written to
``benchmarks/results/bias.txt``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from explorer.demo import run_bias_demo

RESULTS = Path(__file__).resolve().parent / "results"


def _seed_row(seed: int, budget: int) -> dict:
    started = time.perf_counter()
    demo = run_bias_demo(seed=seed, budget=budget)
    group = demo.errors[demo.errors["value"] == demo.split.group_value].set_index("scenario")
    versus = demo.paired["targeted vs random"]
    collected = demo.collected.set_index("strategy")["under_sampled_rows"]
    closed = {s: demo.gaps["before"].difference - demo.gaps[s].difference
              for s in ("after targeted", "after random")}
    return {"seed": seed, "before": group.loc["before", "error_rate"],
            "targeted": group.loc["after targeted", "error_rate"],
            "random": group.loc["after random", "error_rate"],
            "closed_targeted": closed["after targeted"], "closed_random": closed["after random"],
            "under_targeted": int(collected["targeted"]), "under_random": int(collected["random"]),
            "only_random_wrong": versus.only_second_wrong,
            "only_targeted_wrong": versus.only_first_wrong, "p_value": versus.p_value,
            "shown": demo.effect_shown, "seconds": time.perf_counter() - started}


def table(rows: list[dict], budget: int) -> str:
    """The per-seed table and the pooled line, as printed."""
    lines = [f"Bias demo over {len(rows)} seeds, budget {budget} rows per strategy "
             f"(group: the demo's under-covered group; errors on its test rows)",
             "| seed | before | targeted | random | gap closed T / R (pts) | under-covered rows "
             "T / R | wrong only R / only T | McNemar p | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['before']:.1%} | {r['targeted']:.1%} | {r['random']:.1%} | "
            f"{100 * r['closed_targeted']:+.1f} / {100 * r['closed_random']:+.1f} | "
            f"{r['under_targeted']} / {r['under_random']} | {r['only_random_wrong']} / "
            f"{r['only_targeted_wrong']} | {r['p_value']:.2g} | "
            f"{'shown' if r['shown'] else 'not shown'} |")
    b = sum(r["only_random_wrong"] for r in rows)
    c = sum(r["only_targeted_wrong"] for r in rows)
    wins = sum(r["closed_targeted"] > r["closed_random"] for r in rows)
    significant = sum(r["p_value"] < 0.05 and r["targeted"] < r["random"] for r in rows)
    pooled = binomtest(b, b + c).pvalue if b + c else 1.0
    lines += [
        "",
        f"Targeted closed the gap more than random in {wins} of {len(rows)} seeds; the paired "
        f"test favoured targeted at p < 0.05 in {significant} of {len(rows)}; the demo's "
        f"verdict said 'shown' in {sum(r['shown'] for r in rows)}.",
        f"Pooled exact McNemar over the seeds: {b} group test rows wrong only after random "
        f"collection, {c} only after targeted, p = {pooled:.2g}.",
        f"Median group error: {np.median([r['before'] for r in rows]):.1%} before, "
        f"{np.median([r['targeted'] for r in rows]):.1%} after targeted, "
        f"{np.median([r['random'] for r in rows]):.1%} after random; median "
        f"{np.median([r['seconds'] for r in rows]):.0f} s per seed."]
    return "\n".join(lines)


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks bias",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3 if quick else 10,
                        help="seeds 0..N-1 (default 10; 3 with --quick)")
    parser.add_argument("--budget", type=int, default=300,
                        help="rows labelled per strategy (default 300, the demo's default)")
    args = parser.parse_args(argv)
    rows = []
    for seed in range(args.seeds):
        rows.append(_seed_row(seed, args.budget))
        r = rows[-1]
        print(f"seed {seed}: {r['before']:.1%} -> targeted {r['targeted']:.1%}, random "
              f"{r['random']:.1%} (p = {r['p_value']:.2g}, {r['seconds']:.0f} s)", flush=True)
    text = table(rows, args.budget)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bias.txt").write_text(text + "\n", encoding="utf-8")
    return text
