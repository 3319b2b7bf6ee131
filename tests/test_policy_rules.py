"""Every rule passes a good resource or stack and fails a bad one with a named message."""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.dms_guardrails import rules
from policies.dms_guardrails.props import (
    ALARM,
    ENDPOINT,
    EVENT_SUBSCRIPTION,
    INSTANCE,
    RANDOM_PASSWORD,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    SECRET_VERSION,
    TABLE,
    TASK,
)
from tests.policy_helpers import check_resource, check_stack, resource

SOURCE = {
    "endpointType": "source",
    "engineName": "sqlserver",
    "secretsManagerArn": "arn:aws:secretsmanager:eu-west-1:1:secret:s",
    "secretsManagerAccessRoleArn": "arn:aws:iam::1:role/r",
    "sslMode": "require",
    "kmsKeyArn": "arn:aws:kms:eu-west-1:1:key/k",
}
INSTANCE_OK = {
    "publiclyAccessible": False,
    "multiAz": True,
    "autoMinorVersionUpgrade": True,
    "kmsKeyArn": "arn:aws:kms:eu-west-1:1:key/k",
}
TABLE_OK = {
    "serverSideEncryption": {"enabled": True, "kmsKeyArn": "arn:aws:kms:eu-west-1:1:key/k"},
    "deletionProtectionEnabled": True,
    "pointInTimeRecovery": {"enabled": True},
}
SETTINGS_OK = {
    "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
    "Logging": {"EnableLogging": True, "LogComponents": [{"Id": "SOURCE_UNLOAD"}, {"Id": "TARGET_LOAD"}]},
}


# no-plaintext-passwords ---------------------------------------------------------------------
def test_passwords_pass_when_credentials_come_from_secrets_manager():
    assert check_resource(rules.no_plaintext_passwords, ENDPOINT, SOURCE) == []


@pytest.mark.parametrize(
    ("type_", "props", "fragment"),
    [
        (ENDPOINT, {**SOURCE, "password": "hunter2"}, "'password' argument"),
        (ENDPOINT, {**SOURCE, "extraConnectionAttributes": "useBfile=Y;password=x"}, "extraConnectionAttributes"),
        (SECRET_VERSION, {"secretId": "s", "secretString": "x"}, "secret value is declared"),
        (RANDOM_PASSWORD, {"length": 24}, "generated password"),
        (ENDPOINT, {**SOURCE, "oracleSettings": {"asmPassword": "x"}}, "oracleSettings.asmPassword"),
        (ROLE, {"description": '{"password": "x"}'}, "password assignment"),
    ],
)
def test_passwords_fail_anywhere_in_inputs(type_, props, fragment):
    messages = check_resource(rules.no_plaintext_passwords, type_, props)
    assert any(fragment in m for m in messages), messages
    assert all("Secrets Manager" in m for m in messages)


def test_unknown_values_at_preview_are_skipped_not_read():
    props = {**SOURCE, "secretsManagerAccessRoleArn": UNKNOWN_STRING_VALUE}
    assert check_resource(rules.no_plaintext_passwords, ENDPOINT, props) == []


# endpoints-use-secrets-manager ----------------------------------------------------------------
def test_secrets_manager_rule():
    assert check_resource(rules.endpoints_use_secrets_manager, ENDPOINT, SOURCE) == []
    bad = {k: v for k, v in SOURCE.items() if k != "secretsManagerAccessRoleArn"}
    assert check_resource(rules.endpoints_use_secrets_manager, ENDPOINT, bad) == [
        "source endpoint has no secretsManagerAccessRoleArn; set migration.sources[].secret (arn or name) so DMS "
        "reads the credentials from Secrets Manager through its access role"
    ]
    target = {"endpointType": "target", "engineName": "dynamodb"}
    assert check_resource(rules.endpoints_use_secrets_manager, ENDPOINT, target) == []


