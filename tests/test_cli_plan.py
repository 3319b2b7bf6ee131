"""The offline plan command: prints the tree, and stops on bad config with the key path."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from dmsmig.cli import app
from tests.conftest import raw_stack

runner = CliRunner()


def test_plan_prints_the_resource_tree_and_counts():
    result = runner.invoke(app, ["plan", "--stack", "sandbox"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "tasks-orders-events-p4 aws:dms/replicationTask:ReplicationTask" in result.output
    assert "range=Id >= 300000001" in result.output and "prepMode=DO_NOTHING" in result.output
    assert "publiclyAccessible=False" in result.output


def test_plan_json_lists_resources_and_outputs():
    result = runner.invoke(app, ["plan", "--stack", "prod", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["counts"]["aws:dms/replicationTask:ReplicationTask"] == 6
    assert plan["outputs"]["tableName"] == "order-events-prod"
    load = plan["load"]
    assert "estimate" not in plan  # one full-load figure: load.hours
    assert load["items"] == 435_000_000 and load["cost"]["instanceCount"] == 1
    assert load["cost"]["instancesMonthlyUsd"] == round(1.008 * 2 * 730, 2)  # r5.2xlarge, multi-AZ
    # every partition's hours within the whole load's, the longest equal to it; figures rounded
    assert max(p["hours"] for p in load["partitions"]) == load["hours"]
    assert load["hours"] == round(load["hours"], 2)


def test_plan_on_bad_config_exits_2_naming_the_key(project_copy):
    config = raw_stack("sandbox")
    config["dms-migration:migration"]["sources"][0]["taskGroups"][0]["partitions"] = {"boundaries": [300, 200]}
    config["dms-migration:migration"]["replication"]["instanceClass"] = "t3.medium"
    (project_copy / "Pulumi.broken.yaml").write_text(yaml.safe_dump({"config": config}))
    result = runner.invoke(app, ["plan", "--stack", "broken", "--project-dir", str(project_copy)])
    assert result.exit_code == 2
    assert "migration.sources[0].taskGroups[0].partitions.boundaries: must be strictly increasing" in result.output
    assert (
        "migration.replication.instanceClass: 't3.medium' is not a DMS instance class such as dms.t3.medium"
        in result.output
    )
    assert "Traceback" not in result.output


def test_plan_on_missing_stack_lists_the_existing_ones(project_copy):
    result = runner.invoke(app, ["plan", "--stack", "qa", "--project-dir", str(project_copy)])
    assert result.exit_code == 2
    assert "Pulumi.qa.yaml not found" in result.output


def test_plan_with_an_instance_class_missing_from_the_figures_still_plans(project_copy):
    config = raw_stack("sandbox")
    config["dms-migration:migration"]["replication"]["instanceClass"] = "dms.c9.4xlarge"
    (project_copy / "Pulumi.odd.yaml").write_text(yaml.safe_dump({"config": config}))
    result = runner.invoke(app, ["plan", "--stack", "odd", "--project-dir", str(project_copy)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "no figures for dms.c9.4xlarge" in result.output and "no instance cost" in result.output


def test_plan_names_the_tasks_an_update_would_modify(tmp_path):
    from tests.conftest import built

    deployed = json.loads(json.dumps(built("sandbox").outputs))
    deployed["taskGroups"]["orders/events"][1]["definitionHash"] = "deployed-earlier"
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(deployed))
    result = runner.invoke(app, ["plan", "--stack", "sandbox", "--outputs-file", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["modifiedTasks"] == ["sandbox-ordersvc-orders-events-p2"]
    text = runner.invoke(app, ["plan", "--stack", "sandbox", "--outputs-file", str(path)])
    assert "1 task(s) change settings, mappings or migration type" in text.output
    assert "python -m dmsmig stop --stack sandbox" in text.output


def test_plan_refuses_another_stacks_outputs_as_the_operator_commands_do(tmp_path):
    from tests.conftest import built

    path = tmp_path / "prod-outputs.json"
    path.write_text(json.dumps(built("prod").outputs))
    result = runner.invoke(app, ["plan", "--stack", "sandbox", "--outputs-file", str(path)])
    assert result.exit_code == 2, result.output
    assert "belongs to stack 'prod'" in result.output and "not to --stack sandbox" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"taskGroups": {}}')  # not outputs of any stack: the same reader says what is missing
    result = runner.invoke(app, ["plan", "--stack", "sandbox", "--outputs-file", str(broken)])
    assert result.exit_code == 2 and "broken.json" in result.output and "Traceback" not in result.output


def test_plan_reports_the_aws_contract_check():
    result = runner.invoke(app, ["plan", "--stack", "prod"])
    assert result.exit_code == 0, result.output
    assert "AWS contract: 4" in result.output and "none refused" in result.output


def test_plan_with_a_rehearsal_report_uses_its_measured_write_units(tmp_path):
    report = tmp_path / "rehearsal-report.json"
    report.write_text(
        json.dumps(
            {
                "stack": "sandbox",
                "sourceRows": {"dbo.v": 20000},
                "itemSizeByGroup": {"orders/events": {"writeUnitsPerItem": 3}},
            }
        )
    )
    plain = json.loads(runner.invoke(app, ["plan", "--stack", "sandbox", "--json"]).output)["load"]
    result = runner.invoke(app, ["plan", "--stack", "sandbox", "--json", "--rehearsal", str(report)])
    measured = json.loads(result.output)["load"]
    assert result.exit_code == 0
    assert measured["writeUnits"] == 3 * measured["items"] != plain["writeUnits"]
    assert any(
        "orders/events 3" in n and "rehearsal of stack sandbox, 20,000 source rows" in n for n in measured["notes"]
    )


def test_every_command_takes_json():
    """The README promises --json on every command: the doc generators included."""
    import typer.main

    group = typer.main.get_command(app)
    missing = [name for name, command in group.commands.items() if not any("--json" in p.opts for p in command.params)]
    assert missing == []
    facts = json.loads(runner.invoke(app, ["contract-facts", "--json"]).output)
    assert {"name", "value", "source"} <= set(facts[0])
    keys = json.loads(runner.invoke(app, ["config-reference", "--json"]).output)
    assert keys[0]["key"] == "environment" and "|" in keys[0]["type"] and "\\\\" not in keys[0]["type"]


def test_plan_works_on_an_ascii_only_terminal():
    import os
    import subprocess
    import sys

    from dmsmig.config.stack import PROJECT_DIR

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", "dmsmig", "plan", "--stack", "prod"],
        cwd=PROJECT_DIR, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    assert b"UnicodeEncodeError" not in done.stderr
    done.stdout.decode("ascii")  # every byte printable on that terminal
    assert b"full load: about" in done.stdout


def test_every_commands_help_shows_flags_as_flags_and_no_box_drawing():
    import typer

    group = typer.main.get_command(app)
    names = sorted(group.list_commands(None))  # type: ignore[arg-type]
    assert len(names) > 15
    for name in [None, *names]:
        result = runner.invoke(app, [name, "--help"] if name else ["--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output, name
        assert not set(result.output) & set("╭╮╰╯│─┏┓┗┛┃━"), name
        if name:
            assert "--json " in result.output or "--json\n" in result.output, name  # a flag, without a value


def test_piped_plan_output_wraps_nothing_and_draws_no_tables():
    import os
    import subprocess
    import sys

    from dmsmig.config.stack import PROJECT_DIR

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "dmsmig", "plan", "--stack", "prod"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
    lines = done.stdout.splitlines()
    # each resource on one line, its key properties whole (the secret's ARN was cut mid-word)
    endpoint = next(line for line in lines if "source-orders-endpoint aws:dms/endpoint:Endpoint" in line)
    assert "secretsManagerArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod-ordersvc-dms-credentials-AbCdEf" in endpoint
    assert "What bounds the full load: stage task threads, " in done.stdout and "10.6 h <- bound" in done.stdout
    assert not set(done.stdout) & set("┏┓┗┛┃━┡┩┳┻╇")
