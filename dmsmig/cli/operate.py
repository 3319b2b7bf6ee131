"""Operator commands on a deployed stack: bootstrap-secret, preflight, start, status, watch, stop, resume.

Every command reads the stack outputs through one seam (Automation API or ``--outputs-file``)
and creates AWS clients through one factory (``--endpoint-url`` for an emulator).
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from dmsmig.cli.common import (
    EndpointOption,
    GroupOption,
    JsonOption,
    OutputsFileOption,
    ProfileOption,
    ProjectDirOption,
    StackOption,
    TaskOption,
    app,
    cells,
    console,
    err_console,
)
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.ops import dms as dms_ops
from dmsmig.ops.context import OpsContext
from dmsmig.ops.decisions import (
    StartAction,
    TaskProgress,
    WatchVerdict,
    load_counts,
    only_queued_left,
    plan_starts,
    start_action,
    update_refusal,
    watch_verdict,
)
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.preflight import run_preflight
from dmsmig.ops.secrets import bootstrap_secret


def _emit(as_json: bool, payload: Any, table: Table | None) -> None:
    if as_json:
        print(json.dumps(payload, indent=2, default=str))
    elif table is not None:
        console.print(table)


@app.command("bootstrap-secret")
def bootstrap_secret_command(
    stack: StackOption,
    source: Annotated[str, typer.Option("--source", help="Source name from the stack config.")],
    username: Annotated[str | None, typer.Option("--username", help="Database login (prompted if absent).")] = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Create or update a source's credentials secret; the password is read from a prompt or stdin."""
    ops = OpsContext(stack, None, project_dir, profile, endpoint_url, need_outputs=False)
    match = [s for s in ops.config.migration.sources if s.name == source]
    if not match:
        names = ", ".join(s.name for s in ops.config.migration.sources)
        raise UsageError(f"no source '{source}' in stack {stack}", f"use one of: {names}")
    src = match[0]
    interactive = sys.stdin.isatty()
    if username is None:
        username = input("Database username: ") if interactive else ""
    if not username:
        raise UsageError("no username", "pass --username")
    password = getpass.getpass("Database password: ") if interactive else sys.stdin.readline().rstrip("\r\n")
    try:
        result = bootstrap_secret(
            ops.clients.secrets,
            src,
            username,
            password,
            description=f"DMS source credentials for {ops.config.migration.prefix} {src.name}",
            kms_key_id=src.secret.kms_key_arn,
        )
    finally:
        password = ""  # drop the reference as early as possible
    verb = "created" if result.created else "updated (new version)"
    if as_json:
        print(json.dumps(asdict(result)))
    else:
        console.print(
            f"secret {result.name} {verb}: {result.arn} version {result.version_id}", markup=False, soft_wrap=True
        )


