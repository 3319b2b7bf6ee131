"""A whole full load on this machine: embedded PostgreSQL -> emulated DMS -> local DynamoDB, then the findings.

Steps, each through the code the operator commands run: build the program offline, create the
source objects and rows, start the local AWS and create the stack's resources in it from the
program's declared resources, ``start`` the tasks (the same start decisions), ``watch`` them to the
end of the full load, ``validate --full`` (every item against its source row), and analyse every
source row through every task's generated mappings. Everything it started is stopped on the way
out, Ctrl-C included, unless ``keep``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dmsmig.config.atomic import write_atomic
from dmsmig.config.stack import StackConfig, project_name
from dmsmig.contract.facts import FULL_LOAD_ONLY
from dmsmig.model.dms_semantics import LobSettings, MappingNotExecutable, parse_table_mappings
from dmsmig.offline.mock_engine import ProgramRun, run_program
from dmsmig.ops import dms as dms_ops
from dmsmig.ops.aws import AwsClients
from dmsmig.ops.context import OpsContext
from dmsmig.ops.decisions import StartAction, TaskProgress, WatchVerdict, plan_starts, watch_verdict
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.full_validation import FullOptions, run_full
from dmsmig.ops.source_db import connect, qualified
from dmsmig.rehearsal.analysis import Analysis, KeySpill, TaskPlan, analyse_object, record_collisions
from dmsmig.rehearsal.cdc import drop_rehearsal_streams
from dmsmig.rehearsal.cutover_rehearsal import CutoverRehearsal, CutoverResult, Fault
from dmsmig.rehearsal.local_aws import LocalAws, local_session, provision
from dmsmig.rehearsal.local_driver import MARKER
from dmsmig.rehearsal.preflight import run_local_preflight
from dmsmig.rehearsal.source import EmbeddedPostgres, SourceObjectPlan, create_objects, fill
from dmsmig.rehearsal.source_changes import QuiesceCheck, SourceChanges

SLOT_GONE = re.compile(r"replication slot \S+ of task (\S+) is gone")
DEFAULT_ROWS = 20_000


@dataclass
class RehearsalOptions:
    stack: str
    project_dir: Path
    rows: int = DEFAULT_ROWS
    seed: int = 7
    database_url: str | None = None
    state_dir: Path | None = None
    port: int | None = None
    keep: bool = False
    timeout: float = 1800
    prepare: Callable[[Any], None] | None = None
    """Called with the source engine after the rows are written (tests plant faults here)."""
    change_rate: float = 20.0
    """Source writes a second while CDC runs (groups with CDC only; 0: none)."""
    cutover: bool = True
    """Rehearse the cutover, rollback and restart after the full load."""
    monitor_seconds: float = 3.0
    fault: str | None = None
    """A fault planted before the cutover (a :class:`dmsmig.rehearsal.cutover_rehearsal.Fault` value)."""


@dataclass
class RehearsalResult:
    """What the rehearsal measured and found; ``ok`` when nothing is an error."""

    stack: str
    rows: dict[str, int] = field(default_factory=dict)
    tasks: list[dict] = field(default_factory=list)
    validation: dict = field(default_factory=dict)
    analysis: Analysis = field(default_factory=Analysis)
    created: dict[str, int] = field(default_factory=dict)
    not_created: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    verdict: str = ""
    preflight: list[dict] = field(default_factory=list)
    keep: dict[str, str] = field(default_factory=dict)
    cutover: CutoverResult | None = None
    cutover_skipped: str = ""
    earlier: list[str] = field(default_factory=list)
    """What an earlier, interrupted rehearsal left in the state folder, and what this run did about it."""

    @property
    def ok(self) -> bool:
        cutover_ok = self.cutover is None or self.cutover.ok
        loaded = self.verdict == WatchVerdict.DONE.value
        return loaded and cutover_ok and not self.analysis.errors and self.validation.get("ok", False)

    @property
    def exit_code(self) -> int:
        """0 when ok; 1 when a finding is an error; else a cutover gate's own exit code when the cutover
        stopped at it; else 1."""
        if self.ok:
            return 0
        if self.analysis.errors or self.cutover is None:
            return 1
        return self.cutover.exit_code or 1

    def as_dict(self) -> dict:
        return {
            "stack": self.stack,
            "ok": self.ok,
            "sourceRows": self.rows,
            "preflight": self.preflight,
            "load": {"verdict": self.verdict, "tasks": self.tasks},
            "validation": self.validation,
            "cutover": self.cutover.as_dict() if self.cutover is not None else {"skipped": self.cutover_skipped},
            **self.analysis.as_dict(),
            "localResources": {"created": self.created, "notCreated": self.not_created},
            "seconds": self.seconds,
            "earlierRun": self.earlier,
            **({"keep": self.keep} if self.keep else {}),
        }


def object_plans(config: StackConfig) -> list[tuple[str, SourceObjectPlan]]:
    """Each (source engine, object) the stack's groups read, once, with the group that defines it."""
    plans: dict[tuple[str, str], tuple[str, SourceObjectPlan]] = {}
    for source in config.migration.sources:
        for group in source.task_groups:
            spec = group.spec
            key = (spec.source.schema_name, spec.source.object_name)
            lob = LobSettings.from_task_settings(config.migration.settings_for(group).model_dump())
            where = f"{source.name}/{group.name} (mappings/{group.mapping}.yaml)"
            plans.setdefault(
                key, (where, SourceObjectPlan(spec, source.engine, group.ranges(), lob.max_kb, group.mapping))
            )
    return list(plans.values())


