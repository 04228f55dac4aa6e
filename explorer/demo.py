"""The guided bias demonstration: an unfair model, traced to its data, fixed by collecting.

:func:`run_bias_demo` runs the whole loop on a biased split of the Adult census table
(:func:`explorer.bias.make_biased_split`) and returns its steps, each with the figures it
measured in this run, one or two plain sentences built from those figures, and a chart:

1. *Skewed data*: the group is rarer in training than in the world, and the model trained on
   it errs more on that group (test set, 95% intervals).
2. *The weak region is the group*: the error regions of the deployed model on a labelled
   audit set from the natural distribution overlap the under-sampled group. (The skewed
   training set cannot show its own gap: the rows that would be errors are the rows it lacks.)
3. *The suggestion engine targets it*: the targeted collection list holds more of the group
   than a random list of the same size.
4. *Collect and retrain*: the simulated annotator labels both lists from the hidden truth;
   two models are retrained (targeted, and the random control).
5. *The gap*: the group's error gap on the untouched test set, before and after each.

The two retrained models are scored on the *same* test rows, so they are compared as pairs:
an exact McNemar test on the group's test rows where exactly one of them errs, with an
interval on the paired difference (:func:`explorer.stats.paired_comparison`). Nothing is
canned: every sentence is formatted from this run's numbers, every heading follows what was
measured, and when targeted collection does not beat the control the verdict says so.
Pure: no printing, no files (the CLI and the app draw the result; :func:`demo_report_html`
renders it as one page).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from threadpoolctl import threadpool_limits

from . import charts
from .analysis import Analysis, analyze
from .bias import BiasedSplit, make_biased_split
from .data import infer_schema, label_key
from .errors import check_int
from .groups import GroupGap, gap_between, group_labels, group_metrics, region_overlap
from .model import baseline_model, encode_target, model_inputs
from .stats import PairedComparison, paired_comparison
from .suggest import select_rows

__all__ = ["DemoStep", "BiasDemo", "run_bias_demo", "demo_report_html", "SCENARIOS"]

SCENARIOS = ("before", "after targeted", "after random")
ALIGNED_ENRICHMENT = 1.5
"""A region lines up with the group when the group's share in it is at least 1.5 times its
share of all audit rows."""
EVERYONE_ELSE = "everyone else"
SIGNIFICANCE = 0.05
"""The paired test's level: targeted collection is said to beat the control only when the
McNemar test on the group's test rows rejects "no difference" at this level."""


@dataclass(frozen=True)
class DemoStep:
    """One step of the story: a title, plain sentences, the measured figures and a chart."""

    key: str
    title: str
    text: str
    figures: dict
    figure: go.Figure


@dataclass(frozen=True)
class BiasDemo:
    """The result of one run of the demo (see the module docstring).

    ``errors`` holds the test-set error of the group and of everyone else per scenario, with
    95% Wilson intervals; ``gaps`` the group's gap over everyone else per scenario, with
    Newcombe intervals. ``paired`` compares models on the group's test rows as pairs:
    ``"targeted vs random"`` (the claim), ``"before vs targeted"`` and ``"before vs
    random"``. ``effect_shown`` is True only when targeted collection lowered the group's
    error more than random collection, significantly in the paired test, and narrowed the
    gap more.
    """

    split: BiasedSplit
    analysis: Analysis
    steps: list[DemoStep]
    errors: pd.DataFrame
    gaps: dict[str, GroupGap]
    paired: dict[str, PairedComparison]
    collected: pd.DataFrame
    effect_shown: bool
    verdict: str
    budget: int
    seed: int
    timings: dict[str, float] = field(default_factory=dict)


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _interval(low: float, high: float) -> str:
    return f"[{low:.1%}, {high:.1%}]"


def _pp(value: float) -> str:
    """A difference of rates in percentage points, signed."""
    return f"{100 * value:+.1f} points"


def _gap_text(gap: GroupGap) -> str:
    return f"{_pp(gap.difference)} (95% interval {100 * gap.interval[0]:+.1f} to " \
           f"{100 * gap.interval[1]:+.1f})"


