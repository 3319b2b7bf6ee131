"""A source endpoint that reads its credentials from Secrets Manager (never a password argument)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import Source
from dmsmig.model import iam_docs

TYPE = "dmsmig:source:SourceEndpoint"


@dataclass
class SourceEndpointArgs:
    """Inputs of :class:`SourceEndpoint`."""

    source: Source
    """The validated source config (engine, database, secret reference, SSL)."""
    endpoint_id: str
    """DMS endpoint identifier."""
    region: str
    kms_key_arn: pulumi.Input[str]
    """Key DMS encrypts the endpoint's connection parameters with."""
    tags: dict[str, str] = field(default_factory=dict)


class SourceEndpoint(pulumi.ComponentResource):
    """An IAM role allowed to read exactly one secret, and the DMS endpoint using it."""

    endpoint_arn: pulumi.Output[str]
    access_role_arn: pulumi.Output[str]
    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SourceEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        src = args.source
        child = pulumi.ResourceOptions(parent=self)

        if src.secret.arn:
            self.secret_arn = pulumi.Output.from_input(src.secret.arn)
        else:
            # Looks the secret up by name; its value is never read here.
            self.secret_arn = aws.secretsmanager.get_secret_output(
                name=src.secret.name, opts=pulumi.InvokeOutputOptions(parent=self)
            ).arn

        role = aws.iam.Role(
            f"{name}-secret-access",
            name=f"{args.endpoint_id}-secret-access"[:64],
            description=f"Lets DMS read the credentials secret of {args.endpoint_id}",
            assume_role_policy=iam_docs.dms_trust_policy(args.region, regional=True),
            tags=args.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-secret-read",
            role=role.id,
            policy=self.secret_arn.apply(lambda arn: iam_docs.secret_read_policy(arn, src.secret.kms_key_arn)),
            opts=child,
        )
        endpoint = aws.dms.Endpoint(
            f"{name}-endpoint",
            endpoint_id=args.endpoint_id,
            endpoint_type="source",
            engine_name=src.engine,
            database_name=src.endpoint_database_name,
            secrets_manager_arn=self.secret_arn,
            secrets_manager_access_role_arn=role.arn,
            ssl_mode=src.effective_ssl_mode,
            certificate_arn=src.certificate_arn,
            extra_connection_attributes=src.extra_connection_attributes,
            kms_key_arn=args.kms_key_arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.endpoint_arn = endpoint.endpoint_arn
        self.access_role_arn = role.arn
        self.register_outputs(
            {"endpointArn": self.endpoint_arn, "accessRoleArn": self.access_role_arn, "secretArn": self.secret_arn}
        )
