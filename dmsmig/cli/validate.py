"""`validate`: per-partition counts and sampled deep checks, as a table or JSON; exit 1 on mismatch."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
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
from dmsmig.ops.errors import UsageError
from dmsmig.ops.full_validation import (
    DEFAULT_MAX_FAILURES,
    EXTRA_ITEM,
    MISSING_TARGET,
    RECORD_DIFF,
    FullComparison,
    FullOptions,
    Shard,
    finish,
    run_full,
)
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
    full: Annotated[
        bool, typer.Option("--full", help="Compare every item with its source row (chunk digests, one read a side).")
    ] = False,
    shard: Annotated[
        str | None, typer.Option("--shard", help="With --full: run shard i/N only and write it to --out.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="With --full: the shard's result file.")] = None,
    merge: Annotated[
        list[Path] | None, typer.Option("--merge", help="Compare the shard results written by --out (repeat).")
    ] = None,
    max_failures: Annotated[
        int, typer.Option(min=1, max=10_000_000, help="Differences listed (all are counted), as DMS's FailureMaxCount.")
    ] = DEFAULT_MAX_FAILURES,
    show_values: Annotated[
        bool, typer.Option("--show-values", help="Print differing values (they may be personal data).")
    ] = False,
    recheck_seconds: Annotated[
        float, typer.Option(min=0, max=86400, help="While CDC runs: read differing keys again after this pause.")
    ] = 0,
    profile: ProfileOption = None,
    endpoint_url: EndpointOption = None,
    project_dir: ProjectDirOption = PROJECT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Compare source rows and DynamoDB items per partition, plus sampled items attribute by attribute.

    With --full, every item: each side read once, chunk digests compared, differing keys named.
    """
    ops = OpsContext(stack, outputs_file, project_dir, profile, endpoint_url)
    if full or shard or out or merge:
        _full(ops, full, shard, out, merge, segments, group, database_url, from_secret, max_failures, show_values,
              recheck_seconds, as_json)  # fmt: skip
        return
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


def _full(
    ops: OpsContext,
    full: bool,
    shard: str | None,
    out: Path | None,
    merge: list[Path] | None,
    segments: int,
    group: str | None,
    database_url: str | None,
    from_secret: bool,
    max_failures: int,
    show_values: bool,
    recheck_seconds: float,
    as_json: bool,
) -> None:
    if merge and (shard or out or group):
        raise UsageError(
            "--merge compares shard results; --shard, --out and --group belong to the shard runs", "drop them"
        )
    if not merge and not full:
        raise UsageError("--shard and --out work with --full", "add --full")
    parsed = Shard.parse(shard) if shard else Shard()
    if parsed.total > 1 and out is None:
        raise UsageError(
            f"--shard {shard} needs --out FILE for its result", "then: validate --merge FILE --merge FILE ..."
        )
    if out is not None and out.is_dir():
        raise UsageError(f"--out {out} is a folder", "pass a file name, e.g. --out shard-1.sqlite")
    inputs = {"--outputs-file": ops.outputs_file, "the stack file": ops.stack_file}
    for name, path in inputs.items():
        if out is not None and path is not None and out.resolve() == path.resolve():
            raise UsageError(f"--out {out} is {name}: writing the result there would replace it", "pass another file")
    options = FullOptions(database_url, from_secret, group, segments, parsed, out, max_failures, recheck_seconds)
    if merge:
        comparison = finish(ops, list(merge), options)
    else:
        with tempfile.TemporaryDirectory(prefix="dmsmig-validate-") as work:
            result = run_full(ops, options, Path(work))
            if isinstance(result, Path):
                message = {"shard": f"{parsed.index}/{parsed.total}", "result": str(result)}
                if as_json:
                    print(json.dumps(message))
                else:
                    console.print(
                        f"shard {parsed.index}/{parsed.total} written to {result}; when every shard is done: "
                        f"python -m dmsmig validate --stack {ops.stack} --merge <each shard's file>",
                        markup=False, highlight=False, soft_wrap=True,
                    )  # fmt: skip
                return
            comparison = result
    table_items = _table_items(ops)
    report = comparison.as_json(show_values, table_items)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_full(comparison, report, show_values)
    if not comparison.ok:
        raise typer.Exit(1)


def _table_items(ops: OpsContext) -> int | None:
    described = ops.clients.dynamodb.describe_table(TableName=ops.outputs.table_name)["Table"]
    return described.get("ItemCount")


def _print_full(comparison: FullComparison, report: dict, show_values: bool) -> None:
    for name, results in comparison.groups.items():
        table = Table(
            "task",
            "range",
            "source",
            "target",
            "missing",
            "extra",
            "differ",
            "verdict",
            title=f"validate --full {name}",
        )
        for r in results:
            table.add_row(
                *cells(
                    r.task,
                    f"{r.range['from']}..{r.range['to']}",
                    f"{r.source_rows:,}",
                    f"{r.target_items:,}",
                    r.counts[MISSING_TARGET],
                    r.counts[EXTRA_ITEM],
                    r.counts[RECORD_DIFF],
                    Text("ok" if r.ok else "DIFFERENT", style="green" if r.ok else "red"),
                )
            )
        console.print(table)
    for f in report["failures"][:50]:
        detail = f" attributes {', '.join(f['attributes'])}" if f.get("attributes") else ""
        reason = f" ({f['reason']})" if f.get("reason") else ""
        values = f" {json.dumps(f['values'], default=str)}" if show_values and f.get("values") else ""
        console.print(
            f"  {f['kind']} key {f['key']} ({f['task']}){detail}{reason}{values}", markup=False, highlight=False
        )
    if comparison.failure_count > 50:
        console.print(f"  ... {comparison.failure_count - 50:,} more (--json lists up to --max-failures)", markup=False)
    for name, n in comparison.unkeyed.items():
        console.print(
            f"  {n:,} item(s) of {name} have no integral key attribute: they match no source row", markup=False
        )
    read = report["itemsRead"]
    size = "unknown" if report["tableItems"] is None else f"{report['tableItems']:,}"
    console.print(
        f"DynamoDB items read: {read['scan']:,} by one scan + {read['batchGet']:,} differing items fetched; "
        f"table size {size} (DescribeTable); shards {comparison.shards}"
        + ("; differences re-read after the recheck pause" if comparison.rechecked else ""),
        markup=False,
    )
