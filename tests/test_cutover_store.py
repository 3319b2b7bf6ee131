"""State stores: atomic saves, one holder at a time, locks that die with their process, leases, takeover."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from dmsmig.cutover.machine import CutoverState, Status, Step
from dmsmig.cutover.store import DynamoStateStore, FileStateStore, LockHeld, LockLost

REPO = Path(__file__).resolve().parents[1]
TABLE = "sandbox-ordersvc-dmsmig-cutover"


def test_file_store_round_trip_and_exclusive_lock_naming_the_holder(tmp_path):
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
    with store.lock():  # released
        pass


def _holder_process(directory: Path) -> subprocess.Popen:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from dmsmig.cutover.store import FileStateStore
        with FileStateStore(Path(sys.argv[1]), "sandbox").lock():
            print("held", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(directory)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_killed_holder_frees_the_file_lock_at_once(tmp_path):
    holder = _holder_process(tmp_path)
    try:
        with pytest.raises(LockHeld, match=f"pid {holder.pid}"):
            with FileStateStore(tmp_path, "sandbox").lock():
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with FileStateStore(tmp_path, "sandbox").lock():  # no takeover logic needed: the OS released it
        pass


@pytest.mark.parametrize("content", ["", "\x00\xff not json", '{"owner": "ghost", "pid": 1}'])
def test_an_empty_or_unreadable_lock_file_never_blocks(tmp_path, content):
    store = FileStateStore(tmp_path, "sandbox")
    store.lock_path.write_bytes(content.encode("latin-1"))
    with store.lock():
        store.save(CutoverState("sandbox", "fp"))
    assert store.load() == CutoverState("sandbox", "fp")


def test_two_processes_contending_for_the_file_lock_never_both_hold_it(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys, time
        from pathlib import Path
        from dmsmig.cutover.store import FileStateStore, LockHeld
        directory, log = Path(sys.argv[1]), Path(sys.argv[2])
        held = 0
        for _ in range(150):
            try:
                with FileStateStore(directory, "sandbox").lock():
                    with log.open("a") as f:
                        f.write(f"in {os.getpid()}\\n")
                    time.sleep(0.001)
                    with log.open("a") as f:
                        f.write(f"out {os.getpid()}\\n")
                    held += 1
            except LockHeld:
                pass
        print(held)
        """
    )
    log = tmp_path / "log"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(log)], cwd=REPO, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    held = [int(p.communicate(timeout=120)[0]) for p in procs]
    lines = log.read_text().splitlines()
    assert sum(held) == len(lines) // 2 > 0
    for enter, leave in zip(lines[::2], lines[1::2]):  # every "in" is followed by the same process's "out"
        assert enter.startswith("in ") and leave == "out " + enter.split()[1]


def test_each_save_writes_through_its_own_temporary_file(tmp_path, monkeypatch):
    import tempfile

    names = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        names.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    store = FileStateStore(tmp_path, "sandbox")
    store.save(CutoverState("sandbox", "a"))
    store.save(CutoverState("sandbox", "b"))
    assert len(set(names)) == 2 and all(Path(n).parent == tmp_path for n in names)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.fixture
