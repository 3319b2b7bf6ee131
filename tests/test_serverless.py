"""DMS Serverless task groups: config limits at their key paths, the built stack, the contract and the policies."""

from __future__ import annotations

import copy
import json

import pulumi
import pytest

from dmsmig.config.stack import PROJECT_DIR, ConfigError, load_stack_config
from dmsmig.contract import facts
from dmsmig.contract.check import check_resources
from dmsmig.model.estimate import instance_cost
from dmsmig.offline import policy_check as pc
from dmsmig.offline.mock_engine import run_program
from tests.conftest import raw_migration, stack_from

CONFIG = "aws:dms/replicationConfig:ReplicationConfig"
TASK = "aws:dms/replicationTask:ReplicationTask"
INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"


def mixed_raw() -> dict:
    """The sandbox with a second, Serverless CDC group over the base table (and the endpoints it needs)."""
    raw = raw_migration("sandbox")
    raw["network"]["vpcEndpoints"] = {"secretsManager": True, "dynamodb": True}
    raw["network"]["routeTableIds"] = ["rtb-0a1b2c3d4e5f60020"]
    raw["sources"][0]["taskGroups"].append(
        {
            "name": "live",
            "engine": "serverless",
            "capacity": {"minCapacityUnits": 2, "maxCapacityUnits": 16},
            "mapping": "orders_table",
            "migrationType": "full-load-and-cdc",
            "partitions": {"count": 3, "min": 1, "max": 300},
        }
    )
    return raw


def serverless_only_raw() -> dict:
    raw = mixed_raw()
    raw["sources"][0]["taskGroups"] = raw["sources"][0]["taskGroups"][1:]
    return raw


def error_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as err:
        stack_from(raw)
    return str(err.value)


@pytest.fixture(scope="module")
def mixed_run():
    return run_program(stack_from(mixed_raw()), stack_name="mixed")


# Config: every Serverless limit is an error at its key path ---------------------------------------
def test_a_serverless_group_over_a_view_is_refused_at_its_engine_key():
    raw = mixed_raw()
    raw["sources"][0]["taskGroups"][0]["engine"] = "serverless"
    raw["sources"][0]["taskGroups"][0]["capacity"] = {"maxCapacityUnits": 8}
    message = error_of(raw)
    assert "migration.sources[0].taskGroups[0].engine" in message
    assert "does not support views" in message and "dbo.vw_Dynamodbmigration" in message
    assert "engine: instance" in message


def test_a_custom_cdc_start_point_is_refused_on_serverless_and_allowed_on_instances():
    raw = mixed_raw()
    group = raw["sources"][0]["taskGroups"][1]
    group["migrationType"] = "cdc"
    group["cdcStartPosition"] = "2026-11-20T00:00:00"
    message = error_of(raw)
    assert "taskGroups[1].cdcStartPosition" in message and "custom CDC start points" in message
    group["engine"] = "instance"
    del group["capacity"]
    config = stack_from(raw)
    assert config.migration.sources[0].task_groups[1].cdc_start_position == "2026-11-20T00:00:00"


def test_a_cdc_start_point_on_a_full_load_group_is_refused():
    raw = raw_migration("sandbox")
    raw["sources"][0]["taskGroups"][0]["cdcStartPosition"] = "2026-11-20T00:00:00"
    assert "taskGroups[0].cdcStartPosition: a CDC start point applies to migrationType cdc" in error_of(raw)


@pytest.mark.parametrize("missing", ["secretsManager", "dynamodb"])
def test_serverless_needs_each_vpc_endpoint(missing):
    raw = mixed_raw()
    raw["network"]["vpcEndpoints"][missing] = False
    message = error_of(raw)
    assert f"migration.network.vpcEndpoints.{missing}" in message
    assert "sources[0].taskGroups[1] is serverless" in message and "existing" in message


def test_endpoints_the_vpc_already_has_satisfy_serverless():
    raw = mixed_raw()
    raw["network"]["vpcEndpoints"] = {"existing": ["secretsManager", "dynamodb"]}
    del raw["network"]["routeTableIds"]
    config = stack_from(raw)
    run = run_program(config, stack_name="existing")
    assert not run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert len(run.of_type(CONFIG)) == 3


