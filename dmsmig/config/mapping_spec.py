"""Mapping specs (``mappings/<name>.yaml``) and the DMS table-mapping JSON generated from them.

One spec describes how rows of one source object become DynamoDB items. Every partitioned
task gets its table mappings from :func:`build_table_mappings`, so the per-partition JSON
files of seed 000 are never copied by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dmsmig.config.partitions import KeyRange
from dmsmig.config.yaml_files import read_yaml

TEMPLATE_REF = re.compile(r"\$\{([^}]*)\}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#]*$")
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class SourceObject(_Strict):
    """The source table or view the rows come from."""

    schema_name: str = Field(alias="schema", description="Source schema, e.g. dbo or AUTH.")
    object_name: str = Field(alias="object", description="Table or view name.")
    object_type: Literal["table", "view"] = Field(
        "table", alias="objectType", description="DMS table-type of the object locator."
    )


class AttributeMapping(_Strict):
    """One DynamoDB attribute built from a template over source columns."""

    name: str = Field(description="Target attribute name.")
    type: Literal["string", "number"] = Field("string", description="DynamoDB scalar type.")
    value: str = Field(description="Template such as 'agg#${AggregateId}'; ${Col} names a column.")

    @field_validator("value")
    @classmethod
    def _template_references_are_columns(cls, value: str) -> str:
        for ref in TEMPLATE_REF.findall(value):
            if not IDENTIFIER.match(ref):
                raise ValueError(f"'${{{ref}}}' is not a column reference; use ${{ColumnName}}")
        if "${" in TEMPLATE_REF.sub("", value):
            raise ValueError("unclosed '${' in template; close it with '}'")
        return value

    def columns(self) -> list[str]:
        """Source columns the template reads."""
        return TEMPLATE_REF.findall(self.value)


class ItemFilter(_Strict):
    """Selects this spec's items when several specs write one table (e.g. itemtype = event)."""

    attribute: str
    value: str


class ValidationSpec(_Strict):
    """How `validate` finds a partition's items in DynamoDB."""

    key_attribute: str = Field(
        alias="keyAttribute", description="Item attribute holding the source key (map it with ${KeyColumn})."
    )
    item_filter: ItemFilter | None = Field(None, alias="itemFilter")


class MappingSpec(_Strict):
    """How rows of one source object become items of the target table."""

    description: str = ""
    source: SourceObject
    key_column: str = Field(alias="keyColumn", description="Integer column the partitions range over.")
    exclude_columns: list[str] = Field(default_factory=list, alias="excludeColumns")
    lob_columns: list[str] = Field(default_factory=list, alias="lobColumns", description="Columns DMS treats as LOBs.")
    attributes: list[AttributeMapping] = Field(min_length=1)
    validation: ValidationSpec | None = None
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Source columns and their types on the source engine, e.g. {Id: bigint, ConvId: "
        "'uniqueidentifier null'}; `rehearse` builds its source table and DMS's type path from them.",
    )

    @model_validator(mode="after")
    def _unique_attribute_names(self) -> MappingSpec:
        seen: set[str] = set()
        for attribute in self.attributes:
            if attribute.name in seen:
                raise ValueError(f"attribute '{attribute.name}' is mapped twice")
            seen.add(attribute.name)
        return self

    @model_validator(mode="after")
    def _no_column_written_twice(self) -> MappingSpec:
        # map-record-to-record writes every column that is not excluded under its own name
        # (DMS User Guide, CHAP_Target.DynamoDB.html), whether or not a template also reads it.
        names = self.attribute_names()
        for attribute in self.attributes:
            for column in attribute.columns():
                if column != attribute.name and column not in names and column not in self.exclude_columns:
                    raise ValueError(
                        f"column {column} is mapped into '{attribute.name}' and, not being excluded, DMS also writes "
                        f"it as '{column}' (map-record-to-record copies every column): add {column} to "
                        "excludeColumns, or map it under its own name"
                    )
        return self

    @model_validator(mode="after")
    def _declared_columns_cover_the_mapping(self) -> MappingSpec:
        if not self.columns:
            return self
        used = [self.key_column, *self.exclude_columns, *self.lob_columns]
        used += [c for a in self.attributes for c in a.columns()]
        missing = sorted({c for c in used if c not in self.columns})
        if missing:
            raise ValueError(
                f"columns does not declare {', '.join(missing)}, which the mapping reads; add each with its type"
            )
        return self

    @model_validator(mode="after")
    def _validation_key_carries_the_key_as_a_number(self) -> MappingSpec:
        # validate buckets items by this attribute's number and matches it to the source key
        if self.validation is None:
            return self
        name, key = self.validation.key_attribute, self.key_column
        mapped = self.attribute(name)
        passthrough = name == key and key not in self.exclude_columns and mapped is None
        if passthrough or (mapped is not None and mapped.type == "number" and mapped.value == f"${{{key}}}"):
            return self
        raise ValueError(
            f"validation.keyAttribute '{name}' must carry keyColumn {key} as a number: map it as "
            f"{{name: {name}, type: number, value: '${{{key}}}'}}"
            + (f" (it is now {mapped.type} '{mapped.value}')" if mapped is not None else " (no attribute writes it)")
        )

    @model_validator(mode="after")
    def _item_filter_attribute_is_written(self) -> MappingSpec:
        flt = self.validation.item_filter if self.validation else None
        if flt is None or self.attribute(flt.attribute) is not None:
            return self
        if flt.attribute in self.exclude_columns or flt.attribute not in self.source_columns():
            raise ValueError(
                f"validation.itemFilter.attribute '{flt.attribute}' is not written by this mapping: map it, "
                f"e.g. {{name: {flt.attribute}, value: '{flt.value}'}}"
            )
        return self

    def source_columns(self) -> list[str]:
        """Columns of the source object: the declared ones, else those the mapping names (key first)."""
        if self.columns:
            return list(self.columns)
        names = [self.key_column, *self.exclude_columns, *self.lob_columns]
        names += [c for a in self.attributes for c in a.columns()]
        return list(dict.fromkeys(names))

    def attribute_names(self) -> set[str]:
        """Names of the target attributes this spec writes."""
        return {a.name for a in self.attributes}

    def attribute(self, name: str) -> AttributeMapping | None:
        """The mapping for attribute ``name``, if any."""
        return next((a for a in self.attributes if a.name == name), None)


