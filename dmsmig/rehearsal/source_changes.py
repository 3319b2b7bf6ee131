"""A steady stream of source writes while CDC runs (``rehearse --change-rate``), and the rehearsal's quiesce check.

The writer stands in for the applications: inserts (new keys inside the objects' key spans),
updates and deletes of existing rows, ``rate`` a second, in a thread, until :meth:`stop`. Updates
change columns that no key attribute reads (an update that moves an item to another key is a
different event: DMS-DDB Limitations), so after the stream drains every row has exactly its item.

The quiesce check: the stack's ``cutover.quiesceCheckSql`` is written for its own engine (SQL Server,
Oracle); in the rehearsal's PostgreSQL the rehearsal checks instead that no row of the captured
objects was inserted or updated after the quiesce began (by the rows' ``xmin``), which catches a
write the applications should not have made.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from dmsmig.ops.source_db import qualified, quote
from dmsmig.rehearsal.source import SourceObjectPlan, column_literals, synthetic_row, synthetic_value

SENTINEL_KEY_MARGIN = 10
"""Keys this close to the top of the span are left to the sentinel row."""


@dataclass
class ChangeCounts:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.inserts + self.updates + self.deletes


class SourceChanges:
    """Writes ``rate`` changes a second to ``plans``' objects until stopped."""

    def __init__(self, engine: Engine, plans: list[SourceObjectPlan], key_columns: set[str], rate: float, seed: int):
        self.engine, self.plans, self.rate = engine, plans, rate
        self.rng = random.Random(f"{seed}/changes")
        self.counts = ChangeCounts()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._keys: dict[int, list[int]] = {}
        self._literals = [column_literals(plan) for plan in plans]
        self._updatable = {
            i: [
                c
                for c, t in plan.types.items()
                if c != plan.spec.key_column and c not in key_columns and t.dms_type not in ("BLOB", "BYTES")
            ]
            for i, plan in enumerate(plans)
        }

    def load_keys(self) -> None:
        """Read the objects' current keys (what updates and deletes pick from)."""
        with self.engine.connect() as conn:
            for i, plan in enumerate(self.plans):
                key = quote(self.engine, plan.spec.key_column)
                obj = qualified(self.engine, plan.spec.source)
                keys = conn.execute(text(f"SELECT {key} FROM {obj}")).scalars()
                self._keys[i] = [int(k) for k in keys if k is not None]  # an Oracle NUMBER key reads as Decimal

    def start(self) -> None:
        """Start writing (again), from the objects' current keys."""
        self.load_keys()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="source-changes")
        self._thread.start()

    def stop(self) -> ChangeCounts:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        return self.counts

    def _run(self) -> None:
        interval = 1.0 / self.rate
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                self.write_one()
            except Exception as err:  # noqa: BLE001 - reported with the rehearsal's result
                self.counts.errors.append(f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")
                if len(self.counts.errors) > 20:
                    return
            due += interval
            self._stop.wait(max(0.0, due - time.monotonic()))

    def write_one(self, kind: str | None = None) -> str:
        """One change to a random object (``kind``: insert, update or delete; default: 30/60/10 %)."""
        i = self.rng.randrange(len(self.plans))
        plan, keys = self.plans[i], self._keys[i]
        kind = kind or self.rng.choices(["insert", "update", "delete"], [3, 6, 1])[0]
        if not keys or not self._updatable[i]:
            kind = "insert"
        obj, key_column = qualified(self.engine, plan.spec.source), quote(self.engine, plan.spec.key_column)
        with self.engine.begin() as conn:
            if kind == "insert":
                low, high = plan.key_span()
                key = self.rng.randrange(low, max(low + 1, high - SENTINEL_KEY_MARGIN))
                values = dict(zip(plan.types, synthetic_row(plan, key, self.rng, self._literals[i])))
                columns = ", ".join(quote(self.engine, c) for c in values)
                names = ", ".join(f":v{n}" for n in range(len(values)))
                params = {f"v{n}": v for n, v in enumerate(values.values())}
                done = conn.execute(
                    text(f"INSERT INTO {obj} ({columns}) VALUES ({names}) ON CONFLICT DO NOTHING"), params
                ).rowcount
                if done:
                    keys.append(key)
                    self.counts.inserts += 1
            elif kind == "update":
                key = self.rng.choice(keys)
                column = self.rng.choice(self._updatable[i])
                value = synthetic_value(column, plan.types[column], key + self.rng.randrange(1, 1000), self.rng, plan)
                conn.execute(
                    text(f"UPDATE {obj} SET {quote(self.engine, column)} = :v WHERE {key_column} = :k"),
                    {"v": value, "k": key},
                )
                self.counts.updates += 1
            else:
                key = keys.pop(self.rng.randrange(len(keys)))
                conn.execute(text(f"DELETE FROM {obj} WHERE {key_column} = :k"), {"k": key})
                self.counts.deletes += 1
        return kind


class QuiesceCheck:
    """Rows of ``plans``' objects written after :meth:`mark`: the rehearsal's quiesce check query."""

    def __init__(self, engine: Engine, plans: list[SourceObjectPlan]):
        self.engine, self.plans = engine, plans
        self.mark_xid: int | None = None

    def mark(self) -> None:
        with self.engine.begin() as conn:
            self.mark_xid = int(conn.execute(text("SELECT txid_current()")).scalar() or 0)

    def sql(self, objects: set[tuple[str, str]] | None = None) -> str:
        """0 when no row of ``objects`` ((schema, name); default: all) was inserted or updated after the mark."""
        assert self.mark_xid is not None
        counts = [
            f"(SELECT count(*) FROM {qualified(self.engine, p.spec.source)} "
            f"WHERE CAST(CAST(xmin AS text) AS bigint) > {self.mark_xid})"
            for p in self.plans
            if objects is None or (p.spec.source.schema_name, p.spec.source.object_name) in objects
        ] or ["0"]
        return "SELECT " + " + ".join(counts)
