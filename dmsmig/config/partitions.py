"""Partition math: contiguous, disjoint integer key ranges that cover the whole key space.

A partition is a half-open range ``[lower, upper)`` over an integer key column. The first
partition is open below (``lower is None``) and the last is open above (``upper is None``), so
rows outside the expected min/max are never silently skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class KeyRange:
    """One partition of an integer key: ``lower <= key < upper``; ``None`` means unbounded."""

    index: int
    lower: int | None
    upper: int | None

    def contains(self, key: int) -> bool:
        """True when ``key`` falls inside this range."""
        if self.lower is not None and key < self.lower:
            return False
        if self.upper is not None and key >= self.upper:
            return False
        return True

    def describe(self) -> str:
        """Human-readable form, e.g. ``[100, 200)`` or ``(-inf, 100)``."""
        low = "(-inf" if self.lower is None else f"[{self.lower}"
        high = "+inf)" if self.upper is None else f"{self.upper})"
        return f"{low}, {high}"

    def as_output(self) -> dict:
        """Plain dict for stack outputs and reports (inclusive upper bound ``to``)."""
        return {
            "from": self.lower,
            "to": None if self.upper is None else self.upper - 1,
        }


def equal_width_boundaries(count: int, minimum: int, maximum: int) -> list[int]:
    """Split ``[minimum, maximum]`` into ``count`` equal-width ranges; return the inner boundaries."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if maximum < minimum:
        raise ValueError("max must be greater than or equal to min")
    span = maximum - minimum + 1
    if count > span:
        raise ValueError(f"count {count} is larger than the key span {span}")
    return [minimum + (span * i) // count for i in range(1, count)]


def ranges_from_boundaries(boundaries: Sequence[int]) -> list[KeyRange]:
    """Turn strictly increasing inner boundaries into ``len(boundaries) + 1`` ranges."""
    for previous, current in zip(boundaries, boundaries[1:]):
        if current <= previous:
            raise ValueError("boundaries must be strictly increasing")
    edges: list[int | None] = [None, *boundaries, None]
    return [KeyRange(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def partition_of(key: int, ranges: Sequence[KeyRange]) -> int:
    """Index of the range holding ``key``; raises when none or several do."""
    hits = [r.index for r in ranges if r.contains(key)]
    if len(hits) != 1:
        raise ValueError(f"key {key} falls in {len(hits)} partitions")
    return hits[0]