# private-replication-instance -----------------------------------------------------------------
def test_private_instance_rule_fails_when_public_or_unset():
    assert check_resource(rules.private_replication_instance, INSTANCE, INSTANCE_OK) == []
    public = check_resource(rules.private_replication_instance, INSTANCE, {**INSTANCE_OK, "publiclyAccessible": True})
    assert public and "migration.replication.publiclyAccessible: false" in public[0]
    unset = {k: v for k, v in INSTANCE_OK.items() if k != "publiclyAccessible"}
    assert "DMS API default is public" in check_resource(rules.private_replication_instance, INSTANCE, unset)[0]


# dynamodb-target-do-nothing -------------------------------------------------------------------
def _task(settings: dict | None, target, name: str = "t1", extra: dict | None = None):
    props = {"replicationTaskId": name, "migrationType": "full-load", **(extra or {})}
    if settings is not None:
        props["replicationTaskSettings"] = json.dumps(settings)
    return resource(TASK, props, name, {"targetEndpointArn": [target]})


def test_do_nothing_rule_follows_the_task_target_reference():
    ddb = resource(ENDPOINT, {"endpointType": "target", "engineName": "dynamodb"}, "ddb")
    s3 = resource(ENDPOINT, {"endpointType": "target", "engineName": "s3"}, "s3")
    ok = _task(SETTINGS_OK, ddb, "ok")
    drop = _task({"FullLoadSettings": {"TargetTablePrepMode": "DROP_AND_CREATE"}}, ddb, "drop")
    unset = _task({}, ddb, "unset")
    other_target = _task({}, s3, "s3task")
    found = check_stack(rules.dynamodb_target_do_nothing, [ddb, s3, ok, drop, unset, other_target])
    assert [urn.rsplit("::", 1)[-1] for _m, urn in found] == ["drop", "unset"]
    assert "TargetTablePrepMode DROP_AND_CREATE" in found[0][0]
    assert "unset (DMS then drops and recreates the table)" in found[1][0]


def test_do_nothing_rule_matches_by_arn_when_no_dependency_is_recorded():
    ddb = resource(ENDPOINT, {"engineName": "dynamodb", "endpointArn": "arn:e"}, "ddb")
    task = resource(TASK, {"targetEndpointArn": "arn:e", "replicationTaskSettings": "{}"}, "t")
    assert len(check_stack(rules.dynamodb_target_do_nothing, [ddb, task])) == 1


# encryption -----------------------------------------------------------------------------------
def test_encryption_rule():
    assert check_resource(rules.encryption, INSTANCE, INSTANCE_OK) == []
    no_key = {k: v for k, v in INSTANCE_OK.items() if k != "kmsKeyArn"}
    assert "has no kmsKeyArn" in check_resource(rules.encryption, INSTANCE, no_key)[0]
    managed = {**TABLE_OK, "serverSideEncryption": {"enabled": True}}
    assert check_resource(rules.encryption, TABLE, managed) == []
    assert (
        "customer-managed"
        in check_resource(rules.encryption, TABLE, managed, {"requireCustomerManagedTableKey": True})[0]
    )
    assert "no server-side encryption" in check_resource(rules.encryption, TABLE, {})[0]


# ssl-to-sources -------------------------------------------------------------------------------
def test_ssl_rule():
    assert check_resource(rules.ssl_to_sources, ENDPOINT, SOURCE) == []
    assert "sslMode is none" in check_resource(rules.ssl_to_sources, ENDPOINT, {**SOURCE, "sslMode": "none"})[0]
    unset = {k: v for k, v in SOURCE.items() if k != "sslMode"}
    assert "unset (none)" in check_resource(rules.ssl_to_sources, ENDPOINT, unset)[0]


