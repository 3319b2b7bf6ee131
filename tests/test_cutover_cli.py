"""A cutover rehearsal end to end: SQLite source, moto DynamoDB/SSM/CloudWatch, DMS under Stubber,
and a fake Pulumi driver at the Automation-API seam (it records calls and publishes the SSM
parameter the way `pulumi up` of the program would)."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.cli import cutover as cutover_cli
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.cutover.driver import READS_FROM
from dmsmig.cutover.machine import CutoverState
from dmsmig.cutover.store import FileStateStore
from dmsmig.ops import context as ops_context
from tests.conftest import built
from tests.ops_fixtures import (
    clients_with,
    create_event_table,
    describe_params,
    describe_response,
    outputs_file,
    stubbed_dms,
    task_arns,
    task_description,
)
from tests.test_validation import TABLE, load_like_dms, make_source, source_rows

runner = CliRunner()
PARAM = "/ordersvc/sandbox/reads-from"


class FakeDriver:
    context = ""  # a deployed stack, as the real driver says

    def __init__(self, ssm):
        self.ssm = ssm
        self.config = {READS_FROM: "source"}
        self.calls: list[tuple[str, object]] = []
        self.targets: list[list[str] | None] = []

    def get(self, path):
        return self.config.get(path)

    def set_and_apply(self, path, value, only=None):
        self.calls.append((path, value))
        self.targets.append(only)
        self.config[path] = value
        if path == READS_FROM:
            self.ssm.put_parameter(Name=PARAM, Value=value, Type="String", Overwrite=True)
        return [f"pulumi up: succeeded ({path}={value})"]


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    with mock_aws():
        dms, stubber = stubbed_dms()
        clients = clients_with(dms=dms)
        create_event_table(clients.dynamodb, TABLE)
        clients.ssm.put_parameter(Name=PARAM, Value="source", Type="String")
        for name in built("sandbox").outputs["alarmNames"]:
            clients.cloudwatch.put_metric_alarm(
                AlarmName=name,
                MetricName="TaskFailureEvents",
                Namespace="DMSMigration/sandbox-ordersvc",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
            )
        driver = FakeDriver(clients.ssm)
        monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients)
        monkeypatch.setattr(cutover_cli, "make_driver", lambda stack, project_dir, *_: driver)
        rows = source_rows(120)
        url = make_source(tmp_path / "source.db", rows)
        with stubber:
            yield {"clients": clients, "stubber": stubber, "driver": driver, "rows": rows, "url": url, "tmp": tmp_path}


def _loads_finished(stubber):
    arns = task_arns()
    done = {
        "StopReason": "Stop Reason FULL_LOAD_ONLY_FINISHED",
        "ReplicationTaskStats": {"FullLoadProgressPercent": 100, "TablesLoaded": 1},
    }
    stubber.add_response(
        "describe_replication_tasks",
        describe_response([task_description(a, "stopped", started=True, **done) for a in arns]),
        describe_params(arns),
    )
    for arn in arns:
        stubber.add_response(
            "describe_table_statistics",
            {
                "TableStatistics": [
                    {
                        "SchemaName": "dbo",
                        "TableName": "vw_Dynamodbmigration",
                        "FullLoadRows": 30,
                        "TableState": "Table completed",
                    }
                ]
            },
            {"ReplicationTaskArn": arn},
        )


def _tasks_stopped(stubber):
    arns = task_arns()
    stubber.add_response(
        "describe_replication_tasks",
        describe_response([task_description(a, "stopped", started=True) for a in arns]),
        describe_params(arns),
    )


def _finish_reads_tasks_stopped(stubber):
    _tasks_stopped(stubber)  # the finish gate asks DMS what runs now
    _tasks_stopped(stubber)  # and its effect check asks again before stopping anything


def _cutover(world, *extra):
    return runner.invoke(app, _cutover_args(world, *extra))


def _cutover_args(world, *extra):
    return [
        "cutover",
        "--stack",
        "sandbox",
        "--outputs-file",
        str(outputs_file(world["tmp"])),
        "--database-url",
        world["url"],
        "--local-state",
        str(world["tmp"] / "state"),
        "--confirm-quiesced",
        "--monitor-minutes",
        "0",
        *extra,
    ]


def test_rehearsal_stops_at_validation_then_resumes_and_finishes(world):
    load_like_dms(world["clients"].dynamodb, world["rows"], skip={7})
    _loads_finished(world["stubber"])
    first = _cutover(world)
    assert first.exit_code == 13, first.output  # final-validation
    assert "MISSING 1" in first.output and "re-run: python -m dmsmig cutover --stack sandbox" in first.output
    assert world["driver"].calls == []  # nothing switched

    load_like_dms(world["clients"].dynamodb, world["rows"])  # the missing item arrives
    _finish_reads_tasks_stopped(world["stubber"])
    second = _cutover(world)
    assert second.exit_code == 0, second.output
    assert "[preconditions] done earlier" in second.output
    assert world["driver"].calls == [(READS_FROM, "dynamodb")]
    # the switch may change the read-switch parameter and nothing else
    assert world["driver"].targets == [
        [
            "urn:pulumi:sandbox::dms-migration::dmsmig:cutover:CutoverControl$aws:ssm/parameter:Parameter::cutover-parameter"
        ]
    ]
    assert world["clients"].ssm.get_parameter(Name=PARAM)["Parameter"]["Value"] == "dynamodb"
    state = FileStateStore(world["tmp"] / "state", "sandbox").load()
    assert state.finished

    third = _cutover(world)  # everything done: a re-run changes nothing
    assert third.exit_code == 0 and world["driver"].calls == [(READS_FROM, "dynamodb")]

    # who ran each step is recorded, and the evidence report shows it
    assert all(r.by.startswith("arn:aws:iam::") and "@" in r.by for r in state.steps.values())
    status = ["cutover-status", "--stack", "sandbox", "--outputs-file", str(outputs_file(world["tmp"]))]
    status += ["--local-state", str(world["tmp"] / "state"), "--json"]
    data = json.loads(runner.invoke(app, status).output)
    assert data["finished"] and data["readsMoved"]["by"].startswith("arn:aws:iam::")
    assert [p["sourceRows"] for p in data["validation"]["groups"]["orders/events"]] == [120, 0, 0, 0]
    report = world["tmp"] / "out" / "cutover.html"
    shown = runner.invoke(app, [*status[:-1], "--report", str(report)])
    assert shown.exit_code == 0, shown.output
    page = report.read_text()
    # the validation and progress charts, inline; no CDC task: a line says so, no empty chart frame
    assert page.count("<svg") == 2 and "no CDC latency sampled" in page
    assert data["readsMoved"]["before"] == "source" and data["readsMoved"]["after"] == "dynamodb"
    assert data["verdict"] == "finished: every gate passed, reads on DynamoDB"
    assert 'id="context"' not in page and data["context"] == ""  # a deployed stack's run: no rehearsal banner
    assert not any(tag in page for tag in ("<script", "<link", "src=", "url(http")), "the report loads nothing"
    for section in ("identity", "timeline", "gates", "validation", "progress", "cdc-latency", "reads", "previous-runs"):
        assert f'<section id="{section}">' in page


def test_dry_run_changes_nothing_and_writes_no_state(world):
    load_like_dms(world["clients"].dynamodb, world["rows"])
    _loads_finished(world["stubber"])
    _finish_reads_tasks_stopped(world["stubber"])
    result = _cutover(world, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "[switch-reads] (dry run) would apply the change" in result.output
    assert world["driver"].calls == []
    assert not (world["tmp"] / "state" / "sandbox.json").exists()


def test_cutover_json_is_one_object_a_line_as_it_happens_with_the_result_last(world):
    import json

    load_like_dms(world["clients"].dynamodb, world["rows"])
    _loads_finished(world["stubber"])
    _finish_reads_tasks_stopped(world["stubber"])
    result = _cutover(world, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    *evidence, doc = events
    assert doc["event"] == "result" and doc["ok"] is True and doc["dryRun"] is True and doc["stoppedAt"] is None
    assert [e["line"] for e in evidence] == doc["lines"] and {e["event"] for e in evidence} == {"evidence"}
    assert any(line.startswith("[switch-reads] (dry run)") for line in doc["lines"])


def test_a_second_operator_is_refused_while_a_run_holds_the_lock(world):
    store = FileStateStore(world["tmp"] / "state", "sandbox")
    with store.lock():
        holder = store.holder()
        result = _cutover(world)
    assert result.exit_code == 20
    assert f"another cutover run holds the lock: {holder}" in result.output


def test_dry_run_never_waits_for_the_monitor_window(world, monkeypatch):
    import dmsmig.cutover.actions as actions_module

    def no_waiting(seconds):
        raise AssertionError(f"a dry run slept {seconds}s")

    monkeypatch.setattr(actions_module.time, "sleep", no_waiting)
    load_like_dms(world["clients"].dynamodb, world["rows"])
    _loads_finished(world["stubber"])
    _finish_reads_tasks_stopped(world["stubber"])
    args = [a for a in _cutover_args(world, "--dry-run") if a not in ("--monitor-minutes", "0")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(dry run) would watch 4 alarms for 15 min; now 0 in ALARM" in result.output
    assert not (world["tmp"] / "state").exists()


def test_restart_after_a_rollback_archives_the_previous_run(world):
    store = FileStateStore(world["tmp"] / "state", "sandbox")
    old = CutoverState(
        "sandbox", "old-fingerprint", rolled_back=True, history=["2026-11-20T10:00:00+00:00 rolled back"]
    )
    store.save(old)
    load_like_dms(world["clients"].dynamodb, world["rows"], skip={7})
    _loads_finished(world["stubber"])
    result = _cutover(world, "--restart")
    assert result.exit_code == 13, result.output
    state = store.load()
    assert state.rolled_back is False and len(state.previous_runs) == 1
    assert state.previous_runs[0]["history"] == ["2026-11-20T10:00:00+00:00 rolled back"]
    assert state.previous_runs[0]["fingerprint"] == "old-fingerprint"


def test_firing_alarm_stops_the_monitor_step_and_rollback_flips_reads_back(world):
    load_like_dms(world["clients"].dynamodb, world["rows"])
    _loads_finished(world["stubber"])
    alarm = built("sandbox").outputs["alarmNames"][0]
    world["clients"].cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    result = _cutover(world)
    assert result.exit_code == 15, result.output  # monitor-window
    assert alarm in result.output and "rollback" in result.output
    assert world["clients"].ssm.get_parameter(Name=PARAM)["Parameter"]["Value"] == "dynamodb"

    back = runner.invoke(
        app,
        [
            "rollback",
            "--stack",
            "sandbox",
            "--outputs-file",
            str(outputs_file(world["tmp"])),
            "--local-state",
            str(world["tmp"] / "state"),
            "--yes",
        ],
    )
    assert back.exit_code == 0, back.output
    assert world["driver"].calls == [(READS_FROM, "dynamodb"), (READS_FROM, "source")]
    assert world["clients"].ssm.get_parameter(Name=PARAM)["Parameter"]["Value"] == "source"
    again = _cutover(world)
    assert again.exit_code != 0 and "--restart" in again.output


def test_decommission_refuses_without_a_finished_cutover(world):
    result = runner.invoke(
        app,
        [
            "decommission",
            "--stack",
            "sandbox",
            "--outputs-file",
            str(outputs_file(world["tmp"])),
            "--local-state",
            str(world["tmp"] / "state"),
            "--yes",
        ],
    )
    assert result.exit_code == 1 and "no finished cutover" in result.output
    assert world["driver"].calls == []


def _finished_state(world, hours_ago: float):
    from datetime import datetime, timedelta

    from dmsmig.cutover.machine import CutoverState, Status, Step

    state = CutoverState("sandbox", "fp")
    when = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
    for step in Step:
        state.record(step).status, state.record(step).at = Status.DONE, when
    FileStateStore(world["tmp"] / "state", "sandbox").save(state)


def test_decommission_waits_for_the_fail_back_window_then_removes_dms_resources(world):
    args = [
        "decommission",
        "--stack",
        "sandbox",
        "--outputs-file",
        str(outputs_file(world["tmp"])),
        "--local-state",
        str(world["tmp"] / "state"),
        "--yes",
    ]
    _finished_state(world, hours_ago=1)
    early = runner.invoke(app, args)
    assert early.exit_code == 1 and "fail-back window (72 h" in early.output
    assert world["driver"].calls == []

    _finished_state(world, hours_ago=100)
    arns = task_arns()
    world["stubber"].add_response(
        "describe_replication_tasks",
        describe_response(
            [task_description(arns[0], "running", started=True)]
            + [task_description(a, "stopped", started=True) for a in arns[1:]]
        ),
        describe_params(arns),
    )
    world["stubber"].add_response(
        "stop_replication_task",
        {"ReplicationTask": task_description(arns[0], "stopping")},
        {"ReplicationTaskArn": arns[0]},
    )
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert world["driver"].calls == [("decommissioned", True)]
    assert "stopping sandbox-ordersvc-orders-events-p1: stopping" in done.output


def test_a_full_final_validation_stops_on_a_changed_attribute_that_counts_miss(world, monkeypatch):
    import yaml

    project = world["tmp"] / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.sandbox.yaml"):
        (project / name).write_text((PROJECT_DIR / name).read_text())
    doc = yaml.safe_load((project / "Pulumi.sandbox.yaml").read_text())
    cutover = doc["config"]["dms-migration:migration"].setdefault("cutover", {})
    cutover.update({"finalValidation": "full", "samples": 0})
    (project / "Pulumi.sandbox.yaml").write_text(yaml.safe_dump(doc))
    dynamodb, rows = world["clients"].dynamodb, world["rows"]
    load_like_dms(dynamodb, rows)
    key = {"PK": {"S": rows[9]["PK"]}, "SK": {"S": rows[9]["SK"]}}
    dynamodb.update_item(
        TableName=TABLE, Key=key, UpdateExpression="SET ConvId = :v", ExpressionAttributeValues={":v": {"S": "x"}}
    )  # noqa: E501
    _loads_finished(world["stubber"])
    result = _cutover(world, "--project-dir", str(project))
    assert result.exit_code == 13, result.output  # final-validation
    assert "full validation: every item" in result.output and "RECORD_DIFF key 10" in result.output
    assert "ConvId" in result.output and world["driver"].calls == []
