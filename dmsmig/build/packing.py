"""Packing tasks onto replication instances (DMS allows at most 200 tasks per instance)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
DMS_TASKS_PER_INSTANCE_LIMIT = 200


def instance_count(task_count: int, max_per_instance: int) -> int:
    """How many instances ``task_count`` tasks need (none without tasks: Serverless-only stacks)."""
    if not 1 <= max_per_instance <= DMS_TASKS_PER_INSTANCE_LIMIT:
        raise ValueError(f"max_per_instance must be within 1..{DMS_TASKS_PER_INSTANCE_LIMIT}")
    return math.ceil(task_count / max_per_instance)


def pack(tasks: Sequence[T], max_per_instance: int) -> list[list[T]]:
    """Split ``tasks`` in order into the fewest instances, with sizes differing by at most one.

    Contiguous chunks keep a task group's partitions together where they fit; even sizes keep
    the load on the instances level.
    """
    count = instance_count(len(tasks), max_per_instance)
    if count == 0:
        return []
    total = len(tasks)
    return [list(tasks[(i * total) // count : ((i + 1) * total) // count]) for i in range(count)]
