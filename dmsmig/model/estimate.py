"""What a stack's replication costs, and each instance class's full-load rate, from one table of figures.

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

from dataclasses import dataclass

from dmsmig.config.stack import MigrationConfig
from dmsmig.model.packing import instance_bins

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

    def as_json(self, load_hours: float | None) -> dict:
        """The group's cost figures for ``plan --json`` (the load's cost when its hours are known)."""
        low, high = self.usd_for(load_hours) if load_hours else (None, None)
        return {
            "group": self.group,
            "replications": self.replications,
            "minUnits": self.min_units or 1,
            "maxUnits": self.max_units,
            "maxMonthlyUsd": self.max_monthly_usd,
            "loadUsdLow": low,
            "loadUsdHigh": high,
        }


@dataclass(frozen=True)
class InstanceCost:
    """The replication instances a stack's instance groups need and their monthly list price."""

    instance_class: str
    count: int
    multi_az: bool
    monthly_usd: float | None
    """None when the class has no figures in :data:`INSTANCE_FIGURES`."""


def instance_cost(cfg: MigrationConfig, count: int | None = None) -> InstanceCost:
    """How many instances the program creates (its packing; ``count`` when the caller packed already) and
    their monthly list price."""
    klass = cfg.replication.instance_class
    count = len(instance_bins(cfg)) if count is None else count
    figures = INSTANCE_FIGURES.get(klass)
    monthly = None
    if figures is not None:
        monthly = round(count * figures[1] * (2 if cfg.multi_az else 1) * HOURS_PER_MONTH, 2)
    return InstanceCost(klass, count, cfg.multi_az, monthly)


def serverless_costs(cfg: MigrationConfig) -> list[ServerlessEstimate]:
    """Each Serverless task group's replications and DCU range, for its cost."""
    return [
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
