"""The emulated CDC: changes at a real PostgreSQL (logical decoding, pgoutput) applied through a task's mappings."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text

from dmsmig.config.mapping_spec import build_table_mappings, load_mapping_spec
from dmsmig.config.partitions import KeyRange
from dmsmig.model.dms_semantics import LobSettings, parse_table_mappings
from dmsmig.ops.source_db import connect
from dmsmig.rehearsal.cdc import ChangeStream, slot_name
from dmsmig.rehearsal.pgoutput import Decoder
from dmsmig.rehearsal.source import EmbeddedPostgres, SourceObjectPlan, create_objects, fill
from tests.conftest import postgres_unavailable
from tests.ops_fixtures import create_event_table

TABLE = "order-events-staging"


@pytest.fixture(scope="module")
def postgres(postgres_url):
    return connect(postgres_url)


def _setup(engine, ranges, rows=40):
    spec = load_mapping_spec("orders_table")
    plan = SourceObjectPlan(spec, "sqlserver", ranges, 32, "orders_table")
    create_objects(engine, [plan])
    fill(engine, plan, rows, seed=3)
    return spec, plan


def _stream(engine, spec, plan, key_range, task="ordersvc-staging-orders-live-p1"):
    mappings = build_table_mappings(spec, target_table=TABLE, partition_key="PK", sort_key="SK", key_range=key_range)
    rules = parse_table_mappings(mappings)
    types = {("dbo", "OrderEvents"): plan.types}
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    create_event_table(dynamodb, TABLE)
    return ChangeStream(task, rules, engine, types, LobSettings(), dynamodb), dynamodb


def _items(dynamodb):
    return {int(i["srcId"]["N"]): i for i in dynamodb.scan(TableName=TABLE)["Items"]}


@mock_aws
def test_inserts_updates_and_deletes_reach_dynamodb_through_the_tasks_mapping_and_filter(postgres):
    ranges = [KeyRange(0, None, 1_000_000), KeyRange(1, 1_000_000, None)]
    spec, plan = _setup(postgres, ranges)
    stream, dynamodb = _stream(postgres, spec, plan, ranges[0])
    try:
        stream.prepare()
        with postgres.begin() as conn:
            first = conn.execute(text('SELECT "Id" FROM dbo."OrderEvents" ORDER BY "Id" LIMIT 3')).scalars().all()
            conn.execute(
                text(
                    'INSERT INTO dbo."OrderEvents" ("Id", "AggregateId", "EventTimestamp", "Version", "CreatedAt", '
                    '"EventData") VALUES (7, :a, :t, 1, :t, :d), (1500000, :a, :t, 1, :t, :d)'
                ),
                {"a": "5e1c0000-0000-4000-8000-000000000001", "t": "2024-05-01 10:00:00.123456", "d": "x" * 5000},
            )
            conn.execute(text('UPDATE dbo."OrderEvents" SET "Version" = 99 WHERE "Id" = :i'), {"i": first[0]})
            conn.execute(text('DELETE FROM dbo."OrderEvents" WHERE "Id" = :i'), {"i": first[1]})
            conn.execute(text('UPDATE dbo."OrderEvents" SET "Id" = 8 WHERE "Id" = :i'), {"i": first[2]})
        # the update of row first[0] was made before this delete and insert: order is kept
        applied = stream.poll()
        items = _items(dynamodb)
        assert applied == 3  # the insert of 7, the update, the delete; 1,500,000 is p2's; the key update is ignored
        assert items[7]["PK"] == {"S": "agg#5e1c0000-0000-4000-8000-000000000001"}
        assert items[7]["SK"] == {"S": "evt#2024-05-01 10:00:00.123456"}
        assert items[7]["itemdata"] == {"S": "x" * 5000}
        assert items[first[0]]["Ver"] == {"N": "99"}
        assert 1_500_000 not in items and first[1] not in items and 8 not in items
        assert stream.stats.key_updates_ignored == 1
        assert stream.stats.inserts[("dbo", "OrderEvents")] == 1 and stream.stats.deletes[("dbo", "OrderEvents")] == 1
        assert stream.stats.latency_target >= stream.stats.latency_source >= 0
        assert stream.poll() == 0 and stream.stats.latency_source == 0  # the slot advanced past them
    finally:
        stream.drop()


@mock_aws
def test_a_stopped_stream_resumes_from_its_slot_and_loses_nothing(postgres):
    ranges = [KeyRange(0, None, None)]
    spec, plan = _setup(postgres, ranges, rows=5)
    stream, dynamodb = _stream(postgres, spec, plan, ranges[0], task="resume-me")
    try:
        stream.prepare()
        with postgres.begin() as conn:
            conn.execute(text('UPDATE dbo."OrderEvents" SET "Version" = 5'))
        again = ChangeStream("resume-me", list(stream.rules.values()), postgres, stream.types, LobSettings(), dynamodb)
        again.prepare()  # a resumed task: the slot and publication exist, nothing is created twice
        assert again.poll() == 5
        assert {i["Ver"]["N"] for i in _items(dynamodb).values()} == {"5"}
    finally:
        stream.drop()


def test_a_source_without_logical_wal_is_refused_naming_the_setting(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg")
    try:
        url = server.start()
    except Exception as err:  # noqa: BLE001
        postgres_unavailable(str(err))
    try:
        engine = connect(url)
        spec, plan = _setup(engine, [KeyRange(0, None, None)], rows=1)
        rules = parse_table_mappings(
            build_table_mappings(
                spec, target_table=TABLE, partition_key="PK", sort_key="SK", key_range=KeyRange(0, None, None)
            )
        )
        with pytest.raises(RuntimeError, match="wal_level is replica, CDC needs logical"):
            ChangeStream("t", rules, engine, {}, LobSettings(), None).prepare()
    finally:
        server.stop()


def test_slot_names_are_what_postgresql_accepts():
    assert slot_name("OrderSvc-Staging-orders-live-p1") == "dmsmig_ordersvc_staging_orders_live_p1"
    assert len(slot_name("x" * 200)) == 63


def test_the_decoder_ignores_changes_outside_a_transaction_and_keeps_relations():
    decoder = Decoder()
    relation = b"R" + (16384).to_bytes(4, "big") + b"dbo\0t\0" + b"f" + (1).to_bytes(2, "big")
    relation += b"\x01" + b"Id\0" + (20).to_bytes(4, "big") + (-1).to_bytes(4, "big", signed=True)
    assert decoder.feed(relation) is None
    assert decoder.relations[16384].columns == [("Id", 20)] and decoder.relations[16384].key_columns == {"Id"}
    insert = b"I" + (16384).to_bytes(4, "big") + b"N" + (1).to_bytes(2, "big") + b"t" + (1).to_bytes(4, "big") + b"7"
    assert decoder.feed(insert) is None  # no Begin: nothing to add it to
    begin = b"B" + (0).to_bytes(8, "big") + (0).to_bytes(8, "big") + (9).to_bytes(4, "big")
    decoder.feed(begin)
    decoder.feed(insert)
    commit = b"C" + b"\0" + (1).to_bytes(8, "big") + (0x1_0000_0010).to_bytes(8, "big") + (0).to_bytes(8, "big")
    txn = decoder.feed(commit)
    assert txn is not None and txn.xid == 9 and txn.end_lsn == 0x1_0000_0010
    assert [(c.kind, c.new) for c in txn.changes] == [("insert", {"Id": "7"})]


@mock_aws
def test_a_resumed_stream_whose_slot_was_dropped_fails_naming_task_and_slot_and_is_not_recreated(postgres):
    from dmsmig.rehearsal.cdc import SlotGone
    from dmsmig.rehearsal.load_process import _cdc_failure

    ranges = [KeyRange(0, None, None)]
    spec, plan = _setup(postgres, ranges, rows=5)
    stream, dynamodb = _stream(postgres, spec, plan, ranges[0], task="slot-dropped")
    try:
        stream.prepare()
        with postgres.begin() as conn:  # a DBA (or a disk-full clean-up) drops the slot while the task runs
            conn.execute(text("SELECT pg_drop_replication_slot(:s)"), {"s": stream.slot})
        with pytest.raises(Exception) as polled:
            stream.poll()
        why = _cdc_failure(stream, polled.value)
        assert f"replication slot {stream.slot} of task slot-dropped is gone" in why
        assert "start --reload-target --task slot-dropped" in why
        again = ChangeStream("slot-dropped", list(stream.rules.values()), postgres, stream.types, LobSettings(), dynamodb)
        with pytest.raises(SlotGone, match="is gone"):
            again.prepare(resume=True)  # DMS does not bring the lost changes back: no new slot in its place
        with postgres.connect() as conn:
            assert not stream.slot_exists(conn)
    finally:
        stream.drop()
