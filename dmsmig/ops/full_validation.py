"""``validate --full``: every item compared, each side read once, the differing keys named.

The best ideas of DMS data validation, Google's DVT and pt-table-checksum, for a DynamoDB target:

- **Source**: per partition, rows stream in key order through a server-side cursor; each is mapped to
  the item DMS writes by the interpreter the rehearsal executes (:class:`GroupMapping`) and reduced
  to a 128-bit digest of its canonical form (:mod:`dmsmig.model.item_digest`).
- **DynamoDB**: one parallel Scan of the table, all attributes; each item of a task group (its
  ``validation.itemFilter``) is digested the same way and bucketed by ``validation.keyAttribute``.
- Both sides add their digests into per-chunk sums (order-independent, so shards add up) and spill
  ``(key, digest)`` to a SQLite file on disk as they go: memory holds the sums, not the table.
- Only chunks whose sums differ are examined key by key from the spill. Differences are reported in
  DMS's vocabulary: MISSING_TARGET, EXTRA_ITEM, RECORD_DIFF; only RECORD_DIFF items are fetched whole
  (BatchGetItem) and re-mapped from their source rows, for the attribute names (values only with
  ``show_values``: they may be personal data). Up to ``max_failures`` are listed; all are counted.
- While CDC runs, ``recheck_seconds`` reads the differing keys again on both sides after a pause and
  reports only differences that persist.
- ``Shard(i, N)`` runs a subset (partitions ``p`` with ``p mod N = i-1``, scan segments likewise)
  into a result file; :func:`compare_shards` adds the shards' sums and spills. One machine runs
  shard 1/1.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.partitions import KeyRange
from dmsmig.model.dms_semantics import plain
from dmsmig.model.item_digest import ChunkSum, chunk_of, digest
from dmsmig.model.mapping_preview import GroupMapping
from dmsmig.ops.errors import UsageError
from dmsmig.ops.retry import call_naming
from dmsmig.ops.source_db import qualified, quote
from dmsmig.ops.validation import GroupCount, batch_get, fetch_rows, key_id

FORMAT = 1
FETCH_ROWS = 2000
SPILL_BATCH = 5000
DEFAULT_MAX_FAILURES = 10_000  # DMS validation's FailureMaxCount default (CHAP_Validating.html)
MISSING_TARGET, EXTRA_ITEM, RECORD_DIFF = "MISSING_TARGET", "EXTRA_ITEM", "RECORD_DIFF"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``total`` (1-based): the partitions and scan segments it takes."""

    index: int = 1
    total: int = 1

    @classmethod
    def parse(cls, value: str) -> Shard:
        try:
            index, total = (int(x) for x in value.split("/"))
        except ValueError:
            raise UsageError(f"--shard {value!r} is not i/N", "e.g. --shard 2/8 (the second of eight)") from None
        if not 1 <= index <= total <= 10_000:
            raise UsageError(f"--shard {value}: i must be 1..N and N at most 10,000", "e.g. --shard 2/8")
        return cls(index, total)

    def takes(self, n: int) -> bool:
        return n % self.total == self.index - 1


@dataclass
class GroupPlan:
    """One task group as the full validation reads it."""

    name: str
    spec: MappingSpec
    mapping: GroupMapping
    ranges: list[KeyRange]
    task_ids: list[str]

    @property
    def counter(self) -> GroupCount:
        return GroupCount(self.name, self.spec, self.ranges)


def range_statement(dialect: Any, spec: MappingSpec, key_range: KeyRange) -> tuple[Any, dict]:
    """One partition's rows in key order (compiled by tests for every engine the config accepts)."""
    col = quote(dialect, spec.key_column)
    clauses, params = [f"{col} IS NOT NULL"], {}
    if key_range.lower is not None:
        clauses.append(f"{col} >= :lo")
        params["lo"] = key_range.lower
    if key_range.upper is not None:
        clauses.append(f"{col} < :hi")
        params["hi"] = key_range.upper
    sql = f"SELECT * FROM {qualified(dialect, spec.source)} WHERE {' AND '.join(clauses)} ORDER BY {col}"
    return text(sql), params


