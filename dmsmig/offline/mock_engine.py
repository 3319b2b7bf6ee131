"""Run the Pulumi program offline under Pulumi's mock engine and record what it declares.

This is what ``plan``, ``policy-check`` and the tests use instead of the Pulumi CLI. The
pulumi-aws SDK still type-checks every resource argument, so a program that builds here uses
real resource signatures; the ARNs and ids it prints are made up by :class:`StackMocks`.

Only Pulumi's public testing API: ``pulumi.runtime.reset_options`` and ``set_mocks`` (with the
project name from Pulumi.yaml and the stack's name), a ``Mocks`` subclass, a ``MockMonitor``
given to ``set_mocks`` that keeps each registration's parent and dependencies, and
``pulumi.runtime.test`` to run the program and wait for its outputs.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from dmsmig.config.stack import StackConfig, project_name

MOCK_ACCOUNT = "123456789012"

# Output properties that the provider computes, by resource type: (property, ARN template).
_ARN_OUTPUTS = {
    "aws:dms/replicationInstance:ReplicationInstance": (
        "replicationInstanceArn",
        "dms:{region}:{account}:rep:{replicationInstanceId}",
    ),
    "aws:dms/endpoint:Endpoint": ("endpointArn", "dms:{region}:{account}:endpoint:{endpointId}"),
    "aws:dms/replicationTask:ReplicationTask": (
        "replicationTaskArn",
        "dms:{region}:{account}:task:{resourceIdentifier}",
    ),
    "aws:dms/replicationConfig:ReplicationConfig": (
        "arn",
        "dms:{region}:{account}:replication-config:{resourceIdentifier}",
    ),
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": (
        "replicationSubnetGroupArn",
        "dms:{region}:{account}:subgrp:{replicationSubnetGroupId}",
    ),
    "aws:dms/eventSubscription:EventSubscription": ("arn", "dms:{region}:{account}:es:{name}"),
    "aws:dynamodb/table:Table": ("arn", "dynamodb:{region}:{account}:table/{name}"),
    "aws:s3/bucket:Bucket": ("arn", "s3:::{bucket}"),
    "aws:iam/role:Role": ("arn", "iam::{account}:role/{name}"),
    "aws:kms/key:Key": ("arn", "kms:{region}:{account}:key/{__name}"),
    "aws:sns/topic:Topic": ("arn", "sns:{region}:{account}:{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("arn", "logs:{region}:{account}:log-group:{name}"),
    "aws:cloudwatch/eventRule:EventRule": ("arn", "events:{region}:{account}:rule/{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("arn", "cloudwatch:{region}:{account}:alarm:{name}"),
    "aws:ssm/parameter:Parameter": ("arn", "ssm:{region}:{account}:parameter{name}"),
}


@dataclass
class DeclaredResource:
    """One resource the program declared, as the engine saw it."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False


@dataclass
class ProgramRun:
    """Everything one offline run produced."""

    resources: list[DeclaredResource]
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, DeclaredResource]:
        return {r.urn: r for r in self.resources}

    def children_of(self, urn: str | None) -> list[DeclaredResource]:
        return [r for r in self.resources if r.parent == urn]


