"""Offline commands: plan, policy-check, config-reference and contract-facts (no cloud needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

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
from dmsmig.config.bounds import parse_bound_problem
from dmsmig.config.stack import PROJECT_DIR, project_name
from dmsmig.contract import facts
from dmsmig.model.throughput import MeasuredItems
from dmsmig.ops.errors import UsageError


@app.command()
def plan(
    stack: StackOption,
    outputs_file: Annotated[
        Path | None,
        typer.Option(
            "--outputs-file",
            help="Deployed outputs (pulumi stack output --json): say which tasks an update would modify.",
        ),
    ] = None,
    rehearsal: Annotated[
        Path | None,
        typer.Option(
            "--rehearsal",
            help="A `rehearse` JSON report: use its measured write units per item in the load model.",
        ),
    ] = None,
    as_json: JsonOption = False,
    project_dir: ProjectDirOption = PROJECT_DIR,
) -> None:
    """Show what a stack would create: the program under Pulumi's mock engine, no cloud needed."""
    from dmsmig.contract.check import check_resources
    from dmsmig.offline.mock_engine import run_program
    from dmsmig.offline.plan_view import plan_json, resource_counts, resource_tree

    config = load_config(stack, project_dir)
    measured = _measured(rehearsal) if rehearsal is not None else None
    run = run_program(config, stack_name=stack, project=project_name(project_dir))
    requests, problems = check_resources(run.resources)
    modified = _modified_tasks(run.outputs, outputs_file, stack, config, project_dir)
    if as_json:
        from dmsmig.model.throughput import load_plan

        document = plan_json(run)
        document["load"] = load_plan(config.migration, measured).as_json()
        document["contract"] = {"requests": len(requests), "problems": [str(p) for p in problems]}
        document["modifiedTasks"] = modified
        print(json.dumps(document, indent=2, sort_keys=True, default=str))
        if problems:
            raise typer.Exit(1)
        return
    console.print(resource_tree(run, f"[bold]stack {stack}[/bold] ({config.region}), offline plan"))
    counts = resource_counts(run)
    rows: list[list[object]] = [[type_, count] for type_, count in counts.items()]
    print_records("Resources", ["resource type", "count"], [*rows, ["total", sum(counts.values())]])
    _print_estimate(config.migration, measured)
    serverless_ids = {
        t["taskId"] for tasks in run.outputs.get("taskGroups", {}).values() for t in tasks if t["kind"] == "serverless"
    }
    tasks_changed = [t for t in modified if t not in serverless_ids]
    configs_changed = [t for t in modified if t in serverless_ids]
    if tasks_changed:
        console.print(
            f"[yellow]{len(tasks_changed)} task(s) change settings, mappings or migration type[/yellow]: "
            f"{', '.join(tasks_changed)}. Updating a task stops it if it runs; stop them first "
            f"(python -m dmsmig stop --stack {stack}), then pulumi up, then python -m dmsmig resume --stack {stack}",
            highlight=False,
        )
    if configs_changed:
        states = ", ".join(sorted(s.upper() for s in facts.SERVERLESS_MODIFIABLE_STATES))
        console.print(
            f"[yellow]{len(configs_changed)} Serverless replication(s) change[/yellow]: {', '.join(configs_changed)}. "
            f"DMS modifies a replication config only in {states}, so pulumi up stops a running one and leaves it "
            f"stopped: stop them at a quiet moment (python -m dmsmig stop --stack {stack}), pulumi up, then "
            f"python -m dmsmig resume --stack {stack}",
            highlight=False,
        )
    if problems:
        err_console.print(f"[red]AWS contract: {len(problems)} request(s) AWS would refuse[/red]")
        for problem in problems:
            err_console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(
        f"AWS contract: {len(requests)} requests ({len({r.operation for r in requests})} operations) checked "
        "against botocore's model and the fact table: none refused",
        markup=False,
        highlight=False,
    )
    console.print(f"[dim]ARNs and ids above come from the mock engine. Deploy with: pulumi up --stack {stack}[/dim]")


