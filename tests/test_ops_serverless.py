"""Operator commands on a stack with a task group and a Serverless group, against the stateful DMS fake.

The fake refuses every call DMS refuses in the replication's state (facts.SERVERLESS_CALL_STATES),
so these tests show the commands use the Serverless calls, in the right states, for Serverless
groups and the task calls for the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.contract import facts
from dmsmig.offline.mock_engine import run_program
from dmsmig.ops import context as ops_context
from dmsmig.ops.decisions import update_refusal
from dmsmig.rehearsal.dms_emulator import EmulatedDms, EmulatedReplication, emulator_for_stack
from tests.ops_fixtures import clients_with

runner = CliRunner()
EXAMPLES = PROJECT_DIR / "examples"


@pytest.fixture(scope="module")
def mixed_outputs() -> dict:
    return run_program(load_stack_config("mixed", EXAMPLES), stack_name="mixed").outputs


@pytest.fixture(autouse=True)
def moto_cloudwatch(monkeypatch):
    """CloudWatch (CDC latency) from moto; DMS from the fake."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def _use(monkeypatch, fake: EmulatedDms) -> EmulatedDms:
    monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients_with(dms=fake))
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    return fake


def _run(tmp_path: Path, outputs: dict, *args: str):
    path = tmp_path / "mixed-outputs.json"
    path.write_text(json.dumps(outputs))
    return runner.invoke(app, [*args, "--stack", "mixed", "--project-dir", str(EXAMPLES), "--outputs-file", str(path)])


def _replications(fake: EmulatedDms) -> list[EmulatedReplication]:
    return [t for t in fake.tasks.values() if isinstance(t, EmulatedReplication)]


def test_start_uses_start_replication_for_serverless_and_start_task_for_tasks(monkeypatch, tmp_path, mixed_outputs):
    fake = _use(monkeypatch, emulator_for_stack(mixed_outputs))
    result = _run(tmp_path, mixed_outputs, "start", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["task"]: r for r in json.loads(result.output)}
    live = rows["staging-ordersvc-orders-live-p1"]
    assert (live["was"], live["action"], live["status"]) == ("ready", "start-replication", "starting")
    assert rows["staging-ordersvc-orders-events-p1"]["action"] == "start-replication"
    assert all(r.calls == ["start-replication"] and r.status == "initializing" for r in _replications(fake))


def test_status_shows_the_provisioning_phase_until_the_replication_runs(monkeypatch, tmp_path, mixed_outputs):
    fake = _use(monkeypatch, emulator_for_stack(mixed_outputs))
    assert _run(tmp_path, mixed_outputs, "start").exit_code == 0
    seen = []
    for _ in range(len(facts.SERVERLESS_START_PHASES)):
        fake.tick()
        result = _run(tmp_path, mixed_outputs, "status", "--group", "orders/live", "--json")
        assert result.exit_code == 0, result.output
        first = json.loads(result.output)[0]
        seen.append((first["status"], first["phase"]))
    assert seen[0] == ("starting", "preparing_metadata_resources")
    assert ("starting", "provisioning_capacity") in seen
    assert seen[-1] == ("running", "")


