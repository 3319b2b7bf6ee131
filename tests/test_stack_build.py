"""The shipped stacks build under the mock engine with the expected resources and properties."""

from __future__ import annotations

import json
import re

import pytest

from dmsmig.config.stack import PASSWORD_KEY
from dmsmig.contract import facts
from dmsmig.offline.mock_engine import run_program
from tests.conftest import SHIPPED_STACKS, built, raw_migration, stack_from

TASK = "aws:dms/replicationTask:ReplicationTask"
ENDPOINT = "aws:dms/endpoint:Endpoint"
INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"
TABLE = "aws:dynamodb/table:Table"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


EXPECTED_COUNTS = {
    "sandbox": {TASK: 4, ENDPOINT: 2, INSTANCE: 1, TABLE: 2, ALARM: 4, "aws:iam/role:Role": 4},
    "prod": {TASK: 6, ENDPOINT: 3, INSTANCE: 1, TABLE: 2, ALARM: 6, "aws:iam/role:Role": 3},
}


def target_table(run):
    """The event-store table (the other table holds cutover state)."""
    return next(t for t in run.of_type(TABLE) if not t.inputs["name"].endswith("-dmsmig-cutover"))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stack_has_the_expected_resources(stack):
    run = built(stack)
    for type_, count in EXPECTED_COUNTS[stack].items():
        assert len(run.of_type(type_)) == count, type_


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_child_is_parented_by_a_component_and_named_after_it(stack):
    run = built(stack)
    by_urn = run.by_urn()
    for resource in run.resources:
        if resource.custom:
            parent = by_urn[resource.parent]
            assert not parent.custom
            assert resource.name.startswith(parent.name + "-"), resource.name
        else:
            assert resource.type.startswith("dmsmig:")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_instances_are_private_and_keyed(stack):
    for instance in built(stack).of_type(INSTANCE):
        assert instance.inputs["publiclyAccessible"] is False
        assert instance.inputs["autoMinorVersionUpgrade"] is True
        assert instance.inputs["kmsKeyArn"].startswith("arn:aws:kms:")
    multi_az = [i.inputs["multiAz"] for i in built(stack).of_type(INSTANCE)]
    assert multi_az == [stack == "prod"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_task_carries_do_nothing_and_logging(stack):
    tasks = built(stack).of_type(TASK)
    assert tasks
    for task in tasks:
        settings = json.loads(task.inputs["replicationTaskSettings"])
        assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
        assert settings["Logging"]["EnableLogging"] is True
        assert task.inputs["startReplicationTask"] is False
        resource_id = task.inputs["resourceIdentifier"]
        assert len(resource_id) <= facts.TASK_RESOURCE_IDENTIFIER_MAX
        assert task.inputs["replicationTaskId"].endswith(resource_id.split("-", 2)[2])


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_resource_input_carries_a_password(stack):
    def walk(value, path):
        if isinstance(value, dict):
            for key, child in value.items():
                assert not PASSWORD_KEY.search(key), f"{path}.{key}"
                walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, f"{path}[{i}]")
        elif isinstance(value, str):
            assert not re.search(r"(password|pwd)\s*=", value, re.IGNORECASE), path

    run = built(stack)
    for resource in run.resources:
        walk(resource.inputs, resource.urn)
    assert not run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert not run.of_type("random:index/randomPassword:RandomPassword")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_source_endpoints_read_secrets_manager_through_their_own_role(stack):
    run = built(stack)
    sources = [e for e in run.of_type(ENDPOINT) if e.inputs["endpointType"] == "source"]
    assert sources
    policies = {p.parent: json.loads(p.inputs["policy"]) for p in run.of_type(ROLE_POLICY)}
    for endpoint in sources:
        assert endpoint.inputs["secretsManagerArn"].startswith("arn:aws:secretsmanager:")
        assert endpoint.inputs["secretsManagerAccessRoleArn"].startswith("arn:aws:iam::")
        assert endpoint.inputs["sslMode"] != "none"
        statement = policies[endpoint.parent]["Statement"][0]
        assert statement["Resource"] == endpoint.inputs["secretsManagerArn"]
        assert statement["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_target_role_is_least_privilege(stack):
    run = built(stack)
    table = target_table(run)
    target = next(e for e in run.of_type(ENDPOINT) if e.inputs["engineName"] == "dynamodb")
    policy = next(p for p in run.of_type(ROLE_POLICY) if p.parent == target.parent)
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["WriteTargetTable"]["Resource"] == table.outputs["arn"]
    assert "dynamodb:CreateTable" not in statements["WriteTargetTable"]["Action"]
    assert "dynamodb:DeleteTable" not in statements["WriteTargetTable"]["Action"]
    assert "dynamodb:DeleteTable" in statements["ManageControlTables"]["Action"]
    assert statements["ManageControlTables"]["Resource"] == [
        table.outputs["arn"].replace(table.inputs["name"], "awsdms_apply_exceptions"),
        table.outputs["arn"].replace(table.inputs["name"], "awsdms_full_load_exceptions"),
    ]
    wildcard = [s for s in statements.values() if s["Resource"] == "*"]
    assert [s["Action"] for s in wildcard] == [["dynamodb:ListTables"]]
    granted = {a for s in statements.values() for a in s["Action"] if a.startswith("dynamodb:")}
    assert granted <= set(facts.DYNAMODB_ROLE_DOCUMENTED_ACTIONS) | {"dynamodb:ListTables"}


def test_prod_table_is_protected_encrypted_with_the_stack_key_and_recoverable():
    run = built("prod")
    table = target_table(run)
    assert table.inputs["deletionProtectionEnabled"] is True
    assert table.protect is True
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    key = run.of_type("aws:kms/key:Key")[0]
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key.outputs["arn"]}