def cdc_plans(config: StackConfig, objects: list[tuple[str, SourceObjectPlan]]) -> list[SourceObjectPlan]:
    """The objects a CDC group (``full-load-and-cdc`` or ``cdc``) reads."""
    captured = {
        (g.spec.source.schema_name, g.spec.source.object_name)
        for s in config.migration.sources
        for g in s.task_groups
        if g.migration_type != "full-load"
    }
    return [p for _w, p in objects if (p.spec.source.schema_name, p.spec.source.object_name) in captured]


def check_fault(fault: str | None, stack: str, captured: list[SourceObjectPlan], outputs: dict) -> None:
    """Refuse, before anything starts, a ``--plant-fault`` the stack cannot have (``captured``: its CDC objects)."""
    if fault in (Fault.CDC_STOPPED, Fault.TASK_FAILED, Fault.SLOT_DROPPED) and not captured:
        raise UsageError(
            f"--plant-fault {fault} needs a task group with CDC, and stack {stack} has none",
            "plant write-after-quiesce or alarm, or rehearse a stack with a full-load-and-cdc group",
        )
    if fault == Fault.ALARM and not outputs.get("alarmNames"):
        raise UsageError(
            f"--plant-fault alarm needs an alarm, and stack {stack} declares none",
            "plant another fault",
        )


def task_plans(run: ProgramRun, outputs: dict) -> list[TaskPlan]:
    """Every task and Serverless replication as the emulator executes it, from the program's own JSON."""
    group_of = {t["taskId"]: g for g, tasks in outputs["taskGroups"].items() for t in tasks}
    plans = []
    for resource in run.resources:
        inputs = resource.inputs
        if resource.type == "aws:dms/replicationTask:ReplicationTask":
            task_id, mappings, settings = (
                inputs["replicationTaskId"],
                inputs["tableMappings"],
                inputs.get("replicationTaskSettings"),
            )
        elif resource.type == "aws:dms/replicationConfig:ReplicationConfig":
            task_id, mappings, settings = (
                inputs["replicationConfigIdentifier"],
                inputs["tableMappings"],
                inputs.get("replicationSettings"),
            )
        else:
            continue
        try:
            rules = parse_table_mappings(mappings)
        except MappingNotExecutable as err:
            raise UsageError(
                f"task {task_id}: the emulated DMS cannot execute its table mappings: {err}",
                "rehearse a stack whose mappings use selection and object-mapping rules",
            ) from None
        for rule in rules:
            plans.append(TaskPlan(task_id, group_of.get(task_id, "?"), rule, LobSettings.from_task_settings(settings)))
    return plans


def server_config(
    config: StackConfig, run: ProgramRun, url: str, objects: list[tuple[str, SourceObjectPlan]], cdc: bool = False
) -> dict:
    """Every source endpoint reads the one local database; each object with its declared column types;
    ``cdc``: the database decodes its WAL, so CDC tasks get a change stream."""
    endpoints = [
        r.inputs["endpointId"]
        for r in run.resources
        if r.type == "aws:dms/endpoint:Endpoint" and r.inputs.get("endpointType") == "source"
    ]
    objs = [
        {
            "schema": p.spec.source.schema_name,
            "table": p.spec.source.object_name,
            "columns": _declared(p),
            "engine": p.engine,
        }
        for _w, p in objects
    ]
    return {
        "region": config.region,
        "sources": {e: {"url": url, "objects": objs, "cdc": cdc} for e in endpoints},
    }