def test_ssl_rule_reads_the_per_engine_table():
    oracle = {**SOURCE, "engineName": "oracle", "sslMode": "verify-full", "certificateArn": "arn:aws:dms:c"}
    assert check_resource(rules.ssl_to_sources, ENDPOINT, oracle) == [
        "sslMode verify-full is not supported by DMS for oracle (DMS User Guide, Using SSL); set "
        "migration.sources[].sslMode to verify-ca"
    ]
    assert check_resource(rules.ssl_to_sources, ENDPOINT, {**oracle, "sslMode": "verify-ca"}) == []
    no_cert = {k: v for k, v in oracle.items() if k != "certificateArn"}
    assert (
        "has no certificateArn"
        in check_resource(rules.ssl_to_sources, ENDPOINT, {**no_cert, "sslMode": "verify-ca"})[0]
    )
    assert "verify-ca" in check_resource(rules.ssl_to_sources, ENDPOINT, {**oracle, "sslMode": "none"})[0]


def test_the_packs_fact_file_is_generated_from_the_fact_table():
    from pathlib import Path

    from dmsmig.contract.facts import policy_pack_facts

    shipped = json.loads((Path(rules.__file__).parent / "aws_facts.json").read_text())
    assert shipped == json.loads(json.dumps(policy_pack_facts())), "run: python -m dmsmig contract-facts --write"


# prod-resilience ------------------------------------------------------------------------------
def test_prod_resilience_rule():
    assert check_resource(rules.prod_resilience, INSTANCE, INSTANCE_OK) == []
    assert check_resource(rules.prod_resilience, TABLE, TABLE_OK) == []
    assert "multiAz: true" in check_resource(rules.prod_resilience, INSTANCE, {**INSTANCE_OK, "multiAz": False})[0]
    table = check_resource(rules.prod_resilience, TABLE, {"pointInTimeRecovery": {"enabled": False}})
    assert [m.split(";")[0] for m in table] == ["table deletion protection is off", "point-in-time recovery is off"]


# task-logging ---------------------------------------------------------------------------------
def test_task_logging_rule():
    ok = {"migrationType": "full-load", "replicationTaskSettings": json.dumps(SETTINGS_OK)}
    assert check_resource(rules.task_logging, TASK, ok) == []
    off = {"replicationTaskSettings": json.dumps({"Logging": {"EnableLogging": False}})}
    assert "task logging is off" in check_resource(rules.task_logging, TASK, off)[0]
    cdc = {**ok, "migrationType": "full-load-and-cdc"}
    assert "SOURCE_CAPTURE, TARGET_APPLY" in check_resource(rules.task_logging, TASK, cdc)[0]


# dms-role-least-privilege ---------------------------------------------------------------------
def _trust(*services):
    return json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": list(services)}}]})


def _policy(*statements):
    return json.dumps({"Statement": list(statements)})


