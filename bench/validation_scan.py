"""DynamoDB count for validation: parallel segmented Scan vs serial Scan, on the same data.

Runs against moto's threaded server on 127.0.0.1 (no cloud). moto answers from one Python
process, so its segments contend for the GIL; against real DynamoDB each segment is a separate
network round trip and the speedup is larger. The figure printed is what this machine measures.
A second table adds a simulated 20 ms network round trip per request (a botocore hook that
sleeps before each send), which is what segments overlap against a real endpoint; it is a model,
labelled as such, not a DynamoDB measurement.
Run: python -m bench.validation_scan [items]
"""

from __future__ import annotations

import logging
import os
import sys
import time

import boto3
from moto.server import ThreadedMotoServer

from bench.common import print_table, timed
from dmsmig.config.mapping_spec import load_mapping_spec
from dmsmig.config.partitions import KeyRange
from dmsmig.ops.validation import count_items
from tests.ops_fixtures import create_event_table

TABLE = "bench-events"


def main(items: int = 10_000) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=f"http://{host}:{port}")
        create_event_table(client, TABLE)
        payload = "x" * 2000  # ~2 KB items: a scan page holds ~500 of them
        for start in range(0, items, 25):
            client.batch_write_item(
                RequestItems={
                    TABLE: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "PK": {"S": f"agg#{i % 1000}"},
                                    "SK": {"S": f"evt#{i:09d}"},
                                    "itemtype": {"S": "event"},
                                    "srcId": {"N": str(i)},
                                    "itemdata": {"S": payload},
                                }
                            }
                        }
                        for i in range(start, min(start + 25, items))
                    ]
                }
            )
        spec = load_mapping_spec("order_events")
        half = KeyRange(0, None, items // 2)
        for label, latency in (("moto server as is", 0.0), ("moto server + simulated 20 ms round trip", 0.02)):
            if latency:
                client.meta.events.register("before-send.dynamodb.Scan", lambda _l=latency, **kw: time.sleep(_l))
            rows, base = [], None
            for segments in (1, 2, 4, 8):
                counted = {}
                seconds = timed(
                    lambda s=segments, c=counted: c.__setitem__("n", count_items(client, TABLE, spec, half, s)), 3
                )
                base = base or seconds
                rows.append([segments, counted["n"], f"{seconds:.2f}", f"{base / seconds:.2f}"])
            print_table(
                f"count {items // 2:,} of {items:,} items (Select=COUNT, filtered): {label}",
                ["segments", "count", "seconds", "speedup vs serial"],
                rows,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
