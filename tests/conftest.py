"""Shared fixtures: the shipped stacks' raw config and offline builds of them."""

from __future__ import annotations

import copy
from pathlib import Path

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


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str:
    """A real PostgreSQL started for this test session from the pgserver wheel in requirements.txt."""
    try:
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    except Exception as err:  # noqa: BLE001 - any failure to start is a reason to skip, stated
        pytest.skip(f"PostgreSQL (pgserver) could not start on this machine: {type(err).__name__}: {err}")
    yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    server.cleanup()
