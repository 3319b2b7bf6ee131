"""Private replication instance(s), their subnet group and the account-level DMS roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumiverse_time as time

from dmsmig.config.stack import MigrationConfig
from dmsmig.model import iam_docs

TYPE = "dmsmig:replication:Replication"
# Fixed names DMS looks for in the account; create them once per account (peers.md).
ACCOUNT_ROLES = {
    "dms-vpc-role": "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole",
}


IAM_PROPAGATION_WAIT = "10s"


@dataclass
class ReplicationArgs:
    """Inputs of :class:`Replication`."""

    config: MigrationConfig
    """The validated stack config (network, replication, environment)."""
    region: str
    """AWS region of the stack."""
    kms_key_arn: pulumi.Input[str]
    """The stack key (components.key.StackKey) for instance storage."""
    instance_count: int = 1
    """How many instances the tasks need (see dmsmig.packing); 0 when every group is Serverless."""
    network_ready: Sequence[pulumi.Resource] = field(default_factory=list)
    """Resources the instances wait for (the VPC endpoints), so the first connection test can succeed."""
    tags: dict[str, str] = field(default_factory=dict)


class Replication(pulumi.ComponentResource):
    """Subnet group over 2+ private subnets and never-public DMS replication instances (none if not needed)."""

    kms_key_arn: pulumi.Output[str]
    instance_arns: pulumi.Output[list[str]]
    instance_ids: list[str]
    instance_arn_by_id: dict[str, pulumi.Output[str]]
    subnet_group_id: pulumi.Output[str]
    """The subnet group, also the network of the Serverless replications."""

    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.kms_key_arn = pulumi.Output.from_input(args.kms_key_arn)

        role_dependencies: list[pulumi.Resource] = []
        if cfg.replication.create_account_roles:
            for role_name, managed_policy in ACCOUNT_ROLES.items():
                role = aws.iam.Role(
                    f"{name}-{role_name}",
                    name=role_name,
                    assume_role_policy=iam_docs.dms_trust_policy(args.region),
                    tags=args.tags,
                    opts=child,
                )
                attachment = aws.iam.RolePolicyAttachment(
                    f"{name}-{role_name}-policy", role=role.name, policy_arn=managed_policy, opts=child
                )
                role_dependencies.append(attachment)
            # IAM is eventually consistent: a subnet group created right after dms-vpc-role fails
            # (terraform-provider-aws #11025); terraform-aws-dms waits 10 s the same way.
            role_dependencies = [
                time.Sleep(
                    f"{name}-iam-propagation",
                    create_duration=IAM_PROPAGATION_WAIT,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=role_dependencies),
                )
            ]

        subnet_group = aws.dms.ReplicationSubnetGroup(
            f"{name}-subnets",
            replication_subnet_group_id=f"{cfg.prefix}-dms-subnets",
            replication_subnet_group_description=f"DMS private subnets for {cfg.prefix}",
            subnet_ids=cfg.network.subnet_ids,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=role_dependencies),
        )

        instances = []
        self.instance_ids = [cfg.instance_id(i) for i in range(args.instance_count)]
        for instance_id in self.instance_ids:
            instances.append(
                aws.dms.ReplicationInstance(
                    f"{name}-{instance_id.removeprefix(cfg.prefix + '-')}",
                    replication_instance_id=instance_id,
                    replication_instance_class=cfg.replication.instance_class,
                    allocated_storage=cfg.replication.allocated_storage,
                    engine_version=cfg.replication.engine_version,
                    multi_az=cfg.multi_az,
                    publicly_accessible=cfg.replication.publicly_accessible,
                    auto_minor_version_upgrade=cfg.replication.auto_minor_version_upgrade,
                    kms_key_arn=self.kms_key_arn,
                    preferred_maintenance_window=cfg.replication.maintenance_window,
                    replication_subnet_group_id=subnet_group.replication_subnet_group_id,
                    vpc_security_group_ids=cfg.network.security_group_ids,
                    apply_immediately=not cfg.is_prod,
                    tags=args.tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[*role_dependencies, *args.network_ready]),
                )
            )
        self.subnet_group_id = subnet_group.replication_subnet_group_id
        self.instance_arn_by_id = {i: inst.replication_instance_arn for i, inst in zip(self.instance_ids, instances)}
        self.instance_arns = pulumi.Output.all(*[i.replication_instance_arn for i in instances])
        self.register_outputs(
            {"kmsKeyArn": self.kms_key_arn, "instanceArns": self.instance_arns, "instanceIds": self.instance_ids}
        )
