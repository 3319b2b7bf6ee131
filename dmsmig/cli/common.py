"""Shared pieces of the CLI: the typer app, common options, config loading and error exits.

Command modules import from here and from the layers below, never from each other;
:mod:`dmsmig.cli` assembles them and holds the error boundary.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dmsmig.cli.boundary import BoundaryGroup
from dmsmig.config.stack import PROJECT_DIR, StackConfig, load_stack_config, stack_name_problem

app = typer.Typer(
    help="Declare, check and drive a DMS migration into DynamoDB. Works offline where it can.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: a flag shows no value placeholder, and no box drawing reaches a pipe
    rich_markup_mode=None,
    cls=BoundaryGroup,
)
# Data (ARNs, names, values) is printed as text: no emoji codes (':secret:'), no highlighting; a line is
# never wrapped by us (a terminal wraps what it must; a pipe gets whole lines).
def _width(stream: object) -> int | None:
    """Off a terminal (a pipe, a file, CI) and without COLUMNS, wide enough that no line, tree or table
    row is wrapped (an ARN cut mid-word helps nobody); on a terminal, its own width."""
    isatty = getattr(stream, "isatty", None)
    if (isatty is not None and isatty()) or os.environ.get("COLUMNS"):
        return None
    return PIPE_WIDTH


PIPE_WIDTH = 1000
console = Console(emoji=False, highlight=False, soft_wrap=True, width=_width(sys.stdout))
err_console = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True, width=_width(sys.stderr))

def _stack_name(value: str) -> str:
    problem = stack_name_problem(value)
    if problem:
        raise typer.BadParameter(problem)
    return value


StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml.", callback=_stack_name)
]
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


def print_records(title: str, columns: list[str], rows: list[list[object]], out: Console | None = None) -> None:
    """A table on a terminal; off one (a pipe, a file, CI), one whole line a record, every value in full
    and no box drawing: ``title: column value, column value, ...``."""
    out = out or console
    if out.is_terminal:
        table = Table(*columns, title=title)
        for row in rows:
            table.add_row(*cells(*row))
        out.print(table)
        return
    for row in rows:
        shown = ", ".join(f"{c} {v.plain if isinstance(v, Text) else v}" for c, v in zip(columns, row))
        out.print(f"{title}: {shown}", markup=False, highlight=False, soft_wrap=True)


def cells(*values: object) -> list[Text]:
    """Table cells that show data as it is: never read as rich markup or emoji codes."""
    return [value if isinstance(value, Text) else Text(str(value)) for value in values]


def load_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """The validated stack config (a :class:`ConfigError` reaches the boundary: exit 2, one line per key)."""
    return load_stack_config(stack, project_dir)
