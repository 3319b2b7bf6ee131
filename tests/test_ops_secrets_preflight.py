"""bootstrap-secret against moto Secrets Manager; preflight with moto (secrets, table, IAM) and stubbed DMS."""

from __future__ import annotations

import json
import logging
from datetime import UTC

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.config.stack import load_stack_config
from dmsmig.model import iam_docs
from dmsmig.ops import context as ops_context
from dmsmig.ops.outputs import OutputsFile, load_outputs
from dmsmig.ops.preflight import run_preflight
from tests.ops_fixtures import (
    REGION,
    clients_with,
    create_event_table,
    describe_params,
    describe_response,
    outputs_file,
    stubbed_dms,
    task_arns,
    task_description,
)

runner = CliRunner()
PASSWORD = "Pa55-w0rd!never-shown"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    with mock_aws():
        yield


def _cli_clients(monkeypatch, dms=None):
    made = clients_with(dms=dms)
    monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: made)
    return made


def test_bootstrap_creates_then_updates_without_duplicating(aws, monkeypatch):
    clients = _cli_clients(monkeypatch)
    args = ["bootstrap-secret", "--stack", "sandbox", "--source", "orders", "--username", "DMSMigrationUser", "--json"]
    first = runner.invoke(app, args, input=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, args, input="an0ther-Pa55\n")
    assert second.exit_code == 0, second.output
    first_result, second_result = json.loads(first.output), json.loads(second.output)
    assert first_result["created"] is True and second_result["created"] is False
    assert first_result["arn"] == second_result["arn"]
    assert first_result["version_id"] != second_result["version_id"]
    secrets = clients.secrets.list_secrets()["SecretList"]
    assert [s["Name"] for s in secrets] == ["sandbox-ordersvc-dms-credentials"]
    value = json.loads(clients.secrets.get_secret_value(SecretId="sandbox-ordersvc-dms-credentials")["SecretString"])
    assert value == {
        "username": "DMSMigrationUser",
        "password": "an0ther-Pa55",
        "host": "10.251.6.91",
        "port": 1433,
        "dbname": "ECommerce_Order",
        "engine": "sqlserver",
    }


def test_password_never_appears_in_output_logs_or_errors(aws, monkeypatch, caplog):
    _cli_clients(monkeypatch)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    args = ["bootstrap-secret", "--stack", "sandbox", "--source", "orders", "--username", "dms"]
    ok = runner.invoke(app, args, input=PASSWORD + "\n")
    assert ok.exit_code == 0

    # and when AWS refuses: the error names the secret, never the value
    def deny(**kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": str(kwargs)}}, "PutSecretValue")

    monkeypatch.setattr(ops_context.make_clients(REGION, None, None).secrets, "put_secret_value", deny)
    denied = runner.invoke(app, args, input=PASSWORD + "\n")
    assert denied.exit_code == 1 and "access denied" in denied.output
    assert any(r.name.startswith("botocore") for r in caplog.records)  # wire logging really was on
    for text in [ok.output, denied.output, str(denied.exception or "")] + [r.getMessage() for r in caplog.records]:
        assert PASSWORD not in text


@pytest.mark.parametrize("bad", ["semi;colon", "dot.ted", "co:lon", "pl+us"])
def test_bootstrap_refuses_characters_dms_does_not_allow_before_storing(aws, monkeypatch, bad):
    clients = _cli_clients(monkeypatch)
    args = ["bootstrap-secret", "--stack", "sandbox", "--source", "orders", "--username", "dms"]
    result = runner.invoke(app, args, input=f"Secret-{bad}\n")
    assert result.exit_code == 2
    assert "which DMS does not allow in endpoint passwords" in result.output and "nothing was stored" in result.output
    assert bad not in result.output
    assert clients.secrets.list_secrets()["SecretList"] == []


def test_unknown_source_is_named(aws, monkeypatch):
    _cli_clients(monkeypatch)
    result = runner.invoke(
        app, ["bootstrap-secret", "--stack", "sandbox", "--source", "billing", "--username", "u"], input="x\n"
    )
    assert result.exit_code == 2 and "no source 'billing'" in result.output and "orders" in result.output


def _deploy_fakes(clients, with_secret=True):
    config = load_stack_config("sandbox").migration
    if with_secret:
        clients.secrets.create_secret(Name="sandbox-ordersvc-dms-credentials", SecretString="{}")
    create_event_table(clients.dynamodb, "order-events-sandbox")
    role = "sandbox-ordersvc-source-orders-secret-access"
    clients.iam.create_role(RoleName=role, AssumeRolePolicyDocument=iam_docs.dms_trust_policy(REGION, regional=True))
    arn = (
        clients.secrets.describe_secret(SecretId="sandbox-ordersvc-dms-credentials")["ARN"]
        if with_secret
        else "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x"
    )
    clients.iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=iam_docs.secret_read_policy(arn, None))
    return config


