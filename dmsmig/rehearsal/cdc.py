"""A task's change data capture, emulated: PostgreSQL logical decoding through the task's own mappings.

Per task, a publication of the tables its mappings select and a logical replication slot
(``pgoutput``, the plugin the pgserver build ships; DMS itself uses test_decoding or pglogical,
CHAP_Source.PostgreSQL.html), created before the full load reads, so changes made during the load
are applied after it, as DMS applies its cached changes. The slot is read over SQL
(``pg_logical_slot_peek_binary_changes``) and advanced only past transactions whose changes were
written, so a stopped task resumes where it stopped (DMS: slots "remain open even when the task is
no longer running").

What each change does to the target, with the page or the stated choice:
- the row must pass the task's selection filters (the new image; a delete, the old one);
- insert and update: ``PutItem`` of the mapped item (stated choice: which DynamoDB call DMS uses
  for each CDC operation is not documented; its permissions list PutItem, UpdateItem and DeleteItem
  and no BatchWriteItem, CHAP_Target.DynamoDB.html Prerequisites);
- delete: ``DeleteItem`` by the mapped key of the old row. The rehearsal sets ``REPLICA IDENTITY
  FULL`` on captured tables so the old row carries every column a key template reads (DMS-PG:
  "REPLICA IDENTITY FULL is supported with a logical decoding plugin");
- an update of the primary key is ignored, counted (DMS-PG Limitations: "AWS DMS ignores an attempt
  to update a primary key segment");
- an unchanged TOASTed value left out of an update is taken from the old image, else read from the
  table by key (DMS's LOB lookup);
- TRUNCATE is not captured (DMS-PG Limitations).

``CDCLatencySource``/``CDCLatencyTarget`` (CHAP_Monitoring.html, task metrics): seconds between a
change's commit and its capture, and its write to the target; zero when nothing was captured ("If
no changes have been captured from the source ... AWS DMS sets this value to zero").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from dmsmig.contract.type_paths import ColumnType
from dmsmig.model.dms_semantics import LobSettings, TableRules, map_row, selects
from dmsmig.ops.source_db import qualified_name, quote
from dmsmig.rehearsal.pgoutput import UNCHANGED_TOAST, Change, Decoder, Transaction

PEEK_CHANGES = 5000


class CdcUnavailable(RuntimeError):
    """The source cannot give this task a change stream (why, and the fix, in the message)."""


class SlotGone(CdcUnavailable):
    """The task's replication slot was dropped at the source: the changes since cannot be read again.

    Stated choice ``slot-gone`` (the User Guide does not say what DMS does): the task fails, and a resume
    gives it no new slot in its place, since a new slot starts from now and would skip the lost changes
    without a word. The rehearsal reports the choice when a task hit it."""

    def __init__(self, task_id: str, slot: str):
        super().__init__(
            f"replication slot {slot} of task {task_id} is gone (dropped at the source): the changes made since "
            f"it was dropped cannot be read. Reload the task's tables (python -m dmsmig start --reload-target "
            f"--task {task_id}), or re-create the slot and restart the task from a position you choose"
        )


def slot_name(task_id: str) -> str:
    """A replication slot name for the task: lower case, digits and underscores, at most 63 characters."""
    return ("dmsmig_" + re.sub(r"[^a-z0-9_]", "_", task_id.lower()))[:63]


@dataclass
class CdcStatistics:
    """What DescribeTableStatistics and the latency metrics report for a task's change stream."""

    inserts: dict[tuple[str, str], int] = field(default_factory=dict)
    updates: dict[tuple[str, str], int] = field(default_factory=dict)
    deletes: dict[tuple[str, str], int] = field(default_factory=dict)
    key_updates_ignored: int = 0
    apply_errors: int = 0
    latency_source: float = 0.0
    latency_target: float = 0.0
    last_commit: datetime | None = None

    def count(self, kind: str, table: tuple[str, str]) -> None:
        counter = {"insert": self.inserts, "update": self.updates, "delete": self.deletes}[kind]
        counter[table] = counter.get(table, 0) + 1


