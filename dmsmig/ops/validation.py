"""Evidence that the copy is complete: counts per partition and a sampled deep comparison.

DMS's own data validation does not support DynamoDB targets, so this module produces the
evidence: source rows per key range (SQLAlchemy) against DynamoDB items per range (parallel
segmented ``Scan`` with ``Select=COUNT``), then K sampled source rows per partition mapped with
the same spec that generates the DMS rules and compared attribute by attribute with ``GetItem``.
"""

from __future__ import annotations

import bisect
import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.partitions import KeyRange
from dmsmig.model.dms_semantics import plain
from dmsmig.model.mapping_preview import GroupMapping
from dmsmig.ops.context import OpsContext, source_engine
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.retry import call_naming, call_with_retry
from dmsmig.ops.source_db import count_in_ranges, qualified, quote

DEFAULT_SEGMENTS = 8
# Scan TotalSegments may be up to 1,000,000 (DynamoDB API); beyond 1,000 threads nothing gets faster here.
MAX_SEGMENTS = 1000


# --- DynamoDB counts: one parallel pass over the table, whatever the number of partitions -------------
@dataclass(frozen=True)
class GroupCount:
    """What one task group counts: items matching its filter, bucketed by its key attribute."""

    name: str
    spec: MappingSpec
    ranges: list[KeyRange]
    lowers: list[Decimal] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # computed once: bucket() runs for every item of the table
        object.__setattr__(self, "lowers", [Decimal(r.lower or 0) for r in self.ranges[1:]])

    def bucket(self, item: dict) -> int | None:
        """The partition an item belongs to (None: not this group's item)."""
        validation = self.spec.validation
        assert validation is not None
        flt = validation.item_filter
        if flt is not None and item.get(flt.attribute, {}).get("S") != flt.value:
            return None
        key = item.get(validation.key_attribute, {}).get("N")
        if key is None:
            return None
        return bisect.bisect_right(self.lowers, Decimal(key))


@dataclass
class TableCounts:
    """Items per partition of every counted group, and how many items the pass read."""

    per_group: dict[str, list[int]]
    items_read: int
    table_items: int | None = None
    """DescribeTable ItemCount (DynamoDB refreshes it about every six hours)."""


def _scan_segment(dynamodb: Any, table: str, segment: int, total: int, projection: dict, groups) -> tuple[dict, int]:
    counts = {g.name: [0] * len(g.ranges) for g in groups}
    read, start_key = 0, None
    while True:
        kwargs: dict[str, Any] = {"TableName": table, **projection}
        if total > 1:
            kwargs.update(Segment=segment, TotalSegments=total)
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = call_naming("scanning", f"table {table}", dynamodb.scan, **kwargs)
        read += page.get("ScannedCount", 0)
        for item in page.get("Items", []):
            for group in groups:
                index = group.bucket(item)
                if index is not None:
                    counts[group.name][index] += 1
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return counts, read


def count_partitions(dynamodb: Any, table: str, groups: list[GroupCount], segments: int) -> TableCounts:
    """One parallel scan (``segments`` segments) reading only the key and filter attributes of ``groups``."""
    selectors = {(g.spec.validation.key_attribute, _filter_key(g.spec)) for g in groups if g.spec.validation}
    if len(selectors) < len([g for g in groups if g.spec.validation]):
        shared = ", ".join(g.name for g in groups)
        raise UsageError(
            f"task groups {shared} select the same items (same validation.keyAttribute and itemFilter)",
            "give each mapping spec its own validation.itemFilter value so items can be told apart",
        )
    counted = [g for g in groups if g.spec.validation]
    if not counted:  # no group says how to find its items: nothing to read
        return TableCounts({}, 0, None)
    attributes = sorted({a for g in counted for a in _attributes(g.spec)})
    names = {f"#a{i}": a for i, a in enumerate(attributes)}
    projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
    per_group = {g.name: [0] * len(g.ranges) for g in counted}
    read = 0
    with ThreadPoolExecutor(max_workers=max(1, segments)) as pool:
        futures = [
            pool.submit(_scan_segment, dynamodb, table, s, segments, projection, counted) for s in range(segments)
        ]
        for future in futures:
            counts, scanned = future.result()
            read += scanned
            for name, values in counts.items():
                per_group[name] = [a + b for a, b in zip(per_group[name], values)]
    described = call_with_retry(dynamodb.describe_table, TableName=table)["Table"]
    return TableCounts(per_group, read, described.get("ItemCount"))


