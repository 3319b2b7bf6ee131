"""The guardrail rules. Each validator reads camelCase props and names the config key to change.

Remediation messages refer to keys of the stack's ``migration`` config object (see docs/config-reference.md).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from dmsmig.model import load

from . import props as p
from .aws_facts import CDC_MIGRATION_TYPES, LOAD_FACTS, SSL_NEEDS_CERTIFICATE, SSL_SUPPORT
from .coverage import Span, UnreadableFilter, cover_problems, selected_spans

PASSWORD_KEY = re.compile(r"passw(or)?d|^pwd$|secretstring", re.IGNORECASE)
PASSWORD_IN_TEXT = re.compile(r"""(^|[;,\s"'{])(password|pwd)["']?\s*[=:]\s*["']?[^\s"';,}]""", re.IGNORECASE)
PASSWORD_KEY_ALLOWED = {"passwordLength", "passwordResetRequired", "passwordReusePrevention"}


def _setting(config: Mapping | None, key: str, default):
    return (config or {}).get(key, default)


# 1 ------------------------------------------------------------------------------------------
def _no_plaintext_passwords(args: ResourceValidationArgs, report: ReportViolation) -> None:
    fix = (
        "store the password in Secrets Manager (python -m dmsmig bootstrap-secret) and reference it with "
        "migration.sources[].secret"
    )
    if args.resource_type == p.SECRET_VERSION:
        report(f"a secret value is declared in the stack, so it is stored in state; {fix}", None)
        return
    if args.resource_type == p.RANDOM_PASSWORD:
        report(f"a generated password is stored in state; {fix}", None)
        return
    if args.resource_type == p.ENDPOINT and p.get(args.props, "password") not in (None, ""):
        report(f"the endpoint has a 'password' argument; {fix}", None)
    attrs = p.get(args.props, "extraConnectionAttributes")
    if isinstance(attrs, str) and PASSWORD_IN_TEXT.search(attrs):
        report(
            "extraConnectionAttributes contains a password; remove it from "
            f"migration.sources[].extraConnectionAttributes and {fix}",
            None,
        )
    for path, key, value in p.walk(args.props):
        if path == "password" or key in PASSWORD_KEY_ALLOWED:
            continue
        if PASSWORD_KEY.search(key) and value not in (None, "", False):
            report(f"input '{path}' looks like a password; {fix}", None)
        elif isinstance(value, str) and path != "extraConnectionAttributes" and PASSWORD_IN_TEXT.search(value):
            report(f"input '{path}' contains a password assignment; {fix}", None)


no_plaintext_passwords = ResourceValidationPolicy(
    name="no-plaintext-passwords",
    description="No password in any resource input, endpoint argument, connection attribute or secret value in state.",
    validate=_no_plaintext_passwords,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 2 ------------------------------------------------------------------------------------------
def _endpoints_use_secrets_manager(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != p.ENDPOINT or not p.is_source_endpoint(args.props):
        return
    for key in ("secretsManagerArn", "secretsManagerAccessRoleArn"):
        if p.get(args.props, key) in (None, ""):
            report(
                f"source endpoint has no {key}; set migration.sources[].secret (arn or name) so DMS reads the "
                "credentials from Secrets Manager through its access role",
                None,
            )


endpoints_use_secrets_manager = ResourceValidationPolicy(
    name="endpoints-use-secrets-manager",
    description="Source endpoints read credentials from Secrets Manager via an access role.",
    validate=_endpoints_use_secrets_manager,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 3 ------------------------------------------------------------------------------------------
def _private_replication_instance(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != p.INSTANCE:
        return
    public = p.get(args.props, "publiclyAccessible")
    if public is not False and public is not p.UNKNOWN:
        state = "unset (the DMS API default is public)" if public is None else f"{public}"
        report(
            f"publiclyAccessible is {state}; set migration.replication.publiclyAccessible: false "
            "(Security Hub DMS.1, Checkov CKV_AWS_89)",
            None,
        )


private_replication_instance = ResourceValidationPolicy(
    name="private-replication-instance",
    description="Replication instances are explicitly not publicly accessible (Security Hub DMS.1).",
    validate=_private_replication_instance,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _private_serverless_replication(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != p.REPLICATION_CONFIG:
        return
    compute = p.get(args.props, "computeConfig", default={})
    if compute is p.UNKNOWN:
        return
    if p.get(compute, "replicationSubnetGroupId") in (None, ""):
        report(
            "the Serverless replication names no replicationSubnetGroupId; it must run in the stack's private "
            "subnet group (migration.network.subnetIds), which the program sets",
            None,
        )
    if not p.as_list(p.get(compute, "vpcSecurityGroupIds")):
        report("the Serverless replication has no vpcSecurityGroupIds; set migration.network.securityGroupIds", None)
    if p.get(args.props, "startReplication") is True:
        report(
            "startReplication is true: a deployment would start (and restart after every change) the replication; "
            "start it with python -m dmsmig start after preflight",
            None,
        )


private_serverless_replication = ResourceValidationPolicy(
    name="private-serverless-replication",
    description="Serverless replications run in the stack's subnet group and security groups, started by operators.",
    validate=_private_serverless_replication,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# Stack helpers ------------------------------------------------------------------------------
def _referenced(resource, key: str, resources, output_key: str):
    """The resource a property points at: by dependency (preview) or by ARN value (offline)."""
    for dep in (resource.property_dependencies or {}).get(key, []) or []:
        return dep
    value = p.get(resource.props, key)
    if isinstance(value, str):
        for other in resources:
            if p.get(other.props, output_key) == value:
                return other
    return None


def _task_label(task) -> str:
    task_id = p.get(task.props, p.LABEL_KEY.get(task.resource_type, "replicationTaskId"))
    return task_id if isinstance(task_id, str) else task.name


def _units(resources) -> list:
    """Tasks and Serverless replications: both carry settings, mappings and a migration type."""
    return [r for r in resources if r.resource_type in p.REPLICATION_UNITS]


def _settings(unit):
    return p.json_prop(unit.props, p.SETTINGS_KEY[unit.resource_type])


# 4 ------------------------------------------------------------------------------------------
def _dynamodb_target_do_nothing(args: StackValidationArgs, report: ReportViolation) -> None:
    for task in _units(args.resources):
        endpoint = _referenced(task, "targetEndpointArn", args.resources, "endpointArn")
        if endpoint is None or p.get(endpoint.props, "engineName") != "dynamodb":
            continue
        settings = _settings(task)
        if settings is p.UNKNOWN:
            continue
        mode = p.get(settings or {}, "FullLoadSettings", "TargetTablePrepMode")
        if mode != "DO_NOTHING":
            shown = "unset (DMS then drops and recreates the table)" if mode is None else mode
            report(
                f"task {_task_label(task)} writes to DynamoDB with TargetTablePrepMode {shown}; set "
                "FullLoadSettings.TargetTablePrepMode: DO_NOTHING in migration.taskSettings "
                "(or the task group's taskSettings)",
                task.urn,
            )


dynamodb_target_do_nothing = StackValidationPolicy(
    name="dynamodb-target-do-nothing",
    description="Tasks and Serverless replications writing to DynamoDB use TargetTablePrepMode DO_NOTHING.",
    validate=_dynamodb_target_do_nothing,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 5 ------------------------------------------------------------------------------------------
def _encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (p.INSTANCE, p.ENDPOINT) and p.get(args.props, "kmsKeyArn") in (None, ""):
        what = "replication instance" if args.resource_type == p.INSTANCE else "endpoint"
        report(
            f"the {what} has no kmsKeyArn; leave migration.replication.kmsKeyArn empty to create the stack key "
            "or set it to an existing key (Checkov CKV_AWS_212 / CKV_AWS_296)",
            None,
        )
    if args.resource_type == p.REPLICATION_CONFIG and p.get(args.props, "computeConfig", "kmsKeyId") in (None, ""):
        report(
            "the Serverless replication has no computeConfig.kmsKeyId; the program sets the stack key, do not "
            "override it (migration.replication.kmsKeyArn chooses the key)",
            None,
        )
    if args.resource_type == p.TABLE:
        if p.get(args.props, "serverSideEncryption", "enabled") in (None, False):
            report("the table has no server-side encryption; it is enabled by the program, do not override it", None)
        elif _setting(args.get_config(), "requireCustomerManagedTableKey", False) and p.get(
            args.props, "serverSideEncryption", "kmsKeyArn"
        ) in (None, ""):
            report(
                "the table uses an AWS managed key; set migration.target.encryption: customer-managed "
                "(Checkov CKV_AWS_119)",
                None,
            )


encryption = ResourceValidationPolicy(
    name="encryption",
    description="Instances and endpoints use a KMS key; the table has server-side encryption (CMK where required).",
    validate=_encryption,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={"requireCustomerManagedTableKey": {"type": "boolean", "default": False}},
    ),
)


# 6 ------------------------------------------------------------------------------------------
def _ssl_to_sources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != p.ENDPOINT or not p.is_source_endpoint(args.props):
        return
    mode = p.get(args.props, "sslMode")
    engine = p.get(args.props, "engineName")
    supported = SSL_SUPPORT.get(engine) if isinstance(engine, str) else None
    encrypting = [m for m in supported or ["require", "verify-ca", "verify-full"] if m != "none"]
    if mode in (None, "none"):
        report(
            f"source endpoint sslMode is {mode or 'unset (none)'}; set migration.sources[].sslMode to "
            f"{' or '.join(encrypting)} (Security Hub DMS.9)",
            None,
        )
    elif isinstance(mode, str) and supported is not None and mode not in supported:
        report(
            f"sslMode {mode} is not supported by DMS for {engine} (DMS User Guide, Using SSL); set "
            f"migration.sources[].sslMode to {' or '.join(encrypting)}",
            None,
        )
    if mode in SSL_NEEDS_CERTIFICATE and p.get(args.props, "certificateArn") in (None, ""):
        report(f"sslMode {mode} verifies the server but the endpoint has no certificateArn; set it on the source", None)


ssl_to_sources = ResourceValidationPolicy(
    name="ssl-to-sources",
    description="Source endpoints connect with an SSL mode DMS supports for their engine (Security Hub DMS.9).",
    validate=_ssl_to_sources,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 7 ------------------------------------------------------------------------------------------
def _prod_resilience(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == p.INSTANCE and p.get(args.props, "multiAz") in (None, False):
        report(
            "the replication instance is single-AZ; set migration.replication.multiAz: true (Security Hub DMS.13)", None
        )
    if args.resource_type == p.REPLICATION_CONFIG and p.get(args.props, "computeConfig", "multiAz") in (None, False):
        report(
            "the Serverless replication is single-AZ; set migration.replication.multiAz: true (it also sets "
            "the Serverless compute config)",
            None,
        )
    if args.resource_type == p.TABLE:
        if p.get(args.props, "deletionProtectionEnabled") in (None, False):
            report("table deletion protection is off; set migration.target.deletionProtection: true (DynamoDB.6)", None)
        if p.get(args.props, "pointInTimeRecovery", "enabled") in (None, False):
            report("point-in-time recovery is off; set migration.target.pointInTimeRecovery: true (DynamoDB.2)", None)


prod_resilience = ResourceValidationPolicy(
    name="prod-resilience",
    description="Production: multi-AZ instance, table deletion protection and point-in-time recovery.",
    validate=_prod_resilience,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 8 ------------------------------------------------------------------------------------------
def _task_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in p.REPLICATION_UNITS:
        return
    settings = p.json_prop(args.props, p.SETTINGS_KEY[args.resource_type])
    if settings is p.UNKNOWN:
        return
    logging = p.get(settings or {}, "Logging", default={})
    if p.get(logging, "EnableLogging") is not True:
        report(
            "task logging is off; set Logging.EnableLogging: true in migration.taskSettings (Security Hub DMS.7)", None
        )
        return
    required = set(_setting(args.get_config(), "requiredComponents", ["SOURCE_UNLOAD", "TARGET_LOAD"]))
    if p.get(args.props, p.MIGRATION_TYPE_KEY[args.resource_type]) in CDC_MIGRATION_TYPES:
        required |= {"SOURCE_CAPTURE", "TARGET_APPLY"}
    present = {c.get("Id") for c in p.as_list(p.get(logging, "LogComponents")) if isinstance(c, Mapping)}
    missing = sorted(required - present)
    if missing:
        report(
            f"log components {', '.join(missing)} are not logged; add them to Logging.LogComponents in "
            "migration.taskSettings (Security Hub DMS.7/DMS.8)",
            None,
        )


task_logging = ResourceValidationPolicy(
    name="task-logging",
    description="Tasks log to CloudWatch with the load (and capture/apply) components (Security Hub DMS.7/8).",
    validate=_task_logging,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredComponents": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["SOURCE_UNLOAD", "TARGET_LOAD"],
            }
        }
    ),
)


# 9 ------------------------------------------------------------------------------------------
def _principals(statement: Mapping) -> list:
    principal = statement.get("Principal")
    if principal == "*":
        return [("*", "*")]
    out = []
    for kind, values in (principal or {}).items():
        out += [(kind, v) for v in p.as_list(values)]
    return out


def _is_dms_role(role) -> bool:
    trust = p.json_prop(role.props, "assumeRolePolicy")
    if not isinstance(trust, Mapping):
        return False
    return any(
        kind == "Service" and isinstance(v, str) and v.startswith("dms.")
        for s in p.as_list(trust.get("Statement"))
        for kind, v in _principals(s)
    )


ROLE_REFERENCES = (
    (p.ENDPOINT, "secretsManagerAccessRoleArn"),
    (p.ENDPOINT, "serviceAccessRole"),
)


def _roles_used_by_dms(resources) -> list:
    """Roles that DMS endpoints name, whatever their trust policy says."""
    roles = [r for r in resources if r.resource_type == p.ROLE]
    used = []
    for resource_type, key in ROLE_REFERENCES:
        for resource in (r for r in resources if r.resource_type == resource_type):
            role = _referenced(resource, key, roles, "arn")
            if role is not None and role.resource_type == p.ROLE and role not in used:
                used.append(role)
    return used


def _trusts_anyone(role) -> bool:
    trust = p.json_prop(role.props, "assumeRolePolicy")
    if not isinstance(trust, Mapping):
        return False
    statements = [s for s in p.as_list(trust.get("Statement")) if isinstance(s, Mapping)]
    return any(value == "*" for s in statements for _kind, value in _principals(s))


def _dms_role_least_privilege(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed_wildcard = set(_setting(args.get_config(), "allowedWildcardActions", ["dynamodb:ListTables"]))
    allowed_managed = set(
        _setting(
            args.get_config(),
            "allowedManagedPolicies",
            [
                "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
                "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole",
            ],
        )
    )
    roles = [r for r in args.resources if r.resource_type == p.ROLE and _is_dms_role(r)]
    roles += [r for r in _roles_used_by_dms(args.resources) if r not in roles]
    role_names = {p.get(r.props, "name") for r in roles} - {None}
    for role in (r for r in args.resources if r.resource_type == p.ROLE and _trusts_anyone(r)):
        report(
            f"role {p.get(role.props, 'name') or role.name} trusts '*' (any principal); trust a named service "
            "or account instead",
            role.urn,
        )
    for role in roles:
        trust = p.json_prop(role.props, "assumeRolePolicy")
        if not isinstance(trust, Mapping):
            continue
        for statement in p.as_list(trust.get("Statement")):
            for kind, value in _principals(statement):
                if value != "*" and not (kind == "Service" and isinstance(value, str) and value.startswith("dms.")):
                    report(
                        f"role {p.get(role.props, 'name') or role.name} trusts {kind} {value}; DMS roles trust only "
                        "the DMS service principal",
                        role.urn,
                    )
    for resource in args.resources:
        if resource.resource_type not in (p.ROLE_POLICY, p.ROLE_POLICY_ATTACHMENT):
            continue
        role = _referenced(resource, "role", args.resources, "name")
        if role not in roles and p.get(resource.props, "role") not in role_names:
            continue
        if resource.resource_type == p.ROLE_POLICY_ATTACHMENT:
            arn = p.get(resource.props, "policyArn")
            if isinstance(arn, str) and arn not in allowed_managed:
                report(
                    f"managed policy {arn} is attached to a DMS role; use the program's scoped inline policies",
                    resource.urn,
                )
            continue
        document = p.json_prop(resource.props, "policy")
        if not isinstance(document, Mapping):
            continue
        for statement in p.as_list(document.get("Statement")):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            actions = [a for a in p.as_list(statement.get("Action")) if isinstance(a, str)]
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    report(f"DMS role policy allows action {action}; list the actions DMS needs", resource.urn)
            if "*" in p.as_list(statement.get("Resource")) and not set(actions) <= allowed_wildcard:
                extra = sorted(set(actions) - allowed_wildcard)
                report(
                    f"DMS role policy allows {', '.join(extra)} on every resource; scope it to the table or secret ARN "
                    f"(only {', '.join(sorted(allowed_wildcard))} may use '*')",
                    resource.urn,
                )


dms_role_least_privilege = StackValidationPolicy(
    name="dms-role-least-privilege",
    description=(
        "Roles DMS uses (by trust or by endpoint reference) trust only DMS; no role trusts '*'; no '*' actions; "
        "'*' resources only for dynamodb:ListTables."
    ),
    validate=_dms_role_least_privilege,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "allowedWildcardActions": {"type": "array", "items": {"type": "string"}},
            "allowedManagedPolicies": {"type": "array", "items": {"type": "string"}},
        }
    ),
)


# 10 -----------------------------------------------------------------------------------------
def _partitions_complete(args: StackValidationArgs, report: ReportViolation) -> None:
    groups: dict[tuple, list[tuple[Span, PolicyResource]]] = defaultdict(list)
    for task in _units(args.resources):
        mappings = p.json_prop(task.props, "tableMappings")
        if not isinstance(mappings, Mapping):
            continue
        source = _referenced(task, "sourceEndpointArn", args.resources, "endpointArn")
        source_key = source.urn if source is not None else p.get(task.props, "sourceEndpointArn")
        try:
            spans = selected_spans(dict(mappings))
        except UnreadableFilter as err:
            report(
                f"task {_task_label(task)}: cannot check partition coverage ({err}); generate mappings from a spec",
                task.urn,
            )
            continue
        for obj, column, span in spans:
            groups[(str(source_key), obj, column)].append((span, task))
    for (_source, obj, column), entries in groups.items():
        problems = cover_problems([span for span, _ in entries])
        if problems:
            tasks = ", ".join(sorted(_task_label(t) for _, t in entries))
            report(
                f"tasks over {obj[0]}.{obj[1]} ({column or 'no filter'}) do not tile the key space: "
                f"{'; '.join(problems)} [tasks: {tasks}]; set the task group's partitions with boundaries "
                "or count/min/max so the program generates contiguous ranges",
                entries[0][1].urn,
            )


partitions_complete = StackValidationPolicy(
    name="partitions-complete",
    description="Tasks over the same source object have disjoint, contiguous ranges covering every key.",
    validate=_partitions_complete,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 11 -----------------------------------------------------------------------------------------
def _every_task_alarmed(args: StackValidationArgs, report: ReportViolation) -> None:
    tasks = _units(args.resources)
    covered: set[str] = set()
    for sub in (r for r in args.resources if r.resource_type == p.EVENT_SUBSCRIPTION):
        if p.get(sub.props, "enabled") is False or p.get(sub.props, "snsTopicArn") in (None, ""):
            continue
        if p.get(sub.props, "sourceType") != "replication-task":
            continue
        categories = {c.lower() for c in p.as_list(p.get(sub.props, "eventCategories")) if isinstance(c, str)}
        if categories and "failure" not in categories:
            continue
        ids = {i for i in p.as_list(p.get(sub.props, "sourceIds")) if isinstance(i, str)}
        covered |= {t.urn for t in tasks if t.resource_type == p.TASK and (not ids or _task_label(t) in ids)}
    by_label = {_task_label(t): t.urn for t in tasks}
    by_label |= {p.get(t.props, "resourceIdentifier"): t.urn for t in tasks if p.get(t.props, "resourceIdentifier")}
    by_arn = {p.get(t.props, p.ARN_KEY[t.resource_type]): t.urn for t in tasks}
    task_urns = {t.urn for t in tasks}
    for alarm in (r for r in args.resources if r.resource_type == p.ALARM):
        if not p.as_list(p.get(alarm.props, "alarmActions")):
            continue
        covered |= {d.urn for d in (alarm.property_dependencies or {}).get("dimensions", []) or []} & task_urns
        for value in p.known_values(p.get(alarm.props, "dimensions", default={})):
            if isinstance(value, str) and (value in by_label or value in by_arn):
                covered.add(by_label.get(value) or by_arn[value])
    for task in tasks:
        if task.urn not in covered:
            report(
                f"task {_task_label(task)} has no alarm or event subscription that notifies a topic; keep the "
                "monitoring component (migration.monitoring) for every task group",
                task.urn,
            )


every_task_alarmed = StackValidationPolicy(
    name="every-task-alarmed",
    description="Each task and Serverless replication has an alarm or failure event subscription notifying a topic.",
    validate=_every_task_alarmed,
    enforcement_level=EnforcementLevel.MANDATORY,
)


# 12 -----------------------------------------------------------------------------------------
def _tasks_per_instance(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(_setting(args.get_config(), "maxTasksPerInstance", 200))
    per_instance: dict[str, list] = defaultdict(list)
    for task in (r for r in args.resources if r.resource_type == p.TASK):
        instance = _referenced(task, "replicationInstanceArn", args.resources, "replicationInstanceArn")
        key = instance.urn if instance is not None else str(p.get(task.props, "replicationInstanceArn"))
        per_instance[key].append(task)
    for key, tasks in per_instance.items():
        if len(tasks) > limit:
            report(
                f"{len(tasks)} tasks share one replication instance (limit {limit}); lower "
                "migration.replication.maxTasksPerInstance so the program adds instances",
                key if key.startswith("urn:") else tasks[0].urn,
            )


tasks_per_instance = StackValidationPolicy(
    name="tasks-per-instance",
    description="At most 200 tasks (configurable lower) per replication instance.",
    validate=_tasks_per_instance,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={"maxTasksPerInstance": {"type": "integer", "minimum": 1, "maximum": 200, "default": 200}}
    ),
)


# 13 -----------------------------------------------------------------------------------------
TAGGED_TYPES = {
    p.INSTANCE,
    p.ENDPOINT,
    p.TASK,
    p.REPLICATION_CONFIG,
    p.SUBNET_GROUP,
    p.TABLE,
    p.KMS_KEY,
    p.TOPIC,
    p.ROLE,
}


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGED_TYPES:
        return
    required = _setting(args.get_config(), "requiredTags", ["Environment", "Service", "Owner"])
    tags = p.get(args.props, "tags", default={})
    if tags is p.UNKNOWN:
        return
    missing = [k for k in required if p.get(tags, k) in (None, "")] if isinstance(tags, Mapping) else list(required)
    if missing:
        report(f"missing tags {', '.join(missing)}; add them under migration.tags", None)


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description="Migration resources carry the organisation's required tags.",
    validate=_required_tags,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["Environment", "Service", "Owner"],
            }
        }
    ),
)


def _auto_minor_version_upgrade(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == p.INSTANCE and p.get(args.props, "autoMinorVersionUpgrade") in (None, False):
        report(
            "automatic minor version upgrades are off; set migration.replication.autoMinorVersionUpgrade: true "
            "(Security Hub DMS.6)",
            None,
        )


auto_minor_version_upgrade = ResourceValidationPolicy(
    name="auto-minor-version-upgrade",
    description="Replication instances take minor engine upgrades automatically (Security Hub DMS.6).",
    validate=_auto_minor_version_upgrade,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _allowed_instance_classes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = _setting(args.get_config(), "allowedClasses", [])
    if args.resource_type != p.INSTANCE or not allowed:
        return
    klass = p.get(args.props, "replicationInstanceClass")
    if isinstance(klass, str) and klass not in allowed:
        report(
            f"instance class {klass} is not allowed here ({', '.join(allowed)}); "
            "change migration.replication.instanceClass",
            None,
        )


allowed_instance_classes = ResourceValidationPolicy(
    name="allowed-instance-classes",
    description="Replication instances use a class from the environment's allowed list (empty: any).",
    validate=_allowed_instance_classes,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=PolicyConfigSchema(
        properties={"allowedClasses": {"type": "array", "items": {"type": "string"}, "default": []}}
    ),
)


def _number(value) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _writes_within_table_throughput(args: StackValidationArgs, report: ReportViolation) -> None:
    """plan's load model (dmsmig.model.load) over what the pack sees: each task's threads from its
    settings and its partition's estimate from the tag the program puts on it."""
    for table in (r for r in args.resources if r.resource_type == p.TABLE):
        name = p.get(table.props, "name")
        warm = p.get(table.props, "warmThroughput", "writeUnitsPerSecond")
        capacity = p.get(table.props, "writeCapacity")
        if not isinstance(name, str) or p.UNKNOWN in (warm, capacity):
            continue
        units, why = load.table_write_units(
            LOAD_FACTS, _number(warm), p.get(table.props, "billingMode"), _number(capacity)
        )
        partitions, guessed = [], 0
        for task in _units(args.resources):
            mappings = p.json_prop(task.props, "tableMappings")
            settings = _settings(task)
            if not isinstance(mappings, Mapping) or not isinstance(settings, Mapping):
                continue
            targets = {r.get("target-table-name") for r in p.as_list(mappings.get("rules")) if isinstance(r, Mapping)}
            if name not in targets:
                continue
            estimate = load.parse_estimate_tag(p.get(task.props, "tags", load.ESTIMATE_TAG))
            guessed += estimate is None
            rows, row_bytes = estimate or (0, LOAD_FACTS.write_unit_bytes)  # no estimate: one write unit an item
            threads = _number(p.get(settings, "TargetMetadata", "ParallelLoadThreads", default=0)) or 0
            partitions.append(
                load.PartitionLoad(
                    task_id=_task_label(task),
                    group="",
                    instance=None,
                    items=rows,
                    item_bytes=row_bytes,
                    write_units_per_item=load.units_per_item(row_bytes, LOAD_FACTS),
                    threads=threads,
                )
            )
        note = load.throttle_note(load.task_write_units_per_second(partitions, LOAD_FACTS), units)
        if note:
            unestimated = f"; {guessed} task(s) without an estimate counted at one unit an item" if guessed else ""
            report(
                f"table {name} ({why}, {len(partitions)} task(s) writing it{unestimated}): {note} "
                "(python -m dmsmig plan shows every stage)",
                table.urn,
            )


writes_within_table_throughput = StackValidationPolicy(
    name="writes-within-table-throughput",
    description="The load threads of the tasks writing a table do not exceed the write units it accepts at once.",
    validate=_writes_within_table_throughput,
    enforcement_level=EnforcementLevel.ADVISORY,
)


POLICIES = [
    no_plaintext_passwords,
    endpoints_use_secrets_manager,
    private_replication_instance,
    private_serverless_replication,
    dynamodb_target_do_nothing,
    encryption,
    ssl_to_sources,
    prod_resilience,
    task_logging,
    dms_role_least_privilege,
    partitions_complete,
    every_task_alarmed,
    tasks_per_instance,
    required_tags,
    auto_minor_version_upgrade,
    allowed_instance_classes,
    writes_within_table_throughput,
]
