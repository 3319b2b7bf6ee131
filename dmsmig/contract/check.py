"""Check a stack's API requests against botocore's model and the fact table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dmsmig.contract import facts
from dmsmig.contract.requests import ApiRequest, json_document, requests_for
from dmsmig.contract.shapes import request_problems


@dataclass(frozen=True)
class ContractProblem:
    """A request AWS would refuse (or that breaks a documented fact)."""

    resource: str
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.operation}: {self.message}"


def _identifier(value: Any, limit: int | None, what: str) -> list[str]:
    if not isinstance(value, str):
        return []
    problem = facts.identifier_problem(value, limit)
    return [f"{what} {value!r} {problem}"] if problem else []


def _unit(request: ApiRequest, identifier: str, settings_member: str, type_member: str) -> list[str]:
    """What a task and a Serverless replication config share: identifiers, mappings, settings."""
    params = request.params
    out = _identifier(params.get("ResourceIdentifier"), facts.TASK_RESOURCE_IDENTIFIER_MAX, "ResourceIdentifier")
    out += _identifier(params.get(identifier), facts.TASK_IDENTIFIER_MAX, identifier)
    if json_document(request, "TableMappings") is None:
        out.append("TableMappings is not a JSON document")
    if settings_member in params:
        settings = json_document(request, settings_member)
        if not isinstance(settings, dict):
            out.append(f"{settings_member} is not a JSON object")
        else:
            out += task_settings_problems(settings, params.get(type_member))
    return out


def _task(request: ApiRequest) -> list[str]:
    return _unit(request, "ReplicationTaskIdentifier", "ReplicationTaskSettings", "MigrationType")


def _replication_config(request: ApiRequest) -> list[str]:
    out = _unit(request, "ReplicationConfigIdentifier", "ReplicationSettings", "ReplicationType")
    compute = request.params.get("ComputeConfig") or {}
    for member in ("MinCapacityUnits", "MaxCapacityUnits"):
        units = compute.get(member)
        if units is not None and units not in facts.SERVERLESS_CAPACITY_UNITS:
            out.append(f"ComputeConfig.{member} {units} is not one of {facts.SERVERLESS_CAPACITY_UNITS}")
    if facts.SERVERLESS_MAX_UNITS_REQUIRED and compute.get("MaxCapacityUnits") is None:
        out.append("ComputeConfig.MaxCapacityUnits is required")
    low, high = compute.get("MinCapacityUnits"), compute.get("MaxCapacityUnits")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        out.append(f"ComputeConfig.MinCapacityUnits {low} is above MaxCapacityUnits {high}")
    if compute.get("MultiAZ") and compute.get("AvailabilityZone"):
        out.append("ComputeConfig.AvailabilityZone cannot be set with MultiAZ true")
    mappings = json_document(request, "TableMappings")
    if facts.SERVERLESS_NO_VIEWS and isinstance(mappings, dict):
        for rule in mappings.get("rules", []):
            if (rule.get("object-locator") or {}).get("table-type") == "view":
                out.append(f"mapping rule {rule.get('rule-name')!r} selects a view; DMS Serverless supports no views")
    return out


def task_settings_problems(settings: dict, migration_type: str | None) -> list[str]:
    """Documented task-settings facts: error-behaviour values per key, CDC-only sections, limits."""
    out = []
    for key, value in (settings.get("ErrorBehavior") or {}).items():
        allowed = facts.ERROR_BEHAVIOR_VALUES.get(key)
        if allowed is not None and value not in allowed:
            out.append(f"ErrorBehavior.{key} is {value!r}; DMS accepts {', '.join(allowed)}")
    if migration_type == facts.FULL_LOAD_ONLY:
        for section in facts.CDC_ONLY_SECTIONS:
            if section in settings:
                out.append(f"{section} applies only to CDC; a full-load task does not carry it")
    full_load = settings.get("FullLoadSettings") or {}
    mode = full_load.get("TargetTablePrepMode")
    if mode is not None and mode not in facts.TARGET_TABLE_PREP_MODES:
        out.append(
            f"FullLoadSettings.TargetTablePrepMode {mode!r} is not one of {', '.join(facts.TARGET_TABLE_PREP_MODES)}"
        )
    subtasks = full_load.get("MaxFullLoadSubTasks")
    if isinstance(subtasks, int) and not 1 <= subtasks <= facts.MAX_FULL_LOAD_SUBTASKS:
        out.append(f"FullLoadSettings.MaxFullLoadSubTasks {subtasks} is outside 1..{facts.MAX_FULL_LOAD_SUBTASKS}")
    return out


def _endpoint(request: ApiRequest) -> list[str]:
    params = request.params
    engine = params.get("EngineName")
    out = _identifier(params.get("EndpointIdentifier"), None, "EndpointIdentifier")
    mode = params.get("SslMode")
    supported = facts.SSL_SUPPORT.get(engine or "")
    if mode is not None and supported is not None and mode not in supported:
        out.append(f"SslMode {mode!r} is not supported for {engine} (supported: {', '.join(supported)})")
    if mode in facts.SSL_NEEDS_CERTIFICATE and not params.get("CertificateArn"):
        out.append(f"SslMode {mode} needs a CertificateArn")
    if engine in facts.ENGINES_WITHOUT_DATABASE_NAME:
        settings = params.get("MySQLSettings") or {}
        if "DatabaseName" in params or "DatabaseName" in settings:
            out.append(f"DatabaseName is set; AWS says not to specify it for a {engine} endpoint")
    return out


def _instance(request: ApiRequest) -> list[str]:
    return _identifier(
        request.params.get("ReplicationInstanceIdentifier"),
        facts.INSTANCE_IDENTIFIER_MAX,
        "ReplicationInstanceIdentifier",
    )


def _role_policy(request: ApiRequest) -> list[str]:
    document = json_document(request, "PolicyDocument")
    if not isinstance(document, dict):
        return ["PolicyDocument is not a JSON object"]
    out = []
    statements = document.get("Statement") or []
    actions = {a for s in statements for a in _as_list(s.get("Action"))}
    if "secretsmanager:GetSecretValue" in actions and "kms:Decrypt" in actions:
        missing = sorted(set(facts.SECRET_CMK_ACTIONS) - actions)
        if missing:
            out.append(f"reads a secret with its own KMS key but lacks {', '.join(missing)}")
    allowed = set(facts.DYNAMODB_ROLE_DOCUMENTED_ACTIONS) | set(facts.DYNAMODB_ROLE_ACCOUNT_ACTIONS)
    extra = sorted(a for a in actions if a.startswith("dynamodb:") and a not in allowed)
    if extra:
        out.append(f"grants {', '.join(extra)}, beyond the documented DynamoDB target actions")
    return out


def _alarm(request: ApiRequest) -> list[str]:
    period = request.params.get("Period")
    step = facts.ALARM_PERIOD_STANDARD_MULTIPLE
    if isinstance(period, int) and period % step:
        return [f"Period {period} s: metrics of standard resolution need a multiple of {step} s"]
    return []


def _json_members(*members: str) -> Callable[[ApiRequest], list[str]]:
    def check(request: ApiRequest) -> list[str]:
        return [
            f"{m} is not a JSON document" for m in members if m in request.params and json_document(request, m) is None
        ]

    return check


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


FACT_CHECKS: dict[str, Callable[[ApiRequest], list[str]]] = {
    "CreateReplicationTask": _task,
    "CreateReplicationConfig": _replication_config,
    "CreateEndpoint": _endpoint,
    "CreateReplicationInstance": _instance,
    "PutRolePolicy": _role_policy,
    "PutMetricAlarm": _alarm,
    "CreateRole": _json_members("AssumeRolePolicyDocument"),
    "PutRule": _json_members("EventPattern"),
    "PutDashboard": _json_members("DashboardBody"),
    "PutBucketPolicy": _json_members("Policy"),
    "CreateKey": _json_members("Policy"),
}


def _dms_tags(request: ApiRequest) -> list[str]:
    """Every tag a DMS request carries, against DMS's documented tag rules."""
    tags = request.params.get("Tags") if request.service == "dms" else None
    pairs = [(t.get("Key", ""), t.get("Value", "")) for t in tags or [] if isinstance(t, dict)]
    return [problem for key, value in pairs for problem in facts.tag_problems(key, value)]


def request_contract_problems(request: ApiRequest) -> list[ContractProblem]:
    """Model problems (shape) and fact problems of one request."""
    messages = request_problems(request.service, request.operation, request.params)
    messages += FACT_CHECKS.get(request.operation, lambda _r: [])(request)
    messages += _dms_tags(request)
    return [ContractProblem(request.resource, request.operation, m) for m in messages]


def check_resources(resources: Iterable[Any]) -> tuple[list[ApiRequest], list[ContractProblem]]:
    """Every request the resources become, and every problem AWS would have with them."""
    requests = [r for resource in resources for r in requests_for(resource)]
    problems = [p for r in requests for p in request_contract_problems(r)]
    return requests, problems
