"""Shared pieces of the CLI: the typer app, common options, config loading and error exits.

Command modules import from here and from the layers below, never from each other;
:mod:`dmsmig.cli` assembles them and holds the error boundary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dmsmig.config.stack import PROJECT_DIR, ConfigError, load_stack_config
from dmsmig.ops.errors import OpsError

app = typer.Typer(
    help="Declare, check and drive a DMS migration into DynamoDB. Works offline where it can.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml.")]
ProjectDirOption = Annotated[
    Path, typer.Option("--project-dir", help="Folder holding Pulumi.yaml and the stack files.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
OutputsFileOption = Annotated[
    Path | None,
    typer.Option("--outputs-file", help="JSON from `pulumi stack output --json`; default: Automation API."),
]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint override, e.g. a local moto_server.")
]
ProfileOption = Annotated[str | None, typer.Option("--profile", help="AWS profile.")]
GroupOption = Annotated[str | None, typer.Option("--group", help="Only this task group, e.g. orders/events.")]
TaskOption = Annotated[list[str] | None, typer.Option("--task", help="Only these tasks (id or pN); repeatable.")]
UrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the source (or $DMSMIG_SOURCE_URL); never printed."),
]
FromSecretOption = Annotated[
    bool, typer.Option("--from-secret", help="Read the source credentials from its Secrets Manager secret.")
]


@app.callback()
def _root() -> None:
    """Declare, check and drive a DMS migration into DynamoDB."""


def load_config(stack: str, project_dir: Path = PROJECT_DIR):
    """The validated stack config, or exit 2 listing every problem with its key path."""
    try:
        return load_stack_config(stack, project_dir)
    except ConfigError as err:
        err_console.print(f"[red]error:[/red] invalid {err.source}")
        for problem in err.problems:
            err_console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def operator_errors() -> Iterator[None]:
    """Turn an :class:`OpsError` raised inside the block into its message and exit 1."""
    try:
        yield
    except OpsError as err:
        raise fail(err) from None


def fail(err: Exception) -> typer.Exit:
    """Print an operator error (message and fix) and return the exit to raise."""
    message = err.message if isinstance(err, OpsError) else str(err)
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    if isinstance(err, OpsError) and err.fix:
        err_console.print(f"  fix: {err.fix}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(1)
