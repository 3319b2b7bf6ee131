"""Rows, bytes, full-load duration and monthly instance cost of a stack, from one table of figures.

Figures per instance class (kept here and nowhere else):
- ``gb_per_hour``: the low end of the full-load rates in the DMS sizing guidance quoted in seed
  001 (t3.medium 20-40 GB/h, r5.xlarge 50-100, r5.4xlarge 100-300, r5.16xlarge 300-600); other
  classes are interpolated by vCPU. An instance's rate is shared by the tasks running on it.
- ``usd_per_hour``: approximate on-demand single-AZ list prices (us-east-1); multi-AZ doubles.
  Check the AWS pricing page for your region before budgeting.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmsmig.build.packing import pack
from dmsmig.config.stack import MigrationConfig

HOURS_PER_MONTH = 730
INSTANCE_FIGURES: dict[str, tuple[float, float]] = {
    # class: (gb_per_hour, usd_per_hour)
    "dms.t3.micro": (5, 0.018),
    "dms.t3.small": (10, 0.036),
    "dms.t3.medium": (20, 0.073),
    "dms.t3.large": (30, 0.146),
    "dms.r5.large": (40, 0.252),
    "dms.r5.xlarge": (50, 0.504),
    "dms.r5.2xlarge": (75, 1.008),
    "dms.r5.4xlarge": (100, 2.016),
    "dms.r5.8xlarge": (200, 4.032),
    "dms.r5.12xlarge": (250, 6.048),
    "dms.r5.16xlarge": (300, 8.064),
}


@dataclass(frozen=True)
class PartitionEstimate:
    task_id: str
    instance_id: str
    rows: int
    gigabytes: float
    hours: float


@dataclass(frozen=True)
class StackEstimate:
    partitions: list[PartitionEstimate]
    instance_class: str
    instance_count: int
    monthly_usd: float
    unknown_groups: list[str]
    gb_per_hour: float

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def gigabytes(self) -> float:
        return sum(p.gigabytes for p in self.partitions)

    @property
    def total_hours(self) -> float:
        """Wall-clock bound by throughput: the busiest instance's gigabytes over its rate."""
        per_instance: dict[str, float] = {}
        for p in self.partitions:
            per_instance[p.instance_id] = per_instance.get(p.instance_id, 0.0) + p.gigabytes
        return max(per_instance.values(), default=0.0) / self.gb_per_hour


def estimate(cfg: MigrationConfig) -> StackEstimate:
    """Estimate from ``taskGroups[].estimate`` (rows spread evenly: balanced partitions assumed)."""
    klass = cfg.replication.instance_class
    if klass not in INSTANCE_FIGURES:
        raise KeyError(f"no figures for {klass}; add it to INSTANCE_FIGURES in dmsmig/estimate.py")
    gb_per_hour, usd_per_hour = INSTANCE_FIGURES[klass]
    slots = [(s, g, r) for s in cfg.sources for g in s.task_groups for r in g.ranges()]
    bins = pack(slots, cfg.replication.max_tasks_per_instance)
    partitions, unknown = [], []
    for n, tasks in enumerate(bins):
        instance_id = f"{cfg.prefix}-repl-{n + 1}"
        share = gb_per_hour / max(1, len(tasks))
        for source, group, key_range in tasks:
            if group.estimate is None:
                unknown.append(f"{source.name}/{group.name}")
                continue
            rows = group.estimate.rows // len(group.ranges())
            gigabytes = rows * group.estimate.average_row_bytes / 1e9
            # hours if every task on the instance runs at once and shares its rate
            partitions.append(
                PartitionEstimate(
                    cfg.task_id(source.name, group.name, key_range.index),
                    instance_id,
                    rows,
                    gigabytes,
                    gigabytes / share,
                )
            )
    monthly = len(bins) * usd_per_hour * (2 if cfg.multi_az else 1) * HOURS_PER_MONTH
    return StackEstimate(partitions, klass, len(bins), round(monthly, 2), sorted(set(unknown)), gb_per_hour)
