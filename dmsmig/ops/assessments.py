"""DMS premigration assessment runs: start one per task, wait, and turn each individual result into a check.

An assessment run checks what a connection test cannot (unsupported data types, LOB columns
without a primary key, CDC prerequisites); DMS writes each result to the stack's results bucket
as ``<assessment>.json`` (fact assessment-result-files). Serverless replications are assessed by
DMS itself when they start (StartReplication's PremigrationAssessmentSettings), so only tasks run here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dmsmig.config.stack import Assessments
from dmsmig.contract import facts
from dmsmig.ops.errors import OpsError, explain
from dmsmig.ops.outputs import TaskRef
from dmsmig.ops.retry import call_with_retry

sleep = time.sleep  # module attribute, so tests can make time pass in the DMS fake

# What to do when an individual assessment fails (names: User Guide, "Assessments for all endpoint types").
FIXES = {
    "unsupported-data-types-in-source": (
        "a mapped column has a type DMS does not migrate: exclude it in the mapping spec (excludeColumns) or "
        "cast it in the source view"
    ),
    "table-with-lob-but-without-primary-key-or-unique-constraint": (
        "DMS migrates LOBs only from tables with a primary key or unique constraint: add one at the source, or "
        "drop the LOB columns from the mapping (lobColumns)"
    ),
    "table-with-no-primary-key-or-unique-constraint": (
        "CDC applies updates and deletes by key: add a primary key or unique constraint to the source table"
    ),
    "full-lob-not-nullable-at-target": "make the LOB column nullable at the target, or use limited LOB mode",
    "target-table-has-unique-key-or-primary-key-for-cdc": "give the target table a primary or unique key",
}


@dataclass(frozen=True)
class AssessmentResult:
    """One individual assessment of one task's run."""

    task_id: str
    name: str
    status: str
    location: str

    @property
    def failed(self) -> bool:
        return self.status in facts.INDIVIDUAL_ASSESSMENT_FAILING

    @property
    def fix(self) -> str:
        if not self.failed and self.status != "warning":
            return ""
        known = FIXES.get(self.name, "")
        details = f"details: {self.location}{self.name}.json"
        return f"{known}; {details}" if known else details


def run_name(ref: TaskRef, now: datetime) -> str:
    """A unique, readable run name: the task's resource id and the UTC time."""
    return f"dmsmig-{ref.resource_id}-{now:%Y%m%d%H%M%S}"


def start_runs(
    dms: Any, refs: list[TaskRef], bucket: str, role_arn: str, settings: Assessments, now: datetime | None = None
) -> dict[str, str]:
    """Start one assessment run per task; return run ARN by task id."""
    now = now or datetime.now(UTC)
    runs = {}
    for ref in refs:
        request: dict[str, Any] = {
            "ReplicationTaskArn": ref.arn,
            "ServiceAccessRoleArn": role_arn,
            "ResultLocationBucket": bucket,
            "ResultLocationFolder": ref.task_id,
            "ResultEncryptionMode": "SSE_S3",
            "AssessmentRunName": run_name(ref, now),
        }
        if settings.include_only:
            request["IncludeOnly"] = list(settings.include_only)
        if settings.exclude:
            request["Exclude"] = list(settings.exclude)
        try:
            response = call_with_retry(dms.start_replication_task_assessment_run, **request)
        except Exception as err:
            raise explain(err, "starting the premigration assessment of", ref.task_id) from None
        runs[ref.task_id] = response["ReplicationTaskAssessmentRun"]["ReplicationTaskAssessmentRunArn"]
    return runs


def describe_runs(dms: Any, run_arns: list[str]) -> dict[str, dict]:
    """The runs by ARN, in one paginated call (the filter takes many ARNs); a missing run raises."""
    runs: dict[str, dict] = {}
    request: dict[str, Any] = {"Filters": [{"Name": "replication-task-assessment-run-arn", "Values": run_arns}]}
    try:
        while True:
            page = call_with_retry(dms.describe_replication_task_assessment_runs, **request)
            runs.update(
                {r["ReplicationTaskAssessmentRunArn"]: r for r in page.get("ReplicationTaskAssessmentRuns") or []}
            )
            request["Marker"] = page.get("Marker")
            if not request["Marker"]:
                break
    except Exception as err:
        raise explain(err, "describing", f"{len(run_arns)} assessment run(s)") from None
    missing = [arn for arn in run_arns if arn not in runs]
    if missing:
        raise OpsError(f"assessment run(s) not found: {', '.join(missing)}", "run preflight --assess again")
    return runs


def wait_for_runs(
    dms: Any,
    runs: dict[str, str],
    timeout: float,
    poll: float,
    on_progress: Callable[[str, dict], None] = lambda _task, _run: None,
) -> dict[str, dict]:
    """Poll every run until it leaves the in-progress states or ``timeout`` passes; the last record per task."""
    deadline = time.monotonic() + timeout
    latest: dict[str, dict] = {}
    pending = dict(runs)
    while True:
        described = describe_runs(dms, list(pending.values()))
        for task_id, run_arn in list(pending.items()):
            latest[task_id] = described[run_arn]
            on_progress(task_id, latest[task_id])
            if latest[task_id].get("Status") not in facts.ASSESSMENT_RUN_STATES["in-progress"]:
                del pending[task_id]
        if not pending or time.monotonic() >= deadline:
            return latest
        sleep(poll)


def individual_results(dms: Any, task_id: str, run: dict) -> list[AssessmentResult]:
    """Each individual assessment of a finished run, with where its result file is."""
    try:
        page = call_with_retry(
            dms.describe_replication_task_individual_assessments,
            Filters=[
                {"Name": "replication-task-assessment-run-arn", "Values": [run["ReplicationTaskAssessmentRunArn"]]}
            ],
        )
    except Exception as err:
        raise explain(err, "reading the individual assessments of", task_id) from None
    location = f"s3://{run.get('ResultLocationBucket', '')}/{run.get('ResultLocationFolder', task_id)}/"
    return [
        AssessmentResult(task_id, a["IndividualAssessmentName"], a.get("Status", "unknown"), location)
        for a in page.get("ReplicationTaskIndividualAssessments") or []
    ]


def run_verdict(run: dict) -> str:
    """``passed``, ``warning``, ``failed`` or ``in-progress`` for a run's status."""
    status = run.get("Status", "")
    for verdict, states in facts.ASSESSMENT_RUN_STATES.items():
        if status in states:
            return verdict
    return "failed"