# --- one shard's result on disk ---------------------------------------------------------------------
class ShardStore:
    """A shard's result (SQLite): what it covered, its chunk sums, and every key digest it spilled."""

    def __init__(self, path: Path, *, create: bool = False):
        self.path = path
        if create:
            path.unlink(missing_ok=True)
        elif not path.is_file():
            raise UsageError(f"shard result {path} does not exist", "pass the files `validate --full --out` wrote")
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.lock = threading.Lock()
        if create:
            self.db.executescript(
                """
                PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
                CREATE TABLE meta (doc TEXT NOT NULL);
                CREATE TABLE sums (side TEXT, g TEXT, p INT, c INT, n INT, total TEXT);
                CREATE TABLE src (g TEXT, p INT, c INT, k INT, d BLOB, why TEXT);
                CREATE TABLE tgt (g TEXT, p INT, c INT, k INT, d BLOB, pk TEXT);
                """
            )
        else:
            try:
                self.meta = json.loads(self.db.execute("SELECT doc FROM meta").fetchone()[0])
            except (sqlite3.DatabaseError, TypeError, json.JSONDecodeError):
                raise UsageError(
                    f"{path} is not a shard result of `validate --full`", "pass the files `--out` wrote"
                ) from None

    def spill(self, table: str, rows: list[tuple]) -> None:
        with self.lock:
            self.db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", rows)

    def finish(self, meta: dict, sums: dict[tuple[str, str, int, int], ChunkSum]) -> None:
        self.db.execute("INSERT INTO meta VALUES (?)", (json.dumps(meta),))
        self.db.executemany(
            "INSERT INTO sums VALUES (?, ?, ?, ?, ?, ?)",
            [(side, g, p, c, s.count, format(s.total, "x")) for (side, g, p, c), s in sums.items()],
        )
        self.db.execute("CREATE INDEX src_chunk ON src (g, p, c)")
        self.db.execute("CREATE INDEX tgt_chunk ON tgt (g, p, c)")
        self.db.commit()

    def sums(self) -> Iterator[tuple[tuple[str, str, int, int], ChunkSum]]:
        for side, g, p, c, n, total in self.db.execute("SELECT * FROM sums"):
            yield (side, g, p, c), ChunkSum(n, int(total, 16))

    def keys(self, table: str, g: str, p: int, c: int) -> list[tuple]:
        return self.db.execute(
            f"SELECT k, d, {'why' if table == 'src' else 'pk'} FROM {table} WHERE g=? AND p=? AND c=?", (g, p, c)
        ).fetchall()  # noqa: E501

    def close(self) -> None:
        self.db.close()


# --- the two passes -------------------------------------------------------------------------------
NOT_WRITTEN = "__not_written__"


def _not_written(rules: str) -> dict:
    """The stand-in item of a row DMS refuses: never equal to an item a Scan returns."""
    return {NOT_WRITTEN: {"S": rules}}


def source_pass(
    engine: Engine, group: GroupPlan, partitions: list[int], store: ShardStore, sums: dict
) -> dict[int, int]:
    """Stream each partition's rows in key order, map, digest, sum and spill; rows per partition."""
    rows_seen: dict[int, int] = {}
    for p in partitions:
        sql, params = range_statement(engine, group.spec, group.ranges[p])
        pending: list[tuple] = []
        seen = 0
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(sql, params)
            for row in result.mappings():
                key = int(row[group.spec.key_column])
                outcome = group.mapping.map(dict(row))
                why = None
                if outcome.item is None:
                    why = ", ".join(sorted({f.rule for f in outcome.findings}))
                    d = digest(_not_written(why))
                else:
                    d = digest(outcome.item)
                c = chunk_of(key)
                sums[("src", group.name, p, c)].add(d)
                pending.append((group.name, p, c, key, d.to_bytes(16, "big"), why))
                seen += 1
                if len(pending) >= SPILL_BATCH:
                    store.spill("src", pending)
                    pending = []
        store.spill("src", pending)
        rows_seen[p] = seen
    return rows_seen


