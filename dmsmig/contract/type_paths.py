"""How a source column's type reaches DynamoDB: source type -> DMS data type -> DynamoDB type.

Each engine's table cites the User Guide page that states it (data-type section of the source
page); the DynamoDB column cites the DynamoDB target page's "Target data types" table. Types the
DynamoDB table does not list (NCLOB, BLOB, BYTES, TIME) are marked here, and the rehearsal says
so for every row where that mattered instead of guessing silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmsmig.contract.facts import USER_GUIDE

DYNAMODB_TYPES_SOURCE = USER_GUIDE + "CHAP_Target.DynamoDB.html#CHAP_Target.DynamoDB.DataTypes"
ENGINE_TYPES_SOURCE = {
    "sqlserver": USER_GUIDE + "CHAP_Source.SQLServer.html#CHAP_Source.SQLServer.DataTypes",
    "oracle": USER_GUIDE + "CHAP_Source.Oracle.html#CHAP_Source.Oracle.DataTypes",
    "postgres": USER_GUIDE + "CHAP_Source.PostgreSQL.html#CHAP_Source-PostgreSQL-DataTypes",
    "mysql": USER_GUIDE + "CHAP_Source.MySQL.html#CHAP_Source.MySQL.DataTypes",
}

# DMS data type -> what the DynamoDB target writes (S, N, BOOL), per the DynamoDB page's table.
DYNAMODB_TYPE = {
    "STRING": "S",
    "WSTRING": "S",
    "BOOLEAN": "BOOL",
    "DATE": "S",
    "DATETIME": "S",
    "INT1": "N",
    "INT2": "N",
    "INT4": "N",
    "INT8": "N",
    "NUMERIC": "N",
    "REAL4": "N",
    "REAL8": "N",
    "UINT1": "N",
    "UINT2": "N",
    "UINT4": "N",
    "UINT8": "N",
    "CLOB": "S",
}
LOB_TYPES = frozenset({"CLOB", "NCLOB", "BLOB"})
"""DMS LOB types: LobMaxSize truncation applies to them in limited LOB mode (CHAP_Tasks.LOBSupport.html)."""
NOT_WRITTEN = frozenset({"BLOB", "BYTES"})
"""Binary types: not in the DynamoDB table, and "AWS DMS doesn't support LOB data unless it is a CLOB"."""
UNDOCUMENTED = frozenset({"NCLOB", "TIME"})
"""Not in the DynamoDB table: the rehearsal writes them as strings and counts each row as undocumented."""

# (pattern over the lower-cased source type, DMS type). First match wins; ``p``/``s`` are groups.
_SQLSERVER = [
    (r"bigint", "INT8"),
    (r"int(eger)?", "INT4"),
    (r"smallint", "INT2"),
    (r"tinyint", "UINT1"),
    (r"bit", "BOOLEAN"),
    (r"(decimal|numeric)(\(.*\))?|money|smallmoney", "NUMERIC"),
    (r"float(\(.*\))?", "REAL8"),
    (r"real", "REAL4"),
    (r"datetime2(\(.*\))?|datetime|smalldatetime", "DATETIME"),
    (r"datetimeoffset(\(.*\))?", "WSTRING"),
    (r"date", "DATE"),
    (r"time(\(.*\))?", "TIME"),
    (r"varchar\(max\)|text", "CLOB"),
    (r"nvarchar\(max\)|ntext|xml", "NCLOB"),
    (r"n(var)?char(\(\d+\))?", "WSTRING"),
    (r"(var)?char(\(\d+\))?", "STRING"),
    (r"uniqueidentifier", "STRING"),
    (r"varbinary\(max\)|image", "BLOB"),
    (r"(var)?binary(\(\d+\))?", "BYTES"),
]
_ORACLE = [
    (r"number\(\s*\d+\s*,\s*[1-9]\d*\s*\)|binary_double|float(\(\d+\))?", "REAL8"),
    (r"number(\(\s*\d+\s*(,\s*0\s*)?\))?|integer|int", "NUMERIC"),
    (r"binary_float", "REAL4"),
    (r"date|timestamp(\(\d\))?", "DATETIME"),
    (r"timestamp(\(\d\))? with (local )?time zone", "STRING"),
    (r"nvarchar2\(.*\)|nchar(\(.*\))?", "WSTRING"),
    (r"varchar2?\(.*\)|char(\(.*\))?", "STRING"),
    (r"clob|xmltype|long", "CLOB"),
    (r"nclob", "NCLOB"),
    (r"blob|long raw", "BLOB"),
    (r"raw\(\d+\)", "BYTES"),
]
_POSTGRES = [
    (r"bigint|int8|bigserial", "INT8"),
    (r"integer|int|int4|serial", "INT4"),
    (r"smallint|int2", "INT2"),
    (r"boolean|bool", "STRING"),  # CHAR(5) 'true'/'false' (DMS-PG data types)
    (r"numeric\(\s*(3[0-8]|[12]?\d)\s*(,\s*\d+\s*)?\)|decimal\(\s*(3[0-8]|[12]?\d)\s*(,\s*\d+\s*)?\)", "NUMERIC"),
    (r"numeric\(.*\)|decimal\(.*\)", "STRING"),  # p >= 39 -> STRING
    (r"numeric|decimal", "NUMERIC"),  # no precision: NUMERIC(28,6)
    (r"double precision|float8", "REAL8"),
    (r"real|float4", "REAL4"),
    (r"timestamp(\(\d\))?( with(out)? time zone)?|timestamptz", "DATETIME"),
    (r"date", "DATE"),
    (r"time(\(\d\))?( with(out)? time zone)?", "TIME"),
    (r"text|json|jsonb|xml|.*\[\]", "NCLOB"),
    (r"(character varying|varchar|character|char)(\(\d+\))?", "WSTRING"),
    (r"uuid", "STRING"),
    (r"bytea", "BLOB"),
]
_MYSQL = [
    (r"bigint(\(\d+\))?", "INT8"),
    (r"(int|integer|mediumint)(\(\d+\))?", "INT4"),
    (r"smallint(\(\d+\))?", "INT2"),
    (r"tinyint(\(\d+\))?", "INT1"),
    (r"(decimal|numeric)(\(.*\))?", "NUMERIC"),
    (r"double|float", "REAL8"),
    (r"datetime(\(\d\))?|timestamp(\(\d\))?", "DATETIME"),
    (r"date", "DATE"),
    (r"time(\(\d\))?", "TIME"),
    (r"(var)?char\(\d+\)", "WSTRING"),
    (r"(long|medium|tiny)?text", "CLOB"),
    (r"(long|medium|tiny)?blob", "BLOB"),
    (r"(var)?binary\(\d+\)", "BYTES"),
]
_ENGINES = {"sqlserver": _SQLSERVER, "oracle": _ORACLE, "postgres": _POSTGRES, "mysql": _MYSQL}


@dataclass(frozen=True)
class ColumnType:
    """A declared source column: its type on the engine, the DMS type it reaches, and whether NULL occurs."""

    declared: str
    dms_type: str
    nullable: bool
    precision: int | None = None
    scale: int | None = None

    @property
    def dynamodb_type(self) -> str | None:
        """S, N or BOOL; None for types the DynamoDB table does not list."""
        return DYNAMODB_TYPE.get(self.dms_type)

    @property
    def is_lob(self) -> bool:
        return self.dms_type in LOB_TYPES


class UnknownType(ValueError):
    """A declared type none of the engine's documented rows matches."""


