"""Queries against the source database through SQLAlchemy (SQL Server, Oracle, PostgreSQL, SQLite).

Credentials come from ``--database-url`` or from the source's Secrets Manager secret at run time;
the URL is never printed (SQLAlchemy's ``render_as_string(hide_password=True)`` is used for messages).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from dmsmig.config.mapping_spec import SourceObject
from dmsmig.config.stack import Source
from dmsmig.ops.errors import OpsError

DRIVERS = {
    "sqlserver": "mssql+pymssql",
    "oracle": "oracle+oracledb",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
}


def _dialect(engine_or_dialect: Any) -> Any:
    return getattr(engine_or_dialect, "dialect", engine_or_dialect)


def quote(engine: Any, name: str) -> str:
    """``name`` quoted for the engine's (or dialect's) SQL."""
    return _dialect(engine).identifier_preparer.quote(name)


def qualified(engine: Any, obj: SourceObject) -> str:
    """``schema.object`` quoted for the dialect (SQLite has no schemas: object only)."""
    if _dialect(engine).name == "sqlite":
        return quote(engine, obj.object_name)
    return qualified_name(engine, obj.schema_name, obj.object_name)


def qualified_name(engine: Any, schema: str, name: str) -> str:
    """``schema.name`` with both parts quoted for the engine's SQL."""
    return f"{quote(engine, schema)}.{quote(engine, name)}"


def url_from_secret(secret_string: str, source: Source) -> URL:
    """A SQLAlchemy URL from the DMS secret document (username, password, host, port, dbname)."""
    doc = json.loads(secret_string)
    try:
        return URL.create(
            DRIVERS[source.engine],
            username=doc["username"],
            password=doc["password"],
            host=doc.get("host") or source.server_name,
            port=int(doc.get("port") or source.effective_port),
            database=doc.get("dbname") or source.database_name,
        )
    except KeyError as err:
        raise OpsError(f"secret of source {source.name} has no {err.args[0]}", "re-run bootstrap-secret") from None


def connect(url: str | URL) -> Engine:
    """An engine for ``url``; a driver that is not installed is named with its pip package."""
    try:
        return create_engine(make_url(url) if isinstance(url, str) else url)
    except ModuleNotFoundError as err:
        raise OpsError(f"database driver {err.name} is not installed", f"pip install {err.name}") from None


def count_in_ranges_statement(dialect: Any, obj: SourceObject, column: str, boundaries: list[int]) -> tuple[Any, dict]:
    """The grouped query counting rows per range, and its parameters (compiled by tests for every dialect)."""
    col = quote(dialect, column)
    cases = " ".join(f"WHEN {col} < :b{i} THEN {i}" for i in range(len(boundaries)))
    bucket = f"CASE {cases} ELSE {len(boundaries)} END" if boundaries else "0"
    sql = text(
        f"SELECT b, COUNT(*) AS n FROM (SELECT {bucket} AS b FROM {qualified(dialect, obj)} "
        f"WHERE {col} IS NOT NULL) q GROUP BY b"
    )
    return sql, {f"b{i}": b for i, b in enumerate(boundaries)}


def count_in_ranges(engine: Engine, obj: SourceObject, column: str, boundaries: list[int]) -> list[int]:
    """Rows per range ``(-inf,b1), [b1,b2), ..., [bn,+inf)`` with one grouped query."""
    sql, params = count_in_ranges_statement(engine, obj, column, boundaries)
    with engine.connect() as conn:
        found = {int(r.b): int(r.n) for r in conn.execute(sql, params)}
    return [found.get(i, 0) for i in range(len(boundaries) + 1)]


def sample_rows_statement(dialect: Any, obj: SourceObject, limit: int) -> Any:
    """``SELECT *`` of up to ``limit`` rows (TOP / FETCH FIRST / LIMIT per dialect)."""
    from sqlalchemy import literal_column, select

    return select(literal_column("*")).select_from(text(qualified(dialect, obj))).limit(limit)


def sample_rows(engine: Engine, obj: SourceObject, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the source object, as dicts (for preview-mapping)."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sample_rows_statement(engine, obj, limit))]
