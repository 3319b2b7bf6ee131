"""Data commands: plan-partitions (balanced boundaries) and preview-mapping (items DMS would write)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from dmsmig.build.balance import boundaries_from_bucket_minimums, max_mean_ratio
from dmsmig.build.mapping_preview import items_as_json, preview
from dmsmig.cli.common import (
    FromSecretOption,
    JsonOption,
    ProjectDirOption,
    StackOption,
    UrlOption,
    app,
    console,
    load_config,
)
from dmsmig.config.mapping_spec import load_mapping_spec
from dmsmig.config.partitions import equal_width_boundaries
from dmsmig.config.stack import PROJECT_DIR, MigrationConfig, Source, TaskGroup
from dmsmig.config.stack_file import set_task_group_keys
from dmsmig.ops.context import OpsContext, source_engine
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.source_db import count_in_ranges, key_quantiles, sample_rows

GroupArg = Annotated[str, typer.Option("--group", help="Task group as source/group, e.g. orders/events.")]


def _group(cfg: MigrationConfig, name: str) -> tuple[Source, TaskGroup]:
    source_name, _, group_name = name.partition("/")
    for source in cfg.sources:
        for group in source.task_groups:
            if source.name == source_name and group.name == group_name:
                return source, group
    known = ", ".join(f"{s.name}/{g.name}" for s in cfg.sources for g in s.task_groups)
    raise UsageError(f"no task group '{name}' in the stack (--group source/group)", f"use one of: {known}")


@app.command("plan-partitions")
def plan_partitions(
    stack: StackOption,
    group: GroupArg,
    partitions: Annotated[int, typer.Option("--partitions", "-n", min=1, max=200, help="How many tasks.")],
    database_url: UrlOption = None,
    from_secret: FromSecretOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print, do not write the stack file.")] = False,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Balanced boundaries from the key distribution (NTILE), written into Pulumi.<stack>.yaml."""
    config = load_config(stack, project_dir)
    source, task_group = _group(config.migration, group)
    spec = task_group.spec
    ops = OpsContext(stack, None, project_dir, need_outputs=False)
    engine = source_engine(ops, source, database_url, from_secret)
    try:
        stats = key_quantiles(engine, spec.source, spec.key_column, partitions)
        if stats.rows == 0:
            raise OpsError(f"{spec.source.object_name} has no rows with a {spec.key_column}", "check the source object")
        planned = boundaries_from_bucket_minimums(stats.bucket_minimums)
        planned_counts = count_in_ranges(engine, spec.source, spec.key_column, planned)
        width = min(partitions, stats.maximum - stats.minimum + 1)
        equal = equal_width_boundaries(width, stats.minimum, stats.maximum) if width > 1 else []
        equal_counts = count_in_ranges(engine, spec.source, spec.key_column, equal)
    except SQLAlchemyError as err:  # name the object queried, never the URL
        first = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise OpsError(
            f"querying {spec.source.object_name}: {type(err).__name__}: {first}",
            "check the source object and key column exist and the credentials may read them",
        ) from None
    report = {
        "rows": stats.rows,
        "min": stats.minimum,
        "max": stats.maximum,
        "boundaries": planned,
        "rowsPerPartition": planned_counts,
        "maxMeanRatio": round(max_mean_ratio(planned_counts), 4),
        "equalWidthRowsPerPartition": equal_counts,
        "equalWidthMaxMeanRatio": round(max_mean_ratio(equal_counts), 4),
        "written": False,
    }
    if not dry_run:
        source_name, _, group_name = group.partition("/")
        estimate = {"rows": stats.rows}
        if task_group.estimate:
            estimate["averageRowBytes"] = task_group.estimate.average_row_bytes
        set_task_group_keys(
            stack,
            source_name,
            group_name,
            {"partitions": {"boundaries": planned}, "estimate": estimate},
            project_dir,
        )
        report["written"] = True
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(
        "partition", "from", "to", "rows (planned)", "rows (equal-width pN)", title=f"{group}: {stats.rows:,} rows"
    )
    edges = [None, *planned, None]
    for i, count in enumerate(planned_counts):
        lo = "-inf" if edges[i] is None else f"{edges[i]:,}"
        hi = "+inf" if edges[i + 1] is None else f"{edges[i + 1] - 1:,}"
        eq = f"{equal_counts[i]:,}" if i < len(equal_counts) else ""
        table.add_row(f"p{i + 1}", lo, hi, f"{count:,}", eq)
    console.print(table)
    console.print(
        f"max/mean rows per partition: planned {report['maxMeanRatio']:.3f}, "
        f"equal width {report['equalWidthMaxMeanRatio']:.3f}"
        + (f"; boundaries written to Pulumi.{stack}.yaml" if report["written"] else " (dry run, nothing written)"),
        highlight=False,
    )


def _read_rows(path: Path) -> list[dict[str, Any]]:
    fix = "pass --rows with a UTF-8 .csv or .json file of sample rows"
    if not path.is_file():
        raise UsageError(f"rows file {path} not found (or not a file)", fix)
    if path.suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"{path}: use a .csv or .json file of sample rows", "save the sample rows as .csv or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"rows file {path} is not UTF-8 text", fix) from None
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"rows file {path} is not JSON (line {err.lineno}: {err.msg})", fix) from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise UsageError(f"{path}: expected a JSON list of row objects", 'e.g. [{"Id": 1, "PK": "agg#1"}]')
        return data
    raise UsageError(f"{path}: use a .csv or .json file of sample rows", "save the sample rows as .csv or .json")


@app.command("preview-mapping")
def preview_mapping(
    stack: StackOption,
    group: GroupArg,
    rows: Annotated[Path | None, typer.Option("--rows", help="Sample rows: .csv or .json list.")] = None,
    database_url: UrlOption = None,
    from_secret: FromSecretOption = False,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="Rows to sample from the source.")] = 100,
    show: Annotated[int, typer.Option(min=0, max=100000, help="How many items to print.")] = 3,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Print the DynamoDB items DMS would write for sample rows, and lint them; exit 1 on errors."""
    config = load_config(stack, project_dir)
    source, task_group = _group(config.migration, group)
    if rows is not None:
        sample = _read_rows(rows)
    else:
        sample = sample_rows(
            source_engine(
                OpsContext(stack, None, project_dir, need_outputs=False), source, database_url, from_secret
            ),
            task_group.spec.source,
            limit,
        )
    cfg = config.migration
    result = preview(
        load_mapping_spec(task_group.mapping),
        sample,
        partition_key=cfg.target.partition_key,
        sort_key=cfg.target.sort_key,
        lob_max_kb=cfg.settings_for(task_group).TargetMetadata.LobMaxSize,
    )
    if as_json:
        payload = {"items": json.loads(items_as_json(result.items)), "findings": [f.__dict__ for f in result.findings]}
        print(json.dumps(payload, indent=2))
    else:
        console.print(items_as_json(result.items[:show]), highlight=False, markup=False)
        if result.findings:
            table = Table("level", "rule", "row", "finding", title="Lint")
            for f in result.findings:
                colour = "red" if f.level == "error" else "yellow"
                table.add_row(f"[{colour}]{f.level}[/{colour}]", f.rule, str(f.row), f.message)
            console.print(table)
        console.print(f"{len(result.items)} rows mapped, {len(result.errors)} errors", highlight=False)
    if result.errors:
        raise typer.Exit(1)
