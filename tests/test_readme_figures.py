"""The figures the README and docs/ quote about the shipped stacks come from the program: checked here so
they cannot drift."""

from __future__ import annotations

import re

import pytest

from dmsmig.config.stack import PROJECT_DIR
from dmsmig.contract.check import check_resources
from tests.conftest import built

README = "\n".join(p.read_text() for p in [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))])


@pytest.mark.parametrize("stack", ["sandbox", "prod"])
def test_resource_and_component_counts(stack):
    run = built(stack)
    cloud = sum(1 for r in run.resources if r.custom)
    components = sum(1 for r in run.resources if not r.custom and r.type != "pulumi:pulumi:Stack")
    found = re.search(rf"\*\*{stack}: (\d+)\s+(?:cloud\s+)?resources in (\d+) components\*\*", README)
    assert found, f"the README states {stack}'s resource counts"
    assert (int(found.group(1)), int(found.group(2))) == (cloud, components)


def test_contract_request_count_and_policy_check_resource_counts():
    requests, problems = check_resources(built("sandbox").resources)
    assert problems == [] and f"AWS contract: {len(requests)} requests … none refused" in README
    sandbox, prod = len(built("sandbox").resources), len(built("prod").resources)
    assert f"sandbox 0.38 s ({sandbox} resources), prod 0.40 s ({prod})" in README


def test_the_prod_full_load_the_readme_quotes_is_plans():
    from dmsmig.config.stack import load_stack_config
    from dmsmig.model.throughput import load_plan

    plan = load_plan(load_stack_config("prod").migration)
    quoted = f"full load: about {plan.hours:,.1f} h (an estimate from the figures above), bounded by {plan.bound.name}"
    assert quoted in README
    for stage in plan.stages:
        if stage.hours is not None:
            assert re.search(rf" {re.escape(stage.name)} .* {stage.hours:,.1f} h", README), stage.name
