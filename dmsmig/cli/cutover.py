"""`cutover`, `rollback`, `decommission`: the gated, resumable end of the migration."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dmsmig.cli.common import (
    EndpointOption,
    FromSecretOption,
    JsonOption,
    OutputsFileOption,
    ProfileOption,
    ProjectDirOption,
    StackOption,
    UrlOption,
    app,
    console,
    err_console,
)
from dmsmig.config.atomic import write_atomic
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.cutover.actions import CutoverActions
from dmsmig.cutover.driver import DECOMMISSIONED, StackDriver
from dmsmig.cutover.runbook import decommission_refusal, roll_back, run_cutover
from dmsmig.cutover.store import DynamoStateStore, FileStateStore, StateStore
from dmsmig.ops import dms as dms_ops
from dmsmig.ops.context import OpsContext, source_engine
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.full_validation import final_validation
from dmsmig.rehearsal.local_driver import driver_for

TakeoverOption = Annotated[
    bool,
    typer.Option("--takeover", help="Take the cutover lock from its holder (named, asks to confirm) on purpose."),
]
LocalStateOption = Annotated[
    Path | None,
    typer.Option("--local-state", help="Keep state and lock in this folder (rehearsals) instead of DynamoDB."),
]


def make_driver(stack: str, project_dir: Path, ops: OpsContext) -> StackDriver:
    """The Pulumi seam (replaced in tests); a rehearsal's outputs against its local AWS get the local driver."""
    return driver_for(stack, project_dir, ops.outputs_file, ops.endpoint_url, ops.clients.ssm)


def _switch_targets(ops: OpsContext, stack: str) -> list[str]:
    """The one resource a read switch (or its rollback) may change, as the deployed stack exports it."""
    urn = ops.outputs.read_switch_urn
    if not urn:
        raise OpsError(
            f"stack {stack}'s outputs have no readSwitchUrn (deployed by an earlier version of this program)",
            f"pulumi up --stack {stack} once to export it, then run the command again",
        )
    return [urn]


def _store(ops: OpsContext, stack: str, local_state: Path | None) -> StateStore:
    if local_state is not None:
        return FileStateStore(local_state, stack)
    return DynamoStateStore(ops.clients.dynamodb, ops.config.migration.cutover_table, stack)


