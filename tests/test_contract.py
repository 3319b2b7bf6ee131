"""AWS contract: every request the stacks become is one AWS accepts, and each documented fact is enforced.

Each stack is built under the mock engine, every resource is turned into the API request(s) the
provider sends (CreateReplicationTask, CreateEndpoint, PutRolePolicy, PutMetricAlarm, ...), and
each request is checked with botocore's validation, the model's enums/lengths/patterns, and the
fact table. The fact tests below each failed on the code before the contract layer.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.stack import PROJECT_DIR, ConfigError, load_stack_config
from dmsmig.contract import facts, model
from dmsmig.contract.check import check_resources, request_contract_problems, task_settings_problems
from dmsmig.contract.requests import TRANSLATIONS, ApiRequest
from dmsmig.model.iam_docs import dynamodb_target_policy, secret_read_policy
from dmsmig.offline.mock_engine import run_program
from tests.conftest import built, raw_migration, stack_from

FIXTURE = Path(__file__).parent / "fixtures" / "dms_task_settings_example.json"
TASK = "aws:dms/replicationTask:ReplicationTask"
ENDPOINT = "aws:dms/endpoint:Endpoint"
CERT = "arn:aws:dms:eu-west-1:123456789012:cert:SOURCE-CA"


def problems_of(run) -> list[str]:
    _requests, problems = check_resources(run.resources)
    return [str(p) for p in problems]


def build_raw(raw: dict):
    return run_program(stack_from(raw), stack_name="variant")


# Stacks as shipped ---------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["sandbox", "prod"])
def test_shipped_stacks_send_only_requests_aws_accepts(stack):
    requests, problems = check_resources(built(stack).resources)
    assert problems == []
    operations = {r.operation for r in requests}
    assert {"CreateReplicationTask", "CreateEndpoint", "CreateReplicationInstance", "CreateTable"} <= operations
    assert {"PutRolePolicy", "PutMetricAlarm", "PutRule", "CreateReplicationSubnetGroup"} <= operations


@pytest.mark.parametrize("stack", ["bad", "many"])
def test_example_stacks_send_only_requests_aws_accepts(stack):
    run = run_program(load_stack_config(stack, PROJECT_DIR / "examples"), stack_name=stack)
    assert problems_of(run) == []


def test_every_resource_type_the_program_declares_has_a_translation():
    types = {r.type for stack in ("sandbox", "prod") for r in built(stack).resources if r.custom}
    assert types <= set(TRANSLATIONS)


# Variants: each engine with each SSL mode it supports, each migration type ------------------------
ENGINE_MODES = [(engine, mode) for engine, modes in facts.SSL_SUPPORT.items() for mode in modes]


@pytest.mark.parametrize(("engine", "mode"), ENGINE_MODES, ids=[f"{e}-{m}" for e, m in ENGINE_MODES])
def test_each_engine_with_each_supported_ssl_mode_is_accepted(engine, mode):
    raw = raw_migration()
    source = raw["sources"][0]
    source.update(engine=engine, sslMode=mode)
    if mode in facts.SSL_NEEDS_CERTIFICATE:
        source["certificateArn"] = CERT
    run = build_raw(raw)
    assert problems_of(run) == []
    [endpoint] = [e for e in run.of_type(ENDPOINT) if e.inputs["endpointType"] == "source"]
    assert endpoint.inputs["sslMode"] == mode


@pytest.mark.parametrize("engine", sorted(facts.SSL_SUPPORT))
def test_each_engine_default_ssl_mode_is_supported_and_encrypts(engine):
    raw = raw_migration()
    source = raw["sources"][0]
    source.pop("sslMode")
    source.update(engine=engine, certificateArn=CERT)
    run = build_raw(raw)
    [endpoint] = [e for e in run.of_type(ENDPOINT) if e.inputs["endpointType"] == "source"]
    assert endpoint.inputs["sslMode"] in facts.SSL_SUPPORT[engine]
    assert endpoint.inputs["sslMode"] != "none"
    assert problems_of(run) == []


@pytest.mark.parametrize("migration_type", facts.MIGRATION_TYPES)
def test_each_migration_type_is_sent_as_dms_spells_it(migration_type):
    raw = raw_migration()
    group = raw["sources"][0]["taskGroups"][0]
    group.update(migrationType=migration_type, mapping="orders_table")
    run = build_raw(raw)
    assert problems_of(run) == []
    tasks = run.of_type(TASK)
    assert {t.inputs["migrationType"] for t in tasks} == {migration_type}
    settings = json.loads(tasks[0].inputs["replicationTaskSettings"])
    carries_cdc = "ChangeProcessingTuning" in settings
    assert carries_cdc is (migration_type != "full-load")


# Fact by fact --------------------------------------------------------------------------------
def test_limits_come_from_botocores_model():
    assert facts.TASK_RESOURCE_IDENTIFIER_MAX == 31
    assert facts.TASK_IDENTIFIER_MAX == 255
    assert facts.INSTANCE_IDENTIFIER_MAX == 63
    assert facts.MIGRATION_TYPES == model.enum("dms", "MigrationTypeValue") == ("full-load", "cdc", "full-load-and-cdc")
    assert set(facts.SSL_MODES) == {"none", "require", "verify-ca", "verify-full"}
    assert "RUNNING" in model.member_doc("dms", "ReloadTables")


def test_a_33_character_resource_identifier_is_refused_by_the_contract_check():
    request = ApiRequest(
        "dms",
        "CreateReplicationTask",
        {
            "ReplicationTaskIdentifier": "sandbox-ordersvc-orders-events-p1",
            "ResourceIdentifier": "sandbox-ordersvc-orders-events-p1",
            "SourceEndpointArn": "arn:s",
            "TargetEndpointArn": "arn:t",
            "ReplicationInstanceArn": "arn:i",
            "MigrationType": "full-load",
            "TableMappings": "{}",
        },
        "task",
    )
    [problem] = request_contract_problems(request)
    assert "ResourceIdentifier 'sandbox-ordersvc-orders-events-p1' is 33 characters; AWS allows at most 31" in str(
        problem
    )


def test_shipped_task_resource_identifiers_fit_and_keep_a_stack_prefix():
    for stack, prefix in (("sandbox", "ordersvc-sbx-"), ("prod", "ordersvc-prd-")):
        for task in built(stack).of_type(TASK):
            resource_id = task.inputs["resourceIdentifier"]
            assert resource_id.startswith(prefix) and len(resource_id) <= 31


def test_names_that_cannot_fit_fail_config_validation_saying_how_long_they_may_be():
    raw = raw_migration()
    raw["sources"][0]["name"] = "ordersdatabase"
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    [problem] = caught.value.problems
    assert problem.startswith("migration.sources[0].taskGroups[0].name: task resource identifier")
    assert "is 37 characters and AWS allows 31; source and group names may have 14 characters together" in problem


@pytest.mark.parametrize(
    ("engine", "mode"),
    [("oracle", "verify-full"), ("oracle", "require"), ("sqlserver", "verify-ca"), ("mysql", "require")],
)
def test_unsupported_ssl_mode_for_the_engine_is_a_config_error(engine, mode):
    raw = raw_migration()
    raw["sources"][0].update(engine=engine, sslMode=mode, certificateArn=CERT)
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems == [
        f"migration.sources[0].sslMode: '{mode}' is not supported by DMS for {engine}; "
        f"use one of {', '.join(facts.SSL_SUPPORT[engine])}"
    ]


def test_oracle_default_ssl_needs_a_wallet_certificate():
    raw = raw_migration()
    raw["sources"][0].update(engine="oracle")
    raw["sources"][0].pop("sslMode")
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    [problem] = caught.value.problems
    assert problem.startswith(
        "migration.sources[0].certificateArn: required with sslMode verify-ca (the oracle default)"
    )
    assert "Oracle wallet (.sso)" in problem


def test_contract_check_refuses_an_unsupported_ssl_mode_on_the_endpoint_request():
    request = ApiRequest(
        "dms",
        "CreateEndpoint",
        {"EndpointIdentifier": "e", "EndpointType": "source", "EngineName": "oracle", "SslMode": "verify-full"},
        "endpoint",
    )
    messages = [p.message for p in request_contract_problems(request)]
    assert "SslMode 'verify-full' is not supported for oracle (supported: none, verify-ca)" in messages


def test_cdc_only_is_not_a_dms_migration_type():
    raw = raw_migration()
    raw["sources"][0]["taskGroups"][0].update(migrationType="cdc-only", mapping="orders_table")
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems == [
        "migration.sources[0].taskGroups[0].migrationType: 'cdc-only' is not a DMS migration type "
        "(use full-load, cdc, full-load-and-cdc); for changes only use cdc"
    ]
    request = ApiRequest("dms", "CreateReplicationTask", {"MigrationType": "cdc-only"}, "task")
    assert any(
        "'cdc-only' is not one of full-load, cdc, full-load-and-cdc" in p.message
        for p in request_contract_problems(request)
    )


def test_mysql_endpoints_do_not_send_a_database_name():
    raw = raw_migration()
    raw["sources"][0].update(engine="mysql", sslMode="verify-full", certificateArn=CERT)
    run = build_raw(raw)
    [endpoint] = [e for e in run.of_type(ENDPOINT) if e.inputs["endpointType"] == "source"]
    assert "databaseName" not in endpoint.inputs
    request = ApiRequest(
        "dms",
        "CreateEndpoint",
        {"EndpointIdentifier": "e", "EndpointType": "source", "EngineName": "mysql", "DatabaseName": "shop"},
        "endpoint",
    )
    assert any("not to specify it for a mysql endpoint" in p.message for p in request_contract_problems(request))


def test_a_column_mapped_under_another_name_must_be_excluded():
    raw = {
        "source": {"schema": "AUTH", "object": "V", "objectType": "view"},
        "keyColumn": "EVENT_ID",
        "excludeColumns": ["EVENT_ID"],
        "attributes": [
            {"name": "PK", "value": "cust#${CUSTOMER_ID}"},
            {"name": "itemdata", "value": "${PAYLOAD}"},
        ],
    }
    with pytest.raises(ValueError, match="column CUSTOMER_ID is mapped into 'PK'.*add CUSTOMER_ID to excludeColumns"):
        MappingSpec.model_validate(raw)
    fixed = copy.deepcopy(raw)
    fixed["excludeColumns"] += ["CUSTOMER_ID", "PAYLOAD"]
    assert MappingSpec.model_validate(fixed).exclude_columns == ["EVENT_ID", "CUSTOMER_ID", "PAYLOAD"]


def test_secret_with_its_own_key_gets_decrypt_and_describe_key():
    document = json.loads(
        secret_read_policy("arn:aws:secretsmanager:eu-west-1:1:secret:s", "arn:aws:kms:eu-west-1:1:key/k")
    )
    [kms] = [s for s in document["Statement"] if s["Resource"] == "arn:aws:kms:eu-west-1:1:key/k"]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]
    old = {
        "Statement": [
            {"Action": ["secretsmanager:GetSecretValue"], "Effect": "Allow", "Resource": "s"},
            {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": "k"},
        ]
    }
    request = ApiRequest(
        "iam", "PutRolePolicy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": json.dumps(old)}, "r"
    )
    assert [p.message for p in request_contract_problems(request)] == [
        "reads a secret with its own KMS key but lacks kms:DescribeKey"
    ]


def test_dynamodb_role_stays_within_the_documented_actions_and_explains_what_it_leaves_out():
    document = json.loads(dynamodb_target_policy("arn:aws:dynamodb:eu-west-1:1:table/events"))
    statements = {s["Sid"]: s for s in document["Statement"]}
    documented = set(facts.DYNAMODB_ROLE_DOCUMENTED_ACTIONS)
    assert set(statements["WriteTargetTable"]["Action"]) == documented - {
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
    }
    assert set(statements["ManageControlTables"]["Action"]) == documented  # DMS's own tables: all it documents
    old = {"Statement": [{"Action": ["dynamodb:BatchWriteItem", "dynamodb:Scan"], "Effect": "Allow", "Resource": "t"}]}
    request = ApiRequest(
        "iam", "PutRolePolicy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": json.dumps(old)}, "r"
    )
    assert [p.message for p in request_contract_problems(request)] == [
        "grants dynamodb:BatchWriteItem, dynamodb:Scan, beyond the documented DynamoDB target actions"
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TableErrorEscalationPolicy", "SUSPEND_TABLE"),
        ("DataErrorPolicy", "INSERT_RECORD"),
        ("ApplyErrorDeletePolicy", "UPDATE_RECORD"),
    ],
)
def test_error_behavior_values_are_checked_per_key(key, value):
    raw = raw_migration()
    raw["taskSettings"] = {"ErrorBehavior": {key: value}}
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    [problem] = caught.value.problems
    assert problem.startswith(f"migration.taskSettings.ErrorBehavior.{key}: '{value}' is not allowed here; DMS accepts")
    assert task_settings_problems({"ErrorBehavior": {key: value}}, "full-load")


def test_insert_and_update_record_are_allowed_for_their_apply_policies():
    raw = raw_migration()
    raw["taskSettings"] = {
        "ErrorBehavior": {"ApplyErrorInsertPolicy": "INSERT_RECORD", "ApplyErrorUpdatePolicy": "UPDATE_RECORD"}
    }
    assert stack_from(raw).migration.task_settings["ErrorBehavior"]["ApplyErrorInsertPolicy"] == "INSERT_RECORD"


def test_full_load_tasks_carry_no_cdc_sections_and_a_cdc_override_on_them_is_refused():
    for task in built("sandbox").of_type(TASK):
        settings = json.loads(task.inputs["replicationTaskSettings"])
        assert not set(facts.CDC_ONLY_SECTIONS) & set(settings)
    raw = raw_migration()
    raw["sources"][0]["taskGroups"][0]["taskSettings"] = {"ChangeProcessingTuning": {"CommitTimeout": 5}}
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems == [
        "migration.sources[0].taskGroups[0].taskSettings.ChangeProcessingTuning: applies only to CDC and this group "
        "is full-load; remove it (or change migrationType)"
    ]


def test_alarm_period_must_suit_standard_resolution_metrics():
    raw = raw_migration()
    raw["monitoring"]["alarmPeriodSeconds"] = 45
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems[0].startswith("migration.monitoring.alarmPeriodSeconds:")


def test_task_settings_are_sent_in_the_shape_dms_returns():
    returned = json.loads(FIXTURE.read_text())
    for stack in ("sandbox", "prod"):
        for task in built(stack).of_type(TASK):
            sent = json.loads(task.inputs["replicationTaskSettings"])
            for section, keys in returned.items():
                if section.startswith("_") or section not in sent:
                    continue
                missing = set(keys) - set(sent[section])
                assert not missing, f"{section} lacks {sorted(missing)}, which DMS returns"


def test_request_missing_a_required_member_is_reported():
    request = ApiRequest("dms", "CreateEndpoint", {"EndpointIdentifier": "e", "EngineName": "oracle"}, "endpoint")
    assert any("EndpointType" in p.message for p in request_contract_problems(request))


def test_every_fact_names_where_aws_states_it():
    # AWS's pages and models; for what the provider itself refuses, the provider's source
    where = ("https://docs.aws.amazon.com/", "https://aws.amazon.com/", "botocore ")
    provider = "https://github.com/hashicorp/terraform-provider-aws/"
    for fact in facts.FACTS.values():
        assert fact.source.startswith((*where, provider)), fact.name


# The first pulumi up in a fresh account ------------------------------------------------------------
def test_account_roles_are_followed_by_an_iam_propagation_wait_before_the_subnet_group():
    run = built("sandbox")
    [sleep] = run.of_type("time:index/sleep:Sleep")
    assert sleep.inputs["createDuration"] == "10s"
    [subnets] = run.of_type("aws:dms/replicationSubnetGroup:ReplicationSubnetGroup")
    assert sleep.urn in subnets.dependencies
    attachments = {r.urn for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attachments <= set(sleep.dependencies)


def test_prod_creates_the_vpc_endpoints_a_private_instance_needs_before_the_instance():
    run = built("prod")
    endpoints = {e.inputs["serviceName"]: e for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {"com.amazonaws.eu-west-1.secretsmanager", "com.amazonaws.eu-west-1.dynamodb"}
    assert endpoints["com.amazonaws.eu-west-1.secretsmanager"].inputs["privateDnsEnabled"] is True
    assert endpoints["com.amazonaws.eu-west-1.dynamodb"].inputs["vpcEndpointType"] == "Gateway"
    [instance] = run.of_type("aws:dms/replicationInstance:ReplicationInstance")
    assert {e.urn for e in endpoints.values()} <= set(instance.dependencies)


def test_a_dynamodb_gateway_endpoint_needs_route_tables():
    raw = raw_migration()
    raw["network"]["vpcEndpoints"] = {"dynamodb": True}
    with pytest.raises(ConfigError) as caught:
        stack_from(raw)
    assert caught.value.problems == [
        "migration.network.routeTableIds: required with vpcEndpoints.dynamodb: list the route tables of the subnets"
    ]


def test_preflight_names_the_missing_secrets_manager_endpoint():
    from dmsmig.ops.preflight import connection_fix

    fix = connection_fix("Failed to retrieve secret from Secrets Manager: connect timeout")
    assert "network.vpcEndpoints.secretsManager: true" in fix
    assert "security groups" in connection_fix("Login failed for user")


def test_the_docs_fact_table_is_generated_from_the_fact_table():
    from dmsmig.cli.plan import FACTS_BEGIN, FACTS_END, FACTS_PAGE
    from dmsmig.contract.facts import markdown_table

    text = (PROJECT_DIR / FACTS_PAGE).read_text()
    section = text[text.index(FACTS_BEGIN) + len(FACTS_BEGIN) + 1 : text.index(FACTS_END)]
    assert section == markdown_table(), "run: python -m dmsmig contract-facts --write"


def test_a_secret_looking_value_is_never_printed_back(tmp_path):
    import shutil

    import yaml
    from typer.testing import CliRunner

    from dmsmig.cli import app
    from dmsmig.config.stack import PROJECT_DIR

    for name in ("Pulumi.yaml", "Pulumi.sandbox.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    path = tmp_path / "Pulumi.sandbox.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["dms-migration:migration"].setdefault("tags", {})["note"] = "password=hunter2{}"
    path.write_text(yaml.safe_dump(doc))
    for argv in (["plan"], ["plan", "--json"]):
        result = CliRunner().invoke(app, [*argv, "--stack", "sandbox", "--project-dir", str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert "hunter2" not in result.output and "password=<redacted>" in result.output


def test_sensitive_members_are_shown_by_length_only():
    from dmsmig.contract.redact import redact
    from dmsmig.contract.shapes import request_problems

    problems = request_problems(
        "dms", "CreateEndpoint", {"EndpointIdentifier": "e", "EndpointType": "source", "EngineName": "x", "Password": 5}
    )
    assert problems == [
        "Invalid type for parameter Password, value: <redacted>, type: <class 'int'>, valid types: <class 'str'>"
    ]
    assert redact("url?pwd=abc;token:xyz") == "url?pwd=<redacted>;token:<redacted>"
    assert redact("sources[0].secret: required key is missing") == "sources[0].secret: required key is missing"


def test_every_dms_tag_follows_the_documented_tag_rules_and_a_bad_one_is_refused():
    from dmsmig.contract.check import check_resources
    from dmsmig.model.load import ESTIMATE_TAG
    from dmsmig.offline.mock_engine import run_program
    from tests.conftest import raw_migration, stack_from

    requests, problems = check_resources(built("prod").resources)
    tasks = [r for r in requests if r.operation == "CreateReplicationTask"]
    assert problems == []
    expected = {"orders-events": "rows=95000000 rowBytes=1800", "auth-events": "rows=27500000 rowBytes=700"}
    for request in tasks:
        group = next(g for g in expected if f"-{g}-" in request.params["ReplicationTaskIdentifier"])
        assert {"Key": ESTIMATE_TAG, "Value": expected[group]} in request.params["Tags"]
    raw = raw_migration("sandbox")
    raw["tags"] = {"Owner": "team@example.com"}  # '@' is outside DMS's tag pattern (botocore Tag.Value)
    _requests, refused = check_resources(run_program(stack_from(raw)).resources)
    dms = {p.operation for p in refused if "tag 'Owner': the value has a character DMS refuses" in p.message}
    assert {"CreateReplicationTask", "CreateEndpoint", "CreateReplicationInstance"} <= dms
