"""The order-statistics confidence interval the persistence benchmark prints for its cost."""
from __future__ import annotations

import random
import statistics

import pytest

from benchmarks._median_interval import coverage, median_interval


@pytest.mark.parametrize(("n", "low", "high"), [(9, 2, 8), (25, 8, 18), (36, 12, 25)])
def test_the_interval_is_the_textbook_pair_of_order_statistics(n, low, high):
    values = list(range(n, 0, -1))  # unordered on purpose
    assert median_interval(values) == (low, high)


def test_too_few_values_give_their_whole_range():
    assert coverage(5, 1) < 0.95
    assert median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) == (1.0, 5.0)


def test_coverage_is_the_binomial_probability():
    assert coverage(25, 8) == pytest.approx(0.9567, abs=1e-4)
    assert coverage(25, 9) < 0.95 < coverage(25, 8)


def test_the_interval_holds_the_true_median_as_often_as_promised():
    rng = random.Random(20261127)
    true_median = statistics.median(rng.lognormvariate(0.0, 0.5) for _ in range(200_001))
    trials = 2000
    held = 0
    for _ in range(trials):
        low, high = median_interval([rng.lognormvariate(0.0, 0.5) for _ in range(25)])
        held += low <= true_median <= high
    assert held / trials >= 0.94


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5])
def test_a_confidence_outside_zero_to_one_is_refused(confidence):
    with pytest.raises(ValueError, match="confidence"):
        median_interval([1.0, 2.0, 3.0], confidence)


def test_no_values_are_refused():
    with pytest.raises(ValueError, match="at least one value"):
        median_interval([])
