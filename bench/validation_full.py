"""validate --full against its floor, and its memory, at 200,000 and 1,000,000 rows, N = 4 and 16.

Source: the sandbox stack's order-events view in the embedded PostgreSQL (pgserver), synthetic rows
from the rehearsal's generator. Target: moto's DynamoDB in this process (with the rehearsal's linear
Scan), filled with the items the DMS-semantics interpreter maps from those rows (untimed).
- floor: what any full comparison must at least do, timed in the same run: one ordered read of
  every source row (the same per-partition statements) plus one parallel Scan of the table with
  all attributes (the same segments);
- validate --full: the same two reads, plus mapping, digests, chunk sums, the spill to disk and
  the comparison.
Items read from DynamoDB per validation are reported against the items in the table.

Memory, at 200,000 and 1,000,000 rows: moto serialises every scanned item through its generic
response serializer (about 1,500 items/s here), so a million-item scan takes hours; the memory runs
therefore scan a stand-in table that pages the mapped source rows as a Scan would (500 items a page,
nothing held), each validation in a fresh process, and its peak RSS growth (VmHWM) is reported.
Run: python -m bench.validation_full [rows ...]   (moto runs; default 200000)
     python -m bench.validation_full --memory     (stand-in table, 200,000 and 1,000,000 rows)
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from bench.common import peak_rss_mib, per_size_in_fresh_process, print_table
from dmsmig.config.partitions import equal_width_boundaries, ranges_from_boundaries
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.model.mapping_preview import GroupMapping
from dmsmig.ops.full_validation import GroupPlan, Shard, compare_shards, range_statement, run_shard
from dmsmig.ops.source_db import connect, qualified, quote
from dmsmig.rehearsal import linear_scan
from dmsmig.rehearsal.run import object_plans
from dmsmig.rehearsal.source import EmbeddedPostgres, create_objects, fill
from tests.ops_fixtures import create_event_table

REGION, TABLE, SEGMENTS = "eu-west-1", "bench-events", 8


def fill_table(engine, plan, mapping: GroupMapping) -> int:
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    col = quote(engine, plan.spec.key_column)
    written = 0
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).exec_driver_sql(
            f"SELECT * FROM {qualified(engine, plan.spec.source)} ORDER BY {col}"
        )
        for row in result.mappings():
            item = mapping.map(dict(row)).item
            if item is not None:
                backend.put_item(TABLE, item)
                written += 1
    return written


def floor(engine, dynamodb, group: GroupPlan) -> float:
    started = time.perf_counter()
    with engine.connect() as conn:
        for key_range in group.ranges:
            sql, params = range_statement(engine, group.spec, key_range)
            for _row in conn.execution_options(stream_results=True, yield_per=2000).execute(sql, params):
                pass

    def segment(s: int) -> None:
        start = None
        while True:
            kwargs = {"TableName": TABLE, "Segment": s, "TotalSegments": SEGMENTS}
            page = dynamodb.scan(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    with ThreadPoolExecutor(SEGMENTS) as pool:
        list(pool.map(segment, range(SEGMENTS)))
    return time.perf_counter() - started


def validate(engine, dynamodb, group: GroupPlan, work: Path) -> tuple[float, int, bool]:
    started = time.perf_counter()
    out = work / "shard.sqlite"
    run_shard(
        lambda _g: engine, dynamodb, TABLE, [group], Shard(), out,
        key_names=["PK", "SK"], segments=SEGMENTS, identity={"stack": "bench"},
    )  # fmt: skip
    comparison = compare_shards([out], [group], 10_000)
    return time.perf_counter() - started, comparison.items_read, comparison.ok


def main(sizes: list[int]) -> None:
    config = load_stack_config("sandbox", PROJECT_DIR)
    _where, plan = object_plans(config)[0]
    mapping = GroupMapping.build(plan.spec, plan.engine, partition_key="PK", sort_key="SK", task_settings=None)
    timings = []
    linear_scan.install()
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        postgres = EmbeddedPostgres(work / "pgdata")
        try:
            engine = connect(postgres.start())
            for rows in sizes:
                create_objects(engine, [plan])
                fill(engine, plan, rows, seed=7)
                key = quote(engine, plan.spec.key_column)
                with engine.connect() as conn:
                    low, high = conn.exec_driver_sql(
                        f"SELECT min({key}), max({key}) FROM {qualified(engine, plan.spec.source)}"
                    ).one()
                with mock_aws():
                    dynamodb = boto3.client("dynamodb", region_name=REGION)
                    create_event_table(dynamodb, TABLE)
                    items = fill_table(engine, plan, mapping)
                    for n in (4, 16):
                        ranges = ranges_from_boundaries(equal_width_boundaries(n, low, high + 1))
                        group = GroupPlan("orders/events", plan.spec, mapping, ranges, [f"p{i}" for i in range(n)])
                        floor_s = floor(engine, dynamodb, group)
                        full_s, read, ok = validate(engine, dynamodb, group, work)
                        timings.append((rows, n, items, floor_s, full_s, read, ok))
                dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].reset()
        finally:
            postgres.stop()
    print_table(
        "validate --full vs the floor (ordered source read + one parallel scan, all attributes), one run",
        ["rows", "N", "items", "floor s", "full s", "ratio", "items read / table", "ok"],
        [
            [f"{r:,}", n, f"{i:,}", f"{f:.1f}", f"{v:.1f}", f"{v / f:.2f}", f"{read / i:.2f}", ok]
            for r, n, i, f, v, read, ok in timings
        ],
    )


class PagedTable:
    """A stand-in DynamoDB client: Scan pages of the items the interpreter maps from the source, in key
    order (one segment), 500 a page; holds one page at a time."""

    def __init__(self, engine, plan, mapping: GroupMapping):
        self.engine, self.plan, self.mapping = engine, plan, mapping
        self.pages = None

    def _items(self):
        col = quote(self.engine, self.plan.spec.key_column)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).exec_driver_sql(
                f"SELECT * FROM {qualified(self.engine, self.plan.spec.source)} ORDER BY {col}"
            )
            page = []
            for row in result.mappings():
                item = self.mapping.map(dict(row)).item
                if item is not None:
                    page.append(item)
                if len(page) == 500:
                    yield page
                    page = []
            yield page

    def scan(self, TableName, ExclusiveStartKey=None, **_kwargs):  # noqa: N803 - boto3's names
        if ExclusiveStartKey is None:
            self.pages = self._items()
        page = next(self.pages, [])
        more = len(page) == 500
        return {
            "Items": page,
            "Count": len(page),
            "ScannedCount": len(page),
            **({"LastEvaluatedKey": {"n": 1}} if more else {}),
        }


def memory_child(url: str, rows: int) -> None:
    """In a fresh process: one validate --full (N = 16, one segment) over the stand-in table; prints JSON."""
    import json

    config = load_stack_config("sandbox", PROJECT_DIR)
    _where, plan = object_plans(config)[0]
    mapping = GroupMapping.build(plan.spec, plan.engine, partition_key="PK", sort_key="SK", task_settings=None)
    engine = connect(url)
    key = quote(engine, plan.spec.key_column)
    with engine.connect() as conn:
        low, high = conn.exec_driver_sql(
            f"SELECT min({key}), max({key}) FROM {qualified(engine, plan.spec.source)}"
        ).one()
    ranges = ranges_from_boundaries(equal_width_boundaries(16, low, high + 1))
    group = GroupPlan("orders/events", plan.spec, mapping, ranges, [f"p{i}" for i in range(16)])
    baseline = peak_rss_mib()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "shard.sqlite"
        run_shard(
            lambda _g: engine, PagedTable(engine, plan, mapping), TABLE, [group], Shard(), out,
            key_names=["PK", "SK"], segments=1, identity={"stack": "bench"},
        )  # fmt: skip
        comparison = compare_shards([out], [group], 10_000)
    print(json.dumps({"rows": rows, "read": comparison.items_read, "ok": comparison.ok,
                      "seconds": time.perf_counter() - started, "growth": peak_rss_mib() - baseline}))  # fmt: skip


def memory(sizes: list[int]) -> None:
    found = per_size_in_fresh_process("bench.validation_full", "--memory-child", sizes)
    first = found[0]["growth"]
    print_table(
        "validate --full peak RSS growth (VmHWM), N = 16, stand-in table, each in a fresh process, one run",
        ["rows", "items read", "ok", "seconds", "peak growth MiB", "vs first"],
        [
            [f"{r['rows']:,}", f"{r['read']:,}", r["ok"], f"{r['seconds']:.0f}", f"{r['growth']:.1f}",
             f"{r['growth'] / first:.2f}"]
            for r in found
        ],
    )  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory"]:
        memory([200_000, 1_000_000])
    elif sys.argv[1:2] == ["--memory-child"]:
        memory_child(sys.argv[2], int(sys.argv[3]))
    else:
        main([int(a) for a in sys.argv[1:]] or [200_000])