def _integral(value: dict | None) -> int | None:
    try:
        number = Decimal((value or {}).get("N", ""))
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() else None


@dataclass
class TargetCounts:
    items_read: int = 0
    unkeyed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Items of a group (its item filter matches) without an integral key attribute."""


def target_pass(
    dynamodb: Any,
    table: str,
    groups: list[GroupPlan],
    segments: list[int],
    total_segments: int,
    store: ShardStore,
    sums: dict,
    key_names: list[str],
) -> TargetCounts:
    """Scan ``segments`` of ``total_segments`` (all attributes); digest, sum and spill each group's items."""
    counts = TargetCounts()
    lock = threading.Lock()
    counters = [(g, g.counter) for g in groups]

    def one_segment(segment: int) -> None:
        start_key = None
        while True:
            kwargs: dict[str, Any] = {"TableName": table}
            if total_segments > 1:
                kwargs.update(Segment=segment, TotalSegments=total_segments)
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            page = call_naming("scanning", f"table {table}", dynamodb.scan, **kwargs)
            spilled, local = [], []
            for item in page.get("Items", []):
                for group, counter in counters:
                    validation = group.spec.validation
                    assert validation is not None
                    flt = validation.item_filter
                    if flt is not None and item.get(flt.attribute, {}).get("S") != flt.value:
                        continue
                    key = _integral(item.get(validation.key_attribute))
                    if key is None:
                        local.append(group.name)
                        continue
                    p = counter.bucket(item)
                    assert p is not None
                    d = digest(item)
                    c = chunk_of(key)
                    pk = json.dumps({k: item[k] for k in key_names if k in item}, sort_keys=True)
                    spilled.append(((group.name, p, c), d, (group.name, p, c, key, d.to_bytes(16, "big"), pk)))
            with lock:
                counts.items_read += page.get("ScannedCount", 0)
                for name in local:
                    counts.unkeyed[name] += 1
                for where, d, _row in spilled:
                    sums[("tgt", *where)].add(d)
            store.spill("tgt", [row for _w, _d, row in spilled])
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return

    with ThreadPoolExecutor(max_workers=max(1, min(len(segments), 32))) as pool:
        for future in [pool.submit(one_segment, s) for s in segments]:
            future.result()
    return counts


def run_shard(
    engine_for: Any,
    dynamodb: Any,
    table: str,
    groups: list[GroupPlan],
    shard: Shard,
    out: Path,
    *,
    key_names: list[str],
    segments: int,
    identity: dict,
) -> Path:
    """Run shard ``shard`` of the full validation into ``out`` (a SQLite file)."""
    if segments % shard.total and shard.total > 1:
        segments = max(segments, shard.total)
    store = ShardStore(out, create=True)
    sums: dict = defaultdict(ChunkSum)
    started = time.monotonic()
    flat = [(g, p) for g in groups for p in range(len(g.ranges))]
    mine: dict[str, list[int]] = defaultdict(list)
    for n, (g, p) in enumerate(flat):
        if shard.takes(n):
            mine[g.name].append(p)
    rows: dict[str, dict[int, int]] = {}
    for g in groups:
        rows[g.name] = source_pass(engine_for(g), g, mine[g.name], store, sums) if mine[g.name] else {}
    scan_segments = [s for s in range(segments) if shard.takes(s)]
    counts = target_pass(dynamodb, table, groups, scan_segments, segments, store, sums, key_names)
    meta = {
        "format": FORMAT,
        "identity": identity,
        "shard": [shard.index, shard.total],
        "segments": segments,
        "groups": {g.name: len(g.ranges) for g in groups},
        "partitions": {name: sorted(ps) for name, ps in mine.items()},
        "sourceRows": {name: {str(p): n for p, n in r.items()} for name, r in rows.items()},
        "itemsRead": counts.items_read,
        "unkeyed": dict(counts.unkeyed),
        "seconds": round(time.monotonic() - started, 2),
    }
    store.finish(meta, sums)
    store.close()
    return out


