"""Offline policy check: the pack's own rule objects over the program run under mocks.

The same rules, levels and per-environment pack config (``policies/config.<stack>.json``)
that ``pulumi preview --policy-pack policies --policy-pack-config ...`` applies, evaluated
without the Pulumi CLI or a cloud account.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from dmsmig.config.bounds import parse_bound_problem
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.offline.mock_engine import ProgramRun, paused_gc
from policies.dms_guardrails import PACK_NAME, PACK_VERSION, POLICIES

POLICIES_DIR = PROJECT_DIR / "policies"


@dataclass(frozen=True)
class Violation:
    """One reported violation, as Pulumi prints it."""

    policy: str
    level: str
    message: str
    urn: str | None
    description: str

    @property
    def resource(self) -> str:
        if not self.urn:
            return "stack"
        type_and_name = self.urn.split("::", 2)[-1]
        type_chain, _, name = type_and_name.rpartition("::")
        return f"{type_chain.split('$')[-1]}: {name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "urn": self.urn,
            "message": self.message,
            "description": self.description,
        }


def pack_config_path(stack: str, directory: Path = POLICIES_DIR) -> Path:
    return directory / f"config.{stack}.json"


def load_pack_config(path: Path) -> dict[str, Any]:
    """Read a ``--policy-pack-config`` file; errors name the file and the key."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        available = sorted(p.name for p in path.parent.glob("config.*.json"))
        raise ValueError(f"{path}: not found (pack configs here: {', '.join(available)})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    except (ValueError, RecursionError) as err:
        raise ValueError(f"{path}: {parse_bound_problem(err) or err}") from None
    known = {policy.name for policy in POLICIES} | {"all"}
    for key in document:
        if key not in known:
            raise ValueError(f"{path}: '{key}' is not a policy of {PACK_NAME}; known: {', '.join(sorted(known))}")
    return document


def effective_settings(policy, pack_config: dict[str, Any]) -> tuple[EnforcementLevel, dict[str, Any]]:
    """The enforcement level and config a policy runs with under ``pack_config``."""
    level = policy.enforcement_level or EnforcementLevel.MANDATORY
    if "all" in pack_config:
        level = EnforcementLevel(pack_config["all"])
    config: dict[str, Any] = {}
    schema = getattr(policy, "config_schema", None)
    if schema is not None:
        config = {k: v["default"] for k, v in schema.properties.items() if "default" in v}
    entry = pack_config.get(policy.name)
    if isinstance(entry, str):
        level = EnforcementLevel(entry)
    elif isinstance(entry, dict):
        if "enforcementLevel" in entry:
            level = EnforcementLevel(entry["enforcementLevel"])
        config.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
    return level, config


def _computed_values(resource) -> set[str]:
    """Output strings the provider computes (not echoed inputs): unknown until the update runs."""
    echoed = {json.dumps(v, sort_keys=True) for v in resource.inputs.values()}
    return {
        v
        for k, v in resource.outputs.items()
        if isinstance(v, str)
        and len(v) > 3
        and json.dumps(v, sort_keys=True) not in echoed
        and k not in resource.inputs
    }


def _hide(value: Any, computed: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _hide(v, computed) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v, computed) for v in value]
    if isinstance(value, str) and any(c in value for c in computed):
        return UNKNOWN_STRING_VALUE
    return value


def _preview_props(resource, by_urn: dict) -> dict[str, Any]:
    """Inputs as `pulumi preview` shows them: every value built from another resource's computed
    outputs (ARNs, ids, documents embedding them) is unknown; literal parts of the same input stay known."""
    props = dict(resource.inputs)
    for key, urns in resource.property_dependencies.items():
        computed = set().union(*(_computed_values(by_urn[u]) for u in urns if u in by_urn))
        if key in props:
            props[key] = _hide(props[key], computed) if computed else props[key]
    return props


def _policy_resources(run: ProgramRun, preview: bool = False) -> list[PolicyResource]:
    custom = [r for r in run.resources if r.custom]
    by_urn = run.by_urn()
    made: dict[str, PolicyResource] = {}
    for r in custom:
        opts = PolicyResourceOptions(
            protect=r.protect,
            ignore_changes=[],
            delete_before_replace=None,
            aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=[],
            parent=r.parent,
        )
        made[r.urn] = PolicyResource(
            resource_type=r.type,
            props=unknown_checking_proxy(_preview_props(r, by_urn) if preview else r.inputs),
            urn=r.urn,
            name=r.name,
            opts=opts,
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for r in custom:
        resource = made[r.urn]
        resource.dependencies = [made[u] for u in r.dependencies if u in made]
        resource.property_dependencies = {
            key: [made[u] for u in urns if u in made] for key, urns in r.property_dependencies.items()
        }
    return list(made.values())


async def _awaited(result: Awaitable[Any]) -> Any:
    return await result


def _call(validate, args, report, policy) -> None:
    try:
        result = validate(args, report)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))
    except UnknownValueError as err:
        # What pulumi-policy reports when a rule reads a value only known after the update.
        report(f"can't run policy '{policy.name}' during preview: {err.message}", level=EnforcementLevel.ADVISORY)


def evaluate(
    run: ProgramRun, pack_config: dict[str, Any], stack_tags: dict[str, str] | None = None, preview: bool = False
) -> list[Violation]:
    """Run every enabled policy of the pack over ``run``; return the violations.

    ``preview`` hides every input computed from another resource, as `pulumi preview` does.
    """
    with paused_gc():
        return _evaluate(run, pack_config, stack_tags, preview)


def _evaluate(
    run: ProgramRun, pack_config: dict[str, Any], stack_tags: dict[str, str] | None, preview: bool
) -> list[Violation]:
    resources = _policy_resources(run, preview)
    violations: list[Violation] = []
    for policy in POLICIES:
        level, config = effective_settings(policy, pack_config)
        if level == EnforcementLevel.DISABLED:
            continue

        def report(message: str, urn: str | None = None, *, level=None, _policy=policy, _level=level) -> None:
            chosen = level or _level
            violations.append(Violation(_policy.name, chosen.value, message, urn, _policy.description))

        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                args = ResourceValidationArgs(
                    resource.resource_type,
                    resource.props,
                    resource.urn,
                    resource.name,
                    resource.opts,
                    None,
                    config,
                    stack_tags or {},
                )

                def report_for(
                    message: str, urn: str | None = None, *, level=None, _urn=resource.urn, _r=report
                ) -> None:
                    _r(message, urn or _urn, level=level)

                _call(policy.validate, args, report_for, policy)
        elif isinstance(policy, StackValidationPolicy):
            _call(policy.validate, StackValidationArgs(resources, config, stack_tags or {}), report, policy)
    return violations


def has_mandatory(violations: list[Violation]) -> bool:
    return any(v.level == EnforcementLevel.MANDATORY.value for v in violations)


def pack_label() -> str:
    return f"{PACK_NAME} v{PACK_VERSION}"
