"""What the rehearsal found: every source row through every task's generated mappings, in one streaming pass.

Per source object, rows stream in key order; each row is tested against every task's selection
(rows no task selects, or two tasks select, are findings), mapped by the task that selects it
(:func:`dmsmig.model.dms_semantics.map_row`: its findings and the undocumented choices it hit),
and its item key is spilled to a SQLite file to find rows that collapse into one item. Memory
does not grow with the table; the key file does, on disk, and is removed after.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.contract.type_paths import ColumnType
from dmsmig.model.dms_semantics import CHOICES, LobSettings, TableRules, item_key, item_size, map_row, selects
from dmsmig.model.throughput import MeasuredItems, units_per_item
from dmsmig.ops.source_db import qualified, quote

EXAMPLES = 5
SIZE_BUCKETS = (1024, 2048, 4096, 8192, 16384, 65536, 409600)


@dataclass
class TaskPlan:
    """One task as the emulator runs it: its id, group, parsed rules and LOB settings."""

    task_id: str
    group: str
    rules: TableRules
    lob: LobSettings


@dataclass
class Finding:
    """One kind of problem, its count, example source keys, and where to fix it."""

    rule: str
    level: str
    where: str
    message: str
    fix: str
    count: int = 0
    examples: list[Any] = field(default_factory=list)

    def add(self, example: Any) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)


@dataclass
class Analysis:
    """Findings, undocumented-choice counts, and the measured item sizes."""

    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    choices: Counter = field(default_factory=Counter)
    rows: int = 0
    items: int = 0
    size_total: int = 0
    size_max: int = 0
    write_units: int = 0
    size_histogram: Counter = field(default_factory=Counter)
    by_group: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    """Per task group: items, bytes and write units (what ``plan --rehearsal`` reads)."""

    def finding(self, rule: str, level: str, where: str, message: str, fix: str) -> Finding:
        key = (rule, where, message if rule in ("not-selected", "selected-twice") else "")
        if key not in self.findings:
            self.findings[key] = Finding(rule, level, where, message, fix)
        return self.findings[key]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.level == "error"]

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "items": self.items,
            "findings": [f.__dict__ for f in self.findings.values()],
            "undocumented": [
                {"choice": c, "rows": n, "what": CHOICES[c], "confirm": "on a sandbox DMS run"}
                for c, n in sorted(self.choices.items())
            ],
            "itemSize": {
                "meanBytes": round(self.size_total / self.items, 1) if self.items else 0,
                "maxBytes": self.size_max,
                "writeUnitsPerItem": round(self.write_units / self.items, 3) if self.items else 0,
                "histogram": {f"<={b}": self.size_histogram[b] for b in SIZE_BUCKETS},
            },
            "itemSizeByGroup": {
                group: {
                    "items": c["items"],
                    "meanBytes": round(c["bytes"] / c["items"], 1),
                    "writeUnitsPerItem": round(c["writeUnits"] / c["items"], 3),
                }
                for group, c in sorted(self.by_group.items())
            },
        }


def measured_items(report: object, origin: str) -> MeasuredItems:
    """The write units per item of a ``rehearse`` JSON report (what :meth:`Analysis.as_dict` wrote), for
    ``plan --rehearsal``; ValueError names the key that is wrong."""
    if not isinstance(report, dict) or not isinstance(report.get("itemSizeByGroup"), dict):
        raise ValueError("itemSizeByGroup is missing: not a report written by `rehearse`")
    by_group: dict = report["itemSizeByGroup"]
    units = {}
    for group, figures in by_group.items():
        value = figures.get("writeUnitsPerItem") if isinstance(figures, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 400:
            raise ValueError(f"itemSizeByGroup.{group}.writeUnitsPerItem must be a number from 1 to 400")
        units[group] = float(value)
    stack = report.get("stack", "?")
    counts = report.get("sourceRows")
    rows = sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, dict) else 0
    return MeasuredItems(units, f"{origin} (rehearsal of stack {stack}, {rows:,} source rows)")


class KeySpill:
    """Item keys on disk (SQLite), to find rows that map to the same item without holding them."""

    def __init__(self, path: Path):
        path.unlink(missing_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE keys (k TEXT NOT NULL, src TEXT NOT NULL, task TEXT NOT NULL)")
        self.pending: list[tuple[str, str, str]] = []

    def add(self, key: tuple, source_key: Any, task: str) -> None:
        self.pending.append((json.dumps(key), json.dumps(source_key, default=str), task))
        if len(self.pending) >= 10000:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO keys VALUES (?, ?, ?)", self.pending)
        self.pending = []

    def collisions(self) -> list[tuple[str, list[str], list[str]]]:
        """Item keys written by more than one row: (item key, source keys, tasks)."""
        self.flush()
        self.db.execute("CREATE INDEX keys_k ON keys (k)")
        rows = self.db.execute(
            "SELECT k, group_concat(src, '|'), group_concat(task, '|') FROM keys GROUP BY k HAVING count(*) > 1"
        ).fetchall()
        return [(k, s.split("|"), t.split("|")) for k, s, t in rows]

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)


def analyse_object(
    engine: Engine,
    spec: MappingSpec,
    types: dict[str, ColumnType],
    tasks: list[TaskPlan],
    spill: KeySpill,
    result: Analysis,
    where: str,
) -> None:
    """Stream the spec's source object once, in key order, and record what each row becomes under ``tasks``."""
    obj, key_column = qualified(engine, spec.source), spec.key_column
    sql = text(f"SELECT * FROM {obj} ORDER BY {quote(engine, key_column)}")
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(sql)
        for row in rows.mappings():
            result.rows += 1
            key = row.get(key_column)
            chosen = []
            for task in tasks:
                selected, textual = selects(task.rules, row, types)
                if textual:
                    result.choices["filter-comparison"] += 1
                if selected:
                    chosen.append(task)
            if not chosen:
                result.finding(
                    "not-selected",
                    "error",
                    where,
                    f"rows of {spec.source.schema_name}.{spec.source.object_name} that no task's filter selects",
                    f"DMS never loads them (e.g. a NULL {key_column}: filters compare false); fix the rows or the "
                    "partitions",
                ).add(key)
                continue
            if len(chosen) > 1:
                names = ", ".join(t.task_id for t in chosen)
                result.finding(
                    "selected-twice",
                    "error",
                    where,
                    f"rows selected by {names}",
                    "both tasks write them; make the partitions disjoint",
                ).add(key)
            task = chosen[0]
            outcome = map_row(task.rules, dict(row), types, task.lob)
            result.choices.update(outcome.choices)
            seen_rules: set[str] = set()
            for f in outcome.findings:
                if f.rule in seen_rules:
                    continue  # one row, one count per kind (a column and its same-name attribute)
                seen_rules.add(f.rule)
                fix = {
                    "lob-truncated": f"{where}: raise taskSettings.TargetMetadata.LobMaxSize (KB)",
                    "item-too-large": f"{where}: exclude or shorten columns in the mapping spec",
                    "number-too-precise": f"{where}: map the column as a string attribute in the mapping spec",
                    "empty-key": f"{where}: make the key template's columns NOT NULL in the source or view",
                    "unsupported-type": f"{where}: add the column to excludeColumns, or convert it in a view",
                    "not-a-number": f"{where}: map the attribute with type string",
                }.get(f.rule, where)
                result.finding(f.rule, f.level, where, f.message, fix).add(key)
            if outcome.item is None:
                continue
            result.items += 1
            size = item_size(outcome.item)
            result.size_total += size
            result.size_max = max(result.size_max, size)
            units = units_per_item(size)
            result.write_units += units
            result.size_histogram[next((b for b in SIZE_BUCKETS if size <= b), SIZE_BUCKETS[-1])] += 1
            result.by_group[task.group].update(items=1, bytes=size, writeUnits=units)
            spill.add(item_key(outcome.item, task.rules.partition_key, task.rules.sort_key), key, task.task_id)


def record_collisions(spill: KeySpill, result: Analysis, where_of: dict[str, str]) -> None:
    """Rows that became fewer items: one finding per group, with example keys and the rows that collided."""
    by_group: dict[str, list] = defaultdict(list)
    for item, sources, tasks in spill.collisions():
        by_group[where_of.get(tasks[0], tasks[0])].append((item, sources))
    for where, collided in by_group.items():
        finding = result.finding(
            "key-collision",
            "error",
            where,
            "rows that map to the same item key (the last write wins, silently)",
            f"{where}: make the partition/sort key templates unique per source row (e.g. add the key column)",
        )
        for item, sources in collided:
            finding.count += len(sources) - 1
            if len(finding.examples) < EXAMPLES:
                finding.examples.append({"item": json.loads(item), "rows": [json.loads(s) for s in sources]})
