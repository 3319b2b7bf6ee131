"""Synthetic data shared by tests and benchmarks."""

from __future__ import annotations

import random


def zipf_gapped_ids(rows: int, seed: int = 2026) -> list[int]:
    """Increasing ids with Zipf-like gaps: dense at first, then ever sparser (like old, purged event ids)."""
    rng = random.Random(seed)
    ids, key = [], 0
    for _ in range(rows):
        key += 1 + int(rng.paretovariate(1.2)) ** 2 // 50
        ids.append(key)
    return ids
