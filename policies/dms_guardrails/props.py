"""Reading resource properties the way policies see them (camelCase, unknowns at preview)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

UNKNOWN = object()
"""Returned by :func:`get` for a value not known until the update runs."""

INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"
ENDPOINT = "aws:dms/endpoint:Endpoint"
TASK = "aws:dms/replicationTask:ReplicationTask"
REPLICATION_CONFIG = "aws:dms/replicationConfig:ReplicationConfig"
"""A DMS Serverless replication: checked like a task (settings, mappings, alarms)."""
REPLICATION_UNITS = (TASK, REPLICATION_CONFIG)
SETTINGS_KEY = {TASK: "replicationTaskSettings", REPLICATION_CONFIG: "replicationSettings"}
MIGRATION_TYPE_KEY = {TASK: "migrationType", REPLICATION_CONFIG: "replicationType"}
ARN_KEY = {TASK: "replicationTaskArn", REPLICATION_CONFIG: "arn"}
LABEL_KEY = {TASK: "replicationTaskId", REPLICATION_CONFIG: "replicationConfigIdentifier"}
SUBNET_GROUP = "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup"
EVENT_SUBSCRIPTION = "aws:dms/eventSubscription:EventSubscription"
TABLE = "aws:dynamodb/table:Table"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
KMS_KEY = "aws:kms/key:Key"
TOPIC = "aws:sns/topic:Topic"
NON_DATABASE_ENGINES = {"dynamodb", "s3", "kinesis", "kafka", "elasticsearch", "opensearch", "neptune", "redshift"}


def get(props: Mapping, *path: str | int, default: Any = None) -> Any:
    """``props[path...]``, ``default`` when absent, :data:`UNKNOWN` when unknown at preview."""
    node: Any = props
    try:
        for key in path:
            if isinstance(key, int):
                if not isinstance(node, Sequence) or isinstance(node, str) or key >= len(node):
                    return default
            elif not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
    except UnknownValueError:
        return UNKNOWN
    return default if node is None else node


def json_prop(props: Mapping, key: str) -> Any:
    """A property holding a JSON document, parsed; None when absent or not valid JSON."""
    value = get(props, key)
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def walk(value: Any, path: str = ""):
    """Yield ``(path, key, value)`` for every known leaf and key below ``value``."""
    if isinstance(value, Mapping):
        for key in list(value):
            try:
                child = value[key]
            except UnknownValueError:
                continue
            child_path = f"{path}.{key}" if path else str(key)
            yield child_path, str(key), child
            yield from walk(child, child_path)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i in range(len(value)):
            try:
                child = value[i]
            except UnknownValueError:
                continue
            yield from walk(child, f"{path}[{i}]")


def known_values(mapping: Any) -> list:
    """The values of a mapping property that are known (unknown ones are skipped, never touched)."""
    if not isinstance(mapping, Mapping):
        return []
    values = []
    for key in list(mapping):
        try:
            values.append(mapping[key])
        except UnknownValueError:
            continue
    return values


def is_source_endpoint(props: Mapping) -> bool:
    return get(props, "endpointType") == "source" and get(props, "engineName") not in NON_DATABASE_ENGINES


def as_list(value: Any) -> list:
    """A property as a list (a scalar becomes a one-item list); unknown items become UNKNOWN."""
    if value is None or value is UNKNOWN:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    items = []
    for i in range(len(value)):
        try:
            items.append(value[i])
        except UnknownValueError:
            items.append(UNKNOWN)
    return items
