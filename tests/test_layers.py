"""The tree shows the layers: each dmsmig module imports only from its own layer or the layers below.

contract -> config -> model -> program (and components/) -> offline -> ops -> cutover -> rehearsal -> cli;
CLI command modules never import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "dmsmig"
LAYERS = ["contract", "config", "model", "program", "offline", "ops", "cutover", "rehearsal", "cli"]
CLI_SHARED = {"dmsmig.cli.common", "dmsmig.cli.boundary"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "components":
        return "program"
    if parts[0] != "dmsmig" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return found


MODULES = sorted(
    p for p in ROOT.rglob("*.py") if _layer("dmsmig." + ".".join(p.relative_to(ROOT).with_suffix("").parts))
)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_modules_import_only_from_their_layer_or_below(path):
    module = "dmsmig." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
    own = LAYERS.index(_layer(module))
    for imported in _imports(path):
        layer = _layer(imported)
        if layer is not None:
            assert LAYERS.index(layer) <= own, f"{module} imports {imported} (layer {layer} is above {LAYERS[own]})"


def test_cli_command_modules_never_import_each_other():
    for path in (ROOT / "cli").glob("*.py"):
        module = f"dmsmig.cli.{path.stem}"
        if path.stem == "__init__" or module in CLI_SHARED:
            continue
        for imported in _imports(path):
            if imported.startswith("dmsmig.cli.") and imported.count(".") == 2:
                assert imported in CLI_SHARED, f"{module} imports {imported}"
