import random

import pytest

from dmsmig.config.partitions import (
    KeyRange,
    equal_width_boundaries,
    partition_of,
    ranges_from_boundaries,
)
from policies.dms_guardrails.coverage import Span, cover_problems


def test_equal_width_splits_the_seed_000_key_space_into_four_100m_ranges():
    assert equal_width_boundaries(4, 1, 400_000_000) == [100_000_001, 200_000_001, 300_000_001]


def test_first_range_is_open_below_and_last_open_above():
    ranges = ranges_from_boundaries([10, 20])
    assert ranges[0] == KeyRange(0, None, 10)
    assert ranges[-1] == KeyRange(2, 20, None)
    assert ranges[0].contains(-5) and ranges[-1].contains(10**12)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 16])
def test_every_key_falls_in_exactly_one_partition(count):
    ranges = ranges_from_boundaries(equal_width_boundaries(count, 1, 1000)) if count > 1 else ranges_from_boundaries([])
    rng = random.Random(count)
    for key in [rng.randint(-100, 2000) for _ in range(2000)] + [0, 1, 1000, 1001]:
        partition_of(key, ranges)  # raises when 0 or 2+ partitions hold the key
    assert cover_problems([Span(r.lower, r.upper) for r in ranges]) == []


def test_non_increasing_boundaries_are_rejected():
    with pytest.raises(ValueError, match="strictly increasing"):
        ranges_from_boundaries([10, 10])


def test_count_larger_than_key_span_is_an_error():
    with pytest.raises(ValueError, match="larger than the key span"):
        equal_width_boundaries(5, 1, 3)


def test_range_output_uses_inclusive_upper_bound():
    assert KeyRange(1, 100, 200).as_output() == {"from": 100, "to": 199}
    assert KeyRange(0, None, None).as_output() == {"from": None, "to": None}


def test_coverage_check_names_gaps_overlaps_and_open_ends():
    assert cover_problems([Span(None, 10), Span(12, None)]) == ["keys 10..11 are in no task (rows would be skipped)"]
    assert "overlap" in cover_problems([Span(None, 10), Span(8, None)])[0]
    assert cover_problems([Span(0, 10), Span(10, 20)]) == [
        "keys below 0 are in no task",
        "keys from 20 up are in no task",
    ]