def load_mapping_spec(name: str, directory: Path | None = None) -> MappingSpec:
    """Read and validate ``<directory>/<name>.yaml``; errors name the file."""
    directory = directory or MAPPINGS_DIR
    path = directory / f"{name}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in directory.glob("*.yaml"))
        raise FileNotFoundError(f"mapping spec '{name}' not found in {directory} (available: {available})")
    return MappingSpec.model_validate(read_yaml(path))


def range_filter(key_column: str, key_range: KeyRange) -> dict | None:
    """The DMS source filter selecting ``key_range`` (None when the range is unbounded).

    One filter with one condition: conditions inside a filter are ORed by DMS, separate filters
    are ANDed, so a closed range must be a single ``between`` (inclusive on both ends).
    """
    lower, upper = key_range.lower, key_range.upper
    if lower is None and upper is None:
        return None
    if lower is not None and upper is not None:
        condition = {"filter-operator": "between", "start-value": str(lower), "end-value": str(upper - 1)}
    elif lower is not None:
        condition = {"filter-operator": "gte", "value": str(lower)}
    else:
        assert upper is not None
        condition = {"filter-operator": "lte", "value": str(upper - 1)}
    return {"filter-type": "source", "column-name": key_column, "filter-conditions": [condition]}


def build_table_mappings(
    spec: MappingSpec,
    *,
    target_table: str,
    partition_key: str,
    sort_key: str | None,
    key_range: KeyRange,
) -> dict:
    """The full DMS table-mapping document for one partition of ``spec``."""
    locator = {
        "schema-name": spec.source.schema_name,
        "table-name": spec.source.object_name,
        "table-type": spec.source.object_type,
    }
    selection: dict = {
        "rule-type": "selection",
        "rule-id": "1",
        "rule-name": f"select-{spec.source.object_name.lower()}-p{key_range.index + 1}",
        "object-locator": locator,
        "rule-action": "include",
    }
    filter_ = range_filter(spec.key_column, key_range)
    if filter_ is not None:
        selection["filters"] = [filter_]
    parameters: dict = {"partition-key-name": partition_key}
    if sort_key:
        parameters["sort-key-name"] = sort_key
    if spec.exclude_columns:
        parameters["exclude-columns"] = list(spec.exclude_columns)
    parameters["attribute-mappings"] = [
        {
            "target-attribute-name": a.name,
            "attribute-type": "scalar",
            "attribute-sub-type": a.type,
            "value": a.value,
        }
        for a in spec.attributes
    ]
    mapping = {
        "rule-type": "object-mapping",
        "rule-id": "2",
        "rule-name": "map-to-dynamodb",
        "rule-action": "map-record-to-record",
        "object-locator": locator,
        "target-table-name": target_table,
        "mapping-parameters": parameters,
    }
    return {"rules": [selection, mapping]}
