"""Rows, bytes, full-load duration and monthly instance cost of a stack, from one table of figures.

Figures per instance class (kept here and nowhere else):
- ``gb_per_hour``: the low end of the full-load rates in the DMS sizing guidance quoted in seed
  001 (t3.medium 20-40 GB/h, r5.xlarge 50-100, r5.4xlarge 100-300, r5.16xlarge 300-600); other
  classes are interpolated by vCPU. An instance's rate is shared by the tasks running on it.
- ``usd_per_hour``: approximate on-demand single-AZ list prices (us-east-1); multi-AZ doubles.
  Check the AWS pricing page for your region before budgeting.
- ``DCU_USD_PER_HOUR``: DMS Serverless bills per DCU-hour in use (User Guide, "AWS DMS Serverless
  components"); the figure is the low end of the $0.20-0.25 a third-party page quotes for popular
  regions (awsnegotiations.com, "AWS DMS Serverless Pricing"), not an AWS figure: check the pricing page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dmsmig.build.packing import pack
from dmsmig.config.stack import MigrationConfig

HOURS_PER_MONTH = 730
DCU_USD_PER_HOUR = 0.20
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
class ServerlessEstimate:
    """One Serverless task group: its replications, their DCU range and what that can cost."""

    group: str
    replications: int
    min_units: int | None
    max_units: int
    multi_az: bool

    @property
    def max_monthly_usd(self) -> float:
        """Every replication at its maximum DCU all month (what AWS's pricing calculator shows)."""
        return round(self.replications * self.max_units * self.az_factor * DCU_USD_PER_HOUR * HOURS_PER_MONTH, 2)

    @property
    def az_factor(self) -> int:
        return 2 if self.multi_az else 1

    def usd_for(self, hours: float) -> tuple[float, float]:
        """Cost of running ``hours`` between the minimum (1 DCU if unset) and the maximum capacity."""
        low = self.replications * (self.min_units or 1) * self.az_factor * DCU_USD_PER_HOUR * hours
        high = self.replications * self.max_units * self.az_factor * DCU_USD_PER_HOUR * hours
        return round(low, 2), round(high, 2)


@dataclass(frozen=True)
class StackEstimate:
    partitions: list[PartitionEstimate]
    instance_class: str
    instance_count: int
    monthly_usd: float
    unknown_groups: list[str]
    gb_per_hour: float
    serverless: list[ServerlessEstimate] = field(default_factory=list)

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
    """Estimate from ``taskGroups[].estimate`` (rows spread evenly: balanced partitions assumed).

    Partitions are those on instances; Serverless groups are priced by capacity units instead.
    """
    klass = cfg.replication.instance_class
    if klass not in INSTANCE_FIGURES:
        raise KeyError(f"no figures for {klass}; add it to INSTANCE_FIGURES in dmsmig/estimate.py")
    gb_per_hour, usd_per_hour = INSTANCE_FIGURES[klass]
    bins = pack(cfg.instance_slots(), cfg.replication.max_tasks_per_instance, lambda slot: slot[0].name)
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
    serverless = [
        ServerlessEstimate(
            f"{source.name}/{group.name}",
            len(group.ranges()),
            group.capacity.min_capacity_units,
            group.capacity.max_capacity_units,
            cfg.multi_az,
        )
        for source, group in cfg.serverless_groups
        if group.capacity is not None
    ]
    return StackEstimate(partitions, klass, len(bins), round(monthly, 2), sorted(set(unknown)), gb_per_hour, serverless)
