"""Evidence that the copy is complete: counts per partition and a sampled deep comparison.

DMS's own data validation does not support DynamoDB targets, so this module produces the
evidence: source rows per key range (SQLAlchemy) against DynamoDB items per range (parallel
segmented ``Scan`` with ``Select=COUNT``), then K sampled source rows per partition mapped with
the same spec that generates the DMS rules and compared attribute by attribute with ``GetItem``.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from dmsmig.build.mapping_preview import preview
from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.partitions import KeyRange
from dmsmig.ops.context import OpsContext, source_engine
from dmsmig.ops.errors import OpsError
from dmsmig.ops.retry import call_with_retry
from dmsmig.ops.source_db import count_in_ranges, qualified, quote

DEFAULT_SEGMENTS = 8
# Scan TotalSegments may be up to 1,000,000 (DynamoDB API); beyond 1,000 threads nothing gets faster here.
MAX_SEGMENTS = 1000


# --- DynamoDB counts --------------------------------------------------------------------------
def _range_filter(spec: MappingSpec, key_range: KeyRange) -> tuple[str | None, dict, dict]:
    validation = spec.validation
    if validation is None:
        return None, {}, {}
    parts, names, values = [], {"#k": validation.key_attribute}, {}
    if key_range.lower is not None:
        parts.append("#k >= :lo")
        values[":lo"] = {"N": str(key_range.lower)}
    if key_range.upper is not None:
        parts.append("#k < :hi")
        values[":hi"] = {"N": str(key_range.upper)}
    if not parts:
        parts.append("attribute_exists(#k)")
    if validation.item_filter:
        parts.append("#t = :t")
        names["#t"] = validation.item_filter.attribute
        values[":t"] = {"S": validation.item_filter.value}
    return " AND ".join(parts), names, values


def count_segment(dynamodb: Any, table: str, segment: int, total: int, filter_args: dict) -> int:
    """Items matching the filter in one scan segment (all pages, throttling retried)."""
    count, start_key = 0, None
    while True:
        kwargs = {"TableName": table, "Select": "COUNT", **filter_args}
        if total > 1:
            kwargs.update(Segment=segment, TotalSegments=total)
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = call_with_retry(dynamodb.scan, **kwargs)
        count += page["Count"]
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return count


def count_items(dynamodb: Any, table: str, spec: MappingSpec, key_range: KeyRange, segments: int) -> int:
    """DynamoDB items of ``spec`` in ``key_range``: ``segments`` parallel scan segments, summed."""
    expression, names, values = _range_filter(spec, key_range)
    filter_args: dict[str, Any] = {}
    if expression:
        filter_args = {"FilterExpression": expression, "ExpressionAttributeNames": names}
        if values:
            filter_args["ExpressionAttributeValues"] = values
    if segments <= 1:
        return count_segment(dynamodb, table, 0, 1, filter_args)
    with ThreadPoolExecutor(max_workers=segments) as pool:
        futures = [pool.submit(count_segment, dynamodb, table, s, segments, filter_args) for s in range(segments)]
        return sum(f.result() for f in futures)


# --- sampled deep check -----------------------------------------------------------------------
def sample_keys(engine: Engine, spec: MappingSpec, key_range: KeyRange, k: int, rng: random.Random) -> list[int]:
    """Up to ``k`` distinct existing keys in the range: the first key at or after random points.

    Portable across dialects and index-friendly (no ORDER BY RANDOM over the whole range).
    """
    col = quote(engine, spec.key_column)
    obj = qualified(engine, spec.source)
    bounds_sql = f"SELECT MIN({col}), MAX({col}) FROM {obj} WHERE 1=1"
    params: dict[str, int] = {}
    if key_range.lower is not None:
        bounds_sql += f" AND {col} >= :lo"
        params["lo"] = key_range.lower
    if key_range.upper is not None:
        bounds_sql += f" AND {col} < :hi"
        params["hi"] = key_range.upper
    with engine.connect() as conn:
        lo, hi = conn.execute(text(bounds_sql), params).one()
        if lo is None:
            return []
        keys: set[int] = set()
        for _ in range(k * 3):
            if len(keys) >= k:
                break
            point = rng.randint(int(lo), int(hi))
            found = conn.execute(
                text(f"SELECT MIN({col}) FROM {obj} WHERE {col} >= :p AND {col} <= :hi"), {"p": point, "hi": int(hi)}
            ).scalar()
            if found is not None:
                keys.add(int(found))
    return sorted(keys)


def fetch_rows(engine: Engine, spec: MappingSpec, keys: list[int]) -> list[dict[str, Any]]:
    if not keys:
        return []
    col = quote(engine, spec.key_column)
    binds = ", ".join(f":k{i}" for i in range(len(keys)))
    sql = text(f"SELECT * FROM {qualified(engine, spec.source)} WHERE {col} IN ({binds})")
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sql, {f"k{i}": k for i, k in enumerate(keys)})]


def _plain(value: dict) -> Any:
    """A DynamoDB attribute value as Python (S -> str, N -> Decimal)."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        return Decimal(value["N"])
    if "BOOL" in value:
        return value["BOOL"]
    if "NULL" in value:
        return None
    return value


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Decimal) or isinstance(actual, Decimal):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except Exception:  # noqa: BLE001 - not numbers: compare as text below
            pass
    return str(expected) == str(actual)


@dataclass
class SampleFinding:
    key: int
    kind: str  # missing-item, value-mismatch, extra-attribute, missing-attribute
    attribute: str = ""
    expected: str = ""
    actual: str = ""


