"""Shared fixtures: the shipped stacks' raw config and offline builds of them."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import yaml

from dmsmig.config.stack import PROJECT_DIR, StackConfig, parse_migration
from dmsmig.offline.mock_engine import ProgramRun, run_program

SHIPPED_STACKS = ("sandbox", "prod")


def raw_stack(stack: str) -> dict:
    """The ``config:`` map of a shipped stack file."""
    with (PROJECT_DIR / f"Pulumi.{stack}.yaml").open() as handle:
        return yaml.safe_load(handle)["config"]


def raw_migration(stack: str = "sandbox") -> dict:
    """A fresh copy of a shipped stack's migration object, to mutate in tests."""
    return copy.deepcopy(raw_stack(stack)["dms-migration:migration"])


def stack_from(raw: dict, region: str = "eu-west-1") -> StackConfig:
    return parse_migration(raw, region)


_BUILDS: dict[str, ProgramRun] = {}


def built(stack: str) -> ProgramRun:
    """Offline build of a shipped stack (cached: the program is deterministic)."""
    if stack not in _BUILDS:
        from dmsmig.config.stack import load_stack_config

        _BUILDS[stack] = run_program(load_stack_config(stack), stack_name=stack)
    return _BUILDS[stack]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A temporary project dir with Pulumi.yaml, for stack files written by a test."""
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    return tmp_path


def postgres_unavailable(reason: str) -> NoReturn:
    """A test that needs PostgreSQL and cannot have it: a failure in CI (``CI`` set), a stated skip elsewhere."""
    message = f"PostgreSQL (pgserver) could not start: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run every test: fix the machine, not the test)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> Iterator[str]:
    """The suite's one PostgreSQL, started once from the pgserver wheel in requirements.txt, with
    logical decoding on (the CDC tests use it too)."""
    from dmsmig.rehearsal.source import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pgdata") / "pgdata")
    try:
        url = server.start(logical=True)
    except Exception as err:  # noqa: BLE001 - any failure to start is stated
        postgres_unavailable(f"{type(err).__name__}: {err}")
    yield url
    server.stop()
