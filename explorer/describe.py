"""Say, in a person's terms, what the rows of a region have in common.

For each region: the readable rule that best matches it (with its precision and coverage, or
a plain statement that no simple rule fits), the features whose values differ most from the
rest, the composition of each group column against the whole, the most common confusions,
and a few representative rows.

A region no rule describes may still be plain in two or three columns together: a thin
tilted band has the same mean as the rest in every column, so no column's mean sets it
apart, but one combination of them is far narrower inside it than elsewhere ("c1 and c2
together: z(c1) - z(c2) lies between -0.3 and 0.3 here, a band 10 times narrower than
elsewhere"). Contrasts are ranked by their effect: a standardised mean difference for a
numeric column, twice the difference of shares for a category, the log of how many times
narrower for a band.

Rows that are images or texts are not described by their columns: a rule on ``pixel_38`` or
on an SVD component tells a person nothing. An image region's sentence is led by its
confusions ("true 8 -> predicted 1"), and a person looks at its images; a text region's by
the words its texts use more than the rest, with example texts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.linalg import eigh

from .data import Schema
from .rules import RuleFeatures, RuleFit, best_rule
from .text import distinctive_words
from .types import Contrast, DataMap, GroupShare, Predictions, Region

__all__ = ["describe_regions", "RULE_MIN_F1"]

RULE_MIN_F1 = 0.5
"""Below this F1 a rule would mislead more than help; we show examples instead."""
TOP_CONTRASTS = 3
MIN_CONTRAST = 0.2
"""A column sets a region apart only at Cohen's small effect or more: a standardised mean
difference, or for a category its share here against overall on the arcsine scale (Cohen's
h). The tickets' subtopic was said to differ in ``channel = phone: 30% here vs 34%
overall`` (h = 0.09), a column unrelated to it."""
TOP_GROUP_VALUES = 10
EXAMPLES = 5
BAND_COLUMNS = 3
"""A band is sought among the three numeric columns narrowest in the region against the
rest: the thin bands and flat ellipsoids the region search finds lie in two or three, and a
region of a hundred rows cannot estimate a covariance of many more columns."""
BAND_NARROWER = 2.0
"""A band is named when the region is at least this many times narrower along it than
along the narrowest of its columns alone."""
BAND_WEIGHT = 0.2
"""A column joins the band's formula when its weight is at least this share of the largest."""
EXACT_RULE = 0.98
"""A rule is said to *be* the region when it selects at least this share of the region's rows
and at least this share of what it selects is the region; otherwise the sentence gives the
rule with its own precision and coverage."""
TIGHT_RULE_F1 = 0.8
"""Below this F1 of precision and coverage, the sentence calls the rule a loose fit."""


def describe_regions(regions: list[Region], frame: pd.DataFrame, schema: Schema,
                     predictions: Predictions, data_map: DataMap, rule_features: RuleFeatures,
                     *, seed: int) -> list[Region]:
    """The regions with their descriptive fields filled in (new regions, same order)."""
    return [_described(region, frame, schema, predictions, data_map, rule_features, seed=seed)
            for region in regions]


def _described(region: Region, frame: pd.DataFrame, schema: Schema, predictions: Predictions,
               data_map: DataMap, rule_features: RuleFeatures, *, seed: int) -> Region:
    members = np.zeros(len(frame), dtype=bool)
    members[region.rows] = True
    confusions = (_confusions(frame[schema.target].to_numpy(), predictions.predicted, members)
                  if schema.is_classification else region.confusions)
    region = replace(region,
                     group_shares=_group_shares(frame, schema, members, predictions.is_error),
                     confusions=confusions,
                     examples=_examples(data_map.model_space, members))
    if schema.image_shape is not None:
        return replace(region, description=_image_sentence(region, schema))
    if schema.text is not None:
        region = replace(region, words=tuple(distinctive_words(frame[schema.text], members)))
    fit = best_rule(rule_features, members, seed=seed) if rule_features.names else None
    if fit is not None and _f1(fit.precision, fit.coverage) >= RULE_MIN_F1:
        region = replace(region, rule_conditions=fit.rule.conditions,
                         rule_precision=fit.precision, rule_coverage=fit.coverage)
    region = replace(region, contrasts=_contrasts(frame, schema, members))
    return replace(region, description=_sentence(region, schema, fit))


