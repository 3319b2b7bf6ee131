"""validate against a real SQL database (SQLite via SQLAlchemy) and moto DynamoDB."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.config.mapping_spec import load_mapping_spec
from dmsmig.config.partitions import equal_width_boundaries, ranges_from_boundaries
from dmsmig.model.mapping_preview import GroupMapping
from dmsmig.ops import context as ops_context
from dmsmig.ops.source_db import connect
from dmsmig.ops.validation import GroupCount, count_partitions, validate_group
from tests.ops_fixtures import REGION, clients_with, create_event_table, outputs_file

runner = CliRunner()
SPEC = load_mapping_spec("order_events")
MAPPING = GroupMapping.build(SPEC, "sqlserver", partition_key="PK", sort_key="SK", task_settings=None)
TABLE = "order-events-sandbox"


def source_rows(n: int) -> list[dict]:
    return [
        {
            "Id": i,
            "PK": f"agg#{i % 97}",
            "SK": f"evt#{i:08d}",
            "itemtype": "event",
            "Ver": i % 5,
            "ConvId": f"c{i}",
            "created": "2024-01-01T00:00:00",
            "itemdata": f'{{"n": {i}}}' + ("x" * (100 if i % 10 == 0 else 0)),
            "expiry": 1900000000,
        }
        for i in range(1, n + 1)
    ]


def make_source(path, rows) -> str:
    engine = connect(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE vw_Dynamodbmigration (Id INTEGER PRIMARY KEY, PK TEXT, SK TEXT, itemtype TEXT, Ver INTEGER,"
                " ConvId TEXT, created TEXT, itemdata TEXT, expiry INTEGER)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO vw_Dynamodbmigration VALUES (:Id, :PK, :SK, :itemtype, :Ver, :ConvId, :created, :itemdata, :expiry)"
            ),
            rows,
        )
    return f"sqlite:///{path}"


@pytest.fixture
def dynamodb(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_event_table(client, TABLE)
        yield client


def load_like_dms(client, rows, *, skip=(), truncate=(), lob_max=1024):
    """Write the items DMS would write, minus ``skip`` ids and with ``truncate`` ids' LOBs cut."""
    for row in rows:
        item = MAPPING.map(row).item
        if row["Id"] in skip:
            continue
        if row["Id"] in truncate:
            item["itemdata"] = {"S": item["itemdata"]["S"][:20]}
        client.put_item(TableName=TABLE, Item=item)


def _validate_four_partitions(engine, dynamodb, segments=4, ranges=None, **options):
    """Ids 1..400 in four equal ranges p1..p4 (or the four ``ranges`` given)."""
    ranges = ranges or ranges_from_boundaries(equal_width_boundaries(4, 1, 400))
    counts = count_partitions(dynamodb, TABLE, [GroupCount("g", SPEC, ranges)], segments)
    return validate_group(
        engine,
        dynamodb,
        TABLE,
        SPEC,
        MAPPING,
        ranges,
        ["p1", "p2", "p3", "p4"],
        target_counts=counts.per_group["g"],
        **options,
    )


def test_counts_match_when_the_copy_is_complete(tmp_path, dynamodb):
    rows = source_rows(400)
    engine = connect(make_source(tmp_path / "s.db", rows))
    load_like_dms(dynamodb, rows)
    reports = _validate_four_partitions(engine, dynamodb, samples=10, segments=4, seed=1)
    assert [(r.source_rows, r.target_items, r.verdict) for r in reports] == [(100, 100, "ok")] * 4
    assert all(r.samples_checked == 10 for r in reports)


def test_missing_item_duplicate_key_and_truncated_value_are_reported(tmp_path, dynamodb):
    rows = source_rows(400)
    rows[249]["SK"] = rows[248]["SK"]  # ids 249 and 250 map to the same PK/SK: one item, one row lost
    rows[249]["PK"] = rows[248]["PK"]
    engine = connect(make_source(tmp_path / "s.db", rows))
    load_like_dms(dynamodb, rows, skip={120}, truncate={330})
    reports = _validate_four_partitions(engine, dynamodb, samples=100, segments=3, seed=2)
    by_task = {r.task_id: r for r in reports}
    assert by_task["p1"].ok
    assert by_task["p2"].verdict == "MISSING 1" and by_task["p2"].difference == -1
    assert any(f.kind == "missing-item" and f.key == 120 for f in by_task["p2"].findings)
    # the duplicate: two source rows, one item (PutItem overwrote), so one is missing
    assert by_task["p3"].difference == -1
    assert any(f.kind == "value-mismatch" and f.key == 249 for f in by_task["p3"].findings)
    truncated = [f for f in by_task["p4"].findings if f.key == 330]
    assert truncated and truncated[0].kind == "value-mismatch" and truncated[0].attribute == "itemdata"
    assert not any(r.ok for r in reports[1:])


