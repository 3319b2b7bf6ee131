"""The tree shows the layers: each module imports only from its own layer or the layers below.

contract -> config -> model -> program (dmsmig/program.py and components/) -> ops -> cutover -> offline
-> rehearsal -> cli. The core (contract to cutover) never knows the mock engine or the rehearsal exists;
the policy pack imports nothing of this package but the standard-library load model; CLI command
modules never import each other. Absolute and relative imports alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
LAYERS = ["contract", "config", "model", "program", "ops", "cutover", "offline", "rehearsal", "cli"]
CORE = LAYERS[: LAYERS.index("cutover") + 1]
CLI_SHARED = {"dmsmig.cli.common", "dmsmig.cli.boundary"}
PACK_MAY_IMPORT = {"dmsmig.model.load", "dmsmig.model"}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "components" or module == "dmsmig.program":
        return "program"
    if parts[0] != "dmsmig" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def imports(path: Path) -> list[str]:
    """Every module (and ``module.name``) ``path`` imports, relative imports resolved against its package."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return found


MODULES = sorted(
    p
    for p in [*(PROJECT / "dmsmig").rglob("*.py"), *(PROJECT / "components").rglob("*.py")]
    if layer(module_name(p))
)
PACK = sorted((PROJECT / "policies" / "dms_guardrails").rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PROJECT)) for p in MODULES])
def test_modules_import_only_from_their_layer_or_below(path):
    module = module_name(path)
    own = LAYERS.index(layer(module) or "")
    for imported in imports(path):
        found = layer(imported)
        if found is not None:
            assert LAYERS.index(found) <= own, f"{module} imports {imported} (layer {found} is above {LAYERS[own]})"


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PROJECT)) for p in MODULES])
def test_the_core_never_imports_the_mock_engine_or_the_rehearsal(path):
    module = module_name(path)
    if layer(module) in CORE:
        assert not [i for i in imports(path) if i.startswith(("dmsmig.offline", "dmsmig.rehearsal"))]


@pytest.mark.parametrize("path", PACK, ids=[p.name for p in PACK])
def test_the_policy_pack_imports_only_the_load_model_of_this_package(path):
    ours = [i for i in imports(path) if i.split(".")[0] in {"dmsmig", "components", "tests"}]
    assert set(ours) <= PACK_MAY_IMPORT | {f"{m}.load" for m in PACK_MAY_IMPORT}, ours


def test_cli_command_modules_never_import_each_other():
    for path in (PROJECT / "dmsmig" / "cli").glob("*.py"):
        module = f"dmsmig.cli.{path.stem}"
        if path.stem == "__init__" or module in CLI_SHARED:
            continue
        for imported in imports(path):
            if imported.startswith("dmsmig.cli.") and imported.count(".") == 2:
                assert imported in CLI_SHARED, f"{module} imports {imported}"


def test_relative_imports_are_resolved_and_an_upward_one_is_caught(tmp_path, monkeypatch):
    package = tmp_path / "dmsmig" / "ops"
    package.mkdir(parents=True)
    planted = package / "planted.py"
    planted.write_text("from ..rehearsal import run\nfrom . import dms\n")
    monkeypatch.setattr(f"{__name__}.PROJECT", tmp_path)
    assert imports(planted) == ["dmsmig.rehearsal", "dmsmig.rehearsal.run", "dmsmig.ops", "dmsmig.ops.dms"]
    assert layer("dmsmig.rehearsal.run") == "rehearsal" and layer(module_name(planted)) == "ops"
