"""The DMS-semantics interpreter: the User Guide's own examples, filters, NULLs, types, LOBs and DynamoDB limits."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from dmsmig.config.mapping_spec import build_table_mappings, load_mapping_spec
from dmsmig.config.partitions import KeyRange
from dmsmig.contract.type_paths import UnknownType, parse_column
from dmsmig.model.dms_semantics import (
    LobSettings,
    MappingNotExecutable,
    item_size,
    map_row,
    parse_table_mappings,
    plain,
    selects,
)

# CHAP_Target.DynamoDB.html, "Example 1: Using attribute mapping with object mapping" (MySQL tables in,
# DynamoDB items out). The stat3 template is written without the line break the page's rendering inserts.
NFL_RULES = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "1",
            "object-locator": {"schema-name": "dms_sample", "table-name": "nfl_data"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "2",
            "rule-name": "2",
            "object-locator": {"schema-name": "dms_sample", "table-name": "sport_team"},
            "rule-action": "include",
        },
        {
            "rule-type": "object-mapping",
            "rule-id": "3",
            "rule-name": "MapNFLData",
            "rule-action": "map-record-to-record",
            "object-locator": {"schema-name": "dms_sample", "table-name": "nfl_data"},
            "target-table-name": "NFLTeams",
            "mapping-parameters": {
                "partition-key-name": "Team",
                "sort-key-name": "PlayerName",
                "exclude-columns": ["player_number", "team", "Name"],
                "attribute-mappings": [
                    {
                        "target-attribute-name": "Team",
                        "attribute-type": "scalar",
                        "attribute-sub-type": "string",
                        "value": "${team}",
                    },
                    {
                        "target-attribute-name": "PlayerName",
                        "attribute-type": "scalar",
                        "attribute-sub-type": "string",
                        "value": "${Name}",
                    },
                    {
                        "target-attribute-name": "PlayerInfo",
                        "attribute-type": "scalar",
                        "attribute-sub-type": "string",
                        "value": '{"Number": "${player_number}","Position": "${Position}","Status": "${status}",'
                        '"Stats": {"Stat1": "${stat1}:${stat1_val}","Stat2": "${stat2}:${stat2_val}",'
                        '"Stat3": "${stat3}:${stat3_val}","Stat4": "${stat4}:${stat4_val}"}',
                    },
                ],
            },
        },
        {
            "rule-type": "object-mapping",
            "rule-id": "4",
            "rule-name": "MapSportTeam",
            "rule-action": "map-record-to-record",
            "object-locator": {"schema-name": "dms_sample", "table-name": "sport_team"},
            "target-table-name": "SportTeams",
            "mapping-parameters": {
                "partition-key-name": "TeamName",
                "exclude-columns": ["name", "id"],
                "attribute-mappings": [
                    {
                        "target-attribute-name": "TeamName",
                        "attribute-type": "scalar",
                        "attribute-sub-type": "string",
                        "value": "${name}",
                    },
                    {
                        "target-attribute-name": "TeamInfo",
                        "attribute-type": "scalar",
                        "attribute-sub-type": "string",
                        "value": '{"League": "${sport_league_short_name}","Division": "${sport_division_short_name}"}',
                    },
                ],
            },
        },
    ]
}
NFL_TYPES = {
    c: parse_column("mysql", t)
    for c, t in {
        "Position": "varchar(5)",
        "player_number": "smallint(6)",
        "Name": "varchar(40)",
        "status": "varchar(10)",
        **{f"stat{i}": "varchar(10)" for i in range(1, 5)},
        **{f"stat{i}_val": "varchar(10)" for i in range(1, 5)},
        "team": "varchar(10)",
    }.items()
}
TEAM_TYPES = {
    c: parse_column("mysql", t)
    for c, t in {
        "id": "mediumint(9)",
        "name": "varchar(30)",
        "abbreviated_name": "varchar(10)",
        "home_field_id": "smallint(6)",
        "sport_type_name": "varchar(15)",
        "sport_league_short_name": "varchar(10)",
        "sport_division_short_name": "varchar(10)",
    }.items()
}


def _plain(item):
    return {k: plain(v) for k, v in item.items()}


def test_the_user_guide_sport_team_example_is_reproduced_exactly():
    rules = {r.table: r for r in parse_table_mappings(NFL_RULES)}
    row = {
        "id": 1,
        "name": "Indianapolis Colts",
        "abbreviated_name": "IND",
        "home_field_id": 53,
        "sport_type_name": "football",
        "sport_league_short_name": "NFL",
        "sport_division_short_name": "AFC South",
    }
    outcome = map_row(rules["sport_team"], row, TEAM_TYPES, LobSettings())
    assert _plain(outcome.item) == {
        "abbreviated_name": "IND",
        "home_field_id": Decimal(53),
        "sport_division_short_name": "AFC South",
        "sport_league_short_name": "NFL",
        "sport_type_name": "football",
        "TeamInfo": '{"League": "NFL","Division": "AFC South"}',
        "TeamName": "Indianapolis Colts",
    }
    assert outcome.item["home_field_id"] == {"N": "53"}  # the page shows a Number, not a string


def test_the_user_guide_nfl_example_is_reproduced_exactly():
    rules = {r.table: r for r in parse_table_mappings(NFL_RULES)}
    row = {
        "Position": "P",
        "player_number": 6,
        "Name": "Allen, Ryan",
        "status": "ACT",
        "stat1": "PUNTS",
        "stat1_val": "73",
        "stat2": "AVG",
        "stat2_val": "46",
        "stat3": "LNG",
        "stat3_val": "67",
        "stat4": "IN 20",
        "stat4_val": "31",
        "team": "NE",
    }
    outcome = map_row(rules["nfl_data"], row, NFL_TYPES, LobSettings())
    assert _plain(outcome.item) == {
        "PlayerInfo": '{"Number": "6","Position": "P","Status": "ACT","Stats": {"Stat1": "PUNTS:73",'
        '"Stat2": "AVG:46","Stat3": "LNG:67","Stat4": "IN 20:31"}',
        "PlayerName": "Allen, Ryan",
        "Position": "P",
        "stat1": "PUNTS",
        "stat1_val": "73",
        "stat2": "AVG",
        "stat2_val": "46",
        "stat3": "LNG",
        "stat3_val": "67",
        "stat4": "IN 20",
        "stat4_val": "31",
        "status": "ACT",
        "Team": "NE",
    }


def _rules_with(filters):
    doc = json.loads(json.dumps(NFL_RULES))
    doc["rules"][1]["filters"] = filters
    return {r.table: r for r in parse_table_mappings(doc)}["sport_team"]


def _filter(column, *conditions):
    return {"filter-type": "source", "column-name": column, "filter-conditions": list(conditions)}


def test_between_includes_both_ends_and_ste_is_lte():
    rules = _rules_with([_filter("id", {"filter-operator": "between", "start-value": "10", "end-value": "20"})])
    picked = [k for k in (9, 10, 15, 20, 21) if selects(rules, {"id": k}, TEAM_TYPES)[0]]
    assert picked == [10, 15, 20]
    ste = _rules_with([_filter("id", {"filter-operator": "ste", "value": "5"})])
    assert [k for k in (4, 5, 6) if selects(ste, {"id": k}, TEAM_TYPES)[0]] == [4, 5]


def test_filters_are_anded_and_conditions_ored():
    rules = _rules_with(
        [
            _filter("id", {"filter-operator": "lte", "value": "3"}, {"filter-operator": "gte", "value": "8"}),
            _filter("home_field_id", {"filter-operator": "eq", "value": "1"}),
        ]
    )
    rows = [{"id": k, "home_field_id": h} for k in (1, 5, 9) for h in (1, 2)]
    assert [(r["id"], r["home_field_id"]) for r in rows if selects(rules, r, TEAM_TYPES)[0]] == [(1, 1), (9, 1)]


def test_a_null_key_is_selected_by_no_range_filter():
    rules = _rules_with([_filter("id", {"filter-operator": "lte", "value": "100"})])
    assert selects(rules, {"id": None}, TEAM_TYPES)[0] is False


def test_a_negative_operator_must_be_alone_in_its_filter():
    with pytest.raises(MappingNotExecutable, match="alone"):
        _rules_with(
            [_filter("id", {"filter-operator": "noteq", "value": "3"}, {"filter-operator": "eq", "value": "4"})]
        )


def test_transformation_rules_are_named_as_not_emulated():
    doc = json.loads(json.dumps(NFL_RULES))
    doc["rules"].append({"rule-type": "transformation", "rule-name": "lower", "rule-id": "9"})
    with pytest.raises(MappingNotExecutable, match="'lower'.*transformation"):
        parse_table_mappings(doc)


def _orders_rules():
    spec = load_mapping_spec("orders_table")
    doc = build_table_mappings(
        spec, target_table="t", partition_key="PK", sort_key="SK", key_range=KeyRange(0, None, None)
    )
    types = {c: parse_column("sqlserver", t) for c, t in spec.columns.items()}
    return parse_table_mappings(doc)[0], types


ROW = {
    "Id": 7,
    "AggregateId": "a-1",
    "EventTimestamp": datetime(2024, 1, 2, 3, 4, 5, 120000),
    "Version": 3,
    "ConversationId": None,
    "CreatedAt": datetime(2024, 1, 2, 3, 4, 5),
    "EventData": "{}",
}


def test_null_columns_are_left_out_and_a_template_over_null_is_a_stated_choice():
    rules, types = _orders_rules()
    outcome = map_row(rules, dict(ROW), types, LobSettings())
    item = _plain(outcome.item)
    assert item["ConvId"] == "" and "ConversationId" not in item
    assert item["SK"] == "evt#2024-01-02 03:04:05.120000"
    assert {"null-in-template", "datetime-format"} <= outcome.choices


def test_lobs_over_lob_max_size_are_truncated_and_reported():
    rules, types = _orders_rules()
    outcome = map_row(rules, {**ROW, "EventData": "é" * 40_000}, types, LobSettings(max_kb=32))
    assert len(outcome.item["itemdata"]["S"].encode()) <= 32 * 1024
    assert [f.rule for f in outcome.findings] == ["lob-truncated"]


def test_a_39_digit_number_fails_the_write():
    rules, types = _orders_rules()
    outcome = map_row(rules, {**ROW, "Version": 10**38 + 1}, types, LobSettings())
    assert outcome.item is None and [f.rule for f in outcome.findings] == ["number-too-precise"]


def test_an_item_over_400_kb_by_dynamodbs_formula_fails_the_write():
    rules, types = _orders_rules()
    outcome = map_row(rules, {**ROW, "AggregateId": "x" * 410_000}, types, LobSettings())
    assert outcome.item is None and [f.rule for f in outcome.findings] == ["item-too-large"]


def test_numbers_keep_all_38_digits():
    rules, types = _orders_rules()
    outcome = map_row(rules, {**ROW, "Version": 10**37 + 1}, types, LobSettings())
    assert outcome.item["Ver"] == {"N": str(10**37 + 1)}


def test_item_size_counts_names_and_number_digits():
    assert item_size({"ab": {"S": "héllo"}, "n": {"N": "12345"}, "b": {"BOOL": True}}) == 2 + 6 + 1 + 4 + 1 + 1


def test_binary_columns_are_not_written():
    rules, _types = _orders_rules()
    types = {"Thumbprint": parse_column("sqlserver", "varbinary(16)")}
    outcome = map_row(rules, {**ROW, "Thumbprint": b"\x00\x01"}, types, LobSettings())
    assert outcome.item is None
    assert "unsupported-type" in [f.rule for f in outcome.findings]


@pytest.mark.parametrize(
    ("engine", "declared", "dms", "dynamodb"),
    [
        ("sqlserver", "bit", "BOOLEAN", "BOOL"),
        ("sqlserver", "datetime2(7)", "DATETIME", "S"),
        ("sqlserver", "nvarchar(max)", "NCLOB", None),
        ("sqlserver", "varchar(max) null", "CLOB", "S"),
        ("oracle", "number(5,2)", "REAL8", "N"),
        ("oracle", "number(19)", "NUMERIC", "N"),
        ("oracle", "nvarchar2(20)", "WSTRING", "S"),
        ("postgres", "boolean", "STRING", "S"),
        ("postgres", "numeric(40,2)", "STRING", "S"),
    ],
)
def test_type_paths_follow_the_source_pages(engine, declared, dms, dynamodb):
    column = parse_column(engine, declared)
    assert (column.dms_type, column.dynamodb_type) == (dms, dynamodb)


def test_an_unknown_type_names_the_engine_and_the_page():
    with pytest.raises(UnknownType, match="not a sqlserver type.*CHAP_Source.SQLServer"):
        parse_column("sqlserver", "varchar2(10)")


def test_a_list_member_number_over_text_fails_that_row_not_the_task():
    """DDB page, 'Using object mapping to migrate data to DynamoDB': a dynamodb-list whose member is a
    Number rendered from a column. DynamoDB refuses an item whose Number is not a number: that row is
    an error row (DataErrorPolicy decides), and the other rows map as usual."""
    from dmsmig.model.dms_semantics import LobSettings, map_row, parse_table_mappings

    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "1",
                "object-locator": {"schema-name": "dbo", "table-name": "t"},
                "rule-action": "include",
            },
            {
                "rule-type": "object-mapping",
                "rule-id": "2",
                "rule-name": "2",
                "rule-action": "map-record-to-record",
                "object-locator": {"schema-name": "dbo", "table-name": "t"},
                "target-table-name": "T",
                "mapping-parameters": {
                    "partition-key-name": "PK",
                    "attribute-mappings": [
                        {"target-attribute-name": "PK", "attribute-type": "scalar", "attribute-sub-type": "string",
                         "value": "${id}"},
                        {"target-attribute-name": "scores", "attribute-type": "document",
                         "attribute-sub-type": "dynamodb-list", "value": {"L": [{"N": "${score}"}]}},
                    ],
                },
            },
        ]
    }  # fmt: skip
    [rules] = parse_table_mappings(mappings)
    bad = map_row(rules, {"id": 1, "score": "not a number"}, {}, LobSettings())
    assert bad.item is None and [f.rule for f in bad.findings] == ["not-a-number"]
    assert "attribute scores is a number but the value is 'not a number'" in bad.findings[0].message
    good = map_row(rules, {"id": 2, "score": "7.50"}, {}, LobSettings())
    assert good.item is not None and good.item["scores"] == {"L": [{"N": "7.5"}]}