class ChangeStream:
    """One task's emulated CDC: :meth:`prepare` before the full load, then :meth:`poll` until stopped."""

    def __init__(
        self,
        task_id: str,
        rules: list[TableRules],
        engine: Engine,
        types: dict[tuple[str, str], dict[str, ColumnType]],
        lob: LobSettings,
        dynamodb: Any,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.task_id = task_id
        self.slot = slot_name(task_id)
        self.publication = self.slot
        self.rules = {(r.schema, r.table): r for r in rules}
        self.engine, self.types, self.lob, self.dynamodb, self.now = engine, types, lob, dynamodb, now
        self.decoder = Decoder()
        self.stats = CdcStatistics()
        self._keys: dict[tuple[str, str], list[str]] = {}
        self._loaders: dict[int, Any] = {}

    # -- set-up ---------------------------------------------------------------------------------
    def prepare(self, resume: bool = False) -> None:
        """Publication, REPLICA IDENTITY FULL and the slot (each only if missing), so a resume reuses them.
        ``resume``: the task ran before, so its slot must still be there (:class:`SlotGone` otherwise)."""
        with self.engine.begin() as conn:
            level = conn.execute(text("SHOW wal_level")).scalar()
            if level != "logical":
                raise CdcUnavailable(
                    f"the source's wal_level is {level}, CDC needs logical "
                    "(CHAP_Source.PostgreSQL.html: wal_level = logical)"
                )
            tables = [qualified_name(self.engine, s, t) for s, t in self.rules]
            for table in tables:
                conn.exec_driver_sql(f"ALTER TABLE {table} REPLICA IDENTITY FULL")
            exists = conn.execute(text("SELECT 1 FROM pg_publication WHERE pubname = :p"), {"p": self.publication})
            if exists.first() is None:
                conn.exec_driver_sql(f"CREATE PUBLICATION {self.publication} FOR TABLE {', '.join(tables)}")
            for schema, table in self.rules:
                self._keys[(schema, table)] = list(
                    conn.execute(
                        text(
                            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                            "AND a.attnum = ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = CAST(:t AS regclass)"
                        ),
                        {"t": qualified_name(self.engine, schema, table)},
                    ).scalars()
                )
        with self.engine.begin() as conn:  # a slot is created in a transaction that wrote nothing
            if not self.slot_exists(conn):
                if resume:
                    raise SlotGone(self.task_id, self.slot)
                conn.execute(text("SELECT pg_create_logical_replication_slot(:s, 'pgoutput')"), {"s": self.slot})

    def slot_exists(self, conn: Any) -> bool:
        return conn.execute(
            text("SELECT 1 FROM pg_replication_slots WHERE slot_name = :s"), {"s": self.slot}
        ).first() is not None

    # -- the stream -------------------------------------------------------------------------------
    def poll(self) -> int:
        """Apply every committed transaction waiting in the slot; returns the changes applied."""
        transactions, limit = [], PEEK_CHANGES
        with self.engine.connect() as conn:
            while True:
                rows = (
                    conn.execute(
                        text(
                            "SELECT data FROM pg_logical_slot_peek_binary_changes(:s, NULL, :n, "
                            "'proto_version', '1', 'publication_names', :p)"
                        ),
                        {"s": self.slot, "n": limit, "p": self.publication},
                    )
                    .scalars()
                    .all()
                )
                self.decoder = Decoder()  # each SQL call decodes afresh and resends its Relation messages
                transactions = [t for t in (self.decoder.feed(bytes(m)) for m in rows) if t is not None]
                if transactions or len(rows) < limit:
                    break
                limit *= 2  # one transaction larger than the page: read it whole
            self._loaders_for(conn)
        captured = self.now()
        applied = 0
        for txn in transactions:
            applied += self._apply(txn)
        done = self.now()
        if transactions:
            oldest = min(t.commit_time for t in transactions)
            self.stats.latency_source = max(0.0, (captured - oldest).total_seconds())
            self.stats.latency_target = max(0.0, (done - oldest).total_seconds())
            self.stats.last_commit = max(t.commit_time for t in transactions)
            with self.engine.begin() as conn:
                conn.execute(
                    text("SELECT pg_replication_slot_advance(:s, CAST(:lsn AS pg_lsn))"),
                    {"s": self.slot, "lsn": _lsn_text(transactions[-1].end_lsn)},
                )
        else:
            self.stats.latency_source = self.stats.latency_target = 0.0
        return applied

    def _loaders_for(self, conn: Any) -> None:
        from psycopg.pq import Format

        raw = conn.connection.driver_connection
        for relation in self.decoder.relations.values():
            for _name, oid in relation.columns:
                if oid not in self._loaders:
                    self._loaders[oid] = raw.adapters.get_loader(oid, Format.TEXT)(oid, raw)

    def _values(self, image: dict[str, object], relation_columns: list[tuple[str, int]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, oid in relation_columns:
            value = image.get(name)
            if isinstance(value, str):
                loader = self._loaders.get(oid)
                out[name] = loader.load(value.encode()) if loader is not None else value
            else:
                out[name] = value
        return out

    def _apply(self, txn: Transaction) -> int:
        applied = 0
        for change in txn.changes:
            table = (change.relation.schema, change.relation.table)
            rules = self.rules.get(table)
            if rules is None:
                continue
            if self._apply_change(change, rules, table):
                applied += 1
        return applied

    def _apply_change(self, change: Change, rules: TableRules, table: tuple[str, str]) -> bool:
        types = self.types.get(table, {})
        columns = change.relation.columns
        old = self._values(change.old, columns) if change.old is not None else None
        if change.kind == "delete":
            assert old is not None
            if not selects(rules, old, types)[0]:
                return False
            outcome = map_row(rules, old, types, self.lob)
            if outcome.item is None:
                self.stats.apply_errors += 1
                return False
            key = {k: outcome.item[k] for k in (rules.partition_key, rules.sort_key) if k and k in outcome.item}
            self.dynamodb.delete_item(TableName=rules.target_table, Key=key)
            self.stats.count("delete", table)
            return True
        assert change.new is not None
        new = self._values(change.new, columns)
        if any(v is UNCHANGED_TOAST for v in new.values()):
            new = self._fill_unchanged(new, old, table)
        if change.kind == "update" and old is not None:
            keys = self._keys.get(table, [])
            if keys and any(old.get(k) != new.get(k) for k in keys):
                self.stats.key_updates_ignored += 1
                return False
        if not selects(rules, new, types)[0]:
            return False
        outcome = map_row(rules, new, types, self.lob)
        if outcome.item is None:
            self.stats.apply_errors += 1  # ApplyErrorInsertPolicy/UpdatePolicy LOG_ERROR: logged, the task goes on
            return False
        self.dynamodb.put_item(TableName=rules.target_table, Item=outcome.item)
        self.stats.count(change.kind, table)
        return True

    def _fill_unchanged(self, new: dict, old: dict | None, table: tuple[str, str]) -> dict:
        missing = [c for c, v in new.items() if v is UNCHANGED_TOAST]
        if old is not None and all(old.get(c) is not UNCHANGED_TOAST for c in missing):
            return {**new, **{c: old[c] for c in missing}}
        keys = self._keys.get(table, [])
        obj = qualified_name(self.engine, *table)
        where = " AND ".join(f"{quote(self.engine, k)} = :k{i}" for i, k in enumerate(keys))
        with self.engine.connect() as conn:
            row = (
                conn.execute(text(f"SELECT * FROM {obj} WHERE {where}"), {f"k{i}": new[k] for i, k in enumerate(keys)})
                .mappings()
                .first()
            )
        return {**new, **{c: (row[c] if row is not None else None) for c in missing}}

    def drop(self) -> None:
        """Remove the slot and publication (the rehearsal's clean-up; DMS leaves slots to the DBA)."""
        with self.engine.begin() as conn:
            conn.execute(
                text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :s"),
                {"s": self.slot},
            )
            conn.exec_driver_sql(f"DROP PUBLICATION IF EXISTS {self.publication}")


def drop_rehearsal_streams(engine: Engine) -> int:
    """Drop every slot and publication an earlier rehearsal left in this database (its tables are new)."""
    with engine.begin() as conn:
        slots = conn.execute(
            text(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name LIKE 'dmsmig\\_%' AND NOT active"
            )
        ).rowcount
        for name in conn.execute(text("SELECT pubname FROM pg_publication WHERE pubname LIKE 'dmsmig\\_%'")).scalars():
            conn.exec_driver_sql(f"DROP PUBLICATION IF EXISTS {name}")
    return slots


def _lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def run_stream(
    stream: ChangeStream,
    stopped: Callable[[], bool],
    report: Callable[[CdcStatistics], None],
    idle_seconds: float = 0.2,
) -> None:
    """Poll until ``stopped()``; ``report`` gets the statistics after every poll."""
    while not stopped():
        applied = stream.poll()
        report(stream.stats)
        if not applied:
            time.sleep(idle_seconds)
