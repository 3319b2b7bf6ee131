"""The rehearsal end to end: embedded PostgreSQL, the emulated DMS beside moto's server, validate, findings.

Each test starts the real local AWS process and the pgserver PostgreSQL (where PostgreSQL cannot
start: skipped with the reason on a laptop, failed in CI). Row counts are small: the behaviour, not the speed, is tested here
(speed is in bench/rehearsal.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dmsmig.cli import main
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.rehearsal.run import Rehearsal, RehearsalOptions
from tests.conftest import postgres_unavailable


def _rehearse(tmp_path: Path, stack: str = "sandbox", rows: int = 300, prepare=None, project_dir: Path = PROJECT_DIR):
    options = RehearsalOptions(stack, project_dir, rows=rows, state_dir=tmp_path / "state", prepare=prepare)
    try:
        return Rehearsal(options, load_stack_config(stack, project_dir), lambda *_: None).run()
    except Exception as err:
        if "embedded PostgreSQL did not start" in str(err):
            postgres_unavailable(str(err))
        raise


@pytest.mark.slow
def test_sandbox_rehearsal_loads_every_row_validates_and_exits_0(tmp_path, capsys):
    written = tmp_path / "new" / "folder" / "r.json"  # missing folders are created
    argv = ["--rows", "400", "--state-dir", str(tmp_path / "s"), "--report", str(written), "--json"]
    code = main(["rehearse", "--stack", "sandbox", *argv])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert json.loads(written.read_text()) == report
    assert report["ok"] is True and report["findings"] == []
    assert report["items"] == 400 and report["sourceRows"] == {"dbo.vw_Dynamodbmigration": 400}
    assert [t["status"] for t in report["load"]["tasks"]] == ["stopped"] * 4
    assert sum(t["rows_loaded"] for t in report["load"]["tasks"]) == 400
    counted = [r for reports in report["validation"]["groups"].values() for r in reports]
    assert [r["targetItems"] for r in counted] == [r["sourceRows"] for r in counted]
    assert report["localResources"]["created"]["dms:CreateReplicationTask"] == 4
    assert report["localResources"]["notCreated"]["iam:CreateRole"] >= 1
    assert {u["choice"] for u in report["undocumented"]} >= {"null-in-template"}
    assert not (tmp_path / "s" / "local-aws.pid").exists()  # the local AWS was stopped
    checks = {c["name"]: c for c in report["preflight"]}
    assert all(c["ok"] for c in checks.values()), checks
    assert {"connection target", "table order-events-sandbox"} <= set(checks)
    assert any(name.startswith("connection source") for name in checks)
    assert checks["secrets"]["reason"].startswith("not run locally")
    assert report["itemSizeByGroup"]["orders/events"]["items"] == 400


def _plant(engine):
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        ids = [r[0] for r in run('SELECT "Id" FROM dbo."vw_Dynamodbmigration" ORDER BY "Id" LIMIT 3')]
        top = run('SELECT max("Id") FROM dbo."vw_Dynamodbmigration"').scalar()
        # two rows, one item: a new row with the first row's PK and SK
        run(
            f'INSERT INTO dbo."vw_Dynamodbmigration" SELECT {top + 1}, "PK", "SK", itemtype, "Ver", "ConvId", created, '
            f'itemdata, expiry, "Migrated" FROM dbo."vw_Dynamodbmigration" WHERE "Id" = {ids[0]}'
        )
        # a row outside every filter: a NULL key
        run('ALTER TABLE dbo."vw_Dynamodbmigration" ALTER COLUMN "Id" DROP NOT NULL')
        run(
            'INSERT INTO dbo."vw_Dynamodbmigration" SELECT NULL, "PK" || \'-n\', "SK", itemtype, "Ver", "ConvId", '
            f'created, itemdata, expiry, "Migrated" FROM dbo."vw_Dynamodbmigration" WHERE "Id" = {ids[0]}'
        )
        # an item over 400 KB, and a 39-digit number
        run(f'UPDATE dbo."vw_Dynamodbmigration" SET "ConvId" = repeat(\'x\', 420000) WHERE "Id" = {ids[1]}')
        run('ALTER TABLE dbo."vw_Dynamodbmigration" ALTER COLUMN "Ver" TYPE numeric(50,0)')
        run(f'UPDATE dbo."vw_Dynamodbmigration" SET "Ver" = 10::numeric ^ 38 + 1 WHERE "Id" = {ids[2]}')
    _plant.ids = (ids, top + 1)


@pytest.mark.slow
def test_planted_faults_each_give_their_finding_and_fail_the_rehearsal(tmp_path):
    result = _rehearse(tmp_path, prepare=_plant)
    ids, collided = _plant.ids
    found = {f.rule: f for f in result.analysis.findings.values()}
    assert set(found) == {"key-collision", "not-selected", "item-too-large", "number-too-precise"}
    assert found["key-collision"].count == 1
    assert sorted(found["key-collision"].examples[0]["rows"]) == sorted([ids[0], collided])
    assert found["not-selected"].examples == [None]
    assert found["item-too-large"].examples == [ids[1]]
    assert found["number-too-precise"].examples == [ids[2]]
    assert all(f.level == "error" for f in found.values())
    assert not result.ok
    # DataErrorPolicy LOG_ERROR: the two rows DynamoDB would refuse are counted and the load goes on
    assert sum(t["error_rows"] for t in result.tasks) == 2
    assert result.verdict == "done"
    # validate --full names each row whose item is missing: the two DMS refused, and the collided one
    missing = {f["key"]: f.get("reason", "") for f in result.validation["failures"] if f["kind"] == "MISSING_TARGET"}
    # of the two rows that collide, the one written first is the one lost (writers run in parallel)
    lost = ({ids[0], collided} & set(missing)).pop()
    assert set(missing) == {lost, ids[1], ids[2]} and result.validation["failureCount"] == 3
    assert "item-too-large" in missing[ids[1]] and "number-too-precise" in missing[ids[2]]


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mssql+pymssql", "oracle+oracledb"])
def test_rehearsal_with_an_unreachable_database_url_is_one_line_and_exit_2(tmp_path, capsys, scheme):
    """The SQL Server and Oracle drivers come with requirements.txt: the error is the connection, not a module."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"{scheme}://u:secretpw@127.0.0.1:{port}/db"
    code = main(["rehearse", "--stack", "sandbox", "--database-url", url, "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot reach the --database-url" in err and "secretpw" not in err and "Traceback" not in err


def test_rehearsal_on_a_port_in_use_is_one_line_and_exit_2(tmp_path, capsys, postgres_url):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(
            ["rehearse", "--stack", "sandbox", "--rows", "10", "--port", str(port), "--state-dir", str(tmp_path / "s")]
        )
    err = capsys.readouterr().err
    assert code == 2 and f"port {port}" in err and "Traceback" not in err


def test_a_state_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    target = tmp_path / "state"
    target.write_text("not a folder")
    code = main(["rehearse", "--stack", "sandbox", "--state-dir", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "--state-dir" in err and "is a file" in err and "Traceback" not in err


def test_a_spec_column_type_the_engine_lacks_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    from dmsmig.config import mapping_spec

    specs = tmp_path / "mappings"
    specs.mkdir()
    for path in mapping_spec.MAPPINGS_DIR.glob("*.yaml"):
        (specs / path.name).write_text(path.read_text())
    spec = specs / "order_events.yaml"
    spec.write_text(spec.read_text().replace("  Ver: int\n", "  Ver: varchar2(10)\n"))
    monkeypatch.setattr(mapping_spec, "MAPPINGS_DIR", specs)
    code = main(["rehearse", "--stack", "sandbox", "--rows", "10", "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "invalid mappings/order_events.yaml" in err and "columns.Ver: " in err and "not a sqlserver type" in err
    assert "Traceback" not in err
    assert not (tmp_path / "s" / "local-aws.pid").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.slow
def test_ctrl_c_during_the_load_stops_everything_it_started_and_a_rerun_passes(tmp_path):
    state = tmp_path / "s"
    argv = [sys.executable, "-m", "dmsmig", "rehearse", "--stack", "sandbox", "--state-dir", str(state)]
    process = subprocess.Popen([*argv, "--rows", "100000"], stderr=subprocess.PIPE, text=True)
    seen = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if line.startswith("preflight:"):  # printed just before the tasks start
            break
    if process.poll() is not None:
        pytest.fail("the rehearsal ended before the load: " + "".join(seen)[-300:], pytrace=False)
    local_pid = json.loads((state / "local-aws.pid").read_text())["pid"]
    postgres_pid = int((state / "pgdata" / "postmaster.pid").read_text().split()[0])
    assert _alive(local_pid) and _alive(postgres_pid)
    time.sleep(2)  # the tasks are loading now (100,000 rows take a minute or more)
    process.send_signal(signal.SIGINT)
    try:
        rest = process.communicate(timeout=180)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        after = process.communicate()[1]
        pytest.fail("the rehearsal did not stop within 180 s of Ctrl-C: " + ("".join(seen) + after)[-1500:])
    assert process.returncode == 130, rest[-500:]
    assert "Traceback" not in rest
    assert not _alive(local_pid) and not _alive(postgres_pid)
    assert not (state / "local-aws.pid").exists()
    again = subprocess.run([*argv, "--rows", "200"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-800:] + again.stderr[-800:]
    assert "rehearsal: PASS" in again.stdout


def test_a_postgresql_that_does_not_start_is_one_line_naming_the_folder_and_exit_2(tmp_path, capsys):
    pgdata = tmp_path / "s" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("9.6\n")  # what a killed initdb can leave: no postgresql.conf
    code = main(["rehearse", "--stack", "sandbox", "--rows", "10", "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"did not start in {pgdata}" in err and "postgresql.conf" in err and "delete that folder" in err
    assert "Traceback" not in err and "pg_ctl" not in err
    assert not (tmp_path / "s" / "local-aws.pid").exists()


def test_a_mapping_the_emulator_cannot_execute_names_the_task_and_the_rule():
    from dmsmig.offline.mock_engine import run_program
    from dmsmig.ops.errors import UsageError
    from dmsmig.rehearsal.run import task_plans

    config = load_stack_config("sandbox", PROJECT_DIR)
    run = run_program(config, stack_name="sandbox")
    task = next(r for r in run.resources if r.type == "aws:dms/replicationTask:ReplicationTask")
    document = json.loads(task.inputs["tableMappings"])
    document["rules"].append({"rule-type": "transformation", "rule-id": "9", "rule-name": "rename-it"})
    task.inputs["tableMappings"] = json.dumps(document)
    with pytest.raises(UsageError) as caught:
        task_plans(run, run.outputs)
    assert f"task {task.inputs['replicationTaskId']}: the emulated DMS cannot execute" in caught.value.message
    assert "'rename-it'" in caught.value.message and "'transformation' is not emulated" in caught.value.message


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_a_report_path_that_cannot_be_written_is_refused_before_the_rehearsal(tmp_path, capsys, where):
    (tmp_path / "afile").write_text("x")
    report = tmp_path if where == "folder" else tmp_path / "afile" / "r.json"
    code = main(["rehearse", "--stack", "sandbox", "--report", str(report), "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and "--report" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()  # nothing was started


def test_a_database_url_without_the_specs_object_or_column_is_one_line_and_exit_2(tmp_path, capsys, postgres_url):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    # a database of its own on the session's server: other tests create the view in the default one
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS rehearse_missing")
        conn.exec_driver_sql("CREATE DATABASE rehearse_missing")
    admin.dispose()
    postgres_url = make_url(postgres_url).set(database="rehearse_missing").render_as_string(hide_password=False)
    code = main(["rehearse", "--stack", "sandbox", "--database-url", postgres_url, "--state-dir", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--database-url has no" in err and "vw_Dynamodbmigration" in err and "Traceback" not in err
    engine = create_engine(postgres_url)
    with engine.begin() as conn:  # the object exists but lacks a column the spec names
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS dbo")
        conn.exec_driver_sql('CREATE TABLE dbo."vw_Dynamodbmigration" ("Id" bigint, "PK" text)')
    try:
        code = main(
            ["rehearse", "--stack", "sandbox", "--database-url", postgres_url, "--state-dir", str(tmp_path / "b")]
        )
        err = capsys.readouterr().err
        assert code == 2, err
        assert "lacks column(s)" in err and "SK" in err and "mappings/order_events.yaml" in err
    finally:
        engine.dispose()
    assert not (tmp_path / "b" / "local-aws.pid").exists()


@pytest.mark.slow
def test_off_a_terminal_the_load_prints_a_progress_line_every_interval_and_no_cutover_says_so(
    tmp_path, capsys, monkeypatch
):
    from dmsmig.cli import rehearse as rehearse_cli

    monkeypatch.setattr(rehearse_cli, "LINE_SECONDS", 0.0)
    code = main(["rehearse", "--stack", "sandbox", "--rows", "300", "--state-dir", str(tmp_path / "s"), "--no-cutover"])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-800:]
    lines = [line for line in captured.err.splitlines() if line.startswith("full load: ")]
    assert lines and lines[-1].startswith(
        "full load: 300 rows loaded; tasks as DMS reports them: 4 done, 0 running, 0 queued, 0 failed (of 4); "
    ), captured.err[-800:]
    assert "cutover: not rehearsed (--no-cutover)" in captured.out


def _kill_before_provisioning(monkeypatch, pid_of) -> None:
    """Kill the process ``pid_of(local)`` names just before the rehearsal provisions its local AWS
    (the OOM killer, a stray kill): a part dies under a running rehearsal."""
    import dmsmig.rehearsal.run as run_module

    real_provision = run_module.provision

    def killed_first(local, region, resources):
        os.kill(pid_of(local), signal.SIGKILL)
        time.sleep(0.5)
        return real_provision(local, region, resources)

    monkeypatch.setattr(run_module, "provision", killed_first)


@pytest.mark.slow
def test_a_local_aws_that_dies_under_the_rehearsal_is_named_with_its_log(tmp_path, monkeypatch):
    from dmsmig.ops.errors import OpsError

    _kill_before_provisioning(monkeypatch, lambda local: local.pid)
    with pytest.raises(OpsError) as caught:
        _rehearse(tmp_path, rows=50)
    message = str(caught.value)
    assert "the rehearsal's local AWS (process" in message and "exited during the rehearsal" in message
    assert str(tmp_path / "state" / "local-aws.log") in message and "run the rehearsal again" in caught.value.fix


@pytest.mark.slow
def test_a_rehearsal_stopped_by_a_dead_part_still_writes_its_report_saying_so(tmp_path, monkeypatch, capsys):
    _kill_before_provisioning(monkeypatch, lambda local: local.pid)
    code = main(["rehearse", "--stack", "sandbox", "--rows", "50", "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1 and "the rehearsal's local AWS (process" in err and "Traceback" not in err
    report = json.loads((tmp_path / "s" / "rehearsal-report.json").read_text())
    assert report["ok"] is False and "exited during the rehearsal" in report["stoppedBy"]["message"]


@pytest.mark.slow
def test_a_piped_rehearsal_shows_each_phase_under_its_header_and_every_task_in_full(tmp_path, capsys):
    code = main(["rehearse", "--stack", "sandbox", "--rows", "200", "--state-dir", str(tmp_path / "s")])
    captured = capsys.readouterr()  # capsys: off a terminal, as in a pipe or CI
    assert code == 0, captured.err[-800:]
    headers = [line for line in captured.err.splitlines() if line.startswith("--- ")]
    assert headers == ["--- cutover ---", "--- rollback ---", "--- start ---", "--- cutover --restart ---"]
    out = captured.out + captured.err
    for p in range(1, 5):
        task = f"sandbox-ordersvc-orders-events-p{p}"
        assert f"validate --full (every item): group orders/events, task {task}, " in captured.out
        assert f"full load done: task {task}, status stopped" in captured.out
    assert not set(out) & set("╭╮╰╯│┏┓┗┛┃━┡┩┳┻╇"), "no box drawing off a terminal"
    assert "before the switch: SSM /ordersvc/sandbox/reads-from = source" in captured.err
    assert "tasks to stop: 0 of 4 running now (DMS)" in captured.err


@pytest.mark.slow
def test_keep_leaves_a_database_url_that_still_answers_after_the_rehearsal_ends(tmp_path):
    from sqlalchemy import create_engine, text

    state = tmp_path / "s"
    argv = [sys.executable, "-m", "dmsmig", "rehearse", "--stack", "sandbox", "--rows", "100", "--no-cutover"]
    done = subprocess.run([*argv, "--keep", "--state-dir", str(state)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-800:]
    keep = json.loads((state / "rehearsal-report.json").read_text())["keep"]
    try:
        engine = create_engine(keep["databaseUrl"])
        with engine.connect() as conn:  # the rehearse process is gone; its PostgreSQL is not
            assert conn.execute(text("SELECT 1")).scalar() == 1
        engine.dispose()
    finally:
        os.kill(json.loads((state / "local-aws.pid").read_text())["pid"], signal.SIGTERM)
        import pgserver

        pgserver.get_server(state / "pgdata", cleanup_mode="stop").cleanup()


@pytest.mark.slow
def test_a_postgresql_that_dies_under_the_rehearsal_is_named_with_its_log(tmp_path, monkeypatch):
    from dmsmig.ops.errors import OpsError

    postmaster = tmp_path / "state" / "pgdata" / "postmaster.pid"
    _kill_before_provisioning(monkeypatch, lambda _local: int(postmaster.read_text().split()[0]))
    with pytest.raises(OpsError) as caught:
        _rehearse(tmp_path, rows=50)
    message = str(caught.value)
    assert "the rehearsal's PostgreSQL (data folder" in message and "stopped during the rehearsal" in message
    assert str(tmp_path / "state" / "pgdata" / "log") in message
