"""Many databases: sourceDefaults keep the file short; tasks pack onto instances of <= 200."""

from __future__ import annotations

from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.model.packing import instance_count, pack
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


def test_the_250_database_example_packs_within_the_task_and_endpoint_quotas_as_the_readme_says():
    config = load_stack_config("many", PROJECT_DIR / "examples")
    assert len(config.migration.sources) == 250
    run = run_program(config, stack_name="many")
    instances = run.of_type("aws:dms/replicationInstance:ReplicationInstance")
    tasks: dict[str, int] = {}
    endpoints: dict[str, set] = {}
    for task in run.of_type("aws:dms/replicationTask:ReplicationTask"):
        arn = task.inputs["replicationInstanceArn"]
        tasks[arn] = tasks.get(arn, 0) + 1
        endpoints.setdefault(arn, set()).update({task.inputs["sourceEndpointArn"], task.inputs["targetEndpointArn"]})
    # CHAP_Limits: 200 tasks and 100 endpoints per replication instance; 250 sources need 3 instances
    assert len(instances) == 3 and sorted(tasks.values()) == [83, 83, 84]
    assert max(len(e) for e in endpoints.values()) <= 100
    readme = (PROJECT_DIR / "docs" / "scale.md").read_text()
    sizes = sorted(set(tasks.values()))
    assert f"250 tasks → {len(instances)} instances of {'–'.join(map(str, sizes))} tasks" in readme
    assert f"({len(run.resources):,} resources; both figures are checked" in readme


def test_packing_adds_instances_when_the_endpoints_would_pass_100():
    sources = [f"s{i}" for i in range(250)]
    bins = pack(sources, 200, endpoints_of=lambda s: s)
    assert len(bins) == 3 and all(len(set(b)) + 1 <= 100 for b in bins)
    one_source = ["s"] * 400  # 400 partitions of one database: two endpoints an instance
    assert len(pack(one_source, 200, endpoints_of=lambda s: s)) == 2
