"""Balanced partition boundaries from a key distribution, and how balanced a split is.

Equal-width ranges over skewed ids leave one task running long after the others (seed 000:
4 equal ranges, 12 h). Quantile boundaries give each partition nearly the same row count.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


def quantile_boundaries(sorted_keys: Sequence[int], partitions: int) -> list[int]:
    """Inner boundaries so each of ``partitions`` ranges holds ~len/partitions keys.

    Boundary i is the first key of the i-th quantile; duplicates collapse, so the result can
    be shorter when the key has fewer distinct values than partitions.
    """
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    n = len(sorted_keys)
    if n == 0 or partitions == 1:
        return []
    bounds: list[int] = []
    for i in range(1, partitions):
        key = sorted_keys[(i * n) // partitions]
        if (not bounds or key > bounds[-1]) and key > sorted_keys[0]:
            bounds.append(key)
    return bounds


def counts_per_range(sorted_keys: Sequence[int], boundaries: Sequence[int]) -> list[int]:
    """Rows per range ``(-inf,b1), [b1,b2), ..., [bn,+inf)`` of sorted keys."""
    cuts = [0, *(bisect_left(sorted_keys, b) for b in boundaries), len(sorted_keys)]
    return [cuts[i + 1] - cuts[i] for i in range(len(cuts) - 1)]


def max_mean_ratio(counts: Sequence[int]) -> float:
    """Largest partition over the mean: 1.0 is perfect; the load takes this much longer than ideal."""
    if not counts or sum(counts) == 0:
        return 1.0
    return max(counts) / (sum(counts) / len(counts))
