"""Preflight: is everything in place to start the tasks? Each check says why and how to fix."""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from dmsmig.config.stack import MigrationConfig
from dmsmig.contract import facts
from dmsmig.ops import assessments
from dmsmig.ops.decisions import ACTIVE, RESUMABLE, STARTABLE_FIRST
from dmsmig.ops.dms import describe_tasks
from dmsmig.ops.errors import explain
from dmsmig.ops.outputs import StackOutputs
from dmsmig.ops.retry import call_with_retry


@dataclass(frozen=True)
class Check:
    """One preflight result."""

    name: str
    ok: bool
    reason: str
    fix: str = ""


def instance_checks(dms: Any, outputs: StackOutputs) -> list[Check]:
    checks = []
    try:
        page = call_with_retry(
            dms.describe_replication_instances,
            Filters=[{"Name": "replication-instance-arn", "Values": outputs.instance_arns}],
        )
    except Exception as err:
        e = explain(err, "describing", "replication instances")
        return [Check("replication instances", False, e.message, e.fix or "")]
    by_arn = {i["ReplicationInstanceArn"]: i for i in page.get("ReplicationInstances", [])}
    for arn in outputs.instance_arns:
        instance = by_arn.get(arn)
        if instance is None:
            checks.append(Check(f"instance {arn.rsplit(':', 1)[-1]}", False, "not found", "run pulumi up"))
            continue
        status = instance.get("ReplicationInstanceStatus")
        checks.append(
            Check(
                f"instance {instance['ReplicationInstanceIdentifier']}",
                status == "available",
                f"status {status}",
                "" if status == "available" else "wait until available (creating takes ~10 min)",
            )
        )
    return checks


def orderable_check(dms: Any, config: MigrationConfig, region: str) -> Check:
    """The instance class and engine version can be ordered in the region (DescribeOrderableReplicationInstances)."""
    klass, version = config.replication.instance_class, config.replication.engine_version
    name = f"orderable {klass} {version}"
    versions: set[str] = set()
    classes: set[str] = set()
    marker = None
    try:
        while True:
            page = call_with_retry(
                dms.describe_orderable_replication_instances, **({"Marker": marker} if marker else {})
            )
            for offer in page.get("OrderableReplicationInstances", []):
                classes.add(offer.get("ReplicationInstanceClass", ""))
                if offer.get("ReplicationInstanceClass") == klass:
                    versions.add(offer.get("EngineVersion", ""))
            marker = page.get("Marker")
            if not marker:
                break
    except Exception as err:
        e = explain(err, "listing", "orderable replication instances")
        return Check(name, False, e.message, e.fix or "")
    if version in versions:
        return Check(name, True, f"orderable in {region}")
    if versions:
        newest = sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".") if x.isdigit()))[-3:]
        return Check(
            name,
            False,
            f"engine version {version} is not offered for {klass} in {region}",
            f"set replication.engineVersion to one offered: {', '.join(newest)} (newest last)",
        )
    similar = sorted(c for c in classes if c.split(".")[1:2] == klass.split(".")[1:2])[:6]
    return Check(
        name,
        False,
        f"instance class {klass} is not offered in {region}",
        "set replication.instanceClass to one offered" + (f", e.g. {', '.join(similar)}" if similar else ""),
    )


def connection_checks(
    dms: Any, outputs: StackOutputs, timeout: float, poll: float, sleep: Callable[[float], None]
) -> list[Check]:
    instance_arn = outputs.instance_arns[0]
    endpoints = {
        **{f"source {k}": v for k, v in outputs.source_endpoint_arns.items()},
        "target": outputs.target_endpoint_arn,
    }
    checks = []
    for label, endpoint_arn in endpoints.items():
        try:
            call_with_retry(dms.test_connection, ReplicationInstanceArn=instance_arn, EndpointArn=endpoint_arn)
        except Exception as err:
            code = getattr(err, "response", {}).get("Error", {}).get("Code", "")
            if code != "InvalidResourceStateFault":  # a test already in progress is fine: wait for it
                e = explain(err, "testing connection of", label)
                checks.append(Check(f"connection {label}", False, e.message, e.fix or ""))
                continue
        deadline = time.monotonic() + timeout
        status, message = "testing", ""
        while True:
            page = call_with_retry(
                dms.describe_connections,
                Filters=[
                    {"Name": "endpoint-arn", "Values": [endpoint_arn]},
                    {"Name": "replication-instance-arn", "Values": [instance_arn]},
                ],
            )
            connection = (page.get("Connections") or [{}])[0]
            status, message = connection.get("Status", "testing"), connection.get("LastFailureMessage", "")
            if status != "testing" or time.monotonic() >= deadline:
                break
            sleep(poll)
        fix = {
            "failed": connection_fix(message),
            "testing": f"still testing after {timeout:.0f}s; raise --connection-timeout or check the network path",
        }.get(status, "")
        checks.append(Check(f"connection {label}", status == "successful", f"{status} {message}".strip(), fix))
    return checks


