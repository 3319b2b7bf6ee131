"""Cutover control: the read-switch SSM parameter applications read, and the cutover state table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import MigrationConfig

TYPE = "dmsmig:cutover:CutoverControl"


@dataclass
class CutoverControlArgs:
    """Inputs of :class:`CutoverControl`."""

    config: MigrationConfig
    kms_key_arn: pulumi.Input[str]
    """Stack key, for the state table when target.encryption is customer-managed."""
    tags: dict[str, str] = field(default_factory=dict)


class CutoverControl(pulumi.ComponentResource):
    """``readsFrom`` (source or dynamodb, flipped by the cutover through stack config) and the state table."""

    parameter_name: pulumi.Output[str]
    parameter_urn: pulumi.Output[str]
    """The one resource the cutover's read switch may change (``pulumi up --target`` takes it)."""
    reads_from: str
    state_table_name: pulumi.Output[str]

    def __init__(self, name: str, args: CutoverControlArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg = args.config
        parameter = aws.ssm.Parameter(
            f"{name}-parameter",
            name=cfg.read_switch_parameter,
            type="String",
            value=cfg.read_switch.reads_from,
            allowed_pattern="^(source|dynamodb)$",
            description=f"Where {cfg.service} reads events from during the migration ({cfg.environment})",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Cutover state and lock (dmsmig.cutover.store.DynamoStateStore): tiny, on demand.
        state_table = aws.dynamodb.Table(
            f"{name}-state",
            name=cfg.cutover_table,
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[aws.dynamodb.TableAttributeArgs(name="pk", type="S")],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True,
                kms_key_arn=args.kms_key_arn if cfg.target.encryption == "customer-managed" else None,
            ),
            deletion_protection_enabled=cfg.deletion_protection,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.parameter_name = parameter.name
        self.parameter_urn = parameter.urn
        self.reads_from = cfg.read_switch.reads_from
        self.state_table_name = state_table.name
        self.register_outputs(
            {"parameterName": self.parameter_name, "readsFrom": self.reads_from, "stateTable": self.state_table_name}
        )
