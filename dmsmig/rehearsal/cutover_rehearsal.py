"""The runbook's second half in a rehearsal: cutover, rollback, ``start`` again, ``cutover --restart``.

Through the code the commands run (:mod:`dmsmig.cutover.runbook`, :class:`CutoverActions`), against
the local AWS, the emulated DMS and its CDC, with three rehearsal differences, each stated in the
result: the read switch goes through :class:`dmsmig.rehearsal.local_driver.LocalDriver` (a copy of
the stack file and the local parameter); the quiesce check is the rehearsal's own (rows written
after the quiesce began), since the stack's query is written for its own engine; the monitor
window is ``monitor_seconds`` long. Before the quiesce gate the change stream stops, as the
applications would.

A planted fault shows the gate that must catch it: ``cdc-stopped`` and ``task-failed``
(preconditions), ``write-after-quiesce`` (source-quiesced), ``alarm`` (monitor-window).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import text

from dmsmig.config.atomic import write_atomic
from dmsmig.cutover.actions import CutoverActions
from dmsmig.cutover.machine import Memo, Outcome, Step
from dmsmig.cutover.report import render_html, report_of
from dmsmig.cutover.runbook import roll_back, run_cutover
from dmsmig.cutover.store import FileStateStore
from dmsmig.ops import dms as dms_ops
from dmsmig.ops.context import OpsContext
from dmsmig.ops.decisions import BUSY, FAILED, RESUMABLE, RUNNING, STOPPED, plan_starts
from dmsmig.ops.errors import OpsError
from dmsmig.ops.full_validation import final_validation
from dmsmig.rehearsal.cdc import slot_name
from dmsmig.rehearsal.local_driver import LocalDriver
from dmsmig.rehearsal.source_changes import QuiesceCheck, SourceChanges


class Fault(StrEnum):
    """A fault ``rehearse --plant-fault`` plants before the cutover, and the gate that must stop it."""

    CDC_STOPPED = "cdc-stopped"  # preconditions
    TASK_FAILED = "task-failed"  # preconditions
    WRITE_AFTER_QUIESCE = "write-after-quiesce"  # source-quiesced
    ALARM = "alarm"  # monitor-window
    SLOT_DROPPED = "slot-dropped"  # cdc-drained: a CDC task's slot dropped right after the preconditions passed


CDC_WAIT_SECONDS = 90
RESTART_WRITES_SECONDS = 2.0


PHASE = "phase: "
"""A line that opens a phase of the rehearsed cutover (cutover, rollback, start, cutover --restart)."""

@dataclass
class CutoverResult:
    """What the cutover rehearsal did: each phase, where it stopped, and the report it wrote."""

    phases: list[dict] = field(default_factory=list)
    stopped_at: str | None = None
    exit_code: int = 0
    reason: str = ""
    reads_from: str | None = None
    report: str = ""
    changes: dict = field(default_factory=dict)
    choices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "phases": self.phases,
            "stoppedAt": self.stopped_at,
            "exitCode": self.exit_code,
            "reason": self.reason,
            "readsFrom": self.reads_from,
            "report": self.report,
            "sourceChanges": self.changes,
            "rehearsalChoices": self.choices,
        }


class RehearsedActions(CutoverActions):
    """The real gates, with the rehearsal's quiesce: the change stream stops and the check is by ``xmin``."""

    def __init__(
        self,
        *args: Any,
        changes: SourceChanges | None,
        quiesce: QuiesceCheck,
        fault: str | None,
        drop_slot: Callable[[], None] = lambda: None,
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.changes, self.quiesce, self.fault, self.drop_slot = changes, quiesce, fault, drop_slot

    def gate(self, step: Step, memo: Memo | None = None) -> Any:
        if step == Step.PRECONDITIONS and self.fault == Fault.SLOT_DROPPED and not self.dry_run:
            verdict = super().gate(step, memo)
            if verdict.ok:  # a DBA drops the slot between the gates: no later gate may say CDC is fine
                self.drop_slot()
            return verdict
        if step == Step.QUIESCED and not self.dry_run:
            if self.changes is not None:
                self.changes.stop()
            self.quiesce.mark()
            if self.fault == "write-after-quiesce":  # an application that did not stop
                writer = SourceChanges(self.quiesce.engine, self.quiesce.plans, set(), 1.0, 0)
                writer.load_keys()
                writer.write_one("update")
        return super().gate(step, memo)

    def quiesce_sql(self, source: str) -> str | None:
        """The rehearsal's check over the objects ``source``'s groups read (every source shares one database)."""
        if self.quiesce.mark_xid is None:
            return None
        objects = {
            (g.spec.source.schema_name, g.spec.source.object_name)
            for s in self.config.migration.sources
            if s.name == source
            for g in s.task_groups
        }
        return self.quiesce.sql(objects)


@dataclass
class CutoverRehearsal:
    """Cutover, rollback and restart of one rehearsal's stack (see the module docstring)."""

    ops: OpsContext
    state_dir: Path
    project_copy: Path
    switch_targets: list[str]
    engine: Any
    url: str
    changes: SourceChanges | None
    quiesce: QuiesceCheck
    say: Callable[[str], None]
    monitor_seconds: float = 3.0
    fault: str | None = None

    def __post_init__(self) -> None:
        self.stack = self.ops.stack
        # each rehearsal is a new cutover: an earlier rehearsal's record in this folder is not resumed
        shutil.rmtree(self.state_dir / "cutover", ignore_errors=True)
        self.store = FileStateStore(self.state_dir / "cutover", self.stack)
        self.driver = LocalDriver(self.stack, self.project_copy, self.ops.clients.ssm, self.ops.endpoint_url or "")
        self.result = CutoverResult(
            choices=[
                f"read switch: {self.project_copy / f'Pulumi.{self.stack}.yaml'} and the local parameter",
                "quiesce check: no captured row inserted or updated after the quiesce began (xmin), "
                "in place of cutover.quiesceCheckSql",
                f"monitor window: {self.monitor_seconds:g} s",
            ]
        )

    def _actions(self) -> RehearsedActions:
        sources = self.ops.config.migration.sources
        return RehearsedActions(
            config=self.ops.config,
            outputs=self.ops.outputs,
            clients=self.ops.clients,
            driver=self.driver,
            validate=lambda: final_validation(self.ops, self.url, False),
            source_engines=lambda: {s.name: self.engine for s in sources},
            poll_seconds=1.0,
            switch_targets=self.switch_targets,
            monitor_seconds=self.monitor_seconds,
            waiting=self.say,
            changes=self.changes,
            quiesce=self.quiesce,
            fault=self.fault,
            drop_slot=lambda: self._drop_slot(self._cdc_refs()[0].task_id),
        )

    def _cdc_refs(self) -> list:
        return [t for _g, t in self.ops.outputs.tasks() if t.migration_type != "full-load"]

    def _wait_for_cdc(self) -> None:
        """Until every CDC task runs and has published both latency metrics (or one failed or stopped)."""
        self._until(
            lambda p: p.status == RUNNING and p.cdc_latency_source is not None and p.cdc_latency_target is not None,
            self._cdc_refs(),
            CDC_WAIT_SECONDS,
            give_up=lambda p: p.status in RESUMABLE,
        )

    def _cutover(self, restart: bool, name: str) -> Outcome:
        self.say(PHASE + name)
        lines: list[str] = []

        def say(line: str) -> None:
            lines.append(line)
            self.say(line)

        outcome = run_cutover(
            self.ops, self.store, self._actions(), self.stack, restart=restart, say=say, context=self.driver.context
        )
        self.result.phases.append({"phase": name, "ok": outcome.ok, "stoppedAt": outcome.stopped_at, "lines": lines})
        if not outcome.ok:
            self.result.stopped_at = outcome.stopped_at.value if outcome.stopped_at else None
            self.result.exit_code, self.result.reason = outcome.exit_code, outcome.reason
        return outcome

    def run(self) -> CutoverResult:
        try:
            self._run()
        finally:
            if self.changes is not None:
                counts = self.changes.stop()
                self.result.changes = {
                    "inserts": counts.inserts,
                    "updates": counts.updates,
                    "deletes": counts.deletes,
                    "errors": counts.errors[:5],
                }
            self.result.reads_from = self._reads_from()
            self._write_report()
        return self.result

    def _run(self) -> None:
        self._wait_for_cdc()
        self._plant()
        if not self._cutover(False, "cutover").ok:
            return
        self.say(PHASE + "rollback")
        changed = roll_back(self.ops, self.store, self.driver, self.switch_targets, say=self.say)
        back = self._reads_from()
        self.result.phases.append({"phase": "rollback", "ok": changed and back == "source", "readsFrom": back})
        if back != "source":
            self.result.exit_code, self.result.reason = 1, f"after the rollback reads come from {back}"
            return
        refs = [t for _g, t in self.ops.outputs.tasks()]
        self._until(lambda p: p.status not in BUSY, refs)  # tasks finish stopped are still stopping
        self.say(PHASE + "start")
        started = dms_ops.apply_start_plan(self.ops.clients.dms, refs, plan_starts)
        for r in started:
            self.say(f"{r['task']}: {r['was']} -> {r['action']} -> {r['status']}")
        self.result.phases.append({"phase": "start", "actions": {r["task"]: str(r["action"]) for r in started}})
        if self.changes is not None:
            self.changes.start()  # the applications write to the source again
        time.sleep(RESTART_WRITES_SECONDS)  # the applications write for a while before the new cutover
        self._wait_for_cdc()
        self._cutover(True, "cutover --restart")

    def _plant(self) -> None:
        if self.fault is None:
            return
        dms, cdc = self.ops.clients.dms, self._cdc_refs()  # run.check_fault refused faults the stack cannot have
        if self.fault == "cdc-stopped":
            for ref in cdc:
                dms_ops.stop_task(dms, ref)
            self._until(lambda p: p.status == STOPPED, cdc)
        elif self.fault == "task-failed":
            self._drop_slot(cdc[0].task_id)
            self._until(lambda p: p.status == FAILED, cdc[:1])
        elif self.fault == "alarm":
            self.ops.clients.cloudwatch.set_alarm_state(
                AlarmName=self.ops.outputs.alarm_names[0], StateValue="ALARM", StateReason="planted by rehearse"
            )

    def _drop_slot(self, task_id: str) -> None:
        for _ in range(100):  # the change stream holds the slot only while it reads
            try:
                with self.engine.begin() as conn:
                    conn.execute(text("SELECT pg_drop_replication_slot(:s)"), {"s": slot_name(task_id)})
                return
            except Exception:  # noqa: BLE001 - active right now: try again
                time.sleep(0.05)
        raise OpsError(f"could not drop the replication slot of {task_id}", "rehearse again")

    def _until(
        self,
        done: Callable[[Any], bool],
        refs: list,
        seconds: float = 60,
        give_up: Callable[[Any], bool] = lambda p: False,
    ) -> None:
        """Poll ``refs``' progress until ``done`` holds for all, ``give_up`` for one, or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while refs and time.monotonic() < deadline:
            progress = dms_ops.collect_progress(self.ops.clients.dms, self.ops.clients.cloudwatch, refs)
            if all(done(p) for p in progress) or any(give_up(p) for p in progress):
                return
            time.sleep(0.25)

    def _reads_from(self) -> str | None:
        name = self.ops.outputs.read_switch_parameter
        try:
            return self.ops.clients.ssm.get_parameter(Name=name)["Parameter"]["Value"] if name else None
        except Exception:  # noqa: BLE001 - reported as unknown
            return None

    def _write_report(self) -> None:
        state = self.store.load()
        if state is None:
            return
        path = self.state_dir / "cutover-report.html"
        made_by = f"python -m dmsmig rehearse --stack {self.stack}"
        write_atomic(path, render_html(report_of(state, self.ops.outputs, made_by)))
        self.result.report = str(path)
