"""A stateful stand-in for the DMS client: task states, and the calls DMS accepts in each.

moto's DMS keeps no task state worth testing against. This fake keeps each task's status, start
date and table statistics, validates every request against botocore's DMS model (as Stubber
does), and raises ``InvalidResourceStateFault`` for a call the fact table says is not accepted in
the task's state (``facts.TASK_CALL_STATES``). It is stricter than DMS in one place: a
resume-processing or reload-target on a never-started task (which DMS documents as causing data
errors) is refused, so a test catches the program doing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dmsmig.contract import facts
from dmsmig.contract.shapes import request_problems


@dataclass
class FakeTask:
    arn: str
    identifier: str
    migration_type: str = "full-load"
    status: str = "ready"
    start_date: datetime | None = None
    stop_reason: str = ""
    progress: int = 0
    tables: list[dict] = field(default_factory=list)
    reloads: list[dict] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        task: dict[str, Any] = {
            "ReplicationTaskIdentifier": self.identifier,
            "ReplicationTaskArn": self.arn,
            "Status": self.status,
            "MigrationType": self.migration_type,
            "ReplicationTaskStats": {
                "FullLoadProgressPercent": self.progress,
                "TablesLoaded": sum(1 for t in self.tables if t["TableState"] == "Table completed"),
                "TablesLoading": sum(1 for t in self.tables if t["TableState"] == "Before load"),
                "TablesQueued": 0,
                "TablesErrored": sum(1 for t in self.tables if t["TableState"] == "Table error"),
            },
        }
        if self.start_date:
            task["ReplicationTaskStartDate"] = self.start_date
        if self.stop_reason:
            task["StopReason"] = self.stop_reason
        return task


class FakeDms:
    """The subset of the boto3 DMS client the operator commands use, with task state."""

    def __init__(self, tasks: list[FakeTask], rows_per_tick: int = 1000):
        self.tasks = {t.arn: t for t in tasks}
        self.rows_per_tick = rows_per_tick
        for task in tasks:
            if not task.tables:
                task.tables = [
                    {"SchemaName": "dbo", "TableName": "vw_Dynamodbmigration", "TableState": "Before load", "FullLoadRows": 0}
                ]

    # helpers ---------------------------------------------------------------------------------
    def _check(self, operation: str, params: dict) -> None:
        problems = request_problems("dms", operation, params)
        if problems:
            raise AssertionError(f"{operation} request AWS would refuse: {problems}")

    def _task(self, arn: str, operation: str) -> FakeTask:
        if arn not in self.tasks:
            raise ClientError({"Error": {"Code": "ResourceNotFoundFault", "Message": f"{arn} not found"}}, operation)
        return self.tasks[arn]

    @staticmethod
    def _refuse(operation: str, task: FakeTask, why: str = "") -> ClientError:
        message = f"Task {task.identifier} is in state {task.status}{why}"
        return ClientError({"Error": {"Code": "InvalidResourceStateFault", "Message": message}}, operation)

    def tick(self) -> None:
        """Time passes: starting tasks run, running full loads progress and finish, stopping tasks stop."""
        for task in self.tasks.values():
            if task.status == "starting":
                task.status = "running"
            elif task.status == "stopping":
                task.status = "stopped"
            elif task.status == "running" and task.progress < 100:
                task.progress = min(100, task.progress + 50)
                for table in task.tables:
                    table["FullLoadRows"] += self.rows_per_tick
                    if task.progress == 100 and table["TableState"] == "Before load":
                        table["TableState"] = "Table completed"
                if task.progress == 100 and task.migration_type == facts.FULL_LOAD_ONLY:
                    task.status, task.stop_reason = "stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED"

    # DMS API ---------------------------------------------------------------------------------
    def describe_replication_tasks(self, **params: Any) -> dict:
        self._check("DescribeReplicationTasks", params)
        wanted: set[str] | None = None
        for f in params.get("Filters", []):
            if f["Name"] == "replication-task-arn":
                wanted = set(f["Values"])
        found = [t.describe() for arn, t in self.tasks.items() if wanted is None or arn in wanted]
        return {"ReplicationTasks": found}

    def start_replication_task(self, **params: Any) -> dict:
        self._check("StartReplicationTask", params)
        kind = params["StartReplicationTaskType"]
        task = self._task(params["ReplicationTaskArn"], "StartReplicationTask")
        if kind == facts.FIRST_START_ONLY and task.start_date is not None:
            raise self._refuse("StartReplicationTask", task, "; it ran before: use resume-processing or reload-target")
        if task.status not in facts.TASK_CALL_STATES[kind]:
            raise self._refuse("StartReplicationTask", task)
        if kind in facts.NEEDS_PREVIOUS_RUN and task.start_date is None:
            raise self._refuse("StartReplicationTask", task, f"; {kind} on a first run causes data errors")
        task.calls.append(kind)
        task.start_date = task.start_date or datetime(2026, 11, 24, tzinfo=UTC)
        task.status, task.stop_reason = "starting", ""
        if kind == "reload-target":
            task.progress = 0
        return {"ReplicationTask": task.describe()}

    def stop_replication_task(self, **params: Any) -> dict:
        self._check("StopReplicationTask", params)
        task = self._task(params["ReplicationTaskArn"], "StopReplicationTask")
        if task.status not in facts.TASK_CALL_STATES["StopReplicationTask"]:
            raise self._refuse("StopReplicationTask", task)
        task.calls.append("stop")
        task.status = "stopping"
        return {"ReplicationTask": task.describe()}

    def reload_tables(self, **params: Any) -> dict:
        self._check("ReloadTables", params)
        task = self._task(params["ReplicationTaskArn"], "ReloadTables")
        if task.status not in facts.TASK_CALL_STATES["ReloadTables"]:
            raise self._refuse("ReloadTables", task)
        task.reloads.extend(params["TablesToReload"])
        return {"ReplicationTaskArn": task.arn}

    def modify_replication_task(self, **params: Any) -> dict:
        self._check("ModifyReplicationTask", params)
        task = self._task(params["ReplicationTaskArn"], "ModifyReplicationTask")
        if task.status not in facts.TASK_CALL_STATES["ModifyReplicationTask"]:
            raise self._refuse("ModifyReplicationTask", task)
        task.calls.append("modify")
        return {"ReplicationTask": task.describe()}

    def describe_table_statistics(self, **params: Any) -> dict:
        self._check("DescribeTableStatistics", params)
        task = self._task(params["ReplicationTaskArn"], "DescribeTableStatistics")
        return {"ReplicationTaskArn": task.arn, "TableStatistics": [dict(t) for t in task.tables]}


def fake_for_stack(run_outputs: dict, **states: str) -> FakeDms:
    """A fake holding every task of a stack's outputs; ``states`` maps ``pN`` or a task id to a status.

    A task given a status other than ``ready`` counts as started before.
    """
    tasks = []
    for group in run_outputs["taskGroups"].values():
        for t in group:
            partition = "p" + t["taskId"].rsplit("-p", 1)[-1]
            status = states.get(t["taskId"]) or states.get(partition) or "ready"
            started = datetime(2026, 11, 20, tzinfo=UTC) if status != "ready" else None
            tasks.append(
                FakeTask(
                    arn=t["arn"], identifier=t["taskId"], migration_type=t["migrationType"], status=status, start_date=started
                )
            )
    return FakeDms(tasks)
