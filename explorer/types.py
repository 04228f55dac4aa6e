"""The plain dataclasses that pass between pipeline stages.

They live in one module so a stage can produce one without importing the stage that reads it.
Arrays hold one entry per row of the analysed table, in its order (0-based positions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .rules import Condition, Rule

__all__ = ["Predictions", "DataMap", "Contrast", "GroupShare", "Region"]


@dataclass(frozen=True)
class Predictions:
    """What the model said about each row, and how wrong it was.

    ``error`` is the per-row loss (0/1 for classification, absolute error for regression);
    ``is_error`` is what the region search counts: a wrong label, or for regression a loss in
    the worst quintile of all rows. ``source`` says whether predictions were given or made
    out-of-fold by the baseline model.
    """

    predicted: np.ndarray
    error: np.ndarray
    is_error: np.ndarray
    probabilities: np.ndarray | None
    classes: tuple
    source: str
    score: float
    score_name: str


@dataclass(frozen=True)
class DataMap:
    """The model's view of each row (``model_space``) and its 2-D UMAP picture (``coords``)."""

    coords: np.ndarray
    model_space: np.ndarray
    n_fitted: int
    from_cache: bool
    params: dict = field(default_factory=dict)
    encoder: object = None
    """The fitted ``embed.ModelSpace``: places pool rows in the same space."""
    fitted_rows: np.ndarray | None = None
    """The rows UMAP was fitted on (None: all); new rows are placed against these alone."""
    input_width: int | None = None
    """Columns of ``model_space`` that encode the inputs (the rest are the prediction block);
    None: read from the fitted ``encoder``, or (a hand-built map) all columns."""


@dataclass(frozen=True)
class Contrast:
    """One way a region differs from the rest: a feature, how, and a readable sentence."""

    feature: str
    effect: float
    text: str


@dataclass(frozen=True)
class GroupShare:
    """A group value's share of the region against its share of all rows."""

    column: str
    value: str
    share_in_region: float
    share_overall: float
    error_rate_in_region: float


@dataclass(frozen=True)
class Region:
    """A place in input space where the model errs more than it does overall.

    ``error_rate`` is over all member rows; ``heldout_error_rate``, ``heldout_size`` and
    ``p_value`` come only from rows that played no part in finding the region, so they are
    honest: the confirmation half, or all its rows for a region that no error chose (a
    cluster of where rows lie). ``p_value`` is Benjamini-Hochberg adjusted across candidate
    regions (weighted: all clusters together count as one candidate).
    ``excess_errors`` (the ranking key) is the region's size times its held-out excess rate:
    how many errors the model would stop making if the region erred like the rest.
    ``rule_conditions`` is the describing rule as data (empty: no simple rule fits);
    ``rule`` is its text.

    Frozen: each stage (describe, suggest) returns new regions made with
    ``dataclasses.replace``, so a region an analysis holds never changes under a reader
    (the app shares one cached analysis between pages and budgets).
    """

    id: int
    rows: np.ndarray
    size: int
    error_rate: float
    baseline_error_rate: float
    lift: float
    p_value: float
    heldout_error_rate: float
    heldout_size: int
    heldout_interval: tuple[float, float]
    compactness: float
    excess_errors: float
    found_by: str = ""
    kind: str = "error"
    """``"error"``: the model errs here (tested on held-out rows); ``"coverage"``: new data
    (the pool) is dense here and training thin (tested on held-out pool and training rows),
    whatever the few training rows show."""
    pool_share: float | None = None
    training_share: float | None = None
    """A coverage region's share of the pool and of the training rows."""
    parent: int | None = None
    """The id of the region this one is a hotter part of (tested against the rest of it)."""
    description: str = ""
    rule_conditions: tuple[Condition, ...] = ()
    rule_precision: float | None = None
    rule_coverage: float | None = None
    contrasts: list[Contrast] = field(default_factory=list)
    group_shares: list[GroupShare] = field(default_factory=list)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    words: tuple[str, ...] = ()
    """For a text column: the words the region's texts use more than the rest."""
    examples: list[int] = field(default_factory=list)
    diagnosis: str | None = None
    suggested_rows: int | None = None
    evidence: str | None = None

    @property
    def rule(self) -> str | None:
        """The readable rule, e.g. ``age > 61.5 and region = north``; None without one."""
        return Rule(self.rule_conditions).text if self.rule_conditions else None
