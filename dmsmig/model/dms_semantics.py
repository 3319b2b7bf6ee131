"""What DMS writes to DynamoDB: the table-mappings JSON and task settings a task received, applied to a row.

This is the one implementation of "what DMS does with a row" (the rehearsal's emulated DMS,
``preview-mapping`` and ``validate`` all use it). It reads the JSON the program generated, not the
mapping spec. Each behaviour cites the User Guide page that documents it; where the guide is silent
the module makes a stated choice (:data:`CHOICES`) and reports every row where that choice mattered,
so a rehearsal can say "undocumented: confirm on a sandbox DMS run" with counts.

Pages: DDB = CHAP_Target.DynamoDB.html, FILTERS = CHAP_Tasks.CustomizingTasks.Filters.html,
SELECTIONS = CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Selections.html,
LOB = CHAP_Tasks.LOBSupport.html, ERRORS = CHAP_Tasks.CustomizingTasks.TaskSettings.ErrorHandling.html.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from dmsmig.config.mapping_spec import TEMPLATE_REF
from dmsmig.contract.type_paths import DYNAMODB_TYPE, NOT_WRITTEN, UNDOCUMENTED, ColumnType

ITEM_LIMIT_BYTES = 400 * 1024  # DynamoDB: 400 KB including attribute names (ServiceQuotas.html)
NUMBER_DIGITS_MAX = 38  # DynamoDB Number precision (HowItWorks.NamingRulesDataTypes.html)
EXACT = Context(prec=1000)  # normalize() rounds to the context's precision (28 by default): never here

CHOICES = {
    "null-in-template": "a ${Col} over a NULL column renders as an empty string (DDB does not say)",
    "datetime-format": "DATE/DATETIME values are written as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (DDB says only 'string')",
    "template-overrides-column": "an attribute mapping named like a non-excluded column replaces the column's "
    "value (DDB does not say which wins)",
    "nclob-as-string": "NCLOB and TIME columns are written as strings (not in DDB's target type table)",
    "filter-comparison": "a filter compares as numbers when both sides are numbers, else as text (FILTERS: "
    "'SQLite conventions')",
    "lob-truncation-bytes": "LobMaxSize truncates LOBs at LobMaxSize x 1024 UTF-8 bytes on a character boundary",
    "cdc-calls": "CDC inserts and updates are written as PutItem of the whole mapped item, deletes as DeleteItem "
    "by key (DDB does not say which calls DMS makes)",
    "slot-gone": "a CDC task whose replication slot was dropped fails, and a resume gives it no new slot in its "
    "place (the PostgreSQL source page does not say what DMS does; a new slot would skip the changes made since)",
}


class MappingNotExecutable(ValueError):
    """Table mappings this interpreter cannot execute (a rule it does not implement), with the rule named."""


# --- parsing the table-mappings document -------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    operator: str
    value: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class SourceFilter:
    column: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AttributeRule:
    name: str
    kind: str  # scalar | document
    sub_type: str  # string | number | dynamodb-map | dynamodb-list | json
    value: Any


@dataclass(frozen=True)
class TableRules:
    """What a task does with one source object: its selection filters and its object mapping."""

    schema: str
    table: str
    filters: tuple[SourceFilter, ...]
    action: str  # map-record-to-record | map-record-to-document
    target_table: str
    partition_key: str | None
    sort_key: str | None
    exclude: frozenset[str]
    attributes: tuple[AttributeRule, ...]


_OPERATORS = {"eq", "noteq", "lte", "ste", "gte", "between", "notbetween", "null", "notnull"}
_NEGATIVE = {"noteq", "notbetween", "notnull"}


def _locator_matches(locator: dict, schema: str, table: str) -> bool:
    def like(pattern: str, name: str) -> bool:
        return re.fullmatch(re.escape(pattern).replace("%", ".*"), name) is not None

    return like(locator.get("schema-name", "%"), schema) and like(locator.get("table-name", "%"), table)


def parse_table_mappings(document: dict | str) -> list[TableRules]:
    """The tables a task loads and how, from its table-mappings JSON (rules in DMS's documented shape)."""
    doc = json.loads(document) if isinstance(document, str) else document
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list):
        raise MappingNotExecutable("table mappings have no 'rules' list")
    selections, mappings = [], []
    for rule in rules:
        kind = rule.get("rule-type")
        if kind == "selection":
            selections.append(rule)
        elif kind == "object-mapping":
            mappings.append(rule)
        elif kind == "table-settings":
            continue  # parallel-load segmentation: whether a DynamoDB target honours it is not documented
        else:
            raise MappingNotExecutable(f"rule {rule.get('rule-name')!r}: rule-type {kind!r} is not emulated")
    result = []
    for mapping in mappings:
        locator = mapping.get("object-locator") or {}
        schema, table = locator.get("schema-name", ""), locator.get("table-name", "")
        if "%" in schema + table:
            raise MappingNotExecutable(f"object-mapping {mapping.get('rule-name')!r}: wildcards in an object mapping")
        chosen = [s for s in selections if _locator_matches(s.get("object-locator") or {}, schema, table)]
        if any(s.get("rule-action") == "exclude" for s in chosen):
            continue
        included = [s for s in chosen if s.get("rule-action") in ("include", "explicit")]
        if not included:
            continue  # DDB: "You must have selection rules when you use object mapping"
        filters = tuple(_parse_filter(s, f) for s in included for f in s.get("filters") or [])
        action = mapping.get("rule-action")
        if action not in ("map-record-to-record", "map-record-to-document"):
            raise MappingNotExecutable(
                f"object-mapping rule-action {action!r}: DDB allows only the two map-record ones"
            )
        params = mapping.get("mapping-parameters") or {}
        if params.get("condition-expression"):  # DDB, "Using Custom Condition Expressions with Object Mapping"
            raise MappingNotExecutable(
                f"object-mapping {mapping.get('rule-name')!r}: condition-expression is not emulated (the rehearsal "
                "would write every item unconditionally, which DMS does not)"
            )
        attributes = tuple(
            AttributeRule(
                a["target-attribute-name"],
                a.get("attribute-type", "scalar"),
                a.get("attribute-sub-type", "string"),
                a.get("value", ""),
            )
            for a in params.get("attribute-mappings") or []
        )
        result.append(
            TableRules(
                schema=schema,
                table=table,
                filters=filters,
                action=action,
                target_table=mapping.get("target-table-name", table),
                partition_key=params.get("partition-key-name"),
                sort_key=params.get("sort-key-name"),
                exclude=frozenset(params.get("exclude-columns") or []),
                attributes=attributes,
            )
        )
    return result


