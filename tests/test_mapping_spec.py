import json

import pytest
from pydantic import ValidationError

from dmsmig.config.mapping_spec import (
    MappingSpec,
    build_table_mappings,
    load_mapping_spec,
    range_filter,
)
from dmsmig.config.partitions import KeyRange, equal_width_boundaries, ranges_from_boundaries
from policies.dms_guardrails.coverage import UnreadableFilter, cover_problems, selected_spans


def _mappings_for(count: int) -> list[dict]:
    spec = load_mapping_spec("order_events")
    bounds = equal_width_boundaries(count, 1, 400_000_000) if count > 1 else []
    return [
        build_table_mappings(spec, target_table="t", partition_key="PK", sort_key="SK", key_range=r)
        for r in ranges_from_boundaries(bounds)
    ]


@pytest.mark.parametrize("count", [1, 2, 4, 8, 16])
def test_generated_mappings_for_n_partitions_are_disjoint_and_complete(count):
    # Read back with the policy pack's independent parser, as partitions-complete does.
    read_back = [span for doc in _mappings_for(count) for (_obj, _col, span) in selected_spans(doc)]
    assert len(read_back) == count
    assert cover_problems(read_back) == []


def test_seed_000_partition_two_filter_matches_the_hand_written_file():
    doc = _mappings_for(4)[1]
    selection = doc["rules"][0]
    assert selection["object-locator"] == {
        "schema-name": "dbo",
        "table-name": "vw_Dynamodbmigration",
        "table-type": "view",
    }
    assert selection["filters"] == [
        {
            "filter-type": "source",
            "column-name": "Id",
            "filter-conditions": [{"filter-operator": "between", "start-value": "100000001", "end-value": "200000000"}],
        }
    ]


def test_a_range_is_one_filter_with_one_condition_because_conditions_are_ored():
    f = range_filter("Id", KeyRange(1, 10, 20))
    assert len(f["filter-conditions"]) == 1


def test_object_mapping_builds_pk_sk_and_excludes_the_key_column():
    mapping = _mappings_for(1)[0]["rules"][1]
    params = mapping["mapping-parameters"]
    assert mapping["target-table-name"] == "t"
    assert params["partition-key-name"] == "PK" and params["sort-key-name"] == "SK"
    assert params["exclude-columns"] == ["Id"]
    ver = next(a for a in params["attribute-mappings"] if a["target-attribute-name"] == "Ver")
    assert ver == {
        "target-attribute-name": "Ver",
        "attribute-type": "scalar",
        "attribute-sub-type": "number",
        "value": "${Ver}",
    }
    assert "filters" not in _mappings_for(1)[0]["rules"][0]


def test_mappings_are_plain_json():
    mappings = _mappings_for(4)
    assert json.loads(json.dumps(mappings)) == mappings


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attributes": [{"name": "PK", "value": "${PK"}]}, "unclosed"),
        ({"attributes": [{"name": "PK", "value": "${bad col}"}]}, "not a column reference"),
        ({"attributes": [{"name": "PK", "value": "a"}, {"name": "PK", "value": "b"}]}, "mapped twice"),
        ({"attributes": [{"name": "PK", "type": "map", "value": "x"}]}, "Input should be"),
        ({"colour": "blue"}, "Extra inputs"),
        ({"validation": {"keyAttribute": "srcId"}}, "keyAttribute 'srcId' must carry keyColumn Id as a number"),
        (
            {
                "attributes": [{"name": "PK", "value": "x"}, {"name": "srcId", "value": "${Id}"}],
                "excludeColumns": ["Id"],
                "validation": {"keyAttribute": "srcId"},
            },
            "it is now string",
        ),
        (
            {"excludeColumns": ["Id"], "validation": {"keyAttribute": "Id"}},
            "keyAttribute 'Id' must carry keyColumn Id",
        ),
        (
            {
                "attributes": [{"name": "PK", "value": "x"}, {"name": "srcId", "type": "number", "value": "${Id}"}],
                "excludeColumns": ["Id"],
                "validation": {"keyAttribute": "srcId", "itemFilter": {"attribute": "kind", "value": "e"}},
            },
            "itemFilter.attribute 'kind' is not written",
        ),
    ],
)
def test_invalid_specs_are_rejected(change, message):
    raw = {"source": {"schema": "dbo", "object": "v"}, "keyColumn": "Id", "attributes": [{"name": "PK", "value": "x"}]}
    raw.update(change)
    with pytest.raises(ValidationError, match=message):
        MappingSpec.model_validate(raw)


def test_missing_spec_names_the_available_ones():
    with pytest.raises(FileNotFoundError, match="order_events"):
        load_mapping_spec("nope")


def test_unreadable_filters_are_reported_not_guessed():
    doc = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-action": "include",
                "rule-name": "x",
                "object-locator": {"schema-name": "dbo", "table-name": "v"},
                "filters": [
                    {
                        "filter-type": "source",
                        "column-name": "Id",
                        "filter-conditions": [
                            {"filter-operator": "lte", "value": "5"},
                            {"filter-operator": "gte", "value": "10"},
                        ],
                    }
                ],
            }
        ]
    }
    with pytest.raises(UnreadableFilter, match="several conditions"):
        selected_spans(doc)


def test_a_key_column_passed_through_or_mapped_as_a_number_is_a_valid_validation_key():
    base = {"source": {"schema": "dbo", "object": "v"}, "keyColumn": "Id", "attributes": [{"name": "PK", "value": "x"}]}
    passed = MappingSpec.model_validate({**base, "validation": {"keyAttribute": "Id"}})  # Id is written as itself
    assert passed.validation is not None and passed.validation.key_attribute == "Id"
    mapped = [{"name": "PK", "value": "x"}, {"name": "src", "type": "number", "value": "${Id}"}]
    spec = MappingSpec.model_validate(
        {**base, "attributes": mapped, "excludeColumns": ["Id"], "validation": {"keyAttribute": "src"}}
    )
    assert spec.validation is not None and spec.validation.key_attribute == "src"
