"""Every table-mapping example of the DMS User Guide's DynamoDB-target page, run through the emulator's
interpreter, with the page's section named beside each (CHAP_Target.DynamoDB.html; the archived source is
awsdocs/aws-dms-user-guide, doc_source/CHAP_Target.DynamoDB.md).

Where the page's own JSON is not valid (a trailing comma, a missing comma), the rules are written as the
page plainly intends, and the test says so. Example 1 (nfl_data, sport_team) is in test_dms_semantics.py.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from dmsmig.contract.type_paths import parse_column
from dmsmig.model.dms_semantics import LobSettings, MappingNotExecutable, map_row, parse_table_mappings, plain

# "Using Attribute Mapping with Object Mapping": the Oracle source row the page tabulates
CUSTOMER = {
    "FirstName": "Randy",
    "LastName": "Marsh",
    "StoreId": 5,
    "HomeAddress": "221B Baker Street",
    "HomePhone": "1234567890",
    "WorkAddress": "31 Spooner Street, Quahog",
    "WorkPhone": "9876543210",
    "DateOfBirth": "02/29/1988",
}
CUSTOMER_TYPES = {
    c: parse_column("oracle", t)
    for c, t in {
        "FirstName": "varchar2(30)",
        "LastName": "varchar2(30)",
        "StoreId": "number(5)",
        "HomeAddress": "varchar2(60)",
        "HomePhone": "varchar2(12)",
        "WorkAddress": "varchar2(60)",
        "WorkPhone": "varchar2(12)",
        "DateOfBirth": "varchar2(10)",
        "NickName": "varchar2(30)",
        "income": "number(10)",
    }.items()
}
EXCLUDED = ["FirstName", "LastName", "HomeAddress", "HomePhone", "WorkAddress", "WorkPhone"]
SELECT_ALL = {
    "rule-type": "selection",
    "rule-id": "1",
    "rule-name": "1",
    "object-locator": {"schema-name": "test", "table-name": "%"},
    "rule-action": "include",
}


def _mapping(action: str, attributes: list[dict], sort_key: str | None = None) -> dict:
    params: dict = {"partition-key-name": "CustomerName", "exclude-columns": EXCLUDED, "attribute-mappings": attributes}
    if sort_key:
        params["sort-key-name"] = sort_key
    return {
        "rules": [
            SELECT_ALL,
            {
                "rule-type": "object-mapping",
                "rule-id": "2",
                "rule-name": "TransformToDDB",
                "rule-action": action,
                "object-locator": {"schema-name": "test", "table-name": "customer"},
                "target-table-name": "customer_t",
                "mapping-parameters": params,
            },
        ]
    }


CUSTOMER_NAME = {
    "target-attribute-name": "CustomerName",
    "attribute-type": "scalar",
    "attribute-sub-type": "string",
    "value": "${FirstName},${LastName}",
}
STORE_ID = {"target-attribute-name": "StoreId", "attribute-type": "scalar", "attribute-sub-type": "string",
            "value": "${StoreId}"}  # fmt: skip
CONTACT_MAP = {
    "target-attribute-name": "ContactDetails",
    "attribute-type": "document",
    "attribute-sub-type": "dynamodb-map",
    "value": {
        "M": {
            "Home": {"M": {"Address": {"S": "${HomeAddress}"}, "Phone": {"S": "${HomePhone}"}}},
            "Work": {"M": {"Address": {"S": "${WorkAddress}"}, "Phone": {"S": "${WorkPhone}"}}},
        }
    },
}
HOME_AND_WORK = {
    "Home": {"Address": "221B Baker Street", "Phone": "1234567890"},
    "Work": {"Address": "31 Spooner Street, Quahog", "Phone": "9876543210"},
}


def _item(mappings: dict, row: dict) -> dict:
    [rules] = parse_table_mappings(json.loads(json.dumps(mappings)))
    outcome = map_row(rules, row, CUSTOMER_TYPES, LobSettings())
    assert outcome.item is not None, outcome.findings
    return {name: plain(value) for name, value in outcome.item.items()}


def test_using_object_mapping_map_record_to_record_writes_the_columns_not_excluded_as_themselves():
    """§ Using object mapping to migrate data to DynamoDB (map-record-to-record; the page's JSON has a
    trailing comma in the object locator): NickName and income, not excluded, become attributes of the
    same name; the dynamodb-map builds ContactDetails."""
    row = {**CUSTOMER, "NickName": "Randy", "income": 1000}
    item = _item(_mapping("map-record-to-record", [CUSTOMER_NAME, CONTACT_MAP]), row)
    assert item == {
        "CustomerName": "Randy,Marsh",
        "ContactDetails": HOME_AND_WORK,
        "NickName": "Randy",
        "income": Decimal(1000),
        "StoreId": Decimal(5),
        "DateOfBirth": "02/29/1988",
    }


def test_using_object_mapping_map_record_to_document_puts_those_columns_in_doc():
    """§ Using object mapping to migrate data to DynamoDB, the same rules with map-record-to-document:
    "the columns not listed in the exclude-columns parameter, NickName and income, are mapped to a _doc
    item" (with StoreId and DateOfBirth, which are not excluded either)."""
    row = {**CUSTOMER, "NickName": "Randy", "income": 1000}
    item = _item(_mapping("map-record-to-document", [CUSTOMER_NAME, CONTACT_MAP]), row)
    assert item["_doc"] == {"NickName": "Randy", "income": Decimal(1000), "StoreId": Decimal(5),
                            "DateOfBirth": "02/29/1988"}  # fmt: skip
    assert "NickName" not in item and item["CustomerName"] == "Randy,Marsh" and item["ContactDetails"] == HOME_AND_WORK