def _parse_filter(selection: dict, raw: dict) -> SourceFilter:
    name = selection.get("rule-name")
    if raw.get("filter-type", "source") != "source":
        raise MappingNotExecutable(f"selection {name!r}: filter-type {raw.get('filter-type')!r} is not emulated")
    conditions = []
    for c in raw.get("filter-conditions") or []:
        operator = c.get("filter-operator")
        if operator not in _OPERATORS:
            raise MappingNotExecutable(f"selection {name!r}: filter-operator {operator!r} is not one DMS documents")
        conditions.append(Condition(operator, c.get("value"), c.get("start-value"), c.get("end-value")))
    if len(conditions) > 1 and any(c.operator in _NEGATIVE for c in conditions):
        # FILTERS: a negative operator must be the only condition of its filter
        raise MappingNotExecutable(f"selection {name!r}: a negative filter operator must be alone in its filter")
    return SourceFilter(raw["column-name"], tuple(conditions))


# --- DMS value conversion --------------------------------------------------------------------
def dms_text(value: Any, column: ColumnType | None) -> str:
    """A value as DMS renders it into a template or a string attribute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond:06d}" if value.microsecond else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) or (column is not None and column.dms_type in ("REAL4", "REAL8")):
        return number_text(Decimal(repr(float(value))))
    if isinstance(value, (Decimal, int)):
        return number_text(Decimal(value))
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)


def number_text(number: Decimal) -> str:
    """A number the way DynamoDB stores it: leading and trailing zeroes trimmed (NamingRulesDataTypes)."""
    if number.is_zero():
        return "0"
    return format(number.normalize(EXACT), "f")


def significant_digits(text: str) -> int:
    number = Decimal(text)
    return len(number.normalize(EXACT).as_tuple().digits) if not number.is_zero() else 1


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowFinding:
    """Something about one row that a platform team must know; ``error`` ones lose or change data."""

    rule: str
    level: str  # error | warning
    column: str
    message: str


@dataclass
class RowOutcome:
    """The item DMS writes for a row (DynamoDB JSON), or None when the write fails, and why."""

    item: dict[str, dict] | None
    findings: list[RowFinding] = field(default_factory=list)
    choices: set[str] = field(default_factory=set)
    """Keys of :data:`CHOICES` this row depended on."""


# --- selection ------------------------------------------------------------------------------------
def _compare(left: Any, right: str, column: ColumnType | None) -> tuple[int, bool]:
    """(-1/0/1, numeric?) comparing a column value with a filter value."""
    text = dms_text(left, column)
    try:
        a, b = Decimal(text), Decimal(right)
        return (a > b) - (a < b), True
    except InvalidOperation:
        return (text > right) - (text < right), False


def selects(rules: TableRules, row: Mapping[Any, Any], types: dict[str, ColumnType]) -> tuple[bool, bool]:
    """Whether the filters select ``row`` (filters ANDed, conditions ORed), and whether a text comparison decided."""
    textual = False
    for flt in rules.filters:
        value = row.get(flt.column)
        column = types.get(flt.column)
        any_true = False
        for c in flt.conditions:
            if c.operator == "null":
                hit = value is None
            elif c.operator == "notnull":
                hit = value is not None
            elif value is None:
                hit = False  # a NULL compares false to every value, as in SQL
            elif c.operator in ("between", "notbetween"):
                low, numeric_low = _compare(value, c.start or "", column)
                high, numeric_high = _compare(value, c.end or "", column)
                textual |= not (numeric_low and numeric_high)
                inside = low >= 0 and high <= 0  # FILTERS: "equal to or between two values"
                hit = inside if c.operator == "between" else not inside
            else:
                order, numeric = _compare(value, c.value or "", column)
                textual |= not numeric
                hit = {
                    "eq": order == 0,
                    "noteq": order != 0,
                    "lte": order <= 0,
                    "ste": order <= 0,  # FILTERS: ste is an alias of lte
                    "gte": order >= 0,
                }[c.operator]
            if hit:
                any_true = True
                break
        if not any_true:
            return False, textual
    return True, textual


# --- object mapping ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LobSettings:
    """The task settings that shape LOB values (TargetMetadata)."""

    support_lobs: bool = True
    limited_size: bool = True
    max_kb: int = 32

    @classmethod
    def from_task_settings(cls, settings: dict | str | None) -> LobSettings:
        doc = json.loads(settings) if isinstance(settings, str) else (settings or {})
        meta = doc.get("TargetMetadata") or {}
        return cls(
            bool(meta.get("SupportLobs", True)),
            bool(meta.get("LimitedSizeLobMode", True)) and not meta.get("FullLobMode", False),
            int(meta.get("LobMaxSize", 32)),
        )


def _truncate(text: str, limit_bytes: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit_bytes:
        return text
    return encoded[:limit_bytes].decode("utf-8", errors="ignore")


def _scalar(value: Any, column: ColumnType | None, name: str, outcome: RowOutcome) -> dict | None:
    """A non-excluded column's own attribute, by its DMS type (DDB target type table)."""
    dms_type = column.dms_type if column else _guess_dms_type(value)
    if dms_type in NOT_WRITTEN:
        outcome.findings.append(
            RowFinding(
                "unsupported-type",
                "error",
                name,
                f"column {name} is {dms_type}: DMS writes no binary data "
                "to DynamoDB ('doesn't support LOB data unless it is a CLOB'); exclude it or convert it in a view",
            )
        )
        return None
    if dms_type in UNDOCUMENTED:
        outcome.choices.add("nclob-as-string")
    if dms_type in ("DATE", "DATETIME"):
        outcome.choices.add("datetime-format")
    target = DYNAMODB_TYPE.get(dms_type, "S")  # the undocumented ones (NCLOB, TIME) as strings
    if target == "BOOL":
        return {"BOOL": bool(value)}
    text = dms_text(value, column)
    if target == "N":
        return _number_value(text, name, outcome)
    return {"S": text}