SECRETS_MANAGER_UNREACHABLE = re.compile(r"secrets ?manager|secretsmanager|retriev\w* secret", re.IGNORECASE)
DYNAMODB_UNREACHABLE = re.compile(r"dynamodb", re.IGNORECASE)


def connection_fix(message: str) -> str:
    """What to do about a failed connection test, naming the private-subnet cause when the message shows it."""
    if SECRETS_MANAGER_UNREACHABLE.search(message):
        return (
            "the instance could not read the secret: from private subnets without a NAT it needs a Secrets Manager "
            "VPC endpoint: set network.vpcEndpoints.secretsManager: true (security groups must allow 443), pulumi up"
        )
    if DYNAMODB_UNREACHABLE.search(message) and re.search(r"timed? ?out|connect|unreachable", message, re.IGNORECASE):
        return (
            "the instance could not reach DynamoDB: from private subnets without a NAT it needs a gateway endpoint: "
            "set network.vpcEndpoints.dynamodb: true with network.routeTableIds, pulumi up"
        )
    return "check security groups/routes from the instance subnets, the secret host/port and SSL"


def task_checks(dms: Any, outputs: StackOutputs) -> list[Check]:
    try:
        described = describe_tasks(dms, [t for _g, t in outputs.tasks()])
    except Exception as err:
        e = explain(err, "describing", "tasks")
        return [Check("tasks", False, e.message, e.fix or "")]
    checks = []
    for _group, task in outputs.tasks():
        status = described[task.arn]["Status"]
        ok = status in STARTABLE_FIRST | RESUMABLE | ACTIVE
        checks.append(
            Check(
                f"{'replication' if task.serverless else 'task'} {task.task_id}",
                ok and status != "failed",
                f"status {status}"
                + (f": {described[task.arn].get('LastFailureMessage')}" if status == "failed" else ""),
                "" if ok and status != "failed" else "fix the failure, then `resume`" if status == "failed" else "wait",
            )
        )
    return checks


def table_checks(dynamodb: Any, outputs: StackOutputs, config: MigrationConfig, warm: bool = True) -> list[Check]:
    try:
        table = call_with_retry(dynamodb.describe_table, TableName=outputs.table_name)["Table"]
    except Exception as err:
        e = explain(err, "describing table", outputs.table_name)
        return [Check(f"table {outputs.table_name}", False, e.message, e.fix or "")]
    status = table.get("TableStatus")
    checks = [
        Check(
            f"table {outputs.table_name}", status == "ACTIVE", f"status {status}", "" if status == "ACTIVE" else "wait"
        )
    ]
    wanted = config.target.warm_throughput.write_units_per_second if config.target.warm_throughput else None
    if wanted and warm:
        checks.append(warm_throughput_check(outputs.table_name, table.get("WarmThroughput") or {}, wanted))
    return checks


def warm_throughput_check(table: str, warm: dict, wanted: int) -> Check:
    """The pre-warm is in place: DescribeTable's WarmThroughput ACTIVE at (or above) the configured write units."""
    name = f"table {table} pre-warmed"
    status, units = warm.get("Status"), warm.get("WriteUnitsPerSecond")
    if status == "ACTIVE" and isinstance(units, int) and units >= wanted:
        return Check(name, True, f"warm throughput ACTIVE at {units:,} write units/s")
    shown = f"{status or 'no warm throughput reported'}" + (f" at {units:,} write units/s" if units else "")
    return Check(
        name,
        False,
        f"{shown}; target.warmThroughput asks for {wanted:,}",
        "pulumi up (it sets the warm throughput), then wait for ACTIVE before starting the load: "
        "AWS says to pre-warm at least 24 h ahead",
    )


