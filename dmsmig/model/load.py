"""How long a full load takes and what bounds it: the one load model.

Standard library only, so the policy pack's own virtualenv imports it as it is (the pack's
requirements install this package without its dependencies). Everything configuration-shaped
is turned into :class:`LoadInputs` elsewhere (:mod:`dmsmig.model.throughput` from a stack's config,
the policy pack from the resources it sees); this module only does the arithmetic.

The model: every partition (one DMS task) pushes its items through a chain of stages. A stage has a
rate and serves a set of partitions; where several partitions share it (one replication instance,
the table, one index, one index partition key), they share its rate equally while they all run,
and a partition that finishes hands its share to the others (processor sharing). A partition
finishes when its slowest stage has passed all its items; the full load takes as long as its last
partition. So each stage's hours are the finish time of its last partition, the bound is the stage
with the most hours, and no partition takes longer than the whole load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "ESTIMATE_TAG",
    "estimate_tag",
    "parse_estimate_tag",
    "Facts",
    "IndexWrite",
    "LoadInputs",
    "LoadResult",
    "PartitionLoad",
    "Stage",
    "fair_share_finish",
    "solve",
    "table_write_units",
    "task_write_units_per_second",
    "throttle_note",
    "units_per_item",
]


ESTIMATE_TAG = "LoadEstimate"
"""The tag the program puts on each task with its partition's estimate, so the policy pack (which sees
only resources) feeds this model what ``plan`` feeds it from the stack's config."""


def estimate_tag(rows: int, row_bytes: int) -> str:
    """The :data:`ESTIMATE_TAG` value of a partition of ``rows`` rows of ``row_bytes`` bytes on average."""
    return f"rows={rows} rowBytes={row_bytes}"


def parse_estimate_tag(value: object) -> tuple[int, int] | None:
    """``(rows, row_bytes)`` from an :data:`ESTIMATE_TAG` value, or None when it is not one."""
    if not isinstance(value, str):
        return None
    fields = dict(part.partition("=")[::2] for part in value.split())
    rows, row_bytes = fields.get("rows", ""), fields.get("rowBytes", "")
    if not (rows.isdigit() and row_bytes.isdigit()):
        return None
    return int(rows), int(row_bytes)


@dataclass(frozen=True)
class Facts:
    """The AWS figures the model needs; the callers pass them from :mod:`dmsmig.contract.facts`
    (the pack from its generated ``aws_facts.json``), each with its source there."""

    write_unit_bytes: int
    write_latency_ms: int
    partition_write_units: int
    on_demand_initial_write_units: int

    @property
    def writes_per_thread_per_second(self) -> float:
        """One write in flight per load thread, at DynamoDB's write latency."""
        return 1000.0 / self.write_latency_ms


@dataclass(frozen=True)
class IndexWrite:
    """A GSI every item of a partition is also written to."""

    index: str
    units_per_item: float
    hot_key: str | None = None
    """``attribute=value`` when every item has this one index partition-key value (one index partition)."""


@dataclass(frozen=True)
class PartitionLoad:
    """One partition's full load: what it moves and through what."""

    task_id: str
    group: str
    instance: str | None
    """Replication instance it runs on; None for a DMS Serverless replication (capacity by DMS)."""
    items: int
    item_bytes: int
    write_units_per_item: float
    threads: int
    indexes: tuple[IndexWrite, ...] = ()
    group_source_rows_per_second: float | None = None
    """The rate the source delivers to the whole task group (measured by the user), if known."""

    @property
    def gigabytes(self) -> float:
        return self.items * self.item_bytes / 1e9


@dataclass(frozen=True)
class LoadInputs:
    """Everything :func:`solve` needs, with the text that explains each figure."""

    partitions: tuple[PartitionLoad, ...]
    table_write_units: int
    table_write_units_why: str
    facts: Facts
    instance_class: str = ""
    instance_gb_per_hour: float | None = None
    """GB/h of one replication instance of the class, shared by its tasks; None: no figures for it."""