def compare_samples(
    dynamodb: Any,
    table: str,
    spec: MappingSpec,
    rows: list[dict[str, Any]],
    *,
    partition_key: str,
    sort_key: str | None,
) -> list[SampleFinding]:
    """Map ``rows`` with the spec and compare each expected item with what ``GetItem`` returns."""
    expected = preview(spec, rows, partition_key=partition_key, sort_key=sort_key, lob_max_kb=400).items
    findings: list[SampleFinding] = []
    for row, item in zip(rows, expected):
        source_key = int(row[spec.key_column])
        key = {partition_key: {"S": str(item[partition_key])}}
        if sort_key:
            key[sort_key] = {"S": str(item[sort_key])}
        got = call_with_retry(dynamodb.get_item, TableName=table, Key=key, ConsistentRead=True).get("Item")
        if got is None:
            findings.append(SampleFinding(source_key, "missing-item", expected=str(key)))
            continue
        actual = {name: _plain(value) for name, value in got.items()}
        for name, value in item.items():
            if name not in actual:
                findings.append(SampleFinding(source_key, "missing-attribute", name, _short(value)))
            elif not _same(value, actual[name]):
                findings.append(SampleFinding(source_key, "value-mismatch", name, _short(value), _short(actual[name])))
        for name in sorted(set(actual) - set(item)):
            findings.append(SampleFinding(source_key, "extra-attribute", name, actual=_short(actual[name])))
    return findings


def _short(value: Any, limit: int = 60) -> str:
    text_ = str(value)
    return text_ if len(text_) <= limit else f"{text_[:limit]}... ({len(text_)} chars)"


# --- report -----------------------------------------------------------------------------------
@dataclass
class PartitionReport:
    task_id: str
    range: dict[str, int | None]
    source_rows: int
    target_items: int | None
    samples_checked: int = 0
    findings: list[SampleFinding] = field(default_factory=list)

    @property
    def difference(self) -> int | None:
        return None if self.target_items is None else self.target_items - self.source_rows

    @property
    def ok(self) -> bool:
        return self.difference == 0 and not self.findings

    @property
    def verdict(self) -> str:
        if self.target_items is None:
            return "no key attribute: counts not comparable"
        if self.difference and self.difference < 0:
            return f"MISSING {-self.difference}"
        if self.difference:
            return f"EXTRA {self.difference}"
        return "ok" if not self.findings else f"{len(self.findings)} sample finding(s)"

    def as_dict(self) -> dict:
        return {
            "task": self.task_id,
            "range": self.range,
            "sourceRows": self.source_rows,
            "targetItems": self.target_items,
            "difference": self.difference,
            "samplesChecked": self.samples_checked,
            "verdict": self.verdict,
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
        }


def validate_group(
    engine: Engine,
    dynamodb: Any,
    table: str,
    spec: MappingSpec,
    ranges: list[KeyRange],
    task_ids: list[str],
    *,
    partition_key: str,
    sort_key: str | None,
    samples: int = 20,
    segments: int = DEFAULT_SEGMENTS,
    seed: int | None = None,
) -> list[PartitionReport]:
    """Counts per partition and ``samples`` deep-checked rows per partition."""
    boundaries = [r.lower for r in ranges[1:]]
    source_counts = count_in_ranges(engine, spec.source, spec.key_column, boundaries)  # type: ignore[arg-type]
    rng = random.Random(seed)
    reports = []
    for key_range, task_id, source_rows in zip(ranges, task_ids, source_counts):
        target = count_items(dynamodb, table, spec, key_range, segments) if spec.validation else None
        report = PartitionReport(task_id, key_range.as_output(), source_rows, target)
        if samples:
            rows = fetch_rows(engine, spec, sample_keys(engine, spec, key_range, samples, rng))
            report.samples_checked = len(rows)
            report.findings = compare_samples(
                dynamodb, table, spec, rows, partition_key=partition_key, sort_key=sort_key
            )
        reports.append(report)
    return reports


def run_validation(
    ops: OpsContext,
    *,
    database_url: str | None,
    from_secret: bool,
    group: str | None = None,
    samples: int = 20,
    segments: int = DEFAULT_SEGMENTS,
    seed: int | None = None,
) -> dict[str, list[PartitionReport]]:
    """Validate every task group (or one) of the stack; keyed by ``source/group``."""
    cfg, outputs = ops.config.migration, ops.outputs
    results: dict[str, list[PartitionReport]] = {}
    for source in cfg.sources:
        engine = None
        for task_group in source.task_groups:
            name = f"{source.name}/{task_group.name}"
            if group and name != group:
                continue
            exported = outputs.task_groups.get(name)
            ranges = task_group.ranges()
            if exported is None or len(exported) != len(ranges):
                raise OpsError(f"stack outputs for {name} do not match the config", "run pulumi up, then validate")
            engine = engine or source_engine(ops, source, database_url, from_secret)
            results[name] = validate_group(
                engine,
                ops.clients.dynamodb,
                outputs.table_name,
                task_group.spec,
                ranges,
                [t.task_id for t in exported],
                partition_key=cfg.target.partition_key,
                sort_key=cfg.target.sort_key,
                samples=samples,
                segments=segments,
                seed=seed,
            )
    if group and not results:
        raise OpsError(f"no task group '{group}'", f"use one of: {', '.join(outputs.task_groups)}")
    return results


def report_json(results: dict[str, list[PartitionReport]]) -> dict:
    """The validation results as JSON: ``ok`` and the reports per group."""
    return {
        "ok": all(r.ok for reports in results.values() for r in reports),
        "groups": {name: [r.as_dict() for r in reports] for name, reports in results.items()},
    }
