"""The command line: one typer app, one module per command family, and one error boundary.

``python -m dmsmig --help`` lists every command. Command modules add their commands to
:data:`dmsmig.cli.common.app` and never import each other; :func:`main` runs the app inside
:func:`dmsmig.cli.boundary.error_boundary`, so no input ends in a traceback.
"""

from __future__ import annotations

from dmsmig.cli import cutover, data, operate, plan, rehearse, validate  # noqa: F401  (each registers its commands)
from dmsmig.cli.boundary import run
from dmsmig.cli.common import app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: the process arguments); return the exit code."""
    return run(app, argv)
