"""The statistics every stage shares: intervals, tests and overlaps, in one place.

Each function is tested against SciPy's own where SciPy has one (``tests/test_stats.py``).
Rates here are error rates of 0/1 outcomes; counts are plain integers.

- :func:`wilson_interval`: a proportion (a region's or a group's error rate).
- :func:`binomial_tail`: one-sided test that a count of errors is above a baseline rate
  (how a region is confirmed on held-out rows).
- :func:`weighted_benjamini_hochberg`: the false discovery rate over many tests, with prior
  weights (a family of many unlikely candidates shares one candidate's alpha).
- :func:`fisher_greater`: one-sided test that one proportion is above another, both
  counted (a part of a region hotter than the rest of it).
- :func:`newcombe_interval`: the difference of two *independent* proportions (a gap between
  two groups).
- :func:`paired_comparison`: two models scored on the *same* rows; an exact McNemar test
  on the rows where they disagree and Newcombe's interval for the paired difference. Two
  intervals side by side ignore that both models met the same hard rows; the pairs do not.
- :func:`paired_losses`: the same for per-row losses (regression): an exact sign test on
  the rows whose loss changed, and a t interval on the mean paired difference.
- :func:`jaccard`: the overlap of two sets of rows.
- :func:`log_odds_z`: which words one set of texts uses more than another (log-odds ratio
  with an informative Dirichlet prior, Monroe, Colaresi & Quinn 2008), as z-scores.

Examples
--------
>>> import numpy as np
>>> result = paired_comparison(np.array([1, 1, 0, 0, 1]), np.array([0, 0, 0, 0, 1]))
>>> result.only_first_wrong, result.only_second_wrong, round(result.difference, 2)
(2, 0, 0.4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, binomtest, fisher_exact, norm
from scipy.stats import t as t_distribution

__all__ = ["wilson_interval", "binomial_tail", "fisher_greater", "newcombe_interval", "PairedComparison",
           "paired_comparison", "paired_losses", "jaccard", "log_odds_z"]


def wilson_interval(errors: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; well-behaved for small counts and rates near 0.

    ``(0, 1)`` when ``total`` is 0: nothing is known.
    """
    if total == 0:
        return (0.0, 1.0)
    z = norm.ppf(0.5 + level / 2)
    rate = errors / total
    centre = (rate + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) \
        / (1 + z * z / total)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def binomial_tail(errors, total, rate):
    """P(X >= errors) for X ~ Binomial(total, rate): the one-sided p-value that ``errors``
    out of ``total`` is more than ``rate`` explains. Works elementwise on arrays."""
    return binom.sf(np.asarray(errors) - 1, total, rate)


