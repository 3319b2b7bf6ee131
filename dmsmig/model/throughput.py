"""A stack's full load: the one load model (:mod:`dmsmig.model.load`) fed from its config, plus cost.

A full load takes as long as its slowest stage:

- **source read**: rows/s the source delivers (``estimate.sourceRowsPerSecond``, measured; unset: not modelled);
- **replication instance**: GB/h per instance class (:data:`dmsmig.model.estimate.INSTANCE_FIGURES`),
  shared by the tasks on it;
- **task threads**: ``ParallelLoadThreads`` writers per task, one write in flight each at DynamoDB's
  latency (``facts.WRITE_LATENCY_MS``); one table per task, so ``MaxFullLoadSubTasks`` adds none;
- **DynamoDB writes**: the table's warm write throughput (pre-warmed, provisioned, or 4,000 units/s
  for a new on-demand table), one write unit per started KB of item; each GSI the items reach as much
  again, and one index partition at most 1,000 units/s when every item has the same index key.

Every figure comes from :mod:`dmsmig.contract.facts` or the instance table, with its source.
:func:`load_plan` is the one answer to "how long does the full load take, what bounds it, what does it
cost": ``plan``, its JSON, the docs and (through :mod:`dmsmig.model.load`) the policy pack read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.stack import MigrationConfig
from dmsmig.config.target import GlobalSecondaryIndex
from dmsmig.contract import facts
from dmsmig.model import load
from dmsmig.model.estimate import INSTANCE_FIGURES, InstanceCost, ServerlessEstimate, instance_cost, serverless_costs
from dmsmig.model.packing import instance_bins

FACTS = load.Facts(
    write_unit_bytes=facts.WRITE_UNIT_BYTES,
    write_latency_ms=facts.WRITE_LATENCY_MS,
    partition_write_units=facts.PARTITION_WRITE_UNITS,
    on_demand_initial_write_units=facts.ON_DEMAND_INITIAL_WRITE_UNITS,
)
"""The AWS figures of the load model, from the fact table."""

def units_per_item(row_bytes: int) -> int:
    """Write units per item: one per started KB."""
    return load.units_per_item(row_bytes, FACTS)


def table_write_units(cfg: MigrationConfig) -> tuple[int, str]:
    """Write units/s the table serves from the start, and why."""
    target = cfg.target
    warm = target.warm_throughput.write_units_per_second if target.warm_throughput else None
    return load.table_write_units(FACTS, warm, target.billing_mode, target.write_capacity)


@dataclass(frozen=True)
class MeasuredItems:
    """Write units per item measured by a rehearsal, per task group (``source/group``); the rehearsal's
    report gives them (:func:`dmsmig.rehearsal.analysis.measured_items`)."""

    units_per_item: dict[str, float]
    origin: str
    """Where the figures come from, for the note (e.g. the report's path and its rows)."""


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


@dataclass
class LoadPlan(load.LoadResult):
    """The full load of one stack: the model's answer (stages, bound, hours, partitions' hours), what it
    costs, and the notes that explain it."""

    partitions: list[load.PartitionLoad] = field(default_factory=list)
    instances: InstanceCost | None = None
    serverless: list[ServerlessEstimate] = field(default_factory=list)

    @property
    def gigabytes(self) -> float:
        return sum(p.gigabytes for p in self.partitions)

    def as_json(self) -> dict:
        """The plan as ``plan --json`` prints it: one duration, camelCase keys, figures rounded."""
        bound = self.bound
        return {
            "hours": _round(self.hours),
            "boundBy": bound.name if bound else None,
            "items": self.items,
            "gigabytes": round(self.gigabytes, 2),
            "writeUnits": self.write_units,
            "tableWriteUnitsPerSecond": self.table_write_units,
            "taskWriteUnitsPerSecond": round(self.task_write_units_per_second),
            "stages": [
                {"stage": s.name, "limit": s.limit, "hours": _round(s.hours), "source": s.source} for s in self.stages
            ],
            "partitions": [
                {
                    "taskId": p.task_id,
                    "instance": p.instance,
                    "rows": p.items,
                    "gigabytes": round(p.gigabytes, 2),
                    "hours": _round(self.partition_hours.get(p.task_id)),
                }
                for p in self.partitions
            ],
            "cost": {
                "instanceClass": self.instances.instance_class if self.instances else None,
                "instanceCount": self.instances.count if self.instances else 0,
                "instancesMonthlyUsd": self.instances.monthly_usd if self.instances else None,
                "serverless": [s.as_json(self.hours) for s in self.serverless],
            },
            "notes": self.notes,
            "prewarm": prewarm_advice(self),
        }


def _round(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 2)


def load_plan(cfg: MigrationConfig, measured: MeasuredItems | None = None) -> LoadPlan:
    """The full load of ``cfg`` (task groups without ``estimate`` are left out, and named).

    Write units per item come from ``estimate.averageRowBytes`` (one unit per started KB), or, for the
    groups ``measured`` covers, from what a rehearsal measured item by item; a note says which."""
    notes: list[str] = []
    used: list[str] = []
    klass = cfg.replication.instance_class
    figures = INSTANCE_FIGURES.get(klass)
    placed = _instances_of(cfg)
    partitions: list[load.PartitionLoad] = []
    hot_values: dict[tuple[str, str, str], None] = {}
    for source in cfg.sources:
        for group in source.task_groups:
            if group.estimate is None:
                continue
            ranges = group.ranges()
            rows = group.rows_per_partition() or 0
            name = f"{source.name}/{group.name}"
            row_units: float = units_per_item(group.estimate.average_row_bytes)
            if measured is not None and name in measured.units_per_item:
                row_units = measured.units_per_item[name]
                used.append(f"{name} {row_units:g}")
            indexes = []
            for gsi, single in index_writes(cfg, group.spec):
                hot = f"{gsi.partition_key}={single}" if single is not None else None
                if hot is not None:
                    hot_values[(gsi.name, gsi.partition_key, str(single))] = None
                indexes.append(load.IndexWrite(gsi.name, row_units if gsi.projection == "ALL" else 1, hot))
            for key_range in ranges:
                task_id = cfg.task_id(source.name, group.name, key_range.index)
                partitions.append(
                    load.PartitionLoad(
                        task_id=task_id,
                        group=name,
                        instance=placed.get(task_id),
                        items=rows,
                        item_bytes=group.estimate.average_row_bytes,
                        write_units_per_item=row_units,
                        threads=cfg.settings_for(group).TargetMetadata.ParallelLoadThreads,
                        indexes=tuple(indexes),
                        group_source_rows_per_second=group.estimate.source_rows_per_second,
                    )
                )
    if measured is not None:
        notes.append(
            f"write units per item measured by {measured.origin}: {', '.join(used) or 'no group of this stack'}"
            " (other groups: estimate.averageRowBytes)"
        )
    unknown = [f"{s.name}/{g.name}" for s in cfg.sources for g in s.task_groups if g.estimate is None]
    if unknown:
        notes.append(f"no estimate for {', '.join(unknown)}: set taskGroups[].estimate (plan-partitions writes rows)")
    table_units, why = table_write_units(cfg)
    result = load.solve(
        load.LoadInputs(
            partitions=tuple(partitions),
            table_write_units=table_units,
            table_write_units_why=why,
            facts=FACTS,
            instance_class=klass,
            instance_gb_per_hour=figures[0] if figures else None,
        )
    )
    for name, attribute, value in hot_values:
        notes.append(
            f"GSI {name}: every migrated item has {attribute}={value}, one index partition, which takes at most "
            f"{facts.PARTITION_WRITE_UNITS:,} write units/s whatever the pre-warm, and a throttled index throttles "
            "the table's writes: create the index after the full load (DynamoDB backfills it without throttling "
            f"the load), or spread its key (a view column such as '{value}#' + (Id % 16), mapped into {attribute})"
        )
    throttled = load.throttle_note(result.task_write_units_per_second, result.table_write_units)
    if throttled:
        notes.append(throttled)
    answer = {f.name: getattr(result, f.name) for f in fields(result)}
    return LoadPlan(
        **{**answer, "notes": notes},
        partitions=partitions,
        instances=instance_cost(cfg, len(set(placed.values()))),
        serverless=serverless_costs(cfg),
    )


def _instances_of(cfg: MigrationConfig) -> dict[str, str]:
    """Which replication instance each instance-group task runs on (the program's packing)."""
    return {
        cfg.task_id(source.name, group.name, key_range.index): cfg.instance_id(n)
        for n, tasks in enumerate(instance_bins(cfg))
        for source, group, key_range in tasks
    }


def prewarm_advice(plan: LoadPlan) -> str | None:
    """How much to pre-warm so the table stops being the bottleneck, and when to do it."""
    bound = plan.bound
    if bound is None or bound.name != "DynamoDB writes" or not plan.items:
        return None
    others = [s.hours for s in plan.stages if s.hours is not None and s.name != "DynamoDB writes"]
    target_hours = max(others) if others else bound.hours or 0
    if not target_hours:
        return None
    needed = math.ceil(plan.write_units / (target_hours * 3600))
    return (
        f"pre-warm to {needed:,} write units/s (target.warmThroughput.writeUnitsPerSecond) to bring DynamoDB "
        f"writes down to {target_hours:,.1f} h: apply it at least {facts.PREWARM_LEAD_HOURS} h before the load "
        f"(AWS) and start when DescribeTable shows WarmThroughput ACTIVE; the increase is billed once by DynamoDB "
        f"(see DynamoDB pricing). Without it, on-demand can double its previous peak every "
        f"{facts.ON_DEMAND_DOUBLING_MINUTES} min of sustained traffic, with throttling meanwhile."
    )