ORDERABLE = {
    "OrderableReplicationInstances": [
        {"ReplicationInstanceClass": "dms.t3.medium", "EngineVersion": v} for v in ("3.5.2", "3.5.3", "3.5.4")
    ]
    + [{"ReplicationInstanceClass": "dms.r5.large", "EngineVersion": "3.5.4"}]
}


def _stub_dms_for_preflight(stubber, outputs, connection_status="successful", orderable=ORDERABLE):
    stubber.add_response(
        "describe_replication_instances",
        {
            "ReplicationInstances": [
                {
                    "ReplicationInstanceArn": outputs.instance_arns[0],
                    "ReplicationInstanceIdentifier": "sandbox-ordersvc-repl-1",
                    "ReplicationInstanceStatus": "available",
                }
            ]
        },
    )
    stubber.add_response("describe_orderable_replication_instances", orderable, {})
    arns = task_arns()
    stubber.add_response(
        "describe_replication_tasks",
        describe_response([task_description(a, "ready") for a in arns]),
        describe_params(arns),
    )
    for endpoint in [*outputs.source_endpoint_arns.values(), outputs.target_endpoint_arn]:
        stubber.add_response(
            "test_connection",
            {"Connection": {"Status": "testing"}},
            {"ReplicationInstanceArn": outputs.instance_arns[0], "EndpointArn": endpoint},
        )
        stubber.add_response("describe_connections", {"Connections": [{"Status": "testing"}]})
        failure = {"LastFailureMessage": "Test connection failed: timeout"} if connection_status == "failed" else {}
        stubber.add_response("describe_connections", {"Connections": [{"Status": connection_status, **failure}]})


def test_preflight_passes_when_everything_is_in_place(aws, tmp_path):
    client, stubber = stubbed_dms()
    clients = clients_with(dms=client)
    config = _deploy_fakes(clients)
    outputs = load_outputs(OutputsFile(outputs_file(tmp_path)))
    _stub_dms_for_preflight(stubber, outputs)
    with stubber:
        checks = run_preflight(clients, outputs, config, connection_timeout=5, poll=0, sleep=lambda s: None)
    assert [c.name for c in checks if not c.ok] == []
    assert {c.name for c in checks} >= {
        "instance sandbox-ordersvc-repl-1",
        "orderable dms.t3.medium 3.5.4",
        "secret orders",
        "role orders reads secret",
        "table order-events-sandbox",
        "task sandbox-ordersvc-orders-events-p1",
        "connection source orders",
        "connection target",
    }


def test_preflight_reports_each_failure_with_a_fix(aws, tmp_path, monkeypatch):
    client, stubber = stubbed_dms()
    clients = _cli_clients(monkeypatch, dms=client)
    _deploy_fakes(clients, with_secret=False)
    outputs = load_outputs(OutputsFile(outputs_file(tmp_path)))
    _stub_dms_for_preflight(stubber, outputs, connection_status="failed")
    with stubber:
        result = runner.invoke(
            app,
            [
                "preflight",
                "--stack",
                "sandbox",
                "--outputs-file",
                str(outputs_file(tmp_path)),
                "--json",
                "--connection-timeout",
                "5",
                "--poll-seconds",
                "0",
            ],
        )
    assert result.exit_code == 1
    failed = {c["name"]: c for c in json.loads(result.output) if not c["ok"]}
    assert failed["secret orders"]["fix"] == "python -m dmsmig bootstrap-secret --stack sandbox --source orders"
    assert failed["role orders reads secret"]["reason"] == "not checked: the secret does not exist yet"
    assert failed["role orders reads secret"]["fix"] == "bootstrap the secret first"
    assert "Test connection failed: timeout" in failed["connection source orders"]["reason"]
    assert "security groups" in failed["connection source orders"]["fix"]