def _predict(train: pd.DataFrame, rows: pd.DataFrame, split: BiasedSplit, seed: int
             ) -> np.ndarray:
    """Train the baseline model on ``train`` and predict the labels of ``rows``."""
    schema = infer_schema(train, target=split.target, groups=list(split.groups))
    with threadpool_limits(1):  # small fits: threads only wait for busy cores
        model = baseline_model(schema, seed=seed).fit(
            model_inputs(train, schema), encode_target(train[split.target], schema))
    return np.asarray(schema.classes, dtype=object)[model.predict(model_inputs(rows, schema))]


def _test_errors(train: pd.DataFrame, split: BiasedSplit, scenario: str, seed: int
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """Train on ``train``; the group vs everyone else on the untouched test set, and which
    test rows the model got wrong (for the paired comparisons)."""
    predicted = _predict(train, split.test, split, seed)
    wrong = np.array([label_key(t) != label_key(p) for t, p in
                      zip(split.test[split.target], predicted)])
    who = pd.DataFrame({"who": np.where(split.in_group(split.test), split.group_value,
                                        EVERYONE_ELSE)})
    train_who = pd.DataFrame({"who": np.where(split.in_group(train), split.group_value,
                                              EVERYONE_ELSE)})
    table = group_metrics(split.test[split.target].to_numpy(), predicted, who, ["who"],
                          train=train_who)
    return table.assign(scenario=scenario, train_rows=len(train)), wrong


def _labelled(split: BiasedSplit, rows: np.ndarray) -> pd.DataFrame:
    """Pool rows with their label filled in by the simulated annotator (the hidden truth)."""
    added = split.pool.iloc[rows].rename(columns={split.hidden_label: split.target})
    return added[list(split.train.columns)]


def run_bias_demo(*, seed: int = 0, budget: int = 300, n_rows: int = 12_000,
                  split: BiasedSplit | None = None,
                  progress: Callable[[str, float], None] | None = None) -> BiasDemo:
    """Run the story end to end and return every step with its measured figures.

    Parameters
    ----------
    seed : int, default 0
        Seeds the split, the analysis, the selection and the models.
    budget : int, default 300
        Rows labelled by each strategy (targeted and the random control get the same).
    n_rows : int, default 12,000
        Rows of Adult used (a seeded subsample; see ``make_biased_split``).
    split : BiasedSplit, optional
        Use this split instead of the default one (e.g. another group).
    progress : callable, optional
        ``progress(message, fraction)``, called as stages start.
    """
    seed = check_int(seed, name="seed", owner="run_bias_demo", low=0, high=2**32 - 1)
    budget = check_int(budget, name="budget", owner="run_bias_demo", low=1)
    tell = progress or (lambda message, fraction: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    tell("Sampling a skewed training set", 0.0)
    split = split or make_biased_split(n_rows=n_rows, seed=seed)
    visible_pool = split.pool.drop(columns=[split.hidden_label])
    before, wrong_before = _test_errors(split.train, split, SCENARIOS[0], seed)
    lap("split")
    tell("Finding where the deployed model fails on the audit set (map, regions)", 0.15)
    audit = split.audit.assign(prediction=_predict(split.train, split.audit, split, seed))
    analysis = analyze(audit, target=split.target, prediction="prediction",
                       groups=list(split.groups), pool=visible_pool, budget=budget, seed=seed)
    lap("analyze")
    tell("Collecting labels and retraining", 0.7)
    targeted_rows = analysis.collection_list["row"].to_numpy(dtype=int)
    random_rows = select_rows("random", budget, visible_pool, seed=seed + 1)["row"].to_numpy(
        dtype=int)
    after = {scenario: _test_errors(pd.concat([split.train, _labelled(split, rows)],
                                              ignore_index=True), split, scenario, seed)
             for scenario, rows in ((SCENARIOS[1], targeted_rows), (SCENARIOS[2], random_rows))}
    errors = pd.concat([before] + [table for table, _ in after.values()], ignore_index=True)
    lap("retrain")
    gaps = {s: gap_between(errors[errors["scenario"] == s], "who", split.group_value,
                           EVERYONE_ELSE) for s in SCENARIOS}
    group = split.in_group(split.test)
    wrong = {SCENARIOS[0]: wrong_before[group],
             **{scenario: rows_wrong[group] for scenario, (_, rows_wrong) in after.items()}}
    paired = {"targeted vs random": paired_comparison(wrong["after targeted"],
                                                      wrong["after random"]),
              "before vs targeted": paired_comparison(wrong["before"], wrong["after targeted"]),
              "before vs random": paired_comparison(wrong["before"], wrong["after random"])}
    collected = _collected(split, targeted_rows, random_rows)
    effect, verdict = _verdict(split, errors, gaps, paired["targeted vs random"])
    steps = [_step_data(split, before, gaps["before"]),
             _step_regions(split, analysis),
             _step_suggest(split, analysis, collected),
             _step_retrain(split, errors, collected, paired),
             _step_gap(split, gaps, verdict, effect)]
    tell("Done", 1.0)
    return BiasDemo(split=split, analysis=analysis, steps=steps, errors=errors, gaps=gaps,
                    paired=paired, collected=collected, effect_shown=effect, verdict=verdict,
                    budget=budget, seed=seed, timings=timings)


def _collected(split: BiasedSplit, targeted: np.ndarray, random: np.ndarray) -> pd.DataFrame:
    """Per strategy: rows labelled, how many are in the group and in the under-sampled part."""
    pool = split.pool
    in_group = split.in_group(pool)
    missing = in_group.copy()
    if split.label_value is not None:
        missing &= (pool[split.hidden_label].astype(str) == split.label_value).to_numpy()
    rows = [{"strategy": name, "rows": len(chosen), "group_rows": int(in_group[chosen].sum()),
             "under_sampled_rows": int(missing[chosen].sum())}
            for name, chosen in (("targeted", targeted), ("random", random))]
    rows.append({"strategy": "whole pool", "rows": len(pool),
                 "group_rows": int(in_group.sum()), "under_sampled_rows": int(missing.sum())})
    table = pd.DataFrame(rows)
    return table.assign(group_share=table["group_rows"] / table["rows"])


def _rate(errors: pd.DataFrame, scenario: str, who: str) -> pd.Series:
    return errors[(errors["scenario"] == scenario) & (errors["value"] == who)].iloc[0]


def _verdict(split: BiasedSplit, errors: pd.DataFrame, gaps: dict[str, GroupGap],
             versus: PairedComparison) -> tuple[bool, str]:
    """Whether targeted collection beat the control, in one paragraph built from the run.

    Shown only when the group's error fell more with targeted rows than with random rows,
    the paired McNemar test on the group's test rows says so at ``SIGNIFICANCE``, and the
    gap to everyone else narrowed more; a run that misses any of the three says which.
    """
    group = split.group_value
    rates = {s: _rate(errors, s, group) for s in SCENARIOS}
    fall_targeted = rates["before"]["error_rate"] - rates["after targeted"]["error_rate"]
    fall_random = rates["before"]["error_rate"] - rates["after random"]["error_rate"]
    closed_targeted = gaps["before"].difference - gaps["after targeted"].difference
    closed_random = gaps["before"].difference - gaps["after random"].difference
    better = fall_targeted > 0 and fall_targeted > fall_random
    significant = better and versus.p_value < SIGNIFICANCE
    shown = significant and closed_targeted > closed_random
    numbers = (f"{split.group_column} = {group}: error {_pct(rates['before']['error_rate'])} "
               f"before, {_pct(rates['after targeted']['error_rate'])} after targeted "
               f"collection, {_pct(rates['after random']['error_rate'])} after random "
               f"collection of the same number of rows. Paired on the group's "
               f"{versus.rows:,} test rows, random minus targeted: "
               f"{-100 * versus.difference:+.1f} points (95% interval "
               f"{-100 * versus.interval[1]:+.1f} to {-100 * versus.interval[0]:+.1f}); "
               f"{versus.only_second_wrong} rows wrong only with random rows, "
               f"{versus.only_first_wrong} only with targeted rows (exact McNemar p = "
               f"{versus.p_value:.2g}).")
    if shown:
        return True, (f"The effect shows in this run: targeted collection cut the group's "
                      f"error by {100 * fall_targeted:.1f} points and random collection by "
                      f"{100 * fall_random:.1f}. {numbers}")
    reason = ("targeted collection did not lower the group's error more than random "
              "collection" if not better else
              f"the paired test does not separate them (p = {versus.p_value:.2g} >= "
              f"{SIGNIFICANCE})" if not significant else
              "the gap to everyone else did not narrow more with targeted rows")
    return False, (f"This run does not show the effect: {reason}. {numbers} Try a larger "
                   f"budget or another seed, and report this run as it is.")


def _step_data(split: BiasedSplit, before: pd.DataFrame, gap: GroupGap) -> DemoStep:
    shares = []
    for name, frame in (("training", split.train), ("pool", split.pool), ("test (the world)",
                                                                          split.test)):
        counts = group_labels(frame, split.group_column).value_counts(normalize=True)
        shares += [{"table": name, "value": v, "share": float(s)}
                   for v, s in counts.sort_index().items()]
    group = _rate(before, "before", split.group_value)
    rest = _rate(before, "before", EVERYONE_ELSE)
    text = (f"The training data keeps only {split.kept:,} of the {split.kept + split.left_out:,}"
            f" rows with {split.who}. Trained on it, the model is wrong for "
            f"{_pct(group['error_rate'])} {_interval(group['ci_low'], group['ci_high'])} of "
            f"{split.group_column} = {split.group_value} in the test set, against "
            f"{_pct(rest['error_rate'])} {_interval(rest['ci_low'], rest['ci_high'])} for "
            f"everyone else: a gap of {_gap_text(gap)}.")
    return DemoStep("data", "1. The data is skewed, and so is the model", text,
                    {"kept": split.kept, "left_out": split.left_out,
                     "group_error": float(group["error_rate"]),
                     "group_interval": (float(group["ci_low"]), float(group["ci_high"])),
                     "rest_error": float(rest["error_rate"]), "gap": gap.difference,
                     "gap_interval": gap.interval},
                    charts.group_representation_figure(
                        pd.DataFrame(shares),
                        title=f"Share of each {split.group_column} in training, pool and test"))


def _step_regions(split: BiasedSplit, analysis: Analysis) -> DemoStep:
    overlap = region_overlap(analysis)
    mine = overlap[(overlap["column"] == split.group_column)
                   & (overlap["value"] == split.group_value)]
    figure = charts.map_figure(analysis, color_by=f"{charts.COLUMN_PREFIX}{split.group_column}")
    if mine.empty:
        text = ("No error region passed the significance test on the training data, so the "
                "model's weakness does not show up as a region here.")
        return DemoStep("regions", "2. Where the model fails", text,
                        {"regions": 0, "overlap": None}, figure)
    top = mine.sort_values("enrichment", ascending=False).iloc[0]
    region = analysis.region(int(top["region"]))
    aligned = bool(top["enrichment"] >= ALIGNED_ENRICHMENT)
    text = (f"{len(analysis.regions)} error region(s) passed the test. The one richest in "
            f"{split.group_column} = {split.group_value} is R{region.id} ({region.size} rows, "
            f"error {_pct(region.error_rate)} vs {_pct(region.baseline_error_rate)} overall"
            + (f"; rule: {region.rule}" if region.rule else "") + f"): "
            f"{_pct(top['share_in_region'])} of it is {split.group_column} = "
            f"{split.group_value}, against {_pct(top['share_overall'])} of all audit rows "
            f"({top['enrichment']:.1f}x). "
            + ("The model's weak region lines up with the under-sampled group." if aligned else
               f"That is not a clear overlap (below {ALIGNED_ENRICHMENT:.1f}x): in this run the "
               f"model's weakest region is broader than the under-sampled group."))
    title = ("2. The model's weak region is the under-sampled group" if aligned else
             "2. Where the model fails (not clearly the under-sampled group)")
    return DemoStep("regions", title, text,
                    {"regions": len(analysis.regions), "region": region.id, "aligned": aligned,
                     "share_in_region": float(top["share_in_region"]),
                     "share_overall": float(top["share_overall"]),
                     "enrichment": float(top["enrichment"]),
                     "diagnosis": region.diagnosis}, figure)


def _step_suggest(split: BiasedSplit, analysis: Analysis, collected: pd.DataFrame) -> DemoStep:
    by = collected.set_index("strategy")
    listing = analysis.collection_list
    from_regions = int((listing["region"] != -1).sum())
    text = (f"The suggestion engine chose {len(listing)} pool rows to label, {from_regions} of "
            f"them for the error regions. {_pct(by.loc['targeted', 'group_share'])} of them are "
            f"{split.group_column} = {split.group_value}, against "
            f"{_pct(by.loc['random', 'group_share'])} of a random sample of the same size "
            f"(the pool holds {_pct(by.loc['whole pool', 'group_share'])}); "
            f"{by.loc['targeted', 'under_sampled_rows']} of them have {split.who}, the rows "
            f"training lacks, against {by.loc['random', 'under_sampled_rows']} of the random "
            f"sample.")
    targets = by.loc["targeted", "under_sampled_rows"] > by.loc["random", "under_sampled_rows"]
    shares = pd.DataFrame([
        {"table": name, "value": value, "share": float(share)}
        for name in ("targeted", "random", "whole pool")
        for value, share in ((split.group_value, by.loc[name, "group_share"]),
                             (EVERYONE_ELSE, 1 - by.loc[name, "group_share"]))])
    return DemoStep("suggest", "3. The suggestion engine targets the gap" if targets else
                    "3. What the suggestion engine picks (no more of the gap than random)", text,
                    {"listed": len(listing), "from_regions": from_regions,
                     **{f"{k}_group_share": float(by.loc[k, "group_share"])
                        for k in ("targeted", "random", "whole pool")}},
                    charts.group_representation_figure(
                        shares, title="Who each collection list would label"))


def _step_retrain(split: BiasedSplit, errors: pd.DataFrame, collected: pd.DataFrame,
                  paired: dict[str, PairedComparison]) -> DemoStep:
    by = collected.set_index("strategy")
    text = (f"A simulated annotator labelled both lists from the hidden truth. The targeted "
            f"list brought {by.loc['targeted', 'under_sampled_rows']} rows with {split.who}, "
            f"the random list {by.loc['random', 'under_sampled_rows']}. Each model was "
            f"retrained and measured on the same untouched test set, so the models are "
            f"compared row by row on the group's test rows: "
            f"{paired['before vs targeted'].summary('before', 'targeted')}; "
            f"{paired['before vs random'].summary('before', 'random')}.")
    return DemoStep("retrain", "4. Collect, label, retrain", text,
                    {**{k: int(by.loc[k, "under_sampled_rows"]) for k in ("targeted", "random")},
                     **{name: {"difference": c.difference, "interval": c.interval,
                               "p_value": c.p_value} for name, c in paired.items()}},
                    charts.group_error_figure(
                        errors, title="Test error, before and after collecting (95% "
                                      "intervals)"))


def _step_gap(split: BiasedSplit, gaps: dict[str, GroupGap], verdict: str, shown: bool
              ) -> DemoStep:
    text = (f"The gap between {split.group_column} = {split.group_value} and everyone else: "
            f"{_gap_text(gaps['before'])} before, {_gap_text(gaps['after targeted'])} after "
            f"targeted collection, {_gap_text(gaps['after random'])} after random collection. "
            + verdict)
    gap_table = pd.DataFrame([{"scenario": s, "value": "gap", "error_rate": g.difference,
                               "ci_low": g.interval[0], "ci_high": g.interval[1]}
                              for s, g in gaps.items()])
    title = ("5. The gap closes where the data was fixed" if shown else
             "5. The gap after collecting: targeted rows not shown to beat random ones")
    return DemoStep("gap", title, text,
                    {s: {"gap": g.difference, "interval": g.interval} for s, g in gaps.items()},
                    charts.group_error_figure(gap_table, title="Error gap, group minus "
                                                               "everyone else (95% intervals)"))


def demo_report_html(demo: BiasDemo) -> str:
    """One self-contained page with every step (plotly.js inlined; data text escaped)."""
    from .export import REPORT_CSS

    e = html.escape
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Bias demo"
             f"</title><style>{REPORT_CSS}</style></head><body><main><h1>Bias is a property of the "
             f"data</h1><p>{e(demo.split.description)}</p><p class='diagnosis'><b>Verdict.</b> "
             f"{e(demo.verdict)}</p>"]
    for index, step in enumerate(demo.steps):
        figure = pio.to_html(step.figure, include_plotlyjs=index == 0, full_html=False,
                             config={"displaylogo": False})
        parts.append(f"<section><h2>{e(step.title)}</h2><p class='description'>"
                     f"{e(step.text)}</p><div class='figure'>{figure}</div></section>")
    parts.append(f"<p class='muted'>Seed {demo.seed}, budget {demo.budget} rows per strategy. "
                 f"Every figure was measured in this run.</p></main></body></html>")
    return "\n".join(parts)
