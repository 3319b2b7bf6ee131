"""A linear paginated Scan for the local DynamoDB (moto), installed only in the rehearsal's server.

moto's ``Table.scan`` sorts every item of the table on every page and walks from the first item to
the page's ``ExclusiveStartKey``: a full scan costs O(pages x items), so 200,000 items took most of a
rehearsal and 1,000,000 were out of reach. This replacement keeps, per table and write version, the
items in moto's own order (sorted by key) with each item's position and scan segment, and starts a
page by a dictionary lookup. Pages are the same as moto's: the same order, the same 1 MB cut by
moto's item size, the same LastEvaluatedKey, segments by moto's own ``is_within_segment``.

Scans with a filter, an index, or a start key the table no longer holds go to moto's original.
Writes (``put_item``, ``delete_item``) move the table's version, so the next page re-reads the
table; an item updated in place is the same object and is seen as it is now, as in moto.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_originals: dict[str, Any] = {}


def _key_of(hash_key: Any, range_key: Any) -> str:
    return json.dumps([hash_key.to_json() if hash_key else None, range_key.to_json() if range_key else None])


class _Snapshot:
    def __init__(self, table: Any, version: int):
        self.version = version
        self.items = table.all_items()  # moto's order: sorted by hash key, then range key
        self.position = {_key_of(item.hash_key, item.range_key): i for i, item in enumerate(self.items)}
        self.segments: dict[tuple[int, int], list[int]] = {}

    def in_segment(self, segments: tuple[int, int]) -> list[int]:
        if segments not in self.segments:
            self.segments[segments] = [i for i, item in enumerate(self.items) if item.is_within_segment(segments)]
        return self.segments[segments]


def uninstall() -> None:
    """Put moto's own methods back (tests compare both)."""
    from moto.dynamodb.models.table import Table

    for name, method in _originals.items():
        setattr(Table, name, method)
    _originals.clear()


def install() -> None:
    """Replace moto's Table.scan (and count writes) in this process; idempotent."""
    if _originals:
        return
    from bisect import bisect_right

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

    original_scan, original_put, original_delete = Table.scan, Table.put_item, Table.delete_item

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._dmsmig_version = getattr(self, "_dmsmig_version", 0) + 1
        return original_put(self, *args, **kwargs)

    def delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._dmsmig_version = getattr(self, "_dmsmig_version", 0) + 1
        return original_delete(self, *args, **kwargs)

    def scan(
        self: Any,
        filters: dict[str, Any],
        limit: int,
        exclusive_start_key: dict[str, Any],
        filter_expression: Any = None,
        index_name: str | None = None,
        consistent_read: bool = False,
        projection_expression: list[list[str]] | None = None,
        segments: Any = (None, None),
    ) -> Any:
        if index_name or filters:
            return original_scan(
                self, filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read,
                projection_expression, segments,
            )  # fmt: skip
        version = getattr(self, "_dmsmig_version", 0)
        snapshot = getattr(self, "_dmsmig_snapshot", None)
        if snapshot is None or snapshot.version != version:
            snapshot = self._dmsmig_snapshot = _Snapshot(self, version)
        order = list(range(len(snapshot.items))) if segments == (None, None) else snapshot.in_segment(segments)
        start = 0
        if exclusive_start_key:
            hash_value = exclusive_start_key.get(self.hash_key_attr)
            range_value = exclusive_start_key.get(self.range_key_attr) if self.range_key_attr else None
            start_hash = DynamoType(hash_value) if hash_value else None
            at = snapshot.position.get(_key_of(start_hash, DynamoType(range_value) if range_value else None))
            if at is None:  # the start item is gone: moto's own walk decides where to go on
                return original_scan(
                    self, filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read,
                    projection_expression, segments,
                )  # fmt: skip
            start = bisect_right(order, at)
        results: list[Any] = []
        size = scanned = 0
        last_key = None
        for index in order[start:]:
            item = snapshot.items[index]
            if len(results) == limit or size + item.size() > RESULT_SIZE_LIMIT:
                last_key = self._get_last_evaluated_key(results[-1], None)
                break
            results.append(copy.deepcopy(item))
            size += item.size()
            scanned += 1
        if filter_expression is not None:
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expression:
            results = [r.project(projection_expression) for r in results]
        return results, scanned, last_key

    _originals.update(scan=original_scan, put_item=original_put, delete_item=original_delete)
    Table.scan, Table.put_item, Table.delete_item = scan, put_item, delete_item  # type: ignore[method-assign]
