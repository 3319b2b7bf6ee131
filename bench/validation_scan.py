"""Validation reads the table once: items read per validation against items in the table, for N partitions.

Both ways count 40,000 items of one task group in moto's DynamoDB (in process):
- one pass (what `validate` does): a parallel Scan of the whole table, items bucketed per partition;
- per partition (what it did before): one filtered Select=COUNT scan of the whole table per partition.
DynamoDB charges a Scan by the items it reads, filtered or not, so "items read" is the cost.
Run: python -m bench.validation_scan [items]
"""

from __future__ import annotations

import os
import sys

import boto3
from moto import mock_aws

from bench.common import print_table, timed
from dmsmig.config.mapping_spec import load_mapping_spec
from dmsmig.config.partitions import equal_width_boundaries, ranges_from_boundaries
from dmsmig.ops.validation import GroupCount, count_partitions
from tests.ops_fixtures import create_event_table

TABLE = "bench-events"


def per_partition_reads(client, spec, ranges) -> int:
    """Items read by one filtered COUNT scan per partition (the earlier way)."""
    read = 0
    for key_range in ranges:
        parts, values = [], {}
        if key_range.lower is not None:
            parts.append("#k >= :lo")
            values[":lo"] = {"N": str(key_range.lower)}
        if key_range.upper is not None:
            parts.append("#k < :hi")
            values[":hi"] = {"N": str(key_range.upper)}
        kwargs = {
            "TableName": TABLE,
            "Select": "COUNT",
            "FilterExpression": " AND ".join(parts) or "attribute_exists(#k)",
            "ExpressionAttributeNames": {"#k": spec.validation.key_attribute},
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        start = None
        while True:
            page = client.scan(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
            read += page["ScannedCount"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    return read


def main(items: int = 40_000) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_event_table(client, TABLE)
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
                                    "itemdata": {"S": "x" * 200},
                                }
                            }
                        }
                        for i in range(start + 1, min(start + 25, items) + 1)
                    ]
                }
            )
        spec = load_mapping_spec("order_events")
        rows = []
        for n in (4, 16):
            ranges = ranges_from_boundaries(equal_width_boundaries(n, 1, items))
            result = {}
            one = timed(
                lambda r=ranges, res=result: res.__setitem__(
                    "one", count_partitions(client, TABLE, [GroupCount("g", spec, r)], 4)
                )
            )
            before = timed(lambda r=ranges, res=result: res.__setitem__("before", per_partition_reads(client, spec, r)))
            counts = result["one"]
            assert sum(counts.per_group["g"]) == items
            rows.append(
                [
                    n,
                    f"{counts.items_read:,}",
                    f"{counts.items_read / items:.2f}",
                    f"{result['before']:,}",
                    f"{result['before'] / items:.2f}",
                    f"{one:.2f}",
                    f"{before:.2f}",
                ]
            )
        print_table(
            f"items read per validation of a {items:,}-item table (target 1.00)",
            [
                "N",
                "one pass read",
                "one pass / table",
                "per partition read",
                "per partition / table",
                "one pass s",
                "per partition s",
            ],
            rows,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40_000)
