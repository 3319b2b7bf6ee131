"""Bad input through the real CLI entry: one error line naming the file, key or resource, a fix, the exit code.

Every case runs ``dmsmig.cli.main(argv)`` (what ``python -m dmsmig`` runs) and asserts the
documented exit code (docs/exit-codes.md), the words that name what was wrong, a fix, and that
no traceback was printed.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError, ConnectionClosedError, TokenRetrievalError
from botocore.parsers import ResponseParserError
from moto import mock_aws

from dmsmig.cli import main
from dmsmig.config import mapping_spec
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.ops import context as ops_context
from dmsmig.rehearsal.dms_emulator import EmulatedDms, emulator_for_stack
from tests.conftest import built
from tests.ops_fixtures import FixedIdentity, clients_with
from tests.test_config_errors import _delete as _drop
from tests.test_config_errors import _set

MIGRATION = "dms-migration:migration"


@dataclass
class World:
    """A project folder of its own, outputs files, and what the AWS client factory returns."""

    root: Path
    monkeypatch: pytest.MonkeyPatch
    clients: object = None
    extra: dict = field(default_factory=dict)

    @property
    def stack_file(self) -> Path:
        return self.root / "Pulumi.sandbox.yaml"

    def raw(self) -> dict:
        return yaml.safe_load(self.stack_file.read_text())

    def write(self, document: dict) -> None:
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def migration(self, change: Callable[[dict], None]) -> None:
        document = self.raw()
        change(document["config"][MIGRATION])
        self.write(document)

    def outputs(self, stack: str = "sandbox", change: Callable[[dict], None] | None = None) -> str:
        outputs = copy.deepcopy(built(stack).outputs)
        if change:
            change(outputs)
        path = self.root / f"{stack}-outputs.json"
        path.write_text(json.dumps(outputs, default=str))
        return str(path)

    def use_clients(self, clients) -> None:
        self.monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients)


@pytest.fixture
def world(tmp_path, monkeypatch):
    for name in ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.prod.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    shutil.copytree(PROJECT_DIR / "mappings", tmp_path / "mappings")
    monkeypatch.setattr(mapping_spec, "MAPPINGS_DIR", tmp_path / "mappings")
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("DMSMIG_SOURCE_URL", raising=False)
    return World(tmp_path, monkeypatch)


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- case builders -----------------------------------------------------------------------------
GROUP = ["sources", 0, "taskGroups", 0]
SRC = ["sources", 0]


def plan(w: World) -> list[str]:
    return ["plan", "--stack", "sandbox", "--project-dir", str(w.root)]


def config_case(change, *expected):
    def setup(w: World) -> list[str]:
        w.migration(change)
        return plan(w)

    return setup, 2, expected


def file_case(write: Callable[[World], None], *expected, code: int = 2):
    def setup(w: World) -> list[str]:
        write(w)
        return plan(w)

    return setup, code, expected


def ops_case(
    argv: Callable[[World], list[str]], code: int, *expected, clients: Callable[[World], object] | None = None
):
    def setup(w: World) -> list[str]:
        if clients:
            w.use_clients(clients(w))
        return [*argv(w), "--project-dir", str(w.root)]

    return setup, code, expected


def _status(w: World, outputs: str, *extra: str) -> list[str]:
    return ["status", "--stack", "sandbox", "--outputs-file", outputs, *extra]


class Raising:
    """A client whose every call raises ``error``."""

    def __init__(self, error: Exception):
        self.error = error

    def __getattr__(self, name: str):
        def call(*_args, **_kwargs):
            raise self.error

        return call


def _fake(w: World, **states) -> EmulatedDms:
    return clients_with(dms=emulator_for_stack(built("sandbox").outputs, **states))


def _with_serverless(endpoints: dict | None = None, **group) -> Callable[[dict], None]:
    """Add a Serverless CDC group over the base table; ``endpoints`` replaces network.vpcEndpoints."""

    def change(raw: dict) -> None:
        raw["network"]["vpcEndpoints"] = (
            endpoints if endpoints is not None else {"secretsManager": True, "dynamodb": True}
        )
        raw["network"]["routeTableIds"] = ["rtb-0a1b2c3d4e5f60020"]
        live = {
            "name": "live",
            "engine": "serverless",
            "capacity": {"maxCapacityUnits": 8},
            "mapping": "orders_table",
            "migrationType": "full-load-and-cdc",
        }
        live.update(group)
        raw["sources"][0]["taskGroups"].append({k: v for k, v in live.items() if v is not None})

    return change


CASES: dict[str, tuple] = {
    # stack file: the file itself ----------------------------------------------------------------
    "stack file missing": (
        lambda w: ["plan", "--stack", "staging", "--project-dir", str(w.root)],
        2,
        ("Pulumi.staging.yaml not found", "stacks here: prod, sandbox"),
    ),
    "stack file YAML syntax": file_case(
        lambda w: w.stack_file.write_text("config:\n  aws:region: [eu\n"),
        "Pulumi.sandbox.yaml",
        "not valid YAML at line",
        "fix the syntax",
    ),
    "stack file not UTF-8": file_case(
        lambda w: w.stack_file.write_bytes(b"config:\n  x: \xff\xfe\n"),
        "Pulumi.sandbox.yaml",
        "not UTF-8",
        "save it as UTF-8",
    ),
    "stack file is a list": file_case(
        lambda w: w.stack_file.write_text("- config\n- other\n"),
        "Pulumi.sandbox.yaml",
        "holds a YAML list",
        "'config:' key",
    ),
    "stack file is a directory": file_case(
        lambda w: (w.stack_file.unlink(), w.stack_file.mkdir()),
        "Pulumi.sandbox.yaml",
        "is a directory",
        "YAML file is expected",
    ),
    "stack file empty": file_case(
        lambda w: w.stack_file.write_text(""), "dms-migration:migration: missing", "add the migration object"
    ),
    "stack file binary": file_case(
        lambda w: w.stack_file.write_bytes(bytes(range(256))), "Pulumi.sandbox.yaml", "not UTF-8"
    ),
    "config is a list": file_case(lambda w: w.stack_file.write_text("config: [1, 2]\n"), "'config:' must be a mapping"),
    "duplicate key in stack file": file_case(
        lambda w: w.stack_file.write_text(
            w.stack_file.read_text().replace(
                "    service: ordersvc\n", "    service: ordersvc\n    service: paymentsvc\n"
            )
        ),
        "key 'service' is set twice, at line 7 and line 8",
        "keep one",
    ),
    "aws:region missing": file_case(
        lambda w: w.write({"config": {MIGRATION: w.raw()["config"][MIGRATION]}}),
        "aws:region: missing",
        "pulumi config set aws:region",
    ),
    "migration missing": file_case(
        lambda w: w.write({"config": {"aws:region": "eu-west-1"}}), "dms-migration:migration: missing"
    ),
    "migration is a list": file_case(
        lambda w: w.write({"config": {"aws:region": "eu-west-1", MIGRATION: [1]}}),
        "migration: must be a mapping of keys",
    ),
    "region invalid": file_case(
        lambda w: w.write({"config": {**w.raw()["config"], "aws:region": "europe"}}),
        "aws:region: 'europe' is not",
        "an AWS region such as eu-west-1",
    ),
    "region DMS does not run in": file_case(
        lambda w: w.write({"config": {**w.raw()["config"], "aws:region": "eu-west-9"}}),
        "aws:region: 'eu-west-9' is not a region AWS DMS runs in",
        "e.g. eu-west-1",
    ),
    "password beside migration": file_case(
        lambda w: w.write({"config": {**w.raw()["config"], "dms-migration:dbPassword": "hunter2"}}),
        "dms-migration:dbPassword: a password cannot sit in a stack file",
        "bootstrap-secret",
    ),
    "secure password beside migration": file_case(
        lambda w: w.write({"config": {**w.raw()["config"], "dms-migration:dbPassword": {"secure": "AAEAAQ=="}}}),
        "dms-migration:dbPassword",
        "plain or secure:",
        "bootstrap-secret",
    ),
    # project folder ------------------------------------------------------------------------------
    "Pulumi.yaml missing": file_case(
        lambda w: (w.root / "Pulumi.yaml").unlink(), "Pulumi.yaml: not found", "--project-dir"
    ),
    "Pulumi.yaml nameless": file_case(
        lambda w: (w.root / "Pulumi.yaml").write_text("runtime: python\n"), "has no 'name:'", "name: dms-migration"
    ),
    "Pulumi.yaml invalid": file_case(
        lambda w: (w.root / "Pulumi.yaml").write_text("name: [x\n"), "Pulumi.yaml: not valid YAML"
    ),
    "project dir is a file": (
        lambda w: ["plan", "--stack", "sandbox", "--project-dir", str(w.stack_file)],
        2,
        ("Pulumi.sandbox.yaml: not a folder", "--project-dir <folder with Pulumi.yaml>"),
    ),
    # config keys ---------------------------------------------------------------------------------
    "password key in migration": config_case(
        _set([*SRC, "password"], "x"), "migration.sources[0].password", "bootstrap-secret"
    ),
    "password in connection attributes": config_case(
        _set([*SRC, "extraConnectionAttributes"], "a=1;password=x"), "extraConnectionAttributes: contains a password"
    ),
    "credentials in serverName": config_case(
        _set([*SRC, "serverName"], "dms:Secret@sql01"),
        "migration.sources[0].serverName",
        "user:password@host",
        "bootstrap-secret",
    ),
    "unknown key": config_case(
        _set(["replication", "instanceClas"], "dms.t3.medium"),
        "migration.replication.instanceClas: unknown key",
        "check the spelling",
    ),
    "bad vpc id": config_case(_set(["network", "vpcId"], "vpc-XYZ"), "migration.network.vpcId", "a VPC id such as"),
    "one subnet": config_case(
        _set(["network", "subnetIds"], ["subnet-0a1b2c3d4e5f60001"]),
        "migration.network.subnetIds",
        "at least 2 subnets",
    ),
    "bad subnet id": config_case(
        _set(["network", "subnetIds", 1], "sub-1"), "migration.network.subnetIds[1]", "is not a subnet id"
    ),
    "bad security group": config_case(
        _set(["network", "securityGroupIds", 0], "group"),
        "migration.network.securityGroupIds[0]",
        "is not a security group id",
    ),
    "bad route table": config_case(
        _set(["network", "routeTableIds"], ["rt-1"]), "migration.network.routeTableIds[0]", "not a route table id"
    ),
    "dynamodb endpoint without route tables": config_case(
        _set(["network", "vpcEndpoints"], {"dynamodb": True}),
        "migration.network.routeTableIds",
        "required with vpcEndpoints.dynamodb",
    ),
    "bad instance class": config_case(
        _set(["replication", "instanceClass"], "t3.medium"), "migration.replication.instanceClass", "dms.t3.medium"
    ),
    "storage too large": config_case(
        _set(["replication", "allocatedStorage"], 100000),
        "migration.replication.allocatedStorage",
        "less than or equal to 6144",
    ),
    "bad maintenance window": config_case(
        _set(["replication", "preferredMaintenanceWindow"], "sunday"),
        "preferredMaintenanceWindow",
        "sun:10:30-sun:14:30",
    ),
    "tasks per instance above DMS limit": config_case(
        _set(["replication", "maxTasksPerInstance"], 500), "maxTasksPerInstance", "less than or equal to 200"
    ),
    "bad engine": config_case(_set([*SRC, "engine"], "db2"), "migration.sources[0].engine", "sqlserver"),
    "oracle verify-full": config_case(
        lambda m: (
            _set([*SRC, "engine"], "oracle")(m),
            _set([*SRC, "sslMode"], "verify-full")(m),
            _set([*SRC, "certificateArn"], "arn:aws:dms:eu-west-1:1:cert:C")(m),
        ),
        "migration.sources[0].sslMode: 'verify-full' is not supported by DMS for oracle",
        "none, verify-ca",
    ),
    "sqlserver verify-ca": config_case(
        lambda m: (
            _set([*SRC, "sslMode"], "verify-ca")(m),
            _set([*SRC, "certificateArn"], "arn:aws:dms:x:1:cert:C")(m),
        ),
        "migration.sources[0].sslMode: 'verify-ca' is not supported by DMS for sqlserver",
    ),
    "unknown ssl mode": config_case(_set([*SRC, "sslMode"], "strict"), "migration.sources[0].sslMode: 'strict'"),
    "verify-full without certificate": config_case(
        _set([*SRC, "sslMode"], "verify-full"), "migration.sources[0].certificateArn: required with sslMode verify-full"
    ),
    "oracle default needs wallet": config_case(
        lambda m: (_set([*SRC, "engine"], "oracle")(m), _drop([*SRC, "sslMode"])(m)),
        "migration.sources[0].certificateArn",
        "Oracle wallet",
    ),
    "bad certificate arn": config_case(
        lambda m: (_set([*SRC, "sslMode"], "verify-full")(m), _set([*SRC, "certificateArn"], "cert-1")(m)),
        "migration.sources[0].certificateArn",
        "DMS certificate ARN",
    ),
    "port out of range": config_case(_set([*SRC, "port"], 70000), "migration.sources[0].port"),
    "secret arn and name": config_case(
        _set([*SRC, "secret"], {"name": "x", "arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x"}),
        "migration.sources[0].secret",
        "exactly one of 'arn' or 'name'",
    ),
    "secret missing": config_case(_drop([*SRC, "secret"]), "migration.sources[0].secret: required key is missing"),
    "duplicate source names": config_case(
        lambda m: m["sources"].append(copy.deepcopy(m["sources"][0])),
        "migration.sources[1].name: 'orders' is used twice",
    ),
    "instance class with a typo": config_case(
        _set(["replication", "instanceClass"], "dms.t3.medum"), "migration.replication.instanceClass"
    ),
    "sources null": config_case(_set(["sources"], None), "migration.sources: Input should be a valid list"),
    "tags null": config_case(_set(["tags"], None), "migration.tags: Input should be a valid dictionary"),
    "partition key beyond a bigint": config_case(
        _set([*GROUP, "partitions"], {"count": 4, "min": 1, "max": 10**30}),
        "partitions.max: Input should be less than or equal to 9223372036854775807",
    ),
    "estimate rows beyond a bigint": config_case(
        _set([*GROUP, "estimate"], {"rows": 10**30}), "estimate.rows", "9223372036854775807"
    ),
    "average row bytes beyond an item": config_case(
        _set([*GROUP, "estimate"], {"rows": 1, "averageRowBytes": 10**9}), "averageRowBytes", "409600"
    ),
    "unknown key beside the migration object": file_case(
        lambda w: w.write({**w.raw(), "config": {**w.raw()["config"], "dms-migration:migrationz": {}}}),
        "dms-migration:migrationz: unknown key",
        "move it inside the migration object",
    ),
    "no sources": config_case(_set(["sources"], []), "migration.sources", "at least 1 item"),
    "cdc-only migration type": config_case(
        _set([*GROUP, "migrationType"], "cdc-only"), "migrationType: 'cdc-only' is not a DMS migration type", "use cdc"
    ),
    "view with cdc": config_case(
        _set([*GROUP, "migrationType"], "full-load-and-cdc"),
        "migrationType: DMS replicates views only in full-load tasks",
    ),
    "mapping not found": config_case(
        _set([*GROUP, "mapping"], "nope"), "taskGroups[0].mapping", "mapping spec 'nope' not found"
    ),
    "boundaries decreasing": config_case(
        _set([*GROUP, "partitions"], {"boundaries": [300, 200]}), "partitions.boundaries: must be strictly increasing"
    ),
    "count without min max": config_case(
        _set([*GROUP, "partitions"], {"count": 4}), "taskGroups[0].partitions", "needs 'min' and 'max'"
    ),
    "count and boundaries": config_case(
        _set([*GROUP, "partitions"], {"count": 2, "boundaries": [5]}), "either 'boundaries' or 'count'"
    ),
    "too many partitions": config_case(
        _set([*GROUP, "partitions"], {"count": 500, "min": 1, "max": 10**9}),
        "partitions.count",
        "less than or equal to 200",
    ),
    "task names too long": config_case(
        _set([*SRC, "name"], "ordersdatabase"), "taskGroups[0].name: task resource identifier", "AWS allows 31"
    ),
    "group name uppercase": config_case(_set([*GROUP, "name"], "Events"), "taskGroups[0].name", "a lowercase name"),
    "duplicate group names": config_case(
        lambda m: m["sources"][0]["taskGroups"].append(copy.deepcopy(m["sources"][0]["taskGroups"][0])),
        "taskGroups[1].name: 'events' is used twice",
    ),
    "error escalation policy": config_case(
        _set(["taskSettings"], {"ErrorBehavior": {"TableErrorEscalationPolicy": "SUSPEND_TABLE"}}),
        "migration.taskSettings.ErrorBehavior.TableErrorEscalationPolicy",
        "DMS accepts STOP_TASK",
    ),
    "insert record on data errors": config_case(
        _set(["taskSettings"], {"ErrorBehavior": {"DataErrorPolicy": "INSERT_RECORD"}}),
        "ErrorBehavior.DataErrorPolicy",
        "not allowed here",
    ),
    "cdc section on full load": config_case(
        _set([*GROUP, "taskSettings"], {"ChangeProcessingTuning": {"CommitTimeout": 5}}),
        "taskSettings.ChangeProcessingTuning: applies only to CDC",
    ),
    "unknown task setting": config_case(
        _set(["taskSettings"], {"FullLoadSettings": {"TargetTablePrepmode": "X"}}),
        "migration.taskSettings.FullLoadSettings.TargetTablePrepmode",
        "unknown DMS task setting",
    ),
    "subtasks above 49": config_case(
        _set(["taskSettings"], {"FullLoadSettings": {"MaxFullLoadSubTasks": 50}}),
        "FullLoadSettings.MaxFullLoadSubTasks",
        "less than or equal to 49",
    ),
    "lob above item size": config_case(
        _set(["taskSettings"], {"TargetMetadata": {"LobMaxSize": 500}}),
        "TargetMetadata.LobMaxSize",
        "less than or equal to 400",
    ),
    "both lob modes": config_case(
        _set(["taskSettings"], {"TargetMetadata": {"FullLobMode": True}}),
        "FullLobMode and LimitedSizeLobMode cannot both be true",
    ),
    "alarm period 45": config_case(
        _set(["monitoring", "alarmPeriodSeconds"], 45), "migration.monitoring.alarmPeriodSeconds", "multiple of 60"
    ),
    "bad alarm email": config_case(
        _set(["monitoring", "alarmEmail"], "oncall"), "monitoring.alarmEmail", "an email address"
    ),
    "provisioned without capacity": config_case(
        _set(["target", "billingMode"], "PROVISIONED"),
        "migration.target.readCapacity: required when billingMode is PROVISIONED",
    ),
    "capacity on demand": config_case(
        _set(["target", "readCapacity"], 5), "migration.target.readCapacity", "only applies to billingMode PROVISIONED"
    ),
    "bad table name": config_case(
        _set(["target", "tableName"], "x"), "migration.target.tableName", "a DynamoDB table name"
    ),
    "bad environment": config_case(_set(["environment"], "production"), "migration.environment", "'sandbox'"),
    "service uppercase": config_case(_set(["service"], "OrderSvc"), "migration.service", "a lowercase name"),
    "service too long": config_case(_set(["service"], "a" * 30), "migration.service", "at most 20 characters"),
    "sentinel unknown source": config_case(
        _set(
            ["cutover"],
            {
                "sentinel": {
                    "source": "billing",
                    "insertSql": "INSERT :token",
                    "deleteSql": "DELETE :token",
                    "key": {"PK": "a", "SK": "b"},
                }
            },
        ),
        "migration.cutover.sentinel.source: 'billing' is not a source",
    ),
    "sentinel without token": config_case(
        _set(["cutover"], {"sentinel": {"source": "orders", "insertSql": "INSERT 1", "key": {"PK": "a", "SK": "b"}}}),
        "cutover.sentinel.insertSql: must use the :token parameter",
    ),
    "sentinel without a delete": config_case(
        _set(["cutover"], {"sentinel": {"source": "orders", "insertSql": "INSERT :token", "key": {"PK": "a"}}}),
        "cutover.sentinel.deleteSql",
    ),
    "evidence age zero": config_case(
        _set(["cutover"], {"evidenceMaxAgeMinutes": 0}),
        "migration.cutover.evidenceMaxAgeMinutes",
        "greater than or equal to 1",
    ),
    "gsi on the table key": config_case(
        _set(["target", "globalSecondaryIndexes"], [{"name": "by-pk", "partitionKey": "PK"}]),
        "globalSecondaryIndexes[0].partitionKey: must differ from the table key",
    ),
    "parameter path relative": config_case(
        _set(["readSwitch"], {"parameterName": "reads"}), "migration.readSwitch.parameterName", "an SSM parameter path"
    ),
    "read switch value": config_case(_set(["readSwitch"], {"readsFrom": "s3"}), "migration.readSwitch.readsFrom"),
    # DMS Serverless and assessments ------------------------------------------------------------------
    "serverless over a view": config_case(
        lambda raw: (
            _set([*GROUP, "engine"], "serverless")(raw),
            _set([*GROUP, "capacity"], {"maxCapacityUnits": 4})(raw),
        ),
        "migration.sources[0].taskGroups[0].engine: DMS Serverless does not support views",
        "keep this group on engine: instance",
    ),
    "serverless without the secrets manager endpoint": config_case(
        _with_serverless({"dynamodb": True}),
        "migration.network.vpcEndpoints.secretsManager",
        "set secretsManager: true",
    ),
    "serverless without the dynamodb endpoint": config_case(
        _with_serverless({"secretsManager": True}), "migration.network.vpcEndpoints.dynamodb", "set dynamodb: true"
    ),
    "serverless without capacity": config_case(
        _with_serverless(capacity=None), "taskGroups[1].capacity: required with engine: serverless", "maxCapacityUnits"
    ),
    "serverless capacity not a DCU value": config_case(
        _with_serverless(capacity={"maxCapacityUnits": 10}),
        "taskGroups[1].capacity.maxCapacityUnits: 10 is not a DMS capacity unit value",
        "use one of 1, 2, 4, 8",
    ),
    "serverless min above max": config_case(
        _with_serverless(capacity={"minCapacityUnits": 32, "maxCapacityUnits": 8}),
        "capacity.minCapacityUnits: 32 is above maxCapacityUnits 8",
    ),
    "serverless custom cdc start": config_case(
        _with_serverless(migrationType="cdc", cdcStartPosition="2026-11-20T00:00:00"),
        "taskGroups[1].cdcStartPosition: DMS Serverless does not support custom CDC start points",
        "engine: instance",
    ),
    "capacity on an instance group": config_case(
        _set([*GROUP, "capacity"], {"maxCapacityUnits": 4}),
        "taskGroups[0].capacity: applies only to engine: serverless",
        "remove it",
    ),
    "cdc start on a full-load group": config_case(
        _set([*GROUP, "cdcStartPosition"], "2026-11-20T00:00:00"),
        "taskGroups[0].cdcStartPosition: a CDC start point applies to migrationType cdc",
    ),
    "engine unknown": config_case(
        _set([*GROUP, "engine"], "fargate"), "taskGroups[0].engine", "'instance' or 'serverless'"
    ),
    "vpc endpoint existing and created": config_case(
        _set(["network", "vpcEndpoints"], {"secretsManager": True, "existing": ["secretsManager"]}),
        "network.vpcEndpoints.existing: 'secretsManager' is listed as existing and also created",
        "keep one of them",
    ),
    "assessments include and exclude": config_case(
        _set(["assessments"], {"enabled": True, "includeOnly": ["a"], "exclude": ["b"]}),
        "migration.assessments.exclude: DMS takes includeOnly or exclude, not both",
        "keep one",
    ),
    "assessment name not an API name": config_case(
        _set(["assessments"], {"enabled": True, "includeOnly": ["Unsupported Types"]}),
        "assessments.includeOnly[0]: 'Unsupported Types' is not an assessment API name",
    ),
    "assessment results never expire": config_case(
        _set(["assessments"], {"enabled": True, "resultsExpireDays": 0}), "assessments.resultsExpireDays"
    ),
    "preflight assess timeout zero": ops_case(
        lambda w: ["preflight", "--stack", "sandbox", "--assess", "--assess-timeout", "0"], 2, "--assess-timeout"
    ),
    # mapping specs -------------------------------------------------------------------------------
    "spec duplicate key": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_text(
            (w.root / "mappings" / "order_events.yaml").read_text() + "keyColumn: EventId\n"
        ),
        "order_events.yaml: key 'keyColumn' is set twice, at line 8 and line 38",
        "keep one",
    ),
    "spec invalid YAML": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_text("source: [\n"),
        "taskGroups[0].mapping",
        "order_events.yaml: not valid YAML",
    ),
    "spec not UTF-8": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_bytes(b"\xff\xfe"), "order_events.yaml", "not UTF-8"
    ),
    "spec is a list": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_text("- a\n"),
        "mappings/order_events.yaml is invalid",
    ),
    "spec bad template": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_text(
            (w.root / "mappings" / "order_events.yaml").read_text().replace("${SK}", "${S K}")
        ),
        "mappings/order_events.yaml is invalid at attributes.1.value",
        "${ColumnName}",
    ),
    "spec column written twice": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_text(
            (w.root / "mappings" / "order_events.yaml").read_text().replace('"${itemdata}"', '"${EventData}"')
        ),
        "column EventData is mapped into 'itemdata'",
        "excludeColumns",
    ),
    "spec missing key attribute": file_case(
        lambda w: (w.root / "mappings" / "order_events.yaml").write_text(
            (w.root / "mappings" / "order_events.yaml")
            .read_text()
            .replace('  - {name: SK, type: string, value: "${SK}"}\n', "")
        ),
        "has no attribute 'SK', the table's key",
    ),
    # flags ----------------------------------------------------------------------------------------
    "watch negative interval": ops_case(lambda w: ["watch", "--stack", "sandbox", "--interval", "-1"], 2, "--interval"),
    "watch negative timeout": ops_case(lambda w: ["watch", "--stack", "sandbox", "--timeout", "-5"], 2, "--timeout"),
    "start max running zero": ops_case(
        lambda w: ["start", "--stack", "sandbox", "--max-running", "0"], 2, "--max-running"
    ),
    "start max running negative": ops_case(
        lambda w: ["start", "--stack", "sandbox", "--max-running", "-3"], 2, "--max-running"
    ),
    "validate negative samples": ops_case(
        lambda w: ["validate", "--stack", "sandbox", "--samples", "-1"], 2, "--samples"
    ),
    "validate zero segments": ops_case(
        lambda w: ["validate", "--stack", "sandbox", "--segments", "0"], 2, "--segments"
    ),
    "preview zero limit": ops_case(
        lambda w: ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--limit", "0"], 2, "--limit"
    ),
    "cutover negative monitor": ops_case(
        lambda w: ["cutover", "--stack", "sandbox", "--monitor-minutes", "-1"], 2, "--monitor-minutes"
    ),
    "partitions zero": ops_case(
        lambda w: ["plan-partitions", "--stack", "sandbox", "--group", "orders/events", "-n", "0"], 2, "--partitions"
    ),
    "partitions above 200": ops_case(
        lambda w: ["plan-partitions", "--stack", "sandbox", "--group", "orders/events", "-n", "500"], 2, "--partitions"
    ),
    "preflight zero timeout": ops_case(
        lambda w: ["preflight", "--stack", "sandbox", "--connection-timeout", "0"], 2, "--connection-timeout"
    ),
    "unknown flag": ops_case(lambda w: ["status", "--stack", "sandbox", "--verbose"], 2, "No such option", "--verbose"),
    "stack flag missing": ops_case(lambda w: ["status"], 2, "Missing option", "--stack"),
    "plan unknown group": ops_case(
        lambda w: [
            "plan-partitions",
            "--stack",
            "sandbox",
            "--group",
            "orders/evnts",
            "-n",
            "4",
            "--database-url",
            "sqlite://",
        ],
        2,
        "no task group 'orders/evnts'",
        "use one of: orders/events",
    ),
    "no database given": ops_case(
        lambda w: ["plan-partitions", "--stack", "sandbox", "--group", "orders/events", "-n", "4"],
        2,
        "no source database given",
        "--database-url",
    ),
    # outputs files ----------------------------------------------------------------------------------
    "outputs file missing": ops_case(
        lambda w: _status(w, str(w.root / "none.json")),
        2,
        "outputs file",
        "none.json not found",
        "pulumi stack output --json",
    ),
    "outputs file is a directory": ops_case(lambda w: _status(w, str(w.root / "mappings")), 2, "is a directory"),
    "outputs file not JSON": ops_case(
        lambda w: (Path(w.root / "o.json").write_text("{oops"), _status(w, str(w.root / "o.json")))[1],
        2,
        "o.json is not JSON (line 1",
    ),
    "outputs file binary": ops_case(
        lambda w: (Path(w.root / "o.json").write_bytes(b"\x89PNG\xff"), _status(w, str(w.root / "o.json")))[1],
        2,
        "o.json is not UTF-8",
    ),
    "outputs file is a list": ops_case(
        lambda w: (Path(w.root / "o.json").write_text("[1]"), _status(w, str(w.root / "o.json")))[1],
        2,
        "holds a JSON list",
    ),
    "outputs missing keys": ops_case(
        lambda w: (Path(w.root / "o.json").write_text('{"tableName": "t"}'), _status(w, str(w.root / "o.json")))[1],
        2,
        "missing or malformed",
        "taskGroups",
        "run pulumi up",
    ),
    "another stack's outputs": ops_case(
        lambda w: ["stop", "--stack", "sandbox", "--outputs-file", w.outputs("prod")],
        2,
        "belongs to stack 'prod'",
        "not to --stack sandbox",
        "pulumi stack output --stack sandbox",
    ),
    "outputs without identity": ops_case(
        lambda w: _status(w, w.outputs(change=lambda o: o.pop("stackIdentity"))),
        2,
        "carries no stack identity",
        "pulumi up --stack sandbox",
    ),
    "outputs of another region": ops_case(
        lambda w: _status(w, w.outputs(change=lambda o: o["stackIdentity"].update(region="us-east-1"))),
        2,
        "region us-east-1",
        "not to --stack sandbox",
    ),
    "outputs of another project": ops_case(
        lambda w: _status(w, w.outputs(change=lambda o: o["stackIdentity"].update(project="billing"))),
        2,
        "project billing",
    ),
    "credentials of another account": ops_case(
        lambda w: ["stop", "--stack", "sandbox", "--outputs-file", w.outputs()],
        2,
        "the AWS credentials are for account 999999999999",
        "account 123456789012",
        clients=lambda w: clients_with(dms=EmulatedDms([]), sts=FixedIdentity("999999999999")),
    ),
    "unknown task": ops_case(
        lambda w: _status(w, w.outputs(), "--task", "p9"),
        2,
        "no task 'p9'",
        "pN from `status`",
        clients=lambda w: _fake(w),
    ),
    "unknown group": ops_case(
        lambda w: _status(w, w.outputs(), "--group", "billing/events"),
        2,
        "task group 'billing/events'",
        "use one of: orders/events",
        clients=lambda w: _fake(w),
    ),
    "reload table without schema": ops_case(
        lambda w: [
            "reload-tables",
            "--stack",
            "sandbox",
            "--outputs-file",
            w.outputs(),
            "--task",
            "p1",
            "--table",
            "x",
        ],
        2,
        "--table 'x' needs schema.table",
        "dbo.vw_Dynamodbmigration",
        clients=lambda w: _fake(w, p1="running"),
    ),
    "reload on a stopped full-load task": ops_case(
        lambda w: [
            "reload-tables",
            "--stack",
            "sandbox",
            "--outputs-file",
            w.outputs(),
            "--task",
            "p1",
            "--table",
            "dbo.v",
        ],
        1,
        "sandbox-ordersvc-orders-events-p1 is stopped",
        "resume-processing",
        clients=lambda w: _fake(w, p1="stopped"),
    ),
    "plan outputs file not JSON": ops_case(
        lambda w: (
            Path(w.root / "o.json").write_text("nope"),
            ["plan", "--stack", "sandbox", "--outputs-file", str(w.root / "o.json")],
        )[1],
        2,
        "o.json is not JSON (line 1, column 1",
        "pulumi stack output --json",
    ),
    "plan rehearsal report missing": ops_case(
        lambda w: ["plan", "--stack", "sandbox", "--rehearsal", str(w.root / "nosuch.json")],
        2,
        "--rehearsal",
        "nosuch.json: no such file",
        "rehearsal-report.json",
    ),
    "plan rehearsal report is a folder": ops_case(
        lambda w: ["plan", "--stack", "sandbox", "--rehearsal", str(w.root / "mappings")],
        2,
        "mappings is a folder",
    ),
    "plan rehearsal report not JSON": ops_case(
        lambda w: (
            Path(w.root / "r.json").write_text("{"),
            ["plan", "--stack", "sandbox", "--rehearsal", str(w.root / "r.json")],
        )[1],
        2,
        "r.json is not a JSON report",
    ),
    "plan rehearsal report of another command": ops_case(
        lambda w: (
            Path(w.root / "r.json").write_text('{"groups": {}}'),
            ["plan", "--stack", "sandbox", "--rehearsal", str(w.root / "r.json")],
        )[1],
        2,
        "r.json: itemSizeByGroup is missing",
        "python -m dmsmig rehearse",
    ),
    "rehearse unknown fault": ops_case(
        lambda w: ["rehearse", "--stack", "sandbox", "--plant-fault", "meteor"],
        2,
        "'meteor' is not one of",
        "cdc-stopped",
    ),
    "rehearse negative change rate": ops_case(
        lambda w: ["rehearse", "--stack", "sandbox", "--change-rate", "-1"],
        2,
        "--change-rate",
        "greater than or equal to",
    ),
    "rehearse CDC fault on a stack without CDC": ops_case(
        lambda w: ["rehearse", "--stack", "sandbox", "--plant-fault", "cdc-stopped", "--state-dir", str(w.root / "s")],
        2,
        "--plant-fault cdc-stopped needs a task group with CDC",
        "sandbox has none",
    ),
    "rehearsal outputs against AWS": ops_case(
        lambda w: [
            "rollback",
            "--stack",
            "sandbox",
            "--yes",
            "--outputs-file",
            w.outputs(
                change=lambda o: o.update(rehearsal={"projectDir": "/tmp/x", "endpointUrl": "http://127.0.0.1:5"})
            ),
            "--local-state",
            str(w.root / "state"),
        ],
        2,
        "these outputs are a rehearsal's (local AWS at http://127.0.0.1:5)",
        "--endpoint-url http://127.0.0.1:5",
    ),
    # AWS errors ----------------------------------------------------------------------------------
    "broken AWS config file": ops_case(
        lambda w: (
            Path(w.root / "aws-config").write_text("[default\nregion = eu-west-1\n"),
            w.monkeypatch.setenv("AWS_CONFIG_FILE", str(w.root / "aws-config")),
            ["status", "--stack", "sandbox", "--outputs-file", w.outputs()],
        )[-1],
        2,
        "aws-config cannot be parsed",
        "AWS_CONFIG_FILE",
    ),
    "expired SSO login": ops_case(
        lambda w: ["status", "--stack", "sandbox", "--outputs-file", w.outputs(), "--profile", "ops"],
        2,
        "the AWS SSO login has expired or is missing (profile 'ops')",
        "aws sso login --profile ops",
        clients=lambda w: clients_with(dms=Raising(TokenRetrievalError(provider="sso", error_msg="expired"))),
    ),
    "expired credentials": ops_case(
        lambda w: ["status", "--stack", "sandbox", "--outputs-file", w.outputs()],
        2,
        "describing 4 task(s): the AWS credentials are expired or invalid (ExpiredTokenException)",
        "aws sso login",
        clients=lambda w: clients_with(
            dms=Raising(
                ClientError(
                    {"Error": {"Code": "ExpiredTokenException", "Message": "expired"}}, "DescribeReplicationTasks"
                )
            )
        ),
    ),
    "connection reset": ops_case(
        lambda w: ["status", "--stack", "sandbox", "--outputs-file", w.outputs()],
        1,
        "connection to AWS was reset or timed out",
        "run the command again",
        clients=lambda w: clients_with(dms=Raising(ConnectionClosedError(endpoint_url="https://dms"))),
    ),
    "an HTML answer instead of the API's JSON": ops_case(
        lambda w: ["status", "--stack", "sandbox", "--outputs-file", w.outputs()],
        1,
        "not the API's JSON/XML",
        "HTTPS_PROXY",
        clients=lambda w: clients_with(dms=Raising(ResponseParserError("Unable to parse response: <html>"))),
    ),
    "endpoint URL without a scheme": ops_case(
        lambda w: ["status", "--stack", "sandbox", "--outputs-file", w.outputs(), "--endpoint-url", "localhost:4566"],
        2,
        "--endpoint-url 'localhost:4566' is not an http(s) URL with a host",
    ),
    "endpoint URL in the environment with a bad port": ops_case(
        lambda w: (
            w.monkeypatch.setenv("DMSMIG_AWS_ENDPOINT_URL", "http://127.0.0.1:99999"),
            ["status", "--stack", "sandbox", "--outputs-file", w.outputs()],
        )[-1],
        2,
        "DMSMIG_AWS_ENDPOINT_URL 'http://127.0.0.1:99999' has an invalid port",
    ),
    "retry wait that is not a number": ops_case(
        lambda w: (
            w.monkeypatch.setenv("DMSMIG_RETRY_WAIT", "soon"),
            ["status", "--stack", "sandbox", "--outputs-file", w.outputs()],
        )[-1],
        2,
        "DMSMIG_RETRY_WAIT='soon' is not a number of seconds from 0 to 60",
        clients=lambda w: _fake(w),
    ),
    "local state that is a file": ops_case(
        lambda w: (
            Path(w.root / "state").write_text("x"),
            [
                "cutover-status",
                "--stack",
                "sandbox",
                "--outputs-file",
                w.outputs(),
                "--local-state",
                str(w.root / "state"),
            ],
        )[-1],
        2,
        "--local-state",
        "state is a file",
    ),
    "truncated cutover state file": ops_case(
        lambda w: (
            (w.root / "st").mkdir(),
            Path(w.root / "st" / "sandbox.json").write_text('{"stack": "sandbox", "fingerp'),
            [
                "cutover-status",
                "--stack",
                "sandbox",
                "--outputs-file",
                w.outputs(),
                "--local-state",
                str(w.root / "st"),
            ],
        )[-1],
        2,
        "sandbox.json cannot be read as a cutover state",
        "cutover --restart",
    ),
    "cutover state from an older format missing keys": ops_case(
        lambda w: (
            (w.root / "st").mkdir(),
            Path(w.root / "st" / "sandbox.json").write_text('{"stack": "sandbox", "steps": {}}'),
            [
                "cutover-status",
                "--stack",
                "sandbox",
                "--outputs-file",
                w.outputs(),
                "--local-state",
                str(w.root / "st"),
            ],
        )[-1],
        2,
        "sandbox.json cannot be read as a cutover state (KeyError",
    ),
    "cutover state from a newer dmsmig": ops_case(
        lambda w: (
            (w.root / "st").mkdir(),
            Path(w.root / "st" / "sandbox.json").write_text('{"format": 99, "stack": "sandbox"}'),
            [
                "cutover-status",
                "--stack",
                "sandbox",
                "--outputs-file",
                w.outputs(),
                "--local-state",
                str(w.root / "st"),
            ],
        )[-1],
        2,
        "sandbox.json is from a newer dmsmig (state format 99",
    ),
    "unknown AWS profile": ops_case(
        lambda w: ["stop", "--stack", "sandbox", "--outputs-file", w.outputs(), "--profile", "nosuch"],
        2,
        "AWS profile 'nosuch' not found",
        "~/.aws/config",
    ),
    "source unknown for bootstrap": ops_case(
        lambda w: ["bootstrap-secret", "--stack", "sandbox", "--source", "billing", "--username", "u"],
        2,
        "no source 'billing' in stack sandbox",
        "use one of: orders",
    ),
    "bootstrap without username": ops_case(
        lambda w: ["bootstrap-secret", "--stack", "sandbox", "--source", "orders"], 2, "no username", "--username"
    ),
    "task missing in DMS": ops_case(
        lambda w: _status(w, w.outputs()),
        1,
        "task(s) not found",
        "run pulumi up",
        clients=lambda w: clients_with(dms=EmulatedDms([])),
    ),
    # source databases ------------------------------------------------------------------------------
    "database URL unparsable": ops_case(
        lambda w: [
            "plan-partitions",
            "--stack",
            "sandbox",
            "--group",
            "orders/events",
            "-n",
            "4",
            "--database-url",
            "not a url",
        ],
        2,
        "the database URL could not be parsed",
        "--database-url",
    ),
    "database dialect unknown": ops_case(
        lambda w: [
            "plan-partitions",
            "--stack",
            "sandbox",
            "--group",
            "orders/events",
            "-n",
            "4",
            "--database-url",
            "nosuchdb://u@h/db",
        ],
        2,
        "unknown database dialect",
        "postgresql+psycopg://",
    ),
    "source object missing": ops_case(
        lambda w: [
            "plan-partitions",
            "--stack",
            "sandbox",
            "--group",
            "orders/events",
            "-n",
            "4",
            "--database-url",
            f"sqlite:///{w.root / 'empty.db'}",
        ],
        1,
        "querying vw_Dynamodbmigration",
        "no such table",
        "check the source object",
    ),
    "database file unreachable": ops_case(
        lambda w: [
            "plan-partitions",
            "--stack",
            "sandbox",
            "--group",
            "orders/events",
            "-n",
            "4",
            "--database-url",
            "sqlite:////nonexistent/dir/x.db",
        ],
        1,
        "unable to open database file",
    ),
    "rows file missing": ops_case(
        lambda w: [
            "preview-mapping",
            "--stack",
            "sandbox",
            "--group",
            "orders/events",
            "--rows",
            str(w.root / "r.csv"),
        ],
        2,
        "rows file",
        "r.csv not found",
        "--rows",
    ),
    "rows file wrong type": ops_case(
        lambda w: (
            Path(w.root / "r.txt").write_text("x"),
            ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--rows", str(w.root / "r.txt")],
        )[1],
        2,
        "r.txt: use a .csv or .json file",
    ),
    "rows file not a list": ops_case(
        lambda w: (
            Path(w.root / "r.json").write_text('{"a": 1}'),
            ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--rows", str(w.root / "r.json")],
        )[1],
        2,
        "r.json: expected a JSON list of row objects",
    ),
    "rows file not JSON": ops_case(
        lambda w: (
            Path(w.root / "r.json").write_text("[{"),
            ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--rows", str(w.root / "r.json")],
        )[1],
        2,
        "rows file",
        "r.json is not JSON",
    ),
    "rows file not UTF-8": ops_case(
        lambda w: (
            Path(w.root / "r.csv").write_bytes(b"Id\n\xff\n"),
            ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--rows", str(w.root / "r.csv")],
        )[1],
        2,
        "r.csv is not UTF-8",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_gets_one_clear_error_and_its_exit_code(case, world, capsys):
    setup, code, expected = CASES[case]
    with mock_aws():
        boto3.setup_default_session(aws_access_key_id="testing", aws_secret_access_key="testing")
        argv = setup(world)
        exit_code, output = run_cli(capsys, argv)
    assert "Traceback" not in output, output
    assert exit_code == code, output
    flat = " ".join(output.split())
    for fragment in expected:
        assert " ".join(fragment.split()) in flat, f"{fragment!r} not in:\n{output}"
    lowered = output.lower()
    assert "fix:" in lowered or "try '" in lowered or "  - " in output, f"no fix offered:\n{output}"


def test_there_are_at_least_a_hundred_cases():
    assert len(CASES) >= 100


def test_data_is_never_read_as_rich_markup(world, capsys, monkeypatch):
    """A Secrets Manager ARN holds ':secret:' (an emoji code) and data may hold '[...]' (markup)."""
    from dmsmig.cli import operate

    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sandbox-[bold]creds[/]-AbCdEf"

    class Result:
        name, created, version_id = "sandbox-[red]x", True, "v1"

    Result.arn = arn
    monkeypatch.setattr(operate, "bootstrap_secret", lambda *a, **k: Result())
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("pw\n"))
    code, output = run_cli(
        capsys,
        [
            "bootstrap-secret",
            "--stack",
            "sandbox",
            "--source",
            "orders",
            "--username",
            "u",
            "--project-dir",
            str(world.root),
        ],
    )
    assert code == 0, output
    assert arn in output and "sandbox-[red]x" in output


def test_a_broken_aws_config_file_does_not_stop_the_offline_plan(tmp_path, monkeypatch, capsys):
    """The fact table reads botocore's models through a loader, never the user's config file."""
    import subprocess
    import sys

    config = tmp_path / "aws-config"
    config.write_text("[default\nregion = eu-west-1\n")
    env = {**__import__("os").environ, "AWS_CONFIG_FILE": str(config)}
    result = subprocess.run(
        [sys.executable, "-m", "dmsmig", "plan", "--stack", "sandbox"],
        capture_output=True, text=True, env=env, cwd=PROJECT_DIR, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-500:]
    assert "none refused" in result.stdout