@app.command()
def cutover(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show every gate's evidence; change nothing.")] = False,
    confirm_quiesced: Annotated[
        bool, typer.Option("--confirm-quiesced", help="Confirm applications stopped writing to the source.")
    ] = False,
    restart: Annotated[bool, typer.Option("--restart", help="Start a new run after a rollback.")] = False,
    monitor_minutes: Annotated[
        int | None, typer.Option(min=0, max=10080, help="Override cutover.monitorMinutes (e.g. 0 for a rehearsal).")
    ] = None,
    poll_seconds: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds between alarm checks in the monitor window.")
    ] = 30,
    force: Annotated[bool, typer.Option("--force", help="Resume even though the settings changed.")] = False,
    takeover: TakeoverOption = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (--takeover).")] = False,
    database_url: UrlOption = None,
    from_secret: FromSecretOption = False,
    local_state: LocalStateOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Run the cutover: preconditions, quiesce, final validation, switch reads, monitor, finish.

    Re-running continues at the first unfinished step and never repeats a finished side effect.
    """
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    if monitor_minutes is not None:
        migration = ops.config.migration
        cutover_settings = migration.cutover.model_copy(update={"monitor_minutes": monitor_minutes})
        ops.config = ops.config.model_copy(
            update={"migration": migration.model_copy(update={"cutover": cutover_settings})}
        )
    cfg = ops.config.migration
    store = _store(ops, stack, local_state)

    def engines():
        return {s.name: source_engine(ops, s, database_url, from_secret) for s in cfg.sources}

    out = _Output(as_json, stream=True)
    driver = make_driver(stack, project_dir, ops)
    actions = CutoverActions(
        config=ops.config,
        outputs=ops.outputs,
        clients=ops.clients,
        driver=driver,
        switch_targets=_switch_targets(ops, stack),
        validate=lambda: final_validation(ops, database_url, from_secret),
        source_engines=engines,
        quiesce_confirmed=confirm_quiesced,
        poll_seconds=poll_seconds,
        dry_run=dry_run,
        waiting=out.wait,
    )
    retry = f"python -m dmsmig cutover --stack {stack}" + (f" --local-state {local_state}" if local_state else "")
    holder = _holder_to_take_over(store, stack, takeover, yes) if not dry_run else None
    outcome = run_cutover(
        ops,
        store,
        actions,
        stack,
        dry_run=dry_run,
        restart=restart,
        force=force,
        retry=retry,
        takeover=holder,
        say=out.say,
        context=driver.context,
    )
    result = {"stack": stack, "ok": outcome.ok, "dryRun": dry_run, "stoppedAt": outcome.stopped_at}
    if outcome.ok:
        out.done(
            "[green]dry run: every gate passes[/green]" if dry_run else "[green]cutover complete[/green]", **result
        )
        return
    if as_json:
        out.done("", **result, reason=outcome.reason, exitCode=outcome.exit_code)
    else:
        err_console.print(f"[red]stopped at {outcome.stopped_at}:[/red] {escape(outcome.reason)}", soft_wrap=True)
    raise typer.Exit(outcome.exit_code)


class _Output:
    """Text lines as they happen; with --json one JSON object at the end holding them, or with ``stream``
    (``cutover --json``) one compact JSON object a line as things happen, the result last."""

    def __init__(self, as_json: bool, stream: bool = False):
        self.as_json, self.stream = as_json, stream and as_json
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        self.lines.append(line)
        if self.stream:
            print(json.dumps({"event": "evidence", "line": line}), flush=True)
        elif not self.as_json:
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    def wait(self, line: str) -> None:
        """What a gate is waiting for (not kept in ``lines``)."""
        if self.stream:
            print(json.dumps({"event": "waiting", "line": line}), flush=True)
        elif not self.as_json:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)

    def done(self, text: str, **result: object) -> None:
        if self.stream:
            print(json.dumps({"event": "result", **result, "lines": self.lines}, default=str), flush=True)
        elif self.as_json:
            print(json.dumps({**result, "lines": self.lines}, indent=2, default=str))
        else:
            console.print(text)


def _holder_to_take_over(store: StateStore, stack: str, takeover: bool, yes: bool) -> str | None:
    """With --takeover: the current holder, after the operator confirms replacing it."""
    if not takeover:
        return None
    holder = store.holder()
    if holder is None:
        return None
    if not yes:
        typer.confirm(
            f"The cutover lock of {stack} is held by {holder}. Take it over (that run stops at its next step)?",
            abort=True,
        )
    return holder


@app.command()
def rollback(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    local_state: LocalStateOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Flip reads back to the source; tasks and data stay exactly as they are."""
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    out = _Output(as_json)

    def confirm() -> None:
        if not yes:
            typer.confirm(f"Switch {stack} reads back to the source?", abort=True)

    changed = roll_back(
        ops,
        _store(ops, stack, local_state),
        make_driver(stack, project_dir, ops),
        _switch_targets(ops, stack),
        confirm,
        out.say,
    )
    text = (
        "[green]reads switched back to the source[/green]; tasks and DynamoDB data untouched"
        if changed
        else "reads already come from the source; nothing to roll back"
    )
    out.done(text, stack=stack, readsFrom="source", changed=changed)


@app.command()
def decommission(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    local_state: LocalStateOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Even without a finished cutover.")] = False,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """After the fail-back window: stop every task and remove the DMS resources (the table stays)."""
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    store = _store(ops, stack, local_state)
    out = _Output(as_json)
    with store.lock():
        if not force:
            window = ops.config.migration.cutover.fail_back_window_hours
            refusal = decommission_refusal(store.load(), window, datetime.now(UTC), store.where)
            if refusal:
                raise OpsError(*refusal)
        if not yes:
            typer.confirm(f"Stop all tasks of {stack} and remove its DMS resources (the table is kept)?", abort=True)
        for result in dms_ops.stop_active(ops.clients.dms, [t for _g, t in ops.outputs.tasks()]):
            if result.stopped:
                out.say(f"stopping {result.ref.task_id}: {result.now}")
        for line in make_driver(stack, project_dir, ops).set_and_apply(DECOMMISSIONED, True):
            out.say(line)
    out.done(
        "[green]decommissioned[/green]: DMS resources removed, table and read switch kept",
        stack=stack,
        decommissioned=True,
    )


@app.command("cutover-status")
def cutover_status(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    local_state: LocalStateOption = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the evidence report (one self-contained HTML file) here.")
    ] = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Show the recorded cutover: each step's status, who ran it, when, and its evidence; --report for the board."""
    from dmsmig.cutover.report import render_html, report_of

    if report is not None and report.is_dir():
        raise UsageError(f"--report {report} is a folder", "pass a file name, e.g. --report cutover.html")
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    state = _store(ops, stack, local_state).load()
    if state is None:
        if as_json:
            print(json.dumps({"stack": stack, "recorded": False}))
        else:
            console.print(f"no cutover recorded for {stack}")
        return
    data = report_of(state, ops.outputs, f"python -m dmsmig cutover-status --stack {stack} --report {report}")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(report, render_html(data))
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    for step in data["steps"]:
        console.print(
            f"{step['step']:18} {step['status']:8} {step['ended'] or step['started']} {step['by']} {step['reason']}",
            markup=False,
        )
    if state.rolled_back:
        console.print("rolled back: start a new run with cutover --restart")
    if report is not None:
        console.print(f"evidence report: {report}", markup=False)
