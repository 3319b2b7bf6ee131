"""What bounds a full load: the duration each stage allows, and which one is the bottleneck.

A full load takes as long as its slowest stage:

- **source read**: rows/s the source delivers (``estimate.sourceRowsPerSecond``, measured; unset: not modelled);
- **replication instance**: GB/h per instance class (:data:`dmsmig.build.estimate.INSTANCE_FIGURES`),
  shared by the tasks on it;
- **task threads**: ``ParallelLoadThreads`` writers per task, one write in flight each at DynamoDB's
  latency (``facts.WRITE_LATENCY_MS``); one table per task, so ``MaxFullLoadSubTasks`` adds none;
- **DynamoDB writes**: the table's warm write throughput (pre-warmed, provisioned, or 4,000 units/s
  for a new on-demand table), one write unit per started KB of item.

Every figure comes from :mod:`dmsmig.contract.facts` or the instance table, with its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dmsmig.build.estimate import estimate
from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.stack import MigrationConfig
from dmsmig.config.target import GlobalSecondaryIndex
from dmsmig.contract import facts


@dataclass(frozen=True)
class Stage:
    """One stage: what it allows (items/s, or None when not modelled) and how long the load takes there."""

    name: str
    limit: str
    hours: float | None
    source: str


@dataclass
class LoadModel:
    """The stages of one stack's full load, the bounding stage and the table's write needs."""

    stages: list[Stage]
    items: int
    write_units: int
    table_write_units: int
    task_write_units_per_second: float
    notes: list[str] = field(default_factory=list)

    @property
    def bound(self) -> Stage | None:
        modelled = [s for s in self.stages if s.hours is not None]
        return max(modelled, key=lambda s: s.hours or 0.0) if modelled else None

    @property
    def writes_faster_than_table(self) -> bool:
        """The tasks' threads could send more write units per second than the table accepts (throttling)."""
        return self.task_write_units_per_second > self.table_write_units


def units_per_item(row_bytes: int) -> int:
    """Write units per item: one per started KB."""
    return max(1, math.ceil(row_bytes / facts.WRITE_UNIT_BYTES))


def table_write_units(cfg: MigrationConfig) -> tuple[int, str]:
    """Write units/s the table serves from the start, and why."""
    target = cfg.target
    if target.warm_throughput and target.warm_throughput.write_units_per_second:
        return target.warm_throughput.write_units_per_second, "pre-warmed"
    if target.billing_mode == "PROVISIONED" and target.write_capacity:
        return target.write_capacity, "provisioned"
    return facts.ON_DEMAND_INITIAL_WRITE_UNITS, "new on-demand table"


@dataclass(frozen=True)
class MeasuredItems:
    """Write units per item measured by a rehearsal, per task group (``source/group``)."""

    units_per_item: dict[str, float]
    origin: str
    """Where the figures come from, for the note (e.g. the report's path and its rows)."""

    @classmethod
    def from_report(cls, report: object, origin: str) -> MeasuredItems:
        """The figures of a ``rehearse`` JSON report; ValueError names the key that is wrong."""
        if not isinstance(report, dict) or not isinstance(report.get("itemSizeByGroup"), dict):
            raise ValueError("itemSizeByGroup is missing: not a report written by `rehearse`")
        by_group: dict = report["itemSizeByGroup"]
        units = {}
        for group, figures in by_group.items():
            value = figures.get("writeUnitsPerItem") if isinstance(figures, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 400:
                raise ValueError(f"itemSizeByGroup.{group}.writeUnitsPerItem must be a number from 1 to 400")
            units[group] = float(value)
        stack = report.get("stack", "?")
        counts = report.get("sourceRows")
        rows = sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, dict) else 0
        return cls(units, f"{origin} (rehearsal of stack {stack}, {rows:,} source rows)")