def test_parallel_and_serial_scans_count_the_same(tmp_path, dynamodb):
    rows = source_rows(300)
    load_like_dms(dynamodb, rows)
    whole = ranges_from_boundaries([])
    thirds = ranges_from_boundaries([101, 201])
    serial = count_partitions(dynamodb, TABLE, [GroupCount("g", SPEC, whole)], 1)
    parallel = count_partitions(dynamodb, TABLE, [GroupCount("g", SPEC, thirds)], 8)
    assert serial.per_group == {"g": [300]} and parallel.per_group == {"g": [100, 100, 100]}


@pytest.mark.parametrize("partitions", [4, 16])
def test_one_validation_reads_the_table_once_whatever_the_partition_count(tmp_path, dynamodb, partitions):
    rows = source_rows(800)
    load_like_dms(dynamodb, rows)
    dynamodb.put_item(TableName=TABLE, Item={"PK": {"S": "other"}, "SK": {"S": "x"}, "itemtype": {"S": "note"}})
    ranges = ranges_from_boundaries(equal_width_boundaries(partitions, 1, 800))
    counts = count_partitions(dynamodb, TABLE, [GroupCount("g", SPEC, ranges)], 4)
    assert counts.items_read == 801  # every item once, none twice
    assert sum(counts.per_group["g"]) == 800 and len(counts.per_group["g"]) == partitions


def test_two_groups_are_counted_in_the_same_pass_by_their_item_filter(tmp_path, dynamodb):
    from dmsmig.config.mapping_spec import load_mapping_spec

    rows = source_rows(200)
    load_like_dms(dynamodb, rows)
    auth = load_mapping_spec("auth_events")
    for i in range(1, 51):
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "PK": {"S": f"cust#{i}"},
                "SK": {"S": "evt#1"},
                "itemtype": {"S": "auth-event"},
                "srcId": {"N": str(i)},
            },
        )
    counts = count_partitions(
        dynamodb,
        TABLE,
        [
            GroupCount("orders", SPEC, ranges_from_boundaries([101])),
            GroupCount("auth", auth, ranges_from_boundaries([])),
        ],
        3,
    )
    assert counts.per_group == {"orders": [100, 100], "auth": [50]} and counts.items_read == 250


def test_validate_cli_reports_json_and_exits_nonzero_on_mismatch(tmp_path, dynamodb, monkeypatch):
    rows = source_rows(200)
    url = make_source(tmp_path / "s.db", rows)
    load_like_dms(dynamodb, rows, skip={5})
    monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients_with(dynamodb=dynamodb))
    result = runner.invoke(
        app,
        [
            "validate",
            "--stack",
            "sandbox",
            "--outputs-file",
            str(outputs_file(tmp_path)),
            "--database-url",
            url,
            "--samples",
            "5",
            "--json",
        ],
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    first = report["groups"]["orders/events"][0]
    assert (first["sourceRows"], first["targetItems"], first["verdict"]) == (200, 199, "MISSING 1")
    assert report["ok"] is False


def test_groups_without_a_validation_key_read_nothing(dynamodb):
    from dmsmig.config.mapping_spec import MappingSpec

    spec = MappingSpec.model_validate(
        {
            "source": {"schema": "dbo", "object": "t"},
            "keyColumn": "Id",
            "excludeColumns": ["Id"],
            "attributes": [{"name": "PK", "value": "${PK}"}],
        }
    )
    counts = count_partitions(dynamodb, TABLE, [GroupCount("g", spec, ranges_from_boundaries([]))], 4)
    assert counts.per_group == {} and counts.items_read == 0


def test_an_aws_error_while_scanning_names_the_table(monkeypatch):
    import boto3
    from moto import mock_aws

    from dmsmig.ops.errors import OpsError
    from dmsmig.ops.validation import _scan_segment

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        with pytest.raises(OpsError) as caught:
            _scan_segment(dynamodb, "order-events-gone", 0, 1, {}, [])
    assert str(caught.value).startswith("scanning table order-events-gone: not found")


def test_an_aws_error_reading_the_source_secret_names_the_secret(monkeypatch):
    import boto3
    from moto import mock_aws

    from dmsmig.config.stack import load_stack_config
    from dmsmig.ops.context import source_engine
    from dmsmig.ops.errors import OpsError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    config = load_stack_config("sandbox")
    with mock_aws():
        clients = type("Clients", (), {"secrets": boto3.client("secretsmanager", region_name="eu-west-1")})()
        ops = type("Ops", (), {"clients": clients})()
        with pytest.raises(OpsError) as caught:
            source_engine(ops, config.migration.sources[0], None, from_secret=True)
    assert "reading the source credentials from secret sandbox-ordersvc-dms-credentials" in str(caught.value)
