"""The CloudWatch dimensions of one task or Serverless replication (alarms, dashboard and operator reads)."""

from __future__ import annotations

from dmsmig.contract import facts


def unit_metric_dimensions(kind: str, instance_id: str | None, resource_id: str) -> dict[str, str]:
    """AWS/DMS dimensions: instance and task for a task, the replication for a Serverless one."""
    if kind == "serverless":
        return {facts.SERVERLESS_METRIC_DIMENSION: resource_id}
    # The task metric dimension is the ARN's last part: the resource identifier (fact task-metric-dimension).
    return {"ReplicationInstanceIdentifier": instance_id or "", "ReplicationTaskIdentifier": resource_id}
