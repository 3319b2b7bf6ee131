"""One task's full load, executed: source rows through the task's own table mappings into DynamoDB.

The emulated DMS runs this when a task starts. It reads each source object the task's mappings
select (server-side cursor; the filters pushed down as SQL where they are numeric, then applied
exactly by :mod:`dmsmig.model.dms_semantics`), maps every row, and writes the items with
``ParallelLoadThreads`` writers. Write failures follow ``ErrorBehavior.DataErrorPolicy``
(CHAP_Tasks.CustomizingTasks.TaskSettings.ErrorHandling.html): ``LOG_ERROR``/``IGNORE_RECORD``
count the row and go on, ``SUSPEND_TABLE`` stops the table, ``STOP_TASK`` fails the task.

Stated choices: the writers use ``BatchWriteItem`` (25 items; a repeated key flushes the batch first,
so the last row wins as with PutItem) where DMS's documented permissions suggest item-by-item
writes; progress is rows done over a ``COUNT`` of the selected rows taken at the start.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from dmsmig.contract.type_paths import ColumnType
from dmsmig.model.dms_semantics import (
    LobSettings,
    TableRules,
    item_key,
    map_row,
    parse_table_mappings,
    selects,
)
from dmsmig.ops.source_db import qualified_name, quote

BATCH_MAX = 25  # BatchWriteItem: at most 25 put requests (DynamoDB API)
FETCH_ROWS = 2000


@dataclass
class SourceBinding:
    """Where an emulated source endpoint reads from, and its columns' declared types per object."""

    engine: Engine
    types: dict[tuple[str, str], dict[str, ColumnType]] = field(default_factory=dict)
    url: str | None = None
    """The engine's URL, when a load may run in another process (:mod:`dmsmig.rehearsal.load_process`)."""
    cdc: bool = False
    """The source decodes its WAL (the rehearsal's embedded PostgreSQL): CDC tasks run a change stream."""


@dataclass
class TableProgress:
    """What DescribeTableStatistics reports for one table of a running full load."""

    schema: str
    table: str
    state: str = "Before load"
    rows: int = 0
    error_rows: int = 0
    expected: int = 0
    started: datetime | None = None
    ended: datetime | None = None

    def statistics(self) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "SchemaName": self.schema,
            "TableName": self.table,
            "TableState": self.state,
            "FullLoadRows": self.rows,
            "FullLoadErrorRows": self.error_rows,
            "Inserts": 0,
            "Deletes": 0,
            "Updates": 0,
            "Ddls": 0,
            "LastUpdateTime": datetime.now(UTC),
        }
        if self.started:
            stats["FullLoadStartTime"] = self.started
        if self.ended:
            stats["FullLoadEndTime"] = self.ended
        return stats


def pushdown(engine: Engine, rules: TableRules) -> tuple[str, dict[str, Any]]:
    """A SQL WHERE selecting a superset of the rows the filters select (exact for numeric values)."""
    clauses, params = [], {}
    for fi, flt in enumerate(rules.filters):
        col = quote(engine, flt.column)
        parts = []
        for ci, c in enumerate(flt.conditions):
            p = f"p{fi}_{ci}"
            try:
                if c.operator == "between":
                    params[p + "a"], params[p + "b"] = int(c.start or ""), int(c.end or "")
                    parts.append(f"{col} BETWEEN :{p}a AND :{p}b")
                elif c.operator in ("lte", "ste", "gte", "eq"):
                    params[p] = int(c.value or "")
                    parts.append(f"{col} {({'lte': '<=', 'ste': '<=', 'gte': '>=', 'eq': '='})[c.operator]} :{p}")
                elif c.operator == "null":
                    parts.append(f"{col} IS NULL")
                else:
                    parts = []
                    break
            except ValueError:
                parts = []  # not a number: no pushdown for this filter, the interpreter decides alone
                break
        if parts:
            clauses.append("(" + " OR ".join(parts) + ")")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


