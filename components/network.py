"""VPC endpoints that let a private replication instance reach Secrets Manager and DynamoDB.

DMS reads the source credentials from Secrets Manager and writes DynamoDB from the instance's
subnets; without a NAT those calls need an interface endpoint (Secrets Manager, private DNS, so no
``secretsManagerEndpointOverride`` is needed) and a gateway endpoint (DynamoDB). DMS User Guide,
security_iam_secretsmanager.html ("use secrets manager with a replication instance in a private subnet").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import MigrationConfig

TYPE = "dmsmig:network:PrivateEndpoints"


@dataclass
class PrivateEndpointsArgs:
    """Inputs of :class:`PrivateEndpoints`."""

    config: MigrationConfig
    region: str
    tags: dict[str, str] = field(default_factory=dict)


class PrivateEndpoints(pulumi.ComponentResource):
    """The endpoints ``network.vpcEndpoints`` asks for (none when both are off)."""

    endpoint_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        network = args.config.network
        child = pulumi.ResourceOptions(parent=self)
        endpoints = []
        if network.vpc_endpoints.secrets_manager:
            endpoints.append(
                aws.ec2.VpcEndpoint(
                    f"{name}-secretsmanager",
                    vpc_id=network.vpc_id,
                    service_name=f"com.amazonaws.{args.region}.secretsmanager",
                    vpc_endpoint_type="Interface",
                    subnet_ids=network.subnet_ids,
                    # The instance's groups: they must allow HTTPS (443) from themselves.
                    security_group_ids=network.security_group_ids,
                    private_dns_enabled=True,
                    tags={**args.tags, "Name": f"{args.config.prefix}-secretsmanager"},
                    opts=child,
                )
            )
        if network.vpc_endpoints.dynamodb:
            endpoints.append(
                aws.ec2.VpcEndpoint(
                    f"{name}-dynamodb",
                    vpc_id=network.vpc_id,
                    service_name=f"com.amazonaws.{args.region}.dynamodb",
                    vpc_endpoint_type="Gateway",
                    route_table_ids=network.route_table_ids,
                    tags={**args.tags, "Name": f"{args.config.prefix}-dynamodb"},
                    opts=child,
                )
            )
        self.endpoint_ids = pulumi.Output.all(*[e.id for e in endpoints])
        self.register_outputs({"endpointIds": self.endpoint_ids})
