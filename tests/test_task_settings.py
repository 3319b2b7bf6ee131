import json

import pytest
from pydantic import ValidationError

from dmsmig.config.task_settings import TaskSettings, deep_merge, settings_with_overrides


def test_defaults_follow_seed_000():
    s = json.loads(TaskSettings().to_json())
    assert s["FullLoadSettings"] == {
        "CommitRate": 10000,
        "CreatePkAfterFullLoad": False,
        "StopTaskCachedChangesApplied": False,
        "StopTaskCachedChangesNotApplied": False,
        "MaxFullLoadSubTasks": 8,
        "TargetTablePrepMode": "DO_NOTHING",
        "TransactionConsistencyTimeout": 600,
    }
    assert s["TargetMetadata"]["LimitedSizeLobMode"] is True and s["TargetMetadata"]["LobMaxSize"] == 32
    assert s["Logging"]["EnableLogging"] is True
    assert {c["Id"] for c in s["Logging"]["LogComponents"]} >= {"SOURCE_UNLOAD", "TARGET_LOAD", "TARGET_APPLY"}
    assert s["ErrorBehavior"]["FullLoadIgnoreConflicts"] is True


def test_layers_apply_in_order_and_keep_the_rest():
    s = settings_with_overrides({"FullLoadSettings": {"CommitRate": 20000}}, {"TargetMetadata": {"LobMaxSize": 64}})
    assert s.FullLoadSettings.CommitRate == 20000
    assert s.FullLoadSettings.TargetTablePrepMode == "DO_NOTHING"
    assert s.TargetMetadata.LobMaxSize == 64


def test_a_misspelt_prep_mode_key_is_rejected_instead_of_falling_back_to_drop_and_create():
    with pytest.raises(ValidationError, match="TargetTablePrepmode"):
        settings_with_overrides({"FullLoadSettings": {"TargetTablePrepmode": "DO_NOTHING"}})


def test_full_and_limited_lob_modes_are_exclusive():
    with pytest.raises(ValidationError, match="cannot both be true"):
        settings_with_overrides({"TargetMetadata": {"FullLobMode": True}})


def test_deep_merge_replaces_lists_whole():
    assert deep_merge({"a": {"b": [1, 2], "c": 1}}, {"a": {"b": [3]}}) == {"a": {"b": [3], "c": 1}}
