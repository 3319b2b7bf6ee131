"""Many databases: sourceDefaults keep the file short; tasks pack onto instances of <= 200."""

from __future__ import annotations

from dmsmig.build.packing import instance_count, pack
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.offline.mock_engine import run_program
from tests.conftest import raw_migration, stack_from


def test_pack_fills_the_fewest_instances_evenly_and_in_order():
    assert instance_count(250, 200) == 2 and instance_count(0, 200) == 0 and pack([], 200) == []
    bins = pack(list(range(401)), 200)
    assert sorted(len(b) for b in bins) == [133, 134, 134]
    assert [x for b in bins for x in b] == list(range(401))


def test_source_defaults_are_inherited_and_overridden():
    raw = raw_migration("sandbox")
    source = raw["sources"][0]
    raw["sourceDefaults"] = {
        "engine": "sqlserver",
        "sslMode": "verify-full",
        "certificateArn": "arn:aws:dms:eu-west-1:1:cert:X",
        "taskGroups": source["taskGroups"],
    }
    raw["sources"] = [
        {"name": "a", "databaseName": "A", "secret": {"name": "a"}},
        {"name": "b", "databaseName": "B", "secret": {"name": "b"}, "sslMode": "require"},
    ]
    cfg = stack_from(raw).migration
    assert [(s.engine, s.ssl_mode) for s in cfg.sources] == [("sqlserver", "verify-full"), ("sqlserver", "require")]
    assert cfg.task_count() == 8


def test_the_250_database_example_packs_onto_two_instances():
    config = load_stack_config("many", PROJECT_DIR / "examples")
    assert len(config.migration.sources) == 250
    run = run_program(config, stack_name="many")
    instances = run.of_type("aws:dms/replicationInstance:ReplicationInstance")
    assert len(instances) == 2
    per_instance: dict[str, int] = {}
    for task in run.of_type("aws:dms/replicationTask:ReplicationTask"):
        per_instance[task.inputs["replicationInstanceArn"]] = (
            per_instance.get(task.inputs["replicationInstanceArn"], 0) + 1
        )
    assert sorted(per_instance.values()) == [125, 125]
