"""The emulated DMS: task and Serverless replication states, the calls DMS accepts in each, and the data.

moto's DMS keeps no task state worth testing against and never reads table mappings. This
emulator keeps each task's status, start date and table statistics, validates every request
against botocore's DMS model, and raises ``InvalidResourceStateFault`` for a call the fact table
says is not accepted in the task's state (``facts.TASK_CALL_STATES``). It is stricter than DMS in
one place: a resume-processing or reload-target on a never-started task (which DMS documents as
causing data errors) is refused, so a test catches the program doing it.

Two clocks: tests call :meth:`EmulatedDms.tick` (a full load advances 50 % a tick, no data);
with a data plane (``sources``: endpoint identifier -> :class:`SourceBinding`) a started task runs
:class:`dmsmig.rehearsal.fullload.FullLoad` over the table mappings and task settings it was
created with (in a thread; the server runs it in a child process, :mod:`dmsmig.rehearsal.load_process`),
and its progress and table statistics are the load's own. The rehearsal serves
it over HTTP beside moto (:mod:`dmsmig.rehearsal.server`), so every operator command reaches it
through ``--endpoint-url`` exactly as it reaches AWS. A ``full-load-and-cdc`` or ``cdc`` task whose source
can decode its WAL (``SourceBinding.cdc``, the rehearsal's embedded PostgreSQL) runs its change stream
(:mod:`dmsmig.rehearsal.cdc`) in the same child process after the full load, until it is stopped; a
resumed task continues from its slot. Elsewhere (threads, a ``--database-url``) CDC is not emulated:
the task stays ``running`` at 100 % once its full load is done, as DMS reports it before changes arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dmsmig.contract import facts
from dmsmig.contract.shapes import request_problems
from dmsmig.model.estimate import INSTANCE_FIGURES
from dmsmig.model.metrics import unit_metric_dimensions
from dmsmig.rehearsal.fullload import FullLoad, SourceBinding


@dataclass
class EmulatedTask:
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
    table_mappings: str = ""
    settings: str = ""
    source_endpoint: str = ""
    load: FullLoad | None = None
    failure: str = ""
    instance_arn: str = ""

    def sync_from_load(self) -> None:
        """Take progress and table statistics from the running full load."""
        load = self.load
        if load is None:
            return
        self.progress = load.progress_percent
        self.tables = [t.statistics() for t in load.tables]
        cdc = load.cdc
        if cdc is not None:
            for table in self.tables:
                name = (table["SchemaName"], table["TableName"])
                table["Inserts"], table["Updates"] = cdc.inserts.get(name, 0), cdc.updates.get(name, 0)
                table["Deletes"] = cdc.deletes.get(name, 0)
                table["AppliedInserts"], table["AppliedUpdates"] = table["Inserts"], table["Updates"]
                table["AppliedDeletes"] = table["Deletes"]
        if load.cdc_failure and self.status == "running":
            self.status, self.failure = "failed", load.cdc_failure
            self.stop_reason = "Stop Reason FATAL_ERROR Error Level FATAL"
            return
        if load.result is None or self.status != "running":
            return
        if load.result.failed:
            self.status, self.failure = "failed", load.result.message
            self.stop_reason = "Stop Reason FATAL_ERROR Error Level FATAL"
        elif self.migration_type == facts.FULL_LOAD_ONLY:
            self.status, self.stop_reason = "stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED"

    def describe(self) -> dict[str, Any]:
        self.sync_from_load()
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
        if self.failure:
            task["LastFailureMessage"] = self.failure
        return task


@dataclass
class EmulatedReplication(EmulatedTask):
    """A DMS Serverless replication: ``created`` until started, then the provisioning phases, then running."""

    status: str = "created"
    capacity_units: int = 0

    def describe(self) -> dict[str, Any]:
        task = super().describe()
        replication: dict[str, Any] = {
            "ReplicationConfigIdentifier": self.identifier,
            "ReplicationConfigArn": self.arn,
            "Status": self.status,
            "ReplicationType": self.migration_type,
            "ReplicationStats": dict(task["ReplicationTaskStats"]),
            "ProvisionData": {"ProvisionState": "provisioned" if self.capacity_units else "unprovisioned"},
        }
        if self.capacity_units:
            replication["ProvisionData"]["ProvisionedCapacityUnits"] = self.capacity_units
        if self.start_date:
            replication["ReplicationStats"]["StartDate"] = self.start_date
        if self.stop_reason:
            replication["StopReason"] = self.stop_reason
        if self.status == "failed":
            replication["FailureMessages"] = [self.failure or "Test connection failed for endpoint source"]
        return replication


DEFAULT_ASSESSMENTS = (
    "unsupported-data-types-in-source",
    "table-with-lob-but-without-primary-key-or-unique-constraint",
    "table-with-no-primary-key-or-unique-constraint",
)


@dataclass
class EmulatedAssessmentRun:
    """A premigration assessment run: starting, provisioning, running, then a verdict from its results."""

    arn: str
    task_arn: str
    request: dict[str, Any]
    results: dict[str, str]
    status: str = "starting"

    def describe(self) -> dict[str, Any]:
        done = self.status not in facts.ASSESSMENT_RUN_STATES["in-progress"]
        return {
            "ReplicationTaskAssessmentRunArn": self.arn,
            "ReplicationTaskArn": self.task_arn,
            "Status": self.status,
            "AssessmentProgress": {
                "IndividualAssessmentCount": len(self.results),
                "IndividualAssessmentCompletedCount": len(self.results) if done else 0,
            },
            "ResultLocationBucket": self.request["ResultLocationBucket"],
            "ResultLocationFolder": self.request.get("ResultLocationFolder", ""),
            "AssessmentRunName": self.request["AssessmentRunName"],
        }

    def advance(self) -> None:
        following = {"starting": "provisioning", "provisioning": "running"}
        if self.status in following:
            self.status = following[self.status]
        elif self.status == "running":
            statuses = set(self.results.values())
            failing = statuses & {"failed", "error"}
            self.status = "failed" if failing else "warning" if "warning" in statuses else "passed"


class EmulatedDms:
    """The subset of the boto3 DMS client the operator commands use, with task and replication state."""

    def __init__(
        self,
        tasks: list[EmulatedTask] | None = None,
        rows_per_tick: int = 1000,
        instance_arns: list[str] | None = None,
        *,
        region: str = "eu-west-1",
        account: str = "123456789012",
        sources: dict[str, SourceBinding] | None = None,
        make_dynamodb: Callable[[], Any] | None = None,
        load_factory: Callable[[str, str, SourceBinding, dict | None, list | None], Any] | None = None,
    ):
        tasks = tasks or []
        self.region, self.account = region, account
        self.sources = sources
        """Endpoint identifier -> where it reads; None: no data plane (tests drive :meth:`tick`)."""
        self.make_dynamodb = make_dynamodb
        self.load_factory = load_factory
        """Makes a started task's load (e.g. in its own process); default: :class:`FullLoad` in a thread."""
        self.endpoints: dict[str, dict] = {}
        self.connections: dict[str, dict] = {}
        """Endpoint ARN -> the last TestConnection's result."""
        self.lock = threading.RLock()
        self.tasks = {t.arn: t for t in tasks}
        self.instance_arns = instance_arns or []
        self.assessment_results: dict[str, dict[str, str]] = {}
        """Individual results per task identifier (default: every assessment passes)."""
        self.runs: dict[str, EmulatedAssessmentRun] = {}
        self.rows_per_tick = rows_per_tick
        for task in tasks:
            if not task.tables:
                task.tables = [
                    {
                        "SchemaName": "dbo",
                        "TableName": "vw_Dynamodbmigration",
                        "TableState": "Before load",
                        "FullLoadRows": 0,
                    }
                ]

    # helpers ---------------------------------------------------------------------------------
    def _check(self, operation: str, params: dict) -> None:
        problems = request_problems("dms", operation, params)
        if problems:
            message = f"{operation} request AWS would refuse: {problems}"
            raise ClientError({"Error": {"Code": "InvalidParameterValueException", "Message": message}}, operation)

    def _arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:dms:{self.region}:{self.account}:{kind}:{resource_id}"

    def _launch(self, task: EmulatedTask) -> None:
        """With a data plane, run the task's full load in a thread (once per start or reload), then its CDC."""
        if self.sources is None or self.make_dynamodb is None:
            return
        endpoint = self.endpoints.get(task.source_endpoint, {})
        binding = self.sources.get(endpoint.get("EndpointIdentifier", ""))
        with_cdc = task.migration_type != facts.FULL_LOAD_ONLY and binding is not None and binding.cdc
        cdc_only = task.migration_type == "cdc"
        if task.load is not None:
            if task.load.result is None:
                return  # still loading
            if not task.load.result.interrupted and task.calls[-1:] != ["reload-target"]:
                if not with_cdc or task.load.cdc_running:
                    return  # resume after a finished load: nothing to load again
                cdc_only = True  # a stopped CDC task resumes its change stream from its slot
            # a stopped load resumes by loading its tables again from the start (stated choice: the
            # User Guide does not say where a resumed full load restarts; PutItem makes it idempotent)
        if binding is None:
            task.status, task.failure = "failed", f"no local source for endpoint {task.source_endpoint}"
            return
        if self.load_factory is not None:
            cdc = None
            if with_cdc:
                cdc = {"taskId": task.identifier, "dimensions": self._dimensions(task), "cdcOnly": cdc_only}
            earlier = task.load.tables if task.load is not None and cdc_only else None
            task.load = self.load_factory(task.table_mappings, task.settings, binding, cdc, earlier)
        else:
            task.load = FullLoad(task.table_mappings, task.settings, binding, self.make_dynamodb)
        threading.Thread(target=task.load.run, daemon=True, name=f"full-load-{task.identifier}").start()

    def _dimensions(self, task: EmulatedTask) -> dict[str, str]:
        """The task's AWS/DMS metric dimensions, as :func:`dmsmig.model.metrics.unit_metric_dimensions` reads them."""
        resource_id = task.arn.rsplit(":", 1)[-1]
        if isinstance(task, EmulatedReplication):
            return unit_metric_dimensions("serverless", None, resource_id)
        return unit_metric_dimensions("instance", task.instance_arn.rsplit(":", 1)[-1], resource_id)

    def _find(self, arn: str, operation: str, serverless: bool) -> EmulatedTask:
        """The task (or, ``serverless``, the replication) with ``arn``; the other kind is not found, as in DMS."""
        task = self.tasks.get(arn)
        if task is None or isinstance(task, EmulatedReplication) != serverless:
            raise ClientError({"Error": {"Code": "ResourceNotFoundFault", "Message": f"{arn} not found"}}, operation)
        return task

    def _task(self, arn: str, operation: str) -> EmulatedTask:
        return self._find(arn, operation, serverless=False)

    @staticmethod
    def _refuse(operation: str, task: EmulatedTask, why: str = "") -> ClientError:
        message = f"Task {task.identifier} is in state {task.status}{why}"
        return ClientError({"Error": {"Code": "InvalidResourceStateFault", "Message": message}}, operation)

    def tick(self) -> None:
        """Time passes: starting tasks run, running full loads progress and finish, stopping tasks stop."""
        for run in self.runs.values():
            run.advance()
        for task in self.tasks.values():
            if task.status in facts.SERVERLESS_START_PHASES:
                phases = facts.SERVERLESS_START_PHASES
                at = phases.index(task.status)
                task.status = phases[at + 1] if at + 1 < len(phases) else "running"
                if task.status == "provisioning_capacity" and isinstance(task, EmulatedReplication):
                    task.capacity_units = 4
                if task.status == "running":
                    self._launch(task)
            elif task.status == "starting":
                task.status = "running"
                self._launch(task)
            elif task.status == "stopping":
                task.status = "stopped"
                if task.load is not None:
                    task.load.stop_requested.set()
            elif task.load is not None:
                task.sync_from_load()
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
        found = [
            t.describe()
            for arn, t in self.tasks.items()
            if not isinstance(t, EmulatedReplication) and (wanted is None or arn in wanted)
        ]
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

    # Creating what the program declares (the contract layer's requests) ------------------------
    def create_endpoint(self, **params: Any) -> dict:
        self._check("CreateEndpoint", params)
        arn = self._arn("endpoint", params["EndpointIdentifier"])
        self.endpoints[arn] = {**params, "EndpointArn": arn, "Status": "active"}
        return {"Endpoint": {k: v for k, v in self.endpoints[arn].items() if k != "Password"}}

    def create_replication_instance(self, **params: Any) -> dict:
        self._check("CreateReplicationInstance", params)
        arn = self._arn("rep", params["ReplicationInstanceIdentifier"])
        self.instance_arns.append(arn)
        return {"ReplicationInstance": {"ReplicationInstanceArn": arn, "ReplicationInstanceStatus": "available"}}

    def create_replication_task(self, **params: Any) -> dict:
        self._check("CreateReplicationTask", params)
        arn = self._arn("task", params.get("ResourceIdentifier") or params["ReplicationTaskIdentifier"])
        task = EmulatedTask(
            arn=arn,
            identifier=params["ReplicationTaskIdentifier"],
            migration_type=params["MigrationType"],
            table_mappings=params["TableMappings"],
            settings=params.get("ReplicationTaskSettings", ""),
            source_endpoint=params["SourceEndpointArn"],
            instance_arn=params["ReplicationInstanceArn"],
        )
        self.tasks[arn] = task
        return {"ReplicationTask": task.describe()}

    def create_replication_config(self, **params: Any) -> dict:
        self._check("CreateReplicationConfig", params)
        arn = self._arn("replication-config", params.get("ResourceIdentifier") or params["ReplicationConfigIdentifier"])
        replication = EmulatedReplication(
            arn=arn,
            identifier=params["ReplicationConfigIdentifier"],
            migration_type=params["ReplicationType"],
            table_mappings=params["TableMappings"],
            settings=params.get("ReplicationSettings", ""),
            source_endpoint=params["SourceEndpointArn"],
        )
        self.tasks[arn] = replication
        return {
            "ReplicationConfig": {"ReplicationConfigArn": arn, "ReplicationConfigIdentifier": replication.identifier}
        }

    # Instances and connections (always available and reachable) -----------------------------
    def describe_replication_instances(self, **params: Any) -> dict:
        self._check("DescribeReplicationInstances", params)
        return {
            "ReplicationInstances": [
                {
                    "ReplicationInstanceArn": arn,
                    "ReplicationInstanceIdentifier": arn.rsplit(":", 1)[-1],
                    "ReplicationInstanceStatus": "available",
                }
                for arn in self.instance_arns
            ]
        }

    def describe_orderable_replication_instances(self, **params: Any) -> dict:
        """Stated choice: every class of the estimate's instance table is offered at engine versions
        3.5.2 to 3.5.4 (a real region's list differs; preflight against AWS reads the real one)."""
        self._check("DescribeOrderableReplicationInstances", params)
        offers = [
            {"ReplicationInstanceClass": klass, "EngineVersion": version, "ReleaseStatus": "prod"}
            for klass in sorted(INSTANCE_FIGURES)
            for version in ("3.5.2", "3.5.3", "3.5.4")
        ]
        return {"OrderableReplicationInstances": offers}

    def test_connection(self, **params: Any) -> dict:
        """With a data plane the test is real: a source endpoint's database answers ``SELECT 1``, the
        target's DynamoDB answers ``ListTables``; without one every connection succeeds."""
        self._check("TestConnection", params)
        endpoint_arn = params["EndpointArn"]
        status, message = "successful", ""
        if self.sources is not None and self.make_dynamodb is not None:
            endpoint = self.endpoints.get(endpoint_arn)
            try:
                if endpoint is None:
                    raise LookupError(f"endpoint {endpoint_arn} not found")
                if endpoint.get("EndpointType") == "target":
                    self.make_dynamodb().list_tables(Limit=1)
                else:
                    binding = self.sources.get(endpoint.get("EndpointIdentifier", ""))
                    if binding is None:
                        raise LookupError(f"no local source for endpoint {endpoint['EndpointIdentifier']}")
                    with binding.engine.connect() as conn:
                        conn.exec_driver_sql("SELECT 1")
            except Exception as err:  # noqa: BLE001 - reported as the connection's failure, as DMS does
                status, message = "failed", f"{type(err).__name__}: {err}"[:300]
        self.connections[endpoint_arn] = {
            "EndpointArn": endpoint_arn,
            "ReplicationInstanceArn": params["ReplicationInstanceArn"],
            "Status": status,
            **({"LastFailureMessage": message} if message else {}),
        }
        return {"Connection": {**self.connections[endpoint_arn], "Status": "testing"}}

    def describe_connections(self, **params: Any) -> dict:
        self._check("DescribeConnections", params)
        wanted = {v for f in params.get("Filters", []) if f["Name"] == "endpoint-arn" for v in f["Values"]}
        found = [c for arn, c in self.connections.items() if not wanted or arn in wanted]
        return {"Connections": found or [{"Status": "successful"}]}

    # Premigration assessments ---------------------------------------------------------------------
    def start_replication_task_assessment_run(self, **params: Any) -> dict:
        self._check("StartReplicationTaskAssessmentRun", params)
        task = self._task(params["ReplicationTaskArn"], "StartReplicationTaskAssessmentRun")
        if any(r.request["AssessmentRunName"] == params["AssessmentRunName"] for r in self.runs.values()):
            raise ClientError(
                {"Error": {"Code": "ResourceAlreadyExistsFault", "Message": "run name in use"}},
                "StartReplicationTaskAssessmentRun",
            )
        results = self.assessment_results.get(task.identifier) or dict.fromkeys(DEFAULT_ASSESSMENTS, "passed")
        arn = f"{task.arn.replace(':task:', ':assessment-run:')}-{len(self.runs) + 1}"
        self.runs[arn] = EmulatedAssessmentRun(arn, task.arn, dict(params), dict(results))
        task.calls.append("assess")
        return {"ReplicationTaskAssessmentRun": self.runs[arn].describe()}

    def describe_replication_task_assessment_runs(self, **params: Any) -> dict:
        self._check("DescribeReplicationTaskAssessmentRuns", params)
        wanted = {v for f in params.get("Filters", []) for v in f["Values"]}
        return {"ReplicationTaskAssessmentRuns": [r.describe() for arn, r in self.runs.items() if arn in wanted]}

    def describe_replication_task_individual_assessments(self, **params: Any) -> dict:
        self._check("DescribeReplicationTaskIndividualAssessments", params)
        wanted = {v for f in params.get("Filters", []) for v in f["Values"]}
        found = []
        for arn, run in self.runs.items():
            if arn not in wanted:
                continue
            done = run.status not in facts.ASSESSMENT_RUN_STATES["in-progress"]
            found += [
                {
                    "ReplicationTaskAssessmentRunArn": arn,
                    "IndividualAssessmentName": name,
                    "Status": status if done else "pending",
                }
                for name, status in run.results.items()
            ]
        return {"ReplicationTaskIndividualAssessments": found}

    # DMS Serverless ------------------------------------------------------------------------------
    def _replication(self, arn: str, operation: str) -> EmulatedReplication:
        replication = self._find(arn, operation, serverless=True)
        assert isinstance(replication, EmulatedReplication)
        return replication

    def _refuse_unless(self, operation: str, task: EmulatedTask, state_key: str) -> None:
        if task.status not in facts.SERVERLESS_CALL_STATES[state_key]:
            raise self._refuse(operation, task)

    def describe_replications(self, **params: Any) -> dict:
        self._check("DescribeReplications", params)
        wanted: set[str] | None = None
        for f in params.get("Filters", []):
            if f["Name"] == "replication-config-arn":
                wanted = set(f["Values"])
        found = [
            t.describe()
            for arn, t in self.tasks.items()
            if isinstance(t, EmulatedReplication) and (wanted is None or arn in wanted)
        ]
        return {"Replications": found}

    def start_replication(self, **params: Any) -> dict:
        self._check("StartReplication", params)
        kind = params["StartReplicationType"]
        replication = self._replication(params["ReplicationConfigArn"], "StartReplication")
        if kind == facts.FIRST_START_ONLY and replication.start_date is not None:
            raise self._refuse("StartReplication", replication, "; it ran before: use resume-processing")
        self._refuse_unless("StartReplication", replication, kind)
        replication.calls.append(kind)
        replication.start_date = replication.start_date or datetime(2026, 11, 24, tzinfo=UTC)
        replication.status, replication.stop_reason = facts.SERVERLESS_START_PHASES[0], ""
        return {"Replication": replication.describe()}

    def stop_replication(self, **params: Any) -> dict:
        self._check("StopReplication", params)
        replication = self._replication(params["ReplicationConfigArn"], "StopReplication")
        self._refuse_unless("StopReplication", replication, "StopReplication")
        replication.calls.append("stop")
        replication.status = "stopping"
        return {"Replication": replication.describe()}

    def modify_replication_config(self, **params: Any) -> dict:
        self._check("ModifyReplicationConfig", params)
        replication = self._replication(params["ReplicationConfigArn"], "ModifyReplicationConfig")
        self._refuse_unless("ModifyReplicationConfig", replication, "ModifyReplicationConfig")
        replication.calls.append("modify")
        return {"ReplicationConfig": {"ReplicationConfigArn": replication.arn}}

    def reload_replication_tables(self, **params: Any) -> dict:
        self._check("ReloadReplicationTables", params)
        replication = self._replication(params["ReplicationConfigArn"], "ReloadReplicationTables")
        self._refuse_unless("ReloadReplicationTables", replication, "ReloadReplicationTables")
        replication.reloads.extend(params["TablesToReload"])
        return {"ReplicationConfigArn": replication.arn}

    def describe_replication_table_statistics(self, **params: Any) -> dict:
        self._check("DescribeReplicationTableStatistics", params)
        replication = self._replication(params["ReplicationConfigArn"], "DescribeReplicationTableStatistics")
        return {
            "ReplicationConfigArn": replication.arn,
            "ReplicationTableStatistics": [dict(t) for t in replication.tables],
        }

    def describe_table_statistics(self, **params: Any) -> dict:
        self._check("DescribeTableStatistics", params)
        task = self._task(params["ReplicationTaskArn"], "DescribeTableStatistics")
        return {"ReplicationTaskArn": task.arn, "TableStatistics": [dict(t) for t in task.tables]}


def emulator_for_stack(run_outputs: dict, **states: str) -> EmulatedDms:
    """A fake holding every task and Serverless replication of a stack's outputs.

    ``states`` maps ``pN`` or a task id to a status; one other than ``ready`` (a replication's
    ``created``) counts as started before.
    """
    tasks = []
    for group in run_outputs["taskGroups"].values():
        for t in group:
            partition = "p" + t["taskId"].rsplit("-p", 1)[-1]
            serverless = t.get("kind") == "serverless"
            fresh = "created" if serverless else "ready"
            status = states.get(t["taskId"]) or states.get(partition) or fresh
            started = datetime(2026, 11, 20, tzinfo=UTC) if status != fresh else None
            tasks.append(
                (EmulatedReplication if serverless else EmulatedTask)(
                    arn=t["arn"],
                    identifier=t["taskId"],
                    migration_type=t["migrationType"],
                    status=status,
                    start_date=started,
                )
            )
    return EmulatedDms(tasks, instance_arns=list(run_outputs.get("instanceArns") or []))
