"""A mapping spec's source columns with their DMS data types, on the engine of the group that reads it."""

from __future__ import annotations

from dmsmig.config.errors import ConfigError
from dmsmig.config.mapping_spec import MappingSpec
from dmsmig.contract.type_paths import ColumnType, UnknownType, parse_column


def declared_types(spec: MappingSpec, engine: str, spec_file: str = "the mapping spec") -> dict[str, ColumnType]:
    """The spec's ``columns`` parsed on ``engine``; a spec without them gets types inferred from its
    attributes (key and number attributes as INT8, LOB columns as CLOB, the rest as STRING), marked
    "(inferred)" in each type's name. A type the engine lacks is a ConfigError naming ``spec_file``."""
    if spec.columns:
        types, problems = {}, []
        for name, declared in spec.columns.items():
            try:
                types[name] = parse_column(engine, declared)
            except UnknownType as err:
                problems.append(
                    f"columns.{name}: {err}; declare the column with its {engine} type "
                    "(the source engine of the group that maps it)"
                )
        if problems:
            raise ConfigError(problems, spec_file)
        return types
    numbers = {c for a in spec.attributes if a.type == "number" for c in a.columns()}
    inferred = {}
    for name in spec.source_columns():
        if name == spec.key_column or name in numbers:
            inferred[name] = ColumnType("bigint (inferred)", "INT8", False)
        elif name in spec.lob_columns:
            inferred[name] = ColumnType("clob (inferred)", "CLOB", True)
        else:
            inferred[name] = ColumnType("varchar (inferred)", "STRING", True)
    return inferred
