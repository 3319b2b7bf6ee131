"""The cutover rehearsed end to end: CDC from logical decoding, cutover, rollback, restart; planted faults stop
at their gates; the local read switch is never given to a real stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmsmig.cli import main
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.cutover.driver import AutomationDriver
from dmsmig.cutover.machine import EXIT_CODES, Step
from dmsmig.ops.errors import OpsError
from dmsmig.rehearsal.local_driver import LocalDriver, driver_for
from tests.conftest import postgres_unavailable

EXAMPLES = PROJECT_DIR / "examples"


def _rehearse(tmp_path: Path, *extra: str, rows: int = 300, stack: str = "mixed") -> tuple[int, dict]:
    project = EXAMPLES if stack == "mixed" else PROJECT_DIR
    argv = ["rehearse", "--stack", stack, "--project-dir", str(project), "--rows", str(rows)]
    code = main([*argv, "--state-dir", str(tmp_path / "s"), "--json", "--monitor-seconds", "1", *extra])
    report = json.loads((tmp_path / "s" / "rehearsal-report.json").read_text())
    if code == 2 and "PostgreSQL did not start" in json.dumps(report):
        postgres_unavailable(json.dumps(report)[-300:])
    return code, report


@pytest.mark.slow
def test_mixed_rehearses_cdc_cutover_rollback_and_restart_and_writes_the_evidence_report(tmp_path, capsys):
    code, report = _rehearse(tmp_path, "--change-rate", "40")
    capsys.readouterr()
    cutover = report["cutover"]
    assert code == 0, json.dumps(cutover)[-1500:]
    assert [p["phase"] for p in cutover["phases"]] == ["cutover", "rollback", "start", "cutover --restart"]
    assert cutover["phases"][1] == {"phase": "rollback", "ok": True, "readsFrom": "source"}
    assert cutover["readsFrom"] == "dynamodb"  # the restarted run switched reads again
    changes = cutover["sourceChanges"]
    assert changes["inserts"] > 0 and changes["updates"] > 0 and changes["errors"] == []
    applied = {u["choice"]: u["rows"] for u in report["undocumented"]}["cdc-calls"]
    # changes made before a task's slot existed are in its full load instead; the rest came through CDC, plus
    # each run's sentinel row (insert, delete); validate --full below shows nothing was lost either way
    assert 0 < applied <= changes["inserts"] + changes["updates"] + changes["deletes"] + 4
    first = cutover["phases"][0]["lines"]
    assert any("CDC latency source/target" in line and "orders-live" in line for line in first)
    assert any("seen in DynamoDB after" in line for line in first)  # the sentinel went through the emulated CDC
    assert any("full validation: every item" in line for line in first)
    # every change the stream made reached DynamoDB: the final validate --full compares every item
    assert report["validation"]["ok"] is True
    live = report["validation"]["groups"]["orders/live"]
    assert sum(p["sourceRows"] for p in live) == 300 + changes["inserts"] - changes["deletes"]
    html = Path(cutover["report"]).read_text()
    assert "rolled back" in html.lower() and "<svg" in html
    assert 'id="context"' in html and "not the evidence of a real cutover" in html  # never mistaken for a real run
    state = json.loads((tmp_path / "s" / "cutover" / "mixed.json").read_text())
    assert len(state["previous_runs"]) == 1 and state["previous_runs"][0]["rolled_back"] is True
    assert state["context"].startswith("rehearsal on a local AWS at http://127.0.0.1:")
    assert state["steps"]["finish"]["status"] == "done"
    assert "@" in state["steps"]["switch-reads"]["by"]
    assert (tmp_path / "s" / "project" / "Pulumi.mixed.yaml").read_text().count("readsFrom: dynamodb") == 1
    assert "readsFrom" not in (EXAMPLES / "Pulumi.mixed.yaml").read_text()  # the real stack file is untouched


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "step"),
    [
        ("cdc-stopped", Step.PRECONDITIONS),
        ("task-failed", Step.PRECONDITIONS),
        ("write-after-quiesce", Step.QUIESCED),
        ("alarm", Step.MONITOR),
        ("slot-dropped", Step.DRAINED),
    ],
)
def test_a_planted_fault_stops_the_cutover_at_the_gate_that_catches_it(tmp_path, capsys, fault, step):
    code, report = _rehearse(tmp_path, "--plant-fault", fault, "--change-rate", "10", rows=200)
    capsys.readouterr()
    cutover = report["cutover"]
    assert code == EXIT_CODES[step], json.dumps(cutover)[-1500:]
    assert cutover["stoppedAt"] == step.value and cutover["exitCode"] == EXIT_CODES[step]
    assert [p["phase"] for p in cutover["phases"]] == ["cutover"]  # no rollback or restart after a stop
    lines = "\n".join(cutover["phases"][0]["lines"])
    expected = {
        "cdc-stopped": "is stopped: its CDC is not running",
        "task-failed": "has tables in error or failed",
        "write-after-quiesce": "still receives writes (1)",
        "alarm": "alarms firing after the switch",
        "slot-dropped": "replication slot dmsmig_staging_ordersvc_orders_live_p1 of task staging-ordersvc-orders-live-p1 is gone",
    }[fault]
    assert expected in lines
    assert "passed every gate" not in lines and "kept for fail-back" not in lines
    stated = {u["choice"] for u in report["undocumented"]}
    assert ("slot-gone" in stated) == (fault in ("task-failed", "slot-dropped"))  # both drop a slot: the choice is reported
    assert report["ok"] is False and "groups" in report["validation"]  # validate --full still ran: the evidence


def _outputs(tmp_path: Path, marker) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"tableName": "t", **({"rehearsal": marker} if marker else {})}))
    return path


def test_a_real_stacks_outputs_always_get_the_pulumi_driver(tmp_path):
    for outputs in (_outputs(tmp_path, None), None):  # a file without the marker, or the Automation API's
        driver = driver_for("prod", PROJECT_DIR, outputs, "http://127.0.0.1:4566", ssm=None)
        assert isinstance(driver, AutomationDriver) and driver.context == ""


def test_a_rehearsals_outputs_get_the_local_driver_only_against_their_own_loopback_endpoint(tmp_path):
    marker = {"projectDir": str(tmp_path), "endpointUrl": "http://127.0.0.1:50000"}
    driver = driver_for("mixed", EXAMPLES, _outputs(tmp_path, marker), "http://127.0.0.1:50000", None)
    assert isinstance(driver, LocalDriver) and "rehearsal on a local AWS at http://127.0.0.1:50000" in driver.context
    for endpoint in (None, "https://dms.eu-west-1.amazonaws.com", "http://127.0.0.1:50001"):
        with pytest.raises(OpsError, match="these outputs are a rehearsal's"):
            driver_for("mixed", EXAMPLES, _outputs(tmp_path, marker), endpoint, None)
    marker["endpointUrl"] = "http://10.0.0.5:50000"  # an edited marker pointing off this machine
    with pytest.raises(OpsError):
        driver_for("mixed", EXAMPLES, _outputs(tmp_path, marker), "http://10.0.0.5:50000", None)


def test_the_local_driver_applies_only_the_read_switch(tmp_path):
    with pytest.raises(OpsError, match="a rehearsal applies only the read switch"):
        LocalDriver("mixed", tmp_path, None).set_and_apply("decommissioned", True)


@pytest.mark.slow
def test_prod_rehearses_its_quiesced_window_and_a_write_there_stops_it_naming_the_source(tmp_path, capsys):
    code, report = _rehearse(tmp_path, rows=150, stack="prod")
    capsys.readouterr()
    assert code == 0, json.dumps(report["cutover"])[-1500:]
    phases = report["cutover"]["phases"]
    assert [p["phase"] for p in phases] == ["cutover", "rollback", "start", "cutover --restart"]
    assert "[cdc-drained] no CDC tasks: the full loads are the whole copy" in phases[0]["lines"]
    code, report = _rehearse(tmp_path, "--plant-fault", "write-after-quiesce", rows=150, stack="prod")
    capsys.readouterr()
    assert code == EXIT_CODES[Step.QUIESCED]
    lines = report["cutover"]["phases"][0]["lines"]
    assert "[source-quiesced] source orders: quiesce check returned 0" in lines  # one source wrote, not both
    assert report["cutover"]["reason"] == "source auth still receives writes (1)"


@pytest.mark.slow
def test_cdc_stopped_at_finish_resumes_from_its_slot_for_the_restarted_run(tmp_path, capsys):
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((EXAMPLES / "Pulumi.yaml").read_text())
    stack_file = (EXAMPLES / "Pulumi.mixed.yaml").read_text()
    (project / "Pulumi.mixed.yaml").write_text(
        stack_file.replace(
            "      finalValidation: full\n", "      finalValidation: full\n      keepCdcRunning: false\n"
        )
    )
    argv = ["rehearse", "--stack", "mixed", "--project-dir", str(project), "--rows", "200", "--json"]
    code = main([*argv, "--state-dir", str(tmp_path / "s"), "--monitor-seconds", "0", "--change-rate", "30"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, json.dumps(report["cutover"])[-1500:]
    phases = report["cutover"]["phases"]
    assert any("[finish] stopping staging-ordersvc-orders-live-p1" in line for line in phases[0]["lines"])
    # the restart resumed the stopped CDC replications, which went on from their slots: nothing was lost
    assert set(phases[2]["actions"].values()) == {"already-loaded", "resume-processing"}
    assert report["validation"]["ok"] is True
