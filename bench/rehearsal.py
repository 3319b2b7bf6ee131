"""The rehearsal's full load against the floor: a plain BatchWriteItem load of the same items, one run.

Both write into the same local AWS process (moto's server with the emulated DMS) with the same
number of writer threads (tasks x ParallelLoadThreads of the sandbox stack):
- rehearsal: the sandbox stack's tasks started through the DMS API; each reads its rows from the
  embedded PostgreSQL, applies its generated table mappings, and writes (timed from the first start
  call to the last task stopped);
- floor: the same items, mapped beforehand (untimed), written by BatchWriteItem of 25 into a second
  table with the same keys.
Also prints the server process's peak memory (VmHWM) after the rehearsal load; that includes moto's
in-memory table, which grows with the items as any DynamoDB table does.

Memory of the load path alone: one task's full load (the emulator's :class:`FullLoad`: server-side
cursor, mapping, writer threads) runs in a fresh process against a target that accepts and drops
every batch, at 200,000 and 1,000,000 rows; its peak RSS growth should not grow with the rows.
Run: python -m bench.rehearsal [rows]   (default 200,000; then the memory runs at 200,000 and 1,000,000)
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import peak_rss_mib, per_size_in_fresh_process, print_table
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.model.dms_semantics import map_row
from dmsmig.offline.mock_engine import run_program
from dmsmig.ops.source_db import connect, qualified
from dmsmig.rehearsal.fullload import BATCH_MAX, FullLoad, SourceBinding
from dmsmig.rehearsal.local_aws import LocalAws, provision
from dmsmig.rehearsal.run import object_plans, server_config, task_plans
from dmsmig.rehearsal.source import EmbeddedPostgres, create_objects, fill


def main(rows: int = 200_000) -> None:
    config = load_stack_config("sandbox", PROJECT_DIR)
    program = run_program(config, stack_name="sandbox")
    objects = object_plans(config)
    tasks = task_plans(program, program.outputs)
    threads = len(tasks) * 5
    with tempfile.TemporaryDirectory() as work:
        state = Path(work)
        postgres = EmbeddedPostgres(state / "pgdata")
        local = LocalAws(state)
        try:
            url = postgres.start()
            engine = connect(url)
            create_objects(engine, [p for _w, p in objects])
            _where, plan = objects[0]
            fill(engine, plan, rows, seed=7)
            local.start(server_config(config, program, url, objects))
            provision(local, config.region, program.resources)
            dms = local.client("dms", config.region)
            dynamodb = local.client("dynamodb", config.region)

            arns = [t["arn"] for group in program.outputs["taskGroups"].values() for t in group]
            started = time.perf_counter()
            for arn in arns:
                dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
            while True:
                found = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": arns}])[
                    "ReplicationTasks"
                ]
                if all(t["Status"] in ("stopped", "failed") for t in found):
                    break
                time.sleep(0.2)
            rehearsal_s = time.perf_counter() - started
            server_peak = peak_rss_mib(local.pid or 0)

            # the floor: the same items, mapped beforehand, written plainly
            table = program.outputs["tableName"]
            described = dynamodb.describe_table(TableName=table)["Table"]
            dynamodb.create_table(
                TableName=table + "-floor",
                KeySchema=described["KeySchema"],
                AttributeDefinitions=described["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
            types = plan.types
            items = []
            with engine.connect() as conn:
                result = conn.exec_driver_sql(f"SELECT * FROM {qualified(engine, plan.spec.source)}")
                for row in result.mappings():
                    outcome = map_row(tasks[0].rules, dict(row), types, tasks[0].lob)
                    if outcome.item is not None:
                        items.append(outcome.item)
            chunks = [items[i : i + BATCH_MAX] for i in range(0, len(items), BATCH_MAX)]
            lock = threading.Lock()

            def writer() -> None:
                client = local.client("dynamodb", config.region)
                while True:
                    with lock:
                        if not chunks:
                            return
                        chunk = chunks.pop()
                    request = {table + "-floor": [{"PutRequest": {"Item": i}} for i in chunk]}
                    while request:
                        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

            started = time.perf_counter()
            workers = [threading.Thread(target=writer) for _ in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            floor_s = time.perf_counter() - started
        finally:
            local.stop()
            postgres.stop()
    print_table(
        f"rehearsal full load vs plain BatchWriteItem, {rows:,} rows, {threads} writers, one run",
        ["load", "seconds", "items/s", "ratio"],
        [
            [
                "rehearsal (emulated DMS)",
                f"{rehearsal_s:.1f}",
                f"{rows / rehearsal_s:,.0f}",
                f"{rehearsal_s / floor_s:.2f}",
            ],
            ["floor (BatchWriteItem)", f"{floor_s:.1f}", f"{rows / floor_s:,.0f}", "1.00"],
        ],
    )
    print(f"local AWS peak memory after the rehearsal load (VmHWM): {server_peak:,.0f} MiB")


class DroppingTarget:
    """A DynamoDB client that accepts every batch and keeps nothing (counts the items)."""

    def __init__(self, counter: list[int]):
        self.counter = counter

    def batch_write_item(self, RequestItems: dict) -> dict:  # noqa: N803 - boto3's parameter name
        self.counter[0] += sum(len(v) for v in RequestItems.values())
        return {}


def load_only(url: str, rows: int) -> None:
    """Child process: one task's full load over the whole object into a dropping target; prints JSON."""
    config = load_stack_config("sandbox", PROJECT_DIR)
    program = run_program(config, stack_name="sandbox")
    _where, plan = object_plans(config)[0]
    task = next(r for r in program.resources if r.type == "aws:dms/replicationTask:ReplicationTask")
    mappings = json.loads(task.inputs["tableMappings"])
    mappings["rules"][0].pop("filters", None)  # the whole object in one load
    engine = connect(url)
    baseline = peak_rss_mib(0)
    counter = [0]
    started = time.perf_counter()
    load = FullLoad(
        mappings,
        task.inputs.get("replicationTaskSettings"),
        SourceBinding(engine, {(plan.spec.source.schema_name, plan.spec.source.object_name): plan.types}),
        lambda: DroppingTarget(counter),
    )
    result = load.run()
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": rows,
                "items": counter[0],
                "failed": result.failed,
                "seconds": seconds,
                "baseline": baseline,
                "peak": peak_rss_mib(0),
            }
        )
    )


def memory(row_counts: list[int]) -> None:
    results = per_size_in_fresh_process("bench.rehearsal", "--load-only", row_counts)
    first = results[0]["peak"] - results[0]["baseline"]
    print_table(
        "one task's full load into a dropping target, each in a fresh process, one run",
        ["rows", "items", "seconds", "peak RSS growth MiB", "vs first"],
        [
            [
                f"{r['rows']:,}",
                f"{r['items']:,}",
                f"{r['seconds']:.1f}",
                f"{r['peak'] - r['baseline']:.1f}",
                f"{(r['peak'] - r['baseline']) / first:.2f}",
            ]
            for r in results
        ],
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load-only"]:
        load_only(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--memory"]:
        memory([200_000, 1_000_000])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
        memory([200_000, 1_000_000])
