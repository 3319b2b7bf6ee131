"""Read key ranges back out of DMS table mappings and check they tile the key space.

Self-contained (standard library only) so the pack needs nothing but pulumi-policy.
DMS semantics: conditions inside one filter are ORed; separate filters are ANDed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    """``lower <= key < upper``; ``None`` is unbounded."""

    lower: int | None
    upper: int | None

    def text(self) -> str:
        low = "-inf" if self.lower is None else str(self.lower)
        high = "+inf" if self.upper is None else str(self.upper - 1)
        return f"[{low}..{high}]"


class UnreadableFilter(ValueError):
    """A selection filter this check does not interpret (e.g. ORed conditions)."""


def selected_spans(mappings: dict[str, Any]) -> list[tuple[tuple[str, str], str, Span]]:
    """``((schema, table), key column, span)`` per include-selection rule."""
    found = []
    for rule in mappings.get("rules", []):
        if rule.get("rule-type") != "selection" or rule.get("rule-action") != "include":
            continue
        locator = rule.get("object-locator", {})
        obj = (str(locator.get("schema-name", "")), str(locator.get("table-name", "")))
        filters = [f for f in rule.get("filters", []) if f.get("filter-type", "source") == "source"]
        if not filters:
            found.append((obj, "", Span(None, None)))
            continue
        column = filters[0].get("column-name", "")
        lower: int | None = None
        upper: int | None = None
        for f in filters:
            conditions = f.get("filter-conditions", [])
            if len(conditions) != 1 or f.get("column-name", "") != column:
                raise UnreadableFilter(f"rule {rule.get('rule-name')!r}: several conditions or columns")
            c = conditions[0]
            op = c.get("filter-operator")
            try:
                if op == "between":
                    lo, hi = int(c["start-value"]), int(c["end-value"]) + 1
                elif op == "gte":
                    lo, hi = int(c["value"]), None
                elif op in ("lte", "ste"):
                    lo, hi = None, int(c["value"]) + 1
                elif op == "eq":
                    lo, hi = int(c["value"]), int(c["value"]) + 1
                else:
                    raise UnreadableFilter(f"rule {rule.get('rule-name')!r}: operator {op!r}")
            except (KeyError, ValueError) as err:
                raise UnreadableFilter(f"rule {rule.get('rule-name')!r}: {err}") from None
            lower = lo if lower is None else (lower if lo is None else max(lower, lo))
            upper = hi if upper is None else (upper if hi is None else min(upper, hi))
        found.append((obj, column, Span(lower, upper)))
    return found


def cover_problems(spans: list[Span]) -> list[str]:
    """Gaps, overlaps and uncovered ends among ``spans`` (empty when they tile the key space)."""
    if not spans:
        return ["no partitions"]
    problems = []
    ordered = sorted(spans, key=lambda s: (s.lower is not None, s.lower if s.lower is not None else 0))
    if ordered[0].lower is not None:
        problems.append(f"keys below {ordered[0].lower} are in no task")
    if ordered[-1].upper is not None:
        problems.append(f"keys from {ordered[-1].upper} up are in no task")
    for left, right in zip(ordered, ordered[1:]):
        if left.upper is None or right.lower is None or left.upper > right.lower:
            problems.append(f"ranges {left.text()} and {right.text()} overlap (rows would be loaded twice)")
        elif left.upper < right.lower:
            problems.append(f"keys {left.upper}..{right.lower - 1} are in no task (rows would be skipped)")
    for span in spans:
        if span.lower is not None and span.upper is not None and span.upper <= span.lower:
            problems.append(f"range {span.text()} is empty")
    return problems