def test_an_endpoint_both_created_and_existing_is_refused():
    raw = mixed_raw()
    raw["network"]["vpcEndpoints"]["existing"] = ["dynamodb"]
    assert "network.vpcEndpoints.existing: 'dynamodb' is listed as existing and also created" in error_of(raw)


def test_serverless_refuses_a_source_engine_it_does_not_support(monkeypatch):
    # All four engines the config accepts are Serverless sources today (fact serverless-source-engines);
    # the check reads the fact, so a narrower list is enforced at the group's key path.
    monkeypatch.setattr(facts, "SERVERLESS_SOURCE_ENGINES", frozenset({"postgres"}))
    message = error_of(mixed_raw())
    assert "taskGroups[1].engine: DMS Serverless does not support sqlserver sources" in message


@pytest.mark.parametrize(
    ("capacity", "fragment"),
    [
        (None, "taskGroups[1].capacity: required with engine: serverless"),
        ({"maxCapacityUnits": 3}, "3 is not a DMS capacity unit value"),
        ({"maxCapacityUnits": 512}, "512 is not a DMS capacity unit value"),
        ({"minCapacityUnits": 16, "maxCapacityUnits": 4}, "capacity.minCapacityUnits: 16 is above maxCapacityUnits 4"),
        ({"minCapacityUnits": 2}, "capacity.maxCapacityUnits: required key is missing"),
    ],
)
def test_capacity_units_are_the_documented_values(capacity, fragment):
    raw = mixed_raw()
    group = raw["sources"][0]["taskGroups"][1]
    if capacity is None:
        del group["capacity"]
    else:
        group["capacity"] = capacity
    assert fragment in error_of(raw)


def test_capacity_on_an_instance_group_is_refused():
    raw = raw_migration("sandbox")
    raw["sources"][0]["taskGroups"][0]["capacity"] = {"maxCapacityUnits": 4}
    assert "taskGroups[0].capacity: applies only to engine: serverless" in error_of(raw)