def _filter_key(spec: MappingSpec) -> tuple[str, str] | None:
    flt = spec.validation.item_filter if spec.validation else None
    return (flt.attribute, flt.value) if flt else None


def _attributes(spec: MappingSpec) -> list[str]:
    assert spec.validation is not None
    flt = spec.validation.item_filter
    return [spec.validation.key_attribute] + ([flt.attribute] if flt else [])


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


def _same(expected: Any, actual: Any) -> bool:
    """Equal values of the same DynamoDB type (plain values: Decimal numbers compare exactly)."""
    return type(expected) is type(actual) and expected == actual


@dataclass
class SampleFinding:
    key: int
    kind: str  # missing-item, value-mismatch, extra-attribute, missing-attribute, not-written
    attribute: str = ""
    expected: str = ""
    actual: str = ""


def compare_samples(
    dynamodb: Any, table: str, mapping: GroupMapping, key_column: str, rows: list[dict[str, Any]]
) -> list[SampleFinding]:
    """Map ``rows`` as DMS does (:class:`GroupMapping`) and compare each expected item, attribute by
    attribute, with what ``BatchGetItem`` returns; a row whose write DMS would refuse is a finding."""
    findings: list[SampleFinding] = []
    written: list[tuple[int, dict]] = []
    for row in rows:
        outcome = mapping.map(row)
        if outcome.item is None:
            rules = ", ".join(sorted({f.rule for f in outcome.findings}))
            findings.append(SampleFinding(int(row[key_column]), "not-written", expected=rules))
        else:
            written.append((int(row[key_column]), outcome.item))
    key_names = [k for k in (mapping.rules.partition_key, mapping.rules.sort_key) if k]
    found = batch_get(dynamodb, table, [{k: item[k] for k in key_names} for _s, item in written], key_names)
    for source_key, item in written:
        key = {k: item[k] for k in key_names}
        got = found.get(key_id(key))
        if got is None:
            shown = {k: plain(v) for k, v in key.items()}
            findings.append(SampleFinding(source_key, "missing-item", expected=_short(shown)))
            continue
        want = {name: plain(value) for name, value in item.items()}
        actual = {name: plain(value) for name, value in got.items()}
        for name, value in want.items():
            if name not in actual:
                findings.append(SampleFinding(source_key, "missing-attribute", name, _short(value)))
            elif not _same(value, actual[name]):
                findings.append(SampleFinding(source_key, "value-mismatch", name, _short(value), _short(actual[name])))
        for name in sorted(set(actual) - set(want)):
            findings.append(SampleFinding(source_key, "extra-attribute", name, actual=_short(actual[name])))
    return findings


BATCH_GET_MAX = 100  # BatchGetItem: at most 100 keys per request (DynamoDB API)


def key_id(key: dict) -> tuple:
    """A primary key (DynamoDB JSON) as a hashable tuple."""
    return tuple(sorted((name, json.dumps(value, sort_keys=True)) for name, value in key.items()))