def test_least_privilege_passes_scoped_policy_and_listtables_wildcard():
    role = resource(ROLE, {"name": "dms-r", "assumeRolePolicy": _trust("dms.amazonaws.com")}, "role")
    policy = resource(
        ROLE_POLICY,
        {
            "role": "dms-r",
            "policy": _policy(
                {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": "arn:aws:dynamodb:x:1:table/t"},
                {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"},
            ),
        },
        "policy",
        {"role": [role]},
    )
    assert check_stack(rules.dms_role_least_privilege, [role, policy]) == []


def test_least_privilege_fails_wildcards_and_foreign_principals():
    role = resource(
        ROLE, {"name": "dms-r", "assumeRolePolicy": _trust("dms.amazonaws.com", "ec2.amazonaws.com")}, "role"
    )
    policy = resource(
        ROLE_POLICY,
        {
            "role": "dms-r",
            "policy": _policy(
                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:t"},
                {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": "*"},
            ),
        },
        "policy",
        {"role": [role]},
    )
    admin = resource(
        ROLE_POLICY_ATTACHMENT,
        {"role": "dms-r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "admin",
        {"role": [role]},
    )
    messages = [m for m, _ in check_stack(rules.dms_role_least_privilege, [role, policy, admin])]
    assert any("trusts Service ec2.amazonaws.com" in m for m in messages)
    assert any("allows action dynamodb:*" in m for m in messages)
    assert any("dynamodb:PutItem on every resource" in m for m in messages)
    assert any("AdministratorAccess" in m for m in messages)


def test_least_privilege_ignores_roles_not_trusted_by_dms():
    role = resource(ROLE, {"name": "app", "assumeRolePolicy": _trust("lambda.amazonaws.com")}, "role")
    policy = resource(
        ROLE_POLICY, {"role": "app", "policy": _policy({"Action": "*", "Resource": "*"})}, "p", {"role": [role]}
    )
    assert check_stack(rules.dms_role_least_privilege, [role, policy]) == []


def test_a_role_an_endpoint_uses_is_checked_even_when_its_trust_no_longer_names_dms():
    role = resource(
        ROLE,
        {"name": "src", "arn": "arn:aws:iam::1:role/src", "assumeRolePolicy": _trust("lambda.amazonaws.com")},
        "role",
    )
    policy = resource(
        ROLE_POLICY,
        {"role": "src", "policy": _policy({"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"})},
        "policy",
        {"role": [role]},
    )
    endpoint = resource(
        ENDPOINT,
        {**SOURCE, "secretsManagerAccessRoleArn": "arn:aws:iam::1:role/src"},
        "source",
        {"secretsManagerAccessRoleArn": [role]},
    )
    messages = [m for m, _ in check_stack(rules.dms_role_least_privilege, [role, policy, endpoint])]
    assert any("trusts Service lambda.amazonaws.com" in m for m in messages)
    assert any("allows action secretsmanager:*" in m for m in messages)


def test_a_role_trusting_anyone_is_reported_wherever_it_is():
    anyone = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    role = resource(ROLE, {"name": "open", "assumeRolePolicy": anyone}, "open")
    star = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]})
    other = resource(ROLE, {"name": "open2", "assumeRolePolicy": star}, "open2")
    messages = [m for m, _ in check_stack(rules.dms_role_least_privilege, [role, other])]
    assert messages == [
        "role open trusts '*' (any principal); trust a named service or account instead",
        "role open2 trusts '*' (any principal); trust a named service or account instead",
    ]


# partitions-complete --------------------------------------------------------------------------
def _range_task(name, condition, source):
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-action": "include",
                "rule-name": name,
                "object-locator": {"schema-name": "dbo", "table-name": "v"},
                "filters": [{"filter-type": "source", "column-name": "Id", "filter-conditions": [condition]}],
            }
        ]
    }
    return resource(
        TASK,
        {"replicationTaskId": name, "tableMappings": json.dumps(mappings)},
        name,
        {"sourceEndpointArn": [source]},
    )


def test_partitions_pass_when_contiguous():
    src = resource(ENDPOINT, SOURCE, "src")
    tasks = [
        _range_task("p1", {"filter-operator": "lte", "value": "99"}, src),
        _range_task("p2", {"filter-operator": "between", "start-value": "100", "end-value": "199"}, src),
        _range_task("p3", {"filter-operator": "gte", "value": "200"}, src),
    ]
    assert check_stack(rules.partitions_complete, [src, *tasks]) == []


def test_partitions_fail_on_gap_overlap_and_open_end():
    src = resource(ENDPOINT, SOURCE, "src")
    tasks = [
        _range_task("p1", {"filter-operator": "lte", "value": "99"}, src),
        _range_task("p2", {"filter-operator": "between", "start-value": "150", "end-value": "199"}, src),
        _range_task("p3", {"filter-operator": "between", "start-value": "190", "end-value": "300"}, src),
    ]
    [(message, _urn)] = check_stack(rules.partitions_complete, [src, *tasks])
    assert "keys 100..149 are in no task (rows would be skipped)" in message
    assert "overlap" in message
    assert "keys from 301 up are in no task" in message
    assert "[tasks: p1, p2, p3]" in message


def test_partitions_on_different_sources_are_checked_separately():
    a, b = resource(ENDPOINT, SOURCE, "a"), resource(ENDPOINT, SOURCE, "b")
    everything = {"filter-operator": "gte", "value": "-1000000"}
    below = {"filter-operator": "lte", "value": "-1000001"}
    tasks = [_range_task("a1", everything, a), _range_task("a2", below, a), _range_task("b1", everything, b)]
    found = check_stack(rules.partitions_complete, [a, b, *tasks])
    assert len(found) == 1 and "keys below -1000000" in found[0][0]