# --- comparing shards ------------------------------------------------------------------------------
@dataclass
class Failure:
    kind: str
    group: str
    task: str
    key: int
    attributes: list[str] = field(default_factory=list)
    reason: str = ""
    values: dict[str, Any] | None = None
    primary_key: str = ""

    def as_dict(self, show_values: bool) -> dict:
        doc: dict[str, Any] = {"kind": self.kind, "group": self.group, "task": self.task, "key": self.key}
        if self.attributes:
            doc["attributes"] = self.attributes
        if self.reason:
            doc["reason"] = self.reason
        if show_values and self.values is not None:
            doc["values"] = self.values
        return doc


@dataclass
class PartitionResult:
    task: str
    range: dict
    source_rows: int = 0
    target_items: int = 0
    chunks_differing: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {MISSING_TARGET: 0, EXTRA_ITEM: 0, RECORD_DIFF: 0})

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "range": self.range,
            "sourceRows": self.source_rows,
            "targetItems": self.target_items,
            "chunksDiffering": self.chunks_differing,
            "missingTarget": self.counts[MISSING_TARGET],
            "extraItems": self.counts[EXTRA_ITEM],
            "recordDiffs": self.counts[RECORD_DIFF],
            "ok": self.ok,
            "verdict": "ok" if self.ok else ", ".join(f"{k} {n}" for k, n in self.counts.items() if n),
        }


@dataclass
class FullComparison:
    groups: dict[str, list[PartitionResult]]
    failures: list[Failure]
    failure_count: int
    items_read: int
    batch_get_items: int = 0
    unkeyed: dict[str, int] = field(default_factory=dict)
    shards: int = 1
    rechecked: bool = False

    @property
    def ok(self) -> bool:
        return self.failure_count == 0 and not any(self.unkeyed.values())

    def as_json(self, show_values: bool = False, table_items: int | None = None) -> dict:
        return {
            "mode": "full",
            "ok": self.ok,
            "groups": {name: [r.as_dict() for r in results] for name, results in self.groups.items()},
            "failureCount": self.failure_count,
            "failures": [f.as_dict(show_values) for f in self.failures],
            "itemsWithoutKey": self.unkeyed,
            "itemsRead": {"scan": self.items_read, "batchGet": self.batch_get_items},
            "tableItems": table_items,
            "shards": self.shards,
            "rechecked": self.rechecked,
        }


def _whose(identity: dict) -> str:
    where = ", ".join(f"{k} {identity[k]}" for k in ("project", "region", "account") if identity.get(k))
    return f"stack {identity.get('stack')}" + (f" ({where})" if where else "")


def _open_shards(paths: list[Path]) -> list[ShardStore]:
    stores = [ShardStore(p) for p in paths]
    first = stores[0].meta
    total = first["shard"][1]
    for store in stores:
        if store.meta.get("format") != FORMAT:
            raise UsageError(f"{store.path} is from another version of validate --full", "run the shards again")
        if store.meta["identity"] != first["identity"] or store.meta["groups"] != first["groups"]:
            raise UsageError(
                f"{store.path} validated {store.meta['identity']}, not {first['identity']}",
                "merge the shards of one run of one stack",
            )
        if store.meta["shard"][1] != total or store.meta["segments"] != first["segments"]:
            raise UsageError(f"{store.path} is a shard of another split", "merge the shards of one run")
    have = sorted(s.meta["shard"][0] for s in stores)
    if have != list(range(1, total + 1)):
        missing = sorted(set(range(1, total + 1)) - set(have))
        twice = sorted({i for i in have if have.count(i) > 1})
        problem = f"missing shard(s) {', '.join(f'{i}/{total}' for i in missing)}" if missing else ""
        problem += ("; " if problem and twice else "") + (f"shard(s) given twice: {twice}" if twice else "")
        raise UsageError(f"cannot merge: {problem}", "pass every shard's result file once")
    return stores


