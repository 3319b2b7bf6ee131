"""DMS task operations: describe, start/resume/reload, stop, reload tables, progress.

Tasks and DMS Serverless replications go through the same functions: a :class:`TaskRef` of kind
``serverless`` is served by the replication calls (DescribeReplications, StartReplication,
StopReplication, ReloadReplicationTables, DescribeReplicationTableStatistics), and its record is
made task-shaped, with the provisioning phase kept, so the decisions have one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dmsmig.contract import facts
from dmsmig.model.metrics import unit_metric_dimensions
from dmsmig.ops.decisions import (
    STOPPED,
    StartAction,
    StartRow,
    TaskProgress,
    reload_tables_refusal,
    should_stop,
)
from dmsmig.ops.errors import OpsError, explain
from dmsmig.ops.outputs import TaskRef
from dmsmig.ops.retry import call_with_retry


def describe_tasks(dms: Any, refs: list[TaskRef]) -> dict[str, dict]:
    """Describe tasks and Serverless replications by ARN, as task-shaped records; a missing one raises."""
    tasks = [r.arn for r in refs if not r.serverless]
    configs = [r.arn for r in refs if r.serverless]
    found: dict[str, dict] = {}
    if tasks:
        for task in _pages(
            dms.describe_replication_tasks,
            "ReplicationTasks",
            f"{len(tasks)} task(s)",
            Filters=[{"Name": "replication-task-arn", "Values": tasks}],
            WithoutSettings=True,
        ):
            found[task["ReplicationTaskArn"]] = task
    if configs:
        for replication in _pages(
            dms.describe_replications,
            "Replications",
            f"{len(configs)} Serverless replication(s)",
            Filters=[{"Name": "replication-config-arn", "Values": configs}],
        ):
            found[replication["ReplicationConfigArn"]] = task_shaped(replication)
    missing = [r.arn for r in refs if r.arn not in found]
    if missing:
        raise OpsError(f"task(s) not found: {', '.join(missing)}", "run pulumi up, or refresh the outputs file")
    return found


def _pages(call: Any, key: str, what: str, **kwargs: Any) -> list[dict]:
    items: list[dict] = []
    try:
        while True:
            page = call_with_retry(call, **kwargs)
            items.extend(page.get(key, []))
            kwargs["Marker"] = page.get("Marker")
            if not kwargs["Marker"]:
                return items
    except Exception as err:
        raise explain(err, "describing", what) from None


def serverless_status(status: str) -> str:
    """A Serverless replication's status in the task vocabulary the decisions use.

    ``created`` is a replication never started (a task's ``ready``); the provisioning phases between
    StartReplication and ``running`` (fact serverless-start-phases) count as ``starting``.
    """
    if status == "created":
        return "ready"
    if status in facts.SERVERLESS_START_PHASES:
        return "starting"
    return status


def task_shaped(replication: dict) -> dict:
    """A DescribeReplications record with the task keys the operator commands read (the phase kept)."""
    raw = replication.get("Status", "unknown")
    stats = replication.get("ReplicationStats") or {}
    started = stats.get("StartDate") or stats.get("FreshStartDate") or replication.get("ReplicationLastStopTime")
    return {
        "ReplicationTaskIdentifier": replication.get("ReplicationConfigIdentifier", ""),
        "Status": serverless_status(raw),
        "Phase": raw,
        "MigrationType": replication.get("ReplicationType"),
        "ReplicationTaskStats": stats,
        "ReplicationTaskStartDate": started,
        "StopReason": replication.get("StopReason", ""),
        "LastFailureMessage": "; ".join(replication.get("FailureMessages") or []),
        "ProvisionedCapacityUnits": (replication.get("ProvisionData") or {}).get("ProvisionedCapacityUnits"),
    }


def started_before(task: dict) -> bool:
    """DMS records a start date once a task (or Serverless replication) has been started."""
    return bool(task.get("ReplicationTaskStartDate"))


def apply_start(dms: Any, ref: TaskRef, action: StartAction) -> str:
    """Issue the start call for ``action``; return the status DMS reports."""
    try:
        if ref.serverless:
            response = call_with_retry(
                dms.start_replication, ReplicationConfigArn=ref.arn, StartReplicationType=action.value
            )
            return serverless_status(response["Replication"]["Status"])
        response = call_with_retry(
            dms.start_replication_task, ReplicationTaskArn=ref.arn, StartReplicationTaskType=action.value
        )
    except Exception as err:
        raise explain(err, f"{action.value} of", ref.task_id) from None
    return response["ReplicationTask"]["Status"]


def stop_task(dms: Any, ref: TaskRef) -> str:
    """Stop a task or Serverless replication; return the status DMS reports."""
    try:
        if ref.serverless:
            response = call_with_retry(dms.stop_replication, ReplicationConfigArn=ref.arn)
            return serverless_status(response["Replication"]["Status"])
        response = call_with_retry(dms.stop_replication_task, ReplicationTaskArn=ref.arn)
    except Exception as err:
        raise explain(err, "stopping", ref.task_id) from None
    return response["ReplicationTask"]["Status"]


@dataclass(frozen=True)
class StopResult:
    """One task a stop looked at: its status before, and the status DMS reported after (unchanged if not stopped)."""

    ref: TaskRef
    was: str
    now: str

    @property
    def stopped(self) -> bool:
        return self.was != self.now or should_stop(self.was)


def stop_active(dms: Any, refs: list[TaskRef]) -> list[StopResult]:
    """Describe ``refs`` and stop each one that runs or is starting (:func:`decisions.should_stop`);
    the others are left as they are. What stop, the cutover's finish and decommission all do."""
    described = describe_tasks(dms, refs) if refs else {}
    results = []
    for ref in refs:
        was = described[ref.arn]["Status"]
        now = stop_task(dms, ref) if should_stop(was) else was
        results.append(StopResult(ref, was, now))
    return results


def request_reload(dms: Any, ref: TaskRef, tables: list[tuple[str, str]]) -> None:
    """Reload ``(schema, table)``s of one task if DMS takes it in the task's state now; otherwise
    :class:`OpsError` with the documented path (:func:`decisions.reload_tables_refusal`)."""
    described = describe_tasks(dms, [ref])[ref.arn]
    refusal = reload_tables_refusal(ref.task_id, described["Status"], ref.migration_type, started_before(described))
    if refusal:
        raise OpsError(*refusal)
    for schema, table in tables:
        reload_table(dms, ref, schema, table)


def reload_table(dms: Any, ref: TaskRef, schema: str, table: str, validate_only: bool = False) -> None:
    """Reload one table of a running task (``ReloadTables``) or replication (``ReloadReplicationTables``)."""
    request = {
        "TablesToReload": [{"SchemaName": schema, "TableName": table}],
        "ReloadOption": "validate-only" if validate_only else "data-reload",
    }
    try:
        if ref.serverless:
            call_with_retry(dms.reload_replication_tables, ReplicationConfigArn=ref.arn, **request)
        else:
            call_with_retry(dms.reload_tables, ReplicationTaskArn=ref.arn, **request)
    except Exception as err:
        raise explain(err, f"reloading {schema}.{table} in", ref.task_id) from None


def table_statistics(dms: Any, ref: TaskRef) -> list[dict]:
    """All table statistics of a task or Serverless replication (paginated)."""
    if ref.serverless:
        return _pages(
            dms.describe_replication_table_statistics,
            "ReplicationTableStatistics",
            f"table statistics of {ref.task_id}",
            ReplicationConfigArn=ref.arn,
        )
    return _pages(
        dms.describe_table_statistics,
        "TableStatistics",
        f"table statistics of {ref.task_id}",
        ReplicationTaskArn=ref.arn,
    )


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
                    {"Name": name, "Value": value}
                    for name, value in unit_metric_dimensions(task.kind, task.instance_id, task.resource_id).items()
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
    tables = table_statistics(dms, ref) if described.get("Status") not in ("ready", "creating") else []
    errored = [f"{t['SchemaName']}.{t['TableName']}" for t in tables if t.get("TableState") == "Table error"]
    phase = described.get("Phase")
    result = TaskProgress(
        task_id=ref.task_id,
        status=described.get("Status", "unknown"),
        phase=phase if phase and phase != described.get("Status") else "",
        serverless=ref.serverless,
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


def apply_start_plan(dms: Any, refs: list[TaskRef], decide: Any) -> list[dict]:
    """Describe ``refs``, let ``decide(rows)`` choose an action per task, and issue the start calls.

    ``rows`` are :class:`StartRow`; the result has, per task, its status before,
    the action and the status DMS reports after.
    """
    described = describe_tasks(dms, refs)
    rows = [start_row(t, described[t.arn]) for t in refs]
    by_id = {t.task_id: t for t in refs}
    results = []
    for (task_id, action), row in zip(decide(rows), rows):
        new_status = row.status
        if action.starts:
            new_status = apply_start(dms, by_id[task_id], action)
        results.append({"task": task_id, "was": row.status, "action": action.value, "status": new_status})
    return results


def start_row(ref: TaskRef, described: dict) -> StartRow:
    """What a start decision needs from a task's (or replication's) description."""
    full_load = (described.get("MigrationType") or ref.migration_type) == facts.FULL_LOAD_ONLY
    stopped = described["Status"] == STOPPED
    done = "FULL_LOAD_ONLY_FINISHED" in (described.get("StopReason") or "")
    if ref.serverless:  # its stop reason after a full load is not documented: stopped at 100 % is done
        done = done or (described.get("ReplicationTaskStats") or {}).get("FullLoadProgressPercent") == 100
    return StartRow(
        ref.task_id,
        described["Status"],
        started_before(described),
        finished=full_load and stopped and done,
        serverless_full_load=ref.serverless and full_load,
    )


def collect_progress(dms: Any, cloudwatch: Any, refs: list[TaskRef]) -> list[TaskProgress]:
    """One :class:`TaskProgress` per task of ``refs``: one describe for all, then statistics per task."""
    described = describe_tasks(dms, refs)
    return [progress(dms, cloudwatch, t, described[t.arn]) for t in refs]
