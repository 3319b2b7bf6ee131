"""The load model: the duration each stage allows, the bounding stage, throttling and pre-warming advice."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.model.load import fair_share_finish
from dmsmig.model.throughput import load_plan, prewarm_advice, units_per_item
from dmsmig.rehearsal.analysis import measured_items
from policies.dms_guardrails import rules
from policies.dms_guardrails.props import TABLE, TASK
from tests.conftest import raw_migration, stack_from
from tests.policy_helpers import check_stack, resource


def _stages(model) -> dict[str, float | None]:
    return {s.name: s.hours for s in model.stages}


def test_an_item_costs_one_write_unit_per_started_kilobyte():
    assert [units_per_item(b) for b in (1, 1024, 1025, 1800, 4096)] == [1, 1, 2, 2, 4]


def test_300_million_two_unit_items_take_42_hours_at_a_new_tables_4000_units():
    raw = raw_migration()
    group = raw["sources"][0]["taskGroups"][0]
    group["estimate"] = {"rows": 300_000_000, "averageRowBytes": 1800}
    group["partitions"] = {"count": 16, "min": 1, "max": 300_000_000}
    raw["replication"]["instanceClass"] = "dms.r5.16xlarge"
    raw["taskSettings"] = {"TargetMetadata": {"ParallelLoadThreads": 50}}
    model = load_plan(stack_from(raw).migration)
    assert _stages(model)["DynamoDB writes"] == pytest.approx(600_000_000 / 4000 / 3600)  # 41.7 h
    assert model.bound.name == "DynamoDB writes"
    assert model.writes_faster_than_table  # 16 tasks x 50 threads x 100 writes x 2 units >> 4,000
    advice = prewarm_advice(model)
    assert "target.warmThroughput.writeUnitsPerSecond" in advice and "at least 24 h before the load" in advice


def test_pre_warming_moves_the_bound_to_the_next_stage():
    raw = raw_migration()
    raw["target"]["warmThroughput"] = {"writeUnitsPerSecond": 40000}
    raw["taskSettings"] = {"TargetMetadata": {"ParallelLoadThreads": 50}}
    model = load_plan(stack_from(raw).migration)
    assert model.table_write_units == 40000 and model.bound.name == "replication instance"
    assert prewarm_advice(model) is None


SHIPPED_EXAMPLES = [("sandbox", None), ("prod", None), ("mixed", "examples"), ("many", "examples")]


@pytest.mark.parametrize(("stack", "project"), SHIPPED_EXAMPLES)
def test_shipped_stacks_are_bound_by_a_stage_not_a_hot_index_key(stack, project):
    from dmsmig.config.stack import PROJECT_DIR

    args = ["plan", "--stack", stack, "--json"]
    if project:
        args += ["--project-dir", str(PROJECT_DIR / project)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    load = json.loads(result.output)["load"]
    if project is None:  # the examples show scale and Serverless, not a tuned load
        assert load["taskWriteUnitsPerSecond"] <= load["tableWriteUnitsPerSecond"]
    stages = {s["stage"] for s in load["stages"]}
    assert {"source read", "replication instance", "task threads", "DynamoDB writes"} <= stages
    if load["hours"] is not None:
        assert " partition " not in load["boundBy"], f"{stack} is bound by one index key: {load['boundBy']}"
    if project is None:
        assert 0 < load["hours"] <= 24
    if stack == "sandbox":  # no GSI
        assert load["boundBy"] == "task threads" and len(stages) == 4


def test_the_prod_example_loads_in_about_half_a_day():
    load = load_plan(stack_from(raw_migration("prod")).migration)
    assert load.bound.name == "task threads" and 10 <= load.hours <= 12


def _prod_with_the_type_index():
    raw = raw_migration("prod")
    raw["target"]["globalSecondaryIndexes"] = [{"name": "by-type", "partitionKey": "itemtype", "sortKey": "created"}]
    return load_plan(stack_from(raw).migration)


def test_a_gsi_on_the_item_type_is_written_per_item_and_one_hot_partition_bounds_the_load():
    load = _prod_with_the_type_index()
    stages = {s.name: s for s in load.stages}
    # every item carries itemtype and created: each is written to by-type as well, as many units again
    assert stages["GSI by-type writes"].hours == pytest.approx(stages["DynamoDB writes"].hours)
    # the order-events group's items all have itemtype=event (its validation.itemFilter): one index
    # partition, 1,000 write units/s, whatever the pre-warm
    hot = stages["GSI by-type partition itemtype=event"]
    assert load.bound is hot
    assert hot.hours == pytest.approx(380_000_000 * 2 / 1000 / 3600)
    assert hot.hours > 10 * stages["task threads"].hours
    assert any("create the index after the full load" in n for n in load.notes)


def test_each_partitions_hours_are_within_the_whole_load_and_the_longest_is_it():
    load = _prod_with_the_type_index()
    assert max(load.partition_hours.values()) == pytest.approx(load.hours)
    # the auth partitions never touch itemtype=event: their own slowest stage is their hot key
    auth = load.partition_hours["prod-ordersvc-auth-events-p1"]
    assert auth == pytest.approx(55_000_000 * 1 / 1000 / 3600)


def test_sharing_a_stage_hands_a_finished_partitions_share_to_the_others():
    finish = fair_share_finish({"small": 10.0, "big": 30.0, "big2": 30.0}, rate=3.0)
    assert finish["small"] == pytest.approx(10.0)  # three at 1/s each
    assert finish["big"] == pytest.approx(10.0 + 20.0 / 1.5)  # then two at 1.5/s each
    assert max(finish.values()) == pytest.approx(70.0 / 3.0)  # never idle: all work over the rate


def test_warm_throughput_below_the_providers_minimum_is_refused_with_the_bound():
    from dmsmig.config.stack import ConfigError

    raw = raw_migration()
    raw["target"]["warmThroughput"] = {"writeUnitsPerSecond": 3999, "readUnitsPerSecond": 10}
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    text = "\n".join(caught.value.problems)
    assert "target.warmThroughput.writeUnitsPerSecond" in text and "4000" in text
    assert "target.warmThroughput.readUnitsPerSecond" in text and "12000" in text


def test_a_measured_source_rate_can_be_the_bound():
    raw = raw_migration()
    raw["sources"][0]["taskGroups"][0]["estimate"]["sourceRowsPerSecond"] = 500
    model = load_plan(stack_from(raw).migration)
    assert model.bound.name == "source read" and model.bound.hours == pytest.approx(12_000_000 / 500 / 3600)


def _task(table: str, threads: int, name: str):
    mappings = {"rules": [{"rule-type": "object-mapping", "target-table-name": table}]}
    settings = {"TargetMetadata": {"ParallelLoadThreads": threads}}
    return resource(
        TASK, {"tableMappings": json.dumps(mappings), "replicationTaskSettings": json.dumps(settings)}, name
    )


def test_advisory_rule_flags_threads_beyond_the_tables_write_units():
    table = resource(TABLE, {"name": "events", "billingMode": "PAY_PER_REQUEST"}, "t")
    busy = [_task("events", 25, f"p{i}") for i in range(4)]
    [(message, urn)] = check_stack(rules.writes_within_table_throughput, [table, *busy])
    assert "4 task(s) without an estimate counted at one unit an item" in message
    assert "can send 10,000 write units/s but the table accepts 4,000" in message and urn == table.urn
    warm = resource(TABLE, {"name": "events", "warmThroughput": {"writeUnitsPerSecond": 20000}}, "t")
    assert check_stack(rules.writes_within_table_throughput, [warm, *busy]) == []
    assert rules.writes_within_table_throughput.enforcement_level.value == "advisory"


@pytest.mark.parametrize(
    ("warm", "ok", "fragment"),
    [
        ({"Status": "ACTIVE", "WriteUnitsPerSecond": 22000}, True, "ACTIVE at 22,000"),
        ({"Status": "UPDATING", "WriteUnitsPerSecond": 4000}, False, "UPDATING at 4,000 write units/s"),
        ({"Status": "ACTIVE", "WriteUnitsPerSecond": 4000}, False, "asks for 22,000"),
        ({}, False, "no warm throughput reported"),
    ],
)
def test_preflight_checks_the_pre_warm_is_in_place(warm, ok, fragment):
    from dmsmig.ops.preflight import warm_throughput_check

    check = warm_throughput_check("order-events-prod", warm, 22000)
    assert check.ok is ok and fragment in check.reason
    assert ok or "at least 24 h ahead" in check.fix


def test_measured_write_units_per_item_replace_the_configured_guess_and_say_so():
    raw = raw_migration()
    group = raw["sources"][0]["taskGroups"][0]
    group["estimate"] = {"rows": 300_000_000, "averageRowBytes": 1800}  # 2 units an item
    group["partitions"] = {"count": 16, "min": 1, "max": 300_000_000}
    config = stack_from(raw).migration
    name = f"{raw['sources'][0]['name']}/{group['name']}"
    report = {
        "stack": "sandbox",
        "sourceRows": {"dbo.t": 20_000},
        "itemSizeByGroup": {name: {"writeUnitsPerItem": 1.5}},
    }
    measured = measured_items(report, "r.json")
    guessed, model = load_plan(config), load_plan(config, measured)
    assert guessed.write_units == 600_000_000 and model.write_units == 450_000_000
    assert _stages(model)["DynamoDB writes"] == pytest.approx(450_000_000 / 4000 / 3600)
    assert any(
        f"measured by r.json (rehearsal of stack sandbox, 20,000 source rows): {name} 1.5" in n for n in model.notes
    )


@pytest.mark.parametrize(
    ("report", "fragment"),
    [
        ([], "itemSizeByGroup is missing"),
        ({"itemSizeByGroup": {"a/b": {"writeUnitsPerItem": "2"}}}, "itemSizeByGroup.a/b.writeUnitsPerItem"),
        ({"itemSizeByGroup": {"a/b": {"writeUnitsPerItem": 0.5}}}, "from 1 to 400"),
        ({"itemSizeByGroup": {"a/b": 3}}, "itemSizeByGroup.a/b.writeUnitsPerItem"),
    ],
)
def test_a_report_that_is_not_a_rehearsals_names_the_key(report, fragment):
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")):
        measured_items(report, "r.json")
