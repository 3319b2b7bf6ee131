"""start / resume / stop / status / watch / reload-tables against DMS under botocore's Stubber.

Stubber checks every call and its parameters against the real DMS API model, so a wrong
start type or a misspelt parameter fails here.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.ops import context as ops_context
from tests.ops_fixtures import (
    clients_with,
    describe_params,
    describe_response,
    outputs_file,
    stubbed_dms,
    task_arns,
    task_description,
)

runner = CliRunner()


@pytest.fixture
def dms(monkeypatch):
    client, stubber = stubbed_dms()
    monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients_with(dms=client))
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def _run(tmp_path, *args):
    return runner.invoke(app, [*args, "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--json"])


def _watch_p1(tmp_path, *extra):
    args = [
        "watch",
        "--stack",
        "sandbox",
        "--outputs-file",
        str(outputs_file(tmp_path)),
        "--task",
        "p1",
        "--interval",
        "0",
    ]
    return runner.invoke(app, [*args, *extra])


def _start_response(arn, status="starting"):
    return {"ReplicationTask": task_description(arn, status)}


def test_start_uses_start_replication_for_new_and_resume_for_stopped_and_skips_running(dms, tmp_path):
    arns = task_arns()
    dms.add_response(
        "describe_replication_tasks",
        describe_response(
            [
                task_description(arns[0], "ready"),
                task_description(arns[1], "stopped", started=True),
                task_description(arns[2], "running", started=True),
                task_description(arns[3], "failed", started=True, LastFailureMessage="Last Error ODBC timeout"),
            ]
        ),
        describe_params(arns),
    )
    dms.add_response(
        "start_replication_task",
        _start_response(arns[0]),
        {"ReplicationTaskArn": arns[0], "StartReplicationTaskType": "start-replication"},
    )
    dms.add_response(
        "start_replication_task",
        _start_response(arns[1]),
        {"ReplicationTaskArn": arns[1], "StartReplicationTaskType": "resume-processing"},
    )
    dms.add_response(
        "start_replication_task",
        _start_response(arns[3]),
        {"ReplicationTaskArn": arns[3], "StartReplicationTaskType": "resume-processing"},
    )
    result = _run(tmp_path, "start")
    assert result.exit_code == 0, result.output
    actions = [(r["was"], r["action"], r["status"]) for r in json.loads(result.output)]
    assert actions == [
        ("ready", "start-replication", "starting"),
        ("stopped", "resume-processing", "starting"),
        ("running", "already-running", "running"),
        ("failed", "resume-processing", "starting"),
    ]


def test_start_is_idempotent_when_everything_runs(dms, tmp_path):
    arns = task_arns()
    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(a, "running", started=True) for a in arns]),
        describe_params(arns),
    )
    result = _run(tmp_path, "start")
    assert result.exit_code == 0
    assert {r["action"] for r in json.loads(result.output)} == {"already-running"}


def test_start_of_named_partitions_and_max_running(dms, tmp_path):
    arns = task_arns()
    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(arns[1], "ready"), task_description(arns[2], "ready")]),
        describe_params([arns[1], arns[2]]),
    )
    dms.add_response(
        "start_replication_task",
        _start_response(arns[1]),
        {"ReplicationTaskArn": arns[1], "StartReplicationTaskType": "start-replication"},
    )
    result = _run(tmp_path, "start", "--task", "p2", "--task", "p3", "--max-running", "1")
    assert [r["action"] for r in json.loads(result.output)] == ["start-replication", "queued"]


def test_reload_target_needs_confirmation(dms, tmp_path):
    arns = task_arns()
    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(arns[0], "stopped", started=True)]),
        describe_params([arns[0]]),
    )
    result = runner.invoke(
        app,
        [
            "start",
            "--stack",
            "sandbox",
            "--outputs-file",
            str(outputs_file(tmp_path)),
            "--task",
            "p1",
            "--reload-target",
        ],
        input="n\n",
    )
    assert result.exit_code == 1 and "reloads every table" in result.output


def test_throttling_is_retried_then_succeeds(dms, tmp_path):
    arns = task_arns()
    for _ in range(2):
        dms.add_client_error("describe_replication_tasks", "ThrottlingException", "Rate exceeded", 400)
    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(a, "running", started=True) for a in arns]),
        describe_params(arns),
    )
    assert _run(tmp_path, "start").exit_code == 0


def test_throttling_that_never_ends_is_bounded_and_explained(dms, tmp_path):
    for _ in range(6):
        dms.add_client_error("describe_replication_tasks", "ThrottlingException", "Rate exceeded", 400)
    result = _run(tmp_path, "start")
    assert result.exit_code == 1
    assert "still throttled after retries" in result.output


def test_access_denied_names_the_permission(dms, tmp_path):
    dms.add_client_error(
        "describe_replication_tasks",
        "AccessDeniedFault",
        "User: arn:aws:sts::1:assumed-role/ops is not authorized to perform: dms:DescribeReplicationTasks",
    )
    result = _run(tmp_path, "status")
    assert result.exit_code == 1
    assert "access denied for DescribeReplicationTasks" in result.output
    assert "grant the operator role the permission for DescribeReplicationTasks" in result.output


def _stats(arn, rows, state="Table completed", errors=0):
    return {
        "ReplicationTaskArn": arn,
        "TableStatistics": [
            {
                "SchemaName": "dbo",
                "TableName": "vw_Dynamodbmigration",
                "FullLoadRows": rows,
                "TableState": state,
                "FullLoadErrorRows": errors,
            }
        ],
    }


def test_status_reports_progress_rows_failures_and_table_errors(dms, tmp_path):
    arns = task_arns()
    dms.add_response(
        "describe_replication_tasks",
        describe_response(
            [
                task_description(
                    arns[0],
                    "stopped",
                    started=True,
                    StopReason="Stop Reason FULL_LOAD_ONLY_FINISHED",
                    ReplicationTaskStats={"FullLoadProgressPercent": 100, "TablesLoaded": 1},
                ),
                task_description(
                    arns[1],
                    "running",
                    started=True,
                    ReplicationTaskStats={"FullLoadProgressPercent": 40, "TablesLoading": 1},
                ),
                task_description(
                    arns[2],
                    "running",
                    started=True,
                    ReplicationTaskStats={"FullLoadProgressPercent": 10, "TablesErrored": 1},
                ),
                task_description(arns[3], "failed", started=True, LastFailureMessage="Last Error Connection timeout"),
            ]
        ),
        describe_params(arns),
    )
    dms.add_response("describe_table_statistics", _stats(arns[0], 100_000_000), {"ReplicationTaskArn": arns[0]})
    dms.add_response(
        "describe_table_statistics",
        _stats(arns[1], 40_000_000, "Table is being loaded"),
        {"ReplicationTaskArn": arns[1]},
    )
    dms.add_response("describe_table_statistics", _stats(arns[2], 7, "Table error", 3), {"ReplicationTaskArn": arns[2]})
    dms.add_response("describe_table_statistics", _stats(arns[3], 0, "Before load"), {"ReplicationTaskArn": arns[3]})
    result = _run(tmp_path, "status")
    assert result.exit_code == 0, result.output
    rows = {r["task_id"].rsplit("-", 1)[-1]: r for r in json.loads(result.output)}
    assert rows["p1"]["rows_loaded"] == 100_000_000 and rows["p1"]["progress_percent"] == 100
    assert rows["p3"]["errored_tables"] == ["dbo.vw_Dynamodbmigration"] and rows["p3"]["error_rows"] == 3
    assert rows["p4"]["last_failure"] == "Last Error Connection timeout"


def test_watch_exits_nonzero_when_a_task_fails(dms, tmp_path):
    arns = task_arns()[:1]
    for status, extra in (
        ("running", {"ReplicationTaskStats": {"FullLoadProgressPercent": 30, "TablesLoading": 1}}),
        ("failed", {"LastFailureMessage": "Last Error disk full"}),
    ):
        dms.add_response(
            "describe_replication_tasks",
            describe_response([task_description(arns[0], status, started=True, **extra)]),
            describe_params(arns),
        )
        dms.add_response("describe_table_statistics", _stats(arns[0], 10), {"ReplicationTaskArn": arns[0]})
    result = _watch_p1(tmp_path)
    assert result.exit_code == 1
    assert "failed" in result.output


def test_watch_exits_zero_when_every_load_finished(dms, tmp_path):
    arns = task_arns()[:1]
    done = task_description(
        arns[0],
        "stopped",
        started=True,
        StopReason="FULL_LOAD_ONLY_FINISHED",
        ReplicationTaskStats={"FullLoadProgressPercent": 100, "TablesLoaded": 1},
    )
    dms.add_response("describe_replication_tasks", describe_response([done]), describe_params(arns))
    dms.add_response("describe_table_statistics", _stats(arns[0], 10), {"ReplicationTaskArn": arns[0]})
    result = _watch_p1(tmp_path)
    assert result.exit_code == 0, result.output


def test_stop_stops_only_running_tasks_and_resume_never_starts_new_ones(dms, tmp_path):
    arns = task_arns()[:2]
    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(arns[0], "running", started=True), task_description(arns[1], "ready")]),
        describe_params(arns),
    )
    dms.add_response(
        "stop_replication_task",
        {"ReplicationTask": task_description(arns[0], "stopping")},
        {"ReplicationTaskArn": arns[0]},
    )
    stopped = _run(tmp_path, "stop", "--task", "p1", "--task", "p2")
    assert [r["status"] for r in json.loads(stopped.output)] == ["stopping", "ready"]

    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(arns[0], "stopped", started=True), task_description(arns[1], "ready")]),
        describe_params(arns),
    )
    dms.add_response(
        "start_replication_task",
        _start_response(arns[0]),
        {"ReplicationTaskArn": arns[0], "StartReplicationTaskType": "resume-processing"},
    )
    resumed = _run(tmp_path, "resume", "--task", "p1", "--task", "p2")
    assert [r["action"] for r in json.loads(resumed.output)] == ["resume-processing", "not-startable"]


def test_reload_tables_reloads_one_table(dms, tmp_path):
    arn = task_arns()[2]
    dms.add_response(
        "describe_replication_tasks",
        describe_response([task_description(arn, "running", started=True)]),
        describe_params([arn]),
    )
    dms.add_response(
        "reload_tables",
        {"ReplicationTaskArn": arn},
        {
            "ReplicationTaskArn": arn,
            "TablesToReload": [{"SchemaName": "dbo", "TableName": "vw_Dynamodbmigration"}],
            "ReloadOption": "data-reload",
        },
    )
    result = runner.invoke(
        app,
        [
            "reload-tables",
            "--stack",
            "sandbox",
            "--outputs-file",
            str(outputs_file(tmp_path)),
            "--task",
            "sandbox-ordersvc-orders-events-p3",
            "--table",
            "dbo.vw_Dynamodbmigration",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "reload requested: dbo.vw_Dynamodbmigration" in result.output


def test_missing_outputs_are_named(tmp_path, monkeypatch):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"tableName": "t"}))
    result = runner.invoke(app, ["status", "--stack", "sandbox", "--outputs-file", str(path)])
    assert result.exit_code == 2
    assert "missing or malformed" in result.output and "taskGroups" in result.output


def test_unknown_task_is_named(dms, tmp_path):
    result = _run(tmp_path, "status", "--task", "p9")
    assert result.exit_code == 2 and "no task 'p9'" in result.output


def test_watch_times_out_with_exit_3_while_loads_still_run(dms, tmp_path):
    arns = task_arns()[:1]
    running = task_description(
        arns[0], "running", started=True, ReplicationTaskStats={"FullLoadProgressPercent": 40, "TablesLoading": 1}
    )
    dms.add_response("describe_replication_tasks", describe_response([running]), describe_params(arns))
    dms.add_response(
        "describe_table_statistics", _stats(arns[0], 10, "Table is being loaded"), {"ReplicationTaskArn": arns[0]}
    )
    result = _watch_p1(tmp_path, "--timeout", "0")
    assert result.exit_code == 3
    assert "timed out" in result.output
