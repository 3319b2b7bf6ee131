"""start --max-running is a queue: finished loads are never restarted, queued tasks start as slots free,
--until-done keeps it going, and watch tells a queue nobody will move from a load still running."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dmsmig.cli import app, operate
from dmsmig.ops import context as ops_context
from dmsmig.rehearsal.dms_emulator import emulator_for_stack
from tests.conftest import built
from tests.ops_fixtures import clients_with, outputs_file

runner = CliRunner()


@pytest.fixture
def dms(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        emulator = emulator_for_stack(built("sandbox").outputs)
        clients = clients_with(dms=emulator)
        monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients)
        yield emulator


def _run(tmp_path, *args):
    return runner.invoke(app, [*args, "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--json"])


def _finish_running(dms):
    for _ in range(3):  # running -> 50 % -> 100 %: FULL_LOAD_ONLY_FINISHED
        dms.tick()


def test_a_second_start_starts_the_queued_tasks_and_never_the_finished_ones(tmp_path, dms):
    first = json.loads(_run(tmp_path, "start", "--max-running", "2").output)
    assert [r["action"] for r in first] == ["start-replication", "start-replication", "queued", "queued"]
    _finish_running(dms)
    second = json.loads(_run(tmp_path, "start", "--max-running", "2").output)
    assert [r["action"] for r in second] == [
        "already-loaded",
        "already-loaded",
        "start-replication",
        "start-replication",
    ]
    assert [t.calls.count("start-replication") for t in dms.tasks.values()] == [1, 1, 1, 1]
    assert all("resume-processing" not in t.calls for t in dms.tasks.values())


def test_until_done_keeps_the_queue_going_to_the_end(tmp_path, dms, monkeypatch):
    monkeypatch.setattr(operate.time, "sleep", lambda _s: dms.tick())
    result = _run(tmp_path, "start", "--max-running", "1", "--until-done", "--interval", "0")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert lines[-1]["verdict"] == "done" and lines[-1]["done"] == 4
    assert max(line["running"] for line in lines) == 1  # never more than --max-running at once
    assert [t.calls.count("start-replication") for t in dms.tasks.values()] == [1, 1, 1, 1]


def test_watch_stops_waiting_on_a_queue_nothing_moves(tmp_path, dms):
    _run(tmp_path, "start", "--max-running", "2")
    _finish_running(dms)
    result = runner.invoke(
        app, ["watch", "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--interval", "0"]
    )
    assert result.exit_code == 3, result.output
    assert "2 task(s) queued and none running" in result.output and "--until-done" in result.output


def test_watch_json_prints_one_object_a_line(tmp_path, dms):
    _run(tmp_path, "start")
    _finish_running(dms)
    result = _run(tmp_path, "watch", "--interval", "0")
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.output.splitlines()]
    assert docs[-1]["verdict"] == "done" and len(docs[-1]["tasks"]) == 4