def test_cdc_latency_comes_from_cloudwatch(aws):
    from datetime import datetime, timedelta

    from dmsmig.ops.dms import cdc_latency
    from dmsmig.ops.outputs import TaskRef

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    ref = TaskRef(
        taskId="stack-t-p1",
        resourceId="t-p1",
        arn="arn:t",
        instanceId="i-1",
        migrationType="full-load-and-cdc",
        range={},
    )
    now = datetime.now(UTC)
    dims = [
        {"Name": "ReplicationInstanceIdentifier", "Value": "i-1"},
        {"Name": "ReplicationTaskIdentifier", "Value": "t-p1"},
    ]
    for minutes, source, target in ((5, 40.0, 55.0), (1, 12.0, 20.0)):
        cloudwatch.put_metric_data(
            Namespace="AWS/DMS",
            MetricData=[
                {
                    "MetricName": "CDCLatencySource",
                    "Dimensions": dims,
                    "Value": source,
                    "Timestamp": now - timedelta(minutes=minutes),
                },
                {
                    "MetricName": "CDCLatencyTarget",
                    "Dimensions": dims,
                    "Value": target,
                    "Timestamp": now - timedelta(minutes=minutes),
                },
            ],
        )
    assert cdc_latency(cloudwatch, ref, now=now) == (12.0, 20.0)
    other = TaskRef(
        taskId="stack-t-p1",
        resourceId="t-p2",
        arn="arn:t2",
        instanceId="i-1",
        migrationType="full-load-and-cdc",
        range={},
    )
    assert cdc_latency(cloudwatch, other, now=now) == (None, None)


def test_preflight_names_a_role_policy_that_does_not_cover_the_secret(aws, tmp_path):
    client, stubber = stubbed_dms()
    clients = clients_with(dms=client)
    config = _deploy_fakes(clients)
    clients.iam.put_role_policy(
        RoleName="sandbox-ordersvc-source-orders-secret-access",
        PolicyName="read",
        PolicyDocument=iam_docs.secret_read_policy("arn:aws:secretsmanager:eu-west-1:123456789012:secret:other", None),
    )
    outputs = load_outputs(OutputsFile(outputs_file(tmp_path)))
    _stub_dms_for_preflight(stubber, outputs)
    with stubber:
        checks = run_preflight(clients, outputs, config, connection_timeout=5, poll=0, sleep=lambda s: None)
    [role] = [c for c in checks if c.name == "role orders reads secret"]
    assert not role.ok and role.reason == "its policy does not allow GetSecretValue on the secret"


@pytest.mark.parametrize(
    ("offers", "reason", "fix"),
    [
        (
            [("dms.t3.medium", "3.5.2"), ("dms.t3.medium", "3.5.3")],
            "engine version 3.5.4 is not offered",
            "3.5.2, 3.5.3",
        ),
        (
            [("dms.t3.large", "3.5.4"), ("dms.r5.large", "3.5.4")],
            "instance class dms.t3.medium is not offered",
            "dms.t3.large",
        ),
    ],
)
def test_preflight_names_an_instance_class_or_engine_version_the_region_does_not_offer(offers, reason, fix):
    from dmsmig.ops.preflight import orderable_check

    class Offers:
        def describe_orderable_replication_instances(self, **_kwargs):
            return {
                "OrderableReplicationInstances": [
                    {"ReplicationInstanceClass": c, "EngineVersion": v} for c, v in offers
                ]
            }

    check = orderable_check(Offers(), load_stack_config("sandbox").migration, "eu-west-1")
    assert not check.ok and reason in check.reason and "eu-west-1" in check.reason and fix in check.fix
