"""A distribution-free confidence interval for a median (benchmark figures on a noisy VM).

Pair ratios of a benchmark are not normally distributed (a slow spell of the host gives
outliers on either side), so the interval rests only on order statistics: the true
median lies between the k-th smallest and the k-th largest of n independent samples
with probability 1 - 2 * P(Binomial(n, 1/2) <= k - 1).
"""
from __future__ import annotations

import math
from collections.abc import Sequence


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Return (low, high): the narrowest pair of order statistics of ``values`` that holds
    their population's median with at least ``confidence``; (min, max) when even that pair
    holds it with less (too few values)."""
    if not values:
        raise ValueError("median_interval needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie between 0 and 1, not {confidence}")
    ordered = sorted(values)
    n = len(ordered)
    k = 1
    while k + 1 <= n - k and coverage(n, k + 1) >= confidence:
        k += 1
    return ordered[k - 1], ordered[n - k]


def coverage(n: int, k: int) -> float:
    """Return the probability that the k-th smallest and the k-th largest of ``n``
    independent samples enclose their population's median."""
    return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