def _measured(path: Path) -> MeasuredItems:
    """The write units per item a `rehearse` report measured; one line naming the file when it is not one."""
    from dmsmig.rehearsal.analysis import measured_items

    fix = "pass the rehearsal-report.json that `python -m dmsmig rehearse` wrote (--report or its state dir)"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--rehearsal {path}: no such file", fix) from None
    except IsADirectoryError:
        raise UsageError(f"--rehearsal {path} is a folder", fix) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"--rehearsal {path} is not a JSON report ({err})", fix) from None
    except (ValueError, RecursionError) as err:
        raise UsageError(f"--rehearsal {path}: {parse_bound_problem(err) or err}", fix) from None
    try:
        return measured_items(document, str(path))
    except ValueError as err:
        raise UsageError(f"--rehearsal {path}: {err}", fix) from None


def _modified_tasks(planned: dict, outputs_file: Path | None, stack: str, config, project_dir: Path) -> list[str]:
    """Tasks the update modifies, against deployed outputs read and identity-checked as the operator
    commands read them (another stack's outputs are refused, naming both sides)."""
    from dmsmig.offline.plan_view import task_definition_changes
    from dmsmig.ops.context import read_outputs
    from dmsmig.ops.outputs import verify_identity

    if outputs_file is None:
        return []
    deployed = read_outputs(stack, outputs_file, project_dir)
    verify_identity(deployed, project_name(project_dir), stack, config.region, str(outputs_file))
    return task_definition_changes(planned, deployed.model_dump(by_alias=True))


def _print_estimate(cfg, measured: MeasuredItems | None = None) -> None:
    from dmsmig.model.estimate import DCU_USD_PER_HOUR
    from dmsmig.model.throughput import load_plan, prewarm_advice

    model = load_plan(cfg, measured)
    bound = model.bound
    print_records(
        "What bounds the full load",
        ["stage", "limit", "full load takes", "figure from"],
        [
            [
                stage.name,
                stage.limit,
                ("-" if stage.hours is None else f"{stage.hours:,.1f} h") + (" <- bound" if stage is bound else ""),
                stage.source,
            ]
            for stage in model.stages
        ],
    )
    if bound is not None:
        console.print(
            f"full load: about {bound.hours:,.1f} h (an estimate from the figures above), bounded by {bound.name} "
            f"({model.items:,} items, {model.write_units:,} write units)",
            markup=False,
        )
    for note in model.notes:
        console.print(f"note: {note}", markup=False, style="yellow")
    advice = prewarm_advice(model)
    if advice:
        console.print(f"pre-warming: {advice}", markup=False)
    instances = model.instances
    az = "multi-AZ" if cfg.multi_az else "single-AZ"
    if instances is not None and instances.count:
        if instances.monthly_usd is None:
            console.print(
                f"no instance cost: no figures for {instances.instance_class}; add it to INSTANCE_FIGURES in "
                "dmsmig/model/estimate.py",
                markup=False,
            )
        else:
            console.print(
                f"instances: {instances.count} x {instances.instance_class}, ~${instances.monthly_usd:,.0f}/month "
                f"({az}, list price)",
                markup=False,
            )
    load_hours = model.hours
    for group in model.serverless:
        units = f"{group.min_units or 1}-{group.max_units} DCU"
        during = ""
        if load_hours:
            low, high = group.usd_for(load_hours)
            during = f"; the {load_hours:,.1f} h load ~${low:,.0f}-${high:,.0f}"
        console.print(
            f"serverless {group.group}: {group.replications} replication(s) at {units} ({az}), at most "
            f"~${group.max_monthly_usd:,.0f}/month at {group.max_units} DCU all month{during} "
            f"(${DCU_USD_PER_HOUR}/DCU-hour: approximate, not an AWS figure; check DMS pricing)",
            markup=False,
        )