PRECISION_MAX = {"sqlserver": 38, "oracle": 38, "mysql": 65, "postgres": 1000}
"""The largest precision each engine's exact numeric type takes (SQL Server decimal and Oracle NUMBER: 38;
MySQL DECIMAL: 65; PostgreSQL numeric: 1000), from each engine's own documentation."""

_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)")


def parse_column(engine: str, declared: str) -> ColumnType:
    """``"decimal(38,10) null"`` on ``engine`` -> its DMS type; raises :class:`UnknownType` naming the types known."""
    text = " ".join(declared.strip().lower().split())
    nullable = False
    if text.endswith(" not null"):
        text = text[: -len(" not null")]
    elif text.endswith(" null"):
        text, nullable = text[: -len(" null")], True
    for pattern, dms_type in _ENGINES[engine]:
        if re.fullmatch(pattern, text):
            match = _PRECISION.search(text)
            precision = int(match.group(1)) if match and match.group(1) else None
            scale = int(match.group(2)) if match and match.group(2) else (0 if precision is not None else None)
            limit = PRECISION_MAX.get(engine)
            if precision is not None and limit and re.match(r"(decimal|numeric|number|dec)\b", text):
                if not 1 <= precision <= limit:
                    raise UnknownType(f"{declared!r}: {engine} takes a precision of 1 to {limit}, not {precision}")
                # Oracle alone allows a negative scale, or one above the precision (NUMBER(3,5))
                if engine != "oracle" and scale is not None and not 0 <= scale <= precision:
                    raise UnknownType(f"{declared!r}: the scale must be from 0 to the precision {precision}")
            return ColumnType(text, dms_type, nullable, precision, scale)
    examples = [re.sub(r"\\\(.*|\(\\.*|[()?]", "", p.split("|")[0]) for p, _ in _ENGINES[engine][:6]]
    raise UnknownType(
        f"{declared!r} is not a {engine} type DMS documents (e.g. {', '.join(e for e in examples if e)}; "
        f"{ENGINE_TYPES_SOURCE[engine]})"
    )
