"""Gates of the real actions: CDC latency, table errors, the quiesce query."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from dmsmig.cutover.actions import CutoverActions
from dmsmig.cutover.machine import Step
from dmsmig.ops.decisions import TaskProgress
from dmsmig.ops.outputs import OutputsFile, load_outputs
from dmsmig.ops.source_db import connect
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


def _cdc_actions(tmp_path, dynamodb, engine, sentinel):
    raw = raw_migration("sandbox")
    raw["sources"][0]["taskGroups"].append(
        {"name": "live", "mapping": "orders_table", "migrationType": "full-load-and-cdc"}
    )
    raw["cutover"] = {"sentinel": sentinel}
    config = stack_from(raw)
    from dmsmig.offline.mock_engine import run_program

    path = tmp_path / "cdc-outputs.json"
    import json

    path.write_text(json.dumps(run_program(config).outputs))
    from dmsmig.rehearsal.dms_emulator import emulator_for_stack

    outputs = load_outputs(OutputsFile(path))
    dms = emulator_for_stack(outputs.model_dump(by_alias=True), **{"sandbox-ordersvc-orders-live-p1": "running"})
    actions = CutoverActions(
        config=config,
        outputs=outputs,
        clients=type("Clients", (), {"dynamodb": dynamodb, "dms": dms})(),
        driver=None,
        validate=lambda: {"ok": True, "groups": {}},
        source_engines=lambda: {"orders": engine},
    )
    return actions


SENTINEL = {
    "source": "orders",
    "insertSql": "INSERT INTO OrderEvents (AggregateId, EventTimestamp) VALUES ('sentinel', :token)",
    "deleteSql": "DELETE FROM OrderEvents WHERE AggregateId = 'sentinel' AND EventTimestamp = :token",
    "key": {"PK": "agg#sentinel", "SK": "evt#{token}"},
    "timeoutSeconds": 30,
}


@pytest.fixture
def cdc_world(tmp_path, monkeypatch):
    import boto3
    from moto import mock_aws

    from tests.ops_fixtures import create_event_table

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_event_table(dynamodb, "order-events-sandbox")
        engine = connect(f"sqlite:///{tmp_path / 'src.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE OrderEvents (AggregateId TEXT, EventTimestamp TEXT)"))
        yield dynamodb, engine


def test_sentinel_written_at_the_source_and_seen_in_dynamodb_passes(tmp_path, cdc_world):
    dynamodb, engine = cdc_world
    actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)

    def cdc_delivers(_seconds):  # stands in for DMS applying the captured insert
        with engine.connect() as conn:
            token = conn.execute(text("SELECT EventTimestamp FROM OrderEvents")).scalar()
        dynamodb.put_item(
            TableName="order-events-sandbox", Item={"PK": {"S": "agg#sentinel"}, "SK": {"S": f"evt#{token}"}}
        )

    actions.sleep = cdc_delivers
    gate = actions.gate(Step.DRAINED)
    assert gate.ok, gate
    assert "seen in DynamoDB" in gate.evidence[0]


def test_sentinel_that_never_arrives_fails_the_gate_after_its_timeout(tmp_path, cdc_world):
    dynamodb, engine = cdc_world
    actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)
    now = [0.0]
    actions.clock = lambda: now[0]
    actions.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
    gate = actions.gate(Step.DRAINED)
    assert not gate.ok and "within 30s" in gate.reason
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM OrderEvents")).scalar() == 1  # one marker per run


def test_full_load_only_stacks_pass_the_drain_step_without_a_sentinel(tmp_path):
    gate = _actions(tmp_path).gate(Step.DRAINED)
    assert gate.ok and gate.evidence == ["no CDC tasks: the full loads are the whole copy"]


def test_sentinel_config_is_checked():
    from dmsmig.config.stack import ConfigError

    raw = raw_migration("sandbox")
    raw["cutover"] = {"sentinel": {**SENTINEL, "insertSql": "INSERT INTO t VALUES (1)"}}
    with pytest.raises(ConfigError, match="cutover.sentinel.insertSql: must use the :token parameter"):
        stack_from(raw)
    raw["cutover"] = {"sentinel": {**SENTINEL, "key": {"PK": "x"}}}
    with pytest.raises(
        ConfigError, match=r"cutover.sentinel.key: must name exactly the table key attributes \['PK', 'SK'\]"
    ):
        stack_from(raw)


def test_a_retried_drain_gate_waits_for_the_same_sentinel_instead_of_writing_another(tmp_path, cdc_world):
    from dmsmig.cutover.machine import Memo

    dynamodb, engine = cdc_world
    actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)
    now = [0.0]
    actions.clock = lambda: now[0]
    actions.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
    saved = []
    memo = Memo({}, checkpoint=lambda: saved.append(dict(memo.data)))
    assert not actions.gate(Step.DRAINED, memo).ok  # timed out
    token = memo.data["sentinelToken"]
    assert saved and saved[0]["sentinelToken"] == token  # recorded before waiting
    assert not actions.gate(Step.DRAINED, memo).ok  # the retry of the same attempt
    with engine.connect() as conn:
        assert conn.execute(text("SELECT EventTimestamp FROM OrderEvents")).scalars().all() == [token]


def test_a_dry_run_of_the_drain_gate_writes_no_sentinel_and_does_not_wait(tmp_path, cdc_world):
    dynamodb, engine = cdc_world
    actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)
    actions.dry_run = True
    actions.sleep = lambda seconds: pytest.fail(f"slept {seconds}s")
    actions._tasks = lambda: []
    gate = actions.gate(Step.DRAINED)
    assert gate.ok and "would write one sentinel row at source orders" in gate.evidence[0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM OrderEvents")).scalar() == 0


def test_finish_removes_the_sentinel_row_at_the_source_and_its_item(tmp_path, cdc_world):
    from dmsmig.cutover.machine import CutoverState, Memo
    from dmsmig.rehearsal.dms_emulator import emulator_for_stack

    dynamodb, engine = cdc_world
    actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)

    def cdc_delivers(_seconds):
        with engine.connect() as conn:
            token = conn.execute(text("SELECT EventTimestamp FROM OrderEvents")).scalar()
        dynamodb.put_item(
            TableName="order-events-sandbox", Item={"PK": {"S": "agg#sentinel"}, "SK": {"S": f"evt#{token}"}}
        )

    actions.sleep = cdc_delivers
    state = CutoverState("sandbox", "f")
    assert actions.gate(Step.DRAINED, Memo(state.record(Step.DRAINED).data)).ok
    token = state.record(Step.DRAINED).data["sentinelToken"]
    dms = emulator_for_stack(actions.outputs.model_dump(by_alias=True))
    actions.clients = type("Clients", (), {"dynamodb": dynamodb, "dms": dms})()
    lines = actions.apply_effect(Step.FINISH, state)
    assert any(f"sentinel {token}: 1 row(s) deleted at source orders" in line for line in lines)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM OrderEvents")).scalar() == 0
    key = {"PK": {"S": "agg#sentinel"}, "SK": {"S": f"evt#{token}"}}
    assert "Item" not in dynamodb.get_item(TableName="order-events-sandbox", Key=key)


def test_a_stopped_cdc_task_fails_preconditions_naming_it_even_with_old_latency_figures(tmp_path):
    stopped = _task(status="stopped", cdc_latency_source=1.0, cdc_latency_target=1.0)
    gate = _actions(tmp_path, [stopped]).gate(Step.PRECONDITIONS)
    assert not gate.ok and "t1 is stopped: its CDC is not running" in gate.reason


def test_the_monitor_window_counts_down_each_time_it_looks(tmp_path):
    now = [0.0]
    said: list[str] = []
    actions = _actions(tmp_path)
    actions.clock, actions.sleep = (lambda: now[0]), (lambda s: now.__setitem__(0, now[0] + s))
    actions.poll_seconds, actions.monitor_seconds, actions.waiting = 10, 25, said.append
    actions._alarms_in_alarm = lambda: []  # CloudWatch is covered by the Stubber tests
    actions._task_samples = lambda: {"tasks": []}
    gate = actions.gate(Step.MONITOR)
    assert gate.ok and gate.evidence == [f"{len(actions.outputs.alarm_names)} alarms quiet for 25 s (4 checks)"]
    assert [line.rsplit("; ", 1)[1] for line in said] == [
        "25s of 25s left",
        "15s of 25s left",
        "5s of 25s left",
        "0s of 25s left",
    ]


def _fail_back_actions(tmp_path, **states):
    """The sandbox with a CDC group kept running for fail-back, its tasks in ``states`` as DMS reports them."""
    from dmsmig.rehearsal.dms_emulator import emulator_for_stack

    raw = raw_migration("sandbox")
    raw["sources"][0]["taskGroups"].append(
        {"name": "live", "mapping": "orders_table", "migrationType": "full-load-and-cdc"}
    )
    raw["cutover"] = {"keepCdcRunning": True}
    actions = _cdc_actions(tmp_path, None, None, None)
    actions.config = stack_from(raw)
    dms = emulator_for_stack(actions.outputs.model_dump(by_alias=True), **states)
    actions.clients = type("Clients", (), {"dms": dms})()
    return actions


def test_the_finish_gate_says_a_kept_cdc_task_runs_only_when_dms_reports_it_running(tmp_path):
    live = "sandbox-ordersvc-orders-live-p1"
    running = _fail_back_actions(tmp_path, **{live: "running"}).gate(Step.FINISH)
    assert running.ok and f"{live}: running now (DMS), kept for fail-back" in running.evidence
    assert "tasks to stop: 0 of 4 running now (DMS)" in running.evidence[0]


def test_the_finish_gate_fails_naming_a_kept_cdc_task_dms_reports_failed(tmp_path):
    live = "sandbox-ordersvc-orders-live-p1"
    actions = _fail_back_actions(tmp_path, **{live: "failed", "p1": "running"})
    gate = actions.gate(Step.FINISH)
    assert not gate.ok and f"{live} is failed" in gate.reason and "python -m dmsmig rollback" in gate.reason
    assert not any("kept for fail-back" in line and "running" in line for line in gate.evidence)
    assert "tasks to stop: 1 of 4 running now (DMS): sandbox-ordersvc-orders-events-p1" == gate.evidence[0]


def _monitor(actions, on_check):
    """Run the monitor window on a fake clock, calling ``on_check(n)`` as each wait ends."""
    now, checks = [0.0], [0]

    def sleep(seconds):
        now[0] += seconds
        checks[0] += 1
        on_check(checks[0])

    actions.clock, actions.sleep = (lambda: now[0]), sleep
    actions.poll_seconds, actions.monitor_seconds, actions.waiting = 10, 60, lambda line: None
    actions._task_samples = lambda: {"tasks": []}
    return actions.gate(Step.MONITOR)


def test_an_alarm_that_fires_after_the_monitor_window_started_stops_it(tmp_path):
    actions = _actions(tmp_path)
    firing: list[str] = []
    actions._alarms_in_alarm = lambda: list(firing)
    gate = _monitor(actions, lambda n: firing.append("sandbox-ordersvc-orders-events-p2-failed") if n == 3 else None)
    assert not gate.ok and gate.evidence == ["check 4: 1 alarm(s) in ALARM"]
    assert "sandbox-ordersvc-orders-events-p2-failed" in gate.reason


def test_a_cdc_task_dms_reports_failed_during_the_monitor_window_stops_it_even_without_an_alarm(tmp_path):
    live = "sandbox-ordersvc-orders-live-p1"
    actions = _fail_back_actions(tmp_path, **{live: "running"})
    actions._alarms_in_alarm = lambda: []  # the failure event has not reached its alarm yet

    def fail_the_task(n):
        if n == 2:
            task = next(t for t in actions.clients.dms.tasks.values() if t.identifier == live)
            task.status, task.failure = "failed", "replication slot gone"

    gate = _monitor(actions, fail_the_task)
    assert not gate.ok and f"DMS reports {live} is failed" in gate.evidence[0]
    assert "the fail-back path is gone" in gate.reason


def test_a_kept_cdc_task_stopped_by_hand_before_the_finish_step_fails_it(tmp_path):
    live = "sandbox-ordersvc-orders-live-p1"
    gate = _fail_back_actions(tmp_path, **{live: "stopped"}).gate(Step.FINISH)
    assert not gate.ok and f"{live} is stopped" in gate.reason


def test_a_final_validation_that_fails_names_a_cdc_task_dms_reports_failed(tmp_path):
    live = "sandbox-ordersvc-orders-live-p1"
    actions = _fail_back_actions(tmp_path, **{live: "failed"})
    report = {
        "ok": False,
        "groups": {"orders/live": [{"task": live, "sourceRows": 10, "targetItems": 9, "verdict": "MISSING 1"}]},
    }
    actions.validate = lambda: report
    gate = actions.gate(Step.VALIDATION)
    assert not gate.ok and gate.reason.startswith("1 partition(s) do not match; DMS reports")
    assert f"{live} is failed" in gate.reason


def test_the_drain_gate_stops_waiting_when_dms_reports_the_cdc_task_failed(tmp_path, cdc_world):
    dynamodb, engine = cdc_world
    actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)
    live = next(t for t in actions.clients.dms.tasks.values() if t.identifier == "sandbox-ordersvc-orders-live-p1")
    live.status, live.failure = "failed", "replication slot dmsmig_x of task sandbox-ordersvc-orders-live-p1 is gone"
    actions.sleep = lambda seconds: pytest.fail(f"waited {seconds}s for a sentinel that cannot arrive")
    gate = actions.gate(Step.DRAINED)
    assert not gate.ok and "DMS reports sandbox-ordersvc-orders-live-p1 is failed" in gate.reason
    assert "replication slot dmsmig_x" in gate.reason and "its changes are not all applied" in gate.reason
