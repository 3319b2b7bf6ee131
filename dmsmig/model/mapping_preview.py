"""The items DMS writes for one task group's rows, and the lint a platform team needs before a load.

There is one implementation of "what DMS does with a row": :mod:`dmsmig.model.dms_semantics`. A
:class:`GroupMapping` feeds it the table-mappings document the program generates for the group
(:func:`dmsmig.config.mapping_spec.build_table_mappings`, over the whole key span), the spec's
declared column types on the group's engine, and the group's LOB settings. ``preview-mapping``,
``validate`` and the rehearsal's analysis all map rows through it. On top of the interpreter's
per-row findings, :func:`preview` finds key collisions across the rows it was given (PutItem
overwrites silently, so two rows with the same key lose data without an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from dmsmig.config.mapping_spec import MappingSpec, build_table_mappings
from dmsmig.config.partitions import KeyRange
from dmsmig.contract.type_paths import ColumnType
from dmsmig.model.column_types import declared_types
from dmsmig.model.dms_semantics import (
    LobSettings,
    RowOutcome,
    TableRules,
    item_key,
    map_row,
    parse_table_mappings,
    plain,
)


@dataclass(frozen=True)
class GroupMapping:
    """A task group's generated rules (whole key span), declared column types and LOB settings."""

    rules: TableRules
    types: dict[str, ColumnType]
    lob: LobSettings

    @classmethod
    def build(
        cls,
        spec: MappingSpec,
        engine: str,
        *,
        partition_key: str,
        sort_key: str | None,
        task_settings: dict | str | None,
        spec_file: str = "the mapping spec",
    ) -> GroupMapping:
        document = build_table_mappings(
            spec,
            target_table="preview",
            partition_key=partition_key,
            sort_key=sort_key,
            key_range=KeyRange(0, None, None),
        )
        (rules,) = parse_table_mappings(document)
        return cls(rules, declared_types(spec, engine, spec_file), LobSettings.from_task_settings(task_settings))

    def map(self, row: dict[str, Any]) -> RowOutcome:
        """The item DMS writes for ``row`` (DynamoDB JSON, or None when the write fails) and its findings."""
        return map_row(self.rules, row, self.types, self.lob)

    def key(self, item: dict[str, dict]) -> tuple:
        return item_key(item, self.rules.partition_key, self.rules.sort_key)


@dataclass(frozen=True)
class Finding:
    """One lint result."""

    level: str  # "error" or "warning"
    rule: str
    row: int | None
    message: str


@dataclass
class Preview:
    items: list[dict[str, Any]] = field(default_factory=list)
    """Each written item as plain values (numbers as Decimal), in row order."""
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]


_TRUE, _FALSE = {"1", "true", "t", "yes", "y"}, {"0", "false", "f", "no", "n"}


def typed_from_text(row: dict[str, Any], types: dict[str, ColumnType]) -> dict[str, Any]:
    """A row read from a CSV file, with values typed as the source would return them: an empty cell
    is NULL, numbers and booleans parsed by the column's declared DMS type (text that does not parse
    stays text, so the interpreter reports it)."""
    typed: dict[str, Any] = {}
    for name, value in row.items():
        column = types.get(name)
        if not isinstance(value, str) or column is None:
            typed[name] = value
        elif value == "":
            typed[name] = None
        elif column.dms_type == "BOOLEAN" and value.strip().lower() in _TRUE | _FALSE:
            typed[name] = value.strip().lower() in _TRUE
        elif column.dms_type in ("INT1", "INT2", "INT4", "INT8", "UINT1", "UINT2", "UINT4", "UINT8", "NUMERIC"):
            try:
                typed[name] = Decimal(value.strip())
            except InvalidOperation:
                typed[name] = value
        else:
            typed[name] = value
    return typed


def preview(mapping: GroupMapping, rows: list[dict[str, Any]], *, from_text: bool = False) -> Preview:
    """Items DMS would write for ``rows``, with every finding (per row, and key collisions across rows)."""
    result = Preview()
    seen: dict[tuple, int] = {}
    for index, raw in enumerate(rows):
        row = typed_from_text(raw, mapping.types) if from_text else raw
        outcome = mapping.map(row)
        for f in outcome.findings:
            result.findings.append(Finding(f.level, f.rule, index, f.message))
        if outcome.item is None:
            continue
        key = mapping.key(outcome.item)
        if key in seen:
            names = [k for k in (mapping.rules.partition_key, mapping.rules.sort_key) if k]
            shown = {n: plain(outcome.item[n]) for n in names}
            result.findings.append(
                Finding(
                    "error",
                    "key-collision",
                    index,
                    f"rows {seen[key]} and {index} both map to {json.dumps(shown, default=str)}; "
                    "PutItem keeps only the last one",
                )
            )
        else:
            seen[key] = index
        result.items.append({name: plain(value) for name, value in outcome.item.items()})
    return result


def items_as_json(items: list[dict[str, Any]]) -> str:
    """Items as JSON with numbers kept exact."""
    return json.dumps(items, indent=2, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v))
