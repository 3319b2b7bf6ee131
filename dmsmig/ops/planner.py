"""Balanced partition boundaries from the source, near the cost of one ordered read of the key index.

- exact (default): a count, then one ordered pass over the key. On PostgreSQL a server-side
  cursor skips rows with ``MOVE`` and fetches only the N-1 boundary keys, so no row crosses the
  wire and nothing is sorted (the key index supplies the order). Elsewhere (SQL Server, Oracle,
  SQLite) ``ROW_NUMBER() OVER (ORDER BY key)`` picks the rows at the boundary positions in one
  pass. Rows per partition follow from the positions (exact for a unique key).
- sampled: ``TABLESAMPLE`` (PostgreSQL ``SYSTEM``, SQL Server ``PERCENT``, Oracle ``SAMPLE``) for
  sources that must not be scanned in production; boundaries and max/mean are estimates.
- weighted: balance a length expression (e.g. ``LENGTH(EventData)``) instead of rows, with a
  running ``SUM() OVER (ORDER BY key)``: events that grew over the years make equal-row
  partitions unequal in time.

The statements are SQLAlchemy Core, so tests compile them for the SQL Server and Oracle dialects too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from dmsmig.config.mapping_spec import SourceObject
from dmsmig.model.balance import counts_per_range, max_mean_ratio, quantile_boundaries
from dmsmig.ops.errors import UsageError

# A column, or one function (dotted names allowed) of one column: no statements, no comments.
_NAME = r'"?[A-Za-z_][A-Za-z0-9_]*"?'
WEIGHT_EXPRESSION = re.compile(rf"^(?:[A-Za-z_][A-Za-z0-9_.]*\s*\(\s*{_NAME}\s*\)|{_NAME})$")


@dataclass(frozen=True)
class PartitionPlan:
    """Boundaries and what each partition holds (rows, or weight), exact or estimated."""

    method: str
    boundaries: list[int]
    sizes: list[float]
    unit: str
    exact: bool
    rows: int
    minimum: int | None
    maximum: int | None

    @property
    def max_mean(self) -> float:
        return max_mean_ratio([int(s) for s in self.sizes]) if self.sizes else 1.0


def table_of(engine_or_dialect: Any, obj: SourceObject, *columns: str) -> sa.TableClause:
    """The source object as a Core table (SQLite has no schemas)."""
    dialect = getattr(engine_or_dialect, "dialect", engine_or_dialect)
    schema = None if dialect.name == "sqlite" else obj.schema_name
    return sa.table(obj.object_name, *(sa.column(c) for c in columns), schema=schema)


def count_statement(table: sa.TableClause, column: str) -> sa.Select:
    """Rows, smallest and largest key (an index-only scan where the key is indexed)."""
    key = table.c[column]
    return sa.select(sa.func.count(), sa.func.min(key), sa.func.max(key)).where(key.is_not(None))


def row_number_statement(table: sa.TableClause, column: str, positions: list[int]) -> sa.Select:
    """Keys at the 1-based ``positions`` of the key order, in one ordered pass."""
    key = table.c[column]
    ordered = (
        sa.select(key.label("k"), sa.func.row_number().over(order_by=key).label("rn"))
        .where(key.is_not(None))
        .subquery("ordered")
    )
    return sa.select(ordered.c.k, ordered.c.rn).where(ordered.c.rn.in_(positions)).order_by(ordered.c.rn)


def weighted_statement(table: sa.TableClause, column: str, weight: str, partitions: int, total: float) -> sa.Select:
    """Per weight bucket: smallest key, rows and weight, from a running sum over the key order."""
    key = table.c[column]
    w: sa.ColumnElement[Any] = sa.literal_column(weight)
    running = (
        sa.select(
            key.label("k"),
            w.label("w"),
            sa.func.sum(w).over(order_by=key, rows=(None, 0)).label("cw"),
        )
        .where(key.is_not(None))
        .subquery("running")
    )
    # the bucket of a row is where its weight interval starts: floor(N * (cw - w) / total)
    start = sa.func.floor((running.c.cw - running.c.w) * (partitions * 1.0) / total)
    bucket = sa.case((start >= partitions, partitions - 1), else_=start).label("b")
    return (
        sa.select(bucket, sa.func.min(running.c.k), sa.func.count(), sa.func.sum(running.c.w))
        .group_by(bucket)
        .order_by(bucket)
    )


def total_weight_statement(table: sa.TableClause, column: str, weight: str) -> sa.Select:
    key = table.c[column]
    return sa.select(sa.func.sum(sa.literal_column(weight)), sa.func.count()).where(key.is_not(None))


def sample_statement(dialect_name: str, table_sql: str, column_sql: str, percent: float, seed: int = 1) -> str:
    """Keys of a ``percent`` sample of the object, in the dialect's own sampling syntax (repeatable by ``seed``)."""
    p, where = f"{percent:g}", f"WHERE {column_sql} IS NOT NULL"
    if dialect_name == "postgresql":
        return f"SELECT {column_sql} FROM {table_sql} TABLESAMPLE SYSTEM ({p}) REPEATABLE ({seed}) {where}"
    if dialect_name == "mssql":
        return f"SELECT {column_sql} FROM {table_sql} TABLESAMPLE ({p} PERCENT) REPEATABLE ({seed}) {where}"
    if dialect_name == "oracle":
        return f"SELECT {column_sql} FROM {table_sql} SAMPLE ({p}) SEED ({seed}) {where}"
    if dialect_name == "sqlite":  # no TABLESAMPLE: a random filter (a SQLite file as the source, e.g. in tests)
        keep = f"abs(random() % 1000000) < {percent * 10000:.0f}"
        return f"SELECT {column_sql} FROM {table_sql} {where} AND {keep}"
    raise UsageError(f"sampling is not supported for {dialect_name}", "plan exactly (drop --sample)")


