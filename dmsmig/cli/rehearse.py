"""`rehearse`: the whole full load on this machine, no cloud account; a one-screen summary, or --json."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.text import Text

from dmsmig.cli.common import (
    JsonOption,
    ProjectDirOption,
    StackOption,
    app,
    console,
    err_console,
    load_config,
    print_records,
)
from dmsmig.config.atomic import write_atomic
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.ops.decisions import load_counts
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.rehearsal.cutover_rehearsal import PHASE, Fault
from dmsmig.rehearsal.run import DEFAULT_ROWS, Rehearsal, RehearsalOptions, RehearsalResult

LINE_SECONDS = 10.0
"""Off a terminal, a full-load progress line this often (there is no bar to redraw)."""


@app.command()
def rehearse(
    stack: StackOption,
    rows: Annotated[int, typer.Option(min=1, max=100_000_000, help="Synthetic rows per source object.")] = DEFAULT_ROWS,
    seed: Annotated[int, typer.Option(min=0, max=2**31, help="Seed of the synthetic rows (same seed, same rows).")] = 7,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Rehearse on this database (read-only) instead of synthetic rows."),
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Working folder (default .rehearsal/<stack> in the project).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1024, max=65535, help="Port of the local AWS (default: free).")
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the local AWS and PostgreSQL running afterwards.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, max=86400, help="Give up on the full load after seconds.")] = 1800,
    change_rate: Annotated[
        float, typer.Option("--change-rate", min=0, max=10_000, help="Source writes a second while CDC runs (0: none).")
    ] = 20.0,
    cutover: Annotated[
        bool, typer.Option("--cutover/--no-cutover", help="Rehearse cutover, rollback and restart after the load.")
    ] = True,
    monitor_seconds: Annotated[
        float, typer.Option("--monitor-seconds", min=0, max=3600, help="The rehearsal's monitor window.")
    ] = 3.0,
    plant_fault: Annotated[
        Fault | None,
        typer.Option("--plant-fault", help="Plant a fault before the cutover and see which gate stops it."),
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Also write the JSON report here.")] = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Run the stack's full load locally: embedded PostgreSQL, emulated DMS, local DynamoDB; then the findings.

    Then the cutover, a rollback and a restarted cutover through the same code the commands run
    (CDC groups get their changes from the embedded PostgreSQL's logical decoding).
    Exit 0 when the load finished, every gate passed, the rollback put reads back, validation
    matched and no finding is an error; exit 1 when a finding is an error; else a gate's own exit
    code (10-16) when the cutover stopped there; exit 1 otherwise.
    """
    config = load_config(stack, project_dir)
    report_path = report or ((state_dir or project_dir / ".rehearsal" / stack) / "rehearsal-report.json")
    if report is not None:  # the default lies in the state dir, which the rehearsal checks itself
        _check_report_path(report)
    options = RehearsalOptions(
        stack,
        project_dir,
        rows=rows,
        seed=seed,
        database_url=database_url,
        state_dir=state_dir,
        port=port,
        keep=keep,
        timeout=timeout,
        change_rate=change_rate,
        cutover=cutover,
        monitor_seconds=monitor_seconds,
        fault=plant_fault.value if plant_fault is not None else None,
    )
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% {task.fields[info]}"),
        console=err_console,
        disable=as_json or not err_console.is_terminal,  # off a terminal: progress lines instead (below)
    )
    ids: dict[str, Any] = {}
    started, last_line = time.monotonic(), [time.monotonic()]

    def on_event(kind: str, data: Any) -> None:
        if as_json:
            return
        if kind == "progress":
            for p in data:
                info = f"{p.status} rows={p.rows_loaded:,}" + (f" errors={p.error_rows}" if p.error_rows else "")
                if p.task_id not in ids:
                    ids[p.task_id] = bars.add_task(p.task_id, total=100, info=info)
                bars.update(ids[p.task_id], completed=p.progress_percent, info=info)
            now = time.monotonic()
            if not err_console.is_terminal and now - last_line[0] >= LINE_SECONDS:  # no bar to redraw: a line
                last_line[0] = now
                counts = ", ".join(f"{n} {what}" for what, n in load_counts(data).items())
                err_console.print(
                    f"full load: {sum(p.rows_loaded for p in data):,} rows loaded; tasks as DMS reports them: "
                    f"{counts} (of {len(data)}); {now - started:.0f}s",
                    markup=False,
                )
        elif kind == "source":
            err_console.print(f"source: {data['rows']:,} rows in {data['object']} for {data['where']}", markup=False)
        elif kind == "preflight":
            ran = [c for c in data if not c.reason.startswith("not run locally")]
            failed = [c for c in ran if not c.ok]
            err_console.print(
                f"preflight: {len(ran) - len(failed)} of {len(ran)} local checks passed"
                + "".join(f"; FAILED {c.name}: {c.reason}" for c in failed)
                + f" ({len(data) - len(ran)} not run locally: {', '.join(c.name for c in data if c not in ran)})",
                markup=False,
            )
        elif kind == "cutover":
            if data.startswith(PHASE):
                err_console.print(f"--- {data.removeprefix(PHASE)} ---", markup=False, soft_wrap=True)
            else:
                err_console.print(f"  {data}", markup=False, soft_wrap=True)
        elif kind == "local":
            err_console.print(f"local AWS (moto + emulated DMS) at {data['endpoint']}", markup=False)
        elif kind == "earlier":
            err_console.print(f"earlier run: {data}", markup=False, soft_wrap=True)

    interrupted = threading.Event()

    def on_sigint(_signum: int, _frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    rehearsal = Rehearsal(options, config, on_event, interrupted)
    try:
        with bars:
            result = rehearsal.run()
    except OpsError as err:  # the report still says what ran, and what stopped it (e.g. its local AWS died)
        stopped = {"message": err.message, "fix": err.fix}
        _write_report(report_path, {**rehearsal.result.as_dict(), "ok": False, "stoppedBy": stopped})
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    payload = result.as_dict()
    _write_report(report_path, payload)
    if as_json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        _summary(result, report_path)
    if not result.ok:
        raise typer.Exit(result.exit_code)


def _cutover_summary(result: RehearsalResult) -> None:
    cut = result.cutover
    if cut is None:
        console.print(f"cutover: not rehearsed ({result.cutover_skipped})", markup=False)
        return
    steps = []
    for phase in cut.phases:
        if "lines" in phase:
            state = "passed every gate" if phase["ok"] else f"STOPPED at {phase['stoppedAt']}"
            steps.append(f"{phase['phase']} {state}")
        elif phase["phase"] == "rollback":
            steps.append(f"rollback: reads from {phase['readsFrom']}")
        else:
            steps.append(f"start: {', '.join(sorted(set(phase['actions'].values())))}")
    changes = cut.changes
    if changes:
        steps.append(f"source changes {changes['inserts']}/{changes['updates']}/{changes['deletes']} (ins/upd/del)")
    console.print(
        "cutover: "
        + "; ".join(steps)
        + f"; reads now from {cut.reads_from}"
        + (f"; exit {cut.exit_code}: {cut.reason}" if not cut.ok else "")
        + (f"; evidence report {cut.report}" if cut.report else ""),
        markup=False,
        soft_wrap=True,
    )


def _check_report_path(path: Path) -> None:
    """Refuse a report path that cannot be written before the rehearsal runs, not after."""
    if path.is_dir():
        raise UsageError(f"--report {path} is a folder", "pass a file name, e.g. --report rehearsal.json")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UsageError(f"--report {path}: {parent} is a file, not a folder", "pass a path inside a folder")


def _write_report(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(payload, indent=2, default=str))


def _summary(result: RehearsalResult, report_path: Path) -> None:
    data = result.as_dict()
    print_records(
        f"full load {result.verdict}",
        ["task", "status", "rows", "error rows"],
        [[t["task_id"], t["status"], f"{t['rows_loaded']:,}", t["error_rows"]] for t in result.tasks],
    )
    checked = []
    for group, reports in result.validation.get("groups", {}).items():
        for r in reports:
            style = "green" if r["ok"] else "red"
            target = "-" if r["targetItems"] is None else f"{r['targetItems']:,}"
            checked.append([group, r["task"], f"{r['sourceRows']:,}", target, Text(r["verdict"], style=style)])
    print_records("validate --full (every item)", ["group", "task", "source rows", "items", "verdict"], checked)
    findings = []
    for f in data["findings"]:
        style = "red" if f["level"] == "error" else "yellow"
        examples = ", ".join(json.dumps(e, default=str) for e in f["examples"][:3])
        findings.append([Text(f["level"], style=style), f["message"], f["where"], f["count"], examples[:80], f["fix"]])
    if findings:
        print_records("finding", ["level", "finding", "where", "rows", "examples", "fix"], findings)
    else:
        console.print("findings: none", markup=False)
    for u in data["undocumented"]:
        console.print(
            f"undocumented: confirm on a sandbox DMS run: {u['rows']:,} row(s) where {u['what']}", markup=False
        )
    size = data["itemSize"]
    console.print(
        f"items: {data['items']:,} from {data['rows']:,} rows; mean {size['meanBytes']:,} B, "
        f"max {size['maxBytes']:,} B, {size['writeUnitsPerItem']} write units per item; local resources created: "
        f"{sum(result.created.values())}, not created (IAM, KMS, logs, events, VPC): "
        f"{sum(result.not_created.values())}",
        markup=False,
    )
    if result.keep:
        k = result.keep
        console.print(
            "kept running; e.g. AWS_ACCESS_KEY_ID=rehearsal AWS_SECRET_ACCESS_KEY=rehearsal python -m dmsmig status "
            f"--stack {result.stack} --outputs-file {k['outputsFile']} --endpoint-url {k['endpointUrl']}; "
            f"--database-url {k['databaseUrl']}; stop: {k['stop']}",
            markup=False,
            soft_wrap=True,
        )
    _cutover_summary(result)
    verdict = Text("PASS", style="green") if result.ok else Text("FAIL", style="red")
    console.print(
        Text("rehearsal: ").append(verdict).append(f" (report {report_path}, {sum(result.seconds.values()):.0f} s)")
    )
