"""Render an offline program run as a resource tree with each resource's key properties."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.text import Text
from rich.tree import Tree

from dmsmig.offline.mock_engine import DeclaredResource, ProgramRun

KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "aws:dms/replicationInstance:ReplicationInstance": (
        "replicationInstanceId",
        "replicationInstanceClass",
        "allocatedStorage",
        "multiAz",
        "publiclyAccessible",
        "engineVersion",
    ),
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": ("replicationSubnetGroupId", "subnetIds"),
    "aws:dms/endpoint:Endpoint": ("endpointId", "engineName", "sslMode", "secretsManagerArn", "databaseName"),
    "aws:dms/replicationTask:ReplicationTask": ("replicationTaskId", "migrationType", "range", "prepMode"),
    "aws:dms/eventSubscription:EventSubscription": ("name", "sourceType", "eventCategories"),
    "aws:dynamodb/table:Table": ("name", "hashKey", "rangeKey", "billingMode", "deletionProtectionEnabled"),
    "aws:iam/role:Role": ("name",),
    "aws:kms/key:Key": ("enableKeyRotation",),
    "aws:kms/alias:Alias": ("name",),
    "aws:sns/topic:Topic": ("name",),
    "aws:sns/topicSubscription:TopicSubscription": ("protocol", "endpoint"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", "metricName", "threshold"),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:cloudwatch/eventRule:EventRule": ("name",),
    "aws:ssm/parameter:Parameter": ("name", "value"),
}


def _task_summary(resource: DeclaredResource) -> dict[str, Any]:
    mappings = json.loads(resource.inputs.get("tableMappings", "{}"))
    settings = json.loads(resource.inputs.get("replicationTaskSettings", "{}"))
    selection: dict[str, Any] = next((r for r in mappings.get("rules", []) if r.get("rule-type") == "selection"), {})
    filters = selection.get("filters", [])
    if filters:
        c = filters[0]["filter-conditions"][0]
        col = filters[0]["column-name"]
        if c["filter-operator"] == "between":
            where = f"{c['start-value']} <= {col} <= {c['end-value']}"
        else:
            where = f"{col} {'>=' if c['filter-operator'] == 'gte' else '<='} {c['value']}"
    else:
        where = "all rows"
    return {"range": where, "prepMode": settings.get("FullLoadSettings", {}).get("TargetTablePrepMode")}


def key_properties(resource: DeclaredResource) -> dict[str, Any]:
    """The properties worth showing for ``resource``."""
    values = dict(resource.inputs)
    if resource.type == "aws:dms/replicationTask:ReplicationTask":
        values.update(_task_summary(resource))
    return {k: values[k] for k in KEY_PROPERTIES.get(resource.type, ()) if values.get(k) is not None}


def _label(resource: DeclaredResource) -> Text:
    label = Text.assemble((resource.name, "bold"), " ", (resource.type, "cyan"))
    for key, value in key_properties(resource).items():
        label.append("  ")
        label.append(f"{key}=", style="dim")
        label.append(str(value))
    return label


def resource_tree(run: ProgramRun, title: str) -> Tree:
    """A rich tree: components at the top, their children below."""
    tree = Tree(title)

    def add(node: Tree, parent: str | None) -> None:
        for resource in run.children_of(parent):
            add(node.add(_label(resource)), resource.urn)

    add(tree, None)
    return tree


def resource_counts(run: ProgramRun) -> dict[str, int]:
    """How many resources of each type (components excluded)."""
    return dict(sorted(Counter(r.type for r in run.resources if r.custom).items()))


def plan_json(run: ProgramRun) -> dict:
    """Machine-readable plan: resources with key properties, counts and outputs."""
    return {
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "properties": key_properties(r),
            }
            for r in run.resources
        ],
        "counts": resource_counts(run),
        "outputs": run.outputs,
    }


def task_definition_changes(planned: dict, deployed: dict) -> list[str]:
    """Task ids whose settings, mappings or migration type differ from the deployed outputs.

    Applying such a change modifies the task, and DMS modifies only a stopped task: the provider
    stops a running one (DMS API, ModifyReplicationTask).
    """
    before = {
        t.get("taskId"): t.get("definitionHash")
        for tasks in (deployed.get("taskGroups") or {}).values()
        for t in tasks
        if isinstance(t, dict)
    }
    return [
        t["taskId"]
        for tasks in (planned.get("taskGroups") or {}).values()
        for t in tasks
        if t["taskId"] in before and before[t["taskId"]] != t.get("definitionHash")
    ]
