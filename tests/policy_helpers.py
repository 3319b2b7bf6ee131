"""Build pulumi-policy arguments by hand and collect what a rule reports."""

from __future__ import annotations

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from dmsmig.offline.policy_check import effective_settings


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def resource(type_: str, props: dict, name: str = "r", deps: dict | None = None) -> PolicyResource:
    urn = f"urn:pulumi:test::dms-migration::{type_}::{name}"
    return PolicyResource(type_, unknown_checking_proxy(props), urn, name, _opts(), None, None, [], deps or {})


def check_resource(policy, type_: str, props: dict, config: dict | None = None) -> list[str]:
    """Messages ``policy`` reports for one resource (config: schema defaults + ``config``)."""
    _level, effective = effective_settings(policy, {policy.name: config} if config else {})
    messages: list[str] = []
    args = ResourceValidationArgs(
        type_, unknown_checking_proxy(props), f"urn:pulumi:test::p::{type_}::r", "r", _opts(), None, effective, {}
    )
    policy.validate(args, lambda message, urn=None: messages.append(message))
    return messages


def check_stack(policy, resources: list[PolicyResource], config: dict | None = None) -> list[tuple[str, str | None]]:
    """``(message, urn)`` pairs ``policy`` reports for a stack of resources."""
    _level, effective = effective_settings(policy, {policy.name: config} if config else {})
    found: list[tuple[str, str | None]] = []
    policy.validate(StackValidationArgs(resources, effective, {}), lambda m, urn=None: found.append((m, urn)))
    return found
