"""Decode PostgreSQL's ``pgoutput`` logical-replication messages (protocol version 1), as read over SQL.

``pg_logical_slot_peek_binary_changes(slot, NULL, n, 'proto_version', '1', 'publication_names', p)``
returns one message per row; this module turns them into transactions of row changes. Message
layout: PostgreSQL "Logical Replication Message Formats"
(https://www.postgresql.org/docs/16/protocol-logicalrep-message-formats.html). Values stay in their
text form with the column's type OID; :mod:`dmsmig.rehearsal.cdc` turns them into Python values with
psycopg's own loaders, so a CDC row has the same Python types as a full-load row.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNCHANGED_TOAST = object()
"""A column an UPDATE left out because its TOASTed value did not change (tuple kind 'u')."""


@dataclass
class Relation:
    """A table as a Relation message describes it: its columns (name, type OID) and key flags."""

    oid: int
    schema: str
    table: str
    columns: list[tuple[str, int]]
    key_columns: set[str]


@dataclass
class Change:
    """One row change: ``insert``, ``update`` or ``delete``; tuples map column name -> text value (or None)."""

    kind: str
    relation: Relation
    new: dict[str, object] | None = None
    old: dict[str, object] | None = None


@dataclass
class Transaction:
    """A committed transaction: its changes in order, commit time and the LSN just past its commit."""

    xid: int
    commit_time: datetime
    end_lsn: int = 0
    changes: list[Change] = field(default_factory=list)


class Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values

    def byte(self) -> str:
        return chr(self.take("!B")[0])

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        value = self.data[self.at : end].decode()
        self.at = end + 1
        return value


def _timestamp(micros: int) -> datetime:
    return POSTGRES_EPOCH + timedelta(microseconds=micros)


class Decoder:
    """Keeps the relations seen so far and folds messages into :class:`Transaction` objects."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self._open: Transaction | None = None

    def feed(self, message: bytes) -> Transaction | None:
        """Decode one message; returns the transaction its Commit message completes, else None."""
        r = Reader(bytes(message))
        kind = r.byte()
        if kind == "B":
            _final_lsn, micros, xid = r.take("!qqI")
            self._open = Transaction(xid, _timestamp(micros))
        elif kind == "C":
            _flags, _commit_lsn, end_lsn, _micros = r.take("!Bqqq")
            done, self._open = self._open, None
            if done is not None:
                done.end_lsn = end_lsn
            return done
        elif kind == "R":
            self._relation(r)
        elif kind in "IUD" and self._open is not None:
            self._open.changes.append(self._change(kind, r))
        # 'Y' (type), 'O' (origin), 'T' (truncate: DMS does not capture TRUNCATE, DMS-PG Limitations) and
        # 'M' (logical message) carry no row change.
        return None

    def _relation(self, r: Reader) -> None:
        (oid,) = r.take("!I")
        schema, table = r.string(), r.string()
        _identity, count = r.take("!BH")
        columns, keys = [], set()
        for _ in range(count):
            (flags,) = r.take("!B")
            name = r.string()
            type_oid, _typmod = r.take("!Ii")
            columns.append((name, type_oid))
            if flags & 1:
                keys.add(name)
        self.relations[oid] = Relation(oid, schema, table, columns, keys)

    def _change(self, kind: str, r: Reader) -> Change:
        (oid,) = r.take("!I")
        relation = self.relations[oid]
        if kind == "I":
            r.byte()  # 'N'
            return Change("insert", relation, new=self._tuple(relation, r))
        if kind == "D":
            r.byte()  # 'K' (key columns) or 'O' (whole old row, REPLICA IDENTITY FULL)
            return Change("delete", relation, old=self._tuple(relation, r))
        old = None
        marker = r.byte()
        if marker in "KO":
            old = self._tuple(relation, r)
            marker = r.byte()
        return Change("update", relation, new=self._tuple(relation, r), old=old)

    @staticmethod
    def _tuple(relation: Relation, r: Reader) -> dict[str, object]:
        (count,) = r.take("!H")
        values: dict[str, object] = {}
        for i in range(count):
            name = relation.columns[i][0]
            kind = r.byte()
            if kind == "n":
                values[name] = None
            elif kind == "u":
                values[name] = UNCHANGED_TOAST
            else:  # 't' text (or 'b' binary, never requested here)
                (length,) = r.take("!i")
                values[name] = r.data[r.at : r.at + length].decode()
                r.at += length
        return values