def test_custom_condition_expressions_are_named_as_not_emulated():
    """§ Using Custom Condition Expressions with Object Mapping: DMS writes conditionally; the emulator
    does not, and says so instead of writing every item."""
    mappings = _mapping("map-record-to-record", [CUSTOMER_NAME])
    mappings["rules"][1]["mapping-parameters"]["condition-expression"] = {
        "expression": "attribute_not_exists(CustomerName)",
        "apply-during-full-load": True,
    }
    with pytest.raises(MappingNotExecutable, match="condition-expression is not emulated"):
        parse_table_mappings(mappings)


def test_attribute_mapping_with_a_json_string_template_gives_the_documented_item():
    """§ Using Attribute Mapping with Object Mapping (scalar string template): CustomerName 'Randy,Marsh',
    StoreId '5' (a string sub-type), ContactDetails the rendered JSON text, DateOfBirth as it is."""
    contact = {
        "target-attribute-name": "ContactDetails",
        "attribute-type": "scalar",
        "attribute-sub-type": "string",
        "value": '{"Name":"${FirstName}","Home":{"Address":"${HomeAddress}","Phone":"${HomePhone}"}, '
        '"Work":{"Address":"${WorkAddress}","Phone":"${WorkPhone}"}}',
    }
    item = _item(_mapping("map-record-to-record", [CUSTOMER_NAME, STORE_ID, contact], "StoreId"), CUSTOMER)
    assert item == {
        "CustomerName": "Randy,Marsh",
        "StoreId": "5",
        "ContactDetails": '{"Name":"Randy","Home":{"Address":"221B Baker Street","Phone":"1234567890"}, '
        '"Work":{"Address":"31 Spooner Street, Quahog","Phone":"9876543210"}}',
        "DateOfBirth": "02/29/1988",
    }
    assert json.loads(item["ContactDetails"])["Home"] == HOME_AND_WORK["Home"]


def test_attribute_mapping_with_a_dynamodb_map_gives_the_documented_nested_item():
    """§ Using Attribute Mapping with Object Mapping, the dynamodb-map variant (the page's JSON lacks a comma
    after Name). The page's table shows the phones as numbers, but its mapping declares them "S": the
    emulator follows the mapping (strings), as DMS writes what the DynamoDB JSON declares."""
    contact = json.loads(json.dumps(CONTACT_MAP))
    contact["value"]["M"] = {"Name": {"S": "${FirstName}"}, **contact["value"]["M"]}
    item = _item(_mapping("map-record-to-record", [CUSTOMER_NAME, STORE_ID, contact], "StoreId"), CUSTOMER)
    assert item["ContactDetails"] == {"Name": "Randy", **HOME_AND_WORK}
    assert (item["CustomerName"], item["StoreId"], item["DateOfBirth"]) == ("Randy,Marsh", "5", "02/29/1988")
