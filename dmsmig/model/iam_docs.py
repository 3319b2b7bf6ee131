"""IAM policy documents as plain functions (no Pulumi), so least privilege is unit-tested.

DMS needs two kinds of role here: one per source endpoint to read exactly one secret, and one
for the DynamoDB target endpoint to write the target table and DMS's two control tables.
"""

from __future__ import annotations

import json
from typing import Any

from dmsmig.contract import facts

DMS_PRINCIPAL = "dms.amazonaws.com"
CONTROL_TABLES = facts.DYNAMODB_CONTROL_TABLES
# The control tables get every documented action (facts.DYNAMODB_ROLE_DOCUMENTED_ACTIONS): DMS creates
# awsdms_apply_exceptions / awsdms_full_load_exceptions and manages them as it documents. The target
# table gets them less the table-lifecycle actions (facts.TARGET_TABLE_LIFECYCLE_NOT_NEEDED): with
# TargetTablePrepMode DO_NOTHING, which the policy pack enforces, DMS never creates or drops it.
CONTROL_TABLE_ACTIONS = tuple(sorted(facts.DYNAMODB_ROLE_DOCUMENTED_ACTIONS))
TARGET_TABLE_ACTIONS = tuple(a for a in CONTROL_TABLE_ACTIONS if a not in facts.TARGET_TABLE_LIFECYCLE_NOT_NEEDED)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def dms_trust_policy(region: str, regional: bool = False) -> str:
    """Trust only the DMS service; ``regional`` adds ``dms.<region>.amazonaws.com``.

    Secrets Manager access roles must trust the regional principal as well.
    """
    principals = [DMS_PRINCIPAL] + ([facts.SECRET_ROLE_PRINCIPAL.format(region=region)] if regional else [])
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": principals if len(principals) > 1 else principals[0]},
            "Action": "sts:AssumeRole",
        }
    )


def secret_read_policy(secret_arn: str, kms_key_arn: str | None) -> str:
    """Read one secret; with its own KMS key, also decrypt and describe that key via Secrets Manager."""
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
                "Action": list(facts.SECRET_CMK_ACTIONS),
                # As documented (no kms:ViaService condition): DMS may describe the key itself.
                "Resource": kms_key_arn,
            }
        )
    return _doc(*statements)


def control_table_arns(table_arn: str) -> list[str]:
    """ARNs of DMS's control tables in the same account and region as ``table_arn``."""
    base = table_arn.split(":table/", 1)[0]
    return [f"{base}:table/{name}" for name in CONTROL_TABLES]


def dynamodb_target_policy(table_arn: str, kms_key_arn: str | None = None) -> str:
    """Write the target table and manage the control tables; ``ListTables`` is account-wide by design."""
    statements: list[dict[str, Any]] = [
        {"Sid": "WriteTargetTable", "Effect": "Allow", "Action": list(TARGET_TABLE_ACTIONS), "Resource": table_arn},
        {
            "Sid": "ManageControlTables",
            "Effect": "Allow",
            "Action": list(CONTROL_TABLE_ACTIONS),
            "Resource": control_table_arns(table_arn),
        },
        # DMS lists tables during the connection test; the action has no resource-level scope.
        {
            "Sid": "ListTablesForConnectionTest",
            "Effect": "Allow",
            "Action": list(facts.DYNAMODB_ROLE_ACCOUNT_ACTIONS),
            "Resource": "*",
        },
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


def assessment_results_policy(bucket: str) -> str:
    """What DMS needs to write premigration assessment results to ``bucket`` (User Guide, assessment IAM)."""
    return _doc(
        {
            "Effect": "Allow",
            "Action": list(facts.ASSESSMENT_ROLE_OBJECT_ACTIONS),
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {"Effect": "Allow", "Action": list(facts.ASSESSMENT_ROLE_BUCKET_ACTIONS), "Resource": f"arn:aws:s3:::{bucket}"},
    )


def tls_only_bucket_policy(bucket: str) -> str:
    """Refuse every request to ``bucket`` that does not use TLS."""
    return _doc(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
