"""The private, encrypted, expiring bucket DMS writes premigration assessment results to, and its role."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import MigrationConfig
from dmsmig.model import iam_docs

TYPE = "dmsmig:assessments:AssessmentResults"


@dataclass
class AssessmentResultsArgs:
    """Inputs of :class:`AssessmentResults`."""

    config: MigrationConfig
    region: str
    account_id: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


class AssessmentResults(pulumi.ComponentResource):
    """S3 bucket (no public access, SSE-S3, TLS only, results expire) and the role DMS assumes to write it."""

    bucket_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AssessmentResultsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=pulumi.Output.from_input(args.account_id).apply(cfg.assessment_bucket),
            force_destroy=not cfg.is_prod,
            tags=args.tags,
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-assessment-results",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=cfg.assessments.results_expire_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.bucket.apply(iam_docs.tls_only_bucket_policy),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=f"{cfg.prefix}-dms-assessments",
            description="DMS writes premigration assessment results to the stack's results bucket",
            assume_role_policy=iam_docs.dms_trust_policy(args.region),
            tags=args.tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=bucket.bucket.apply(iam_docs.assessment_results_policy),
            opts=child,
        )
        self.bucket_name = bucket.bucket
        self.role_arn = role.arn
        self.register_outputs({"bucketName": self.bucket_name, "roleArn": self.role_arn})
