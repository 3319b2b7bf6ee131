"""The rehearsal's full load against the floor: a plain BatchWriteItem load of the same items, one run.

Both write into the same local AWS process (moto's server with the emulated DMS) with the same
number of writer threads (tasks x ParallelLoadThreads of the sandbox stack):
- rehearsal: the sandbox stack's tasks started through the DMS API; each reads its rows from the
  embedded PostgreSQL, applies its generated table mappings, and writes (timed from the first start
  call to the last task stopped);
- floor: the same items, mapped beforehand (untimed), written by BatchWriteItem of 25 into a second
  table with the same keys.
Also prints the server process's peak memory (VmHWM) after the rehearsal load.
Run: python -m bench.rehearsal [rows]   (default 200,000)
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import print_table
from dmsmig.build.dms_semantics import map_row
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.offline.mock_engine import run_program
from dmsmig.ops.source_db import connect, qualified
from dmsmig.rehearsal.fullload import BATCH_MAX
from dmsmig.rehearsal.local_aws import LocalAws, provision
from dmsmig.rehearsal.run import object_plans, server_config, task_plans
from dmsmig.rehearsal.source import EmbeddedPostgres, create_objects, fill


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