def _match(src: list[tuple], tgt: list[tuple]) -> Iterator[tuple[str, tuple | None, tuple | None]]:
    """Pair one key's source rows and items: equal digests cancel, the rest are differences."""
    tgt_left = list(tgt)
    src_left = []
    for s in src:
        hit = next((i for i, t in enumerate(tgt_left) if t[1] == s[1]), None)
        if hit is None:
            src_left.append(s)
        else:
            tgt_left.pop(hit)
    for s in src_left:
        if tgt_left and s[2] is None:  # a written row and an item that differs from it
            yield RECORD_DIFF, s, tgt_left.pop(0)
        else:
            yield MISSING_TARGET, s, None
    for t in tgt_left:
        yield EXTRA_ITEM, None, t


def compare_shards(
    paths: list[Path], groups: list[GroupPlan], max_failures: int, identity: dict | None = None
) -> FullComparison:
    """Add the shards' chunk sums, examine the chunks that differ key by key, and classify. With
    ``identity`` (the stack being validated), shards another stack wrote are refused."""
    stores = _open_shards(paths)
    try:
        recorded = stores[0].meta["identity"]
        if identity is not None and recorded != identity:
            raise UsageError(
                f"{stores[0].path} holds a validation of {_whose(recorded)}, not of {_whose(identity)}",
                f"merge the shard files of {_whose(identity)}, or pass --stack {recorded.get('stack')}",
            )
        ran = stores[0].meta["groups"]
        unknown = sorted(set(ran) - {g.name for g in groups})
        if unknown:
            raise UsageError(
                f"the shards validated {', '.join(unknown)}, which this stack does not have",
                "merge with the stack the shards ran on",
            )
        groups = [g for g in groups if g.name in ran]
        sums: dict[tuple, ChunkSum] = defaultdict(ChunkSum)
        for store in stores:
            for where, chunk in store.sums():
                sums[where].merge(chunk)
        by_name = {g.name: g for g in groups}
        results = {
            g.name: [PartitionResult(g.task_ids[i], r.as_output()) for i, r in enumerate(g.ranges)] for g in groups
        }
        chunks = {(g, p, c) for (_side, g, p, c) in sums}
        failures: list[Failure] = []
        failure_count = 0
        for g, p, c in sorted(chunks):
            src, tgt = sums.get(("src", g, p, c), ChunkSum()), sums.get(("tgt", g, p, c), ChunkSum())
            result = results[g][p]
            result.source_rows += src.count
            result.target_items += tgt.count
            if (src.count, src.total) == (tgt.count, tgt.total):
                continue
            result.chunks_differing += 1
            src_keys: dict[int, list] = defaultdict(list)
            tgt_keys: dict[int, list] = defaultdict(list)
            for store in stores:
                for row in store.keys("src", g, p, c):
                    src_keys[row[0]].append(row)
                for row in store.keys("tgt", g, p, c):
                    tgt_keys[row[0]].append(row)
            for key in sorted(set(src_keys) | set(tgt_keys)):
                for kind, s, t in _match(src_keys.get(key, []), tgt_keys.get(key, [])):
                    result.counts[kind] += 1
                    failure_count += 1
                    if len(failures) < max_failures:
                        reason = f"DMS refuses this row's item ({s[2]})" if s is not None and s[2] else ""
                        failures.append(
                            Failure(kind, g, by_name[g].task_ids[p], key, reason=reason, primary_key=t[2] if t else "")
                        )
        unkeyed: dict[str, int] = defaultdict(int)
        for store in stores:
            for name, n in store.meta.get("unkeyed", {}).items():
                unkeyed[name] += n
        return FullComparison(
            results,
            failures,
            failure_count,
            sum(s.meta["itemsRead"] for s in stores),
            unkeyed=dict(unkeyed),
            shards=len(stores),
        )
    finally:
        for store in stores:
            store.close()