def test_sandbox_table_uses_on_demand_billing_and_ttl():
    table = target_table(built("sandbox"))
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["ttl"] == {"attributeName": "expiry", "enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is False


def test_outputs_list_task_arns_with_their_ranges():
    outputs = built("sandbox").outputs
    tasks = outputs["taskGroups"]["orders/events"]
    assert [t["range"] for t in tasks] == [
        {"from": None, "to": 100000000},
        {"from": 100000001, "to": 200000000},
        {"from": 200000001, "to": 300000000},
        {"from": 300000001, "to": None},
    ]
    assert all(t["arn"].endswith(":task:" + t["resourceId"]) for t in tasks)
    for key in ("instanceArns", "sourceEndpointArns", "targetEndpointArn", "tableName", "tableArn", "topicArn"):
        assert outputs[key], key
    assert outputs["alarmNames"] == [f"{t['taskId']}-failed" for t in tasks]
    assert outputs["readSwitchParameter"] == "/ordersvc/sandbox/reads-from"


def test_cdc_tasks_get_latency_alarms():
    raw = raw_migration("sandbox")
    raw["sources"][0]["taskGroups"].append(
        {"name": "live", "mapping": "orders_table", "migrationType": "full-load-and-cdc"}
    )
    run = run_program(stack_from(raw))
    names = [a.inputs["name"] for a in run.of_type(ALARM)]
    assert "sandbox-ordersvc-orders-live-p1-cdc-latency" in names
    latency = next(a for a in run.of_type(ALARM) if a.inputs["name"].endswith("cdc-latency"))
    assert latency.inputs["dimensions"] == {
        "ReplicationInstanceIdentifier": "sandbox-ordersvc-repl-1",
        "ReplicationTaskIdentifier": "ordersvc-sbx-orders-live-p1",
    }
    assert latency.inputs["metricName"] == "CDCLatencyTarget"


def test_every_task_is_in_the_event_subscription_and_failure_rule():
    run = built("prod")
    subscription = run.of_type("aws:dms/eventSubscription:EventSubscription")[0]
    task_ids = sorted(t.inputs["replicationTaskId"] for t in run.of_type(TASK))
    assert sorted(subscription.inputs["sourceIds"]) == task_ids
    pattern = json.loads(run.of_type("aws:cloudwatch/eventRule:EventRule")[0].inputs["eventPattern"])
    [prefix] = [r["prefix"] for r in pattern["resources"]]
    assert prefix == "arn:aws:dms:eu-west-1:123456789012:task:ordersvc-prd-"
    assert all(t.outputs["replicationTaskArn"].startswith(prefix) for t in run.of_type(TASK))


def test_decommissioned_stack_keeps_only_tables_key_and_read_switch():
    raw = raw_migration("prod")
    raw["decommissioned"] = True
    run = run_program(stack_from(raw))
    custom_types = {r.type for r in run.resources if r.custom}
    assert custom_types == {TABLE, "aws:ssm/parameter:Parameter", "aws:kms/key:Key", "aws:kms/alias:Alias"}
    assert sorted(t.inputs["name"] for t in run.of_type(TABLE)) == ["order-events-prod", "prod-ordersvc-dmsmig-cutover"]


def test_tasks_are_packed_onto_as_many_instances_as_needed():
    raw = raw_migration("sandbox")
    raw["replication"]["maxTasksPerInstance"] = 3
    raw["sources"][0]["taskGroups"][0]["partitions"] = {"count": 7, "min": 1, "max": 700}
    run = run_program(stack_from(raw))
    instances = run.of_type(INSTANCE)
    assert sorted(i.inputs["replicationInstanceId"] for i in instances) == [
        f"sandbox-ordersvc-repl-{n}" for n in (1, 2, 3)
    ]
    per_instance = {}
    for task in run.of_type(TASK):
        per_instance.setdefault(task.inputs["replicationInstanceArn"], []).append(task)
    assert sorted(len(v) for v in per_instance.values()) == [2, 2, 3]


def test_number_keys_are_declared_with_their_type_and_must_match_the_mapping(tmp_path, monkeypatch):
    from dmsmig.config import mapping_spec
    from dmsmig.config.stack import ConfigError
    from tests.conftest import raw_migration, stack_from

    raw = raw_migration()
    raw["target"]["attributeTypes"] = {"SK": "N"}
    with pytest.raises(
        ConfigError, match=r"target.attributeTypes.SK: N, but mappings/order_events.yaml writes SK as a string"
    ):
        stack_from(raw)
    raw["target"]["attributeTypes"] = {"SK": "B"}
    with pytest.raises(ConfigError, match="DMS writes no binary attribute"):
        stack_from(raw)

    specs = tmp_path / "mappings"
    specs.mkdir()
    for path in mapping_spec.MAPPINGS_DIR.glob("*.yaml"):
        (specs / path.name).write_text(path.read_text())
    spec = specs / "order_events.yaml"
    spec.write_text(
        spec.read_text().replace('{name: SK, type: string, value: "${SK}"}', '{name: SK, type: number, value: "${Id}"}')
    )
    monkeypatch.setattr(mapping_spec, "MAPPINGS_DIR", specs)
    raw["target"]["attributeTypes"] = {"SK": "N"}
    run = run_program(stack_from(raw))
    table = target_table(run)
    assert {"name": "SK", "type": "N"} in table.inputs["attributes"]
    assert {"name": "PK", "type": "S"} in table.inputs["attributes"]


def test_a_pre_warmed_tables_indexes_are_pre_warmed_alike():
    raw = raw_migration("prod")
    raw["target"]["globalSecondaryIndexes"] = [{"name": "by-type", "partitionKey": "itemtype", "sortKey": "created"}]
    table = target_table(run_program(stack_from(raw)))
    assert table.inputs["warmThroughput"]["writeUnitsPerSecond"] == 22000
    [index] = table.inputs["globalSecondaryIndexes"]
    assert index["warmThroughput"] == table.inputs["warmThroughput"]
