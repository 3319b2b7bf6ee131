"""IAM policy documents as plain functions (no Pulumi), so least privilege is unit-tested.

DMS needs two kinds of role here: one per source endpoint to read exactly one secret, and one
for the DynamoDB target endpoint to write the target table and DMS's two control tables.
"""

from __future__ import annotations

import json
from typing import Any

DMS_PRINCIPAL = "dms.amazonaws.com"
CONTROL_TABLES = ("awsdms_apply_exceptions", "awsdms_full_load_exceptions")
# What DMS does to the target table with TargetTablePrepMode DO_NOTHING: no Create/DeleteTable.
TARGET_TABLE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# DMS creates its control tables on first run and writes failed rows into them.
CONTROL_TABLE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:CreateTable",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def dms_trust_policy(region: str, regional: bool = False) -> str:
    """Trust only the DMS service; ``regional`` adds ``dms.<region>.amazonaws.com``.

    Secrets Manager access roles must trust the regional principal as well.
    """
    principals = [DMS_PRINCIPAL] + ([f"dms.{region}.amazonaws.com"] if regional else [])
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": principals if len(principals) > 1 else principals[0]},
            "Action": "sts:AssumeRole",
        }
    )


def secret_read_policy(secret_arn: str, kms_key_arn: str | None, region: str) -> str:
    """Read one secret (and decrypt it through Secrets Manager only, when it has its own key)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadSourceCredentials",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": secret_arn,
        }
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "DecryptSourceCredentials",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            }
        )
    return _doc(*statements)


def control_table_arns(table_arn: str) -> list[str]:
    """ARNs of DMS's control tables in the same account and region as ``table_arn``."""
    base = table_arn.split(":table/", 1)[0]
    return [f"{base}:table/{name}" for name in CONTROL_TABLES]


def dynamodb_target_policy(table_arn: str, kms_key_arn: str | None = None) -> str:
    """Write the target table and the control tables; ``ListTables`` is account-wide by design."""
    statements: list[dict[str, Any]] = [
        {"Sid": "WriteTargetTable", "Effect": "Allow", "Action": list(TARGET_TABLE_ACTIONS), "Resource": table_arn},
        {
            "Sid": "ManageControlTables",
            "Effect": "Allow",
            "Action": list(CONTROL_TABLE_ACTIONS),
            "Resource": control_table_arns(table_arn),
        },
        # DMS lists tables during the connection test; the action has no resource-level scope.
        {"Sid": "ListTablesForConnectionTest", "Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"},
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "UseTableKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": kms_key_arn,
            }
        )
    return _doc(*statements)


def key_policy(account_id: str, service_principals: list[str]) -> str:
    """The stack KMS key: the account administers it; DMS, EventBridge and CloudWatch may use it."""
    return _doc(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "ServicesUseForNotifications",
            "Effect": "Allow",
            "Principal": {"Service": sorted(service_principals)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    )


def topic_policy(topic_arn: str, account_id: str) -> str:
    """Allow DMS event subscriptions and EventBridge in this account to publish to the topic."""
    return _doc(
        {
            "Sid": "ServicesPublish",
            "Effect": "Allow",
            "Principal": {"Service": ["dms.amazonaws.com", "events.amazonaws.com"]},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )
