"""Apply a mapping spec to sample rows the way DMS map-record-to-record does, and lint the result.

DMS semantics reproduced here: every source column that is not excluded is written as an
attribute of the same name; each attribute mapping then sets its target attribute from its
template (``${Col}`` replaced by the column's value). PutItem overwrites silently, so two rows
with the same key lose data without an error: the collision lint catches that before a load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from dmsmig.config.mapping_spec import TEMPLATE_REF, MappingSpec

ITEM_LIMIT_BYTES = 400 * 1024


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
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def render(template: str, row: dict[str, Any]) -> tuple[str, list[str]]:
    """The template with columns substituted, and the referenced columns missing from ``row``."""
    missing = [c for c in TEMPLATE_REF.findall(template) if c not in row]
    return TEMPLATE_REF.sub(lambda m: _text(row.get(m.group(1))), template), missing


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB item size: UTF-8 names plus values (numbers ~ 1 byte per 2 digits + 1)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, Decimal):
            size += len(str(value).lstrip("-").replace(".", "")) // 2 + 2
        else:
            size += len(_text(value).encode())
    return size


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or len(number.as_tuple().digits) > 38:
        return None
    return number


def preview(
    spec: MappingSpec,
    rows: list[dict[str, Any]],
    *,
    partition_key: str,
    sort_key: str | None,
    lob_max_kb: int,
) -> Preview:
    """Items DMS would write for ``rows``, with every lint finding."""
    result = Preview()
    keys = [k for k in (partition_key, sort_key) if k]
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        item: dict[str, Any] = {c: v for c, v in row.items() if c not in spec.exclude_columns and v is not None}
        for attribute in spec.attributes:
            value, missing = render(attribute.value, row)
            for column in missing:
                result.findings.append(
                    Finding(
                        "error",
                        "missing-column",
                        index,
                        f"attribute {attribute.name} references ${{{column}}}, "
                        f"which the row does not have (columns: {', '.join(row)})",
                    )
                )
            if attribute.type == "number":
                number = _number(value)
                if number is None:
                    result.findings.append(
                        Finding(
                            "error",
                            "bad-type",
                            index,
                            f"attribute {attribute.name} is a number but the value is "
                            f"{value!r}; DynamoDB rejects it (fix the view or map it as a string)",
                        )
                    )
                    item[attribute.name] = value
                else:
                    item[attribute.name] = number
            else:
                item[attribute.name] = value
        for key in keys:
            if item.get(key) in (None, ""):
                result.findings.append(
                    Finding("error", "empty-key", index, f"key attribute {key} is empty; DynamoDB rejects the item")
                )
        key_value = tuple(_text(item.get(k)) for k in keys)
        if key_value in seen:
            result.findings.append(
                Finding(
                    "error",
                    "key-collision",
                    index,
                    f"rows {seen[key_value]} and {index} both map to "
                    f"{dict(zip(keys, key_value))}; PutItem keeps only the last one",
                )
            )
        else:
            seen[key_value] = index
        for column in spec.lob_columns:
            length = len(_text(row.get(column)).encode())
            if length > lob_max_kb * 1024:
                result.findings.append(
                    Finding(
                        "error",
                        "lob-truncated",
                        index,
                        f"column {column} is {length / 1024:.1f} KB, over "
                        f"LobMaxSize {lob_max_kb} KB: DMS truncates it (raise TargetMetadata.LobMaxSize)",
                    )
                )
        size = item_size(item)
        if size > ITEM_LIMIT_BYTES:
            result.findings.append(
                Finding("error", "item-too-large", index, f"item is {size / 1024:.0f} KB, over DynamoDB's 400 KB limit")
            )
        result.items.append(item)
    return result


def items_as_json(items: list[dict[str, Any]]) -> str:
    """Items as JSON with numbers kept exact."""
    return json.dumps(items, indent=2, default=lambda v: str(v) if isinstance(v, Decimal) else _text(v))
