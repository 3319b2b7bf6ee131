"""The package, the components and the policy pack use other projects through their public names only:
what moto, pulumi or pulumi_policy keep private (an underscore) can change in any release."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dmsmig.config.stack import PROJECT_DIR

GUARDED = ("moto", "pulumi", "pulumi_aws", "pulumi_policy", "ruamel")
SOURCES = sorted(
    p
    for folder in ("dmsmig", "components", "policies/dms_guardrails")
    for p in (PROJECT_DIR / folder).rglob("*.py")
)


def private_imports(path: Path) -> list[str]:
    """``module.name`` for every import of a guarded project whose module path or name starts with '_'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in GUARDED:
                parts = node.module.split(".")
                for alias in node.names:
                    if any(part.startswith("_") for part in [*parts, alias.name]):
                        found.append(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in GUARDED and any(part.startswith("_") for part in parts):
                    found.append(alias.name)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            # pulumi.runtime.rpc._x, moto_module._x: an underscore name reached through a guarded module
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in {"pulumi", "rpc", "moto", "pulumi_policy"}:
                found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PROJECT_DIR)) for p in SOURCES])
def test_no_module_imports_a_private_name_of_moto_pulumi_or_pulumi_policy(path):
    assert private_imports(path) == []


def test_the_check_finds_a_private_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from pulumi.runtime.sync_await import _sync_await\n"
        "from pulumi_policy.policy import _NotApplicableError\n"
        "import moto._internal\n"
        "from pulumi.runtime import rpc\n"
        "x = rpc._special_sig_key\n"
    )
    assert private_imports(planted) == [
        "pulumi.runtime.sync_await._sync_await",
        "pulumi_policy.policy._NotApplicableError",
        "moto._internal",
        "rpc._special_sig_key",
    ]