@dataclass(frozen=True)
class Stage:
    """One stage: what it allows, how long the load takes there (None: not modelled), where the figure comes from."""

    name: str
    limit: str
    hours: float | None
    source: str
    partition_hours: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass
class LoadResult:
    """The answer: stages, the bound, the duration, per-partition hours and the write figures."""

    stages: list[Stage]
    items: int
    write_units: int
    table_write_units: int
    task_write_units_per_second: float
    partition_hours: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def bound(self) -> Stage | None:
        """The stage the load waits on longest (the first of equals), or None when nothing is modelled."""
        modelled = [s for s in self.stages if s.hours is not None]
        return max(modelled, key=lambda s: s.hours or 0.0) if modelled else None

    @property
    def hours(self) -> float | None:
        """The full load's duration: the bounding stage's hours, which is also the longest partition's."""
        bound = self.bound
        return bound.hours if bound is not None else None

    @property
    def writes_faster_than_table(self) -> bool:
        """The tasks' threads could send more write units per second than the table accepts (throttling)."""
        return self.task_write_units_per_second > self.table_write_units


def units_per_item(item_bytes: int, facts: Facts) -> int:
    """Write units per item: one per started KB."""
    return max(1, math.ceil(item_bytes / facts.write_unit_bytes))


def table_write_units(
    facts: Facts,
    warm_write_units: int | None = None,
    billing_mode: str | None = None,
    write_capacity: int | None = None,
) -> tuple[int, str]:
    """Write units/s the table serves from the start, and why: pre-warmed, provisioned, or a new on-demand table."""
    if warm_write_units:
        return warm_write_units, "pre-warmed"
    if billing_mode == "PROVISIONED" and write_capacity:
        return write_capacity, "provisioned"
    return facts.on_demand_initial_write_units, "new on-demand table"


def throttle_note(task_units_per_second: float, table_units: int) -> str | None:
    """What to do when the tasks can send more write units per second than the table accepts, else None."""
    if task_units_per_second <= table_units:
        return None
    return (
        f"the tasks can send {task_units_per_second:,.0f} write units/s but the table accepts {table_units:,}: "
        "DMS is throttled and retries; pre-warm (target.warmThroughput.writeUnitsPerSecond) or lower "
        "TargetMetadata.ParallelLoadThreads"
    )


def task_write_units_per_second(partitions: Iterable[PartitionLoad], facts: Facts) -> float:
    """Write units per second the partitions' load threads can send at once."""
    per_thread = facts.writes_per_thread_per_second
    return sum(max(1, p.threads) * per_thread * p.write_units_per_item for p in partitions)


def fair_share_finish(work: dict[str, float], rate: float) -> dict[str, float]:
    """When each consumer finishes its ``work`` when all share ``rate`` equally while they run.

    The last finishes at ``sum(work) / rate`` (the stage is never idle while work is left)."""
    finish: dict[str, float] = {}
    running = len(work)
    elapsed = done = 0.0
    for name, amount in sorted(work.items(), key=lambda kv: kv[1]):
        elapsed += (amount - done) * running / rate
        done = amount
        finish[name] = elapsed
        running -= 1
    return finish


def _shared(pools: dict[str, dict[str, float]], rate: float, per_hour: float = 3600.0) -> dict[str, float]:
    """Finish hours of every partition over several pools of the same ``rate`` per second (per hour: 1)."""
    hours: dict[str, float] = {}
    for work in pools.values():
        for task, seconds in fair_share_finish(work, rate).items():
            hours[task] = max(hours.get(task, 0.0), seconds / per_hour)
    return hours


def _stage(name: str, limit: str, source: str, partition_hours: dict[str, float] | None) -> Stage:
    if not partition_hours:
        return Stage(name, limit, None, source)
    return Stage(name, limit, max(partition_hours.values()), source, partition_hours)