def weighted_benjamini_hochberg(p_values, weights) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values with prior weights (Genovese, Roeder & Wasserman
    2006): each p-value is divided by its weight, the weights scaled to average 1, so the
    false discovery rate stays controlled while many unlikely hypotheses share the alpha of
    a few. Equal weights give SciPy's ``false_discovery_control(method="bh")``."""
    p_values = np.asarray(p_values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if p_values.size == 0:
        return p_values
    scaled = np.minimum(p_values / (weights * len(weights) / weights.sum()), 1.0)
    order = np.argsort(scaled, kind="stable")
    stepped = scaled[order] * len(scaled) / np.arange(1, len(scaled) + 1)
    adjusted = np.empty_like(scaled)
    adjusted[order] = np.minimum(np.minimum.accumulate(stepped[::-1])[::-1], 1.0)
    return adjusted


def fisher_greater(errors_a: int, total_a: int, errors_b: int, total_b: int) -> float:
    """One-sided p-value that the rate of ``a`` is above that of ``b`` (Fisher's exact test
    of two independent proportions): both counts uncertain, so a small ``b`` whose rate is
    low by chance does not make ``a`` look higher. 1 when either is empty."""
    if total_a == 0 or total_b == 0:
        return 1.0
    table = [[errors_a, total_a - errors_a], [errors_b, total_b - errors_b]]
    return float(fisher_exact(table, alternative="greater")[1])


def newcombe_interval(errors_a: int, total_a: int, errors_b: int, total_b: int,
                      level: float = 0.95, *, correlation: float = 0.0
                      ) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``rate_a - rate_b``, from two Wilson intervals.

    With ``correlation`` 0 it is the interval for independent samples (Newcombe 1998, method
    10); :func:`paired_comparison` passes the phi coefficient of paired outcomes (Newcombe's
    method for paired proportions), which narrows the interval when the two agree often.
    """
    rate_a = errors_a / total_a if total_a else 0.0
    rate_b = errors_b / total_b if total_b else 0.0
    low_a, high_a = wilson_interval(errors_a, total_a, level)
    low_b, high_b = wilson_interval(errors_b, total_b, level)
    difference = rate_a - rate_b
    below = (rate_a - low_a) ** 2 + (high_b - rate_b) ** 2 \
        - 2 * correlation * (rate_a - low_a) * (high_b - rate_b)
    above = (high_a - rate_a) ** 2 + (rate_b - low_b) ** 2 \
        - 2 * correlation * (high_a - rate_a) * (rate_b - low_b)
    return (float(max(-1.0, difference - np.sqrt(max(below, 0.0)))),
            float(min(1.0, difference + np.sqrt(max(above, 0.0)))))


@dataclass(frozen=True)
class PairedComparison:
    """Two models' errors on the same rows.

    ``difference`` is ``error_rate_first - error_rate_second`` (positive: the second model
    errs less). For 0/1 errors (:func:`paired_comparison`) the rates are error rates,
    ``only_first_wrong`` counts the rows only the first model got wrong, the interval is
    Newcombe's 95% interval for paired proportions and ``p_value`` the exact two-sided
    McNemar test: under "neither model is better", each row where exactly one of them errs
    is equally likely to be either's, so ``only_first_wrong`` is Binomial(discordant, 1/2).
    For losses (:func:`paired_losses`) the rates are mean losses, ``only_first_wrong``
    counts the rows where the first model's loss is the higher, the interval is a t interval
    and the test the exact sign test.
    """

    rows: int
    error_rate_first: float
    error_rate_second: float
    only_first_wrong: int
    only_second_wrong: int
    difference: float
    interval: tuple[float, float]
    p_value: float

    @property
    def discordant(self) -> int:
        """Rows where exactly one of the two models errs: the only rows the test reads."""
        return self.only_first_wrong + self.only_second_wrong

    def summary(self, first: str = "before", second: str = "after") -> str:
        """One sentence: the paired difference, its interval and the McNemar p-value."""
        return (f"{first} {self.error_rate_first:.1%} vs {second} {self.error_rate_second:.1%}"
                f" on the same {self.rows:,} rows: {100 * self.difference:+.1f} points "
                f"[{100 * self.interval[0]:+.1f}, {100 * self.interval[1]:+.1f}]; "
                f"{self.only_first_wrong} rows wrong only {first}, {self.only_second_wrong} "
                f"only {second} (exact McNemar p = {self.p_value:.3g})")


def paired_comparison(wrong_first, wrong_second, level: float = 0.95) -> PairedComparison:
    """Compare two models' 0/1 errors on the same rows, as pairs.

    Parameters
    ----------
    wrong_first, wrong_second : array of shape (n_rows,)
        1 (or True) where each model is wrong, row by row in the same order.
    """
    first = np.asarray(wrong_first, dtype=bool)
    second = np.asarray(wrong_second, dtype=bool)
    if first.shape != second.shape or first.ndim != 1:
        raise ValueError(f"paired_comparison needs two 1-D arrays of the same rows; got "
                         f"shapes {first.shape} and {second.shape}.")
    n = first.size
    only_first = int(np.count_nonzero(first & ~second))
    only_second = int(np.count_nonzero(~first & second))
    discordant = only_first + only_second
    p_value = binomtest(only_first, discordant).pvalue if discordant else 1.0
    if n == 0:
        return PairedComparison(0, float("nan"), float("nan"), 0, 0, 0.0, (-1.0, 1.0), 1.0)
    both = int(np.count_nonzero(first & second))
    neither = n - both - discordant
    margins = (both + only_first) * (only_second + neither) * (both + only_second) \
        * (only_first + neither)
    # phi of the 2x2 table (0 when a margin is empty, as Newcombe sets it)
    phi = (both * neither - only_first * only_second) / np.sqrt(margins) if margins else 0.0
    errors_first, errors_second = both + only_first, both + only_second
    return PairedComparison(
        rows=n, error_rate_first=errors_first / n, error_rate_second=errors_second / n,
        only_first_wrong=only_first, only_second_wrong=only_second,
        difference=(errors_first - errors_second) / n,
        interval=newcombe_interval(errors_first, n, errors_second, n, level,
                                   correlation=float(phi)),
        p_value=float(p_value))


def paired_losses(loss_first, loss_second, level: float = 0.95) -> PairedComparison:
    """Compare two models' per-row losses on the same rows (e.g. absolute errors).

    The test is the exact sign test on the rows whose loss changed (McNemar's test is its
    0/1 case); the interval is the t interval of the mean paired difference.
    """
    first = np.asarray(loss_first, dtype=float)
    second = np.asarray(loss_second, dtype=float)
    if first.shape != second.shape or first.ndim != 1:
        raise ValueError(f"paired_losses needs two 1-D arrays of the same rows; got shapes "
                         f"{first.shape} and {second.shape}.")
    if np.isin(first, (0.0, 1.0)).all() and np.isin(second, (0.0, 1.0)).all():
        return paired_comparison(first, second, level)
    n = first.size
    higher_first = int(np.count_nonzero(first > second))
    higher_second = int(np.count_nonzero(second > first))
    changed = higher_first + higher_second
    differences = first - second
    difference = float(differences.mean()) if n else 0.0
    half = float(t_distribution.ppf(0.5 + level / 2, n - 1) * differences.std(ddof=1)
                 / np.sqrt(n)) if n > 1 else np.inf
    return PairedComparison(
        rows=n, error_rate_first=float(first.mean()) if n else float("nan"),
        error_rate_second=float(second.mean()) if n else float("nan"),
        only_first_wrong=higher_first, only_second_wrong=higher_second,
        difference=difference, interval=(difference - half, difference + half),
        p_value=float(binomtest(higher_first, changed).pvalue) if changed else 1.0)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two row sets, given as boolean masks or as row positions."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == bool and b.dtype == bool:
        union = np.count_nonzero(a | b)
        return np.count_nonzero(a & b) / union if union else 0.0
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 0.0


def log_odds_z(counts_in: np.ndarray, counts_out: np.ndarray, prior_strength: float = 500.0
               ) -> np.ndarray:
    """z-scores of each word's log-odds in one set of texts against another.

    "Fightin' words" (Monroe, Colaresi & Quinn, Political Analysis 16, 2008): the difference
    of log-odds with a Dirichlet prior proportional to the words' counts over both sets,
    divided by its approximate standard deviation. A frequency ratio ranks rare words first
    (one text with a typo); the prior shrinks them, so the words that lead are the ones both
    frequent and lopsided.

    Parameters
    ----------
    counts_in, counts_out : array of shape (n_words,)
        How often each word occurs in the two sets.
    prior_strength : float, default 500
        Total pseudo-count of the prior, spread over the words by their overall share: a few
        hundred shrinks words seen a handful of times while leaving common ones alone.
    """
    counts_in = np.asarray(counts_in, dtype=float)
    counts_out = np.asarray(counts_out, dtype=float)
    both = counts_in + counts_out
    prior = prior_strength * both / max(both.sum(), 1.0)
    prior = np.where(prior > 0, prior, 1e-9)

    def log_odds(counts: np.ndarray) -> np.ndarray:
        total = counts.sum() + prior_strength
        return np.log(counts + prior) - np.log(np.maximum(total - counts - prior, 1e-9))

    variance = 1.0 / (counts_in + prior) + 1.0 / (counts_out + prior)
    return (log_odds(counts_in) - log_odds(counts_out)) / np.sqrt(variance)
