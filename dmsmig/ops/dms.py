"""DMS task operations: describe, start/resume/reload, stop, reload tables, progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dmsmig.ops.decisions import StartAction, TaskProgress
from dmsmig.ops.errors import explain
from dmsmig.ops.outputs import TaskRef
from dmsmig.ops.retry import call_with_retry


def describe_tasks(dms: Any, arns: list[str]) -> dict[str, dict]:
    """Describe tasks by ARN (settings left out); a missing task raises with its ARN."""
    found: dict[str, dict] = {}
    marker = None
    try:
        while True:
            kwargs: dict[str, Any] = {
                "Filters": [{"Name": "replication-task-arn", "Values": arns}],
                "WithoutSettings": True,
            }
            if marker:
                kwargs["Marker"] = marker
            page = call_with_retry(dms.describe_replication_tasks, **kwargs)
            for task in page.get("ReplicationTasks", []):
                found[task["ReplicationTaskArn"]] = task
            marker = page.get("Marker")
            if not marker:
                break
    except Exception as err:
        raise explain(err, "describing", f"{len(arns)} task(s)") from None
    missing = [a for a in arns if a not in found]
    if missing:
        from dmsmig.ops.errors import OpsError

        raise OpsError(f"task(s) not found: {', '.join(missing)}", "run pulumi up, or refresh the outputs file")
    return found


def started_before(task: dict) -> bool:
    """DMS records a start date once a task has been started."""
    return bool(task.get("ReplicationTaskStartDate"))


def apply_start(dms: Any, arn: str, action: StartAction) -> str:
    """Issue the start call for ``action``; return the status DMS reports."""
    try:
        response = call_with_retry(
            dms.start_replication_task, ReplicationTaskArn=arn, StartReplicationTaskType=action.value
        )
    except Exception as err:
        raise explain(err, f"{action.value} of", arn) from None
    return response["ReplicationTask"]["Status"]


def stop_task(dms: Any, arn: str) -> str:
    try:
        response = call_with_retry(dms.stop_replication_task, ReplicationTaskArn=arn)
    except Exception as err:
        raise explain(err, "stopping", arn) from None
    return response["ReplicationTask"]["Status"]


def reload_table(dms: Any, arn: str, schema: str, table: str, validate_only: bool = False) -> None:
    """Reload one table of a running task (``ReloadTables``)."""
    try:
        call_with_retry(
            dms.reload_tables,
            ReplicationTaskArn=arn,
            TablesToReload=[{"SchemaName": schema, "TableName": table}],
            ReloadOption="validate-only" if validate_only else "data-reload",
        )
    except Exception as err:
        raise explain(err, f"reloading {schema}.{table} in", arn) from None


def table_statistics(dms: Any, arn: str) -> list[dict]:
    """All table statistics of a task (paginated)."""
    rows: list[dict] = []
    marker = None
    try:
        while True:
            kwargs: dict[str, Any] = {"ReplicationTaskArn": arn}
            if marker:
                kwargs["Marker"] = marker
            page = call_with_retry(dms.describe_table_statistics, **kwargs)
            rows.extend(page.get("TableStatistics", []))
            marker = page.get("Marker")
            if not marker:
                return rows
    except Exception as err:
        raise explain(err, "reading table statistics of", arn) from None


def cdc_latency(cloudwatch: Any, task: TaskRef, now: datetime | None = None) -> tuple[float | None, float | None]:
    """Latest ``CDCLatencySource`` / ``CDCLatencyTarget`` (max over 10 minutes), None without data."""
    now = now or datetime.now(UTC)
    values = []
    for metric in ("CDCLatencySource", "CDCLatencyTarget"):
        try:
            response = call_with_retry(
                cloudwatch.get_metric_statistics,
                Namespace="AWS/DMS",
                MetricName=metric,
                Dimensions=[
                    {"Name": "ReplicationInstanceIdentifier", "Value": task.instance_id},
                    {"Name": "ReplicationTaskIdentifier", "Value": task.resource_id},
                ],
                StartTime=now - timedelta(minutes=10),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )
        except Exception as err:
            raise explain(err, f"reading {metric} of", task.task_id) from None
        points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
        values.append(points[-1]["Maximum"] if points else None)
    return values[0], values[1]


def progress(dms: Any, cloudwatch: Any, ref: TaskRef, described: dict) -> TaskProgress:
    """Combine describe, table statistics and (for CDC) latency into one record."""
    stats = described.get("ReplicationTaskStats", {}) or {}
    tables = table_statistics(dms, ref.arn) if described.get("Status") not in ("ready", "creating") else []
    errored = [f"{t['SchemaName']}.{t['TableName']}" for t in tables if t.get("TableState") == "Table error"]
    result = TaskProgress(
        task_id=ref.task_id,
        status=described.get("Status", "unknown"),
        migration_type=described.get("MigrationType", ref.migration_type),
        progress_percent=int(stats.get("FullLoadProgressPercent", 0)),
        tables_loaded=int(stats.get("TablesLoaded", 0)),
        tables_loading=int(stats.get("TablesLoading", 0)),
        tables_queued=int(stats.get("TablesQueued", 0)),
        tables_errored=max(int(stats.get("TablesErrored", 0)), len(errored)),
        rows_loaded=sum(int(t.get("FullLoadRows", 0)) for t in tables),
        error_rows=sum(int(t.get("FullLoadErrorRows", 0)) for t in tables),
        stop_reason=described.get("StopReason", "") or "",
        last_failure=described.get("LastFailureMessage", "") or "",
        errored_tables=errored,
    )
    if result.migration_type != "full-load" and result.status == "running":
        result.cdc_latency_source, result.cdc_latency_target = cdc_latency(cloudwatch, ref)
    return result