# --- detail and recheck ------------------------------------------------------------------------------
def _source_items(engine: Engine, group: GroupPlan, keys: list[int]) -> dict[int, dict]:
    """The item DMS writes for each key's row now (a marker for a row DMS refuses); deleted rows absent."""
    found: dict[int, dict] = {}
    for i in range(0, len(keys), 500):
        for row in fetch_rows(engine, group.spec, keys[i : i + 500]):
            outcome = group.mapping.map(row)
            rules = ", ".join(sorted({f.rule for f in outcome.findings}))
            found[int(row[group.spec.key_column])] = outcome.item if outcome.item is not None else _not_written(rules)
    return found


def _diff(want: dict, got: dict) -> tuple[list[str], dict]:
    names, values = [], {}
    for name in sorted(set(want) | set(got)):
        a = plain(want[name]) if name in want else None
        b = plain(got[name]) if name in got else None
        if name not in want or name not in got or type(a) is not type(b) or a != b:
            names.append(name)
            values[name] = {
                "expected": None if a is None else str(a)[:200],
                "actual": None if b is None else str(b)[:200],
            }
    return names, values


def _consistent(want: dict | None, item: dict | None) -> bool:
    if want is None or item is None:
        return want is None and item is None
    return digest(want) == digest(item)


def explain_and_recheck(
    comparison: FullComparison,
    groups: list[GroupPlan],
    engine_for: Any,
    dynamodb: Any,
    table: str,
    recheck_seconds: float = 0,
    sleep: Any = None,
) -> None:
    """Name the differing attributes of each listed RECORD_DIFF (its item by BatchGetItem, its source row
    re-mapped). With ``recheck_seconds``, read every listed key again on both sides after the pause and
    drop the differences that no longer hold (CDC caught up, or the row was deleted meanwhile)."""
    if not comparison.failures:
        return
    if recheck_seconds:
        (sleep or time.sleep)(recheck_seconds)
        comparison.rechecked = True
    kept: list[Failure] = []
    for group in groups:
        listed = [f for f in comparison.failures if f.group == group.name]
        if not listed:
            continue
        key_names = [k for k in (group.mapping.rules.partition_key, group.mapping.rules.sort_key) if k]
        again = [f for f in listed if f.kind == RECORD_DIFF or comparison.rechecked]
        source = _source_items(engine_for(group), group, sorted({f.key for f in again})) if again else {}
        primary: dict[int, dict | None] = {}
        for n, f in enumerate(again):
            want = source.get(f.key)
            if f.primary_key:
                primary[n] = json.loads(f.primary_key)
            elif want is not None and NOT_WRITTEN not in want:
                primary[n] = {k: want[k] for k in key_names}
            else:
                primary[n] = None
        keys = [k for k in primary.values() if k is not None]
        got = batch_get(dynamodb, table, keys, key_names) if keys else {}
        comparison.batch_get_items += len(keys)
        for n, f in enumerate(again):
            pk = primary[n]
            want, item = source.get(f.key), (got.get(key_id(pk)) if pk is not None else None)
            if comparison.rechecked and _consistent(want, item):
                _uncount(comparison, f)
                continue
            if f.kind == RECORD_DIFF and want is not None and item is not None:
                f.attributes, f.values = _diff(want, item)
            kept.append(f)
        looked_at = {id(f) for f in again}
        kept.extend(f for f in listed if id(f) not in looked_at)
    comparison.failures = kept


def _uncount(comparison: FullComparison, failure: Failure) -> None:
    comparison.failure_count -= 1
    for result in comparison.groups[failure.group]:
        if result.task == failure.task:
            result.counts[failure.kind] -= 1


# --- the whole run --------------------------------------------------------------------------------
@dataclass
class FullOptions:
    """What ``validate --full`` was asked for."""

    database_url: str | None = None
    from_secret: bool = False
    group: str | None = None
    segments: int = 8
    shard: Shard = field(default_factory=Shard)
    out: Path | None = None
    """Write the shard's result here (with ``shard``); otherwise a temporary file, compared at once."""
    max_failures: int = DEFAULT_MAX_FAILURES
    recheck_seconds: float = 0