def _secret_checks(secrets: Any, config: MigrationConfig, arns: dict[str, str], stack: str) -> list[Check]:
    """Each source's secret exists and has a current value (described, never read)."""
    checks = []
    for source in config.sources:
        secret_id = source.secret.arn or source.secret.name or ""
        try:
            described = call_with_retry(secrets.describe_secret, SecretId=secret_id)
        except Exception as err:
            e = explain(err, "describing secret", secret_id)
            fix = f"python -m dmsmig bootstrap-secret --stack {stack} --source {source.name}"
            checks.append(Check(f"secret {source.name}", False, e.message, fix))
            continue
        arns[source.name] = described["ARN"]
        has_value = any("AWSCURRENT" in stages for stages in described.get("VersionIdsToStages", {}).values())
        checks.append(
            Check(
                f"secret {source.name}",
                has_value,
                "exists with a current version" if has_value else "exists but has no value",
                "" if has_value else f"python -m dmsmig bootstrap-secret --stack {stack} --source {source.name}",
            )
        )
    return checks


def _allows(document: dict, action: str, resource: str) -> bool:
    """Whether an identity policy has an Allow statement for ``action`` on ``resource``."""
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in resources
        ):
            return True
    return False


def _role_checks(iam: Any, secret_arns: dict[str, str], config: MigrationConfig) -> list[Check]:
    """Each source's access role trusts DMS and may read its secret (read from IAM, nothing assumed)."""
    checks = []
    for source in config.sources:
        role_name = f"{config.prefix}-source-{source.name}-secret-access"[:64]
        secret_arn = secret_arns.get(source.name)
        try:
            role = call_with_retry(iam.get_role, RoleName=role_name)["Role"]
            names = call_with_retry(iam.list_role_policies, RoleName=role_name)["PolicyNames"]
            documents = [
                call_with_retry(iam.get_role_policy, RoleName=role_name, PolicyName=n)["PolicyDocument"] for n in names
            ]
        except Exception as err:
            e = explain(err, "reading access role", role_name)
            checks.append(Check(f"role {source.name} reads secret", False, e.message, e.fix or ""))
            continue
        trust = role.get("AssumeRolePolicyDocument", {})
        trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
        trusted = "dms.amazonaws.com" in json.dumps(trust)
        documents = [json.loads(unquote(d)) if isinstance(d, str) else d for d in documents]
        readable = secret_arn is not None and any(
            _allows(d, "secretsmanager:GetSecretValue", secret_arn) for d in documents
        )
        ok = trusted and readable
        if ok:
            reason = "trusted by DMS, may read the secret"
        elif not trusted:
            reason = "not trusted by dms.amazonaws.com"
        elif secret_arn is None:
            reason = "not checked: the secret does not exist yet"
        else:
            reason = "its policy does not allow GetSecretValue on the secret"
        fix = "bootstrap the secret first" if secret_arn is None and trusted else "run pulumi up to restore the role"
        checks.append(Check(f"role {source.name} reads secret", ok, reason, "" if ok else fix))
    return checks


def assessment_checks(
    dms: Any,
    outputs: StackOutputs,
    config: MigrationConfig,
    timeout: float,
    poll: float,
    on_progress: Callable[[str, dict], None] = lambda _task, _run: None,
) -> list[Check]:
    """Run a premigration assessment per task and report each individual assessment with its fix."""
    if not outputs.assessment_bucket or not outputs.assessment_role_arn:
        return [
            Check(
                "assessments",
                False,
                "the stack has no assessment results bucket and role",
                "set migration.assessments.enabled: true and pulumi up, then preflight --assess",
            )
        ]
    refs = [t for _g, t in outputs.tasks()]
    checks = [
        Check(
            f"assessment {ref.task_id}",
            True,
            "NOT ASSESSED: DMS runs a premigration assessment of a Serverless replication only when "
            "StartReplication carries PremigrationAssessmentSettings (botocore dms model), which `start` "
            "does not send",
            "run one from the DMS console (Serverless replication, Assess) before the first start",
        )
        for ref in refs
        if ref.serverless
    ]
    tasks = [ref for ref in refs if not ref.serverless]
    if not tasks:
        return checks
    runs = assessments.start_runs(
        dms, tasks, outputs.assessment_bucket, outputs.assessment_role_arn, config.assessments
    )
    finished = assessments.wait_for_runs(dms, runs, timeout, poll, on_progress)
    for ref in tasks:
        run = finished[ref.task_id]
        verdict = assessments.run_verdict(run)
        if verdict == "in-progress":
            checks.append(
                Check(
                    f"assessment {ref.task_id}",
                    False,
                    f"still {run.get('Status')} after {timeout:.0f}s",
                    "raise --assess-timeout (the run goes on in DMS; its results land in the bucket)",
                )
            )
            continue
        results = assessments.individual_results(dms, ref.task_id, run)
        for result in results:
            checks.append(
                Check(f"assessment {ref.task_id} {result.name}", not result.failed, result.status, result.fix)
            )
        if verdict == "failed" and not any(r.failed for r in results):
            message = run.get("LastFailureMessage") or f"run status {run.get('Status')}"
            checks.append(
                Check(f"assessment {ref.task_id}", False, message, "check the role and bucket, then run it again")
            )
    return checks


