"""validate --full: every item against its source row; planted differences each found, nothing else reported."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy.dialects import mssql, oracle, postgresql
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.config.partitions import KeyRange
from dmsmig.model.item_digest import canonical, digest
from dmsmig.ops import context as ops_context
from dmsmig.ops import full_validation
from dmsmig.ops.full_validation import range_statement
from tests.ops_fixtures import clients_with, outputs_file
from tests.test_validation import MAPPING, SPEC, TABLE, dynamodb, load_like_dms, make_source, source_rows  # noqa: F401

runner = CliRunner()


def _validate(tmp_path, dynamodb, monkeypatch, *extra: str, url: str | None = None):  # noqa: F811
    monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients_with(dynamodb=dynamodb))
    argv = ["validate", "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--full", *extra]
    if url:
        argv += ["--database-url", url]
    return runner.invoke(app, argv)


def _planted(tmp_path, dynamodb):  # noqa: F811
    rows = source_rows(200)
    rows[60]["PK"], rows[60]["SK"] = rows[59]["PK"], rows[59]["SK"]  # ids 60 and 61: one item, 61's
    url = make_source(tmp_path / "s.db", rows)
    load_like_dms(dynamodb, rows, skip={5}, truncate={30})
    key = {"PK": {"S": rows[16]["PK"]}, "SK": {"S": rows[16]["SK"]}}
    dynamodb.update_item(
        TableName=TABLE, Key=key, UpdateExpression="SET ConvId = :v", ExpressionAttributeValues={":v": {"S": "changed"}}
    )  # noqa: E501
    key = {"PK": {"S": rows[79]["PK"]}, "SK": {"S": rows[79]["SK"]}}
    dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET expiry = :v",
        ExpressionAttributeValues={":v": {"N": "1900000000.5"}},
    )  # noqa: E501
    dynamodb.put_item(
        TableName=TABLE,
        Item={"PK": {"S": "agg#x"}, "SK": {"S": "evt#extra"}, "itemtype": {"S": "event"}, "srcId": {"N": "9999"}},
    )
    dynamodb.put_item(TableName=TABLE, Item={"PK": {"S": "other"}, "SK": {"S": "x"}, "itemtype": {"S": "note"}})
    return url


def test_a_complete_copy_passes_reading_each_item_once_and_fetching_none(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    rows = source_rows(200)
    url = make_source(tmp_path / "s.db", rows)
    load_like_dms(dynamodb, rows)
    result = _validate(tmp_path, dynamodb, monkeypatch, "--json", url=url)
    report = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert report["ok"] and report["failureCount"] == 0
    assert sum(r["sourceRows"] for r in report["groups"]["orders/events"]) == 200
    assert sum(r["targetItems"] for r in report["groups"]["orders/events"]) == 200
    assert report["itemsRead"] == {"scan": 200, "batchGet": 0}


def test_planted_differences_are_each_found_and_nothing_else(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    url = _planted(tmp_path, dynamodb)
    result = _validate(tmp_path, dynamodb, monkeypatch, "--json", "--show-values", url=url)
    report = json.loads(result.output)
    assert result.exit_code == 1, result.output
    found = {(f["kind"], f["key"]): f.get("attributes") for f in report["failures"]}
    assert found == {
        ("MISSING_TARGET", 5): None,  # item deleted
        ("MISSING_TARGET", 60): None,  # two rows collapsed into 61's item by a colliding key
        ("RECORD_DIFF", 17): ["ConvId"],  # one attribute changed
        ("RECORD_DIFF", 30): ["itemdata"],  # a LOB truncated
        ("RECORD_DIFF", 80): ["expiry"],  # a number changed in its decimals
        ("EXTRA_ITEM", 9999): None,  # an item no source row has
    }
    assert report["failureCount"] == 6
    values = next(f["values"] for f in report["failures"] if f["key"] == 17)
    assert values == {"ConvId": {"expected": "c17", "actual": "changed"}}
    # the table holds 198 loaded items + the extra + a note of another type: each read once by the scan,
    # and only the 3 differing items fetched whole
    assert report["itemsRead"] == {"scan": 200, "batchGet": 3}
    hidden = json.loads(_validate(tmp_path, dynamodb, monkeypatch, "--json", url=url).output)
    assert all("values" not in f for f in hidden["failures"])  # values only with --show-values


def test_shards_merged_find_what_one_run_finds(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    url = _planted(tmp_path, dynamodb)
    whole = json.loads(_validate(tmp_path, dynamodb, monkeypatch, "--json", url=url).output)
    files = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard-{i}.sqlite"
        result = _validate(tmp_path, dynamodb, monkeypatch, "--shard", f"{i}/3", "--out", str(out), url=url)
        assert result.exit_code == 0, result.output
        files += ["--merge", str(out)]
    argv = ["validate", "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--json", *files]
    merged = runner.invoke(app, [*argv, "--database-url", url])
    report = json.loads(merged.output)
    assert merged.exit_code == 1
    key = lambda f: (f["kind"], f["key"])  # noqa: E731
    assert sorted(map(key, report["failures"])) == sorted(map(key, whole["failures"]))
    assert report["groups"] == whole["groups"] and report["shards"] == 3
    assert report["itemsRead"]["scan"] == whole["itemsRead"]["scan"]  # the shards split the scan, not repeat it


def test_a_recheck_drops_differences_cdc_repaired_during_the_pause(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    url = _planted(tmp_path, dynamodb)
    rows = source_rows(200)

    def cdc_catches_up(_seconds):
        row = rows[4]  # id 5 arrives, and 17's attribute is put right
        dynamodb.put_item(TableName=TABLE, Item=MAPPING.map(row).item)
        dynamodb.put_item(TableName=TABLE, Item=MAPPING.map(rows[16]).item)

    monkeypatch.setattr(full_validation.time, "sleep", cdc_catches_up)
    report = json.loads(_validate(tmp_path, dynamodb, monkeypatch, "--json", "--recheck-seconds", "5", url=url).output)
    found = {(f["kind"], f["key"]) for f in report["failures"]}
    assert ("MISSING_TARGET", 5) not in found and ("RECORD_DIFF", 17) not in found
    assert found == {("MISSING_TARGET", 60), ("RECORD_DIFF", 30), ("RECORD_DIFF", 80), ("EXTRA_ITEM", 9999)}
    assert report["failureCount"] == 4 and report["rechecked"] is True


def test_equal_numbers_are_one_canonical_form_and_null_attributes_are_absent():
    assert canonical({"n": {"N": "1.50"}}) == canonical({"n": {"N": "1.5"}}) == canonical({"n": {"N": "01.5"}})
    assert digest({"a": {"S": "x"}, "z": {"NULL": True}}) == digest({"a": {"S": "x"}})
    assert digest({"n": {"N": "1.5"}}) != digest({"n": {"S": "1.5"}})


@pytest.mark.parametrize("dialect", [postgresql.dialect(), mssql.dialect(), oracle.dialect()])
def test_the_ordered_partition_read_compiles_for_every_engine(dialect):
    sql, params = range_statement(dialect, SPEC, KeyRange(1, 100, 200))
    compiled = str(sql.compile(dialect=dialect))
    assert "ORDER BY" in compiled and params == {"lo": 100, "hi": 200}
    assert "IS NOT NULL" in compiled


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--shard", "0/2", "--out", "x"], "i must be 1..N"),
        (["--shard", "two", "--out", "x"], "is not i/N"),
        (["--shard", "2/3"], "needs --out FILE"),
        (["--merge", "nosuch.sqlite"], "nosuch.sqlite does not exist"),
    ],
)
def test_bad_shard_arguments_are_one_line_and_exit_2(tmp_path, dynamodb, monkeypatch, argv, fragment):  # noqa: F811
    result = _validate(tmp_path, dynamodb, monkeypatch, *argv, url="sqlite:///" + str(tmp_path / "none.db"))
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


def test_merging_an_incomplete_set_of_shards_names_the_missing_one(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    url = _planted(tmp_path, dynamodb)
    out = tmp_path / "s1.sqlite"
    _validate(tmp_path, dynamodb, monkeypatch, "--shard", "1/2", "--out", str(out), url=url)
    argv = ["validate", "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--merge", str(out)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2 and "missing shard(s) 2/2" in result.output


def test_decimal_key_attribute_values_do_not_match_a_row(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    rows = source_rows(10)
    url = make_source(tmp_path / "s.db", rows)
    load_like_dms(dynamodb, rows)
    item = {"PK": {"S": "agg#y"}, "SK": {"S": "evt#y"}, "itemtype": {"S": "event"}, "srcId": {"N": str(Decimal("3.5"))}}
    dynamodb.put_item(TableName=TABLE, Item=item)
    report = json.loads(_validate(tmp_path, dynamodb, monkeypatch, "--json", url=url).output)
    assert report["ok"] is False and report["itemsWithoutKey"] == {"orders/events": 1}


def test_shards_another_stack_wrote_are_refused_naming_both_stacks(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    import sqlite3

    url = _planted(tmp_path, dynamodb)
    out = tmp_path / "shard-1.sqlite"
    assert _validate(tmp_path, dynamodb, monkeypatch, "--shard", "1/1", "--out", str(out), url=url).exit_code == 0
    db = sqlite3.connect(out)
    meta = json.loads(db.execute("SELECT doc FROM meta").fetchone()[0])
    meta["identity"] = {**meta["identity"], "stack": "prod"}  # as if `validate --stack prod` had written it
    db.execute("UPDATE meta SET doc = ?", (json.dumps(meta),))
    db.commit()
    db.close()
    argv = ["validate", "--stack", "sandbox", "--outputs-file", str(outputs_file(tmp_path)), "--merge", str(out)]
    result = runner.invoke(app, [*argv, "--database-url", url], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "holds a validation of stack prod" in result.output and "not of stack sandbox" in result.output


def test_out_never_replaces_the_outputs_file_it_reads(tmp_path, dynamodb, monkeypatch):  # noqa: F811
    url = _planted(tmp_path, dynamodb)
    outputs = outputs_file(tmp_path)
    before = outputs.read_text()
    result = _validate(tmp_path, dynamodb, monkeypatch, "--out", str(outputs), url=url)
    assert result.exit_code == 2 and "is --outputs-file: writing the result there would replace it" in result.output
    assert outputs.read_text() == before