def plan_groups(ops: Any, group: str | None) -> list[GroupPlan]:
    """The groups to validate, each with its mapping; every one needs a validation key attribute."""
    from dmsmig.ops.validation import group_mapping, selected_groups

    plans = []
    for source, task_group, name, exported in selected_groups(ops, group):
        if task_group.spec.validation is None:
            raise UsageError(
                f"mappings/{task_group.mapping}.yaml has no validation.keyAttribute, so {name}'s items cannot be "
                "matched to source rows",
                "add validation: {keyAttribute: <attribute carrying the key column as a number>}",
            )
        plans.append(
            GroupPlan(name, task_group.spec, group_mapping(ops, source, task_group), task_group.ranges(),
                      [t.task_id for t in exported])
        )  # fmt: skip
    return plans


def _engines(ops: Any, options: FullOptions) -> Any:
    """One engine per source, made when a group of it is first read."""
    from dmsmig.ops.context import source_engine

    sources = {f"{s.name}/{g.name}": s for s in ops.config.migration.sources for g in s.task_groups}
    engines: dict[str, Engine] = {}

    def engine_for(group: GroupPlan) -> Engine:
        source = sources[group.name]
        if source.name not in engines:
            engines[source.name] = source_engine(ops, source, options.database_url, options.from_secret)
        return engines[source.name]

    return engine_for


def stack_identity(ops: Any) -> dict:
    """Whose table a shard validated: the stack's identity as its outputs export it (shards record it)."""
    return ops.outputs.identity.model_dump() if ops.outputs.identity else {"stack": ops.stack}


def run_full(ops: Any, options: FullOptions, work_dir: Path) -> FullComparison | Path:
    """Run this shard into ``options.out`` and return its path; without ``out``, the whole table into
    ``work_dir``, compared and explained at once."""
    groups = plan_groups(ops, options.group)
    engine_for = _engines(ops, options)
    cfg = ops.config.migration
    identity = stack_identity(ops)
    out = options.out or work_dir / "validate-full.sqlite"
    run_shard(
        engine_for, ops.clients.dynamodb, ops.outputs.table_name, groups, options.shard, out,
        key_names=[k for k in (cfg.target.partition_key, cfg.target.sort_key) if k],
        segments=options.segments, identity=identity,
    )  # fmt: skip
    if options.out is not None:
        return out
    return finish(ops, [out], options, groups)


def finish(ops: Any, paths: list[Path], options: FullOptions, groups: list[GroupPlan] | None = None) -> FullComparison:
    """Compare shard results (one, or a merge) and name the differences."""
    groups = groups or plan_groups(ops, None)
    comparison = compare_shards(paths, groups, options.max_failures, stack_identity(ops))
    explain_and_recheck(
        comparison, groups, _engines(ops, options), ops.clients.dynamodb, ops.outputs.table_name,
        options.recheck_seconds,
    )  # fmt: skip
    return comparison


def final_validation(ops: Any, database_url: str | None, from_secret: bool) -> dict:
    """The cutover's final-validation report: counts and ``cutover.samples`` per partition, or every
    item when ``cutover.finalValidation`` is ``full``; each partition carries a ``verdict``."""
    from dmsmig.ops.validation import report_json, run_validation

    cutover = ops.config.migration.cutover
    if cutover.final_validation == "sampled":
        return report_json(
            run_validation(ops, database_url=database_url, from_secret=from_secret, samples=cutover.samples)
        )
    options = FullOptions(database_url=database_url, from_secret=from_secret)
    with tempfile.TemporaryDirectory(prefix="dmsmig-final-validation-") as work:
        comparison = run_full(ops, options, Path(work))
    assert isinstance(comparison, FullComparison)
    return comparison.as_json()