@app.command("config-reference")
def config_reference(
    write: Annotated[bool, typer.Option("--write", help="Rewrite the table in docs/config-reference.md.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the stack config reference (Markdown) generated from the config models."""
    from dmsmig.config.reference import BEGIN, END, REFERENCE_PAGE, markdown, rows

    if as_json:

        def plain(cell: str) -> str:  # the rows are Markdown cells
            return cell.replace("\\|", "|").strip("`")

        keys = [{"key": plain(k), "type": plain(t), "default": plain(d), "description": e} for k, t, d, e in rows()]
        print(json.dumps(keys, indent=2))
        return
    if not write:
        print(markdown())
        return
    page = PROJECT_DIR / REFERENCE_PAGE
    text = page.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    write_atomic(page, text[:start] + markdown() + text[end:])
    console.print(f"{REFERENCE_PAGE} updated")


@app.command("contract-facts")
def contract_facts(
    write: Annotated[
        bool, typer.Option("--write", help="Regenerate the policy pack's aws_facts.json and the docs' fact table.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the AWS fact table (Markdown): each fact the program relies on and where AWS states it."""
    from dataclasses import asdict

    from dmsmig.contract.facts import FACTS, markdown_table, policy_pack_facts

    if as_json:
        print(json.dumps([asdict(f) for f in FACTS.values()], indent=2, default=list))
        return
    if not write:
        print(markdown_table())
        return
    pack_file = PROJECT_DIR / "policies" / "dms_guardrails" / "aws_facts.json"
    write_atomic(pack_file, json.dumps(policy_pack_facts(), indent=2, sort_keys=True) + "\n")
    page = PROJECT_DIR / FACTS_PAGE
    text = page.read_text()
    start, end = text.index(FACTS_BEGIN), text.index(FACTS_END) + len(FACTS_END)
    write_atomic(page, text[:start] + FACTS_BEGIN + "\n" + markdown_table() + FACTS_END + text[end:])
    console.print(f"policies/dms_guardrails/aws_facts.json and the fact table in {FACTS_PAGE} updated")


FACTS_PAGE = "docs/deploy.md"
FACTS_BEGIN = "<!-- BEGIN AWS FACTS (python -m dmsmig contract-facts --write) -->"
FACTS_END = "<!-- END AWS FACTS -->"


@app.command("policy-check")
def policy_check(
    stack: StackOption,
    pack_config: Annotated[
        Path | None, typer.Option("--pack-config", help="Pack config file; default policies/config.<stack>.json.")
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Hide computed values as `pulumi preview` does (unknowns).")
    ] = False,
    as_json: JsonOption = False,
    project_dir: ProjectDirOption = PROJECT_DIR,
) -> None:
    """Evaluate the policy pack offline over the stack's program; non-zero on a mandatory violation."""
    import time

    from dmsmig.offline import policy_check as pc
    from dmsmig.offline.mock_engine import run_program

    config = load_config(stack, project_dir)
    path = pack_config or pc.pack_config_path(stack)
    try:
        settings = pc.load_pack_config(path)
    except ValueError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}")
        raise typer.Exit(2) from None
    started = time.perf_counter()
    run = run_program(config, stack_name=stack, project=project_name(project_dir))
    violations = pc.evaluate(run, settings, config.migration.all_tags(), preview=preview)
    elapsed = time.perf_counter() - started
    mandatory = pc.has_mandatory(violations)
    if as_json:
        print(
            json.dumps(
                {
                    "stack": stack,
                    "packConfig": str(path),
                    "seconds": round(elapsed, 3),
                    "violations": [v.as_dict() for v in violations],
                },
                indent=2,
            )
        )
    else:
        _print_violations(violations, stack, path, len(run.resources), elapsed)
    if mandatory:
        raise typer.Exit(1)


def _print_violations(violations, stack: str, path: Path, resource_count: int, elapsed: float) -> None:
    from dmsmig.offline.policy_check import pack_label

    if violations:
        console.print("[bold]Policy Violations:[/bold]")
        for v in violations:
            colour = "red" if v.level == "mandatory" else "yellow"
            console.print(
                f"    [{colour}]\\[{v.level}][/{colour}]  {pack_label()}  [bold]{v.policy}[/bold]  ({v.resource})",
                highlight=False,
            )
            console.print(f"    {v.description}", markup=False, highlight=False, soft_wrap=True)
            console.print(f"    {v.message}", markup=False, highlight=False, soft_wrap=True)
            if v.urn:
                console.print(f"    [dim]{v.urn}[/dim]", highlight=False)
    counts = {lvl: sum(1 for v in violations if v.level == lvl) for lvl in ("mandatory", "advisory")}
    verdict = "[red]FAILED[/red]" if counts["mandatory"] else "[green]passed[/green]"
    console.print(
        f"policy check {verdict} for stack {stack} with {path.name}: {counts['mandatory']} mandatory, "
        f"{counts['advisory']} advisory over {resource_count} resources in {elapsed:.2f}s",
        highlight=False,
    )