def _f1(precision: float, coverage: float) -> float:
    return 2 * precision * coverage / (precision + coverage) if precision + coverage else 0.0


def _contrasts(frame: pd.DataFrame, schema: Schema, members: np.ndarray) -> list[Contrast]:
    """Numeric features by standardised mean difference, categories by the difference of a
    value's share on the arcsine scale (Cohen's d and h, so the two rank on one scale); those
    below ``MIN_CONTRAST`` set nothing apart."""
    found = []
    for column in schema.numeric:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        inside, outside = values[members], values[~members]
        inside, outside = inside[~np.isnan(inside)], outside[~np.isnan(outside)]
        if inside.size < 2 or outside.size < 2:
            continue
        spread = np.sqrt((inside.var() + outside.var()) / 2)
        if spread == 0:
            continue
        effect = (inside.mean() - outside.mean()) / spread
        found.append(Contrast(column, float(effect),
                              f"{column}: mean {inside.mean():.3g} here vs "
                              f"{outside.mean():.3g} elsewhere"))
    for column in schema.categorical:
        text = frame[column].astype("string").fillna("(missing)")
        inside = text[members].value_counts(normalize=True)
        overall = text.value_counts(normalize=True)
        difference = (2 * np.arcsin(np.sqrt(inside.reindex(overall.index, fill_value=0)))
                      - 2 * np.arcsin(np.sqrt(overall)))
        value = difference.abs().idxmax()
        found.append(Contrast(f"{column} = {value}", float(difference[value]),
                              f"{column} = {value}: {inside.get(value, 0):.0%} here vs "
                              f"{overall[value]:.0%} overall"))
    band = _band(frame, schema, members)
    found += [band] if band is not None else []
    found.sort(key=lambda c: -abs(c.effect))
    return [c for c in found if abs(c.effect) >= MIN_CONTRAST][:TOP_CONTRASTS]


def _band(frame: pd.DataFrame, schema: Schema, members: np.ndarray) -> Contrast | None:
    """The combination of a few numeric columns (in standard units) along which the region
    is narrowest against the rest, when it is a tilted band: ``BAND_NARROWER`` times
    narrower than along any of its columns alone (a blob, narrow in every column, is said
    by its columns). The smallest generalised eigenvalue of the region's covariance against
    the rest's, among the ``BAND_COLUMNS`` columns narrowest alone."""
    if len(schema.numeric) < 2 or not 10 * BAND_COLUMNS <= members.sum() < len(members) - 2:
        return None
    values = frame[list(schema.numeric)].apply(pd.to_numeric, errors="coerce")
    values = values.fillna(values.median()).to_numpy(dtype=float)
    spread = values.std(axis=0)
    usable = np.flatnonzero(spread > 0)
    standard = (values[:, usable] - values[:, usable].mean(axis=0)) / spread[usable]
    alone = standard[members].std(axis=0) / standard[~members].std(axis=0)
    chosen = np.sort(np.argsort(alone, kind="stable")[:BAND_COLUMNS])
    if chosen.size < 2:
        return None
    inside, outside = standard[members][:, chosen], standard[~members][:, chosen]
    ratios, directions = eigh(np.cov(inside.T), np.cov(outside.T))
    weights = directions[:, 0] / directions[np.abs(directions[:, 0]).argmax(), 0]
    kept = np.flatnonzero(np.abs(weights) >= BAND_WEIGHT)
    narrower = 1 / np.sqrt(max(ratios[0], 1e-12))
    if kept.size < 2 or narrower < BAND_NARROWER / alone[chosen[kept]].min():
        return None
    weights = weights[kept] * np.sign(weights[kept][0])  # the formula starts with a plus
    names = [schema.numeric[usable[chosen[j]]] for j in kept]
    low, high = np.quantile(standard[members][:, chosen[kept]] @ weights, [0.05, 0.95])
    formula = " ".join(f"{'-' if w < 0 else '+'} {'' if abs(w) > 0.995 else f'{abs(w):.2f} '}"
                       f"z({name})" for w, name in zip(weights, names))[2:]
    return Contrast(" and ".join(names), float(np.log(narrower)),
                    f"{' and '.join(names)} together: {formula} lies between {low:.2g} and "
                    f"{high:.2g} here, a band {narrower:.0f} times narrower than elsewhere")


