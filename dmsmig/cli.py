"""The operator CLI (typer): plan offline, check policies, and drive the migration."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from dmsmig.config import ConfigError, load_stack_config

app = typer.Typer(
    help="Declare, check and drive a DMS migration into DynamoDB. Works offline where it can.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

StackOption = typer.Option(..., "--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml.")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")


@app.callback()
def _root() -> None:
    """Declare, check and drive a DMS migration into DynamoDB."""


def _load(stack: str):
    try:
        return load_stack_config(stack)
    except ConfigError as err:
        err_console.print(f"[red]error:[/red] invalid {err.source}")
        for problem in err.problems:
            err_console.print(f"  - {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None


@app.command()
def plan(stack: str = StackOption, as_json: bool = JsonOption) -> None:
    """Show what a stack would create: the program under Pulumi's mock engine, no cloud needed."""
    from dmsmig.mock_engine import run_program
    from dmsmig.plan_view import plan_json, resource_counts, resource_tree

    config = _load(stack)
    run = run_program(config, stack_name=stack)
    if as_json:
        print(json.dumps(plan_json(run), indent=2, sort_keys=True, default=str))
        return
    console.print(resource_tree(run, f"[bold]stack {stack}[/bold] ({config.region}), offline plan"))
    counts = resource_counts(run)
    table = Table("resource type", "count", title="Resources")
    for type_, count in counts.items():
        table.add_row(type_, str(count))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values())}[/bold]")
    console.print(table)
    console.print(f"[dim]ARNs and ids above come from the mock engine. Deploy with: pulumi up --stack {stack}[/dim]")


def main(argv: list[str] | None = None) -> None:
    """Entry point for scripts."""
    app(argv)
