"""The `pulumi up` entry reads the same config through pulumi.Config and exports every output."""

from __future__ import annotations

import json

import pulumi
import pytest

from dmsmig.config.stack import load_stack_config
from dmsmig.offline.mock_engine import run_program
from dmsmig.program import run, stack_config_from_pulumi
from tests.conftest import raw_stack


def _set_stack_config(config: dict) -> None:
    pulumi.runtime.set_all_config(
        {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in config.items()}
    )


def test_pulumi_config_path_gives_the_same_model_as_the_stack_file():
    expected = load_stack_config("prod")
    seen = {}

    def build(_stack):
        _set_stack_config(raw_stack("prod"))
        seen["config"] = stack_config_from_pulumi()
        return {}

    run_program(expected, build=build, stack_name="prod")
    assert seen["config"] == expected


def test_run_exports_the_outputs_scripts_need():
    exported = {}

    def build(_stack):
        _set_stack_config(raw_stack("sandbox"))
        original = pulumi.export
        pulumi.export = lambda key, value: exported.__setitem__(key, value)
        try:
            run()
        finally:
            pulumi.export = original
        return {}

    run_program(load_stack_config("sandbox"), build=build, stack_name="sandbox")
    assert {"instanceArns", "taskGroups", "tableName", "topicArn", "alarmNames", "readSwitchParameter"} <= set(exported)


def test_bad_config_under_pulumi_stops_with_the_key_path_not_a_traceback():
    config = raw_stack("sandbox")
    config["dms-migration:migration"]["network"]["subnetIds"] = ["subnet-0a1b2c3d4e5f60001"]

    def build(_stack):
        _set_stack_config(config)
        run()
        return {}

    with pytest.raises(pulumi.RunError, match=r"migration.network.subnetIds: DMS needs a subnet group"):
        run_program(load_stack_config("sandbox"), build=build, stack_name="sandbox")
