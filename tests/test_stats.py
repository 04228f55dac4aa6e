"""The shared statistics, each checked against SciPy's own or a published reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from explorer.stats import binomial_tail, fisher_greater, jaccard, newcombe_interval, paired_comparison, \
    paired_losses, weighted_benjamini_hochberg, wilson_interval


@given(st.integers(0, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=60, deadline=None)
def test_wilson_interval_matches_scipy(counts, level):
    errors, total = counts
    if total == 0:
        assert wilson_interval(errors, total, level) == (0.0, 1.0)
        return
    expected = binomtest(errors, total).proportion_ci(confidence_level=level, method="wilson")
    assert wilson_interval(errors, total, level) == pytest.approx(
        (expected.low, expected.high), abs=1e-12)


def test_fisher_greater_is_scipys_one_sided_exact_test_and_one_when_a_side_is_empty():
    from scipy.stats import fisher_exact

    for counts in [(30, 100, 10, 100), (5, 20, 1, 15), (0, 10, 3, 10), (7, 7, 0, 3)]:
        table = [[counts[0], counts[1] - counts[0]], [counts[2], counts[3] - counts[2]]]
        assert fisher_greater(*counts) == pytest.approx(
            fisher_exact(table, alternative="greater")[1], rel=1e-12)
    assert fisher_greater(30, 100, 10, 100) < 0.001 < 0.5 < fisher_greater(10, 100, 30, 100)
    assert fisher_greater(3, 10, 0, 0) == fisher_greater(0, 0, 3, 10) == 1.0


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_weighted_benjamini_hochberg_with_equal_weights_is_scipys(p_values):
    from scipy.stats import false_discovery_control

    weights = np.full(len(p_values), 3.0)
    assert weighted_benjamini_hochberg(p_values, weights) == pytest.approx(
        false_discovery_control(p_values, method="bh"), abs=1e-12)


@pytest.mark.parametrize("sharing", [8, 30])
def test_a_family_sharing_one_weight_counts_as_one_test(sharing):
    """Two hypotheses with a weight each and a family sharing one weight between them: the
    two are adjusted as in plain BH over three tests, the family's best p-value counted
    ``sharing`` times (Bonferroni within it), however large the family."""
    from scipy.stats import false_discovery_control

    p_values = np.array([0.01, 0.02, *[0.5] * (sharing - 1), 0.001])
    weights = np.array([1.0, 1.0, *[1 / sharing] * sharing])
    adjusted = weighted_benjamini_hochberg(p_values, weights)
    as_three = false_discovery_control([0.01, 0.02, 0.001 * sharing], method="bh")
    assert adjusted[[0, 1, -1]] == pytest.approx(as_three)
    assert weighted_benjamini_hochberg([], []).size == 0


def test_binomial_tail_is_scipys_one_sided_test():
    for errors, total, rate in [(7, 20, 0.1), (0, 5, 0.3), (50, 50, 0.9), (13, 100, 0.12)]:
        expected = binomtest(errors, total, rate, alternative="greater").pvalue
        assert binomial_tail(errors, total, rate) == pytest.approx(expected, rel=1e-12)
    assert binomial_tail(np.array([1, 2]), np.array([4, 4]), 0.5).shape == (2,)


@pytest.mark.parametrize("counts, expected", [
    # Newcombe (1998), Statistics in Medicine 17:873, example (a), method 10; the same
    # figures from statsmodels' confint_proportions_2indep(method="newcomb").
    ((56, 70, 48, 80), (0.0524315, 0.3338727)),
    ((9, 10, 3, 10), (0.1705227, 0.8090180)),
    ((0, 10, 0, 20), (-0.1611252, 0.2775328)),
])
def test_newcombe_interval_matches_the_published_method(counts, expected):
    assert newcombe_interval(*counts) == pytest.approx(expected, abs=1e-6)


def test_paired_comparison_counts_the_discordant_rows_and_runs_an_exact_mcnemar_test():
    rng = np.random.default_rng(0)
    first = rng.random(500) < 0.3
    second = np.where(rng.random(500) < 0.15, ~first, first)  # flip 15% of the rows
    result = paired_comparison(first, second)
    b, c = int((first & ~second).sum()), int((~first & second).sum())
    assert (result.only_first_wrong, result.only_second_wrong) == (b, c)
    assert result.p_value == pytest.approx(binomtest(b, b + c, 0.5).pvalue)
    assert result.difference == pytest.approx(first.mean() - second.mean())
    assert result.interval[0] <= result.difference <= result.interval[1]
    assert result.rows == 500 and result.discordant == b + c
    assert "McNemar" in result.summary()


def test_paired_interval_is_narrower_than_the_independent_one_when_models_agree():
    rng = np.random.default_rng(1)
    first = rng.random(400) < 0.25
    second = first.copy()
    second[np.flatnonzero(first)[:20]] = False  # the second model fixes 20 rows, breaks none
    paired = paired_comparison(first, second)
    independent = newcombe_interval(int(first.sum()), 400, int(second.sum()), 400)
    assert paired.interval[1] - paired.interval[0] < independent[1] - independent[0]
    assert paired.interval[0] > 0 and paired.p_value < 1e-5  # 20 to 0 discordant rows


def test_paired_comparison_with_no_discordant_rows_has_p_value_one():
    same = np.array([1, 0, 1, 0], dtype=bool)
    result = paired_comparison(same, same)
    assert result.p_value == 1.0 and result.difference == 0.0
    with pytest.raises(ValueError, match="same rows"):
        paired_comparison(same, same[:3])


def test_jaccard_of_masks_and_of_row_positions_agree():
    a, b = np.array([0, 1, 2, 3]), np.array([2, 3, 4])
    mask_a, mask_b = np.isin(np.arange(6), a), np.isin(np.arange(6), b)
    assert jaccard(a, b) == jaccard(mask_a, mask_b) == pytest.approx(2 / 5)
    assert jaccard(np.array([], dtype=int), np.array([], dtype=int)) == 0.0


def test_paired_losses_is_a_sign_test_with_a_t_interval_and_mcnemar_for_zero_one():
    from scipy.stats import ttest_rel

    rng = np.random.default_rng(2)
    first = rng.exponential(1.0, 300)
    second = first * rng.uniform(0.6, 1.1, 300)
    result = paired_losses(first, second)
    higher_first = int((first > second).sum())
    assert result.only_first_wrong == higher_first
    assert result.p_value == pytest.approx(binomtest(higher_first, 300).pvalue)
    expected = ttest_rel(first, second).confidence_interval(0.95)
    assert result.interval == pytest.approx((expected.low, expected.high))
    zero_one = (rng.random(50) < 0.3).astype(float), (rng.random(50) < 0.3).astype(float)
    assert paired_losses(*zero_one) == paired_comparison(*zero_one)
