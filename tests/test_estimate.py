import pytest

from dmsmig.build.estimate import INSTANCE_FIGURES, estimate
from dmsmig.config.stack import load_stack_config
from tests.conftest import raw_migration, stack_from


def test_prod_estimate_from_the_figures_table():
    est = estimate(load_stack_config("prod").migration)
    gb_per_hour, usd_per_hour = INSTANCE_FIGURES["dms.r5.2xlarge"]
    assert est.rows == 380_000_000 + 55_000_000
    assert est.gigabytes == pytest.approx(380e6 * 1800 / 1e9 + 55e6 * 700 / 1e9)
    # one instance holds all six tasks: the load is bound by its throughput
    assert est.total_hours == pytest.approx(est.gigabytes / gb_per_hour)
    assert est.monthly_usd == round(usd_per_hour * 2 * 730, 2)  # multi-AZ doubles


def test_groups_without_an_estimate_are_named_not_guessed():
    raw = raw_migration("sandbox")
    del raw["sources"][0]["taskGroups"][0]["estimate"]
    est = estimate(stack_from(raw).migration)
    assert est.partitions == [] and est.unknown_groups == ["orders/events"]


def test_an_unknown_instance_class_names_the_table_to_extend():
    raw = raw_migration("sandbox")
    raw["replication"]["instanceClass"] = "dms.c9.4xlarge"
    with pytest.raises(KeyError, match="INSTANCE_FIGURES"):
        estimate(stack_from(raw).migration)
