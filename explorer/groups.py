"""Group views: how the model's errors and the data's coverage differ between groups.

A group is a value of a group column (a sensitive attribute such as sex, or any metadata
column). For each one we report its error rate with a 95% Wilson interval, how many rows it
has, and its share of the training rows against its share of a reference table (the pool, or
the whole population), because an error gap that comes with a coverage gap is a data problem
that collecting can fix. Per-group metrics come from fairlearn's ``MetricFrame``, the field
standard, rather than a groupby of our own.

The gap between the worst and the best group gets a Newcombe interval (the difference of two
Wilson intervals; no resampling, so it is the same on every run), and each error region's
overlap with each group says whether the model's weak places *are* a group.

Examples
--------
>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"sex": ["f", "f", "m", "m", "m"]})
>>> table = group_metrics(np.array([1, 0, 1, 1, 0]), np.array([0, 0, 1, 1, 0]), frame, ["sex"])
>>> table[["value", "n", "errors"]].to_dict("list")
{'value': ['f', 'm'], 'n': [2, 3], 'errors': [1, 0]}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count

from .data import label_key
from .errors import DataError
from .stats import newcombe_interval, wilson_interval

__all__ = ["GroupGap", "GroupReport", "group_metrics", "largest_gap", "gap_between", "region_overlap",
           "group_report", "group_labels", "METRIC_COLUMNS"]

METRIC_COLUMNS = ("column", "value", "n", "errors", "error_rate", "ci_low", "ci_high",
                  "share_train", "share_reference")
"""Columns of :func:`group_metrics`' table, in order."""

LEVEL = 0.95


@dataclass(frozen=True)
class GroupGap:
    """The largest error gap within one group column: ``worst`` minus ``best`` group.

    ``interval`` is Newcombe's 95% interval for the difference of the two error rates; when
    it excludes 0 the gap is larger than chance alone explains.
    """

    column: str
    worst: str
    best: str
    worst_rate: float
    best_rate: float
    difference: float
    interval: tuple[float, float]

    @property
    def clear(self) -> bool:
        """Whether the interval excludes zero."""
        return self.interval[0] > 0


@dataclass(frozen=True)
class GroupReport:
    """Everything the group views show for one analysis (see :func:`group_report`)."""

    metrics: pd.DataFrame
    overlap: pd.DataFrame
    gaps: list[GroupGap]


def group_labels(frame: pd.DataFrame, column: str) -> pd.Series:
    """A group column as text, with missing values named, so every row has a group."""
    if column not in frame.columns:
        raise DataError(f"The group column '{column}' is not in the table; its columns are "
                        f"{list(frame.columns)[:20]}. Pass groups that name existing columns.")
    return frame[column].astype("string").fillna("(missing)").astype(object)


def _error_rate(y_true, y_pred) -> float:
    return float(np.mean([label_key(t) != label_key(p) for t, p in zip(y_true, y_pred)]))


def _error_count(y_true, y_pred) -> int:
    return int(sum(label_key(t) != label_key(p) for t, p in zip(y_true, y_pred)))


