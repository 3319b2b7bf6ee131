"""What a stack's replication costs, from the instance figures table."""

import pytest

from dmsmig.config.stack import load_stack_config
from dmsmig.model.estimate import INSTANCE_FIGURES, instance_cost
from dmsmig.model.throughput import load_plan
from tests.conftest import raw_migration, stack_from


def test_prod_instances_cost_from_the_figures_table():
    cost = instance_cost(load_stack_config("prod").migration)
    _, usd_per_hour = INSTANCE_FIGURES["dms.r5.2xlarge"]
    assert (cost.instance_class, cost.count) == ("dms.r5.2xlarge", 1)
    assert cost.monthly_usd == round(usd_per_hour * 2 * 730, 2)  # multi-AZ doubles


def test_prod_instance_stage_is_the_instances_gigabytes_over_its_rate():
    plan = load_plan(load_stack_config("prod").migration)
    gb_per_hour, _ = INSTANCE_FIGURES["dms.r5.2xlarge"]
    assert plan.items == 380_000_000 + 55_000_000
    assert plan.gigabytes == pytest.approx(380e6 * 1800 / 1e9 + 55e6 * 700 / 1e9)
    instance = next(s for s in plan.stages if s.name == "replication instance")
    # one instance holds all six tasks: they share its rate, the small ones finish first
    assert instance.hours == pytest.approx(plan.gigabytes / gb_per_hour)
    assert max(instance.partition_hours.values()) == instance.hours
    auth = instance.partition_hours["prod-ordersvc-auth-events-p1"]
    assert auth == pytest.approx(19.25 / (gb_per_hour / 6))


def test_groups_without_an_estimate_are_named_not_guessed():
    raw = raw_migration("sandbox")
    del raw["sources"][0]["taskGroups"][0]["estimate"]
    plan = load_plan(stack_from(raw).migration)
    assert plan.partitions == [] and plan.hours is None
    assert any("no estimate for orders/events" in n for n in plan.notes)


def test_an_unknown_instance_class_has_no_price_and_no_instance_stage():
    raw = raw_migration("sandbox")
    raw["replication"]["instanceClass"] = "dms.c9.4xlarge"
    config = stack_from(raw).migration
    assert instance_cost(config).monthly_usd is None
    instance = next(s for s in load_plan(config).stages if s.name == "replication instance")
    assert instance.hours is None and instance.limit == "no figures for dms.c9.4xlarge"
