"""Turn a declared resource into the AWS API requests the AWS provider sends to create it.

The mapping follows the provider's create functions (terraform-provider-aws, which pulumi-aws
is built from; e.g. ``internal/service/dms/endpoint.go`` puts ``secrets_manager_arn`` into the
engine's settings block). Resources are duck-typed: anything with ``type``, ``name`` and
camelCase ``inputs`` works, so this module stays below the offline engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiRequest:
    """One call: ``service.operation(**params)``, made for the resource ``resource``."""

    service: str
    operation: str
    params: dict[str, Any]
    resource: str
    resource_type: str = ""
    notes: list[str] = field(default_factory=list)


class UntranslatedResource(LookupError):
    """A resource type with no translation: add one here, so the contract tests cover it."""


def _tags(inputs: dict, key: str = "Key", value: str = "Value") -> list[dict]:
    return [{key: k, value: str(v)} for k, v in sorted((inputs.get("tags") or {}).items())]


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != [] and v != {}}


# DMS -----------------------------------------------------------------------------------------
_ENGINE_SETTINGS = {
    "sqlserver": "MicrosoftSQLServerSettings",
    "oracle": "OracleSettings",
    "postgres": "PostgreSQLSettings",
    "mysql": "MySQLSettings",
}


def _endpoint(i: dict) -> list[tuple[str, str, dict]]:
    engine = i.get("engineName")
    params: dict[str, Any] = {
        "EndpointIdentifier": i.get("endpointId"),
        "EndpointType": i.get("endpointType"),
        "EngineName": engine,
        "CertificateArn": i.get("certificateArn"),
        "SslMode": i.get("sslMode"),
        "ExtraConnectionAttributes": i.get("extraConnectionAttributes"),
        "KmsKeyId": i.get("kmsKeyArn"),
        "Tags": _tags(i),
    }
    if engine == "dynamodb":
        params["DynamoDbSettings"] = {"ServiceAccessRoleArn": i.get("serviceAccessRole")}
    elif i.get("secretsManagerArn") and engine in _ENGINE_SETTINGS:
        settings = {
            "SecretsManagerSecretId": i.get("secretsManagerArn"),
            "SecretsManagerAccessRoleArn": i.get("secretsManagerAccessRoleArn"),
            "DatabaseName": i.get("databaseName"),
        }
        params[_ENGINE_SETTINGS[engine]] = _drop_none(settings)
        params["DatabaseName"] = i.get("databaseName")
    else:
        params.update(
            ServerName=i.get("serverName"),
            Port=i.get("port"),
            DatabaseName=i.get("databaseName"),
            Username=i.get("username"),
            Password=i.get("password"),
        )
    return [("dms", "CreateEndpoint", params)]


def _task(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "dms",
            "CreateReplicationTask",
            {
                "ReplicationTaskIdentifier": i.get("replicationTaskId"),
                "ResourceIdentifier": i.get("resourceIdentifier"),
                "SourceEndpointArn": i.get("sourceEndpointArn"),
                "TargetEndpointArn": i.get("targetEndpointArn"),
                "ReplicationInstanceArn": i.get("replicationInstanceArn"),
                "MigrationType": i.get("migrationType"),
                "TableMappings": i.get("tableMappings"),
                "ReplicationTaskSettings": i.get("replicationTaskSettings"),
                "CdcStartPosition": i.get("cdcStartPosition"),
                "Tags": _tags(i),
            },
        )
    ]


def _replication_config(i: dict) -> list[tuple[str, str, dict]]:
    compute = i.get("computeConfig") or {}
    return [
        (
            "dms",
            "CreateReplicationConfig",
            {
                "ReplicationConfigIdentifier": i.get("replicationConfigIdentifier"),
                "ResourceIdentifier": i.get("resourceIdentifier"),
                "SourceEndpointArn": i.get("sourceEndpointArn"),
                "TargetEndpointArn": i.get("targetEndpointArn"),
                "ReplicationType": i.get("replicationType"),
                "TableMappings": i.get("tableMappings"),
                "ReplicationSettings": i.get("replicationSettings"),
                "SupplementalSettings": i.get("supplementalSettings"),
                "ComputeConfig": _drop_none(
                    {
                        "ReplicationSubnetGroupId": compute.get("replicationSubnetGroupId"),
                        "VpcSecurityGroupIds": compute.get("vpcSecurityGroupIds"),
                        "KmsKeyId": compute.get("kmsKeyId"),
                        "MultiAZ": compute.get("multiAz"),
                        "MaxCapacityUnits": compute.get("maxCapacityUnits"),
                        "MinCapacityUnits": compute.get("minCapacityUnits"),
                        "PreferredMaintenanceWindow": compute.get("preferredMaintenanceWindow"),
                        "AvailabilityZone": compute.get("availabilityZone"),
                        "DnsNameServers": compute.get("dnsNameServers"),
                    }
                ),
                "Tags": _tags(i),
            },
        )
    ]


def _instance(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "dms",
            "CreateReplicationInstance",
            {
                "ReplicationInstanceIdentifier": i.get("replicationInstanceId"),
                "ReplicationInstanceClass": i.get("replicationInstanceClass"),
                "AllocatedStorage": i.get("allocatedStorage"),
                "EngineVersion": i.get("engineVersion"),
                "MultiAZ": i.get("multiAz"),
                "PubliclyAccessible": i.get("publiclyAccessible"),
                "AutoMinorVersionUpgrade": i.get("autoMinorVersionUpgrade"),
                "KmsKeyId": i.get("kmsKeyArn"),
                "PreferredMaintenanceWindow": i.get("preferredMaintenanceWindow"),
                "ReplicationSubnetGroupIdentifier": i.get("replicationSubnetGroupId"),
                "VpcSecurityGroupIds": i.get("vpcSecurityGroupIds"),
                "Tags": _tags(i),
            },
        )
    ]


def _subnet_group(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "dms",
            "CreateReplicationSubnetGroup",
            {
                "ReplicationSubnetGroupIdentifier": i.get("replicationSubnetGroupId"),
                "ReplicationSubnetGroupDescription": i.get("replicationSubnetGroupDescription"),
                "SubnetIds": i.get("subnetIds"),
                "Tags": _tags(i),
            },
        )
    ]


def _event_subscription(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "dms",
            "CreateEventSubscription",
            {
                "SubscriptionName": i.get("name"),
                "SnsTopicArn": i.get("snsTopicArn"),
                "SourceType": i.get("sourceType"),
                "EventCategories": i.get("eventCategories"),
                "SourceIds": i.get("sourceIds"),
                "Enabled": i.get("enabled"),
                "Tags": _tags(i),
            },
        )
    ]


# DynamoDB ------------------------------------------------------------------------------------
def _table(i: dict) -> list[tuple[str, str, dict]]:
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    provisioned = i.get("billingMode") == "PROVISIONED"

    def throughput(node: dict) -> dict | None:
        if not provisioned:
            return None
        return {"ReadCapacityUnits": node.get("readCapacity"), "WriteCapacityUnits": node.get("writeCapacity")}

    gsis = [
        _drop_none(
            {
                "IndexName": g.get("name"),
                "KeySchema": [
                    {"AttributeName": k.get("attributeName"), "KeyType": k.get("keyType")}
                    for k in g.get("keySchemas") or []
                ],
                "Projection": {"ProjectionType": g.get("projectionType")},
                "ProvisionedThroughput": throughput(g),
            }
        )
        for g in i.get("globalSecondaryIndexes") or []
    ]
    sse = i.get("serverSideEncryption") or {}
    warm = i.get("warmThroughput") or {}
    requests: list[tuple[str, str, dict]] = [
        (
            "dynamodb",
            "CreateTable",
            {
                "TableName": i.get("name"),
                "AttributeDefinitions": [
                    {"AttributeName": a.get("name"), "AttributeType": a.get("type")} for a in i.get("attributes") or []
                ],
                "KeySchema": keys,
                "BillingMode": i.get("billingMode"),
                "ProvisionedThroughput": throughput(i),
                "GlobalSecondaryIndexes": gsis or None,
                "SSESpecification": _drop_none(
                    {
                        "Enabled": sse.get("enabled"),
                        "SSEType": "KMS" if sse.get("kmsKeyArn") else None,
                        "KMSMasterKeyId": sse.get("kmsKeyArn"),
                    }
                ),
                "DeletionProtectionEnabled": i.get("deletionProtectionEnabled"),
                "WarmThroughput": _drop_none(
                    {
                        "ReadUnitsPerSecond": warm.get("readUnitsPerSecond"),
                        "WriteUnitsPerSecond": warm.get("writeUnitsPerSecond"),
                    }
                ),
                "Tags": _tags(i),
            },
        )
    ]
    ttl = i.get("ttl") or {}
    if ttl.get("attributeName"):
        requests.append(
            (
                "dynamodb",
                "UpdateTimeToLive",
                {
                    "TableName": i.get("name"),
                    "TimeToLiveSpecification": {
                        "AttributeName": ttl["attributeName"],
                        "Enabled": bool(ttl.get("enabled")),
                    },
                },
            )
        )
    pitr = i.get("pointInTimeRecovery") or {}
    if pitr:
        requests.append(
            (
                "dynamodb",
                "UpdateContinuousBackups",
                {
                    "TableName": i.get("name"),
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": bool(pitr.get("enabled"))},
                },
            )
        )
    return requests


# IAM, KMS, SNS, SSM ----------------------------------------------------------------------------
def _role(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "iam",
            "CreateRole",
            {
                "RoleName": i.get("name"),
                "AssumeRolePolicyDocument": i.get("assumeRolePolicy"),
                "Description": i.get("description"),
                "Tags": _tags(i),
            },
        )
    ]


def _role_policy(i: dict) -> list[tuple[str, str, dict]]:
    name = i.get("name") or f"{i.get('role')}-policy"
    return [
        ("iam", "PutRolePolicy", {"RoleName": i.get("role"), "PolicyName": name, "PolicyDocument": i.get("policy")})
    ]


def _role_policy_attachment(i: dict) -> list[tuple[str, str, dict]]:
    return [("iam", "AttachRolePolicy", {"RoleName": i.get("role"), "PolicyArn": i.get("policyArn")})]


def _kms_key(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "kms",
            "CreateKey",
            {"Description": i.get("description"), "Policy": i.get("policy"), "Tags": _tags(i, "TagKey", "TagValue")},
        ),
    ]


def _kms_alias(i: dict) -> list[tuple[str, str, dict]]:
    return [("kms", "CreateAlias", {"AliasName": i.get("name"), "TargetKeyId": i.get("targetKeyId")})]


def _topic(i: dict) -> list[tuple[str, str, dict]]:
    attributes = _drop_none({"KmsMasterKeyId": i.get("kmsMasterKeyId")})
    return [("sns", "CreateTopic", {"Name": i.get("name"), "Attributes": attributes, "Tags": _tags(i)})]


def _topic_policy(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "sns",
            "SetTopicAttributes",
            {"TopicArn": i.get("arn"), "AttributeName": "Policy", "AttributeValue": i.get("policy")},
        )
    ]


def _topic_subscription(i: dict) -> list[tuple[str, str, dict]]:
    return [
        ("sns", "Subscribe", {"TopicArn": i.get("topic"), "Protocol": i.get("protocol"), "Endpoint": i.get("endpoint")})
    ]


def _parameter(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "ssm",
            "PutParameter",
            {
                "Name": i.get("name"),
                "Value": i.get("value"),
                "Type": i.get("type"),
                "AllowedPattern": i.get("allowedPattern"),
                "Description": i.get("description"),
                "Tags": _tags(i),
            },
        )
    ]


# CloudWatch, Logs, EventBridge ----------------------------------------------------------------------
def _alarm(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "cloudwatch",
            "PutMetricAlarm",
            {
                "AlarmName": i.get("name"),
                "AlarmDescription": i.get("alarmDescription"),
                "Namespace": i.get("namespace"),
                "MetricName": i.get("metricName"),
                "Dimensions": [{"Name": k, "Value": str(v)} for k, v in (i.get("dimensions") or {}).items()],
                "Statistic": i.get("statistic"),
                "Period": i.get("period"),
                "EvaluationPeriods": i.get("evaluationPeriods"),
                "Threshold": i.get("threshold"),
                "ComparisonOperator": i.get("comparisonOperator"),
                "TreatMissingData": i.get("treatMissingData"),
                "AlarmActions": i.get("alarmActions"),
                "OKActions": i.get("okActions"),
                "Tags": _tags(i),
            },
        )
    ]


def _dashboard(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "cloudwatch",
            "PutDashboard",
            {"DashboardName": i.get("dashboardName"), "DashboardBody": i.get("dashboardBody")},
        )
    ]


def _log_group(i: dict) -> list[tuple[str, str, dict]]:
    requests: list[tuple[str, str, dict]] = [
        ("logs", "CreateLogGroup", {"logGroupName": i.get("name"), "kmsKeyId": i.get("kmsKeyId")})
    ]
    if i.get("retentionInDays"):
        requests.append(
            ("logs", "PutRetentionPolicy", {"logGroupName": i.get("name"), "retentionInDays": i.get("retentionInDays")})
        )
    return requests


def _log_resource_policy(i: dict) -> list[tuple[str, str, dict]]:
    return [
        ("logs", "PutResourcePolicy", {"policyName": i.get("policyName"), "policyDocument": i.get("policyDocument")})
    ]


def _metric_filter(i: dict) -> list[tuple[str, str, dict]]:
    t = i.get("metricTransformation") or {}
    return [
        (
            "logs",
            "PutMetricFilter",
            {
                "logGroupName": i.get("logGroupName"),
                "filterName": i.get("name"),
                "filterPattern": i.get("pattern"),
                "metricTransformations": [
                    _drop_none(
                        {
                            "metricName": t.get("name"),
                            "metricNamespace": t.get("namespace"),
                            "metricValue": t.get("value"),
                            "unit": t.get("unit"),
                            "dimensions": t.get("dimensions"),
                        }
                    )
                ],
            },
        )
    ]


def _event_rule(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "events",
            "PutRule",
            {
                "Name": i.get("name"),
                "EventPattern": i.get("eventPattern"),
                "Description": i.get("description"),
                "Tags": _tags(i),
            },
        )
    ]


def _event_target(i: dict) -> list[tuple[str, str, dict]]:
    target_id = i.get("targetId") or "target"
    return [("events", "PutTargets", {"Rule": i.get("rule"), "Targets": [{"Id": target_id, "Arn": i.get("arn")}]})]


def _vpc_endpoint(i: dict) -> list[tuple[str, str, dict]]:
    return [
        (
            "ec2",
            "CreateVpcEndpoint",
            {
                "VpcId": i.get("vpcId"),
                "ServiceName": i.get("serviceName"),
                "VpcEndpointType": i.get("vpcEndpointType"),
                "SubnetIds": i.get("subnetIds"),
                "SecurityGroupIds": i.get("securityGroupIds"),
                "RouteTableIds": i.get("routeTableIds"),
                "PrivateDnsEnabled": i.get("privateDnsEnabled"),
            },
        )
    ]


# S3 (the assessment results bucket) ------------------------------------------------------------
def _bucket(i: dict) -> list[tuple[str, str, dict]]:
    requests = [("s3", "CreateBucket", {"Bucket": i.get("bucket")})]
    if i.get("tags"):
        requests.append(("s3", "PutBucketTagging", {"Bucket": i.get("bucket"), "Tagging": {"TagSet": _tags(i)}}))
    return requests


def _public_access_block(i: dict) -> list[tuple[str, str, dict]]:
    keys = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    config = {k: i.get(k[0].lower() + k[1:]) for k in keys}
    return [("s3", "PutPublicAccessBlock", {"Bucket": i.get("bucket"), "PublicAccessBlockConfiguration": config})]


def _ownership_controls(i: dict) -> list[tuple[str, str, dict]]:
    rule = i.get("rule") or {}
    controls = {"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]}
    return [("s3", "PutBucketOwnershipControls", {"Bucket": i.get("bucket"), "OwnershipControls": controls})]


def _bucket_encryption(i: dict) -> list[tuple[str, str, dict]]:
    rules = []
    for rule in i.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        by_default = _drop_none(
            {"SSEAlgorithm": default.get("sseAlgorithm"), "KMSMasterKeyID": default.get("kmsMasterKeyId")}
        )
        rules.append(
            _drop_none(
                {"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": rule.get("bucketKeyEnabled")}
            )
        )
    return [
        (
            "s3",
            "PutBucketEncryption",
            {"Bucket": i.get("bucket"), "ServerSideEncryptionConfiguration": {"Rules": rules}},
        )
    ]


def _bucket_lifecycle(i: dict) -> list[tuple[str, str, dict]]:
    rules = []
    for rule in i.get("rules") or []:
        abort = rule.get("abortIncompleteMultipartUpload") or {}
        rules.append(
            _drop_none(
                {
                    "ID": rule.get("id"),
                    "Status": rule.get("status"),
                    "Filter": {"Prefix": (rule.get("filter") or {}).get("prefix", "")},
                    "Expiration": _drop_none({"Days": (rule.get("expiration") or {}).get("days")}),
                    "AbortIncompleteMultipartUpload": _drop_none(
                        {"DaysAfterInitiation": abort.get("daysAfterInitiation")}
                    ),
                }
            )
        )
    return [
        (
            "s3",
            "PutBucketLifecycleConfiguration",
            {"Bucket": i.get("bucket"), "LifecycleConfiguration": {"Rules": rules}},
        )
    ]


def _bucket_policy(i: dict) -> list[tuple[str, str, dict]]:
    return [("s3", "PutBucketPolicy", {"Bucket": i.get("bucket"), "Policy": i.get("policy")})]


def _no_request(_i: dict) -> list[tuple[str, str, dict]]:
    return []


TRANSLATIONS: dict[str, Callable[[dict], list[tuple[str, str, dict]]]] = {
    "aws:dms/endpoint:Endpoint": _endpoint,
    "aws:dms/replicationTask:ReplicationTask": _task,
    "aws:dms/replicationInstance:ReplicationInstance": _instance,
    "aws:dms/replicationConfig:ReplicationConfig": _replication_config,
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": _subnet_group,
    "aws:dms/eventSubscription:EventSubscription": _event_subscription,
    "aws:dynamodb/table:Table": _table,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": _topic_subscription,
    "aws:ssm/parameter:Parameter": _parameter,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": _log_resource_policy,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _metric_filter,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access_block,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _ownership_controls,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _bucket_encryption,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_lifecycle,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    # A wait for IAM propagation: the provider sleeps, no AWS call.
    "time:index/sleep:Sleep": _no_request,
}


def requests_for(resource: Any) -> list[ApiRequest]:
    """The API requests that create ``resource`` (none for components and waits)."""
    if not getattr(resource, "custom", True):
        return []
    translate = TRANSLATIONS.get(resource.type)
    if translate is None:
        raise UntranslatedResource(f"{resource.type} ({resource.name}): no AWS request translation")
    return [
        ApiRequest(service, operation, _drop_none(params), resource.name, resource.type)
        for service, operation, params in translate(dict(resource.inputs))
    ]


def json_document(request: ApiRequest, member: str) -> Any:
    """A JSON string member of a request, parsed (None when absent or not JSON)."""
    value = request.params.get(member)
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
