"""Operator commands against the stateful DMS fake: every call is legal in the task's state."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.ops import context as ops_context
from dmsmig.rehearsal.dms_emulator import EmulatedDms, emulator_for_stack
from tests.conftest import built
from tests.ops_fixtures import clients_with, outputs_file

runner = CliRunner()


def _use(monkeypatch, fake: EmulatedDms) -> EmulatedDms:
    monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients_with(dms=fake))
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    return fake


def _run(tmp_path, *args):
    return runner.invoke(app, [*args, "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path))])


def _task(fake: EmulatedDms, partition: str):
    return next(t for t in fake.tasks.values() if t.identifier.endswith(f"-{partition}"))


def test_reload_tables_reloads_while_the_task_runs(monkeypatch, tmp_path):
    fake = _use(monkeypatch, emulator_for_stack(built("sandbox").outputs, p3="running"))
    result = _run(tmp_path, "reload-tables", "--task", "p3", "--table", "dbo.vw_Dynamodbmigration")
    assert result.exit_code == 0, result.output
    assert "reload requested: dbo.vw_Dynamodbmigration in sandbox-ordersvc-orders-events-p3" in result.output
    assert _task(fake, "p3").reloads == [{"SchemaName": "dbo", "TableName": "vw_Dynamodbmigration"}]


def test_reload_tables_on_a_stopped_full_load_task_names_the_documented_paths(monkeypatch, tmp_path):
    fake = _use(monkeypatch, emulator_for_stack(built("sandbox").outputs, p3="stopped"))
    result = _run(tmp_path, "reload-tables", "--task", "p3", "--table", "dbo.vw_Dynamodbmigration")
    assert result.exit_code == 1
    assert "DMS reloads tables only in a running task" in result.output
    assert "resume-processing" in result.output and "--reload-target" in result.output
    assert _task(fake, "p3").reloads == []


def test_reload_tables_on_a_never_started_task_says_start_it(monkeypatch, tmp_path):
    _use(monkeypatch, emulator_for_stack(built("sandbox").outputs))
    result = _run(tmp_path, "reload-tables", "--task", "p1", "--table", "dbo.vw_Dynamodbmigration")
    assert result.exit_code == 1 and "has never run" in result.output and "fix: start it" in result.output


def test_the_fake_refuses_reload_tables_outside_running_as_dms_does():
    fake = emulator_for_stack(built("sandbox").outputs, p1="stopped")
    arn = _task(fake, "p1").arn
    with pytest.raises(Exception, match="InvalidResourceStateFault"):
        fake.reload_tables(
            ReplicationTaskArn=arn, TablesToReload=[{"SchemaName": "dbo", "TableName": "t"}], ReloadOption="data-reload"
        )


def test_a_whole_load_start_watch_stop_resume_uses_only_legal_calls(monkeypatch, tmp_path):
    fake = _use(monkeypatch, emulator_for_stack(built("sandbox").outputs))
    started = _run(tmp_path, "start", "--max-running", "2", "--json")
    assert started.exit_code == 0, started.output
    assert [r["action"] for r in json.loads(started.output)] == [
        "start-replication",
        "start-replication",
        "queued",
        "queued",
    ]
    fake.tick()  # starting -> running
    stopped = _run(tmp_path, "stop", "--task", "p1", "--json")
    assert [r["status"] for r in json.loads(stopped.output)] == ["stopping"]
    fake.tick()  # p1 stopped; p2 half loaded
    again = _run(tmp_path, "start", "--json")
    actions = {r["task"].rsplit("-", 1)[-1]: r["action"] for r in json.loads(again.output)}
    assert actions == {
        "p1": "resume-processing",
        "p2": "already-running",
        "p3": "start-replication",
        "p4": "start-replication",
    }
    for _ in range(3):
        fake.tick()
    watched = _run(tmp_path, "watch", "--interval", "0", "--timeout", "5")
    assert watched.exit_code == 0, watched.output
    assert [t.calls for t in fake.tasks.values()] == [
        ["start-replication", "stop", "resume-processing"],
        ["start-replication"],
        ["start-replication"],
        ["start-replication"],
    ]


def test_the_fake_refuses_a_second_start_replication_and_a_first_resume():
    fake = emulator_for_stack(built("sandbox").outputs, p1="stopped")
    ran_before, never_ran = _task(fake, "p1").arn, _task(fake, "p2").arn
    with pytest.raises(Exception, match="it ran before"):
        fake.start_replication_task(ReplicationTaskArn=ran_before, StartReplicationTaskType="start-replication")
    with pytest.raises(Exception, match="on a first run causes data errors"):
        fake.start_replication_task(ReplicationTaskArn=never_ran, StartReplicationTaskType="resume-processing")
