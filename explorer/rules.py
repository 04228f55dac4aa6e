"""Readable rules on the original columns: ``age > 61 and region = north``.

Two stages need them: the region search proposes candidate regions from the leaves of a
shallow tree that predicts errors, and the describer explains a found region with a shallow
tree that predicts membership. Both read the same encoding of the columns, defined here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from .data import Schema

__all__ = ["RuleFeatures", "Rule", "node_rules", "node_members", "best_rule"]

MAX_CATEGORIES = 20
CATEGORY_SEPARATOR = " = "


@dataclass(frozen=True)
class RuleFeatures:
    """The columns as a numeric matrix a tree can split, with a readable name per column.

    Numeric columns keep their units (a threshold ``age > 61`` reads as years); missing values
    become the median. Categorical columns become one indicator per frequent value, named
    ``"region = north"``, so a split reads as ``region = north`` or ``region != north``.
    """

    matrix: np.ndarray
    names: tuple[str, ...]
    two_valued: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Categorical columns with exactly two values, so ``!= a`` can read as ``= b``."""

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, schema: Schema) -> "RuleFeatures":
        blocks, names, two_valued = [], [], {}
        for column in schema.numeric:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            missing = np.isnan(values)
            if missing.any():
                values = np.where(missing, np.nanmedian(values) if (~missing).any() else 0.0,
                                  values)
            blocks.append(values[:, None])
            names.append(column)
        for column in schema.categorical:
            text = frame[column].astype("string").fillna("(missing)")
            values = text.value_counts().index
            if len(values) == 2:
                two_valued[column] = (str(values[0]), str(values[1]))
            for value in values[:MAX_CATEGORIES]:
                blocks.append((text == value).to_numpy(dtype=float)[:, None])
                names.append(f"{column}{CATEGORY_SEPARATOR}{value}")
        matrix = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
        return cls(matrix=matrix, names=tuple(names), two_valued=two_valued)


@dataclass(frozen=True)
class Rule:
    """A conjunction of conditions, the rows it selects, and how well it fits a target set."""

    text: str
    selected: np.ndarray
    precision: float
    coverage: float


def _format_threshold(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _condition_text(name: str, goes_right: bool, threshold: float,
                    two_valued: dict[str, tuple[str, str]]) -> tuple[str, str, float]:
    """Return (feature, operator, threshold) for one split, categorical splits as =/!=."""
    if CATEGORY_SEPARATOR in name and 0 < threshold < 1:
        column, value = name.split(CATEGORY_SEPARATOR, 1)
        if not goes_right and column in two_valued:
            first, second = two_valued[column]
            return column, "=" + (second if value == first else first), np.nan
        return column, ("=" if goes_right else "!=") + value, np.nan
    return name, ">" if goes_right else "<=", threshold


def _simplify(conditions: list[tuple[str, str, float]]) -> str:
    """Merge repeated bounds on a feature (keep the tightest) and join with ``and``."""
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    categorical: list[str] = []
    for feature, operator, threshold in conditions:
        if operator == ">":
            lower[feature] = max(lower.get(feature, -np.inf), threshold)
        elif operator == "<=":
            upper[feature] = min(upper.get(feature, np.inf), threshold)
        else:
            equal = operator.startswith("=")
            text = f"{feature} {'=' if equal else '!='} {operator[1 if equal else 2:]}"
            if text not in categorical:
                categorical.append(text)
    has_equal = {t.split(" = ")[0] for t in categorical if " = " in t}
    categorical = [t for t in categorical if " != " not in t or t.split(" != ")[0] not in has_equal]
    parts = list(categorical)
    for feature in dict.fromkeys([f for f, *_ in conditions]):
        low, high = lower.get(feature), upper.get(feature)
        if low is not None and high is not None:
            parts.append(f"{_format_threshold(low)} < {feature} <= {_format_threshold(high)}")
        elif low is not None:
            parts.append(f"{feature} > {_format_threshold(low)}")
        elif high is not None:
            parts.append(f"{feature} <= {_format_threshold(high)}")
    return " and ".join(parts)


def node_rules(tree: DecisionTreeClassifier, features: RuleFeatures) -> dict[int, str]:
    """Map every node of a fitted tree but the root to the readable rule of its path.

    Inner nodes count too: when a tree splits a rare category further, the node for the
    category itself is often the region, and its rule is the shortest.
    """
    structure = tree.tree_
    rules: dict[int, str] = {}
    stack: list[tuple[int, list]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if node:
            rules[node] = _simplify(path)
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            continue
        name = features.names[structure.feature[node]]
        threshold = float(structure.threshold[node])
        stack.append((left, path + [_condition_text(name, False, threshold,
                                                    features.two_valued)]))
        stack.append((right, path + [_condition_text(name, True, threshold,
                                                     features.two_valued)]))
    return rules


def node_members(tree: DecisionTreeClassifier, matrix: np.ndarray) -> np.ndarray:
    """A dense (rows x nodes) boolean matrix: which rows pass through which node."""
    return tree.decision_path(matrix).toarray().astype(bool)


def best_rule(features: RuleFeatures, members: np.ndarray, *, max_depth: int = 3,
              seed: int = 0) -> Rule | None:
    """The node rule of a shallow tree that best matches ``members`` (by F1), if any.

    Returns None when the table has no rule features. Precision is the share of selected
    rows that are members; coverage the share of members the rule selects.
    """
    if features.matrix.shape[1] == 0 or members.sum() == 0:
        return None
    min_leaf = max(5, int(0.2 * members.sum()))
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_leaf,
                                  class_weight="balanced", random_state=seed)
    tree.fit(features.matrix, members)
    passes = node_members(tree, features.matrix)
    best: Rule | None = None
    for node, text in node_rules(tree, features).items():
        selected = passes[:, node]
        hits = np.count_nonzero(selected & members)
        if hits == 0:
            continue
        precision = hits / np.count_nonzero(selected)
        coverage = hits / np.count_nonzero(members)
        f1 = 2 * precision * coverage / (precision + coverage)
        if best is None or f1 > 2 * best.precision * best.coverage / (best.precision + best.coverage):
            best = Rule(text=text, selected=selected, precision=float(precision),
                        coverage=float(coverage))
    return best