def test_valid_capacity_units_come_from_the_aws_model():
    assert facts.SERVERLESS_CAPACITY_UNITS == (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
    assert facts.SERVERLESS_MAX_UNITS_REQUIRED is True


# The built stack ------------------------------------------------------------------------------------
def test_each_serverless_partition_is_a_replication_config_over_the_stack_network(mixed_run):
    configs = sorted(mixed_run.of_type(CONFIG), key=lambda r: r.inputs["replicationConfigIdentifier"])
    assert [c.inputs["replicationConfigIdentifier"] for c in configs] == [
        f"sandbox-ordersvc-orders-live-p{i}" for i in (1, 2, 3)
    ]
    subnet_group = mixed_run.of_type("aws:dms/replicationSubnetGroup:ReplicationSubnetGroup")[0]
    key = mixed_run.of_type("aws:kms/key:Key")[0]
    for config in configs:
        compute = config.inputs["computeConfig"]
        assert compute["replicationSubnetGroupId"] == subnet_group.inputs["replicationSubnetGroupId"]
        assert compute["vpcSecurityGroupIds"] == ["sg-0a1b2c3d4e5f60010"]
        assert compute["kmsKeyId"] == key.outputs["arn"]
        assert (compute["minCapacityUnits"], compute["maxCapacityUnits"], compute["multiAz"]) == (2, 16, False)
        assert config.inputs["replicationType"] == "full-load-and-cdc"
        assert config.inputs["startReplication"] is False
        settings = json.loads(config.inputs["replicationSettings"])
        assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
    filters = [json.loads(c.inputs["tableMappings"])["rules"][0]["filters"][0]["filter-conditions"][0] for c in configs]
    assert filters[0] == {"filter-operator": "lte", "value": "100"}
    assert filters[1] == {"filter-operator": "between", "start-value": "101", "end-value": "200"}
    assert filters[2] == {"filter-operator": "gte", "value": "201"}


def test_prod_turns_on_multi_az_for_serverless_too():
    raw = mixed_raw()
    raw["environment"] = "prod"
    run = run_program(stack_from(raw), stack_name="prod-like")
    assert all(c.inputs["computeConfig"]["multiAz"] is True for c in run.of_type(CONFIG))


def test_instances_are_created_only_for_instance_groups(mixed_run):
    assert len(mixed_run.of_type(TASK)) == 4
    assert len(mixed_run.of_type(INSTANCE)) == 1
    run = run_program(stack_from(serverless_only_raw()), stack_name="serverless")
    assert run.of_type(INSTANCE) == [] and run.of_type(TASK) == []
    assert len(run.of_type("aws:dms/replicationSubnetGroup:ReplicationSubnetGroup")) == 1
    assert run.outputs["instanceArns"] == [] and run.outputs["instanceIds"] == []


def test_packing_counts_only_instance_tasks():
    raw = mixed_raw()
    raw["replication"]["maxTasksPerInstance"] = 4
    raw["sources"][0]["taskGroups"][1]["partitions"] = {"count": 50, "min": 1, "max": 5000}
    config = stack_from(raw)
    assert len(config.migration.instance_slots()) == 4
    assert instance_cost(config.migration).count == 1


def test_outputs_mark_each_partition_with_its_kind(mixed_run):
    groups = mixed_run.outputs["taskGroups"]
    assert {t["kind"] for t in groups["orders/events"]} == {"task"}
    live = groups["orders/live"]
    assert {t["kind"] for t in live} == {"serverless"} and {t["instanceId"] for t in live} == {None}
    assert live[0]["arn"] == "arn:aws:dms:eu-west-1:123456789012:replication-config:ordersvc-sbx-orders-live-p1"


def test_serverless_replications_are_alarmed_on_capacity_failures_and_cdc_latency(mixed_run):
    alarms = {a.inputs["name"]: a.inputs for a in mixed_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    capacity = alarms["sandbox-ordersvc-orders-live-p1-capacity"]
    assert capacity["metricName"] == "CapacityUtilization"
    assert capacity["dimensions"] == {facts.SERVERLESS_METRIC_DIMENSION: "ordersvc-sbx-orders-live-p1"}
    assert alarms["sandbox-ordersvc-orders-live-p1-cdc-latency"]["metricName"] == "CDCLatencyTarget"
    failed = alarms["sandbox-ordersvc-orders-live-p1-failed"]
    assert failed["dimensions"]["TaskArn"].endswith(":replication-config:ordersvc-sbx-orders-live-p1")
    subscription = mixed_run.of_type("aws:dms/eventSubscription:EventSubscription")[0]
    assert all("-events-" in i for i in subscription.inputs["sourceIds"])  # only tasks: DMS events cover no configs
    rule = mixed_run.of_type("aws:cloudwatch/eventRule:EventRule")[0]
    prefixes = [r["prefix"] for r in json.loads(rule.inputs["eventPattern"])["resources"]]
    assert prefixes == [
        "arn:aws:dms:eu-west-1:123456789012:task:ordersvc-sbx-",
        "arn:aws:dms:eu-west-1:123456789012:replication-config:ordersvc-sbx-",
    ]


# Contract --------------------------------------------------------------------------------------------
def test_the_mixed_stacks_requests_are_ones_aws_accepts(mixed_run):
    requests, problems = check_resources(mixed_run.resources)
    assert [str(p) for p in problems] == []
    creates = [r for r in requests if r.operation == "CreateReplicationConfig"]
    assert len(creates) == 3
    assert creates[0].params["ComputeConfig"]["MaxCapacityUnits"] == 16


def test_the_contract_refuses_capacity_aws_does_not_accept(mixed_run):
    resource = copy.deepcopy(next(r for r in mixed_run.resources if r.type == CONFIG))
    resource.inputs["computeConfig"]["maxCapacityUnits"] = 12
    resource.inputs["computeConfig"]["availabilityZone"] = "eu-west-1a"
    resource.inputs["computeConfig"]["multiAz"] = True
    _requests, problems = check_resources([resource])
    text = " ".join(str(p) for p in problems)
    assert "MaxCapacityUnits 12 is not one of" in text
    assert "AvailabilityZone cannot be set with MultiAZ true" in text


def test_the_contract_refuses_a_view_in_a_serverless_mapping(mixed_run):
    resource = copy.deepcopy(next(r for r in mixed_run.resources if r.type == CONFIG))
    mappings = json.loads(resource.inputs["tableMappings"])
    mappings["rules"][0]["object-locator"]["table-type"] = "view"
    resource.inputs["tableMappings"] = json.dumps(mappings)
    _requests, problems = check_resources([resource])
    assert any("DMS Serverless supports no views" in str(p) for p in problems)


# Policies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["sandbox", "prod"])
def test_the_shipped_mixed_example_passes_the_policy_check(stack):
    config = load_stack_config("mixed", PROJECT_DIR / "examples")
    run = run_program(config, stack_name="mixed")
    violations = pc.evaluate(run, pc.load_pack_config(pc.pack_config_path(stack)))
    mandatory = [v for v in violations if v.level == "mandatory"]
    if stack == "sandbox":
        assert mandatory == []
    else:  # prod's pack also wants multi-AZ, a CMK table, prod tags and r5 classes: a staging stack fails those
        assert {v.policy for v in mandatory} <= {
            "prod-resilience",
            "encryption",
            "required-tags",
            "allowed-instance-classes",
        }
        assert any(
            v.policy == "prod-resilience" and "Serverless replication is single-AZ" in v.message for v in mandatory
        )


def _violations(run, policy: str) -> list:
    return [v for v in pc.evaluate(run, pc.load_pack_config(pc.pack_config_path("sandbox"))) if v.policy == policy]


def test_policies_cover_replication_configs_like_tasks():
    raw = mixed_raw()
    raw["sources"][0]["taskGroups"][1]["taskSettings"] = {
        "FullLoadSettings": {"TargetTablePrepMode": "DROP_AND_CREATE"}
    }

    def start_and_drop_network(args):
        if args.type_ == CONFIG:
            args.props["start_replication"] = True
            pulumi.set(args.props["compute_config"], "vpc_security_group_ids", [])
            return pulumi.ResourceTransformationResult(args.props, args.opts)
        return None

    run = run_program(stack_from(raw), stack_name="bad", transformations=[start_and_drop_network])
    prep = _violations(run, "dynamodb-target-do-nothing")
    assert len(prep) == 3 and all("sandbox-ordersvc-orders-live-p" in v.message for v in prep)
    private = " ".join(v.message for v in _violations(run, "private-serverless-replication"))
    assert "startReplication is true" in private and "no vpcSecurityGroupIds" in private


def test_partitions_complete_checks_serverless_ranges():
    def widen_gap(args):
        if args.type_ == CONFIG and args.name.endswith("live-p2"):
            mappings = json.loads(args.props["table_mappings"])
            mappings["rules"][0]["filters"][0]["filter-conditions"][0]["start-value"] = "151"
            args.props["table_mappings"] = json.dumps(mappings)
            return pulumi.ResourceTransformationResult(args.props, args.opts)
        return None

    run = run_program(stack_from(mixed_raw()), stack_name="gap", transformations=[widen_gap])
    gaps = _violations(run, "partitions-complete")
    assert len(gaps) == 1 and "keys 101..150 are in no task" in gaps[0].message


def test_every_serverless_replication_must_be_alarmed():
    def drop_live_alarms(args):
        if args.type_ == "aws:cloudwatch/metricAlarm:MetricAlarm" and "-live-p1-" in args.name:
            args.props["alarm_actions"] = []
            return pulumi.ResourceTransformationResult(args.props, args.opts)
        return None

    run = run_program(stack_from(mixed_raw()), stack_name="quiet", transformations=[drop_live_alarms])
    unalarmed = _violations(run, "every-task-alarmed")
    assert [v.message.split(" has no")[0] for v in unalarmed] == ["task sandbox-ordersvc-orders-live-p1"]


def test_a_serverless_only_stack_plans_without_an_instance_stage():
    from dmsmig.model.throughput import load_plan

    raw = serverless_only_raw()
    raw["sources"][0]["taskGroups"][0]["estimate"] = {"rows": 3000000, "averageRowBytes": 900}
    config = stack_from(raw).migration
    model = load_plan(config)
    instance = next(s for s in model.stages if s.name == "replication instance")
    assert instance.hours is None and "every group is Serverless" in instance.limit
    assert model.bound is not None and model.bound.name == "task threads"
    [group] = model.serverless
    assert (group.replications, group.min_units, group.max_units) == (3, 2, 16)
    low, high = group.usd_for(2.0)
    assert high == 8 * low  # 16 DCU against 2 DCU
