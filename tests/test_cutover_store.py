"""State stores: atomic save, one holder at a time, stale locks taken over, lease renewal."""

from __future__ import annotations

import json
import os
import socket

import boto3
import pytest
from moto import mock_aws

from dmsmig.cutover.machine import CutoverState, Status, Step
from dmsmig.cutover.store import DynamoStateStore, FileStateStore, LockHeld


def test_file_store_round_trip_and_exclusive_lock(tmp_path):
    store = FileStateStore(tmp_path, "sandbox")
    assert store.load() is None
    state = CutoverState("sandbox", "fp")
    state.record(Step.PRECONDITIONS).status = Status.DONE
    with store.lock():
        store.save(state)
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
            with FileStateStore(tmp_path, "sandbox").lock():
                pass
    assert store.load() == state
    assert not store.lock_path.exists()  # released


def test_file_lock_of_a_dead_process_is_taken_over(tmp_path):
    store = FileStateStore(tmp_path, "sandbox")
    tmp_path.mkdir(exist_ok=True)
    store.lock_path.write_text(json.dumps({"owner": "ghost", "pid": 999_999_999, "host": socket.gethostname()}))
    with store.lock():
        assert json.loads(store.lock_path.read_text())["pid"] == os.getpid()


def test_file_lock_of_another_host_is_respected(tmp_path):
    store = FileStateStore(tmp_path, "sandbox")
    store.lock_path.write_text(json.dumps({"owner": "ops@other", "pid": 1, "host": "other-host"}))
    with pytest.raises(LockHeld, match="ops@other"):
        with store.lock():
            pass


@pytest.fixture
def control_table(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="sandbox-ordersvc-dmsmig-cutover",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_dynamo_store_lock_names_the_holder_and_releases(control_table):
    store = DynamoStateStore(control_table, "sandbox-ordersvc-dmsmig-cutover", "sandbox")
    with store.lock():
        store.save(CutoverState("sandbox", "fp"))
        with pytest.raises(LockHeld, match=socket.gethostname()):
            with DynamoStateStore(control_table, "sandbox-ordersvc-dmsmig-cutover", "sandbox").lock():
                pass
    assert store.load() == CutoverState("sandbox", "fp")
    with store.lock():  # released, so it can be taken again
        pass


def test_dynamo_lock_with_an_expired_lease_is_taken_over(control_table):
    control_table.put_item(
        TableName="sandbox-ordersvc-dmsmig-cutover",
        Item={"pk": {"S": "sandbox#lock"}, "owner": {"S": "crashed@host pid 1"}, "expires": {"N": "1"}},
    )
    store = DynamoStateStore(control_table, "sandbox-ordersvc-dmsmig-cutover", "sandbox")
    with store.lock():
        store.save(CutoverState("sandbox", "fp"))  # save renews the lease of the live owner
        item = control_table.get_item(TableName="sandbox-ordersvc-dmsmig-cutover", Key={"pk": {"S": "sandbox#lock"}})
        assert "crashed" not in item["Item"]["owner"]["S"] and int(item["Item"]["expires"]["N"]) > 1_000_000