@app.command()
def preflight(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    connection_timeout: Annotated[
        float, typer.Option(min=1, max=3600, help="Seconds to wait per connection test.")
    ] = 300,
    poll_seconds: Annotated[float, typer.Option(min=0, max=600, help="Seconds between connection status polls.")] = 10,
    assess: Annotated[
        bool, typer.Option("--assess", help="Also run a DMS premigration assessment per task (needs assessments).")
    ] = False,
    assess_timeout: Annotated[
        float, typer.Option(min=1, max=86400, help="Seconds to wait for the assessment runs.")
    ] = 3600,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Check instance, secrets, roles, table, tasks and endpoint connections; non-zero on any failure.

    With --assess, also run DMS premigration assessments and report each one with its fix.
    """
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    bars = Progress(
        TextColumn("assessing {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[status]}"),
        console=err_console,
        disable=as_json or not assess,
    )
    ids: dict[str, TaskID] = {}

    def on_assessment(task_id: str, run: dict) -> None:
        done = run.get("AssessmentProgress") or {}
        total = done.get("IndividualAssessmentCount") or None
        if task_id not in ids:
            ids[task_id] = bars.add_task(task_id, total=total, status="")
        bars.update(
            ids[task_id],
            total=total,
            completed=done.get("IndividualAssessmentCompletedCount", 0),
            status=run.get("Status", ""),
        )

    with bars:
        checks = run_preflight(
            ops.clients,
            ops.outputs,
            ops.config.migration,
            connection_timeout,
            poll_seconds,
            stack=stack,
            assess_timeout=assess_timeout if assess else None,
            on_assessment=on_assessment,
        )
    table = Table("check", "result", "reason", "fix", title=f"preflight {stack}")
    for c in checks:
        verdict = Text("pass", style="green") if c.ok else Text("FAIL", style="red")
        table.add_row(*cells(c.name, verdict, c.reason, c.fix))
    _emit(as_json, [asdict(c) for c in checks], table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def _print_actions(as_json: bool, results: list[dict], title: str) -> None:
    table = Table("task", "was", "action", "status", title=title)
    for r in results:
        table.add_row(*cells(r["task"], r["was"], r["action"], r["status"]))
    _emit(as_json, results, table)


@app.command()
def start(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: GroupOption = None,
    task: TaskOption = None,
    max_running: Annotated[int | None, typer.Option(min=1, help="Start only until this many tasks run.")] = None,
    reload_target: Annotated[
        bool, typer.Option("--reload-target", help="Reload stopped tasks from scratch (asks to confirm).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    until_done: Annotated[
        bool,
        typer.Option("--until-done", help="Keep the queue going: start queued tasks as slots free, until all loaded."),
    ] = False,
    interval: Annotated[float, typer.Option(min=0, max=3600, help="With --until-done: seconds between checks.")] = 30,
    timeout: Annotated[float, typer.Option(min=0, help="With --until-done: give up after seconds (exit 3).")] = 86400,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Start tasks: start-replication when new, resume-processing when stopped; running ones are left alone.

    Finished full loads are never started again. With --max-running K the rest wait as `queued`;
    --until-done keeps starting them as running ones finish, printing progress, until every load is done.
    """

    def decide(rows):
        plan = plan_starts(rows, reload=reload_target, max_running=max_running)
        reloads = [t for t, a in plan if a == StartAction.RELOAD]
        if reloads and not yes:
            typer.confirm(
                f"reload-target reloads every table of {', '.join(reloads)} from scratch. Continue?", abort=True
            )
        return plan

    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    refs = [t for _g, t in ops.outputs.tasks(group, task)]
    results = dms_ops.apply_start_plan(ops.clients.dms, refs, decide)
    _print_actions(as_json, results, f"start {stack}")
    if not until_done:
        return
    deadline = time.monotonic() + timeout
    while True:
        progress = dms_ops.collect_progress(ops.clients.dms, ops.clients.cloudwatch, refs)
        verdict = watch_verdict(progress)
        _progress_line(as_json, progress, verdict, time.monotonic() - (deadline - timeout))
        if verdict != WatchVerdict.IN_PROGRESS:
            break
        if time.monotonic() >= deadline:
            err_console.print(f"timed out after {timeout:.0f}s with loads still queued or running", markup=False)
            raise typer.Exit(3)
        time.sleep(interval)
        started = [
            r for r in dms_ops.apply_start_plan(ops.clients.dms, refs, decide) if StartAction(r["action"]).starts
        ]
        if started:
            _print_actions(as_json, started, f"start {stack}: next in the queue")
    if verdict == WatchVerdict.FAILED:
        raise typer.Exit(1)


def _progress_line(as_json: bool, progress: list[TaskProgress], verdict: WatchVerdict, elapsed: float = 0) -> None:
    """One line (or JSON object) per check: what runs, what is queued, what is done, rate and ETA."""
    counts = load_counts(progress)
    rows = sum(p.rows_loaded for p in progress)
    percent = sum(p.progress_percent for p in progress) / len(progress) if progress else 0
    rate = rows / elapsed if elapsed > 0 else None
    eta = elapsed * (100 - percent) / percent if 0 < percent < 100 and elapsed > 0 else None
    if as_json:
        doc: dict[str, Any] = {"verdict": verdict.value, **counts, "rowsLoaded": rows, "percent": round(percent, 1)}
        doc.update(
            elapsedSeconds=round(elapsed, 1), rowsPerSecond=rate and round(rate, 1), etaSeconds=eta and round(eta)
        )
        doc["tasks"] = [
            {"task": p.task_id, "status": p.status, "percent": p.progress_percent, "rows": p.rows_loaded}
            for p in progress
        ]
        print(json.dumps(doc), flush=True)
        return
    timing = f"; {elapsed:,.0f} s elapsed" if elapsed else ""
    timing += f", {rate:,.0f} rows/s" if rate else ""
    timing += f", ETA {eta / 60:,.0f} min" if eta else ""
    console.print(
        f"{verdict.value}: {', '.join(f'{n} {what}' for what, n in counts.items())}; "
        f"{rows:,} rows loaded ({percent:.0f} %){timing}",
        markup=False,
        highlight=False,
    )


@app.command()
def resume(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: GroupOption = None,
    task: TaskOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Resume stopped or failed tasks with resume-processing; never starts new tasks or reloads."""

    def decide(rows):
        plan = []
        for r in rows:
            action = start_action(r.status, r.started_before, False, r.finished, r.serverless_full_load)
            keep = action in (
                StartAction.RESUME,
                StartAction.SKIP_RUNNING,
                StartAction.FINISHED,
                StartAction.NEEDS_RELOAD,
            )
            plan.append((r.task_id, action if keep else StartAction.WAIT))
        return plan

    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    results = dms_ops.apply_start_plan(ops.clients.dms, [t for _g, t in ops.outputs.tasks(group, task)], decide)
    _print_actions(as_json, results, f"resume {stack}")


def _collect(ops: OpsContext, group: str | None, names: list[str] | None) -> list[TaskProgress]:
    refs = [t for _g, t in ops.outputs.tasks(group, names)]
    return dms_ops.collect_progress(ops.clients.dms, ops.clients.cloudwatch, refs)


def _status_table(progress: list[TaskProgress], title: str) -> Table:
    table = Table(
        "task", "status", "load %", "tables l/l/q/e", "rows", "error rows", "CDC lat s/t", "last failure", title=title
    )
    for p in progress:
        latency = "" if p.cdc_latency_source is None else f"{p.cdc_latency_source:.0f}/{p.cdc_latency_target or 0:.0f}"
        status = Text(p.status + (f" ({p.phase})" if p.phase else ""), style="red" if p.failed else "")
        table.add_row(
            *cells(
                p.task_id,
                status,
                p.progress_percent,
                f"{p.tables_loaded}/{p.tables_loading}/{p.tables_queued}/{p.tables_errored}",
                f"{p.rows_loaded:,}",
                p.error_rows,
                latency,
                (p.last_failure or ", ".join(p.errored_tables))[:80],
            )
        )
    return table


@app.command()
def status(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: GroupOption = None,
    task: TaskOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Per task: status, load progress, tables, rows, CDC latency and the last failure."""
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    progress = _collect(ops, group, task)
    _emit(as_json, [asdict(p) for p in progress], _status_table(progress, f"status {stack}"))


@app.command()
def watch(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: GroupOption = None,
    task: TaskOption = None,
    interval: Annotated[float, typer.Option(min=0, max=3600, help="Seconds between refreshes.")] = 30,
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this many seconds (exit 3).")] = 86400,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Live view until every full load completes (exit 0) or a task fails (exit 1).

    Not on a terminal (CI, a log file), a line every interval instead of redrawn bars; --json, one
    JSON object a line. When only queued (never-started) tasks remain and nothing runs, it stops
    waiting and says to start them (exit 3).
    """
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    live = console.is_terminal and not as_json
    bars = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}% {task.fields[info]}")
    )
    ids: dict[str, TaskID] = {}
    started = time.monotonic()
    deadline = started + timeout
    verdict = WatchVerdict.IN_PROGRESS
    progress: list[TaskProgress] = []
    queued: list[str] = []
    with Live(bars, console=console, refresh_per_second=4, transient=False) if live else nullcontext():
        while True:
            progress = _collect(ops, group, task)
            if live:
                for p in progress:
                    info = f"{p.status} rows={p.rows_loaded:,}" + (
                        f" errored={p.tables_errored}" if p.tables_errored else ""
                    )
                    if p.task_id not in ids:
                        ids[p.task_id] = bars.add_task(p.task_id, total=100, info=info)
                    bars.update(ids[p.task_id], completed=p.progress_percent, info=info)
            verdict = watch_verdict(progress)
            if not live:
                _progress_line(as_json, progress, verdict, time.monotonic() - started)
            queued = only_queued_left(progress) if verdict == WatchVerdict.IN_PROGRESS else []
            if verdict != WatchVerdict.IN_PROGRESS or queued or time.monotonic() >= deadline:
                break
            time.sleep(interval)
    if not as_json:
        console.print(_status_table(progress, f"watch {stack}: {verdict.value}"))
    if verdict == WatchVerdict.FAILED:
        raise typer.Exit(1)
    if queued:
        err_console.print(
            f"{len(queued)} task(s) queued and none running ({', '.join(queued[:5])}): nothing will move them; "
            f"python -m dmsmig start --stack {stack} (or --until-done to keep the queue going)",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(3)
    if verdict == WatchVerdict.IN_PROGRESS:
        err_console.print(f"timed out after {timeout:.0f}s with loads still running; watch again to continue")
        raise typer.Exit(3)


@app.command()
def stop(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: GroupOption = None,
    task: TaskOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Stop running tasks (a pause; `resume` continues where they stopped)."""
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    refs = [t for _g, t in ops.outputs.tasks(group, task)]
    results = [
        {"task": r.ref.task_id, "was": r.was, "status": r.now} for r in dms_ops.stop_active(ops.clients.dms, refs)
    ]
    table = Table("task", "was", "status", title=f"stop {stack}")
    for r in results:
        table.add_row(*cells(r["task"], r["was"], r["status"]))
    _emit(as_json, results, table)


@app.command("reload-tables")
def reload_tables(
    stack: StackOption,
    task: Annotated[str, typer.Option("--task", help="Task id or pN.")],
    table: Annotated[list[str], typer.Option("--table", help="schema.table to reload; repeatable.")],
    outputs_file: OutputsFileOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Reload tables of one running task (ReloadTables, data-reload); other states get the documented path."""
    tables = []
    for name in table:
        schema, _, table_name = name.partition(".")
        if not schema or not table_name:
            raise UsageError(f"--table {name!r} needs schema.table", "e.g. --table dbo.vw_Dynamodbmigration")
        tables.append((schema, table_name))
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    [(_g, ref)] = ops.outputs.tasks(None, [task])
    dms_ops.request_reload(ops.clients.dms, ref, tables)
    if not as_json:
        for schema, table_name in tables:
            console.print(f"reload requested: {schema}.{table_name} in {ref.task_id}", markup=False)
    if as_json:
        print(json.dumps({"task": ref.task_id, "reloadRequested": [f"{s}.{t}" for s, t in tables]}))


@app.command("update-check")
def update_check(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Before pulumi up: the tasks and Serverless replications it modifies, and whether DMS takes that now.

    Exit 1 when the update would stop a running one (stop it first, update, then resume).
    """
    from dmsmig.offline.mock_engine import run_program

    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    planned = {
        t["taskId"]: t["definitionHash"]
        for tasks in run_program(ops.config, stack_name=stack).outputs["taskGroups"].values()
        for t in tasks
    }
    changed = [t for _g, t in ops.outputs.tasks() if t.task_id in planned and planned[t.task_id] != t.definition_hash]
    described = dms_ops.describe_tasks(ops.clients.dms, changed) if changed else {}
    results = []
    for ref in changed:
        record = described[ref.arn]
        state = record.get("Phase") or record["Status"]
        refusal = update_refusal(ref.task_id, ref.serverless, state)
        results.append({"task": ref.task_id, "kind": ref.kind, "state": state, "blocked": refusal or ""})
    table = Table("changed", "kind", "state", "pulumi up", title=f"update-check {stack}")
    for r in results:
        verdict = Text("would stop it", style="red") if r["blocked"] else Text("modifies it in place", style="green")
        table.add_row(*cells(r["task"], r["kind"], r["state"], verdict))
    if not as_json and not results:
        console.print(f"no task or Serverless replication of {stack} changes settings, mappings or type", markup=False)
    _emit(as_json, results, table if results else None)
    blocked = [r for r in results if r["blocked"]]
    if blocked:
        names = " ".join(f"--task {r['task']}" for r in blocked)
        raise OpsError(
            "; ".join(r["blocked"] for r in blocked),
            f"python -m dmsmig stop --stack {stack} {names}, then pulumi up --stack {stack}, then "
            f"python -m dmsmig resume --stack {stack} {names}",
        )
