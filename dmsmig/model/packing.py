"""Packing tasks onto replication instances within DMS's per-instance quotas: 200 tasks, 100 endpoints."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from dmsmig.config.sources import KeyRange, Source, TaskGroup
from dmsmig.config.stack import MigrationConfig
from dmsmig.contract import facts

T = TypeVar("T")
DMS_TASKS_PER_INSTANCE_LIMIT = facts.TASKS_PER_INSTANCE_MAX


def instance_count(task_count: int, max_per_instance: int) -> int:
    """How many instances ``task_count`` tasks need by the task quota alone (none without tasks)."""
    if not 1 <= max_per_instance <= DMS_TASKS_PER_INSTANCE_LIMIT:
        raise ValueError(f"max_per_instance must be within 1..{DMS_TASKS_PER_INSTANCE_LIMIT}")
    return math.ceil(task_count / max_per_instance)


def _split(tasks: Sequence[T], count: int) -> list[list[T]]:
    total = len(tasks)
    return [list(tasks[(i * total) // count : ((i + 1) * total) // count]) for i in range(count)]


def pack(
    tasks: Sequence[T],
    max_per_instance: int,
    endpoints_of: Callable[[T], Hashable] | None = None,
    shared_endpoints: int = 1,
) -> list[list[T]]:
    """Split ``tasks`` in order into the fewest instances, with sizes differing by at most one, such that
    no instance holds more than ``max_per_instance`` tasks nor, with ``endpoints_of`` (a task's source
    endpoint), more than 100 endpoints counting the ``shared_endpoints`` every instance uses (the target).

    Contiguous chunks keep a task group's partitions together where they fit; even sizes keep
    the load on the instances level.
    """
    count = instance_count(len(tasks), max_per_instance)
    if count == 0:
        return []
    limit = facts.ENDPOINTS_PER_INSTANCE_MAX - shared_endpoints
    while endpoints_of is not None and any(
        len({endpoints_of(t) for t in chunk}) > limit for chunk in _split(tasks, count)
    ):
        count += 1
    return _split(tasks, count)


def instance_bins(cfg: MigrationConfig) -> list[list[tuple[Source, TaskGroup, KeyRange]]]:
    """Which partitions run on which replication instance: the program's placement, one list per instance
    (``cfg.instance_id(n)`` names the n-th). Serverless groups need no instance and are not in it."""
    return pack(cfg.instance_slots(), cfg.replication.max_tasks_per_instance, lambda slot: slot[0].name)