def _declared(plan: SourceObjectPlan) -> dict[str, dict]:
    return {name: asdict(column) for name, column in plan.types.items()}


def check_source(engine: Any, objects: list[tuple[str, SourceObjectPlan]]) -> None:
    """A ``--database-url`` must answer and hold every object and column the specs name (one line each)."""
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            for where, plan in objects:
                obj = qualified(engine, plan.spec.source)
                try:
                    columns = set(conn.execute(text(f"SELECT * FROM {obj} WHERE 1=0")).keys())
                except Exception:  # noqa: BLE001 - the object is missing or unreadable
                    raise UsageError(
                        f"--database-url has no {obj}, which {where} reads",
                        "create it (or its view) there, or rehearse without --database-url on synthetic rows",
                    ) from None
                missing = [c for c in plan.spec.source_columns() if c not in columns]
                if missing:
                    raise UsageError(
                        f"{obj} in --database-url lacks column(s) {', '.join(missing)} that {where} names",
                        "fix the mapping spec's columns or the source object",
                    )
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - never echo the URL: it may hold a password
        raise UsageError(
            f"cannot reach the --database-url database: {type(err).__name__}",
            "check host, port, database and credentials (the URL is not printed), or omit --database-url",
        ) from None


class Rehearsal:
    """One rehearsal of ``options.stack``; :meth:`run` returns its result and always cleans up."""

    def __init__(
        self,
        options: RehearsalOptions,
        config: StackConfig,
        on_event: Callable[[str, Any], None],
        interrupted: threading.Event | None = None,
    ):
        """``interrupted``: set by the caller's SIGINT handler; every event checks it, so a Ctrl-C that
        Python delivered where it could not raise (a finalizer, a C call) still stops the rehearsal."""
        self.options, self.config, self._on_event = options, config, on_event
        self.interrupted = interrupted or threading.Event()
        self.state_dir = options.state_dir or (options.project_dir / ".rehearsal" / options.stack)
        if self.state_dir.exists() and not self.state_dir.is_dir():
            raise UsageError(f"--state-dir {self.state_dir} is a file", "pass a folder (it is created if missing)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = EmbeddedPostgres(self.state_dir / "pgdata")
        self.local = LocalAws(self.state_dir)
        self.result = RehearsalResult(options.stack)

    def emit(self, kind: str, data: Any) -> None:
        if self.interrupted.is_set():
            raise KeyboardInterrupt
        self._on_event(kind, data)

    def _name_a_dead_part(self, err: Exception) -> None:
        """When the local AWS or the PostgreSQL this rehearsal started died under it, say that (one line, the
        process, its log) instead of the connection error it caused."""
        for gone, log in (
            (self.local.gone(), self.local.log_file),
            (self.postgres.gone(), self.postgres.directory / "log"),
        ):
            if gone:
                raise OpsError(
                    f"{gone} during the rehearsal (what failed then: {str(err).splitlines()[0][:120]}); its log: {log}",
                    "run the rehearsal again (it starts its own anew); if it dies again, the log says why",
                ) from None

    def _note_slots_gone(self, ops: OpsContext) -> None:
        """Each task that failed because its replication slot was dropped met the stated choice slot-gone."""
        refs = [t for _g, t in ops.outputs.tasks() if t.migration_type != FULL_LOAD_ONLY]
        failures = [p.last_failure for p in dms_ops.collect_progress(ops.clients.dms, ops.clients.cloudwatch, refs)]
        gone = {m.group(1) for text in failures for m in SLOT_GONE.finditer(text or "")}
        if gone:
            self.result.analysis.choices["slot-gone"] += len(gone)

    def _note_earlier(self, found: list[str]) -> None:
        """Say (and record in the report) what an earlier, interrupted run left here and what this run did."""
        for line in found:
            self.result.earlier.append(line)
            self.emit("earlier", line)

    def _timed(self, name: str, started: float) -> None:
        self.result.seconds[name] = round(time.monotonic() - started, 2)
        self.emit("phase", name)

    def run(self) -> RehearsalResult:
        try:
            self._run()
        except Exception as err:  # whatever failed, a part that died under it is the cause to name
            self._name_a_dead_part(err)
            raise
        else:
            if not self.result.ok:  # a failed check or task may be a part that died under the rehearsal
                self._name_a_dead_part(OpsError(self.result.cutover_skipped or self.result.verdict or "not ok"))
        finally:
            if not self.options.keep:
                self.local.stop()
                self.postgres.stop()
        return self.result

    def _run(self) -> None:
        options, config = self.options, self.config
        t = time.monotonic()
        program = run_program(config, stack_name=options.stack, project=project_name(options.project_dir))
        outputs = program.outputs
        outputs_file = self.state_dir / "outputs.json"
        write_atomic(outputs_file, json.dumps(outputs, indent=2, default=str))
        objects = object_plans(config)
        tasks = task_plans(program, outputs)
        captured = cdc_plans(config, objects)
        check_fault(options.fault, options.stack, captured, outputs)
        self._timed("plan", t)

        t = time.monotonic()
        url = options.database_url or self.postgres.start(logical=bool(captured), outlive_us=options.keep)
        engine = connect(url)
        if options.database_url is None:
            drop_rehearsal_streams(engine)  # an earlier rehearsal's slots point at tables dropped below
            create_objects(engine, [p for _w, p in objects])
            for where, plan in objects:
                self.result.rows[f"{plan.spec.source.schema_name}.{plan.spec.source.object_name}"] = fill(
                    engine, plan, options.rows, options.seed
                )
                self.emit("source", {"object": plan.spec.source.object_name, "rows": options.rows, "where": where})
        else:
            check_source(engine, objects)
        if options.prepare is not None:
            options.prepare(engine)
        self._note_earlier(self.postgres.found)
        self._timed("source", t)

        t = time.monotonic()
        endpoint = self.local.start(
            server_config(config, program, url, objects, cdc=options.database_url is None),
            options.port,
            outlive_us=options.keep,
        )
        project_copy = self._project_copy()
        outputs[MARKER] = {"projectDir": str(project_copy), "endpointUrl": endpoint}
        write_atomic(outputs_file, json.dumps(outputs, indent=2, default=str))
        made = provision(self.local, config.region, program.resources)
        self.result.created, self.result.not_created = dict(made.created), dict(made.skipped)
        self._note_earlier(self.local.found)
        self._timed("local AWS", t)
        self.emit("local", {"endpoint": endpoint})

        ops = OpsContext(options.stack, outputs_file, options.project_dir, endpoint_url=endpoint)
        ops.__dict__["clients"] = AwsClients(config.region, endpoint_url=endpoint, session=local_session())
        t = time.monotonic()
        checks = run_local_preflight(ops.clients, ops.outputs, config.migration)
        self.result.preflight = [asdict(c) for c in checks]
        self._timed("preflight", t)
        self.emit("preflight", checks)
        failed = [c for c in checks if not c.ok]
        for check in failed:
            self.result.analysis.finding("preflight", "error", check.name, check.reason, check.fix).add(None)
        if failed:
            self.result.verdict = "preflight failed"
            self.result.cutover_skipped = "preflight failed: " + "; ".join(f"{c.name}: {c.reason}" for c in failed)
            return

        t = time.monotonic()
        self._start(ops)
        changes = None
        if captured and options.change_rate > 0 and options.database_url is None:
            changes = SourceChanges(engine, captured, self._key_columns(captured), options.change_rate, options.seed)
            changes.start()
        self.result.verdict, progress = self._watch(ops)
        self.result.tasks = [p.__dict__ for p in progress]
        self._timed("full load", t)

        if self.result.verdict == WatchVerdict.DONE.value:
            self._rehearse_cutover(ops, program, engine, url, changes, [p for _w, p in objects], project_copy)
        else:
            broken = [
                f"{p.task_id} is {p.status}: {p.last_failure or ', '.join(p.errored_tables) or 'DMS gave no reason'}"
                for p in progress
                if p.failed
            ]
            self.result.cutover_skipped = "the full load did not finish: " + ("; ".join(broken) or self.result.verdict)
            if changes is not None:
                changes.stop()

        t = time.monotonic()
        try:  # every item against its source row, as `validate --full` does
            comparison = run_full(ops, FullOptions(database_url=url), self.state_dir)
            assert not isinstance(comparison, Path)
            self.result.validation = comparison.as_json()
        except UsageError as err:  # e.g. two groups whose items cannot be told apart: a finding, not a crash
            self.result.validation = {"ok": False, "error": err.message}
            self.result.analysis.finding("not-validatable", "error", "validate", err.message, err.fix or "").add(None)
        self._timed("validate", t)

        t = time.monotonic()
        self._analyse(engine, objects, tasks)
        self._timed("analyse", t)
        engine.dispose()
        if options.keep:
            self.result.keep = {
                "endpointUrl": endpoint,
                "outputsFile": str(outputs_file),
                "databaseUrl": url,
                "stop": f"kill {self.local.pid} (local AWS); the PostgreSQL in {self.postgres.directory}",
            }

    def _project_copy(self) -> Path:
        """The project's stack files copied for the local read switch (the real stack file is never edited)."""
        copy = self.state_dir / "project"
        copy.mkdir(parents=True, exist_ok=True)
        for name in ("Pulumi.yaml", f"Pulumi.{self.options.stack}.yaml"):
            write_atomic(copy / name, (self.options.project_dir / name).read_text(encoding="utf-8"))
        return copy

    def _key_columns(self, plans: list[SourceObjectPlan]) -> set[str]:
        """The source columns the objects' key attribute templates read."""
        target = self.config.migration.target
        keys = {target.partition_key, target.sort_key} - {None}
        return {c for p in plans for a in p.spec.attributes if a.name in keys for c in a.columns()}

    def _rehearse_cutover(
        self,
        ops: OpsContext,
        program: ProgramRun,
        engine: Any,
        url: str,
        changes: SourceChanges | None,
        objects: list[SourceObjectPlan],
        project_copy: Path,
    ) -> None:
        options = self.options
        if not options.cutover or options.database_url is not None:
            self.result.cutover_skipped = (
                "--no-cutover"
                if not options.cutover
                else "--database-url: the rehearsal never writes to a database it was given (the cutover writes "
                "its sentinel row and checks the quiesce there)"
            )
            if changes is not None:
                changes.stop()
            return
        t = time.monotonic()
        rehearsal = CutoverRehearsal(
            ops,
            self.state_dir,
            project_copy,
            [program.outputs["readSwitchUrn"]],
            engine,
            url,
            changes,
            QuiesceCheck(engine, objects),
            lambda line: self.emit("cutover", line),
            monitor_seconds=options.monitor_seconds,
            fault=options.fault,
        )
        self.result.cutover = rehearsal.run()
        applied = sum(
            t.get("Inserts", 0) + t.get("Updates", 0) + t.get("Deletes", 0)
            for _g, ref in ops.outputs.tasks()
            if ref.migration_type != "full-load"
            for t in dms_ops.table_statistics(ops.clients.dms, ref)
        )
        if applied:  # rows changed through the emulated CDC: the calls it makes are a stated choice
            self.result.analysis.choices["cdc-calls"] += applied
        self._note_slots_gone(ops)
        self._timed("cutover", t)

    def _start(self, ops: OpsContext) -> None:
        refs = [t for _g, t in ops.outputs.tasks()]
        for result in dms_ops.apply_start_plan(ops.clients.dms, refs, plan_starts):
            if result["action"] in (StartAction.START, StartAction.RESUME):
                self.emit("start", result)

    def _watch(self, ops: OpsContext) -> tuple[str, list[TaskProgress]]:
        deadline = time.monotonic() + self.options.timeout
        refs = [t for _g, t in ops.outputs.tasks()]
        while True:
            progress = dms_ops.collect_progress(ops.clients.dms, ops.clients.cloudwatch, refs)
            self.emit("progress", progress)
            verdict = watch_verdict(progress)
            if verdict != WatchVerdict.IN_PROGRESS:
                return verdict.value, progress
            if time.monotonic() >= deadline:
                raise OpsError(
                    f"the rehearsal's full load did not finish in {self.options.timeout:.0f} s",
                    "lower --rows or raise --timeout",
                )
            time.sleep(0.5)

    def _analyse(self, engine: Any, objects: list[tuple[str, SourceObjectPlan]], tasks: list[TaskPlan]) -> None:
        spill = KeySpill(self.state_dir / "item-keys.sqlite")
        where_of: dict[str, str] = {}
        try:
            for where, plan in objects:
                schema, table = plan.spec.source.schema_name, plan.spec.source.object_name
                readers = [t for t in tasks if (t.rules.schema, t.rules.table) == (schema, table)]
                for t in readers:
                    where_of[t.task_id] = where
                analyse_object(engine, plan.spec, plan.types, readers, spill, self.result.analysis, where)
            record_collisions(spill, self.result.analysis, where_of)
        finally:
            spill.close()
