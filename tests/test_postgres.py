"""The source-side code against a real PostgreSQL (planner, validate, preview, quiesce check, sentinel),
and the same statements compiled for the SQL Server and Oracle dialects."""

from __future__ import annotations

import random

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text
from sqlalchemy.dialects import mssql, oracle, postgresql

from dmsmig.config.mapping_spec import SourceObject, load_mapping_spec
from dmsmig.config.partitions import ranges_from_boundaries
from dmsmig.cutover.actions import CutoverActions
from dmsmig.cutover.machine import Step
from dmsmig.model.balance import quantile_boundaries
from dmsmig.ops import planner
from dmsmig.ops.source_db import connect, count_in_ranges, sample_rows
from dmsmig.ops.validation import GroupCount, count_partitions
from tests.conftest import raw_migration, stack_from
from tests.test_validation import TABLE, _validate_four_partitions, load_like_dms, source_rows

SPEC = load_mapping_spec("order_events")
COLUMNS = ["Id", "PK", "SK", "itemtype", "Ver", "ConvId", "created", "itemdata", "expiry"]


@pytest.fixture(scope="module")
def pg(postgres_url):
    """The order-events view as a table in schema dbo: 3,000 rows with skewed ids and growing payloads."""
    engine = connect(postgres_url)
    rng = random.Random(7)
    ids = sorted(rng.sample(range(1, 2_000_000), 3000))
    rows = source_rows(3000)
    for row, new_id in zip(rows, ids):
        row["Id"] = new_id
        row["itemdata"] = "x" * (10 + new_id // 20_000)  # later events are bigger
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS dbo CASCADE"))
        conn.execute(text("CREATE SCHEMA dbo"))
        conn.execute(
            text(
                'CREATE TABLE dbo."vw_Dynamodbmigration" ("Id" bigint PRIMARY KEY, "PK" text, "SK" text, '
                '"itemtype" text, "Ver" int, "ConvId" text, "created" text, "itemdata" text, "expiry" bigint)'
            )
        )
        conn.execute(
            text(
                'INSERT INTO dbo."vw_Dynamodbmigration" VALUES (:Id, :PK, :SK, :itemtype, :Ver, :ConvId, :created, '
                ":itemdata, :expiry)"
            ),
            rows,
        )
    return engine, rows


def test_exact_plan_on_postgres_walks_the_key_order_once_and_matches_the_quantiles(pg):
    engine, rows = pg
    keys = sorted(r["Id"] for r in rows)
    plan = planner.plan_exact(engine, SPEC.source, "Id", 8)
    assert plan.method.startswith("exact (server-side cursor")
    assert plan.boundaries == quantile_boundaries(keys, 8)
    assert plan.sizes == [375.0] * 8 and plan.exact and plan.max_mean == 1.0
    assert count_in_ranges(engine, SPEC.source, "Id", plan.boundaries) == [375] * 8


def test_weighted_plan_balances_bytes_not_rows(pg):
    engine, rows = pg
    plan = planner.plan_weighted(engine, SPEC.source, "Id", 4, 'LENGTH("itemdata")')
    assert plan.unit == "weight" and len(plan.boundaries) == 3
    assert plan.max_mean < 1.02
    rows_per = count_in_ranges(engine, SPEC.source, "Id", plan.boundaries)
    assert rows_per[0] > rows_per[-1] * 1.5  # early small events: more rows in the first partition
    total = sum(len(r["itemdata"]) for r in rows)
    assert abs(sum(plan.sizes) - total) < 1


def test_sampled_plan_is_an_estimate_close_to_the_exact_one(pg):
    engine, _rows = pg
    exact = planner.plan_exact(engine, SPEC.source, "Id", 4)
    sampled = planner.plan_sampled(engine, SPEC.source, "Id", 4, 60, None)
    assert not sampled.exact and sampled.method.startswith("sampled (60%")
    true_sizes = count_in_ranges(engine, SPEC.source, "Id", sampled.boundaries)
    assert max(true_sizes) / (sum(true_sizes) / 4) < 1.5
    assert len(sampled.boundaries) == len(exact.boundaries) == 3


def test_validate_counts_and_samples_a_postgres_source_against_dynamodb(pg, monkeypatch):
    engine, rows = pg
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    with mock_aws():
        from tests.ops_fixtures import create_event_table

        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_event_table(dynamodb, TABLE)
        missing = rows[100]["Id"]
        load_like_dms(dynamodb, rows, skip={missing})
        ranges = ranges_from_boundaries(planner.plan_exact(engine, SPEC.source, "Id", 4).boundaries)
        reports = _validate_four_partitions(engine, dynamodb, ranges=ranges, samples=30, seed=3)
        counts = count_partitions(dynamodb, TABLE, [GroupCount("g", SPEC, ranges)], 4)
    assert [r.source_rows for r in reports] == [750] * 4
    assert [r.verdict for r in reports] == ["MISSING 1", "ok", "ok", "ok"]
    assert counts.items_read == 2999


def test_preview_rows_come_from_postgres(pg):
    engine, _rows = pg
    sample = sample_rows(engine, SPEC.source, 5)
    assert len(sample) == 5 and set(sample[0]) == set(COLUMNS)


def test_the_sentinel_gate_writes_its_row_into_postgres_once_and_sees_it_arrive(pg, tmp_path, monkeypatch):
    from tests.ops_fixtures import create_event_table
    from tests.test_cutover_actions import SENTINEL, _cdc_actions

    engine, _rows = pg
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS OrderEvents (AggregateId text, EventTimestamp text)"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_event_table(dynamodb, TABLE)
        actions = _cdc_actions(tmp_path, dynamodb, engine, SENTINEL)

        def cdc_delivers(_seconds):  # stands in for DMS applying the captured insert
            with engine.connect() as conn:
                token = conn.execute(text("SELECT EventTimestamp FROM OrderEvents")).scalar()
            dynamodb.put_item(TableName=TABLE, Item={"PK": {"S": "agg#sentinel"}, "SK": {"S": f"evt#{token}"}})

        actions.sleep = cdc_delivers
        gate = actions.gate(Step.DRAINED)
    assert gate.ok and "seen in DynamoDB" in gate.evidence[0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM OrderEvents")).scalar() == 1


def test_quiesce_check_runs_on_postgres(pg, tmp_path):
    engine, _rows = pg
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE IF NOT EXISTS dbo."Writes" (n int)'))
    raw = raw_migration()
    raw["cutover"] = {"quiesceCheckSql": 'SELECT COUNT(*) FROM dbo."Writes"'}
    config = stack_from(raw)
    actions = CutoverActions(
        config=config, outputs=None, clients=None, driver=None, validate=dict, source_engines=lambda: {"orders": engine}
    )
    assert actions.gate(Step.QUIESCED).ok
    with engine.begin() as conn:
        conn.execute(text('INSERT INTO dbo."Writes" VALUES (1)'))
    assert not actions.gate(Step.QUIESCED).ok


# The same statements for the other source engines ------------------------------------------------
@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (
            mssql.dialect(),
            ["ROW_NUMBER() OVER (ORDER BY dbo.[vw_Dynamodbmigration].[Id])", "dbo.[vw_Dynamodbmigration]"],
        ),
        (
            oracle.dialect(),
            ['ROW_NUMBER() OVER (ORDER BY dbo."vw_Dynamodbmigration"."Id")', 'dbo."vw_Dynamodbmigration"'],
        ),
        (postgresql.dialect(), ['row_number() OVER (ORDER BY dbo."vw_Dynamodbmigration"."Id")']),
    ],
    ids=["sqlserver", "oracle", "postgresql"],
)
def test_planner_statements_compile_for_each_source_dialect(dialect, expected):
    table = planner.table_of(dialect, SPEC.source, "Id")
    statements = [
        planner.count_statement(table, "Id"),
        planner.row_number_statement(table, "Id", [10, 20]),
        planner.weighted_statement(table, "Id", "LENGTH(itemdata)", 4, 1000.0),
        planner.total_weight_statement(table, "Id", "LENGTH(itemdata)"),
    ]
    compiled = [str(s.compile(dialect=dialect)) for s in statements]
    for fragment in expected:
        assert fragment.lower() in compiled[1].lower(), compiled[1]
    assert "SUM(LENGTH(itemdata)) OVER (ORDER BY" in compiled[2].replace("sum(", "SUM(")
    assert "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW" in compiled[2]