def _positions(rows: int, partitions: int) -> list[int]:
    return [(i * rows) // partitions + 1 for i in range(1, partitions)]


def _from_positions(method: str, rows: int, lo, hi, keyed: list[tuple[int, int]]) -> PartitionPlan:
    boundaries: list[int] = []
    cuts = [1]
    for key, position in keyed:
        if key > (boundaries[-1] if boundaries else lo):
            boundaries.append(int(key))
            cuts.append(int(position))
    cuts.append(rows + 1)
    sizes = [float(cuts[i + 1] - cuts[i]) for i in range(len(cuts) - 1)]
    return PartitionPlan(method, boundaries, sizes, "rows", True, rows, lo, hi)


def plan_exact(engine: Engine, obj: SourceObject, column: str, partitions: int) -> PartitionPlan:
    """Exact boundaries: a count, then one ordered pass that fetches only the boundary keys."""
    table = table_of(engine, obj, column)
    with engine.connect() as conn:
        rows, lo, hi = conn.execute(count_statement(table, column)).one()
    rows = int(rows)
    if rows == 0 or partitions == 1:
        return PartitionPlan("exact", [], [float(rows)], "rows", True, rows, lo, hi)
    positions = _positions(rows, partitions)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            keyed = _cursor_walk(conn, table, column, positions)
            method = "exact (server-side cursor over the key order)"
        else:
            keyed = [(int(k), int(rn)) for k, rn in conn.execute(row_number_statement(table, column, positions))]
            method = "exact (ROW_NUMBER over the key order)"
    return _from_positions(method, rows, lo, hi, keyed)


def _cursor_walk(conn: Any, table: sa.TableClause, column: str, positions: list[int]) -> list[tuple[int, int]]:
    key = table.c[column]
    ordered = sa.select(key).where(key.is_not(None)).order_by(key)
    sql = str(ordered.compile(conn, compile_kwargs={"literal_binds": True}))
    keyed, at = [], 0
    with conn.begin():
        conn.exec_driver_sql(f"DECLARE dmsmig_keys NO SCROLL CURSOR FOR {sql}")
        for position in positions:
            skip = position - at - 1
            if skip > 0:
                conn.exec_driver_sql(f"MOVE FORWARD {int(skip)} IN dmsmig_keys")
            value = conn.exec_driver_sql("FETCH 1 FROM dmsmig_keys").scalar()
            at = position
            if value is not None:
                keyed.append((int(value), position))
        conn.exec_driver_sql("CLOSE dmsmig_keys")
    return keyed


def plan_sampled(
    engine: Engine, obj: SourceObject, column: str, partitions: int, percent: float, sample_from: SourceObject | None
) -> PartitionPlan:
    """Boundaries and estimated sizes from a ``percent`` sample (of ``sample_from``, e.g. a view's base table)."""
    target = sample_from or obj
    prep = engine.dialect.identifier_preparer
    table_sql = (
        prep.quote(target.object_name)
        if engine.dialect.name == "sqlite"
        else f"{prep.quote(target.schema_name)}.{prep.quote(target.object_name)}"
    )
    with engine.connect() as conn:
        keys = sorted(
            int(k)
            for (k,) in conn.execute(
                sa.text(sample_statement(engine.dialect.name, table_sql, prep.quote(column), percent))
            )
        )
    if not keys:
        raise UsageError(
            f"a {percent:g}% sample of {target.object_name} returned no rows", "raise --sample or plan exactly"
        )
    boundaries = quantile_boundaries(keys, partitions)
    scale = 100.0 / percent
    sizes = [c * scale for c in counts_per_range(keys, boundaries)]
    return PartitionPlan(
        f"sampled ({percent:g}% of {target.object_name}, {len(keys):,} keys)",
        boundaries,
        sizes,
        "rows (estimated)",
        False,
        int(len(keys) * scale),
        keys[0],
        keys[-1],
    )


def plan_weighted(engine: Engine, obj: SourceObject, column: str, partitions: int, weight: str) -> PartitionPlan:
    """Boundaries that give each partition about the same total of ``weight`` (e.g. ``LENGTH(EventData)``)."""
    if not WEIGHT_EXPRESSION.match(weight.strip()):
        raise UsageError(
            f"--weight {weight!r} is not a column or a one-argument function of a column",
            "e.g. --weight 'LENGTH(EventData)' (SQL Server: DATALENGTH(EventData), "
            "Oracle: DBMS_LOB.GETLENGTH(PAYLOAD))",
        )
    table = table_of(engine, obj, column)
    with engine.connect() as conn:
        total, rows = conn.execute(total_weight_statement(table, column, weight)).one()
        bounds = conn.execute(count_statement(table, column)).one()
        if not rows or not total:
            return PartitionPlan(
                f"weighted by {weight}", [], [float(total or 0)], "weight", True, int(rows or 0), None, None
            )
        buckets = conn.execute(weighted_statement(table, column, weight, partitions, float(total))).all()
    boundaries: list[int] = []
    sizes: list[float] = []
    for _bucket, first_key, _count, weight_sum in buckets:
        if sizes and int(first_key) > (boundaries[-1] if boundaries else bounds[1]):
            boundaries.append(int(first_key))
            sizes.append(float(weight_sum))
        elif sizes:
            sizes[-1] += float(weight_sum)
        else:
            sizes.append(float(weight_sum))
    return PartitionPlan(f"weighted by {weight}", boundaries, sizes, "weight", True, int(rows), bounds[1], bounds[2])
