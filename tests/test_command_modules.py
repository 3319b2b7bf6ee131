"""Commands parse, call and print: every rule about a task's state lives below the CLI (ops/decisions.py),
and every DMS call that changes a task goes through the operations layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dmsmig.config.stack import PROJECT_DIR
from dmsmig.contract import facts

# Every status DescribeReplicationTasks reports (DMS User Guide, "Task status"), and the ones the
# call-state table names.
TASK_STATES = {
    "creating",
    "running",
    "stopped",
    "stopping",
    "deleting",
    "failed",
    "starting",
    "ready",
    "modifying",
    "moving",
    "failed-move",
    "testing",
} | {state for states in facts.TASK_CALL_STATES.values() for state in states}
MUTATIONS = {
    # boto3 DMS client calls that change a task or Serverless replication
    "start_replication_task",
    "stop_replication_task",
    "modify_replication_task",
    "delete_replication_task",
    "reload_tables",
    "start_replication",
    "stop_replication",
    "modify_replication_config",
    "delete_replication_config",
    "reload_replication_tables",
    # the per-task calls of dmsmig.ops.dms: commands go through the functions that decide first
    "stop_task",
    "apply_start",
    "reload_table",
}
COMMANDS = sorted((PROJECT_DIR / "dmsmig" / "cli").glob("*.py"))


def spelled_states(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"line {n.lineno}: {n.value!r}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in TASK_STATES
    ]


def direct_mutations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"line {n.lineno}: {n.func.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in MUTATIONS
    ]


@pytest.mark.parametrize("path", COMMANDS, ids=[p.name for p in COMMANDS])
def test_no_command_module_spells_a_task_state(path):
    assert spelled_states(path) == []


@pytest.mark.parametrize("path", COMMANDS, ids=[p.name for p in COMMANDS])
def test_no_command_module_calls_a_dms_mutation_directly(path):
    assert direct_mutations(path) == []


def test_the_checks_find_what_they_look_for(tmp_path):
    planted = tmp_path / "cmd.py"
    planted.write_text(
        "def stop(ops, t, was):\n"
        "    if was in ('running', 'starting'):\n"
        "        ops.clients.dms.stop_replication_task(ReplicationTaskArn=t)\n"
        "        dms_ops.stop_task(ops.clients.dms, t)\n"
    )
    assert spelled_states(planted) == ["line 2: 'running'", "line 2: 'starting'"]
    assert direct_mutations(planted) == ["line 3: stop_replication_task", "line 4: stop_task"]