class StackMocks(pulumi_mocks.Mocks):
    """Made-up provider answers: inputs echoed back plus computed ARNs and ids."""

    def __init__(self, region: str):
        self.region = region

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        state = dict(args.inputs)
        known = _ARN_OUTPUTS.get(args.typ)
        values = {"region": self.region, "account": MOCK_ACCOUNT, "__name": args.name, "name": args.name, **args.inputs}
        if known:
            prop, template = known
            try:
                state[prop] = "arn:aws:" + template.format(**values)
            except KeyError:
                state[prop] = f"arn:aws:mock:{self.region}:{MOCK_ACCOUNT}:{args.name}"
        elif args.custom:
            service = args.typ.split(":")[1].split("/")[0]
            state.setdefault("arn", f"arn:aws:{service}:{self.region}:{MOCK_ACCOUNT}:{args.name}")
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = f"{args.name}-key-id"
        if args.typ == "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup":
            state["id"] = args.inputs.get("replicationSubnetGroupId")
        resource_id = args.inputs.get("name") or args.inputs.get("bucket") or f"{args.name}_id"
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": MOCK_ACCOUNT,
                "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/plan",
                "userId": "PLAN",
                "id": MOCK_ACCOUNT,
            }
        if args.token == "aws:secretsmanager/getSecret:getSecret":
            name = args.args.get("name") or "secret"
            arn = f"arn:aws:secretsmanager:{self.region}:{MOCK_ACCOUNT}:secret:{name}-AbCdEf"
            return {"arn": arn, "name": name, "id": arn}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping each registration's parent and dependencies."""

    def __init__(self, mocks: StackMocks):
        super().__init__(mocks)
        self.records: dict[str, dict] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)  # it deserialises the inputs in this thread's loop
        if request.type != "pulumi:pulumi:Stack":
            self.records[response.urn] = {
                "type": request.type,
                "name": request.name,
                "custom": request.custom,
                "inputs": _unwrap_secrets(rpc.deserialize_properties(request.object)),
                "parent": request.parent or None,
                "dependencies": list(request.dependencies),
                "property_dependencies": {k: list(v.urns) for k, v in request.propertyDependencies.items() if v.urns},
                "protect": bool(request.protect),
            }
        return response


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic GC for a batch step.

    The SDK and the policy proxies allocate many small objects per resource; repeated GC passes
    over the growing heap made a 1,000-task build + check superlinear (bench/scale.py: 11.8x for
    10x the tasks, 10.3x with GC paused). Collection resumes when the step ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _unwrap_secrets(value: Any) -> Any:
    """Replace the engine's secret wrappers with their values (as policy packs see them)."""
    if rpc.is_rpc_secret(value):
        return _unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_stack(urn: str | None) -> bool:
    return not urn or urn.split("::")[2].split("$")[-1] == "pulumi:pulumi:Stack"


def run_program(
    stack: StackConfig,
    build: Callable[[StackConfig], dict] | None = None,
    stack_name: str = "plan",
    transformations: list[Callable] | None = None,
    project: str | None = None,
) -> ProgramRun:
    """Build ``stack`` under mocks; return the declared resources and resolved outputs.

    ``project`` is the project's name, as ``pulumi.get_project()`` gives it (default: Pulumi.yaml's
    ``name`` in the project folder); URNs carry it.

    ``transformations`` are Pulumi stack transformations registered before the build: tests
    use them to simulate hand edits that config validation would never let through.
    """
    if build is None:
        from dmsmig.program import build as build_program

        build = build_program
    mocks = StackMocks(stack.region)
    monitor = RecordingMonitor(mocks)
    project = project or project_name()
    # A fresh root stack per run, so transformations of one run never leak into the next.
    pulumi.runtime.reset_options(project=project, stack=stack_name, preview=False)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack_name, preview=False, monitor=monitor)
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output:
        for transformation in transformations or []:
            pulumi.runtime.register_stack_transformation(transformation)
        return pulumi.Output.from_input(build(stack)).apply(resolved.update)

    with paused_gc():
        program()
        return _collect_run(monitor, resolved)


def _collect_run(monitor: RecordingMonitor, resolved: dict[str, Any]) -> ProgramRun:
    """The declared resources, with the engine's state, in registration order."""

    registered = monitor.get_registered_resources()
    resources = []
    for urn, record in monitor.records.items():
        state = registered[urn].state if urn in registered else {}
        resources.append(
            DeclaredResource(
                urn=urn,
                type=record["type"],
                name=record["name"],
                custom=record["custom"],
                inputs=record["inputs"],
                outputs=_unwrap_secrets(dict(state)),
                parent=None if _is_stack(record["parent"]) else record["parent"],
                dependencies=record["dependencies"],
                property_dependencies=record["property_dependencies"],
                protect=record["protect"],
            )
        )
    return ProgramRun(resources=resources, outputs=resolved)
