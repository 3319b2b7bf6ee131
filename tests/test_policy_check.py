"""The offline check: shipped stacks pass, a deliberately bad stack fails with exactly its rules."""

from __future__ import annotations

import json

import pulumi
import pytest
from pulumi_policy.proxy import UnknownValueError
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.offline import policy_check as pc
from dmsmig.offline.mock_engine import run_program
from tests.conftest import SHIPPED_STACKS, built, raw_migration, stack_from

runner = CliRunner()


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stacks_have_no_mandatory_violation(stack):
    config = pc.load_pack_config(pc.pack_config_path(stack))
    violations = pc.evaluate(built(stack), config)
    assert [v for v in violations if v.level == "mandatory"] == []


def _inject_password_and_gap(args: pulumi.ResourceTransformationArgs):
    """Hand edits that config validation rejects, so only the policies can catch them."""
    if args.type_ == "aws:dms/endpoint:Endpoint" and args.props.get("endpoint_type") == "source":
        args.props["extra_connection_attributes"] = "useBfile=Y;password=Sup3rSecret"
        return pulumi.ResourceTransformationResult(args.props, args.opts)
    if args.type_ == "aws:dms/replicationTask:ReplicationTask" and args.name.endswith("-p3"):
        mappings = json.loads(args.props["table_mappings"])
        condition = mappings["rules"][0]["filters"][0]["filter-conditions"][0]
        condition["start-value"] = str(int(condition["start-value"]) + 1000)
        args.props["table_mappings"] = json.dumps(mappings)
        return pulumi.ResourceTransformationResult(args.props, args.opts)
    return None


def _bad_raw():
    raw = raw_migration("sandbox")
    raw["replication"]["publiclyAccessible"] = True
    raw["taskSettings"]["FullLoadSettings"] = {"TargetTablePrepMode": "DROP_AND_CREATE"}
    return raw


def _bad_run():
    return run_program(stack_from(_bad_raw()), transformations=[_inject_password_and_gap])


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_bad_stack_fails_with_exactly_those_rules(stack):
    violations = pc.evaluate(_bad_run(), pc.load_pack_config(pc.pack_config_path(stack)))
    mandatory = {v.policy for v in violations if v.level == "mandatory"}
    expected = {
        "private-replication-instance",
        "no-plaintext-passwords",
        "dynamodb-target-do-nothing",
        "partitions-complete",
    }
    if stack == "prod":
        # prod also requires multi-AZ, a CMK-encrypted table, deletion protection, its tags and r5 classes
        expected |= {"prod-resilience", "encryption", "required-tags", "allowed-instance-classes"}
    assert mandatory == expected
    gap = next(v for v in violations if v.policy == "partitions-complete")
    assert "keys 200000001..200001000 are in no task" in gap.message
    prep = [v for v in violations if v.policy == "dynamodb-target-do-nothing"]
    assert len(prep) == 4 and all("DROP_AND_CREATE" in v.message for v in prep)
    assert all("Sup3rSecret" not in v.message for v in violations)


def test_sandbox_bad_stack_has_no_other_violations_at_all():
    violations = pc.evaluate(_bad_run(), pc.load_pack_config(pc.pack_config_path("sandbox")))
    assert {v.policy for v in violations} == {
        "private-replication-instance",
        "no-plaintext-passwords",
        "dynamodb-target-do-nothing",
        "partitions-complete",
    }


def test_effective_settings_merge_all_level_policy_entry_and_schema_defaults():
    from policies.dms_guardrails import rules

    level, config = pc.effective_settings(rules.encryption, {"all": "advisory"})
    assert (level.value, config) == ("advisory", {"requireCustomerManagedTableKey": False})
    level, config = pc.effective_settings(
        rules.encryption,
        {"all": "advisory", "encryption": {"enforcementLevel": "mandatory", "requireCustomerManagedTableKey": True}},
    )
    assert (level.value, config) == ("mandatory", {"requireCustomerManagedTableKey": True})
    level, _ = pc.effective_settings(rules.prod_resilience, pc.load_pack_config(pc.pack_config_path("sandbox")))
    assert level.value == "disabled"


def test_unknown_policy_in_pack_config_is_named(tmp_path):
    path = tmp_path / "config.x.json"
    path.write_text('{"no-plaintext-password": "mandatory"}')
    with pytest.raises(ValueError, match="'no-plaintext-password' is not a policy"):
        pc.load_pack_config(path)


def test_cli_policy_check_passes_on_shipped_stack_and_reports_time():
    result = runner.invoke(app, ["policy-check", "--stack", "prod", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["violations"] == [] and report["seconds"] > 0


def test_cli_policy_check_fails_on_mandatory_violation(tmp_path, monkeypatch):
    from dmsmig.cli import common as cli_common

    raw = raw_migration("sandbox")
    raw["replication"]["publiclyAccessible"] = True
    monkeypatch.setattr(cli_common, "load_stack_config", lambda stack, project_dir: stack_from(raw))
    result = runner.invoke(app, ["policy-check", "--stack", "sandbox"])
    assert result.exit_code == 1
    assert "[mandatory]" in result.output and "private-replication-instance" in result.output
    assert "migration.replication.publiclyAccessible: false" in result.output


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_rules_never_touch_values_unknown_at_preview(stack):
    """Under preview unknowns (ARNs, key ids, documents built from them) no rule reads an unknown."""
    violations = pc.evaluate(built(stack), pc.load_pack_config(pc.pack_config_path(stack)), preview=True)
    assert violations == []


def test_bad_stack_is_caught_at_preview_too():
    violations = pc.evaluate(_bad_run(), pc.load_pack_config(pc.pack_config_path("sandbox")), preview=True)
    assert {v.policy for v in violations} == {
        "private-replication-instance",
        "no-plaintext-passwords",
        "dynamodb-target-do-nothing",
        "partitions-complete",
    }


def test_preview_hides_computed_values_but_keeps_literals():
    from dmsmig.offline.policy_check import _policy_resources

    resources = _policy_resources(built("prod"), preview=True)
    table = next(r for r in resources if r.resource_type == "aws:dynamodb/table:Table" and r.name == "target-table")
    sse = table.props["serverSideEncryption"]
    assert sse["enabled"] is True
    with pytest.raises(UnknownValueError):
        sse["kmsKeyArn"]
    task = next(r for r in resources if r.resource_type == "aws:dms/replicationTask:ReplicationTask")
    assert task.props["migrationType"] == "full-load"
    with pytest.raises(UnknownValueError):
        task.props["targetEndpointArn"]


def test_the_shipped_bad_example_fails_the_offline_check_with_its_two_rules():
    from dmsmig.config.stack import PROJECT_DIR

    result = runner.invoke(
        app,
        [
            "policy-check",
            "--stack",
            "bad",
            "--project-dir",
            str(PROJECT_DIR / "examples"),
            "--pack-config",
            str(PROJECT_DIR / "policies" / "config.sandbox.json"),
            "--json",
        ],
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert {v["policy"] for v in report["violations"]} == {"private-replication-instance", "dynamodb-target-do-nothing"}
