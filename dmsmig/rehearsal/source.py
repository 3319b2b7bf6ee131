"""The rehearsal's source: an embedded PostgreSQL holding the objects the mapping specs name, with synthetic rows.

Each object is created from its spec's declared ``columns`` (types on the declared engine). The
PostgreSQL column only *stores* the value (``bit`` -> boolean, ``datetime2`` -> timestamp,
``varchar(max)`` -> text); the emulated DMS follows the declared engine's type path
(:mod:`dmsmig.contract.type_paths`), so a SQL Server ``bit`` still reaches DynamoDB as a Boolean.

Rows stream from a seeded generator into ``COPY``: keys with gaps and skew over the group's key
span, NULLs in nullable columns, long text and unicode in LOBs, decimals using the declared
precision (up to 38 digits), microsecond timestamps. Nothing holds the table in memory.
"""

from __future__ import annotations

import logging
import random
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.config.partitions import KeyRange
from dmsmig.contract.type_paths import ColumnType
from dmsmig.model.column_types import declared_types
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.source_db import qualified, quote
from dmsmig.rehearsal.processes import read_pid_file

_STORAGE = {
    "INT1": "smallint",
    "INT2": "smallint",
    "INT4": "bigint",
    "INT8": "bigint",
    "UINT1": "smallint",
    "UINT2": "integer",
    "UINT4": "bigint",
    "UINT8": "numeric(20,0)",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DATETIME": "timestamp(6)",
    "TIME": "time(6)",
    "STRING": "text",
    "WSTRING": "text",
    "CLOB": "text",
    "NCLOB": "text",
    "BLOB": "bytea",
    "BYTES": "bytea",
    "REAL4": "double precision",
    "REAL8": "double precision",
}
BASE_TIME = datetime(2019, 3, 1, 8, 0, 0)
UNICODE = "ÄÖÜ ß é 日本語 Ωμέγα 🚀 "


def storage_type(column: ColumnType) -> str:
    """The PostgreSQL type that holds the declared column's values without loss."""
    if column.dms_type in ("NUMERIC", "REAL4", "REAL8") and column.precision:
        return f"numeric({min(column.precision, 1000)},{column.scale or 0})"
    if column.dms_type == "NUMERIC":
        return "numeric"
    return _STORAGE.get(column.dms_type, "text")


