"""The rehearsal's linear Scan for moto returns exactly moto's pages: same items, order, cuts and keys."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from dmsmig.rehearsal import linear_scan
from tests.ops_fixtures import REGION, create_event_table


def _pages(client, **kwargs) -> list[tuple[list, dict | None]]:
    pages, start = [], None
    while True:
        response = client.scan(TableName="t", **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        start = response.get("LastEvaluatedKey")
        pages.append(([(i["PK"]["S"], i["SK"]["S"]) for i in response["Items"]], start))
        if not start:
            return pages


@pytest.fixture
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_event_table(client, "t")
        for i in range(600):
            client.put_item(
                TableName="t",
                Item={"PK": {"S": f"agg#{i % 37}"}, "SK": {"S": f"evt#{i:05d}"}, "pad": {"S": "x" * (i * 7 % 5000)}},
            )
        yield client
    linear_scan.uninstall()


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"Limit": 7}, {"Segment": 1, "TotalSegments": 4, "Limit": 11}, {"Segment": 3, "TotalSegments": 4}],
)
def test_pages_are_motos_pages(table, kwargs):
    expected = _pages(table, **kwargs)
    linear_scan.install()
    assert _pages(table, **kwargs) == expected
    assert len(expected) > 1 or "Segment" in kwargs


def test_a_write_between_pages_is_seen_like_moto_sees_it(table):
    linear_scan.install()
    first = table.scan(TableName="t", Limit=10)
    table.put_item(TableName="t", Item={"PK": {"S": "zzz"}, "SK": {"S": "last"}})
    table.delete_item(TableName="t", Key={"PK": first["Items"][-1]["PK"], "SK": first["Items"][-1]["SK"]})
    rest = _pages(table, Limit=50)  # a fresh scan sees the new item and not the deleted one
    seen = [k for page, _ in rest for k in page]
    assert ("zzz", "last") in seen and len(seen) == 600
    after = table.scan(TableName="t", Limit=10, ExclusiveStartKey=first["LastEvaluatedKey"])  # a gone start key
    assert after["Items"]
