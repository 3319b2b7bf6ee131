"""The one error boundary of the CLI: every failure becomes ``error:`` + ``fix:`` and an exit code.

Commands raise what the layers below raise (ConfigError, OpsError, botocore, SQLAlchemy, YAML,
OS errors); this module alone turns each family into one line naming the file, key or resource,
a fix, and the documented exit code (docs/exit-codes.md). ``DMSMIG_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
import yaml
from rich.console import Console
from typer import _click as click  # typer vendors click: its own Exit/Abort/ClickException classes
from typer.core import TyperGroup

from dmsmig.config.stack import ConfigError
from dmsmig.contract.redact import redact
from dmsmig.cutover.machine import EXIT_LOCKED
from dmsmig.cutover.store import LockHeld
from dmsmig.ops.errors import EXIT_FAILED, EXIT_USAGE, ExpiredLogin, OpsError, explain, sdk_failure, sso_fix

EXIT_INTERRUPTED = 130
DEBUG_ENV = "DMSMIG_DEBUG"


@dataclass
class Failure:
    """What to print for an exception, and the exit code."""

    code: int
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()


def _config(err: ConfigError) -> Failure:
    return Failure(EXIT_USAGE, f"invalid {err.source}", None, tuple(err.problems))


def _yaml(err: yaml.YAMLError) -> Failure:
    mark = getattr(err, "problem_mark", None)
    where = f"{mark.name}, line {mark.line + 1}" if mark is not None else "a YAML file"
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return Failure(EXIT_USAGE, f"{where}: not valid YAML ({problem})", "fix the YAML syntax at that line")


def _os(err: OSError) -> Failure:
    name = err.filename or "a file"
    if isinstance(err, IsADirectoryError):
        return Failure(EXIT_USAGE, f"{name} is a directory; a file is expected", "pass the path of a file")
    if isinstance(err, FileNotFoundError):
        return Failure(EXIT_USAGE, f"{name} not found", "check the path (and --project-dir)")
    if isinstance(err, PermissionError):
        return Failure(EXIT_USAGE, f"{name}: permission denied", "check the file's permissions")
    return Failure(EXIT_FAILED, f"{name}: {err.strerror or type(err).__name__}")


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _botocore(err: Exception, profile: str = "default") -> Failure:
    from botocore import exceptions as bce

    if isinstance(err, bce.ProfileNotFound):
        return Failure(
            EXIT_USAGE, f"AWS profile '{err.kwargs.get('profile')}' not found", "use a profile from ~/.aws/config"
        )
    if isinstance(err, bce.NoCredentialsError):
        return Failure(EXIT_USAGE, "no AWS credentials found", "set AWS_PROFILE (or --profile), or run aws sso login")
    if isinstance(err, bce.NoRegionError):
        return Failure(EXIT_USAGE, "no AWS region", "set aws:region in the stack file")
    if isinstance(err, bce.EndpointConnectionError):
        return Failure(
            EXIT_FAILED,
            f"cannot reach the AWS endpoint {err.kwargs.get('endpoint_url')}",
            "check the network, the region in the stack file, and --endpoint-url",
        )
    if isinstance(err, bce.ClientError):
        explained = explain(err, "calling", err.operation_name)
        return Failure(EXIT_FAILED, explained.message, explained.fix)
    known = sdk_failure(err, "calling", "AWS")
    if known is not None:
        fix = sso_fix(profile) if isinstance(known, ExpiredLogin) else known.fix
        return Failure(known.exit_code, known.message.replace("calling AWS: ", ""), fix)
    return Failure(EXIT_FAILED, f"AWS SDK error: {type(err).__name__}: {str(err).splitlines()[0]}")


def _sqlalchemy(err: Exception) -> Failure:
    from sqlalchemy import exc

    # Never print the statement parameters or the URL: either may carry a password.
    first = str(getattr(err, "orig", None) or err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, exc.NoSuchModuleError):
        return Failure(
            EXIT_USAGE,
            "unknown database dialect or driver in the database URL",
            "use e.g. mssql+pymssql://, oracle+oracledb://, postgresql+psycopg://, sqlite:///",
        )
    if isinstance(err, exc.ArgumentError):
        return Failure(
            EXIT_USAGE, "the database URL could not be parsed", "pass --database-url dialect+driver://user@host/db"
        )
    if isinstance(err, exc.OperationalError | exc.ProgrammingError | exc.DatabaseError):
        return Failure(
            EXIT_FAILED,
            f"source database: {type(err).__name__}: {first}",
            "check that the source object exists and the database is reachable with these credentials",
        )
    return Failure(EXIT_FAILED, f"source database: {type(err).__name__}: {first}")


def describe(err: BaseException, argv: list[str] | None = None) -> Failure:
    """The failure to report for ``err``: its family decides the message, fix and exit code. ``argv``
    (the command's own arguments) lets a message name what the command was given, e.g. --profile."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(err, ConfigError):
        return _config(err)
    if isinstance(err, LockHeld):
        return Failure(EXIT_LOCKED, str(err), "wait for it to finish, or take it over with --takeover")
    if isinstance(err, ExpiredLogin):
        profile = err.profile or _option(argv or [], "--profile") or os.environ.get("AWS_PROFILE") or "default"
        return Failure(err.exit_code, f"{err.message} (profile '{profile}')", sso_fix(profile))
    if isinstance(err, OpsError):
        return Failure(err.exit_code, err.message, err.fix)
    if isinstance(err, yaml.YAMLError):
        return _yaml(err)
    if isinstance(err, json.JSONDecodeError):
        return Failure(EXIT_USAGE, f"not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")
    if isinstance(err, UnicodeDecodeError):
        return Failure(EXIT_USAGE, "a file is not UTF-8 text (binary?)", "pass a UTF-8 text file")
    if isinstance(err, OSError):
        return _os(err)
    if isinstance(err, BotoCoreError | ClientError):
        return _botocore(err, _option(argv or [], "--profile") or os.environ.get("AWS_PROFILE") or "default")
    if isinstance(err, SQLAlchemyError):
        return _sqlalchemy(err)
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Failure(EXIT_USAGE, f"{where}: {first['msg']}")
    text = str(err).splitlines()[0] if str(err) else ""
    return Failure(
        EXIT_FAILED,
        f"unexpected error: {type(err).__name__}: {text}",
        f"re-run with {DEBUG_ENV}=1 to see the traceback, and report it",
    )


def report(failure: Failure, console: Console) -> None:
    """Print a failure: ``error:`` line, detail lines, ``fix:`` line; data is never read as markup."""
    console.print(f"error: {redact(failure.message)}", markup=False, highlight=False, soft_wrap=True, style="red")
    for line in failure.details:
        console.print(f"  - {redact(line)}", markup=False, highlight=False, soft_wrap=True)
    if failure.fix:
        console.print(f"  fix: {redact(failure.fix)}", markup=False, highlight=False, soft_wrap=True)


class BoundaryGroup(TyperGroup):
    """The app's command group: any exception a command raises is reported here and becomes its exit code.

    Installed as the typer app's group class, so ``python -m dmsmig`` and in-process invocations
    (tests' CliRunner) go through the same boundary.
    """

    def invoke(self, ctx: click.Context) -> Any:
        # the subcommand's own tokens (click keeps the command name apart; its public name is deprecated)
        argv = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise
        except Exception as err:
            if os.environ.get(DEBUG_ENV):
                raise
            failure = describe(err, argv)
            report(failure, Console(stderr=True, emoji=False))
            raise typer.Exit(failure.code) from None


def printable_everywhere() -> None:
    """Let every character reach a terminal that cannot show it (an ASCII-only locale or PYTHONIOENCODING):
    what it cannot encode prints as '?' instead of ending the command in a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def run(app: Callable[..., Any], argv: list[str] | None = None) -> int:
    """Run the typer ``app`` inside the boundary; return the exit code instead of raising."""
    printable_everywhere()
    console = Console(stderr=True, emoji=False)
    try:
        app(args=argv, prog_name="python -m dmsmig", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_FAILED)
    except KeyboardInterrupt:
        console.print("interrupted", markup=False)
        return EXIT_INTERRUPTED
    except Exception as err:
        if os.environ.get(DEBUG_ENV):
            raise
        failure = describe(err)
        report(failure, console)
        return failure.code
    return 0
