"""The emulated CDC against its floor: changes decoded from PostgreSQL's WAL, filtered, mapped and written,
against writing the same items with plain PutItem to the same DynamoDB, in one run.

The source is the mixed example's CDC object (``mappings/orders_table.yaml``) in the pgserver PostgreSQL
with ``wal_level = logical``; the target is moto's DynamoDB in this process (both sides pay the same
moto cost, so the ratio is what decoding and mapping add). ``python -m bench.cdc [--changes N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import boto3
from moto import mock_aws
from sqlalchemy import text

from bench.common import print_table
from dmsmig.config.mapping_spec import build_table_mappings, load_mapping_spec
from dmsmig.config.partitions import KeyRange
from dmsmig.model.dms_semantics import LobSettings, parse_table_mappings
from dmsmig.ops.source_db import connect
from dmsmig.rehearsal.cdc import ChangeStream
from dmsmig.rehearsal.source import EmbeddedPostgres, SourceObjectPlan, create_objects, fill
from tests.ops_fixtures import create_event_table

TABLE = "bench-cdc"
ROWS = 2_000
PER_TRANSACTION = 100


class RecordingDynamoDB:
    """The client the stream writes through, keeping each item it put (the floor writes the same ones)."""

    def __init__(self, client):
        self.client, self.items = client, []

    def put_item(self, **kw):
        self.items.append(kw["Item"])
        return self.client.put_item(**kw)

    def delete_item(self, **kw):
        return self.client.delete_item(**kw)


def run(changes: int, work: Path) -> list[list[object]]:
    server = EmbeddedPostgres(work / "pgdata")
    engine = connect(server.start(logical=True))
    try:
        spec = load_mapping_spec("orders_table")
        whole = KeyRange(0, None, None)
        plan = SourceObjectPlan(spec, "sqlserver", [whole], 32, "orders_table")
        create_objects(engine, [plan])
        fill(engine, plan, ROWS, seed=5)
        rules = parse_table_mappings(
            build_table_mappings(spec, target_table=TABLE, partition_key="PK", sort_key="SK", key_range=whole)
        )
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-west-1")
            create_event_table(client, TABLE)
            recording = RecordingDynamoDB(client)
            types = {("dbo", "OrderEvents"): plan.types}
            stream = ChangeStream("bench-cdc", rules, engine, types, LobSettings(), recording)
            stream.prepare()
            with engine.connect() as conn:
                ids = conn.execute(text('SELECT "Id" FROM dbo."OrderEvents" ORDER BY "Id"')).scalars().all()
            for start in range(0, changes, PER_TRANSACTION):
                with engine.begin() as conn:
                    for n in range(start, min(changes, start + PER_TRANSACTION)):
                        conn.execute(
                            text('UPDATE dbo."OrderEvents" SET "Version" = :v WHERE "Id" = :i'),
                            {"v": n, "i": ids[n % len(ids)]},
                        )
            started = time.perf_counter()
            applied = 0
            while applied < changes:
                got = stream.poll()
                if not got:
                    break
                applied += got
            through_cdc = time.perf_counter() - started
            started = time.perf_counter()
            for item in recording.items:
                client.put_item(TableName=TABLE, Item=item)
            floor = time.perf_counter() - started
            stream.drop()
    finally:
        engine.dispose()
        server.stop()
    return [
        [
            "floor: PutItem of the same items",
            len(recording.items),
            f"{floor:.2f}",
            f"{len(recording.items) / floor:,.0f}",
            "1.00",
        ],
        [
            "emulated CDC (decode, filter, map, PutItem)",
            applied,
            f"{through_cdc:.2f}",
            f"{applied / through_cdc:,.0f}",
            f"{through_cdc / floor:.2f}",
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cdc-") as work:
        rows = run(args.changes, Path(work))
    print_table(
        f"{args.changes:,} updates in transactions of {PER_TRANSACTION}, moto's DynamoDB in process",
        ["", "changes", "seconds", "changes/s", "x floor"],
        rows,
    )


if __name__ == "__main__":
    main()