def run_preflight(
    clients: Any,
    outputs: StackOutputs,
    config: MigrationConfig,
    connection_timeout: float = 300,
    poll: float = 10,
    sleep: Callable[[float], None] = time.sleep,
    stack: str = "<stack>",
    assess_timeout: float | None = None,
    on_assessment: Callable[[str, dict], None] = lambda _task, _run: None,
) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    secret_arns: dict[str, str] = {}
    checks = instance_checks(clients.dms, outputs) if outputs.instance_arns else []
    if outputs.instance_arns:
        checks.append(orderable_check(clients.dms, config, getattr(clients, "region", "the region")))
    checks += _secret_checks(clients.secrets, config, secret_arns, stack)
    checks += _role_checks(clients.iam, secret_arns, config)
    checks += table_checks(clients.dynamodb, outputs, config)
    if config.serverless_groups:
        checks += vpc_endpoint_checks(clients.ec2, config)
    checks += task_checks(clients.dms, outputs)
    if not outputs.instance_arns:
        checks.append(
            Check(
                "connections",
                True,
                "no replication instance to test from: every group is Serverless, and DMS Serverless tests the "
                "connections itself when a replication starts (phase testing_connection; status shows it)",
            )
        )
    elif all(c.ok for c in checks if c.name.startswith("instance")):
        checks += connection_checks(clients.dms, outputs, connection_timeout, poll, sleep)
    else:
        checks.append(Check("connections", False, "not tested: instance not available", "wait for the instance"))
    if assess_timeout is not None:
        if all(c.ok for c in checks if c.name.startswith(("connection", "instance", "task "))):
            checks += assessment_checks(clients.dms, outputs, config, assess_timeout, poll, on_assessment)
        else:
            checks.append(
                Check("assessments", False, "not run: a task, instance or connection check failed", "fix those first")
            )
    return checks


VPC_ENDPOINT_SERVICES = {"secretsManager": "secretsmanager", "dynamodb": "dynamodb"}


def vpc_endpoint_checks(ec2: Any, config: MigrationConfig) -> list[Check]:
    """The VPC endpoints DMS Serverless requires (fact serverless-required-vpc-endpoints) exist and are available."""
    try:
        page = call_with_retry(
            ec2.describe_vpc_endpoints, Filters=[{"Name": "vpc-id", "Values": [config.network.vpc_id]}]
        )
    except Exception as err:
        e = explain(err, "describing the VPC endpoints of", config.network.vpc_id)
        return [Check("VPC endpoints", False, e.message, e.fix or "")]
    states = {e.get("ServiceName", "").rsplit(".", 1)[-1]: e.get("State", "") for e in page.get("VpcEndpoints", [])}
    checks = []
    for name in facts.SERVERLESS_REQUIRED_VPC_ENDPOINTS:
        service = VPC_ENDPOINT_SERVICES[name]
        state = states.get(service)
        ok = state is not None and state.lower() == "available"
        reason = f"{service} endpoint {state}" if state else f"no {service} endpoint in {config.network.vpc_id}"
        fix = (
            ""
            if ok
            else f"DMS Serverless reaches {service} only through a VPC endpoint: set network.vpcEndpoints.{name}: "
            "true and pulumi up (or create it and list it in network.vpcEndpoints.existing)"
        )
        checks.append(Check(f"VPC endpoint {service}", ok, reason, fix))
    return checks
