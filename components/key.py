"""The stack's KMS key, kept apart from the replication instance because the table outlives it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import MigrationConfig
from dmsmig.model import iam_docs

TYPE = "dmsmig:security:StackKey"
NOTIFICATION_SERVICES = ["cloudwatch.amazonaws.com", "dms.amazonaws.com", "events.amazonaws.com"]


@dataclass
class StackKeyArgs:
    """Inputs of :class:`StackKey`."""

    config: MigrationConfig
    account_id: pulumi.Input[str]
    """Account that administers the created key."""
    tags: dict[str, str] = field(default_factory=dict)


class StackKey(pulumi.ComponentResource):
    """``replication.kmsKeyArn`` when given, else a created key with rotation and an alias.

    It encrypts instance storage, endpoint settings, the alert topic and (customer-managed
    encryption) the table, so it stays after ``decommissioned: true``.
    """

    arn: pulumi.Output[str]

    def __init__(self, name: str, args: StackKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg = args.config
        if cfg.replication.kms_key_arn:
            self.arn = pulumi.Output.from_input(cfg.replication.kms_key_arn)
        else:
            key = aws.kms.Key(
                f"{name}-key",
                description=f"DMS migration {cfg.prefix}: replication storage, endpoints, alerts, table",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=pulumi.Output.from_input(args.account_id).apply(
                    lambda account: iam_docs.key_policy(account, NOTIFICATION_SERVICES)
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, protect=cfg.is_prod),
            )
            aws.kms.Alias(
                f"{name}-alias",
                name=f"alias/{cfg.prefix}-dms",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.arn = key.arn
        self.register_outputs({"arn": self.arn})