@dataclass(frozen=True)
class SourceObjectPlan:
    """One source object to create and fill."""

    spec: MappingSpec
    engine: str
    ranges: list[KeyRange]
    lob_max_kb: int
    mapping: str = ""
    """The spec's name in mappings/, for messages."""

    @cached_property
    def types(self) -> dict[str, ColumnType]:
        return declared_types(self.spec, self.engine, f"mappings/{self.mapping}.yaml")

    def key_span(self) -> tuple[int, int]:
        """Lowest and highest key to generate: the group's finite bounds, widened past the open ends."""
        bounds = [b for r in self.ranges for b in (r.lower, r.upper) if b is not None]
        if not bounds:
            return 1, 1_000_000
        low, high = min(bounds), max(bounds)
        if low == high:  # two partitions split at one boundary: spread the keys on both sides of it
            return max(1, low - low // 2), high + high // 2 + 1
        if len(self.ranges) > 1 and (self.ranges[0].lower is None or self.ranges[-1].upper is None):
            width = max(1, (high - low) // max(1, len(self.ranges) - 1))
            low, high = max(1, low - width // 2), high + width // 2
        return low, max(high, low + 1)


def create_objects(engine: Engine, plans: list[SourceObjectPlan]) -> None:
    """Drop and create each object as a table (a view is loaded like a table: SELECTIONS page)."""
    with engine.begin() as conn:
        for plan in plans:
            obj = qualified(engine, plan.spec.source)
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(engine, plan.spec.source.schema_name)}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {obj}")
            columns = ", ".join(
                f"{quote(engine, name)} {storage_type(column)}" + ("" if column.nullable else " NOT NULL")
                for name, column in plan.types.items()
            )
            # a view has no primary key (rows with a NULL or repeated key can exist, as in the source view)
            key_column = quote(engine, plan.spec.key_column)
            key = "" if plan.spec.source.object_type == "view" else f", PRIMARY KEY ({key_column})"
            conn.exec_driver_sql(f"CREATE TABLE {obj} ({columns}{key})")
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {quote(engine, plan.spec.source.object_name + '_key')} "
                f"ON {obj} ({key_column})"
            )


def _keys(rows: int, low: int, high: int, rng: random.Random) -> Iterator[int]:
    """``rows`` increasing keys from ``low``: 60 % packed into the lowest fifth of the span (skew), gaps throughout."""
    span = high - low
    dense, key = int(rows * 0.6), low
    for i in range(rows):
        share = (span * 0.2 / max(dense, 1)) if i < dense else (span * 0.8 / max(rows - dense, 1))
        key += 1 + int(rng.expovariate(1 / max(share - 1, 0.01)))
        yield key


def synthetic_value(name: str, column: ColumnType, key: int, rng: random.Random, plan: SourceObjectPlan) -> Any:
    """A generated value for one column of the row with ``key`` (NULL 5 % of the time where nullable)."""
    if column.nullable and rng.random() < 0.05:
        return None
    kind = column.dms_type
    if kind in ("INT1", "INT2", "UINT1"):
        return key % 100
    if kind in ("INT4", "INT8", "UINT2", "UINT4", "UINT8"):
        return key if "id" in name.lower() else 1_600_000_000 + key % 200_000_000
    if kind in ("NUMERIC", "REAL4", "REAL8"):
        precision, scale = min(column.precision or 18, 38), column.scale or 0
        digits = rng.randint(max(1, precision - 3), precision)  # near the declared limit
        mantissa = rng.randrange(10 ** (digits - 1), 10**digits)
        return Decimal(mantissa).scaleb(-min(scale, digits))
    if kind == "BOOLEAN":
        return rng.random() < 0.5
    if kind == "DATETIME":
        return BASE_TIME + timedelta(seconds=key * 1.5, microseconds=key % 997)
    if kind == "DATE":
        return (BASE_TIME + timedelta(days=key % 3000)).date()
    if kind == "TIME":
        return (BASE_TIME + timedelta(seconds=key % 86400)).time()
    if kind in ("BLOB", "BYTES"):
        return rng.randbytes(16)
    if kind in ("CLOB", "NCLOB"):
        limit = plan.lob_max_kb * 1024
        size = rng.randint(200, 2000) if rng.random() < 0.99 else rng.randint(limit // 2, int(limit * 0.9))
        text = f'{{"event": {key}, "note": "{UNICODE}'
        return (text + "x" * size)[: size - 2] + '"}'
    if "uniqueidentifier" in column.declared or name.lower().endswith(("id", "_id")):
        return str(uuid.UUID(int=(key // 7) * 7919 % (1 << 122) | (4 << 76)))  # 7 rows per aggregate
    return f"{name.lower()}-{key}" + (f" {UNICODE.strip()}" if key % 13 == 0 else "")


def generate_rows(plan: SourceObjectPlan, rows: int, seed: int) -> Iterator[tuple]:
    """The object's synthetic rows, in key order, as tuples in column order."""
    rng = random.Random(f"{seed}/{plan.spec.source.schema_name}.{plan.spec.source.object_name}")
    literals = column_literals(plan)
    low, high = plan.key_span()
    for key in _keys(rows, low, high, rng):
        yield synthetic_row(plan, key, rng, literals)


def column_literals(plan: SourceObjectPlan) -> dict[str, str]:
    """Columns that hold a constant in every row (what the spec writes over them, or filters items by)."""
    literals = {a.name: a.value for a in plan.spec.attributes if not a.columns()}
    validation = plan.spec.validation
    if validation and validation.item_filter:
        # the column behind the spec's item filter holds the filter's value, as the view does ('event' AS itemtype)
        flt = validation.item_filter
        mapped = plan.spec.attribute(flt.attribute)
        if mapped is not None and mapped.value == f"${{{mapped.columns()[0] if mapped.columns() else ''}}}":
            literals[mapped.columns()[0]] = flt.value
    return literals


def synthetic_row(plan: SourceObjectPlan, key: int, rng: random.Random, literals: dict[str, str]) -> tuple:
    """One synthetic row with ``key``, in column order (``literals`` from :func:`column_literals`)."""
    values = []
    for name, column in plan.types.items():
        if name == plan.spec.key_column:
            values.append(key)
        elif name in literals and not column.nullable:
            # a view column the spec overwrites with the same constant (seed 000's '1 AS Migrated')
            values.append(_cast_literal(literals[name], column))
        else:
            values.append(synthetic_value(name, column, key, rng, plan))
    return tuple(values)


def _cast_literal(value: str, column: ColumnType) -> Any:
    if column.dynamodb_type == "N":
        return Decimal(value)
    return value


def fill(engine: Engine, plan: SourceObjectPlan, rows: int, seed: int) -> int:
    """COPY ``rows`` generated rows into the object; returns the count written."""
    target = qualified(engine, plan.spec.source)
    columns = ", ".join(quote(engine, c) for c in plan.types)
    written = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in generate_rows(plan, rows, seed):
                copy.write_row(row)
                written += 1
        raw.commit()
    except Exception as err:  # noqa: BLE001 - a database error while filling names the object
        raise OpsError(
            f"writing synthetic rows into {target} failed: {type(err).__name__}: {str(err).splitlines()[0][:200]}",
            "check the mapping spec's columns (types and NOT NULL) for that object",
        ) from None
    finally:
        raw.close()
    return written


class EmbeddedPostgres:
    """A PostgreSQL server from the pgserver wheel, in ``directory``; stopped by :meth:`stop`."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._server: Any = None
        self.found: list[str] = []
        """What an earlier run left in the data folder (a stale postmaster.pid) and what this run did."""

    def _clear_stale_pid_file(self) -> None:
        """pgserver stops (signals) the process a data folder's postmaster.pid names: when that process is
        not a PostgreSQL any more (an interrupted rehearsal left the file), remove the file instead, as
        PostgreSQL itself would, so no unrelated process is ever signalled."""
        pid_file = self.directory / "postmaster.pid"
        previous = read_pid_file(pid_file)
        if previous is None or previous.now is None:
            if pid_file.exists():
                pid_file.unlink()
                self.found.append(f"{pid_file}: its PostgreSQL no longer runs (an interrupted rehearsal); removed")
            return
        if "postgres" not in previous.now.command:
            pid_file.unlink()
            self.found.append(
                f"{pid_file} named process {previous.now.pid}, which is not a PostgreSQL now "
                f"({previous.now.command[:80]}): left alone, the stale file removed"
            )

    def start(self, logical: bool = False, outlive_us: bool = False) -> str:
        """Start it (or reuse the running one) and return its SQLAlchemy URL.

        ``logical``: with ``wal_level = logical`` for the emulated CDC (set once per data folder with
        ALTER SYSTEM, which takes a restart). ``outlive_us`` (``rehearse --keep``): it keeps running when
        this process ends, so the URL printed for it still answers.
        """
        cleanup = None if outlive_us else "stop"
        # pgserver logs whole command lines and server logs at ERROR: the one line below says it all
        logging.getLogger("pgserver").setLevel(logging.CRITICAL)
        try:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
                warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
                import pgserver

            self.directory.mkdir(parents=True, exist_ok=True)
            self._clear_stale_pid_file()
            self._server = pgserver.get_server(self.directory, cleanup_mode=cleanup)
            if logical and self._server.psql("SHOW wal_level;").split()[2] != "logical":
                self._server.psql("ALTER SYSTEM SET wal_level = logical;")
                self._server.cleanup()
                self._server = pgserver.get_server(self.directory, cleanup_mode=cleanup)
        except Exception as err:  # noqa: BLE001 - any failure to start is one line with the fix
            raise UsageError(
                f"the embedded PostgreSQL did not start in {self.directory}: {self._reason(err)}",
                "delete that folder and run again (it holds only the rehearsal's synthetic rows), "
                "or pass --database-url to use your own PostgreSQL",
            ) from None
        return self._server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)

    def _reason(self, err: Exception) -> str:
        """The server log's last line (why PostgreSQL refused), else the error's first line."""
        log = self.directory / "log"
        lines = log.read_text(errors="replace").strip().splitlines() if log.is_file() else []
        if lines:
            return lines[-1].strip()[:300]
        return f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"

    def gone(self) -> str | None:
        """Why the PostgreSQL this rehearsal started is not there any more (None while it runs)."""
        if self._server is None:
            return None
        try:  # asked of the server itself: does it answer a query now?
            self._server.psql("SELECT 1;")
        except Exception:  # noqa: BLE001 - any failure to answer is the server gone
            return f"the rehearsal's PostgreSQL (data folder {self.directory}) stopped"
        return None

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
