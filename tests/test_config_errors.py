"""Every bad config stops with a message naming the key path and what to do."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from dmsmig.config.stack import ConfigError, config_from_map, load_stack_config
from tests.conftest import raw_migration, stack_from


def _set(path: list, value) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _delete(path: list) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        node = raw
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


GROUP = ["sources", 0, "taskGroups", 0]
BAD_CONFIGS = [
    (
        "boundaries not increasing",
        _set([*GROUP, "partitions"], {"boundaries": [300, 200]}),
        "migration.sources[0].taskGroups[0].partitions.boundaries: must be strictly increasing",
    ),
    (
        "count without min/max",
        _set([*GROUP, "partitions"], {"count": 4}),
        "migration.sources[0].taskGroups[0].partitions: 'count' above 1 needs 'min' and 'max'",
    ),
    (
        "boundaries and count together",
        _set([*GROUP, "partitions"], {"boundaries": [5], "count": 2, "min": 1, "max": 9}),
        "migration.sources[0].taskGroups[0].partitions: use either 'boundaries' or 'count'",
    ),
    (
        "max below min",
        _set([*GROUP, "partitions"], {"count": 2, "min": 10, "max": 1}),
        "migration.sources[0].taskGroups[0].partitions.max: must be at least min (10)",
    ),
    (
        "a password key",
        _set(["sources", 0, "password"], "hunter2"),
        "migration.sources[0].password: secrets are never accepted in config",
    ),
    (
        "password in extra connection attributes",
        _set(["sources", 0, "extraConnectionAttributes"], "useBfile=Y;password=hunter2"),
        "migration.sources[0].extraConnectionAttributes: contains a password",
    ),
    (
        "secret by both name and arn",
        _set(
            ["sources", 0, "secret"],
            {"name": "x", "arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf"},
        ),
        "migration.sources[0].secret: set exactly one of 'arn' or 'name'",
    ),
    (
        "one subnet",
        _set(["network", "subnetIds"], ["subnet-0a1b2c3d4e5f60001"]),
        "migration.network.subnetIds: DMS needs a subnet group over at least 2 subnets",
    ),
    (
        "malformed subnet id",
        _set(["network", "subnetIds"], ["subnet-0a1b2c3d4e5f60001", "sn-private-a"]),
        "migration.network.subnetIds[1]: 'sn-private-a' is not a subnet id",
    ),
    ("unknown engine", _set(["sources", 0, "engine"], "db2"), "migration.sources[0].engine: Input should be"),
    (
        "misspelt key",
        _set(["replication", "instanceClas"], "dms.t3.medium"),
        "migration.replication.instanceClas: unknown key",
    ),
    ("missing table name", _delete(["target", "tableName"]), "migration.target.tableName: required key is missing"),
    (
        "unknown mapping spec",
        _set([*GROUP, "mapping"], "orders_v2"),
        "migration.sources[0].taskGroups[0].mapping: mapping spec 'orders_v2' not found",
    ),
    (
        "view with CDC",
        _set([*GROUP, "migrationType"], "full-load-and-cdc"),
        "migration.sources[0].taskGroups[0].migrationType: DMS replicates views only in full-load tasks",
    ),
    (
        "misspelt task setting",
        _set([*GROUP, "taskSettings"], {"FullLoadSettings": {"TargetTablePrepmode": "DO_NOTHING"}}),
        "migration.sources[0].taskGroups[0].taskSettings.FullLoadSettings.TargetTablePrepmode: unknown DMS task setting",
    ),
    (
        "commit rate out of range",
        _set(["taskSettings"], {"FullLoadSettings": {"CommitRate": 0}}),
        "migration.taskSettings.FullLoadSettings.CommitRate: Input should be greater than or equal to 1",
    ),
    (
        "provisioned without capacity",
        _set(["target", "billingMode"], "PROVISIONED"),
        "migration.target.readCapacity: required when billingMode is PROVISIONED",
    ),
    (
        "verify-full without certificate",
        _set(["sources", 0, "sslMode"], "verify-full"),
        "migration.sources[0].certificateArn: required with sslMode verify-full",
    ),
    (
        "duplicate source names",
        lambda raw: raw["sources"].append(dict(raw["sources"][0])),
        "migration.sources[1].name: 'orders' is used twice",
    ),
    (
        "mapping without the table's sort key",
        _set(["target", "sortKey"], "EventTime"),
        "migration.sources[0].taskGroups[0].mapping: mappings/order_events.yaml has no attribute 'EventTime'",
    ),
    (
        "task id too long",
        _set([*GROUP, "name"], "a-very-long-task-group-name-that-breaks-dms-identifier-limits"),
        "migration.sources[0].taskGroups[0].name: task resource identifier (ARN, metric dimension) 'ordersvc-sbx-orders-a-very",
    ),
    ("bad environment", _set(["environment"], "production"), "migration.environment: Input should be"),
]


@pytest.mark.parametrize(("case", "change", "expected"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_the_key_path(case, change, expected):
    raw = raw_migration("sandbox")
    change(raw)
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    problems = caught.value.problems
    assert any(p.startswith(expected) for p in problems), problems


def test_at_least_twelve_bad_configs_are_covered():
    assert len(BAD_CONFIGS) >= 12


def test_password_values_are_never_echoed_in_errors():
    raw = raw_migration("sandbox")
    raw["sources"][0]["extraConnectionAttributes"] = "password=S3cr3t-value"
    raw["sources"][0]["dbPassword"] = "S3cr3t-value"
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert "S3cr3t-value" not in str(caught.value)


def test_missing_region_and_missing_object_are_named():
    with pytest.raises(ConfigError, match="aws:region: missing"):
        config_from_map({"dms-migration:migration": raw_migration()}, "dms-migration", "x")
    with pytest.raises(ConfigError, match="dms-migration:migration: missing"):
        config_from_map({"aws:region": "eu-west-1"}, "dms-migration", "x")


def test_unknown_stack_lists_the_stacks_that_exist():
    with pytest.raises(ConfigError, match="stacks here: prod, sandbox"):
        load_stack_config("staging")


def test_environment_dependent_defaults():
    sandbox = stack_from(raw_migration("sandbox")).migration
    prod = stack_from(raw_migration("prod")).migration
    assert (sandbox.multi_az, sandbox.deletion_protection) == (False, False)
    assert (prod.multi_az, prod.deletion_protection) == (True, True)
    raw = raw_migration("prod")
    del raw["replication"]["multiAz"], raw["target"]["deletionProtection"]
    assert stack_from(raw).migration.multi_az is True
    assert stack_from(raw).migration.deletion_protection is True


def test_the_config_reference_page_is_current():
    from dmsmig.config.reference import REFERENCE_PAGE, markdown
    from dmsmig.config.stack import PROJECT_DIR

    page = (PROJECT_DIR / REFERENCE_PAGE).read_text()
    assert markdown() in page, "run: python -m dmsmig config-reference --write"


def test_every_problem_of_a_file_is_reported_in_one_run():
    from dmsmig.config.stack import ConfigError

    raw = raw_migration()
    raw["environment"] = "qa"
    raw["target"]["tableNam"] = "x"
    group = raw["sources"][0]["taskGroups"][0]
    group["mapping"] = "no_such_mapping"
    group["partitions"] = {"boundaries": [5, 3]}
    raw["sources"][0]["password"] = "x"
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    keys = [p.split(":", 1)[0] for p in caught.value.problems]
    assert keys == [
        "migration.sources[0].password",
        "migration.environment",
        "migration.target.tableNam",
        "migration.sources[0].taskGroups[0].mapping",
        "migration.sources[0].taskGroups[0].partitions.boundaries",
    ]


@pytest.mark.parametrize("value", ["yes", "on", 1, "maybe", "true", 0])
def test_a_boolean_is_true_or_false_only_and_the_key_path_is_named(value):
    from dmsmig.config.stack import ConfigError

    raw = raw_migration("prod")
    raw["replication"]["multiAz"] = value
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems == [f"migration.replication.multiAz: must be true or false (unquoted), not {value!r}"]


def test_task_settings_booleans_are_strict_too():
    from dmsmig.config.stack import ConfigError

    raw = raw_migration("sandbox")
    raw["taskSettings"]["Logging"] = {"EnableLogging": "no"}
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert "taskSettings.Logging.EnableLogging: must be true or false (unquoted), not 'no'" in caught.value.problems[0]


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:kms:eu-west-1:123456789012:", "arn:aws:kms:eu-west-1:123456789012:key/", "arn:aws:kms:eu-west-1:1234:key/x"],
)
def test_a_kms_arn_without_region_account_or_key_id_is_refused(arn):
    from dmsmig.config.stack import ConfigError

    raw = raw_migration("sandbox")
    raw["replication"]["kmsKeyArn"] = arn
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems == [
        f"migration.replication.kmsKeyArn: {arn!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
    ]


@pytest.mark.parametrize(
    ("engine", "declared", "fragment"),
    [
        ("sqlserver", "decimal(50,2)", "sqlserver takes a precision of 1 to 38, not 50"),
        ("oracle", "number(39)", "oracle takes a precision of 1 to 38, not 39"),
        ("sqlserver", "numeric(5,7)", "the scale must be from 0 to the precision 5"),
    ],
)
def test_a_numeric_precision_the_engine_does_not_take_is_refused(engine, declared, fragment):
    from dmsmig.contract.type_paths import UnknownType, parse_column

    with pytest.raises(UnknownType, match=re.escape(fragment)):
        parse_column(engine, declared)


def test_oracle_keeps_a_scale_above_its_precision():
    from dmsmig.contract.type_paths import parse_column

    assert parse_column("oracle", "number(3,5)").scale == 5  # Oracle takes it: 0.00123


@pytest.mark.parametrize(
    ("stack", "fragment"),
    [
        ("a" * 300, "a stack name has 1 to 100 characters, not 300"),
        ("../x/prod", "is a path or a qualified name; pass the stack's short name (e.g. 'prod')"),
        ("org/project/prod", "pass the stack's short name (e.g. 'prod')"),
        ("sand box", "may hold only letters, digits"),
    ],
)
def test_a_stack_name_that_cannot_name_a_stack_file_is_exit_2_naming_the_option(stack, fragment):
    from typer.testing import CliRunner

    from dmsmig.cli import app

    result = CliRunner().invoke(app, ["plan", "--stack", stack], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "--stack" in result.output and fragment in result.output
    assert "Traceback" not in result.output and "File name too long" not in result.output


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda text: text.replace("rows: 12000000", "rows: " + "9" * 5000), "a number longer than 4,300 digits"),
        (lambda text: text.replace("config:\n", "config:\n  x: " + "[" * 3000 + "]" * 3000 + "\n", 1), "nests deeper"),
    ],
    ids=["5000-digit integer", "3000 levels of nesting"],
)
def test_an_absurd_stack_file_is_exit_2_with_the_bound(project_copy, edit, fragment):
    from typer.testing import CliRunner

    from dmsmig.cli import app
    from dmsmig.config.stack import PROJECT_DIR

    (project_copy / "Pulumi.odd.yaml").write_text(edit((PROJECT_DIR / "Pulumi.sandbox.yaml").read_text()))
    result = CliRunner().invoke(app, ["plan", "--stack", "odd", "--project-dir", str(project_copy)])
    assert result.exit_code == 2 and fragment in result.output and "unexpected error" not in result.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [('{"tableName": ' + "9" * 5000 + "}", "longer than 4,300 digits"), ("[" * 100000 + "]" * 100000, "nests deeper")],
    ids=["5000-digit integer", "100000 levels of nesting"],
)
def test_an_absurd_outputs_file_is_exit_2_with_the_bound(tmp_path, content, fragment):
    from typer.testing import CliRunner

    from dmsmig.cli import app

    path = tmp_path / "outputs.json"
    path.write_text(content)
    result = CliRunner().invoke(app, ["status", "--stack", "sandbox", "--outputs-file", str(path)])
    assert result.exit_code == 2 and fragment in result.output and f"outputs file {path}" in result.output


def test_a_yaml_error_names_where_the_unclosed_construct_starts_not_only_where_it_was_noticed():
    from dmsmig.config.errors import ConfigError
    from dmsmig.config.yaml_files import parse_yaml

    with pytest.raises(ConfigError) as caught:
        parse_yaml("config:\n  subnetIds: [subnet-1, subnet-2\n  vpcId: vpc-1\n", "Pulumi.x.yaml")
    [problem] = caught.value.problems
    assert "at line 3, column 8" in problem and "in what starts at line 2, column 14" in problem