def index_writes(cfg: MigrationConfig, spec: MappingSpec) -> list[tuple[GlobalSecondaryIndex, str | None]]:
    """The GSIs every item of ``spec`` is written to (it carries all their key attributes; fact
    gsi-write-per-item), each with the one partition-key value all those items share, when the spec
    fixes it (a literal template, or the ``validation.itemFilter`` on that attribute), else None."""
    written = spec.attribute_names() | {c for c in spec.source_columns() if c not in spec.exclude_columns}
    found = []
    for gsi in cfg.target.global_secondary_indexes:
        if not all(k in written for k in (gsi.partition_key, gsi.sort_key) if k):
            continue
        single = None
        mapped = spec.attribute(gsi.partition_key)
        if mapped is not None and not mapped.columns():
            single = mapped.value
        flt = spec.validation.item_filter if spec.validation else None
        if flt is not None and flt.attribute == gsi.partition_key:
            single = flt.value
        found.append((gsi, single))
    return found


def load_model(cfg: MigrationConfig, measured: MeasuredItems | None = None) -> LoadModel:
    """The stage durations of ``cfg``'s full load (task groups without ``estimate`` are left out, and named).

    Write units per item come from ``estimate.averageRowBytes`` (one unit per started KB), or, for the
    groups ``measured`` covers, from what a rehearsal measured item by item; a note says which."""
    notes: list[str] = []
    used: list[str] = []
    items = units = tasks = 0
    task_hours: list[float] = []
    source_hours: list[float] = []
    task_units_per_second = 0.0
    threads_seen: list[int] = []
    per_thread = 1000.0 / facts.WRITE_LATENCY_MS
    index_units: dict[str, float] = {}
    hot: dict[tuple[str, str, str], float] = {}
    for source in cfg.sources:
        for group in source.task_groups:
            if group.estimate is None:
                continue
            partitions = len(group.ranges())
            rows = group.estimate.rows // partitions
            name = f"{source.name}/{group.name}"
            row_units: float = units_per_item(group.estimate.average_row_bytes)
            if measured is not None and name in measured.units_per_item:
                row_units = measured.units_per_item[name]
                used.append(f"{name} {row_units:g}")
            threads = max(1, cfg.settings_for(group).TargetMetadata.ParallelLoadThreads)
            threads_seen.append(threads)
            tasks += partitions
            items += rows * partitions
            units += round(rows * row_units * partitions)
            for gsi, single in index_writes(cfg, group.spec):
                gsi_units = rows * partitions * (row_units if gsi.projection == "ALL" else 1)
                index_units[gsi.name] = index_units.get(gsi.name, 0) + gsi_units
                if single is not None:
                    where = (gsi.name, gsi.partition_key, single)
                    hot[where] = hot.get(where, 0) + gsi_units
            task_hours.append(rows / (threads * per_thread) / 3600)
            task_units_per_second += threads * per_thread * row_units * partitions
            if group.estimate.source_rows_per_second:
                source_hours.append(group.estimate.rows / group.estimate.source_rows_per_second / 3600)
    if measured is not None:
        notes.append(
            f"write units per item measured by {measured.origin}: {', '.join(used) or 'no group of this stack'}"
            " (other groups: estimate.averageRowBytes)"
        )
    unknown = [f"{s.name}/{g.name}" for s in cfg.sources for g in s.task_groups if g.estimate is None]
    if unknown:
        notes.append(f"no estimate for {', '.join(unknown)}: set taskGroups[].estimate (plan-partitions writes rows)")

    klass = cfg.replication.instance_class
    try:  # the instance stage is the estimate's: the busiest instance's GB over its class's rate
        est = estimate(cfg)
        instance_limit = f"{est.instance_count} x {klass}, {est.gb_per_hour} GB/h each"
        instance_hours: float | None = est.total_hours
        if not est.instance_count:  # DMS Serverless provisions what the load needs, within the DCU bounds
            instance_limit, instance_hours = "no instances: every group is Serverless (capacity by DMS)", None
    except KeyError:
        instance_limit, instance_hours = f"no figures for {klass}", None
    table_units, why = table_write_units(cfg)
    stages = [
        Stage(
            "source read",
            "estimate.sourceRowsPerSecond" if source_hours else "not modelled: set estimate.sourceRowsPerSecond",
            max(source_hours) if source_hours else None,
            "your measurement",
        ),
        Stage("replication instance", instance_limit, instance_hours, "INSTANCE_FIGURES (seed 001)"),
        Stage(
            "task threads",
            f"{tasks} task(s), {'/'.join(str(t) for t in sorted(set(threads_seen)))} threads each, "
            f"{per_thread:.0f} writes/s a thread",
            max(task_hours) if task_hours else None,
            "fact dynamodb-write-latency (unconfirmed)",
        ),
        Stage(
            "DynamoDB writes",
            f"{table_units:,} write units/s ({why}), {units / items if items else 0:.1f} units/item",
            units / table_units / 3600 if items else None,
            "facts dynamodb-on-demand-initial-writes, dynamodb-write-unit-bytes",
        ),
    ]
    for name, gsi_units in index_units.items():
        stages.append(
            Stage(
                f"GSI {name} writes",
                f"{table_units:,} write units/s ({why}, as the table), {gsi_units / items:.1f} units/item",
                gsi_units / table_units / 3600,
                "facts gsi-write-per-item, dynamodb-write-unit-bytes",
            )
        )
    for (name, attribute, value), gsi_units in hot.items():
        stages.append(
            Stage(
                f"GSI {name} partition {attribute}={value}",
                f"{facts.PARTITION_WRITE_UNITS:,} write units/s: every item has this one index key value",
                gsi_units / facts.PARTITION_WRITE_UNITS / 3600,
                "facts dynamodb-partition-write-units, gsi-write-per-item",
            )
        )
        notes.append(
            f"GSI {name}: every migrated item has {attribute}={value}, one index partition, which takes at most "
            f"{facts.PARTITION_WRITE_UNITS:,} write units/s whatever the pre-warm, and a throttled index throttles "
            "the table's writes: create the index after the full load (DynamoDB backfills it without throttling "
            f"the load), or spread its key (a view column such as '{value}#' + (Id % 16), mapped into {attribute})"
        )
    model = LoadModel(stages, items, units, table_units, task_write_units_per_second=task_units_per_second, notes=notes)
    if model.writes_faster_than_table:
        model.notes.append(
            f"the tasks can send {task_units_per_second:,.0f} write units/s but the table accepts {table_units:,}: "
            "DMS is throttled and retries; pre-warm (target.warmThroughput.writeUnitsPerSecond) or lower "
            "TargetMetadata.ParallelLoadThreads"
        )
    return model


def prewarm_advice(model: LoadModel) -> str | None:
    """How much to pre-warm so the table stops being the bottleneck, and when to do it."""
    bound = model.bound
    if bound is None or bound.name != "DynamoDB writes" or not model.items:
        return None
    others = [s.hours for s in model.stages if s.hours is not None and s.name != "DynamoDB writes"]
    target_hours = max(others) if others else bound.hours or 0
    if not target_hours:
        return None
    needed = math.ceil(model.write_units / (target_hours * 3600))
    return (
        f"pre-warm to {needed:,} write units/s (target.warmThroughput.writeUnitsPerSecond) to bring DynamoDB "
        f"writes down to {target_hours:,.1f} h: apply it at least {facts.PREWARM_LEAD_HOURS} h before the load "
        f"(AWS) and start when DescribeTable shows WarmThroughput ACTIVE; the increase is billed once by DynamoDB "
        f"(see DynamoDB pricing). Without it, on-demand can double its previous peak every "
        f"{facts.ON_DEMAND_DOUBLING_MINUTES} min of sustained traffic, with throttling meanwhile."
    )