def control_table(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _lock_item(client) -> dict:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": "sandbox#lock"}}, ConsistentRead=True).get("Item", {})


def test_dynamo_store_lock_names_the_holder_and_when_its_lease_expires(control_table):
    clock = Clock()
    store = DynamoStateStore(control_table, TABLE, "sandbox", lease_seconds=120, heartbeat_seconds=3600, clock=clock)
    with store.lock():
        store.save(CutoverState("sandbox", "fp"))
        other = DynamoStateStore(control_table, TABLE, "sandbox", clock=clock)
        with pytest.raises(LockHeld) as refused:
            with other.lock():
                pass
        assert f"pid {os.getpid()}" in str(refused.value)
        assert "its lease expires at 2027-01-15T08:02:00+00:00" in str(refused.value)
    assert store.load() == CutoverState("sandbox", "fp")
    assert _lock_item(control_table) == {}  # released


def test_a_crashed_runs_lease_expires_in_minutes_and_the_lock_is_free_again(control_table):
    clock = Clock()
    crashed = DynamoStateStore(control_table, TABLE, "sandbox", lease_seconds=120, heartbeat_seconds=3600, clock=clock)
    lock = crashed.lock()
    lock.__enter__()  # the run dies here: no heartbeat, no release
    crashed._stop.set()
    later = DynamoStateStore(control_table, TABLE, "sandbox", clock=clock)
    clock.now += 119
    with pytest.raises(LockHeld):
        with later.lock():
            pass
    clock.now += 2
    with later.lock():
        assert f"pid {os.getpid()} run " in _lock_item(control_table)["owner"]["S"]


def test_the_heartbeat_keeps_a_living_runs_lease_fresh(control_table):
    store = DynamoStateStore(control_table, TABLE, "sandbox", lease_seconds=60, heartbeat_seconds=0.05)
    with store.lock():
        first = int(_lock_item(control_table)["expires"]["N"])
        time.sleep(1.2)
        assert int(_lock_item(control_table)["expires"]["N"]) > first


def test_takeover_replaces_the_named_holder_and_the_old_run_stops_at_its_next_save(control_table):
    clock = Clock()
    old = DynamoStateStore(control_table, TABLE, "sandbox", heartbeat_seconds=3600, clock=clock)
    with old.lock():
        holder = old.holder()
        new = DynamoStateStore(control_table, TABLE, "sandbox", heartbeat_seconds=3600, clock=clock)
        with pytest.raises(LockHeld):
            with new.lock(takeover="somebody-else"):
                pass
        with new.lock(takeover=holder):
            assert old.renew() is False
            with pytest.raises(LockLost, match="taken over"):
                old.save(CutoverState("sandbox", "fp"))


def test_a_state_file_that_records_another_stack_is_refused_naming_both(tmp_path):
    from dmsmig.cutover.machine import CutoverState
    from dmsmig.cutover.store import FileStateStore
    from dmsmig.ops.errors import UsageError

    prod = CutoverState("prod", "fp")
    (tmp_path / "sandbox.json").write_text(prod.to_json())  # prod's record, renamed or copied here
    with pytest.raises(UsageError) as caught:
        FileStateStore(tmp_path, "sandbox").load()
    assert "records the cutover of stack prod, not sandbox" in str(caught.value)
    assert "--stack prod" in caught.value.fix


def _earlier_version_state(done: list[str]) -> str:
    import json

    from dmsmig.cutover.machine import CutoverState, Status

    state = json.loads(CutoverState("sandbox", "fp").to_json())
    state.pop("format")  # format 1 had no 'format' key, and no cdc-drained step
    del state["steps"]["cdc-drained"]
    for step in done:
        state["steps"][step]["status"] = Status.DONE.value
    return json.dumps(state)


def test_an_earlier_versions_state_without_a_later_added_step_reads_with_that_step_pending(tmp_path):
    from dmsmig.cutover.machine import Status, Step
    from dmsmig.cutover.store import FileStateStore

    (tmp_path / "sandbox.json").write_text(_earlier_version_state(["preconditions"]))
    state = FileStateStore(tmp_path, "sandbox").load()
    assert state.record(Step.DRAINED).status == Status.PENDING
    assert state.record(Step.PRECONDITIONS).status == Status.DONE


def test_an_earlier_versions_state_past_the_missing_step_is_refused_with_its_format(tmp_path):
    from dmsmig.cutover.store import FileStateStore
    from dmsmig.ops.errors import UsageError

    (tmp_path / "sandbox.json").write_text(_earlier_version_state(["preconditions", "final-validation"]))
    with pytest.raises(UsageError) as caught:
        FileStateStore(tmp_path, "sandbox").load()
    assert "state format 1" in str(caught.value) and "without the cdc-drained step" in str(caught.value)
    assert "cutover --restart" in caught.value.fix


@pytest.mark.parametrize(
    ("finished_at", "fragment"),
    [
        ("yesterday-ish", "records the cutover's finish at 'yesterday-ish', which is not a time"),
        ("2026-12-08T00:00:00+00:00", "the fail-back window (48 h after the cutover finished) is open until"),
    ],
)
def test_decommission_is_refused_with_a_reason_for_a_bad_finish_time_or_an_open_window(tmp_path, finished_at, fragment):
    from datetime import UTC, datetime

    from dmsmig.cutover.machine import CutoverState, Status, Step
    from dmsmig.cutover.runbook import decommission_refusal

    state = CutoverState("sandbox", "fp")
    for step in Step:
        state.record(step).status = Status.DONE
    state.record(Step.FINISH).at = finished_at
    now = datetime(2026, 12, 9, tzinfo=UTC)
    message, fix = decommission_refusal(state, 48, now, "state.json")
    assert fragment in message and fix
    state.record(Step.FINISH).at = "2026-12-01T00:00:00+00:00"
    assert decommission_refusal(state, 48, now, "state.json") is None