def test_stop_and_resume_use_the_serverless_calls_in_states_dms_accepts(monkeypatch, tmp_path, mixed_outputs):
    fake = _use(monkeypatch, emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p1": "running"}))
    result = _run(tmp_path, mixed_outputs, "stop", "--group", "orders/live", "--json")
    assert result.exit_code == 0, result.output
    assert {r["task"]: r["status"] for r in json.loads(result.output)} == {
        "staging-ordersvc-orders-live-p1": "stopping",
        "staging-ordersvc-orders-live-p2": "ready",  # never started: nothing to stop
    }
    fake.tick()
    result = _run(tmp_path, mixed_outputs, "resume", "--group", "orders/live", "--json")
    assert result.exit_code == 0, result.output
    actions = {r["task"]: r["action"] for r in json.loads(result.output)}
    assert actions == {
        "staging-ordersvc-orders-live-p1": "resume-processing",
        "staging-ordersvc-orders-live-p2": "not-startable",
    }
    p1 = next(r for r in _replications(fake) if r.identifier.endswith("-p1"))
    assert p1.calls == ["stop", "resume-processing"]


def test_reload_tables_on_a_running_replication_uses_reload_replication_tables(monkeypatch, tmp_path, mixed_outputs):
    fake = _use(monkeypatch, emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p2": "running"}))
    result = _run(
        tmp_path,
        mixed_outputs,
        "reload-tables",
        "--task",
        "staging-ordersvc-orders-live-p2",
        "--table",
        "dbo.OrderEvents",
    )
    assert result.exit_code == 0, result.output
    p2 = next(r for r in _replications(fake) if r.identifier.endswith("-p2"))
    assert p2.reloads == [{"SchemaName": "dbo", "TableName": "OrderEvents"}]


def test_a_failed_replication_reports_its_failure_message(monkeypatch, tmp_path, mixed_outputs):
    _use(monkeypatch, emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p1": "failed"}))
    result = _run(tmp_path, mixed_outputs, "status", "--group", "orders/live", "--json")
    first = json.loads(result.output)[0]
    assert first["status"] == "failed" and first["last_failure"] == "Test connection failed for endpoint source"


def test_the_fake_refuses_to_modify_a_running_replication_as_dms_does(mixed_outputs):
    fake = emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p1": "running"})
    running, created = sorted(_replications(fake), key=lambda r: r.identifier)
    with pytest.raises(Exception, match="InvalidResourceStateFault"):
        fake.modify_replication_config(ReplicationConfigArn=running.arn, ReplicationSettings="{}")
    fake.modify_replication_config(ReplicationConfigArn=created.arn, ReplicationSettings="{}")
    assert created.calls == ["modify"]


@pytest.mark.parametrize(
    ("serverless", "state", "blocked"),
    [
        (True, "created", False),
        (True, "stopped", False),
        (True, "failed", False),
        (True, "running", True),
        (True, "provisioning_capacity", True),
        (False, "stopped", False),
        (False, "running", True),
    ],
)
def test_update_refusal_follows_the_documented_modify_states(serverless, state, blocked):
    assert (update_refusal("x", serverless, state) is not None) == blocked


def test_update_check_names_running_replications_an_update_would_stop(monkeypatch, tmp_path, mixed_outputs):
    deployed = json.loads(json.dumps(mixed_outputs))
    for task in deployed["taskGroups"]["orders/live"]:
        task["definitionHash"] = "changed-since"
    _use(monkeypatch, emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p1": "running"}))
    result = _run(tmp_path, deployed, "update-check")
    assert result.exit_code == 1
    assert (
        "staging-ordersvc-orders-live-p1 is running; DMS modifies a replication config only in CREATED, FAILED, STOPPED"
        in result.output
    )
    assert "python -m dmsmig stop --stack mixed --task staging-ordersvc-orders-live-p1" in result.output
    assert "live-p2" not in result.output.split("fix:")[-1]


def test_update_check_passes_when_nothing_changed(monkeypatch, tmp_path, mixed_outputs):
    _use(monkeypatch, emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p1": "running"}))
    result = _run(tmp_path, mixed_outputs, "update-check")
    assert result.exit_code == 0, result.output
    assert "changes settings, mappings or type" in result.output


def test_cdc_latency_of_a_serverless_replication_is_read_by_its_own_dimension(monkeypatch, tmp_path, mixed_outputs):
    from datetime import UTC, datetime, timedelta

    _use(monkeypatch, emulator_for_stack(mixed_outputs, **{"staging-ordersvc-orders-live-p1": "running"}))
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    dims = [{"Name": facts.SERVERLESS_METRIC_DIMENSION, "Value": "ordersvc-stg-orders-live-p1"}]
    now = datetime.now(UTC) - timedelta(minutes=1)
    cloudwatch.put_metric_data(
        Namespace="AWS/DMS",
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": now}
            for name, value in (("CDCLatencySource", 7.0), ("CDCLatencyTarget", 9.0))
        ],
    )
    result = _run(tmp_path, mixed_outputs, "status", "--task", "staging-ordersvc-orders-live-p1", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["cdc_latency_source"], row["cdc_latency_target"]) == (7.0, 9.0)


def test_preflight_checks_the_vpc_endpoints_serverless_needs():
    from dmsmig.ops.preflight import vpc_endpoint_checks

    ec2 = boto3.client("ec2", region_name="eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    config = load_stack_config("mixed", EXAMPLES).migration
    config = config.model_copy(update={"network": config.network.model_copy(update={"vpc_id": vpc})})
    missing = vpc_endpoint_checks(ec2, config)
    assert [(c.name, c.ok) for c in missing] == [
        ("VPC endpoint secretsmanager", False),
        ("VPC endpoint dynamodb", False),
    ]
    assert "network.vpcEndpoints.secretsManager: true" in missing[0].fix
    route_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.dynamodb", RouteTableIds=[route_table])
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.eu-west-1.secretsmanager", VpcEndpointType="Interface"
    )
    assert [c.ok for c in vpc_endpoint_checks(ec2, config)] == [True, True]


def test_watch_follows_tasks_and_replications_until_every_load_is_done(monkeypatch, tmp_path, mixed_outputs):
    fake = _use(monkeypatch, emulator_for_stack(mixed_outputs))
    assert _run(tmp_path, mixed_outputs, "start").exit_code == 0
    from dmsmig.cli import operate

    monkeypatch.setattr(operate.time, "sleep", lambda seconds: fake.tick())
    watched = _run(tmp_path, mixed_outputs, "watch", "--interval", "1", "--timeout", "600")
    assert watched.exit_code == 0, watched.output
    assert "done" in watched.output
    live = [r for r in _replications(fake)]
    assert {r.status for r in live} == {"running"} and all(r.progress == 100 for r in live)


def test_a_stopped_serverless_full_load_at_100_percent_counts_as_done():
    from dmsmig.ops.decisions import TaskProgress

    finished = TaskProgress("r", "stopped", "full-load", progress_percent=100, tables_loaded=1, serverless=True)
    assert finished.full_load_done
    paused = TaskProgress("r", "stopped", "full-load", progress_percent=60, tables_loaded=0, serverless=True)
    assert not paused.full_load_done
    task = TaskProgress("t", "stopped", "full-load", progress_percent=100, tables_loaded=1)
    assert not task.full_load_done  # a task says so in its stop reason


def test_cutover_preconditions_read_serverless_replications(monkeypatch, tmp_path, mixed_outputs):
    from dmsmig.cutover.actions import CutoverActions
    from dmsmig.cutover.machine import Step
    from dmsmig.ops.outputs import StackOutputs

    fake = emulator_for_stack(
        mixed_outputs,
        **{
            "staging-ordersvc-orders-events-p1": "stopped",
            "staging-ordersvc-orders-events-p2": "stopped",
            "staging-ordersvc-orders-live-p1": "failed",
            "staging-ordersvc-orders-live-p2": "running",
        },
    )
    for task in fake.tasks.values():
        task.stop_reason = "Stop Reason FULL_LOAD_ONLY_FINISHED" if "events" in task.identifier else ""
        task.progress = 100
        task.tables[0]["TableState"] = "Table completed"
    actions = CutoverActions(
        config=load_stack_config("mixed", EXAMPLES),
        outputs=StackOutputs.model_validate(mixed_outputs),
        clients=clients_with(dms=fake),
        driver=None,
        validate=lambda: {"ok": True, "groups": {}},
    )
    gate = actions.gate(Step.PRECONDITIONS)
    assert not gate.ok
    problems = gate.reason.split("; ")
    assert problems == [
        "staging-ordersvc-orders-live-p1 has tables in error or failed: Test connection failed for endpoint source",
        "staging-ordersvc-orders-live-p2 CDC latency [None, None] is not below 60s",
    ]


def test_the_fake_keeps_tasks_and_replications_apart_as_dms_does(mixed_outputs):
    fake = emulator_for_stack(mixed_outputs)
    replication = _replications(fake)[0]
    task = next(t for t in fake.tasks.values() if not isinstance(t, EmulatedReplication))
    assert {t["ReplicationTaskArn"] for t in fake.describe_replication_tasks()["ReplicationTasks"]} == {
        t.arn for t in fake.tasks.values() if not isinstance(t, EmulatedReplication)
    }
    with pytest.raises(Exception, match="ResourceNotFoundFault"):
        fake.start_replication_task(ReplicationTaskArn=replication.arn, StartReplicationTaskType="start-replication")
    with pytest.raises(Exception, match="ResourceNotFoundFault"):
        fake.stop_replication(ReplicationConfigArn=task.arn)
