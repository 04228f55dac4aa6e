"""Readable rules on the original columns: ``age > 61 and region = north``.

Two stages need them: the region search proposes candidate regions from the leaves of a
shallow tree that predicts errors, and the describer explains a found region with a shallow
tree that predicts membership. Both read the same encoding of the columns, defined here once.

A rule is data, a :class:`Rule` of :class:`Condition` s: its text is written from them and
its rows are selected from them, so a rule read back from a file (the loop measures the
regions of earlier iterations again) selects what its text says. :meth:`Rule.parse` reads
the text of files written before the conditions were stored.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from .data import Schema

__all__ = ["RuleFeatures", "Condition", "Rule", "RuleFit", "node_rules", "node_members",
           "best_rule"]

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
            blocks.append(_median_filled(frame[column])[:, None])
            names.append(column)
        for column in schema.categorical:
            text = frame[column].astype("string").fillna(MISSING_CATEGORY)
            values = text.value_counts().index
            if len(values) == 2:
                two_valued[column] = (str(values[0]), str(values[1]))
            for value in values[:MAX_CATEGORIES]:
                blocks.append((text == value).to_numpy(dtype=float)[:, None])
                names.append(f"{column}{CATEGORY_SEPARATOR}{value}")
        matrix = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
        return cls(matrix=matrix, names=tuple(names), two_valued=two_valued)


NUMERIC_OPERATORS = (">", "<=")
CATEGORY_OPERATORS = ("=", "!=")
"""The grammar's operators: a tree's split on a number is ``<=`` (left) or ``>`` (right); a
split on a category indicator reads as ``=`` or ``!=``."""
MISSING_CATEGORY = "(missing)"
"""What a missing category reads as, in rule features and in rule text alike."""


@dataclass(frozen=True)
class Condition:
    """One test on one original column: ``age > 61.5`` or ``region != north``.

    ``operator`` is ``>`` or ``<=`` with a number ``value`` (the tree's exact threshold),
    or ``=`` or ``!=`` with a category ``value``.
    """

    column: str
    operator: str
    value: float | str


@dataclass(frozen=True)
class Rule:
    """A conjunction of conditions, kept as data; its text is only ever written from them.

    ``conditions`` are in reading order: category tests first, then at most one lower and
    one upper bound per numeric column, lower first (``20 < score <= 40`` is two conditions).
    """

    conditions: tuple[Condition, ...]

    @property
    def text(self) -> str:
        """The rule as a person reads it, e.g. ``region = north and age > 61.5``."""
        parts: list[str] = []
        conditions = list(self.conditions)
        while conditions:
            first = conditions.pop(0)
            if first.operator in CATEGORY_OPERATORS:
                parts.append(f"{first.column} {first.operator} {first.value}")
            elif (first.operator == ">" and conditions and conditions[0].operator == "<="
                  and conditions[0].column == first.column):
                upper = conditions.pop(0)
                parts.append(f"{_format_threshold(first.value)} < {first.column} <= "
                             f"{_format_threshold(upper.value)}")
            else:
                parts.append(f"{first.column} {first.operator} {_format_threshold(first.value)}")
        return " and ".join(parts)

    def mask(self, frame: pd.DataFrame, fill: dict[str, float] | None = None
             ) -> np.ndarray | None:
        """The rows of ``frame`` the rule selects, or None when a column is missing.

        Missing numbers read as the column's median and missing categories as
        ``(missing)``, as :class:`RuleFeatures` encodes them for the tree that wrote the rule.
        ``fill`` gives the numbers missing values read as instead (:meth:`fill_values` of
        other rows), so a row's answer does not depend on the rows masked with it.
        """
        if any(c.column not in frame.columns for c in self.conditions):
            return None
        selected = np.ones(len(frame), dtype=bool)
        for condition in self.conditions:
            values = frame[condition.column]
            if condition.operator in CATEGORY_OPERATORS:
                text = values.astype("string").fillna(MISSING_CATEGORY).to_numpy()
                equal = text == condition.value
                selected &= equal if condition.operator == "=" else ~equal
                continue
            numbers = _median_filled(values, None if fill is None else fill[condition.column])
            selected &= (numbers > condition.value if condition.operator == ">"
                         else numbers <= condition.value)
        return selected

    def fill_values(self, frame: pd.DataFrame) -> dict[str, float]:
        """What a missing number of each of the rule's numeric columns reads as in
        :meth:`mask`: the median of ``frame``'s column."""
        return {c.column: _median(_numbers(frame[c.column])) for c in self.conditions
                if c.operator in NUMERIC_OPERATORS}

    def to_json(self) -> list[dict]:
        """The conditions as plain ``{"column", "operator", "value"}`` objects."""
        return [dataclasses.asdict(c) for c in self.conditions]

    @classmethod
    def from_json(cls, items: list[dict]) -> "Rule":
        return cls(tuple(Condition(item["column"], item["operator"],
                                   float(item["value"]) if item["operator"] in
                                   NUMERIC_OPERATORS else str(item["value"]))
                         for item in items))

    @classmethod
    def parse(cls, text: str) -> "Rule | None":
        """Read back a rule's text (files written before the conditions were stored).

        Numbers come back as written (three significant digits), not as the tree's exact
        thresholds. Returns None when the text is not in the grammar :attr:`text` writes.
        """
        conditions: list[Condition] = []
        for part in text.split(" and "):
            between = re.fullmatch(r"(\S+) < (.+) <= (\S+)", part)
            single = re.fullmatch(r"(.+?) (<=|>|!=|=) (.*)", part)
            try:
                if between:
                    low, column, high = between.groups()
                    conditions += [Condition(column, ">", _read_threshold(low)),
                                   Condition(column, "<=", _read_threshold(high))]
                elif single:
                    column, operator, value = single.groups()
                    conditions.append(Condition(column, operator, _read_threshold(value)
                                                if operator in NUMERIC_OPERATORS else value))
                else:
                    return None
            except ValueError:
                return None
        return cls(tuple(conditions))


@dataclass(frozen=True)
class RuleFit:
    """A rule, the rows it selects, and how well it fits a target set of rows."""

    rule: Rule
    selected: np.ndarray
    precision: float
    coverage: float


def _format_threshold(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _read_threshold(text: str) -> float:
    return float(text.replace(",", ""))


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as floats; missing values and non-numbers as NaN."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _median(numbers: np.ndarray) -> float:
    """The median of the numbers that are there (0 when none is)."""
    present = ~np.isnan(numbers)
    return float(np.median(numbers[present])) if present.any() else 0.0


def _median_filled(values: pd.Series, fill: float | None = None) -> np.ndarray:
    """A column as numbers, missing ones (and non-numbers) as ``fill``, by default the
    median of the rest."""
    numbers = _numbers(values)
    missing = np.isnan(numbers)
    if missing.any():
        numbers = np.where(missing, _median(numbers) if fill is None else fill, numbers)
    return numbers


def _condition(name: str, goes_right: bool, threshold: float,
               two_valued: dict[str, tuple[str, str]]) -> Condition:
    """The condition of one split; a split on a category indicator reads as = or !=."""
    if CATEGORY_SEPARATOR in name and 0 < threshold < 1:
        column, value = name.split(CATEGORY_SEPARATOR, 1)
        if not goes_right and column in two_valued:
            first, second = two_valued[column]
            return Condition(column, "=", second if value == first else first)
        return Condition(column, "=" if goes_right else "!=", value)
    return Condition(name, ">" if goes_right else "<=", threshold)


def _simplify(path: list[Condition]) -> Rule:
    """Keep the tightest bound per numeric column and drop ``!=`` tests an ``=`` implies."""
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    categorical: list[Condition] = []
    for condition in path:
        if condition.operator == ">":
            lower[condition.column] = max(lower.get(condition.column, -np.inf), condition.value)
        elif condition.operator == "<=":
            upper[condition.column] = min(upper.get(condition.column, np.inf), condition.value)
        elif condition not in categorical:
            categorical.append(condition)
    has_equal = {c.column for c in categorical if c.operator == "="}
    kept = [c for c in categorical if c.operator == "=" or c.column not in has_equal]
    for column in dict.fromkeys(c.column for c in path):
        if column in lower:
            kept.append(Condition(column, ">", lower[column]))
        if column in upper:
            kept.append(Condition(column, "<=", upper[column]))
    return Rule(tuple(kept))


def node_rules(tree: DecisionTreeClassifier, features: RuleFeatures) -> dict[int, Rule]:
    """Map every node of a fitted tree but the root to the rule of its path.

    Inner nodes count too: when a tree splits a rare category further, the node for the
    category itself is often the region, and its rule is the shortest.
    """
    structure = tree.tree_
    rules: dict[int, Rule] = {}
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
        stack.append((left, path + [_condition(name, False, threshold, features.two_valued)]))
        stack.append((right, path + [_condition(name, True, threshold, features.two_valued)]))
    return rules


def node_members(tree: DecisionTreeClassifier, matrix: np.ndarray) -> np.ndarray:
    """A dense (rows x nodes) boolean matrix: which rows pass through which node."""
    return tree.decision_path(matrix).toarray().astype(bool)


def best_rule(features: RuleFeatures, members: np.ndarray, *, max_depth: int = 3,
              seed: int = 0) -> RuleFit | None:
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
    best: RuleFit | None = None
    for node, rule in node_rules(tree, features).items():
        selected = passes[:, node]
        hits = np.count_nonzero(selected & members)
        if hits == 0:
            continue
        precision = hits / np.count_nonzero(selected)
        coverage = hits / np.count_nonzero(members)
        f1 = 2 * precision * coverage / (precision + coverage)
        if best is None or f1 > 2 * best.precision * best.coverage / (best.precision + best.coverage):
            best = RuleFit(rule=rule, selected=selected, precision=float(precision),
                           coverage=float(coverage))
    return best