def solve(inputs: LoadInputs) -> LoadResult:
    """The stages of a full load, their hours, the bound and each partition's hours."""
    parts = inputs.partitions
    facts = inputs.facts
    table_units = inputs.table_write_units
    per_thread = facts.writes_per_thread_per_second
    items = sum(p.items for p in parts)
    units = sum(round(p.items * p.write_units_per_item) for p in parts)
    stages: list[Stage] = []

    by_group: dict[str, dict[str, float]] = {}
    group_rates: dict[str, float] = {}
    for p in parts:
        if p.group_source_rows_per_second:
            by_group.setdefault(p.group, {})[p.task_id] = p.items
            group_rates[p.group] = p.group_source_rows_per_second
    source_hours: dict[str, float] = {}
    for group, work in by_group.items():
        for task, seconds in fair_share_finish(work, group_rates[group]).items():
            source_hours[task] = seconds / 3600
    stages.append(
        _stage(
            "source read",
            "estimate.sourceRowsPerSecond" if source_hours else "not modelled: set estimate.sourceRowsPerSecond",
            "your measurement",
            source_hours,
        )
    )

    on_instances = [p for p in parts if p.instance is not None]
    instances = sorted({p.instance for p in on_instances if p.instance})
    if inputs.instance_gb_per_hour is None:
        stages.append(_stage("replication instance", f"no figures for {inputs.instance_class}", "", None))
    elif not instances:
        limit = "no instances: every group is Serverless (capacity by DMS)"
        stages.append(_stage("replication instance", limit, "INSTANCE_FIGURES (seed 001)", None))
    else:
        pools: dict[str, dict[str, float]] = {}
        for p in on_instances:
            pools.setdefault(p.instance or "", {})[p.task_id] = p.gigabytes
        limit = f"{len(instances)} x {inputs.instance_class}, {inputs.instance_gb_per_hour:g} GB/h each"
        hours = _shared(pools, inputs.instance_gb_per_hour, per_hour=1.0)
        stages.append(_stage("replication instance", limit, "INSTANCE_FIGURES (seed 001)", hours))

    threads = "/".join(str(t) for t in sorted({max(1, p.threads) for p in parts}))
    stages.append(
        _stage(
            "task threads",
            f"{len(parts)} task(s), {threads} threads each, {per_thread:.0f} writes/s a thread",
            "fact dynamodb-write-latency (unconfirmed)",
            {p.task_id: p.items / (max(1, p.threads) * per_thread) / 3600 for p in parts},
        )
    )
    why = inputs.table_write_units_why
    table_work = {p.task_id: p.items * p.write_units_per_item for p in parts}
    stages.append(
        _stage(
            "DynamoDB writes",
            f"{table_units:,} write units/s ({why}), {units / items if items else 0:.1f} units/item",
            "facts dynamodb-on-demand-initial-writes, dynamodb-write-unit-bytes",
            _shared({"table": table_work}, table_units) if items else None,
        )
    )

    index_pools: dict[str, dict[str, float]] = {}
    hot_pools: dict[str, dict[str, float]] = {}
    for p in parts:
        for index in p.indexes:
            amount = p.items * index.units_per_item
            index_pools.setdefault(index.index, {})[p.task_id] = amount
            if index.hot_key is not None:
                hot_pools.setdefault(f"{index.index} partition {index.hot_key}", {})[p.task_id] = amount
    for name, work in index_pools.items():
        per_item = sum(work.values()) / items if items else 0
        stages.append(
            _stage(
                f"GSI {name} writes",
                f"{table_units:,} write units/s ({why}, as the table), {per_item:.1f} units/item",
                "facts gsi-write-per-item, dynamodb-write-unit-bytes",
                _shared({name: work}, table_units),
            )
        )
    for name, work in hot_pools.items():
        stages.append(
            _stage(
                f"GSI {name}",
                f"{facts.partition_write_units:,} write units/s: every item has this one index key value",
                "facts dynamodb-partition-write-units, gsi-write-per-item",
                _shared({name: work}, facts.partition_write_units),
            )
        )
    partition_hours = {
        p.task_id: max((s.partition_hours.get(p.task_id, 0.0) for s in stages if s.hours is not None), default=0.0)
        for p in parts
    }
    return LoadResult(
        stages=stages,
        items=items,
        write_units=units,
        table_write_units=table_units,
        task_write_units_per_second=task_write_units_per_second(parts, facts),
        partition_hours=partition_hours,
    )