def batch_get(dynamodb: Any, table: str, keys: list[dict], key_names: list[str]) -> dict[tuple, dict]:
    """Items for ``keys`` by BatchGetItem (100 per request, consistent reads, unprocessed keys retried)."""
    found: dict[tuple, dict] = {}
    unique = list({key_id(k): k for k in keys}.values())
    for i in range(0, len(unique), BATCH_GET_MAX):
        request: dict[str, Any] = {table: {"Keys": unique[i : i + BATCH_GET_MAX], "ConsistentRead": True}}
        for _attempt in range(10):
            response = call_naming("reading items of", f"table {table}", dynamodb.batch_get_item, RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[key_id({n: item[n] for n in key_names})] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
    return found


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
    mapping: GroupMapping,
    ranges: list[KeyRange],
    task_ids: list[str],
    *,
    target_counts: list[int] | None,
    samples: int = 20,
    seed: int | None = None,
) -> list[PartitionReport]:
    """Source counts against ``target_counts`` (from :func:`count_partitions`) and sampled deep checks."""
    boundaries = [r.lower for r in ranges[1:]]
    source_counts = count_in_ranges(engine, spec.source, spec.key_column, boundaries)  # type: ignore[arg-type]
    rng = random.Random(seed)
    reports = []
    for index, (key_range, task_id, source_rows) in enumerate(zip(ranges, task_ids, source_counts)):
        target = target_counts[index] if target_counts is not None else None
        report = PartitionReport(task_id, key_range.as_output(), source_rows, target)
        if samples:
            rows = fetch_rows(engine, spec, sample_keys(engine, spec, key_range, samples, rng))
            report.samples_checked = len(rows)
            report.findings = compare_samples(dynamodb, table, mapping, spec.key_column, rows)
        reports.append(report)
    return reports


@dataclass
class ValidationRun:
    """Reports per task group, and what the DynamoDB pass cost."""

    groups: dict[str, list[PartitionReport]]
    items_read: int
    table_items: int | None


def selected_groups(ops: OpsContext, group: str | None = None) -> list[tuple[Any, Any, str, list]]:
    """(source, task group, "source/group", exported tasks) of every group, or of ``group``; the outputs
    must hold as many tasks as the config has partitions."""
    cfg, outputs = ops.config.migration, ops.outputs
    selected = []
    for source in cfg.sources:
        for task_group in source.task_groups:
            name = f"{source.name}/{task_group.name}"
            if group and name != group:
                continue
            exported = outputs.task_groups.get(name)
            if exported is None or len(exported) != len(task_group.ranges()):
                raise OpsError(f"stack outputs for {name} do not match the config", "run pulumi up, then validate")
            selected.append((source, task_group, name, exported))
    if group and not selected:
        raise UsageError(f"no task group '{group}'", f"use one of: {', '.join(outputs.task_groups)}")
    return selected


def group_mapping(ops: OpsContext, source: Any, task_group: Any) -> GroupMapping:
    """What DMS writes for ``task_group``'s rows, from the stack's config."""
    cfg = ops.config.migration
    return GroupMapping.build(
        task_group.spec,
        source.engine,
        partition_key=cfg.target.partition_key,
        sort_key=cfg.target.sort_key,
        task_settings=cfg.settings_for(task_group).model_dump(),
        spec_file=f"mappings/{task_group.mapping}.yaml",
    )


def run_validation(
    ops: OpsContext,
    *,
    database_url: str | None,
    from_secret: bool,
    group: str | None = None,
    samples: int = 20,
    segments: int = DEFAULT_SEGMENTS,
    seed: int | None = None,
) -> ValidationRun:
    """Validate every task group (or one) of the stack with one pass over the table."""
    outputs = ops.outputs
    selected = selected_groups(ops, group)
    counts = count_partitions(
        ops.clients.dynamodb,
        outputs.table_name,
        [GroupCount(name, g.spec, g.ranges()) for _s, g, name, _e in selected],
        segments,
    )
    engines: dict[str, Engine] = {}
    results: dict[str, list[PartitionReport]] = {}
    for source, task_group, name, exported in selected:
        if source.name not in engines:
            engines[source.name] = source_engine(ops, source, database_url, from_secret)
        results[name] = validate_group(
            engines[source.name],
            ops.clients.dynamodb,
            outputs.table_name,
            task_group.spec,
            group_mapping(ops, source, task_group),
            task_group.ranges(),
            [t.task_id for t in exported],
            target_counts=counts.per_group.get(name),
            samples=samples,
            seed=seed,
        )
    return ValidationRun(results, counts.items_read, counts.table_items)


def report_json(run: ValidationRun) -> dict:
    """The validation results as JSON: ``ok``, the reports per group, and items read against the table."""
    return {
        "ok": all(r.ok for reports in run.groups.values() for r in reports),
        "groups": {name: [r.as_dict() for r in reports] for name, reports in run.groups.items()},
        "itemsRead": run.items_read,
        "tableItems": run.table_items,
    }
