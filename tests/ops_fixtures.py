"""Fixtures for operator tests: real boto3 clients, DMS under Stubber, the rest under moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.stub import Stubber

from dmsmig.offline.mock_engine import MOCK_ACCOUNT
from dmsmig.ops.aws import AwsClients
from tests.conftest import built

REGION = "eu-west-1"


def outputs_file(tmp_path: Path, stack: str = "sandbox") -> Path:
    """The stack's outputs as `pulumi stack output --json` would write them (from the offline build)."""
    path = tmp_path / f"{stack}-outputs.json"
    path.write_text(json.dumps(built(stack).outputs))
    return path


def task_arns(stack: str = "sandbox") -> list[str]:
    return [t["arn"] for tasks in built(stack).outputs["taskGroups"].values() for t in tasks]


class StrictStubber(Stubber):
    """A Stubber that, leaving its ``with`` block without an error, asserts every queued answer was asked for."""

    def __exit__(self, exc_type, exc_value, traceback):
        super().__exit__(exc_type, exc_value, traceback)
        if exc_type is None:
            self.assert_no_pending_responses()


def stubbed_dms() -> tuple[object, Stubber]:
    client = boto3.client("dms", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return client, StrictStubber(client)


class FixedIdentity:
    """STS stand-in: the caller's account is the one given (the mock engine's by default)."""

    def __init__(self, account: str = MOCK_ACCOUNT):
        self.account = account

    def get_caller_identity(self) -> dict:
        return {"Account": self.account, "Arn": f"arn:aws:iam::{self.account}:user/operator", "UserId": "OPERATOR"}


def clients_with(dms=None, sts=None, **others) -> AwsClients:
    """AwsClients whose DMS client is the stubbed one; other services come from moto."""
    clients = AwsClients(region=REGION, session=boto3.session.Session(region_name=REGION))
    if dms is not None:
        clients._clients["dms"] = dms
    clients._clients["sts"] = sts or FixedIdentity()
    clients._clients.update(others)
    return clients


def task_identifier(arn: str) -> str:
    """The ReplicationTaskIdentifier of a shipped stack's task ARN (the ARN ends in the resource id)."""
    for stack in ("sandbox", "prod"):
        for tasks in built(stack).outputs["taskGroups"].values():
            for task in tasks:
                if task["arn"] == arn:
                    return task["taskId"]
    return arn.rsplit(":", 1)[-1]


def task_description(
    arn: str, status: str, *, started: bool = False, migration_type: str = "full-load", **extra
) -> dict:
    task = {
        "ReplicationTaskIdentifier": task_identifier(arn),
        "ReplicationTaskArn": arn,
        "Status": status,
        "MigrationType": migration_type,
    }
    if started:
        task["ReplicationTaskStartDate"] = datetime(2026, 11, 1, tzinfo=UTC)
    task.update(extra)
    return task


def describe_response(tasks: list[dict]) -> dict:
    return {"ReplicationTasks": tasks}


def describe_params(arns: list[str]) -> dict:
    return {"Filters": [{"Name": "replication-task-arn", "Values": arns}], "WithoutSettings": True}


def create_event_table(client, name: str) -> None:
    """An on-demand table keyed PK/SK (strings), like the stack's target table."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
