"""Which program made a record: the package version (pyproject.toml) and, in a git checkout, its commit."""

from __future__ import annotations

import subprocess
import tomllib
from functools import cache
from pathlib import Path

from dmsmig.config.stack import PROJECT_DIR


@cache
def program_version(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """``{"version": ..., "commit": ...}``; the commit says ``+ uncommitted changes`` when the tree differs,
    and is ``unknown`` outside a git checkout."""
    try:
        version = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "unknown"
    return {"version": str(version), "commit": _commit(project_dir)}


def _commit(project_dir: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise OSError(done.stderr.strip())
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + (" + uncommitted changes" if dirty else "")