def group_metrics(truth, predicted, frame: pd.DataFrame, groups, *,
                  train: pd.DataFrame | None = None,
                  reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Error rate with a 95% Wilson interval, and representation, for every group value.

    Parameters
    ----------
    truth, predicted : array of shape (n_rows,)
        True and predicted labels of the rows of ``frame`` (1, 1.0 and "1" are one class).
    frame : DataFrame
        The evaluated rows; holds the group columns.
    groups : list of str
        Group columns.
    train, reference : DataFrame, optional
        ``share_train`` is each value's share of ``train`` (default ``frame``), and
        ``share_reference`` its share of ``reference`` (the pool or the whole population;
        default ``frame``): a group much rarer in training than in the reference is
        under-sampled.

    Returns
    -------
    DataFrame with ``METRIC_COLUMNS``, one row per (column, value), values in sorted order.
    """
    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    if len(truth) != len(frame) or len(predicted) != len(frame):
        raise DataError(f"group_metrics needs one truth and one prediction per row of the "
                        f"table ({len(frame)} rows); got {len(truth)} and {len(predicted)}.")
    train = frame if train is None else train
    reference = frame if reference is None else reference
    parts = []
    for column in groups:
        by_group = MetricFrame(
            metrics={"n": count, "errors": _error_count, "error_rate": _error_rate},
            y_true=truth, y_pred=predicted,
            sensitive_features=group_labels(frame, column).rename(column)).by_group
        share_train = group_labels(train, column).value_counts(normalize=True)
        share_reference = group_labels(reference, column).value_counts(normalize=True)
        for value, row in by_group.sort_index().iterrows():
            low, high = wilson_interval(int(row["errors"]), int(row["n"]), LEVEL)
            parts.append((column, str(value), int(row["n"]), int(row["errors"]),
                          float(row["error_rate"]), low, high,
                          float(share_train.get(value, 0.0)),
                          float(share_reference.get(value, 0.0))))
    return pd.DataFrame(parts, columns=list(METRIC_COLUMNS))


def largest_gap(metrics: pd.DataFrame, column: str, *, min_rows: int = 30) -> GroupGap | None:
    """The worst minus the best group of ``column``, among groups of at least ``min_rows``.

    Tiny groups are left out because their rates swing on a handful of rows; None when fewer
    than two groups are large enough.
    """
    table = metrics[(metrics["column"] == column) & (metrics["n"] >= min_rows)]
    if len(table) < 2:
        return None
    ordered = table.sort_values(["error_rate", "value"], kind="stable")
    return gap_between(metrics, column, ordered.iloc[-1]["value"], ordered.iloc[0]["value"])


def gap_between(metrics: pd.DataFrame, column: str, worse: str, better: str) -> GroupGap:
    """The error gap of group ``worse`` over group ``better`` of ``column``, with its
    Newcombe interval (negative when ``worse`` in fact errs less)."""
    table = metrics[metrics["column"] == column].set_index("value")
    missing = [v for v in (worse, better) if v not in table.index]
    if missing:
        raise DataError(f"No rows have {column} = {missing[0]!r}; the values are "
                        f"{list(table.index)}.")
    a, b = table.loc[worse], table.loc[better]
    return GroupGap(column, str(worse), str(better), float(a["error_rate"]),
                    float(b["error_rate"]), float(a["error_rate"] - b["error_rate"]),
                    newcombe_interval(int(a["errors"]), int(a["n"]), int(b["errors"]),
                                      int(b["n"]), LEVEL))


def region_overlap(analysis) -> pd.DataFrame:
    """How each error region lines up with each group value.

    Returns one row per (region, column, value) with ``share_in_region`` against
    ``share_overall`` (their ratio is ``enrichment``: above 1, the group is over-represented
    in the region), ``group_in_region``, the share of the group's rows that fall in the
    region, and the group's error rate inside and outside the region.
    """
    frame, is_error = analysis.data, np.asarray(analysis.predictions.is_error, dtype=bool)
    rows = []
    for region in analysis.regions:
        members = np.zeros(len(frame), dtype=bool)
        members[np.asarray(region.rows, dtype=int)] = True
        for column in analysis.schema.groups:
            labels = group_labels(frame, column).to_numpy()
            for value in sorted(set(labels)):
                in_group = labels == value
                inside, outside = in_group & members, in_group & ~members
                share_overall = float(in_group.mean())
                share_in_region = float(inside.sum() / members.sum())
                rows.append({
                    "region": region.id, "column": column, "value": str(value),
                    "share_in_region": share_in_region, "share_overall": share_overall,
                    "enrichment": share_in_region / share_overall,
                    "group_in_region": float(inside.sum() / in_group.sum()),
                    "error_inside": float(is_error[inside].mean()) if inside.any() else np.nan,
                    "error_outside": float(is_error[outside].mean()) if outside.any()
                    else np.nan,
                })
    columns = ["region", "column", "value", "share_in_region", "share_overall", "enrichment",
               "group_in_region", "error_inside", "error_outside"]
    return pd.DataFrame(rows, columns=columns)


def group_report(analysis, *, reference: pd.DataFrame | None = None) -> GroupReport:
    """Group metrics (out-of-fold errors), region overlap and the largest gaps of an analysis.

    Cheap (no model is trained): it reads the analysis' honest predictions. ``reference``
    defaults to the analysis' pool when it has one, so ``share_train`` against
    ``share_reference`` shows which groups the training rows under-cover.
    """
    groups = list(analysis.schema.groups)
    truth, predicted = analysis.data[analysis.schema.target].to_numpy(), \
        analysis.predictions.predicted
    if not analysis.schema.is_classification:  # regression: an error is a worst-fifth loss
        truth, predicted = analysis.predictions.is_error.astype(int), np.zeros(len(truth), int)
    if reference is None and analysis.pool is not None and \
            all(c in analysis.pool.columns for c in groups):
        reference = analysis.pool
    metrics = group_metrics(truth, predicted, analysis.data, groups, reference=reference)
    gaps = [gap for gap in (largest_gap(metrics, c) for c in groups) if gap is not None]
    return GroupReport(metrics=metrics, overlap=region_overlap(analysis), gaps=gaps)