def _guess_dms_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT8"
    if isinstance(value, (Decimal, float)):
        return "NUMERIC"
    if isinstance(value, datetime):
        return "DATETIME"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, (bytes, memoryview)):
        return "BYTES"
    return "WSTRING"


def _number_value(text: str, name: str, outcome: RowOutcome) -> dict | None:
    """``text`` as a DynamoDB Number, or None with the finding DynamoDB's refusal becomes."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        outcome.findings.append(
            RowFinding(
                "not-a-number",
                "error",
                name,
                f"attribute {name} is a number but the value is {text[:40]!r}: "
                "DynamoDB rejects the item (map it as a string)",
            )
        )
        return None
    if not number.is_finite():
        outcome.findings.append(RowFinding("not-a-number", "error", name, f"attribute {name} is {text!r}"))
        return None
    if significant_digits(text) > NUMBER_DIGITS_MAX:
        outcome.findings.append(
            RowFinding(
                "number-too-precise",
                "error",
                name,
                f"attribute {name} has {significant_digits(text)} "
                f"significant digits; DynamoDB keeps 38 and rejects the item (DDB: 'store ... as a String' "
                "through an attribute mapping of sub-type string)",
            )
        )
        return None
    return {"N": number_text(number)}


def _render(
    template: str, row: dict[str, Any], types: dict[str, ColumnType], outcome: RowOutcome, lob: LobSettings
) -> str:
    def one(match: re.Match) -> str:
        column = match.group(1)
        if column not in row:
            outcome.findings.append(
                RowFinding(
                    "missing-column",
                    "error",
                    column,
                    f"a template references ${{{column}}}, which the source object does not have "
                    f"(columns: {', '.join(row)}); fix the mapping spec or the source object",
                )
            )
            return ""
        value = row[column]
        if value is None:
            outcome.choices.add("null-in-template")
            return ""
        column_type = types.get(column)
        text = dms_text(value, column_type)
        if column_type is not None and column_type.dms_type in ("DATE", "DATETIME"):
            outcome.choices.add("datetime-format")
        if column_type is not None and column_type.is_lob:
            text = _lob(text, column, lob, outcome)
        return text

    return TEMPLATE_REF.sub(one, template)


def _lob(text: str, column: str, lob: LobSettings, outcome: RowOutcome) -> str:
    if not lob.limited_size or lob.max_kb <= 0:
        return text
    cut = _truncate(text, lob.max_kb * 1024)
    if cut != text:
        outcome.choices.add("lob-truncation-bytes")
        outcome.findings.append(
            RowFinding(
                "lob-truncated",
                "error",
                column,
                f"column {column} is {len(text.encode()) / 1024:.1f} KB, over "
                f"LobMaxSize {lob.max_kb} KB: DMS truncates it in limited LOB mode (LOB); raise "
                "taskSettings.TargetMetadata.LobMaxSize",
            )
        )
    return cut


def _document(value: Any, row: dict, types: dict, outcome: RowOutcome, lob: LobSettings, name: str = "") -> Any:
    """A dynamodb-map/list value: DynamoDB JSON with templates inside its strings. A Number member whose
    rendered text is no DynamoDB number fails the row (a finding), as DynamoDB refuses that item."""
    if isinstance(value, str):
        return _render(value, row, types, outcome, lob)
    if isinstance(value, dict):
        if set(value) == {"N"} and isinstance(value["N"], str):
            number = _number_value(_render(value["N"], row, types, outcome, lob), name, outcome)
            return number if number is not None else {"NULL": True}  # never written: the row fails
        return {k: _document(v, row, types, outcome, lob, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_document(v, row, types, outcome, lob, name) for v in value]
    return value


def map_row(rules: TableRules, row: dict[str, Any], types: dict[str, ColumnType], lob: LobSettings) -> RowOutcome:
    """The item DMS writes for ``row`` under ``rules``, with every finding and undocumented choice it hit."""
    outcome = RowOutcome(item={})
    columns: dict[str, dict] = {}
    for name, value in row.items():
        if name in rules.exclude or value is None:  # DDB: "NULL data from the source are ignored"
            continue
        column = types.get(name)
        if column is not None and column.is_lob:
            if not lob.support_lobs:
                continue
            value = _lob(dms_text(value, column), name, lob, outcome)
        converted = _scalar(value, column, name, outcome)
        if converted is not None:
            columns[name] = converted
    item: dict[str, dict] = {}
    if rules.action == "map-record-to-document":
        if columns:
            item["_doc"] = {"M": columns}  # DDB: non-excluded columns go into one map attribute '_doc'
    else:
        item.update(columns)
    for attribute in rules.attributes:
        if attribute.kind == "document" and attribute.sub_type.startswith("dynamodb"):
            raw = json.loads(attribute.value) if isinstance(attribute.value, str) else attribute.value
            mapped: dict | None = _document(raw, row, types, outcome, lob, attribute.name)
        elif attribute.kind == "document":
            mapped = {"S": _render(attribute.value, row, types, outcome, lob)}
        else:
            text = _render(str(attribute.value), row, types, outcome, lob)
            if attribute.sub_type == "number":
                mapped = _number_value(text, attribute.name, outcome)
            else:
                mapped = {"S": text}
        if mapped is None:
            continue
        if attribute.name in item and item[attribute.name] != mapped:
            outcome.choices.add("template-overrides-column")
        item[attribute.name] = mapped
    for key in (rules.partition_key, rules.sort_key):
        if not key:
            continue
        found = item.get(key)
        if found is None or found.get("S") == "":
            outcome.findings.append(
                RowFinding(
                    "empty-key",
                    "error",
                    key,
                    f"key attribute {key} is empty or missing: DynamoDB rejects the "
                    "item (a key template over a NULL or empty column)",
                )
            )
    size = item_size(item)
    if size > ITEM_LIMIT_BYTES:
        outcome.findings.append(
            RowFinding(
                "item-too-large",
                "error",
                "",
                f"item is {size:,} bytes, over DynamoDB's 400 KB "
                f"({ITEM_LIMIT_BYTES:,} bytes) by DynamoDB's size formula: the write fails",
            )
        )
    if any(f.level == "error" and f.rule != "lob-truncated" for f in outcome.findings):
        outcome.item = None  # the write fails; DataErrorPolicy decides what happens next
    else:
        outcome.item = item
    return outcome


# --- DynamoDB item size (CapacityUnitCalculations.html) ------------------------------------------
def value_size(value: dict) -> int:
    """Bytes DynamoDB counts for one attribute value."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return math.ceil(significant_digits(inner) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "B":
        return len(inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    return len(json.dumps(inner).encode())


def item_size(item: dict[str, dict]) -> int:
    """Bytes of an item: attribute names (UTF-8) plus values, DynamoDB's formula (not moto's)."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def item_key(item: dict[str, dict], partition_key: str | None, sort_key: str | None) -> tuple:
    """The primary key of an item, for collision checks."""
    return tuple(json.dumps(item.get(k), sort_keys=True) for k in (partition_key, sort_key) if k)


def plain(value: dict) -> Any:
    """A DynamoDB JSON value as Python (S -> str, N -> Decimal, BOOL, M, L)."""
    ((kind, inner),) = value.items()
    if kind == "N":
        return Decimal(inner)
    if kind == "M":
        return {k: plain(v) for k, v in inner.items()}
    if kind == "L":
        return [plain(v) for v in inner]
    if kind == "NULL":
        return None
    return inner