@pytest.mark.parametrize(
    ("dialect_name", "fragment"),
    [
        ("mssql", "TABLESAMPLE (1.5 PERCENT) REPEATABLE (1)"),
        ("oracle", "SAMPLE (1.5) SEED (1)"),
        ("postgresql", "TABLESAMPLE SYSTEM (1.5) REPEATABLE (1)"),
    ],
)
def test_sampling_uses_each_dialects_syntax(dialect_name, fragment):
    assert fragment in planner.sample_statement(dialect_name, "dbo.t", "Id", 1.5)


def test_sample_from_names_a_base_table():
    obj = SourceObject(schema="dbo", object="OrderEvents", objectType="table")
    assert planner.table_of(mssql.dialect(), obj, "Id").schema == "dbo"


@pytest.mark.parametrize(
    ("dialect", "fragments"),
    [
        (mssql.dialect(), ["FROM dbo.[vw_Dynamodbmigration]", "CASE WHEN [Id] < :b0", "SELECT TOP __[POSTCOMPILE"]),
        (oracle.dialect(), ['FROM dbo."vw_Dynamodbmigration"', 'CASE WHEN "Id" < :b0', "FETCH FIRST"]),
    ],
    ids=["sqlserver", "oracle"],
)
def test_source_queries_compile_for_sql_server_and_oracle(dialect, fragments):
    from dmsmig.ops.source_db import count_in_ranges_statement, sample_rows_statement

    count_sql, params = count_in_ranges_statement(dialect, SPEC.source, "Id", [100, 200])
    sample_sql = sample_rows_statement(dialect, SPEC.source, 10)
    compiled = str(count_sql.compile(dialect=dialect)) + "\n" + str(sample_sql.compile(dialect=dialect))
    assert params == {"b0": 100, "b1": 200}
    for fragment in fragments:
        assert fragment in compiled, compiled