# every-task-alarmed ---------------------------------------------------------------------------
def test_every_task_alarmed():
    t1 = resource(TASK, {"replicationTaskId": "t1"}, "t1")
    t2 = resource(TASK, {"replicationTaskId": "t2"}, "t2")
    t3 = resource(TASK, {"replicationTaskId": "t3"}, "t3")
    sub = resource(
        EVENT_SUBSCRIPTION,
        {
            "sourceType": "replication-task",
            "sourceIds": ["t1"],
            "snsTopicArn": "arn:topic",
            "eventCategories": ["failure"],
        },
        "sub",
    )
    alarm = resource(
        ALARM, {"alarmActions": ["arn:topic"], "dimensions": {"TaskArn": "x"}}, "alarm", {"dimensions": [t2]}
    )
    silent = resource(ALARM, {"alarmActions": [], "dimensions": {"ReplicationTaskIdentifier": "t3"}}, "silent")
    found = check_stack(rules.every_task_alarmed, [t1, t2, t3, sub, alarm, silent])
    assert [urn.rsplit("::", 1)[-1] for _m, urn in found] == ["t3"]
    assert "task t3 has no alarm or event subscription" in found[0][0]


# tasks-per-instance ---------------------------------------------------------------------------
def test_tasks_per_instance():
    instance = resource(INSTANCE, INSTANCE_OK, "i")
    tasks = [
        resource(TASK, {"replicationTaskId": f"t{n}"}, f"t{n}", {"replicationInstanceArn": [instance]})
        for n in range(4)
    ]
    assert check_stack(rules.tasks_per_instance, [instance, *tasks], {"maxTasksPerInstance": 4}) == []
    [(message, urn)] = check_stack(rules.tasks_per_instance, [instance, *tasks], {"maxTasksPerInstance": 3})
    assert message.startswith("4 tasks share one replication instance (limit 3)") and urn == instance.urn


# required-tags and auto-minor-version-upgrade -------------------------------------------------
def test_required_tags():
    tags = {"Environment": "prod", "Service": "s", "Owner": "o"}
    assert check_resource(rules.required_tags, TABLE, {"tags": tags}) == []
    assert check_resource(rules.required_tags, TABLE, {"tags": {"Environment": "prod"}}) == [
        "missing tags Service, Owner; add them under migration.tags"
    ]
    assert (
        "CostCenter" in check_resource(rules.required_tags, TABLE, {"tags": tags}, {"requiredTags": ["CostCenter"]})[0]
    )


def test_auto_minor_version_upgrade():
    assert check_resource(rules.auto_minor_version_upgrade, INSTANCE, INSTANCE_OK) == []
    off = {**INSTANCE_OK, "autoMinorVersionUpgrade": False}
    assert "autoMinorVersionUpgrade: true" in check_resource(rules.auto_minor_version_upgrade, INSTANCE, off)[0]


def test_allowed_instance_classes():
    props = {**INSTANCE_OK, "replicationInstanceClass": "dms.r5.16xlarge"}
    assert check_resource(rules.allowed_instance_classes, INSTANCE, props) == []  # no list: any class
    allowed = {"allowedClasses": ["dms.r5.large", "dms.r5.2xlarge"]}
    assert check_resource(rules.allowed_instance_classes, INSTANCE, props, allowed) == [
        "instance class dms.r5.16xlarge is not allowed here (dms.r5.large, dms.r5.2xlarge); "
        "change migration.replication.instanceClass"
    ]
    ok = {**INSTANCE_OK, "replicationInstanceClass": "dms.r5.2xlarge"}
    assert check_resource(rules.allowed_instance_classes, INSTANCE, ok, allowed) == []


def test_every_policy_has_a_stable_kebab_name_and_description():
    names = [policy.name for policy in rules.POLICIES]
    assert len(set(names)) == len(names) == 17
    for policy in rules.POLICIES:
        assert policy.description and policy.name == policy.name.lower()
