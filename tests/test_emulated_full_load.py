"""The emulated DMS's full load, on a SQLite source and moto's DynamoDB: a stop is not a finished load."""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from dmsmig.config.mapping_spec import build_table_mappings, load_mapping_spec
from dmsmig.config.partitions import KeyRange
from dmsmig.rehearsal.dms_emulator import EmulatedDms, EmulatedTask
from dmsmig.rehearsal.fullload import FullLoad, SourceBinding
from tests.ops_fixtures import REGION, create_event_table

SETTINGS = json.dumps({"TargetMetadata": {"ParallelLoadThreads": 2}})


def _source(rows: int) -> SourceBinding:
    # one shared connection: the emulator loads in its own thread
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    with engine.begin() as conn:
        conn.exec_driver_sql("ATTACH DATABASE ':memory:' AS dbo")
        conn.exec_driver_sql(
            'CREATE TABLE dbo."OrderEvents" ("Id" INTEGER, "AggregateId" TEXT, "EventTimestamp" TEXT, '
            '"Version" INTEGER, "ConversationId" TEXT, "CreatedAt" TEXT, "EventData" TEXT)'
        )
        for i in range(1, rows + 1):
            conn.exec_driver_sql(
                'INSERT INTO dbo."OrderEvents" VALUES (?, ?, ?, ?, ?, ?, ?)',
                (i, f"a{i}", f"2024-01-01 00:00:{i:02d}", 1, None, "2024-01-01", "{}"),
            )
    return SourceBinding(engine)


def _mappings() -> str:
    spec = load_mapping_spec("orders_table")
    doc = build_table_mappings(
        spec, target_table="events", partition_key="PK", sort_key="SK", key_range=KeyRange(0, None, None)
    )
    return json.dumps(doc)


def _dynamodb():
    return boto3.client("dynamodb", region_name=REGION)


@mock_aws
def test_a_load_stopped_before_its_end_is_interrupted_not_finished():
    create_event_table(_dynamodb(), "events")
    load = FullLoad(_mappings(), SETTINGS, _source(5), _dynamodb)
    load.stop_requested.set()
    result = load.run()
    assert result.interrupted and not result.failed
    assert load.progress_percent == 0
    assert _dynamodb().scan(TableName="events")["Count"] == 0


@mock_aws
def test_a_finished_load_reports_100_and_every_item():
    create_event_table(_dynamodb(), "events")
    load = FullLoad(_mappings(), SETTINGS, _source(5), _dynamodb)
    result = load.run()
    assert not result.interrupted and load.progress_percent == 100
    assert [t.state for t in load.tables] == ["Table completed"]
    assert _dynamodb().scan(TableName="events")["Count"] == 5


@mock_aws
def test_resuming_a_stopped_load_loads_again_and_a_finished_one_does_not():
    create_event_table(_dynamodb(), "events")
    dms = EmulatedDms(sources={"src": _source(5)}, make_dynamodb=_dynamodb)
    dms.endpoints["arn:src"] = {"EndpointIdentifier": "src"}
    task = EmulatedTask("arn:task", "t", table_mappings=_mappings(), settings=SETTINGS, source_endpoint="arn:src")
    stopped = FullLoad(task.table_mappings, SETTINGS, dms.sources["src"], _dynamodb)
    stopped.stop_requested.set()
    stopped.run()
    task.load, task.calls = stopped, ["start-replication", "stop", "resume-processing"]
    dms._launch(task)
    assert task.load is not stopped  # loads again
    task.load.stop_requested.clear()
    while task.load.result is None:
        time.sleep(0.01)
    finished = task.load
    dms._launch(task)
    assert task.load is finished and finished.progress_percent == 100


@mock_aws
def test_with_a_data_plane_a_connection_test_really_reaches_the_source_and_the_target():
    good = _source(1)
    broken = SourceBinding(create_engine("sqlite:////nonexistent/dir/x.db"))
    dms = EmulatedDms(region=REGION, sources={"src-ok": good, "src-bad": broken}, make_dynamodb=_dynamodb)
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier="ri", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    arns = {}
    for name, kind in (("src-ok", "source"), ("src-bad", "source"), ("tgt", "target")):
        engine_name = "dynamodb" if kind == "target" else "sqlserver"
        arns[name] = dms.create_endpoint(EndpointIdentifier=name, EndpointType=kind, EngineName=engine_name)[
            "Endpoint"
        ]["EndpointArn"]
    for arn in arns.values():
        dms.test_connection(ReplicationInstanceArn=instance, EndpointArn=arn)
    status = {
        name: dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])["Connections"][0]
        for name, arn in arns.items()
    }
    assert status["src-ok"]["Status"] == "successful" and status["tgt"]["Status"] == "successful"
    assert status["src-bad"]["Status"] == "failed" and "OperationalError" in status["src-bad"]["LastFailureMessage"]
