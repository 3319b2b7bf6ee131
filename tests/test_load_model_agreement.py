"""plan and the policy pack run one load model, so they give one verdict on the same stack."""

from __future__ import annotations

import ast
from pathlib import Path

from dmsmig.config.stack import PROJECT_DIR
from dmsmig.model.throughput import load_plan
from dmsmig.offline import policy_check as pc
from dmsmig.offline.mock_engine import run_program
from tests.conftest import raw_migration, stack_from


def _pack_throughput_messages(config) -> list[str]:
    run = run_program(config)
    violations = pc.evaluate(run, pc.load_pack_config(pc.pack_config_path("prod")), config.migration.all_tags())
    return [v.message for v in violations if v.policy == "writes-within-table-throughput"]


def test_the_pack_and_plan_agree_on_a_stack_whose_tasks_outrun_the_table():
    raw = raw_migration("prod")
    raw["target"]["warmThroughput"] = {"writeUnitsPerSecond": 15000}
    config = stack_from(raw)
    plan = load_plan(config.migration)
    assert plan.writes_faster_than_table
    assert round(plan.task_write_units_per_second) == 22000  # 4 x 25 threads x 2 units + 2 x 10 x 1, x 100/s
    [message] = _pack_throughput_messages(config)
    [note] = [n for n in plan.notes if n.startswith("the tasks can send")]
    assert note in message and "22,000 write units/s but the table accepts 15,000" in message
    assert "order-events-prod (pre-warmed, 6 task(s) writing it)" in message


def test_the_pack_and_plan_agree_on_a_stack_within_the_tables_throughput():
    config = stack_from(raw_migration("prod"))
    assert not load_plan(config.migration).writes_faster_than_table
    assert _pack_throughput_messages(config) == []


def test_the_load_model_needs_only_the_standard_library_so_the_packs_own_environment_imports_it():
    tree = ast.parse((PROJECT_DIR / "dmsmig" / "model" / "load.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "math", "collections", "dataclasses"}, imported
    requirements = (PROJECT_DIR / "policies" / "requirements.txt").read_text().split("\n")
    assert ".." in requirements  # the pack installs this repository's package


def test_the_pack_reads_the_load_model_from_the_package_not_a_copy():
    rules = Path(PROJECT_DIR / "policies" / "dms_guardrails" / "rules.py").read_text()
    assert "from dmsmig.model import load" in rules
    assert "WRITES_PER_THREAD" not in rules and "ON_DEMAND_INITIAL_WRITE_UNITS" not in rules
