"""Gates of the real actions: CDC latency, table errors, the quiesce query."""

from __future__ import annotations

from sqlalchemy import text

from dmsmig.cutover.actions import CutoverActions
from dmsmig.cutover.machine import Step
from dmsmig.ops.decisions import TaskProgress
from dmsmig.ops.outputs import OutputsFile, load_outputs
from dmsmig.source_db import connect
from tests.conftest import raw_migration, stack_from
from tests.ops_fixtures import outputs_file


def _actions(tmp_path, progress=None, **changes):
    raw = raw_migration("sandbox")
    raw.setdefault("cutover", {}).update(changes)
    actions = CutoverActions(
        config=stack_from(raw),
        outputs=load_outputs(OutputsFile(outputs_file(tmp_path))),
        clients=None,
        driver=None,
        validate=lambda: {"ok": True, "groups": {}},
    )
    if progress is not None:
        actions._tasks = lambda: progress  # the DMS side is covered by the Stubber tests
    return actions


def _task(**kw):
    return TaskProgress(
        **{"task_id": "t1", "status": "running", "migration_type": "full-load-and-cdc", "tables_loaded": 1, **kw}
    )


def test_cdc_task_passes_only_below_the_latency_limit(tmp_path):
    ok = _actions(tmp_path, [_task(cdc_latency_source=5.0, cdc_latency_target=12.0)], cdcLatencyMaxSeconds=30)
    assert ok.gate(Step.PRECONDITIONS).ok
    slow = _actions(tmp_path, [_task(cdc_latency_source=5.0, cdc_latency_target=95.0)], cdcLatencyMaxSeconds=30)
    gate = slow.gate(Step.PRECONDITIONS)
    assert not gate.ok and "is not below 30s" in gate.reason
    unknown = _actions(tmp_path, [_task()], cdcLatencyMaxSeconds=30)
    assert not unknown.gate(Step.PRECONDITIONS).ok  # no latency data is not evidence


def test_table_errors_fail_preconditions_even_when_running(tmp_path):
    gate = _actions(
        tmp_path, [_task(tables_errored=1, errored_tables=["dbo.v"], cdc_latency_source=1, cdc_latency_target=1)]
    ).gate(Step.PRECONDITIONS)
    assert not gate.ok and "dbo.v" in gate.reason


def test_quiesce_needs_confirmation_or_a_zero_from_the_check_query(tmp_path):
    assert "--confirm-quiesced" in _actions(tmp_path).gate(Step.QUIESCED).reason
    engine = connect(f"sqlite:///{tmp_path / 'src.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE writes (n INTEGER)"))
        conn.execute(text("INSERT INTO writes VALUES (3)"))
    actions = _actions(tmp_path, quiesceCheckSql="SELECT n FROM writes")
    actions.source_engines = lambda: {"orders": engine}
    gate = actions.gate(Step.QUIESCED)
    assert not gate.ok and "orders still receives writes (3)" in gate.reason
    with engine.begin() as conn:
        conn.execute(text("UPDATE writes SET n = 0"))
    assert actions.gate(Step.QUIESCED).ok
