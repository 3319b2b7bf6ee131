"""`validate`: per-partition counts and sampled deep checks, as a table or JSON; exit 1 on mismatch."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from dmsmig.cli_common import JsonOption, ProjectDirOption, StackOption, app, console, operator_errors
from dmsmig.config import PROJECT_DIR, StackConfig
from dmsmig.data_cli import FromSecretOption, UrlOption, source_engine
from dmsmig.ops.errors import OpsError
from dmsmig.ops.outputs import StackOutputs
from dmsmig.ops_cli import EndpointOption, OpsContext, OutputsFileOption, ProfileOption
from dmsmig.validation import DEFAULT_SEGMENTS, PartitionReport, validate_group


def run_validation(
    config: StackConfig,
    outputs: StackOutputs,
    dynamodb,
    *,
    database_url: str | None,
    from_secret: bool,
    group: str | None = None,
    samples: int = 20,
    segments: int = DEFAULT_SEGMENTS,
    seed: int | None = None,
) -> dict[str, list[PartitionReport]]:
    """Validate every task group (or one) of the stack; keyed by ``source/group``."""
    cfg = config.migration
    results: dict[str, list[PartitionReport]] = {}
    for source in cfg.sources:
        engine = None
        for task_group in source.task_groups:
            name = f"{source.name}/{task_group.name}"
            if group and name != group:
                continue
            exported = outputs.task_groups.get(name)
            ranges = task_group.ranges()
            if exported is None or len(exported) != len(ranges):
                raise OpsError(f"stack outputs for {name} do not match the config", "run pulumi up, then validate")
            engine = engine or source_engine(config, source, database_url, from_secret)
            results[name] = validate_group(
                engine,
                dynamodb,
                outputs.table_name,
                task_group.spec,
                ranges,
                [t.task_id for t in exported],
                partition_key=cfg.target.partition_key,
                sort_key=cfg.target.sort_key,
                samples=samples,
                segments=segments,
                seed=seed,
            )
    if group and not results:
        raise OpsError(f"no task group '{group}'", f"use one of: {', '.join(outputs.task_groups)}")
    return results


def report_json(results: dict[str, list[PartitionReport]]) -> dict:
    return {
        "ok": all(r.ok for reports in results.values() for r in reports),
        "groups": {name: [r.as_dict() for r in reports] for name, reports in results.items()},
    }


@app.command()
def validate(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: Annotated[str | None, typer.Option("--group", help="Only this task group (source/group).")] = None,
    database_url: UrlOption = None,
    from_secret: FromSecretOption = False,
    samples: Annotated[int, typer.Option(help="Rows deep-checked per partition (0: counts only).")] = 20,
    segments: Annotated[int, typer.Option(help="Parallel scan segments.")] = DEFAULT_SEGMENTS,
    seed: Annotated[int | None, typer.Option(help="Random seed for the samples (repeatable runs).")] = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Compare source rows and DynamoDB items per partition, plus sampled items attribute by attribute."""
    with operator_errors():
        ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
        results = run_validation(
            ops.config,
            ops.outputs,
            ops.clients.dynamodb,
            database_url=database_url,
            from_secret=from_secret,
            group=group,
            samples=samples,
            segments=segments,
            seed=seed,
        )
    report = report_json(results)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for name, reports in results.items():
            table = Table("task", "range", "source", "target", "diff", "samples", "verdict", title=f"validate {name}")
            for r in reports:
                colour = "green" if r.ok else "red"
                table.add_row(
                    r.task_id,
                    f"{r.range['from']}..{r.range['to']}",
                    f"{r.source_rows:,}",
                    "-" if r.target_items is None else f"{r.target_items:,}",
                    "-" if r.difference is None else f"{r.difference:+,}",
                    str(r.samples_checked),
                    f"[{colour}]{r.verdict}[/{colour}]",
                )
            console.print(table)
            for r in reports:
                for f in r.findings[:20]:
                    console.print(
                        f"  {r.task_id} key {f.key}: {f.kind} {f.attribute} "
                        f"expected={f.expected!r} actual={f.actual!r}",
                        markup=False,
                        highlight=False,
                    )
    if not report["ok"]:
        raise typer.Exit(1)
