"""Pure decisions about DMS tasks: which start call is valid, what may be stopped, modified or reloaded,
and when a load is finished. The one place that reads a task's state: commands ask here.

DMS rules (reliability notes): ``start-replication`` is the only valid first start;
``resume-processing`` continues a stopped or failed task; ``reload-target`` reloads everything
and is only used when explicitly asked for. "running" can mean stuck (errors retry forever),
so completion also looks at table errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dmsmig.contract import facts

STARTABLE_FIRST = {"ready"}
RESUMABLE = {"stopped", "failed"}
RELOADABLE = facts.TASK_CALL_STATES["ReloadTables"]
ACTIVE = facts.TASK_CALL_STATES["StopReplicationTask"]
"""Running or starting: what a stop acts on (StopReplicationTask accepts only these)."""
BUSY = {"creating", "modifying", "deleting", "moving", "testing", "stopping", "failed-move"}
QUEUED = "ready"
"""Created and never started: a task the start queue holds back."""
STOPPED = "stopped"
FAILED = "failed"
RUNNING = "running"
CHANGING = {"stopping", "modifying"}
"""On the way to another state: a queue is not stuck while a task is in one of these."""


def should_stop(status: str) -> bool:
    """Whether a stop (a pause, the cutover's finish, a decommission) acts on a task in ``status``."""
    return status in ACTIVE


def none_active(statuses: list[str]) -> bool:
    """No task of ``statuses`` runs or is starting any more."""
    return not any(should_stop(s) for s in statuses)


class StartAction(StrEnum):
    START = "start-replication"
    RESUME = "resume-processing"
    RELOAD = "reload-target"
    SKIP_RUNNING = "already-running"
    FINISHED = "already-loaded"
    """A full-load task whose load finished (FULL_LOAD_ONLY_FINISHED): never started again."""
    QUEUED = "queued"
    """Startable, held back by ``max_running``: a later ``start`` (or ``start --until-done``) starts it."""
    NEEDS_RELOAD = "needs-reload-target"
    """A stopped full-load Serverless replication: resume-processing does not apply to it (botocore dms
    model, StartReplication.StartReplicationType); only reload-target loads it again."""
    WAIT = "not-startable"

    @property
    def starts(self) -> bool:
        return self in (StartAction.START, StartAction.RESUME, StartAction.RELOAD)


@dataclass(frozen=True)
class StartRow:
    """What a start decision needs to know about one task or Serverless replication."""

    task_id: str
    status: str
    started_before: bool
    finished: bool = False
    """A full-load task stopped because its full load finished."""
    serverless_full_load: bool = False


def start_action(
    status: str, started_before: bool, reload: bool = False, finished: bool = False, serverless_full_load: bool = False
) -> StartAction:
    """The one valid call for a task in ``status`` (``started_before``: it has a start date)."""
    if status in ACTIVE:
        return StartAction.SKIP_RUNNING
    if finished and not reload:
        return StartAction.FINISHED
    if status in STARTABLE_FIRST and not started_before:
        return StartAction.START
    if status in RESUMABLE or (status in STARTABLE_FIRST and started_before):
        if reload:
            return StartAction.RELOAD
        return StartAction.NEEDS_RELOAD if serverless_full_load else StartAction.RESUME
    return StartAction.WAIT


def plan_starts(
    rows: list[StartRow], reload: bool = False, max_running: int | None = None
) -> list[tuple[str, StartAction]]:
    """The action per task: a queue when ``max_running`` is set.

    Finished full loads are never started again and never take a slot; running ones take theirs;
    the others start in order while slots are free, and the rest are QUEUED for a later ``start``.
    """
    running = sum(1 for r in rows if r.status in ACTIVE)
    plan = []
    for row in rows:
        action = start_action(row.status, row.started_before, reload, row.finished, row.serverless_full_load)
        if action.starts:
            if max_running is not None and running >= max_running:
                action = StartAction.QUEUED
            else:
                running += 1
        plan.append((row.task_id, action))
    return plan


def reload_tables_refusal(
    task_id: str, status: str, migration_type: str, started_before: bool
) -> tuple[str, str] | None:
    """Why ``ReloadTables`` would be refused for this task, and the documented path instead (message, fix).

    DMS accepts ReloadTables only while the task is running (InvalidResourceStateFault otherwise).
    For a stopped full-load task, resume-processing reloads the tables that were not fully loaded;
    reload-target reloads them all (StartReplicationTaskType documentation).
    """
    if status in RELOADABLE:
        return None
    if not started_before:
        return f"task {task_id} is {status} and has never run: nothing to reload", "start it: python -m dmsmig start"
    why = f"task {task_id} is {status}; DMS reloads tables only in a running task"
    if status in RESUMABLE and migration_type == facts.FULL_LOAD_ONLY:
        return why, (
            f"for a full-load task, `python -m dmsmig resume --task {task_id}` reloads the tables not fully "
            f"loaded (resume-processing), or `python -m dmsmig start --reload-target --task {task_id}` reloads all"
        )
    if status in RESUMABLE:
        return why, f"`python -m dmsmig resume --task {task_id}`, then reload-tables once it runs"
    return why, "wait until it runs (python -m dmsmig status), then reload"


@dataclass
class TaskProgress:
    """What one task's describe and table statistics say."""

    task_id: str
    status: str
    migration_type: str
    phase: str = ""
    """A Serverless replication's own state while starting (e.g. provisioning_capacity)."""
    serverless: bool = False
    progress_percent: int = 0
    tables_loaded: int = 0
    tables_loading: int = 0
    tables_queued: int = 0
    tables_errored: int = 0
    rows_loaded: int = 0
    error_rows: int = 0
    stop_reason: str = ""
    last_failure: str = ""
    cdc_latency_source: float | None = None
    cdc_latency_target: float | None = None
    errored_tables: list[str] = field(default_factory=list)

    @property
    def full_load_done(self) -> bool:
        """All tables loaded with none errored or still loading."""
        if self.tables_errored or self.tables_loading or self.tables_queued:
            return False
        if self.migration_type == "full-load":
            if self.status != STOPPED:
                return False
            if "FULL_LOAD_ONLY_FINISHED" in self.stop_reason:
                return True
            # A Serverless replication's stop reason after its full load is not documented: it counts as
            # finished when stopped with every table loaded and the load at 100 %.
            return self.serverless and self.progress_percent == 100 and self.tables_loaded > 0
        if self.migration_type == "full-load-and-cdc":
            return self.status == RUNNING and self.tables_loaded > 0
        return self.status == RUNNING  # a cdc task has no full load

    @property
    def failed(self) -> bool:
        return self.status == FAILED or self.tables_errored > 0

    @property
    def captures_changes(self) -> bool:
        """A CDC or full-load-and-CDC task or replication."""
        return self.migration_type != facts.FULL_LOAD_ONLY

    @property
    def cdc_not_running(self) -> bool:
        """A CDC task not running: changes stopped arriving."""
        return self.captures_changes and self.status != RUNNING

    @property
    def queued(self) -> bool:
        """Never started: the start queue holds it back."""
        return self.status == QUEUED and not self.full_load_done

    @property
    def loading(self) -> bool:
        """Running or starting, its load not done yet."""
        return self.status in ACTIVE and not self.full_load_done


def load_counts(tasks: list[TaskProgress]) -> dict[str, int]:
    """How many loads are done, running, queued and failed, in that order: the progress line's counts."""
    return {
        "done": sum(1 for t in tasks if t.full_load_done),
        "running": sum(1 for t in tasks if t.loading),
        "queued": sum(1 for t in tasks if t.status == QUEUED),
        "failed": sum(1 for t in tasks if t.failed),
    }


def only_queued_left(tasks: list[TaskProgress]) -> list[str]:
    """Tasks waiting in the queue (never started) when nothing runs or changes state any more: watching
    will not move them."""
    if any(t.status in ACTIVE or t.status in CHANGING for t in tasks):
        return []
    return [t.task_id for t in tasks if t.queued]


class WatchVerdict(StrEnum):
    DONE = "done"
    FAILED = "failed"
    IN_PROGRESS = "in-progress"


def watch_verdict(tasks: list[TaskProgress]) -> WatchVerdict:
    """FAILED as soon as any task fails or has a table in error; DONE when every load is done."""
    if any(t.failed for t in tasks):
        return WatchVerdict.FAILED
    if tasks and all(t.full_load_done for t in tasks):
        return WatchVerdict.DONE
    return WatchVerdict.IN_PROGRESS


def update_refusal(task_id: str, serverless: bool, state: str) -> str | None:
    """Why updating this changed task or Serverless replication now would stop it (None: modified as is).

    DMS modifies a task only when it is not running (ModifyReplicationTask) and a replication
    config only in CREATED, STOPPED or FAILED (User Guide, Serverless limitations); the AWS provider
    stops a running one first and, started by operators here, leaves it stopped.
    """
    if serverless:
        allowed = facts.SERVERLESS_MODIFIABLE_STATES
        if state in allowed:
            return None
        states = ", ".join(sorted(s.upper() for s in allowed))
        return (
            f"Serverless replication {task_id} is {state}; DMS modifies a replication config only in {states}, "
            "so pulumi up would stop it and leave it stopped"
        )
    if state in facts.TASK_CALL_STATES["ModifyReplicationTask"]:
        return None
    return f"task {task_id} is {state}; DMS modifies a task only when stopped, so pulumi up would stop it"
