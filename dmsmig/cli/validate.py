"""`validate`: per-partition counts and sampled deep checks, as a table or JSON; exit 1 on mismatch."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

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
    cells,
    console,
)
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.ops.context import OpsContext
from dmsmig.ops.validation import DEFAULT_SEGMENTS, MAX_SEGMENTS, report_json, run_validation


@app.command()
def validate(
    stack: StackOption,
    outputs_file: OutputsFileOption = None,
    group: Annotated[str | None, typer.Option("--group", help="Only this task group (source/group).")] = None,
    database_url: UrlOption = None,
    from_secret: FromSecretOption = False,
    samples: Annotated[
        int, typer.Option(min=0, max=100000, help="Rows deep-checked per partition (0: counts only).")
    ] = 20,
    segments: Annotated[
        int, typer.Option(min=1, max=MAX_SEGMENTS, help="Parallel scan segments (DynamoDB allows 1,000,000).")
    ] = DEFAULT_SEGMENTS,
    seed: Annotated[int | None, typer.Option(help="Random seed for the samples (repeatable runs).")] = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Compare source rows and DynamoDB items per partition, plus sampled items attribute by attribute."""
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    run = run_validation(
        ops,
        database_url=database_url,
        from_secret=from_secret,
        group=group,
        samples=samples,
        segments=segments,
        seed=seed,
    )
    report = report_json(run)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for name, reports in run.groups.items():
            table = Table("task", "range", "source", "target", "diff", "samples", "verdict", title=f"validate {name}")
            for r in reports:
                colour = "green" if r.ok else "red"
                table.add_row(
                    *cells(
                        r.task_id,
                        f"{r.range['from']}..{r.range['to']}",
                        f"{r.source_rows:,}",
                        "-" if r.target_items is None else f"{r.target_items:,}",
                        "-" if r.difference is None else f"{r.difference:+,}",
                        r.samples_checked,
                        Text(r.verdict, style=colour),
                    )
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
        size = "unknown" if run.table_items is None else f"{run.table_items:,} (DescribeTable, refreshed ~6 h)"
        console.print(f"DynamoDB items read: {run.items_read:,} in one pass; table size: {size}", markup=False)
    if not report["ok"]:
        raise typer.Exit(1)
