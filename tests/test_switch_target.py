"""The cutover's read switch targets the resource the deployed stack names, whatever the project is called."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.cli.cutover import _switch_targets
from dmsmig.config.stack import PROJECT_DIR
from dmsmig.ops.errors import OpsError
from dmsmig.ops.outputs import StackOutputs

runner = CliRunner()


def _renamed_project(tmp_path, name: str):
    text = (PROJECT_DIR / "Pulumi.yaml").read_text()
    assert "name: dms-migration" in text
    (tmp_path / "Pulumi.yaml").write_text(text.replace("name: dms-migration", f"name: {name}"))
    (tmp_path / "Pulumi.sandbox.yaml").write_text(
        (PROJECT_DIR / "Pulumi.sandbox.yaml").read_text().replace("dms-migration:", f"{name}:")
    )
    return tmp_path


class _Ops:
    def __init__(self, outputs: dict):
        self.outputs = StackOutputs.model_validate(outputs)


def test_renaming_the_project_leaves_the_cutovers_switch_target_right(tmp_path):
    project = _renamed_project(tmp_path, "orders-migration")
    result = runner.invoke(app, ["plan", "--stack", "sandbox", "--json", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    parameter = next(r for r in plan["resources"] if r["type"] == "aws:ssm/parameter:Parameter")
    assert parameter["urn"].startswith("urn:pulumi:sandbox::orders-migration::")
    outputs = plan["outputs"]
    assert outputs["stackIdentity"]["project"] == "orders-migration"
    assert outputs["readSwitchUrn"] == parameter["urn"]
    # the cutover reads the target from the deployed stack's outputs, not from running the program
    assert _switch_targets(_Ops(outputs), "sandbox") == [parameter["urn"]]


def test_outputs_without_the_switch_urn_are_refused_with_the_fix():
    from tests.conftest import built

    outputs = dict(built("sandbox").outputs)
    del outputs["readSwitchUrn"]
    with pytest.raises(OpsError) as caught:
        _switch_targets(_Ops(outputs), "sandbox")
    assert "no readSwitchUrn" in str(caught.value) and "pulumi up --stack sandbox" in caught.value.fix
