"""The real gates and effects of the cutover: DMS status, validation, the read switch, alarms, tasks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from dmsmig.config.stack import StackConfig
from dmsmig.contract.facts import FULL_LOAD_ONLY
from dmsmig.cutover.driver import READS_FROM, StackDriver
from dmsmig.cutover.machine import CutoverState, Gate, Memo, Step
from dmsmig.ops import dms as dms_ops
from dmsmig.ops.decisions import RUNNING, TaskProgress, none_active, should_stop
from dmsmig.ops.errors import OpsError, error_code, explain
from dmsmig.ops.outputs import StackOutputs, TaskRef
from dmsmig.ops.retry import call_naming, call_with_retry

MAX_SAMPLES = 500


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 or seconds == 0 else f"{seconds:g} s"


def _sample(p: TaskProgress) -> dict:
    """One task's progress and CDC latency at a moment, as the evidence report draws it."""
    return {
        "task": p.task_id,
        "status": p.status,
        "percent": p.progress_percent,
        "rows": p.rows_loaded,
        "cdcLatencySource": p.cdc_latency_source,
        "cdcLatencyTarget": p.cdc_latency_target,
    }


@dataclass
class CutoverActions:
    """Gates and effects against the deployed stack (see :class:`dmsmig.cutover.machine.Actions`)."""

    config: StackConfig
    outputs: StackOutputs
    clients: Any
    driver: StackDriver
    validate: Callable[[], dict]
    """Runs the final validation; returns the report of :func:`dmsmig.ops.validation.report_json`."""
    source_engines: Callable[[], dict[str, Any]] = dict
    """SQLAlchemy engines by source name, for the quiesce check query."""
    quiesce_confirmed: bool = False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_seconds: float = 30.0
    switch_targets: list[str] | None = None
    """URNs the read switch may change (the read-switch parameter); anything else pending is refused."""
    dry_run: bool = False
    """Report what each gate would check and the evidence available now: write nothing, wait for nothing."""
    monitor_seconds: float | None = None
    """Overrides ``cutover.monitorMinutes`` (a rehearsal's short window)."""
    waiting: Callable[[str], None] = lambda line: None
    """Told what a gate waits for, each time it looks again (sentinel, monitor window countdown)."""

    # -- gates ----------------------------------------------------------------------------------
    def gate(self, step: Step, memo: Memo | None = None) -> Gate:
        memo = memo or Memo({})
        try:
            if step == Step.DRAINED:
                return self._drained(memo)
            if step in (Step.PRECONDITIONS, Step.VALIDATION, Step.MONITOR):
                return {Step.PRECONDITIONS: self._preconditions, Step.VALIDATION: self._validation,
                        Step.MONITOR: self._monitor}[step](memo)  # fmt: skip
            return {
                Step.QUIESCED: self._quiesced,
                Step.SWITCH_READS: self._switch_evidence,
                Step.FINISH: self._finish_evidence,
            }[step]()
        except OpsError as err:
            return Gate(False, [], f"{err.message}" + (f" ({err.fix})" if err.fix else ""))

    def _tasks(self) -> list[TaskProgress]:
        selected = self.outputs.tasks()
        described = dms_ops.describe_tasks(self.clients.dms, [t for _g, t in selected])
        return [dms_ops.progress(self.clients.dms, self.clients.cloudwatch, t, described[t.arn]) for _g, t in selected]

    def _preconditions(self, memo: Memo) -> Gate:
        limit = self.config.migration.cutover.cdc_latency_max_seconds
        evidence, problems = [], []
        tasks = self._tasks()
        memo.data["threshold"] = {"cdcLatencyMaxSeconds": limit}
        memo.data["samples"] = [{"at": _now_iso(), "tasks": [_sample(p) for p in tasks]}]
        for p in tasks:
            line = f"{p.task_id}: {p.status}, {p.progress_percent}% loaded, {p.rows_loaded:,} rows"
            if p.migration_type != "full-load":
                line += f", CDC latency source/target {p.cdc_latency_source}/{p.cdc_latency_target}s"
            evidence.append(line)
            if p.failed:
                problems.append(f"{p.task_id} has tables in error or failed: {p.last_failure or p.errored_tables}")
            elif p.cdc_not_running:
                problems.append(f"{p.task_id} is {p.status}: its CDC is not running, so changes stopped arriving")
            elif not p.full_load_done:
                problems.append(f"{p.task_id} has not finished its full load")
            elif p.migration_type != "full-load":
                latencies = [p.cdc_latency_source, p.cdc_latency_target]
                known = [v for v in latencies if v is not None]
                if len(known) < 2 or max(known) > limit:
                    problems.append(f"{p.task_id} CDC latency {latencies} is not below {limit}s")
        return Gate(not problems, evidence, "; ".join(problems))

    def quiesce_sql(self, source: str) -> str | None:
        """The query returning 0 when ``source`` receives no writes (``cutover.quiesceCheckSql``)."""
        return self.config.migration.cutover.quiesce_check_sql

    def _quiesced(self) -> Gate:
        if any(self.quiesce_sql(s.name) for s in self.config.migration.sources):
            evidence, problems = [], []
            for name, engine in self.source_engines().items():
                sql = self.quiesce_sql(name)
                if sql is None:
                    continue
                with engine.connect() as conn:
                    value = conn.execute(text(sql)).scalar()
                evidence.append(f"source {name}: quiesce check returned {value}")
                if value not in (0, "0"):
                    problems.append(f"source {name} still receives writes ({value})")
            return Gate(not problems, evidence, "; ".join(problems))
        if self.quiesce_confirmed:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            return Gate(True, [f"operator confirmed writes to the source are stopped ({stamp})"])
        return Gate(
            False,
            ["no cutover.quiesceCheckSql configured"],
            "confirm that applications stopped writing to the source with --confirm-quiesced",
        )

    def _drained(self, memo: Memo) -> Gate:
        """gh-ost's marker for DMS: write a sentinel row at the source, see its item arrive in DynamoDB.

        The row is written once per attempt: its token is recorded (and saved) before waiting, so
        a re-run after a timeout or a crash waits for the same row instead of writing another.
        """
        cdc = self._cdc_refs()
        sentinel = self.config.migration.cutover.sentinel
        if not cdc:
            return Gate(True, ["no CDC tasks: the full loads are the whole copy"])
        if sentinel is None:
            return Gate(True, [f"{len(cdc)} CDC task(s), no cutover.sentinel configured: relying on CDC latency"])
        if self.dry_run:
            return Gate(
                True,
                [
                    f"(dry run) would write one sentinel row at source {sentinel.source} and wait up to "
                    f"{sentinel.timeout_seconds}s for item {sentinel.key} in DynamoDB; nothing written",
                    *self._cdc_latency_now(),
                ],
            )
        token = memo.data.get("sentinelToken")
        if token is None:
            # fits a uniqueidentifier or a text column; upper case, as SQL Server prints a uniqueidentifier
            token = str(uuid.uuid4()).upper()
            engine = self.source_engines()[sentinel.source]
            with engine.begin() as conn:
                conn.execute(text(sentinel.insert_sql), {"token": token})
            memo.data.update(sentinelToken=token, sentinelWrittenAt=datetime.now(UTC).isoformat(timespec="seconds"))
            memo.checkpoint()
        key = self._sentinel_key(token)
        started = self.clock()
        while True:
            item = call_naming(
                "reading the sentinel item of", f"table {self.outputs.table_name}", self.clients.dynamodb.get_item,
                TableName=self.outputs.table_name, Key=key, ConsistentRead=True,
            ).get("Item")  # fmt: skip
            waited = self.clock() - started
            # the sentinel proves the task whose range holds it; every other CDC task must still run
            broken = self._cdc_tasks_not_running(cdc)
            seen = "seen" if item is not None else "not"
            evidence = [f"sentinel {token} written at source {sentinel.source}, {seen} in DynamoDB after {waited:.0f}s"]
            if broken:
                return Gate(False, evidence, f"DMS reports {'; '.join(broken)}: its changes are not all applied")
            if item is not None:
                return Gate(True, [*evidence, f"{len(cdc)} CDC task(s) running (DMS)"])
            self.waiting(
                f"[cdc-drained] waiting for sentinel {token} in DynamoDB: {waited:.0f}s of {sentinel.timeout_seconds}s"
            )
            if waited >= sentinel.timeout_seconds:
                return Gate(
                    False,
                    [f"sentinel {token} written at source {sentinel.source}, not in DynamoDB after {waited:.0f}s"],
                    f"CDC has not delivered the sentinel within {sentinel.timeout_seconds}s; "
                    "check CDC latency and task status",
                )
            self.sleep(max(0.1, min(5.0, self.poll_seconds, sentinel.timeout_seconds - waited)))

    def _sentinel_key(self, token: str) -> dict:
        """The sentinel item's key, each attribute with the table's type for it."""
        sentinel = self.config.migration.cutover.sentinel
        assert sentinel is not None
        target = self.config.migration.target
        return {n: {target.attribute_type(n): t.replace("{token}", token)} for n, t in sentinel.key.items()}

    def _remove_sentinel(self, token: str | None) -> list[str]:
        """Delete the marker row this run wrote at the source (cutover.sentinel.deleteSql) and its item."""
        sentinel = self.config.migration.cutover.sentinel
        if sentinel is None or token is None:
            return []
        engine = self.source_engines()[sentinel.source]
        with engine.begin() as conn:
            deleted = conn.execute(text(sentinel.delete_sql), {"token": token}).rowcount
        key = self._sentinel_key(token)
        call_with_retry(self.clients.dynamodb.delete_item, TableName=self.outputs.table_name, Key=key)
        return [f"sentinel {token}: {deleted} row(s) deleted at source {sentinel.source}, its item deleted in DynamoDB"]

    def _task_samples(self) -> dict:
        """CDC latency of each CDC task now (CloudWatch only), for the evidence report; a failure to read it
        never fails a gate."""
        try:
            tasks = []
            for _g, ref in self.outputs.tasks():
                if ref.migration_type == "full-load":
                    continue
                source, target = dms_ops.cdc_latency(self.clients.cloudwatch, ref)
                tasks.append({"task": ref.task_id, "cdcLatencySource": source, "cdcLatencyTarget": target})
            return {"tasks": tasks}
        except Exception as err:  # noqa: BLE001 - evidence is best effort while a gate waits
            return {"tasks": [], "error": f"{type(err).__name__}: {str(err)[:120]}"}

    def _cdc_latency_now(self) -> list[str]:
        return [
            f"now: {p.task_id} {p.status}, CDC latency source/target "
            f"{p.cdc_latency_source if p.cdc_latency_source is not None else '-'}/"
            f"{p.cdc_latency_target if p.cdc_latency_target is not None else '-'} s"
            for p in self._tasks()
            if p.migration_type != "full-load"
        ]

    def _validation(self, memo: Memo) -> Gate:
        report = self.validate()
        memo.data["validation"] = {  # what the evidence report draws: per partition, and the first differences
            "mode": report.get("mode", "sampled"),
            "ok": report["ok"],
            "groups": report["groups"],
            "failureCount": report.get("failureCount"),
            "failures": report.get("failures", [])[:20],
        }
        evidence = [
            f"{group} {p['task']}: source {p['sourceRows']:,}, target "
            f"{'-' if p['targetItems'] is None else format(p['targetItems'], ',')}, {p['verdict']}"
            for group, partitions in report["groups"].items()
            for p in partitions
        ]
        failed = [line for line in evidence if not line.endswith(", ok")]
        if report.get("mode") == "full":  # every item compared: name the first differences
            evidence.insert(0, "full validation: every item against its source row")
            evidence += [
                f"{f['kind']} key {f['key']} ({f['task']})"
                + (f": {', '.join(f['attributes'])}" if f.get("attributes") else "")
                for f in report["failures"][:10]
            ]
        reason = f"{len(failed)} partition(s) do not match" if failed else ""
        if not report["ok"]:  # say why, when DMS knows: a CDC task that stopped explains missing changes
            broken = self._cdc_tasks_not_running(self._cdc_refs())
            if broken:
                reason = (reason + "; " if reason else "") + f"DMS reports {'; '.join(broken)}"
        return Gate(report["ok"], evidence, reason)

    def _reads_from(self) -> str | None:
        name = self.outputs.read_switch_parameter
        if not name:
            raise OpsError("stack outputs have no readSwitchParameter", "pulumi up this stack")
        try:
            return call_with_retry(self.clients.ssm.get_parameter, Name=name)["Parameter"]["Value"]
        except Exception as err:
            if error_code(err) == "ParameterNotFound":
                return None
            raise explain(err, "reading", name) from None

    def _switch_evidence(self) -> Gate:
        return Gate(
            True,
            [
                f"before the switch: SSM {self.outputs.read_switch_parameter} = {self._reads_from()}",
                f"before the switch: stack config {READS_FROM} = {self.driver.get(READS_FROM)}",
            ],
        )

    def _alarms_in_alarm(self) -> list[str]:
        names = self.outputs.alarm_names
        firing = []
        for i in range(0, len(names), 100):
            page = call_with_retry(self.clients.cloudwatch.describe_alarms, AlarmNames=names[i : i + 100])
            firing += [a["AlarmName"] for a in page.get("MetricAlarms", []) if a["StateValue"] == "ALARM"]
        return firing

    def _monitor(self, memo: Memo) -> Gate:
        minutes = self.config.migration.cutover.monitor_minutes
        if self.dry_run:
            firing = self._alarms_in_alarm()
            return Gate(
                not firing,
                [
                    f"(dry run) would watch {len(self.outputs.alarm_names)} alarms for {minutes} min; "
                    f"now {len(firing)} in ALARM"
                ],
                f"alarms in ALARM now: {', '.join(firing)}" if firing else "",
            )
        window = minutes * 60 if self.monitor_seconds is None else self.monitor_seconds
        deadline = self.clock() + window
        checks = 0
        samples = memo.data.setdefault("samples", [])
        length = {"monitorMinutes": minutes} if self.monitor_seconds is None else {"monitorSeconds": window}
        memo.data["threshold"] = {**length, "alarms": len(self.outputs.alarm_names)}
        while True:
            checks += 1
            firing = self._alarms_in_alarm()
            samples.append({"at": _now_iso(), "alarmsInAlarm": len(firing), **self._task_samples()})
            del samples[:-MAX_SAMPLES]
            memo.checkpoint()
            if firing:
                return Gate(
                    False,
                    [f"check {checks}: {len(firing)} alarm(s) in ALARM"],
                    f"alarms firing after the switch: {', '.join(firing)}; consider `python -m dmsmig rollback`",
                )
            broken = self._cdc_tasks_not_running()
            if broken:  # asked of DMS at each check, not only through the alarms its events feed
                return Gate(
                    False,
                    [f"check {checks}: DMS reports {'; '.join(broken)}"],
                    f"CDC stopped after the switch: {'; '.join(broken)}; the fail-back path is gone: resume it "
                    "(python -m dmsmig resume --task ...) or roll back now (python -m dmsmig rollback)",
                )
            left = deadline - self.clock()
            self.waiting(
                f"[monitor-window] check {checks}: {len(self.outputs.alarm_names)} alarms quiet; "
                f"{max(0.0, left):.0f}s of {window:.0f}s left"
            )
            if left <= 0:
                break
            self.sleep(min(self.poll_seconds, max(0.0, left)))
        return Gate(
            True, [f"{len(self.outputs.alarm_names)} alarms quiet for {_duration(window)} ({checks} checks)"]
        )

    def _to_stop(self) -> list[TaskRef]:
        keep_cdc = self.config.migration.cutover.keep_cdc_running
        return [t for _g, t in self.outputs.tasks() if not (keep_cdc and t.migration_type != FULL_LOAD_ONLY)]

    def _cdc_refs(self) -> list[TaskRef]:
        return [t for _g, t in self.outputs.tasks() if t.migration_type != FULL_LOAD_ONLY]

    def _cdc_tasks_not_running(self, refs: list[TaskRef] | None = None) -> list[str]:
        """Each of ``refs`` (default: the CDC tasks kept for fail-back) DMS reports not running now, with why."""
        kept = self._kept_for_fail_back() if refs is None else refs
        if not kept:
            return []
        described = dms_ops.describe_tasks(self.clients.dms, kept)
        return [line for ref in kept if (line := _not_running(ref, described[ref.arn]))]

    def _kept_for_fail_back(self) -> list[TaskRef]:
        stopping = {t.arn for t in self._to_stop()}
        return [t for _g, t in self.outputs.tasks() if t.arn not in stopping]

    def _finish_evidence(self) -> Gate:
        """What DMS reports now: which tasks this step stops, and whether each CDC task kept for fail-back
        still runs (a failed or stopped one no longer captures changes: the fail-back path is gone)."""
        to_stop, kept = self._to_stop(), self._kept_for_fail_back()
        described = dms_ops.describe_tasks(self.clients.dms, to_stop + kept) if to_stop or kept else {}
        running = [t.task_id for t in to_stop if should_stop(described[t.arn]["Status"])]
        lines = [
            f"tasks to stop: {len(running)} of {len(to_stop)} running now (DMS)"
            + (f": {', '.join(running)}" if running else "")
        ]
        broken = []
        for ref in kept:
            line = _not_running(ref, described[ref.arn])
            if line:
                broken.append(line)
            else:
                lines.append(f"{ref.task_id}: running now (DMS), kept for fail-back")
        if broken:
            lines.append(f"CDC tasks kept for fail-back that no longer capture changes: {'; '.join(broken)}")
            return Gate(
                False,
                lines,
                f"the fail-back path is broken: {'; '.join(broken)}. Resume them (python -m dmsmig resume "
                "--task ...) and re-run the cutover; if a task cannot resume (its replication slot or log "
                "position is gone), reload it or roll back now (python -m dmsmig rollback)",
            )
        return Gate(True, lines)

    # -- effects --------------------------------------------------------------------------------
    def effect_in_place(self, step: Step) -> bool:
        if step == Step.SWITCH_READS:
            return self._reads_from() == "dynamodb" and self.driver.get(READS_FROM) == "dynamodb"
        if step == Step.FINISH:
            if self.config.migration.cutover.sentinel is not None and any(
                t.migration_type != "full-load" for _g, t in self.outputs.tasks()
            ):
                return False  # the sentinel row may still be at the source; removing it again is harmless
            refs = self._to_stop()
            if not refs:
                return True
            described = dms_ops.describe_tasks(self.clients.dms, refs)
            return none_active([d["Status"] for d in described.values()])
        return True

    def apply_effect(self, step: Step, state: CutoverState | None = None) -> list[str]:
        if step == Step.SWITCH_READS:
            before = self._reads_from()
            lines = self.driver.set_and_apply(READS_FROM, "dynamodb", only=self.switch_targets)
            now = self._reads_from()
            if state is not None:  # the report shows both, read at that moment
                state.record(Step.SWITCH_READS).data["reads"] = {"before": before, "after": now}
            if now != "dynamodb":
                raise OpsError(f"after pulumi up the read switch reads {now!r}, not 'dynamodb'", "check the update")
            return [*lines, f"reads switched: {self.outputs.read_switch_parameter} = dynamodb"]
        if step == Step.FINISH:
            stops = dms_ops.stop_active(self.clients.dms, self._to_stop())
            lines = [f"stopping {r.ref.task_id}: {r.now}" for r in stops if r.stopped]
            drained = state.record(Step.DRAINED).data if state is not None else {}
            return (lines or ["no running task to stop"]) + self._remove_sentinel(drained.get("sentinelToken"))
        return []


def _not_running(ref: TaskRef, described: dict) -> str | None:
    """``task is <status> (why)`` when DMS reports ``ref`` not running, else None."""
    if described["Status"] == RUNNING:
        return None
    why = described.get("LastFailureMessage") or described.get("StopReason") or ""
    return f"{ref.task_id} is {described['Status']}" + (f" ({why})" if why else "")