class Writers:
    """``threads`` writers, each batching up to 25 puts; a repeated key in a batch flushes it first."""

    def __init__(self, make_client: Callable[[], Any], table: str, keys: tuple[str | None, str | None], threads: int):
        self.table, self.keys = table, keys
        self.queue: queue.Queue = queue.Queue(maxsize=threads * 4)
        self.errors: list[str] = []
        self._threads = [threading.Thread(target=self._run, args=(make_client(),), daemon=True) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def _flush(self, client: Any, batch: list[dict]) -> None:
        request = {self.table: [{"PutRequest": {"Item": item}} for item in batch]}
        for _attempt in range(20):
            response = client.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
            if not request:
                break

    def _run(self, client: Any) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            batch: list[dict] = []
            seen: set[tuple] = set()
            try:
                for item in chunk:
                    key = item_key(item, *self.keys)
                    if key in seen or len(batch) == BATCH_MAX:
                        self._flush(client, batch)
                        batch, seen = [], set()
                    batch.append(item)
                    seen.add(key)
                if batch:
                    self._flush(client, batch)
            except Exception as err:  # noqa: BLE001 - reported as the task's failure message
                self.errors.append(f"{type(err).__name__}: {err}")

    def put(self, items: list[dict]) -> None:
        self.queue.put(items)

    def close(self) -> None:
        for _ in self._threads:
            self.queue.put(None)
        for thread in self._threads:
            thread.join()


@dataclass
class FullLoadResult:
    failed: bool = False
    message: str = ""
    interrupted: bool = False
    """Stopped (StopReplicationTask) before every table was loaded."""


def progress_percent(tables: list[TableProgress], result: FullLoadResult | None) -> int:
    """FullLoadProgressPercent: 100 only for a load that ended and was neither stopped nor failed."""
    if result is not None and not result.failed and not result.interrupted:
        return 100
    expected = sum(t.expected for t in tables)
    done = sum(t.rows + t.error_rows for t in tables)
    return min(99, int(100 * done / expected)) if expected else 0


class FullLoad:
    """The full load of one task; ``progress`` and ``tables`` are read by DescribeReplicationTasks."""

    def __init__(
        self,
        table_mappings: str | dict,
        settings: str | dict | None,
        source: SourceBinding,
        make_dynamodb: Callable[[], Any],
    ):
        self.rules = parse_table_mappings(table_mappings)
        doc = json.loads(settings) if isinstance(settings, str) else (settings or {})
        self.lob = LobSettings.from_task_settings(doc)
        self.threads = max(1, int((doc.get("TargetMetadata") or {}).get("ParallelLoadThreads", 0) or 1))
        errors = doc.get("ErrorBehavior") or {}
        self.data_error_policy = errors.get("DataErrorPolicy", "LOG_ERROR")
        self.escalation_count = int(errors.get("DataErrorEscalationCount", 0) or 0)
        self.escalation_policy = errors.get("DataErrorEscalationPolicy", "SUSPEND_TABLE")
        self.source, self.make_dynamodb = source, make_dynamodb
        self.tables = [TableProgress(r.schema, r.table) for r in self.rules]
        self.result: FullLoadResult | None = None
        self.stop_requested = threading.Event()
        # the change-stream side of the interface (:class:`dmsmig.rehearsal.load_process.LoadProcess` runs CDC;
        # a load in a thread never does)
        self.cdc: Any = None
        self.cdc_failure = ""
        self.cdc_running = False

    @property
    def progress_percent(self) -> int:
        return progress_percent(self.tables, self.result)

    def run(self) -> FullLoadResult:
        """Load every selected table; never raises (a failure becomes the result)."""
        try:
            for rules, progress in zip(self.rules, self.tables):
                if self.stop_requested.is_set():
                    break
                outcome = self._load_table(rules, progress)
                if outcome is not None:
                    self.result = outcome
                    return outcome
            self.result = FullLoadResult(interrupted=self.stop_requested.is_set())
        except Exception as err:  # noqa: BLE001 - the task fails with the message, as DMS reports it
            self.result = FullLoadResult(True, f"{type(err).__name__}: {err}"[:500])
        return self.result

    def _load_table(self, rules: TableRules, progress: TableProgress) -> FullLoadResult | None:
        engine = self.source.engine
        obj = qualified_name(engine, rules.schema, rules.table)
        where, params = pushdown(engine, rules)
        types = self.source.types.get((rules.schema, rules.table), {})
        progress.started, progress.state = datetime.now(UTC), "Full load"
        with engine.connect() as conn:
            progress.expected = int(conn.execute(text(f"SELECT COUNT(*) FROM {obj}{where}"), params).scalar() or 0)
            writers = Writers(
                self.make_dynamodb, rules.target_table, (rules.partition_key, rules.sort_key), self.threads
            )
            try:
                result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
                    text(f"SELECT * FROM {obj}{where}"), params
                )
                for chunk in result.mappings().partitions(FETCH_ROWS):
                    if progress.state == "Table error":
                        break  # SUSPEND_TABLE: this table stops, the others go on
                    items = []
                    for row in chunk:
                        selected, _textual = selects(rules, row, types)
                        if not selected:
                            continue
                        outcome = map_row(rules, dict(row), types, self.lob)
                        if outcome.item is None:
                            progress.error_rows += 1
                            stop = self._on_data_error(progress)
                            if stop is not None:
                                return stop
                            if progress.state == "Table error":
                                break
                            continue
                        items.append(outcome.item)
                        progress.rows += 1
                    if items:
                        writers.put(items)
                    if writers.errors or self.stop_requested.is_set():
                        break
            finally:
                writers.close()
        if writers.errors:
            progress.state = "Table error"
            return FullLoadResult(True, f"{rules.schema}.{rules.table}: {writers.errors[0]}"[:500])
        progress.ended = datetime.now(UTC)
        if progress.state == "Full load":
            # botocore TableStatistics.TableState lists "Table cancelled" beside "Table completed"
            progress.state = "Table cancelled" if self.stop_requested.is_set() else "Table completed"
        return None

    def _on_data_error(self, progress: TableProgress) -> FullLoadResult | None:
        policy = self.data_error_policy
        if self.escalation_count and progress.error_rows >= self.escalation_count:
            policy = self.escalation_policy
        if policy == "STOP_TASK":
            progress.state = "Table error"
            return FullLoadResult(True, f"data error in {progress.schema}.{progress.table} (DataErrorPolicy {policy})")
        if policy == "SUSPEND_TABLE":
            progress.state = "Table error"
        return None