def _group_shares(frame: pd.DataFrame, schema: Schema, members: np.ndarray,
                  is_error: np.ndarray) -> list[GroupShare]:
    shares = []
    for column in schema.groups:
        text = frame[column].astype("string").fillna("(missing)")
        overall = text.value_counts(normalize=True)
        inside = text[members].value_counts(normalize=True)
        for value in overall.index[:TOP_GROUP_VALUES]:
            in_value = members & (text == value).to_numpy(dtype=bool)  # pandas < 2.2: object
            rate = float(is_error[in_value].mean()) if in_value.any() else float("nan")
            shares.append(GroupShare(column, str(value), float(inside.get(value, 0.0)),
                                     float(overall[value]), rate))
    return shares


def _confusions(truth: np.ndarray, predicted: np.ndarray, members: np.ndarray
                ) -> list[tuple[str, str, int]]:
    pairs = Counter((str(t), str(p)) for t, p in zip(truth[members], predicted[members])
                    if str(t) != str(p))
    return [(t, p, n) for (t, p), n in pairs.most_common(3)]


def _examples(model_space: np.ndarray, members: np.ndarray) -> list[int]:
    """The members nearest the region's centre in the model's space: its typical rows."""
    rows = np.flatnonzero(members)
    centre = model_space[rows].mean(axis=0)
    distance = np.linalg.norm(model_space[rows] - centre, axis=1)
    return [int(r) for r in rows[np.argsort(distance, kind="stable")[:EXAMPLES]]]


def _rates(region: Region, schema: Schema) -> str:
    what = "wrong" if schema.is_classification else "with a large error"
    return (f"{region.error_rate:.0%} {what} vs {region.baseline_error_rate:.0%} overall "
            f"({region.lift:.1f}x)")


def _image_sentence(region: Region, schema: Schema) -> str:
    """An image region in the terms a person checks by looking: which class was taken for
    which, how often, and how much more often than elsewhere."""
    inside = f"inside R{region.parent}, " if region.parent is not None else ""
    if region.confusions:
        mistakes = ", ".join(f"true {t} -> predicted {p} ({n})" for t, p, n in region.confusions)
        text = f"{inside}{mistakes}: {region.size:,} images, {_rates(region, schema)}"
    else:
        text = f"{inside}{region.size:,} images, {_rates(region, schema)}; look at them"
    return text[0].upper() + text[1:] + "."


def _sentence(region: Region, schema: Schema, fit: RuleFit | None) -> str:
    """One sentence that states the region's own size and error, and its rule only as what
    it is: the region itself when the rule is exact, else the best rule with its own
    precision and coverage (and "loose" when it fits badly)."""
    rates = _rates(region, schema)
    inside = f"inside R{region.parent}, " if region.parent is not None else ""
    exact = region.rule and min(region.rule_precision, region.rule_coverage) >= EXACT_RULE
    if exact:
        text = f"{inside}{region.size:,} rows where {region.rule}: {rates}"
    elif region.rule:
        loose = _f1(region.rule_precision, region.rule_coverage) < TIGHT_RULE_F1
        text = (f"{inside}{region.size:,} rows, {rates}; best rule: {region.rule} (precision "
                f"{region.rule_precision:.0%}, covers {region.rule_coverage:.0%} of the "
                f"region{'; a loose fit' if loose else ''})")
    elif region.words:
        text = (f"{inside}{region.size:,} rows whose texts use "
                f"{', '.join(repr(w) for w in region.words)} more than the rest, {rates}")
    elif region.contrasts:
        text = (f"{inside}{region.size:,} rows that no simple rule describes (closest: "
                f"{fit.rule.text if fit else 'none'}), {rates}; they differ most in "
                f"{region.contrasts[0].text}")
    else:
        text = f"{inside}{region.size:,} rows that no simple rule describes, {rates}"
    if region.words and region.rule:
        text += f"; its texts use {', '.join(repr(w) for w in region.words)} more than the rest"
    if region.confusions:
        truth, predicted, count = region.confusions[0]
        text += f"; most often true {truth} predicted as {predicted} ({count} rows)"
    return text[0].upper() + text[1:] + "."
