"""The real Automation-API seams: with no Pulumi CLI on this machine they fail with a clear fix."""

from __future__ import annotations

import shutil

import pytest

from dmsmig.cutover.driver import AutomationDriver
from dmsmig.ops.errors import OpsError
from dmsmig.ops.outputs import AutomationOutputs

needs_no_cli = pytest.mark.skipif(shutil.which("pulumi") is not None, reason="a Pulumi CLI is installed here")


@needs_no_cli
def test_outputs_seam_names_the_missing_cli_and_the_file_alternative():
    with pytest.raises(OpsError, match="the Pulumi CLI is not installed") as caught:
        AutomationOutputs("sandbox").read()
    assert "--outputs-file" in str(caught.value)


@needs_no_cli
def test_driver_seam_names_the_missing_cli():
    with pytest.raises(OpsError, match="the Pulumi CLI is not installed"):
        AutomationDriver("sandbox").set_and_apply("readSwitch.readsFrom", "dynamodb")


@needs_no_cli
@pytest.mark.parametrize("command", ["update-check", "status", "validate"])
def test_operator_commands_without_the_cli_or_an_outputs_file_exit_with_the_usage_code(command, capsys):
    from dmsmig.cli import main

    code = main([command, "--stack", "sandbox"])
    err = capsys.readouterr().err
    assert code == 2, err  # docs/exit-codes.md: 2 = usage (the fix is a flag or an install)
    assert "the Pulumi CLI is not installed" in err and "--outputs-file" in err and "Traceback" not in err
